"""Signaling's drain on SIGTERM, with real peers: Kamailio as the SIP network,
SIPp as the phones, a media-relay node, SIP-over-WebSocket browsers (one of
them an RTCWeb Breaker client with a real Chromium offer).

  - calls in progress (a breaker call and a proxied call) go on; /readyz
    turns 503 at once; new INVITEs from browsers and from the network get 503
    with Retry-After; registrations and in-dialog requests still work; the
    process exits 0 once the last call has ended by BYE;
  - a call that does not end is cut at signaling.drain_deadline_seconds: the
    process exits 0 then;
  - a second SIGTERM exits at once."""

import asyncio
import os
import re
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
import breaker  # noqa: E402
from ws_sip import SDP_OFFER, Dialog, WsSipClient  # noqa: E402


class UdpPhone:
    """A SIP phone on a UDP socket of 127.0.0.1 that places INVITEs and reads
    the final answer (and ACKs it, as RFC 3261 17.1.1.3 asks of a non-2xx)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((w2s.LOOPBACK, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    async def invite(self, ruri, target_port, timeout=15):
        loop = asyncio.get_running_loop()
        n = os.urandom(4).hex()
        via = f"SIP/2.0/UDP {w2s.LOOPBACK}:{self.port};branch=z9hG4bK{n};rport"
        head = (f"Via: {via}\r\nFrom: <sip:phone@{w2s.LOOPBACK}:{self.port}>;tag=p{n}\r\n"
                f"To: <{ruri}>\r\nCall-ID: drain-net-{n}\r\n")
        invite = (f"INVITE {ruri} SIP/2.0\r\n{head}CSeq: 1 INVITE\r\n"
                  f"Contact: <sip:phone@{w2s.LOOPBACK}:{self.port}>\r\nMax-Forwards: 70\r\n"
                  f"Content-Type: application/sdp\r\nContent-Length: {len(SDP_OFFER)}\r\n\r\n{SDP_OFFER}")
        await loop.sock_sendto(self.sock, invite.encode(), (w2s.LOOPBACK, target_port))
        while True:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), timeout)
            text = data.decode(errors="replace")
            if header(text, "Call-ID") != f"drain-net-{n}" or not text.startswith("SIP/2.0 "):
                continue  # a late retransmission of an earlier call's answer
            status = int(text.split(" ", 2)[1])
            if status >= 200:
                break
        to = re.search(r"^To: (.*)$", text, re.M | re.I).group(1).strip()
        ack = (f"ACK {ruri} SIP/2.0\r\nVia: {via}\r\nFrom: <sip:phone@{w2s.LOOPBACK}:{self.port}>;tag=p{n}\r\n"
               f"To: {to}\r\nCall-ID: drain-net-{n}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n")
        await loop.sock_sendto(self.sock, ack.encode(), (w2s.LOOPBACK, target_port))
        return status, text


def header(text, name):
    m = re.search(rf"^{name}:\s*(.*)$", text, re.M | re.I)
    return m.group(1).strip() if m else None


class SignalingDrainTest(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        w2s.start_sip_network(cls, "w2s-drain-")
        cfg = w2s.signaling_config(cls.kam_port)
        cls.relay = breaker.start_media_relay(cfg, "media-relay", (42000, 42999))
        cls.relay_grpc = cls.relay.grpc

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.kamailio.stop()
        cls.kamailio.kill()

    def start_gateway(self, deadline):
        cfg = w2s.signaling_config(self.kam_port, drain_deadline_seconds=deadline)
        cfg["log"] = {"level": "info", "format": "kv"}
        cfg["signaling"]["media_nodes"] = {"addresses": [self.relay_grpc]}
        gw = w2s.start_signaling(cfg)
        self.addCleanup(gw.kill)
        return gw

    def phone(self, scenario="uas_echo.xml"):
        port = w2s.free_port(socket.SOCK_DGRAM)
        proc = w2s.sipp(scenario, None, port, name="sipp-uas")
        self.addCleanup(proc.kill)
        w2s.wait_udp_port_bound(port)
        return proc, f"sip:uas@{w2s.LOOPBACK}:{port}"

    async def browser(self, gw, user, breaker_client=False, register=True):
        c = WsSipClient(gw.ws_url, user, self.domain)
        if breaker_client:
            c.contact_params = ";rtcweb-breaker=yes"
        await c.connect()
        self.addAsyncCleanup(c.close)
        if register:
            self.assertEqual((await c.register()).status, 200)
        return c

    async def breaker_call(self, gw):
        _, uri = self.phone()
        alice = await self.browser(gw, "drain-alice", breaker_client=True, register=False)
        ok, call = await breaker.call(alice, uri, "drain-brk-" + os.urandom(4).hex(), tag="a1")
        self.assertEqual(ok.status, 200, ok.text)
        await self.wait_for("the breaker call counted",
                            lambda: w2s.metric(gw.http_port, "webrtc2sip_b2bua_active_calls") == 1)
        return alice, uri, call

    async def wait_for(self, what, predicate, timeout=15):
        for _ in range(int(timeout * 10)):
            if predicate():
                return
            await asyncio.sleep(0.1)
        self.fail(f"timed out waiting for {what}")

    async def wait_exit(self, proc, timeout=15):
        await self.wait_for(f"{proc.name} to exit", lambda: proc.proc.poll() is not None, timeout)
        return proc.proc.returncode

    def readyz(self, gw):
        return w2s.http_get(gw.http_port, "/readyz")[0]

    async def new_invite(self, c, uri, breaker_offer):
        call_id = "drain-new-" + os.urandom(4).hex()
        c.cseq += 1
        body = breaker.chromium_offer() if breaker_offer else SDP_OFFER
        await c.send(c.request("INVITE", uri, call_id, "n1", f"<{uri}>", c.cseq, body=body,
                               content_type="application/sdp"))
        return await c.response_to(call_id, c.cseq, "INVITE")

    async def test_sigterm_refuses_new_calls_and_exits_when_the_last_call_ends(self):
        gw = self.start_gateway(deadline=600)
        alice, phone_uri, breaker_call = await self.breaker_call(gw)
        # A proxied call (no breaker): bob's dialog runs through the proxy.
        bob_phone, bob_uri = self.phone()
        bob = await self.browser(gw, "drain-bob")
        bob_call_id = "drain-prx-" + os.urandom(4).hex()
        bob.cseq += 1
        await bob.send(bob.request("INVITE", bob_uri, bob_call_id, "b1", f"<{bob_uri}>", bob.cseq,
                                   body=SDP_OFFER, content_type="application/sdp"))
        ok = await bob.response_to(bob_call_id, bob.cseq, "INVITE")
        self.assertEqual(ok.status, 200, ok.text)
        bob_dialog = Dialog(bob, bob_call_id, "b1", ok)
        await bob_dialog.ack(bob.cseq)
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_dialogs_active"), 1)
        # Carol is registered: a call from the network reaches her, before the drain.
        carol = await self.browser(gw, "drain-carol")
        phone = UdpPhone()
        self.addCleanup(phone.close)
        carol_uri = f"sip:drain-carol@{self.domain}"
        task = asyncio.ensure_future(phone.invite(carol_uri, self.kam_port))
        ringing = await carol.next_request("INVITE")
        await carol.reply(ringing, 486, "Busy Here", to_tag="c0")
        status, _ = await task
        self.assertEqual(status, 486)
        self.assertEqual(self.readyz(gw), 200)

        gw.proc.send_signal(signal.SIGTERM)
        await self.wait_for("/readyz 503", lambda: self.readyz(gw) == 503)
        await self.wait_for("the drain's log line", lambda: "msg=draining" in gw.output())
        self.assertRegex(gw.output(), r"msg=draining .*calls=2")
        refused_before = w2s.metric(gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                                    reason="draining")

        # New INVITEs from browsers, breaker or not: 503 with Retry-After.
        refused = await self.new_invite(alice, phone_uri, breaker_offer=True)
        self.assertEqual(refused.status, 503, refused.text)
        self.assertRegex(refused.header("retry-after") or "", r"^\d+")
        refused = await self.new_invite(bob, bob_uri, breaker_offer=False)
        self.assertEqual(refused.status, 503, refused.text)
        self.assertRegex(refused.header("retry-after") or "", r"^\d+")
        # A new INVITE from the network for a registered browser: refused by
        # the gateway (Kamailio turns a 503 into 500, RFC 3261 16.7), never
        # offered to Carol.
        status, _ = await phone.invite(carol_uri, self.kam_port)
        self.assertIn(status, (500, 503))
        # Straight to the gateway, the 503 and its Retry-After are seen as sent.
        status, text = await phone.invite(f"sip:drain-carol@{w2s.LOOPBACK}:{gw.udp_port}", gw.udp_port)
        self.assertEqual(status, 503, text)
        self.assertRegex(header(text, "Retry-After") or "", r"^\d+")
        self.assertTrue(carol.inbox.empty())
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                                    reason="draining") - refused_before, 4)

        # Registrations go on, and so do requests inside the calls.
        self.assertEqual((await carol.register()).status, 200)
        self.assertEqual((await breaker_call.bye()).status, 200)
        await self.wait_for("the breaker call gone",
                            lambda: w2s.metric(gw.http_port, "webrtc2sip_b2bua_active_calls") == 0)
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_dialogs_active"), 1)
        self.assertIsNone(gw.proc.poll())  # answered the metrics: still there for bob's call
        self.assertEqual((await bob_dialog.bye()).status, 200)

        self.assertEqual(await self.wait_exit(gw), 0, gw.output())
        self.assertIn("msg=drained", gw.output())
        self.assertEqual(await self.wait_exit(bob_phone), 0, bob_phone.output())

    async def test_a_call_that_does_not_end_is_cut_at_the_deadline(self):
        gw = self.start_gateway(deadline=2)
        await self.breaker_call(gw)
        gw.proc.send_signal(signal.SIGTERM)
        await self.wait_for("/readyz 503", lambda: gw.proc.poll() is not None or self.readyz(gw) == 503)
        self.assertEqual(await self.wait_exit(gw, timeout=20), 0, gw.output())
        self.assertRegex(gw.output(), r"msg=\"?drain deadline passed[^\n]*calls=1")
        self.assertNotIn("msg=drained", gw.output())

    async def test_a_second_sigterm_exits_at_once(self):
        gw = self.start_gateway(deadline=600)
        await self.breaker_call(gw)
        gw.proc.send_signal(signal.SIGTERM)
        await self.wait_for("the drain's log line", lambda: "msg=draining" in gw.output())
        self.assertEqual(self.readyz(gw), 503)
        gw.proc.send_signal(signal.SIGTERM)
        self.assertEqual(await self.wait_exit(gw), 0, gw.output())
        self.assertRegex(gw.output(), r"second stop signal[^\n]*calls=1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
