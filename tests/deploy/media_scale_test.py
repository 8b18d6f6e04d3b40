"""Media nodes scaled on loopback, seen only through the services' /metrics:
one signaling and three media-relay processes on 127.0.0.1 (each with its own
gRPC, HTTP and media ports), Kamailio as the SIP network, SIPp as the phone
and breaker browsers over WebSocket.

  - calls spread over the nodes by load;
  - a node told to stop (SIGTERM, as Kubernetes does) drains: it keeps its
    calls, is no longer ready, new calls go elsewhere, and it exits by itself
    once its last call has ended;
  - a fourth node that comes up while calls run gets the new calls;
  - a node killed ends only its own calls, on both legs.

Signaling finds the nodes as on Kubernetes, through DNS SRV records
(media_nodes.dns_srv, re-resolved every second), served by dnsmasq on
127.0.0.1: one record per node, target relay-X.test (an A record for
127.0.0.1) and the node's own gRPC port, as a headless Service publishes one
per ready pod. Nodes join and leave by a change of those records, without a
restart of signaling: a draining node leaves the answer (its pod is no longer
ready), a new one enters it, a killed one vanishes from it. dnsmasq reloads
only its hosts files on SIGHUP, not --srv-host ("SIGHUP does NOT re-read the
configuration file", dnsmasq(8)), so each change restarts it on its port.

Run: W2S_BUILD_DIR=build /usr/bin/python3 tests/deploy/media_scale_test.py"""

import asyncio
import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../integration/lib"))
import w2s  # noqa: E402
import breaker  # noqa: E402

CAPACITY = 20
LEASE = 5  # seconds: a node that vanished is given up after this
SRV_NAME = "_grpc._tcp.relays.test"


class Dns:
    """dnsmasq answering SRV_NAME with one record per published relay."""

    def __init__(self, workdir):
        self.port = w2s.free_port(socket.SOCK_DGRAM)
        self.workdir = workdir
        self.proc = None

    def publish(self, relays):
        options = []
        for relay in relays:
            target = f"{relay.name}.test"
            options += [f"--srv-host={SRV_NAME},{target},{w2s.port_of(relay.grpc)}",
                        f"--host-record={target},{w2s.LOOPBACK}"]
        if self.proc:
            self.proc.stop()  # by PID; the new one takes the same port
        self.proc = w2s.start_dnsmasq(self.port, options, self.workdir)

    def stop(self):
        if self.proc:
            self.proc.kill()


def sessions(relay):
    return int(w2s.metric(relay.http_port, "webrtc2sip_media_sessions"))


def created(relay):
    return int(w2s.metric(relay.http_port, "webrtc2sip_media_sessions_created_total"))


class MediaScaleTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        w2s.start_sip_network(self, "w2s-scale-")
        self.addCleanup(self.kamailio.kill)
        self.cfg = w2s.signaling_config(self.kam_port, session_lease_seconds=LEASE)
        self.cfg["log"] = {"level": "info", "format": "kv"}
        self.cfg["media_relay"]["capacity"] = CAPACITY
        # Each node its own media ports, out of the ranges other tests use.
        self.ranges = [(41000 + 200 * i, 41199 + 200 * i) for i in range(4)]

    def start_relay(self, i):
        relay = breaker.start_media_relay(self.cfg, f"relay-{'abcd'[i]}", self.ranges[i])
        self.addCleanup(relay.kill)
        return relay

    async def wait_for(self, what, predicate, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            await asyncio.sleep(0.1)
        self.fail(f"timed out waiting for {what}")

    def pool(self, state):
        return int(w2s.metric(self.gw.http_port, "webrtc2sip_media_nodes", state=state))

    def listed(self):
        return int(w2s.metric(self.gw.http_port, "webrtc2sip_media_nodes_listed"))

    def known(self):
        return sum(self.pool(state) for state in ("healthy", "draining", "down"))

    def choices(self, relay):
        return int(w2s.metric(self.gw.http_port, "webrtc2sip_media_node_choices_total", node=relay.grpc))

    async def place(self, relays, count, prefix):
        """Places `count` calls one after the other; returns {relay name: [Call]}
        as seen in the nodes' session gauges."""
        placed = {r.name: [] for r in relays}
        for n in range(count):
            before = {r.name: sessions(r) for r in relays}
            ok, call = await breaker.call(self.browser, self.phone_uri, f"{prefix}-{n}-{os.urandom(3).hex()}",
                                          tag=f"{prefix}{n}")
            self.assertEqual(ok.status, 200, ok.text)
            await self.wait_for("the node's gauge", lambda: sum(sessions(r) for r in relays) == sum(before.values()) + 1)
            grown = [r for r in relays if sessions(r) == before[r.name] + 1]
            self.assertEqual(len(grown), 1)
            placed[grown[0].name].append(call)
        return placed

    async def test_nodes_share_calls_drain_join_and_fail(self):
        a, b, c = (self.start_relay(i) for i in range(3))
        dns = Dns(self.workdir)
        self.addCleanup(dns.stop)
        dns.publish([a, b, c])
        self.cfg["signaling"]["media_nodes"] = {"dns_srv": SRV_NAME, "dns_refresh_seconds": 1}
        self.cfg["signaling"]["nameservers"] = [f"{w2s.LOOPBACK}:{dns.port}"]
        self.gw = w2s.start_signaling(self.cfg)
        self.addCleanup(self.gw.kill)
        await self.wait_for("three healthy nodes from DNS",
                            lambda: self.pool("healthy") == 3 and self.known() == 3 and self.listed() == 3)

        phone_port = w2s.free_port(socket.SOCK_DGRAM)
        phone = w2s.sipp("uas_echo.xml", None, phone_port, calls=100, name="sipp-phone",
                         extra=["-timeout", "300s"])
        self.addCleanup(phone.kill)
        w2s.wait_udp_port_bound(phone_port)
        self.phone_uri = f"sip:uas@{w2s.LOOPBACK}:{phone_port}"
        self.browser = await breaker.breaker_client(self.gw.ws_url, "scale", self.domain)
        self.addAsyncCleanup(self.browser.close)

        # 1. Six calls spread by load: two on each node.
        placed = await self.place([a, b, c], 6, "spread")
        self.assertEqual({name: len(calls) for name, calls in placed.items()},
                         {"relay-a": 2, "relay-b": 2, "relay-c": 2})
        self.assertEqual([self.choices(r) for r in (a, b, c)], [2, 2, 2])
        self.assertEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_active_calls"), 6)
        for r in (a, b, c):
            self.assertAlmostEqual(w2s.metric(r.http_port, "webrtc2sip_media_node_load"), 2 / CAPACITY, places=3)

        # 2. Node b is told to stop: it drains. Its calls stay, it is not ready,
        #    signaling sees it draining, and new calls go to a and c.
        b.proc.send_signal(signal.SIGTERM)
        await self.wait_for("b draining", lambda: w2s.metric(b.http_port, "webrtc2sip_media_node_draining") == 1)
        self.assertEqual(w2s.http_get(b.http_port, "/readyz")[0], 503)
        await self.wait_for("signaling sees b draining",
                            lambda: self.pool("draining") == 1 and self.pool("healthy") == 2)
        # Not ready: its pod leaves the Service's records. Signaling keeps it
        # for its two calls.
        dns.publish([a, c])
        await self.wait_for("b out of the SRV answer", lambda: self.listed() == 2)
        self.assertEqual(self.pool("draining"), 1)
        more = await self.place([a, b, c], 4, "drain")
        self.assertEqual({name: len(calls) for name, calls in more.items()},
                         {"relay-a": 2, "relay-b": 0, "relay-c": 2})
        self.assertEqual(sessions(b), 2)
        self.assertEqual(created(b), 2)
        self.assertIsNone(b.proc.poll())  # still serving its two calls

        # 3. Node d comes up while the calls run and enters the SRV answer:
        #    it gets the new calls (the least loaded), without a restart of
        #    signaling.
        d = self.start_relay(3)
        self.assertEqual(self.choices(d), 0)
        dns.publish([a, c, d])
        await self.wait_for("signaling sees d",
                            lambda: self.listed() == 3 and self.pool("healthy") == 3 and self.known() == 4)
        joined = await self.place([a, b, c, d], 3, "join")
        self.assertEqual({name: len(calls) for name, calls in joined.items()},
                         {"relay-a": 0, "relay-b": 0, "relay-c": 0, "relay-d": 3})
        self.assertEqual(self.choices(d), 3)

        # 4. Node a is killed: only its four calls end, on both legs (a BYE to
        #    the browser for each); the others go on.
        a_calls = {call.call_id for call in placed["relay-a"] + more["relay-a"]}
        self.assertEqual(len(a_calls), 4)
        a.kill()
        byes = set()
        deadline = time.time() + LEASE + 15
        while len(byes) < 4 and time.time() < deadline:
            bye = await self.browser.next_request("BYE", timeout=max(0.1, deadline - time.time()))
            byes.add(bye.header("call-id"))
            await self.browser.reply(bye, 200, "OK")
        self.assertEqual(byes, a_calls)
        await asyncio.sleep(1)  # no further BYE for the calls of other nodes
        self.assertTrue(self.browser.inbox.empty())
        self.assertEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_calls_total",
                                    direction="outgoing", outcome="media_lost"), 4)
        self.assertGreaterEqual(w2s.metric(self.gw.http_port, "webrtc2sip_media_node_failures_total",
                                           reason="node_failed"), 1)
        self.assertEqual([sessions(r) for r in (b, c, d)], [2, 4, 3])
        self.assertEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_active_calls"), 9)
        await self.wait_for("signaling sees a down", lambda: self.pool("down") == 1)
        # Its pod is gone, and so are its records: signaling forgets it.
        dns.publish([c, d])
        await self.wait_for("a forgotten", lambda: self.listed() == 2 and self.pool("down") == 0)
        self.assertEqual((self.pool("healthy"), self.pool("draining")), (2, 1))

        # 5. The draining node's calls end normally, then it exits by itself.
        for call in placed["relay-b"]:
            self.assertEqual((await call.bye()).status, 200)
        await self.wait_for("b drained and gone", lambda: b.proc.poll() is not None, timeout=10)
        self.assertEqual(b.proc.returncode, 0, b.output())
        self.assertIn("drained", b.output())
        # Unlisted and without calls: b is forgotten too.
        await self.wait_for("b forgotten", lambda: self.known() == 2 and self.pool("draining") == 0)

        # 6. Everything else hangs up cleanly.
        for call in placed["relay-c"] + more["relay-c"] + joined["relay-d"]:
            self.assertEqual((await call.bye()).status, 200)
        await self.wait_for("no sessions left", lambda: sessions(c) == 0 and sessions(d) == 0)
        self.assertEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_active_calls"), 0)
        self.assertEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_calls_total",
                                    direction="outgoing", outcome="browser_bye"), 9)
        self.assertEqual(self.gw.stop(), 0, self.gw.output())


if __name__ == "__main__":
    unittest.main(verbosity=2)
