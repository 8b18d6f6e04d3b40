"""The SIP proxy toward the SIP network over TCP and over TLS (the other
tests use UDP). For each, a gateway whose only network transport is that one
and Kamailio as registrar reachable only that way (TLS: Kamailio's tls
module, self-signed certificate), so every message between the two crossed
it. A SIP-over-WebSocket client registers (digest challenge), calls a SIPp
phone, is called by one, and exchanges MESSAGE with a second client (out of
the gateway and back in over the same transport).

Debian's SIPp is built without TLS, so the phones reach Kamailio over TCP
in both cases; what is under test is the gateway's side of the hop.
Every process is started here and stopped by PID."""

import asyncio
import os
import re
import shutil
import tempfile
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
from ws_sip import SDP_OFFER, Dialog, WsSipClient  # noqa: E402


class TransportCase:
    """Mixed into a test class that sets TRANSPORT to "tcp" or "tls"."""

    TRANSPORT = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix=f"w2s-{cls.TRANSPORT}-")
        key, cert = w2s.make_certificate(cls.workdir)
        # Kamailio: the network port of this transport; phones use TCP.
        cls.kam_port = w2s.free_port()
        cls.phone_port = cls.kam_port if cls.TRANSPORT == "tcp" else w2s.free_port()
        listen = [f"{cls.TRANSPORT}:{cls.kam_port}"]
        defines = []
        if cls.TRANSPORT == "tls":
            listen.append(f"tcp:{cls.phone_port}")
            defines = ["WITH_TLS", f'TLS_CERT="{cert}"', f'TLS_KEY="{key}"']
        cls.kamailio = w2s.start_kamailio(cls.kam_port, cls.workdir, listen, defines)
        cls.domain = f"{w2s.LOOPBACK}:{cls.kam_port}"

        cfg = w2s.signaling_config(
            outbound_proxy=f"sip:{cls.domain};transport={cls.TRANSPORT}")
        sig = cfg["signaling"]
        cls.gw_port = w2s.free_port()
        sig["transports"] = [
            {"protocol": "ws", "address": w2s.LOOPBACK, "port": w2s.free_port()},
            {"protocol": cls.TRANSPORT, "address": w2s.LOOPBACK, "port": cls.gw_port},
        ]
        sig["ssl_certificates"] = {"private_key": key, "certificate": cert}
        cls.gw = w2s.start_signaling(cfg)

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        os.unlink(cls.gw.config_path)
        try:
            cls.kamailio.stop(timeout=5)
        finally:
            cls.kamailio.kill()
        shutil.rmtree(cls.workdir, ignore_errors=True)
        assert code == 0, cls.gw.output()

    async def client(self, user):
        c = WsSipClient(self.gw.ws_url, user, self.domain)
        await c.connect()
        self.addAsyncCleanup(c.close)
        return c

    async def registered(self, user):
        c = await self.client(user)
        resp = await c.register()
        self.assertEqual(resp.status, 200, resp.text)
        return c

    def phone(self, scenario, service=None, uas=False):
        port = w2s.free_port()
        target = None if uas else f"{w2s.LOOPBACK}:{self.phone_port}"
        proc = w2s.sipp(scenario, target, port, service=service,
                        name="sipp-uas" if uas else "sipp-uac", extra=("-t", "t1"))
        self.addCleanup(proc.kill)
        if uas:
            w2s.wait_tcp_port(port, proc)
        return proc, port

    async def wait_exit(self, proc, timeout=30):
        for _ in range(int(timeout * 10)):
            if proc.proc.poll() is not None:
                return proc.proc.returncode
            await asyncio.sleep(0.1)
        proc.kill()
        self.fail(f"{proc.name} did not finish:\n{proc.output()}")

    def assert_gateway_route(self, msg):
        """The gateway's network-side Record-Route names this transport."""
        rr = ",".join(msg.all("record-route"))
        gw = [u for u in re.findall(r"<([^>]+)>", rr) if f":{self.gw_port};" in u]
        self.assertEqual(len(gw), 1, rr)
        self.assertIn(f"transport={self.TRANSPORT}", gw[0])

    # ------------------------------------------------------------------ tests

    async def test_register_through_the_challenge(self):
        c = await self.client("alice")
        resp = await c.register()
        self.assertEqual(resp.status, 200, resp.text)
        self.assertEqual(len([m for m in c.received if m.status == 401]), 1)
        self.assertIn(c.contact, resp.header("contact"))
        via = resp.all("via")
        self.assertEqual(len(via), 1)
        self.assertIn("received=127.0.0.1", via[0])

    async def test_browser_calls_a_phone(self):
        uas, port = self.phone("uas_echo.xml", uas=True)
        c = await self.registered("bob")
        call_id, tag = f"{self.TRANSPORT}-" + os.urandom(4).hex(), "t1"
        uri = f"sip:uas@{w2s.LOOPBACK}:{port};transport=tcp"
        ok = await c.transaction("INVITE", uri, call_id, tag, f"<{uri}>", body=SDP_OFFER,
                                 content_type="application/sdp")
        self.assertEqual(ok.status, 200, ok.text)
        self.assertIn("m=audio", ok.body)
        self.assertEqual(len([m for m in c.received if m.status == 180]), 1)
        self.assert_gateway_route(ok)
        dialog = Dialog(c, call_id, tag, ok)
        await dialog.ack(c.cseq)
        await asyncio.sleep(0.2)
        bye = await dialog.bye()
        self.assertEqual(bye.status, 200, bye.text)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())

    async def test_phone_calls_the_browser(self):
        c = await self.registered("carol")
        uac, _ = self.phone("uac_call_browser.xml", service="carol")
        invite = await c.next_request("INVITE", timeout=15)
        self.assertEqual(invite.uri, f"sip:{c.contact_user}@{c.host};transport=ws")
        self.assertTrue(invite.all("via")[0].startswith("SIP/2.0/WS "))
        # The hop before the gateway came over this transport.
        self.assertTrue(invite.all("via")[1].startswith(f"SIP/2.0/{self.TRANSPORT.upper()} "),
                        invite.all("via"))
        self.assert_gateway_route(invite)
        await c.reply(invite, 180, "Ringing", to_tag="c1")
        await c.reply(invite, 200, "OK", to_tag="c1", body=SDP_OFFER,
                      content_type="application/sdp")
        ack = await c.next_request("ACK")
        self.assertEqual(ack.header("call-id"), invite.header("call-id"))
        bye = await c.next_request("BYE")
        await c.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())

    async def test_message_between_two_browsers(self):
        dave = await self.registered("dave")
        erin = await self.registered("erin")
        for sender, receiver in ((dave, erin), (erin, dave)):
            call_id = "msg-" + os.urandom(4).hex()
            text = f"hello over {self.TRANSPORT} from {sender.user}"
            task = asyncio.ensure_future(sender.transaction(
                "MESSAGE", f"sip:{receiver.user}@{self.domain}", call_id, "m1",
                f"<sip:{receiver.user}@{self.domain}>", body=text, content_type="text/plain"))
            got = await receiver.next_request("MESSAGE")
            self.assertEqual(got.body, text)
            self.assertTrue(got.all("via")[1].startswith(f"SIP/2.0/{self.TRANSPORT.upper()} "),
                            got.all("via"))
            await receiver.reply(got, 200, "OK", to_tag="r1")
            resp = await task
            self.assertEqual(resp.status, 200, resp.text)


class SipOverTcpTest(TransportCase, unittest.IsolatedAsyncioTestCase):
    TRANSPORT = "tcp"


class SipOverTlsTest(TransportCase, unittest.IsolatedAsyncioTestCase):
    TRANSPORT = "tls"


if __name__ == "__main__":
    unittest.main(verbosity=2)
