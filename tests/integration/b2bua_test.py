"""The RTCWeb Breaker (B2BUA) with real peers: a SIP-over-WebSocket client
that opts in with rtcweb-breaker=yes and offers a real Chromium SDP (captured
from JsSIP), Kamailio as registrar/proxy, SIPp as the legacy phone, and a real
media-relay node. Checks the two dialogs, the SDP on each side, BYE both
ways, CANCEL, and the HA1 answer to a 407 that never leaks."""

import asyncio
import glob
import hashlib
import os
import re
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
from breaker import chromium_answer, chromium_offer, start_media_relay  # noqa: E402
from ws_sip import WsSipClient  # noqa: E402


class B2buaTest(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        w2s.start_sip_network(cls, "w2s-b2bua-")
        cfg = w2s.signaling_config(cls.kam_port, allow_ha1_over_ws=True)
        relay_cfg = {"log": cfg["log"], "media_relay": cfg["media_relay"]}
        relay_cfg["media_relay"]["port_range"] = {"min": 30000, "max": 39999}
        cls.relay_path = w2s.write_config(relay_cfg)
        cls.relay = w2s.Process([w2s.binary("webrtc2sip-media-relay"), "--config", cls.relay_path],
                                "media-relay")
        cls.relay.wait_http(w2s.port_of(cfg["media_relay"]["http_listen"]))
        cls.gw = w2s.start_signaling(cfg)

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        cls.relay.stop()
        cls.kamailio.stop()
        cls.kamailio.kill()
        assert code == 0, cls.gw.output()

    async def breaker_client(self, user, ha1=None):
        c = WsSipClient(self.gw.ws_url, user, self.domain)
        c.contact_params = ";rtcweb-breaker=yes"
        if ha1:
            c.contact_params += f";impi={user};ha1={ha1}"
        await c.connect()
        self.addAsyncCleanup(c.close)
        return c

    def uas(self, scenario="uas_echo.xml"):
        port = w2s.free_port(socket.SOCK_DGRAM)
        trace = os.path.join(self.workdir, f"sipp-{port}")
        proc = w2s.sipp(scenario, None, port, name="sipp-uas",
                        extra=["-trace_msg", "-message_file", trace + ".msg"])
        self.addCleanup(proc.kill)
        w2s.wait_udp_port_bound(port)
        return proc, f"sip:uas@{w2s.LOOPBACK}:{port}", trace + ".msg"

    async def wait_exit(self, proc, timeout=30):
        return await w2s.wait_exit(proc, timeout)

    async def invite(self, c, uri, call_id, tag="b1"):
        c.cseq += 1
        cseq = c.cseq
        await c.send(c.request("INVITE", uri, call_id, tag, f"<{uri}>", cseq, body=chromium_offer(),
                               content_type="application/sdp"))
        return cseq

    async def test_browser_calls_a_legacy_phone_through_the_breaker(self):
        uas, uri, trace = self.uas()
        c = await self.breaker_client("alice")
        call_id = "brk-" + os.urandom(4).hex()
        cseq = await self.invite(c, uri, call_id)
        ok = await c.response_to(call_id, cseq, "INVITE", timeout=20)
        self.assertEqual(ok.status, 200, ok.text)
        # The browser gets a WebRTC answer from the gateway itself.
        self.assertIn("UDP/TLS/RTP/SAVPF", ok.body)
        self.assertIn("a=ice-lite", ok.body)
        self.assertIn("a=setup:passive", ok.body)
        self.assertRegex(ok.body, r"a=fingerprint:sha-256 [0-9A-F:]{95}")
        self.assertIn("a=group:BUNDLE 0", ok.body)
        self.assertIn("a=rtcp-mux", ok.body)
        self.assertRegex(ok.body, r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host")
        self.assertIn("PCMU/8000", ok.body)
        self.assertNotIn("opus", ok.body)  # the phone has PCMU only
        contact = ok.header("contact")
        self.assertIn("b2bua-", contact)
        # The legacy phone saw a different dialog and a clean legacy offer.
        sipp_log = open(trace, errors="replace").read()
        offer = sipp_log[sipp_log.find("INVITE sip:uas@"):]
        offer = offer[:offer.find("\n\n----")] if "\n\n----" in offer else offer
        self.assertNotIn(call_id, offer)
        self.assertIn("m=audio", offer)
        self.assertRegex(offer, r"m=audio \d+ RTP/AVP ")
        self.assertEqual(len(re.findall(r"a=crypto:", offer)), 2)  # srtp-mode optional
        for webrtc_only in ("a=ice-", "a=fingerprint", "a=group:BUNDLE", "a=msid", "a=ssrc", "a=extmap",
                            "a=candidate"):
            self.assertNotIn(webrtc_only, offer)
        # The browser's ACK stays at the gateway; its BYE ends both dialogs.
        to = ok.header("to")
        c.cseq += 1
        await c.send(c.request("ACK", contact.strip("<>"), call_id, "b1", to, cseq, cseq_method="ACK"))
        c.cseq += 1
        await c.send(c.request("BYE", contact.strip("<>"), call_id, "b1", to, c.cseq))
        bye = await c.response_to(call_id, c.cseq, "BYE")
        self.assertEqual(bye.status, 200)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())
        self.assertGreaterEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_calls_total",
                                           direction="outgoing", outcome="browser_bye"), 1)

    async def test_a_407_is_answered_with_the_ha1_token_which_never_leaks(self):
        uas, uri, trace = self.uas()
        user = "auth-bob"  # Kamailio challenges INVITEs from auth-* users with 407
        ha1 = hashlib.md5(f"{user}:{w2s.LOOPBACK}:secret".encode()).hexdigest()
        c = await self.breaker_client(user, ha1=ha1)
        call_id = "ha1-" + os.urandom(4).hex()
        capture = os.path.join(self.workdir, "ha1.pcap")
        tshark = w2s.Process(["tshark", "-i", "lo", "-f", f"udp port {self.kam_port}", "-w", capture],
                             "tshark")
        self.addCleanup(tshark.kill)
        for _ in range(300):  # dumpcap says so once it really captures
            if "Capturing on" in tshark.output():
                break
            await asyncio.sleep(0.1)
        else:
            self.fail("tshark did not start capturing:\n" + tshark.output())
        await asyncio.sleep(0.5)
        cseq = await self.invite(c, uri, call_id)
        ok = await c.response_to(call_id, cseq, "INVITE", timeout=20)
        self.assertEqual(ok.status, 200, ok.text)
        self.assertFalse(any(m.status == 407 for m in c.received))  # answered by the gateway
        self.assertGreaterEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_challenges_answered_total"), 1)
        contact, to = ok.header("contact").strip("<>"), ok.header("to")
        c.cseq += 1
        await c.send(c.request("BYE", contact, call_id, "b1", to, c.cseq))
        self.assertEqual((await c.response_to(call_id, c.cseq, "BYE")).status, 200)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())
        await asyncio.sleep(0.5)
        tshark.stop(timeout=5)
        wire = open(capture, "rb").read()
        self.assertIn(b"Proxy-Authorization: Digest", wire)
        self.assertNotIn(ha1.encode(), wire)
        self.assertNotIn(b"ha1=", wire)
        self.assertNotIn(ha1, open(trace, errors="replace").read())
        self.assertNotIn(ha1, self.gw.output())

    async def test_the_phone_hangs_up(self):
        uas, uri, _ = self.uas("uas_dialog.xml") if False else self.uas()
        # SIPp's uas_echo waits for the BYE: use a phone that hangs up instead.
        uas.kill()
        port = w2s.free_port(socket.SOCK_DGRAM)
        proc = w2s.sipp("uas_hangup.xml", None, port, name="sipp-uas")
        self.addCleanup(proc.kill)
        w2s.wait_udp_port_bound(port)
        uri = f"sip:uas@{w2s.LOOPBACK}:{port}"
        c = await self.breaker_client("carol")
        call_id = "hup-" + os.urandom(4).hex()
        cseq = await self.invite(c, uri, call_id)
        ok = await c.response_to(call_id, cseq, "INVITE", timeout=20)
        self.assertEqual(ok.status, 200, ok.text)
        bye = await c.next_request("BYE", timeout=15)
        self.assertEqual(bye.header("call-id"), call_id)
        await c.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(proc), 0, proc.output())

    async def test_the_browser_cancels_before_the_answer(self):
        port = w2s.free_port(socket.SOCK_DGRAM)
        proc = w2s.sipp("uas_cancelled_b2bua.xml", None, port, name="sipp-uas")
        self.addCleanup(proc.kill)
        w2s.wait_udp_port_bound(port)
        uri = f"sip:uas@{w2s.LOOPBACK}:{port}"
        c = await self.breaker_client("dave")
        call_id = "bcx-" + os.urandom(4).hex()
        cseq = await self.invite(c, uri, call_id)
        ringing = await c.response_to(call_id, cseq, "INVITE", final=False, timeout=20)
        while ringing.status == 100:
            ringing = await c.response_to(call_id, cseq, "INVITE", final=False, timeout=20)
        self.assertEqual(ringing.status, 180)
        invite_text = [m for m in c.received if m.status == 100][0]
        branch = re.search(r"branch=([^;\r]+)", invite_text.all("via")[0]).group(1)
        await c.send(c.request("CANCEL", uri, call_id, "b1", f"<{uri}>", cseq, branch=branch))
        self.assertEqual((await c.response_to(call_id, cseq, "CANCEL")).status, 200)
        self.assertEqual((await c.response_to(call_id, cseq, "INVITE")).status, 487)
        self.assertEqual(await self.wait_exit(proc), 0, proc.output())


    async def registered_breaker(self, user):
        c = await self.breaker_client(user)
        resp = await c.register()
        self.assertEqual(resp.status, 200, resp.text)
        return c

    def sipp_uac(self, scenario, user):
        port = w2s.free_port(socket.SOCK_DGRAM)
        trace = os.path.join(self.workdir, f"uac-{port}.msg")
        proc = w2s.sipp(scenario, f"{w2s.LOOPBACK}:{self.kam_port}", port, service=user,
                        extra=["-trace_msg", "-message_file", trace])
        self.addCleanup(proc.kill)
        return proc, trace

    async def test_a_legacy_phone_calls_the_breaker_browser(self):
        c = await self.registered_breaker("erin")
        uac, trace = self.sipp_uac("uac_call_browser.xml", "erin")
        invite = await c.next_request("INVITE", timeout=20)
        # A new dialog from the B2BUA with a WebRTC offer made by the node.
        self.assertIn("UDP/TLS/RTP/SAVPF", invite.body)
        self.assertIn("a=setup:actpass", invite.body)
        self.assertIn("a=ice-lite", invite.body)
        self.assertRegex(invite.body, r"a=fingerprint:sha-256 ")
        self.assertIn("a=group:BUNDLE", invite.body)
        self.assertIn("PCMU/8000", invite.body)
        self.assertEqual(invite.uri, f"sip:{c.contact_user}@{c.host};transport=ws;rtcweb-breaker=yes")
        await c.reply(invite, 180, "Ringing", to_tag="e1")
        await c.reply(invite, 200, "OK", to_tag="e1", body=chromium_answer(),
                      content_type="application/sdp")
        ack = await c.next_request("ACK")
        self.assertEqual(ack.header("call-id"), invite.header("call-id"))
        bye = await c.next_request("BYE", timeout=20)
        await c.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())
        log = open(trace, errors="replace").read()
        answer = log[log.find("SIP/2.0 200 OK"):]
        self.assertRegex(answer, r"m=audio \d+ RTP/AVP 0")
        self.assertNotIn(invite.header("call-id"), log)  # two dialogs
        for webrtc_only in ("a=ice-", "a=fingerprint", "a=group:BUNDLE", "a=candidate"):
            self.assertNotIn(webrtc_only, answer[:answer.find("\n\n----")] if "\n\n----" in answer else answer)
        self.assertGreaterEqual(w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_calls_total",
                                           direction="incoming", outcome="browser_bye") +
                                w2s.metric(self.gw.http_port, "webrtc2sip_b2bua_calls_total",
                                           direction="incoming", outcome="network_bye"), 1)

    async def test_the_phone_cancels_while_the_breaker_browser_rings(self):
        c = await self.registered_breaker("frank")
        uac, _ = self.sipp_uac("uac_cancel.xml", "frank")
        invite = await c.next_request("INVITE", timeout=20)
        await c.reply(invite, 180, "Ringing", to_tag="f1")
        cancel = await c.next_request("CANCEL", timeout=20)
        self.assertEqual(cancel.header("call-id"), invite.header("call-id"))
        await c.reply(cancel, 200, "OK", to_tag="f1")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())


class MediaNodeFailureTest(unittest.IsolatedAsyncioTestCase):
    """A media node dies mid-call: both legs get BYE within seconds, and the
    next call goes to the surviving node."""

    def start_relay(self, cfg, name):
        proc = start_media_relay(cfg, name)
        self.addCleanup(proc.kill)
        return proc

    async def test_a_dead_node_ends_its_calls_on_both_legs(self):
        w2s.start_sip_network(self, "w2s-nodefail-")
        self.addCleanup(self.kamailio.kill)
        kam_port, domain = self.kam_port, self.domain
        cfg = w2s.signaling_config(kam_port, session_lease_seconds=5)
        relays = [self.start_relay(cfg, "relay-a"), self.start_relay(cfg, "relay-b")]
        cfg["signaling"]["media_nodes"] = {"addresses": [r.grpc for r in relays]}
        gw = w2s.start_signaling(cfg)
        self.addCleanup(gw.kill)
        await asyncio.sleep(1)  # the pool hears from both nodes

        port = w2s.free_port(socket.SOCK_DGRAM)
        phone = w2s.sipp("uas_echo.xml", None, port, name="sipp-uas")
        self.addCleanup(phone.kill)
        w2s.wait_udp_port_bound(port)
        uri = f"sip:uas@{w2s.LOOPBACK}:{port}"
        c = WsSipClient(gw.ws_url, "gina", domain)
        c.contact_params = ";rtcweb-breaker=yes"
        await c.connect()
        self.addAsyncCleanup(c.close)
        c.cseq += 1
        await c.send(c.request("INVITE", uri, "nf-1", "g1", f"<{uri}>", c.cseq, body=chromium_offer(),
                               content_type="application/sdp"))
        ok = await c.response_to("nf-1", c.cseq, "INVITE", timeout=20)
        self.assertEqual(ok.status, 200, ok.text)
        # Which node holds the call: the one with a session.
        busy = [r for r in relays if w2s.metric(r.http_port, "webrtc2sip_media_sessions") == 1]
        self.assertEqual(len(busy), 1)
        dead, alive = busy[0], [r for r in relays if r is not busy[0]][0]
        dead.kill()
        started = asyncio.get_running_loop().time()
        bye = await c.next_request("BYE", timeout=20)
        self.assertEqual(bye.header("call-id"), "nf-1")
        await c.reply(bye, 200, "OK")
        self.assertLess(asyncio.get_running_loop().time() - started, 15)
        # The phone got its BYE too: its scenario ends well.
        for _ in range(150):
            if phone.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        self.assertEqual(phone.proc.returncode, 0, phone.output())
        self.assertGreaterEqual(w2s.metric(gw.http_port, "webrtc2sip_b2bua_calls_total",
                                           direction="outgoing", outcome="media_lost"), 1)

        # The next call goes to the surviving node.
        port2 = w2s.free_port(socket.SOCK_DGRAM)
        phone2 = w2s.sipp("uas_echo.xml", None, port2, name="sipp-uas2")
        self.addCleanup(phone2.kill)
        w2s.wait_udp_port_bound(port2)
        uri2 = f"sip:uas@{w2s.LOOPBACK}:{port2}"
        c.cseq += 1
        await c.send(c.request("INVITE", uri2, "nf-2", "g2", f"<{uri2}>", c.cseq, body=chromium_offer(),
                               content_type="application/sdp"))
        ok2 = await c.response_to("nf-2", c.cseq, "INVITE", timeout=20)
        self.assertEqual(ok2.status, 200, ok2.text)
        self.assertEqual(w2s.metric(alive.http_port, "webrtc2sip_media_sessions"), 1)
        contact, to = ok2.header("contact").strip("<>"), ok2.header("to")
        c.cseq += 1
        await c.send(c.request("BYE", contact, "nf-2", "g2", to, c.cseq))
        self.assertEqual((await c.response_to("nf-2", c.cseq, "BYE")).status, 200)
        self.assertEqual(gw.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
