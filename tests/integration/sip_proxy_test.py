"""The SIP Proxy module with real peers on loopback: Kamailio (registrar with
digest auth, UDP), SIPp as legacy phones, and a SIP-over-WebSocket client.
Run by ctest; every process is started here and stopped by PID."""

import asyncio
import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
from ws_sip import SDP_OFFER, Dialog, WsSipClient  # noqa: E402



class LossyRelay(threading.Thread):
    """A UDP hop between the gateway and the registrar that drops the first
    INVITE it sees, so only the gateway's retransmission can get through.
    Requests the registrar sends to the gateway do not pass here."""

    def __init__(self, target_port):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((w2s.LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.target = (w2s.LOOPBACK, target_port)
        self.dropped = 0
        self.forwarded_invites = 0
        self.running = True

    def run(self):
        # One socket both ways: the registrar answers the relay (rport), and
        # the relay hands that back to the gateway.
        gateway = None
        self.sock.settimeout(0.2)
        while self.running:
            try:
                data, source = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if source == self.target:
                if gateway:
                    self.sock.sendto(data, gateway)
                continue
            gateway = source
            if data.startswith(b"INVITE "):
                if self.dropped == 0:
                    self.dropped += 1
                    continue
                self.forwarded_invites += 1
            self.sock.sendto(data, self.target)
        self.sock.close()


class SipProxyTest(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        w2s.start_sip_network(cls, "w2s-proxy-")
        cls.cfg = w2s.signaling_config(cls.kam_port)
        cls.gw = w2s.start_signaling(cls.cfg)

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        cls.kamailio.stop()
        cls.kamailio.kill()
        os.unlink(cls.gw.config_path)
        assert code == 0, cls.gw.output()

    async def client(self, user, url=None):
        c = WsSipClient(url or self.gw.ws_url, user, self.domain)
        await c.connect()
        self.addAsyncCleanup(c.close)
        return c

    async def registered(self, user):
        c = await self.client(user)
        resp = await c.register()
        self.assertEqual(resp.status, 200, resp.text)
        return c

    def sipp_uac(self, scenario, user):
        proc = w2s.sipp(scenario, f"{w2s.LOOPBACK}:{self.kam_port}",
                        w2s.free_port(socket.SOCK_DGRAM), service=user)
        self.addCleanup(proc.kill)
        return proc

    async def wait_exit(self, proc, timeout=30):
        return await w2s.wait_exit(proc, timeout)

    # ------------------------------------------------------------------ tests

    async def test_register_through_challenge_keeps_the_browser_contact(self):
        c = await self.client("alice")
        before = w2s.metric(self.gw.http_port, "webrtc2sip_sip_transactions_total",
                            direction="ws_to_net", method="REGISTER", status_class="2xx")
        resp = await c.register()
        self.assertEqual(resp.status, 200, resp.text)
        # The first answer was Kamailio's 401, passed back untouched.
        challenges = [m for m in c.received if m.status == 401]
        self.assertEqual(len(challenges), 1)
        self.assertIn('WWW-Authenticate: Digest realm="127.0.0.1"', challenges[0].text)
        # The browser sees its own Contact back (JsSIP and SIP.js look for it).
        self.assertIn(c.contact, resp.header("contact"))
        via = resp.all("via")
        self.assertEqual(len(via), 1)
        self.assertIn("received=127.0.0.1", via[0])
        self.assertRegex(via[0], r"rport=\d+")
        after = w2s.metric(self.gw.http_port, "webrtc2sip_sip_transactions_total",
                           direction="ws_to_net", method="REGISTER", status_class="2xx")
        self.assertEqual(after, before + 1)

    async def test_browser_calls_a_sipp_phone(self):
        uas_port = w2s.free_port(socket.SOCK_DGRAM)
        uas = w2s.sipp("uas_echo.xml", None, uas_port, name="sipp-uas")
        self.addCleanup(uas.kill)
        w2s.wait_udp_port_bound(uas_port)
        c = await self.registered("bob")
        call_id, tag = "call-" + os.urandom(4).hex(), "t" + os.urandom(3).hex()
        uri = f"sip:uas@{w2s.LOOPBACK}:{uas_port}"
        ok = await c.transaction("INVITE", uri, call_id, tag, f"<{uri}>", body=SDP_OFFER,
                                 content_type="application/sdp")
        self.assertEqual(ok.status, 200, ok.text)
        self.assertIn("m=audio", ok.body)
        ringing = [m for m in c.received if m.status == 180]
        self.assertEqual(len(ringing), 1)
        # The gateway record-routes twice (RFC 5658): its ws side and its udp side.
        rr = ",".join(ok.all("record-route"))
        self.assertIn("transport=ws", rr)
        self.assertIn("transport=udp", rr)
        dialog = Dialog(c, call_id, tag, ok)
        await dialog.ack(c.cseq)
        await asyncio.sleep(0.2)
        bye = await dialog.bye()
        self.assertEqual(bye.status, 200, bye.text)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())

    async def test_sipp_phone_calls_the_browser(self):
        c = await self.registered("carol")
        uac = self.sipp_uac("uac_call_browser.xml", "carol")
        invite = await c.next_request("INVITE", timeout=15)
        # The Request-URI is the browser's own Contact again.
        self.assertEqual(invite.uri, f"sip:{c.contact_user}@{c.host};transport=ws")
        self.assertTrue(invite.all("via")[0].startswith("SIP/2.0/WS "))
        await c.reply(invite, 180, "Ringing", to_tag="b1")
        await c.reply(invite, 200, "OK", to_tag="b1", body=SDP_OFFER,
                      content_type="application/sdp")
        ack = await c.next_request("ACK")
        self.assertEqual(ack.header("call-id"), invite.header("call-id"))
        bye = await c.next_request("BYE")
        await c.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())

    async def test_message_both_ways_between_two_browsers(self):
        dave = await self.registered("dave")
        erin = await self.registered("erin")
        for sender, receiver in ((dave, erin), (erin, dave)):
            call_id = "msg-" + os.urandom(4).hex()
            text = f"hello from {sender.user}"
            task = asyncio.ensure_future(sender.transaction(
                "MESSAGE", f"sip:{receiver.user}@{self.domain}", call_id, "m1",
                f"<sip:{receiver.user}@{self.domain}>", body=text, content_type="text/plain"))
            got = await receiver.next_request("MESSAGE")
            self.assertEqual(got.body, text)
            await receiver.reply(got, 200, "OK", to_tag="r1")
            resp = await task
            self.assertEqual(resp.status, 200, resp.text)

    async def test_a_dead_flow_gets_430_and_a_new_connection_takes_over(self):
        frank = await self.registered("frank")
        await frank.close()
        await asyncio.sleep(0.3)
        before = w2s.metric(self.gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                            reason="flow_failed")
        uac = self.sipp_uac("uac_expect_failure.xml", "frank")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())
        self.assertGreater(w2s.metric(self.gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                                      reason="flow_failed"), before)
        # Frank comes back on a new connection: calls reach him there.
        again = await self.registered("frank")
        uac = self.sipp_uac("uac_call_browser.xml", "frank")
        invite = await again.next_request("INVITE", timeout=15)
        await again.reply(invite, 200, "OK", to_tag="f2", body=SDP_OFFER,
                          content_type="application/sdp")
        await again.next_request("ACK")
        bye = await again.next_request("BYE")
        await again.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())

    async def test_first_invite_lost_on_udp_is_retransmitted(self):
        relay = LossyRelay(self.kam_port)
        relay.start()
        self.addCleanup(setattr, relay, "running", False)
        cfg = w2s.signaling_config(outbound_proxy=f"sip:{w2s.LOOPBACK}:{relay.port};transport=udp")
        gw = w2s.start_signaling(cfg)
        self.addCleanup(gw.kill)
        uas_port = w2s.free_port(socket.SOCK_DGRAM)
        uas = w2s.sipp("uas_echo.xml", None, uas_port, name="sipp-uas")
        self.addCleanup(uas.kill)
        w2s.wait_udp_port_bound(uas_port)
        c = await self.client("grace", gw.ws_url)
        self.assertEqual((await c.register()).status, 200)
        call_id, tag = "lost-" + os.urandom(4).hex(), "t1"
        uri = f"sip:uas@{w2s.LOOPBACK}:{uas_port}"
        ok = await c.transaction("INVITE", uri, call_id, tag, f"<{uri}>", body=SDP_OFFER,
                                 content_type="application/sdp")
        self.assertEqual(ok.status, 200, ok.text)
        self.assertEqual(relay.dropped, 1)
        self.assertGreaterEqual(relay.forwarded_invites, 1)
        dialog = Dialog(c, call_id, tag, ok)
        await dialog.ack(c.cseq)
        self.assertEqual((await dialog.bye()).status, 200)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())
        self.assertEqual(gw.stop(), 0)

    async def test_srv_targets_are_tried_in_order_past_a_503(self):
        """RFC 3263 with a real DNS server: the SRV record's first target
        answers 503, the gateway moves on to the second, which answers."""
        busy_port = w2s.free_port(socket.SOCK_DGRAM)
        good_port = w2s.free_port(socket.SOCK_DGRAM)
        busy = w2s.sipp("uas_503.xml", None, busy_port, name="sipp-503")
        good = w2s.sipp("uas_echo.xml", None, good_port, name="sipp-uas")
        for p in (busy, good):
            self.addCleanup(p.kill)
        w2s.wait_udp_port_bound(busy_port)
        w2s.wait_udp_port_bound(good_port)
        dns_port = w2s.free_port(socket.SOCK_DGRAM)
        dns = w2s.start_dnsmasq(dns_port, [
            "--host-record=pbx1.example.test,127.0.0.1",
            "--host-record=pbx2.example.test,127.0.0.1",
            f"--srv-host=_sip._udp.example.test,pbx1.example.test,{busy_port},10,0",
            f"--srv-host=_sip._udp.example.test,pbx2.example.test,{good_port},20,0",
        ], self.workdir)
        self.addCleanup(dns.kill)
        # No outbound proxy: the Request-URI's domain is resolved.
        cfg = w2s.signaling_config(nameservers=[f"{w2s.LOOPBACK}:{dns_port}"])
        gw = w2s.start_signaling(cfg)
        self.addCleanup(gw.kill)
        c = await self.client("judy", gw.ws_url)
        call_id, tag = "srv-" + os.urandom(4).hex(), "t1"
        uri = "sip:service@example.test"
        ok = await c.transaction("INVITE", uri, call_id, tag, f"<{uri}>", body=SDP_OFFER,
                                 content_type="application/sdp")
        self.assertEqual(ok.status, 200, ok.text)
        self.assertFalse(any(m.status == 503 for m in c.received))  # absorbed, not passed on
        self.assertEqual(await self.wait_exit(busy), 0, busy.output())
        dialog = Dialog(c, call_id, tag, ok)
        await dialog.ack(c.cseq)
        self.assertEqual((await dialog.bye()).status, 200)
        self.assertEqual(await self.wait_exit(good), 0, good.output())
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                                    reason="failover_503"), 1)
        self.assertEqual(gw.stop(), 0)

    async def test_bad_input_is_refused_and_counted_and_disturbs_no_one(self):
        bystander = await self.registered("heidi")
        bad = await self.client("mallory")
        before = w2s.metric(self.gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                            reason="malformed")
        # A request without Call-ID cannot be proxied: 400.
        await bad.send("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bKx\r\n"
                       "From: <sip:m@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n"
                       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        await asyncio.sleep(0.3)
        self.assertEqual(w2s.metric(self.gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                                    reason="malformed"), before + 1)
        # Max-Forwards: 0 ends here with 483.
        c = bad
        c.cseq += 1
        text = c.request("OPTIONS", "sip:x@127.0.0.1", "mf0", "t", "<sip:x@127.0.0.1>", c.cseq)
        await c.send(text.replace("Max-Forwards: 70", "Max-Forwards: 0"))
        resp = await c.response_to("mf0", c.cseq, "OPTIONS")
        self.assertEqual(resp.status, 483)
        # CRLF keep-alive is answered.
        await c.send("\r\n\r\n")
        await asyncio.sleep(0.2)
        self.assertTrue(any(m.start.startswith("PONG") for m in c.received))
        # Garbage closes that one connection...
        await bad.send("this is not SIP at all")
        await asyncio.sleep(0.3)
        self.assertTrue(bad.ws.closed)
        # ...and nobody else notices.
        self.assertEqual((await bystander.register()).status, 200)

    async def test_oversized_message_closes_the_connection(self):
        c = await self.client("ivan")
        big = "x" * 70000
        await c.send(c.request("MESSAGE", "sip:x@127.0.0.1", "big", "t", "<sip:x@127.0.0.1>", 1,
                               body=big, content_type="text/plain"))
        await asyncio.sleep(0.5)
        self.assertTrue(c.ws.closed)
        self.assertEqual(c.ws.close_code, 1009)


if __name__ == "__main__":
    unittest.main(verbosity=2)
