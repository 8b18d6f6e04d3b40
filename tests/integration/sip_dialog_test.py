"""Every method through the SIP proxy, inside and outside dialogs: 100rel and
PRACK, 183, re-INVITE, UPDATE, INFO, OPTIONS and REFER in a dialog, INFO from
the phone to the browser, SUBSCRIBE/NOTIFY, and CANCEL in both directions.
Real Kamailio and SIPp on loopback, a SIP-over-WebSocket client for the
browser."""

import asyncio
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
from ws_sip import SDP_OFFER, Dialog, WsSipClient  # noqa: E402


class SipDialogTest(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        w2s.start_sip_network(cls, "w2s-dialog-")
        cls.gw = w2s.start_signaling(w2s.signaling_config(cls.kam_port))

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        cls.kamailio.stop()
        cls.kamailio.kill()
        assert code == 0, cls.gw.output()

    async def registered(self, user):
        c = WsSipClient(self.gw.ws_url, user, self.domain)
        await c.connect()
        self.addAsyncCleanup(c.close)
        self.assertEqual((await c.register()).status, 200)
        return c

    def uas(self, scenario):
        port = w2s.free_port(socket.SOCK_DGRAM)
        proc = w2s.sipp(scenario, None, port, name="sipp-uas")
        self.addCleanup(proc.kill)
        w2s.wait_udp_port_bound(port)
        return proc, f"sip:uas@{w2s.LOOPBACK}:{port}"

    async def wait_exit(self, proc, timeout=30):
        return await w2s.wait_exit(proc, timeout)

    async def in_dialog(self, c, dialog, method, body="", content_type=None):
        c.cseq += 1
        await c.send(c.request(method, dialog.target, dialog.call_id, dialog.from_tag, dialog.to,
                               c.cseq, extra=dialog.route_headers(), body=body,
                               content_type=content_type))
        return await c.response_to(dialog.call_id, c.cseq, method)

    async def test_a_whole_dialog_with_prack_reinvite_update_info_options_refer(self):
        uas, uri = self.uas("uas_dialog.xml")
        c = await self.registered("alice")
        call_id, tag = "dlg-" + os.urandom(4).hex(), "a1"
        c.cseq += 1
        invite_cseq = c.cseq
        await c.send(c.request("INVITE", uri, call_id, tag, f"<{uri}>", invite_cseq,
                               extra="Supported: 100rel\r\n", body=SDP_OFFER,
                               content_type="application/sdp"))
        early = await c.response_to(call_id, invite_cseq, "INVITE", final=False)
        self.assertEqual(early.status, 183, early.text)
        self.assertEqual(early.header("require"), "100rel")
        self.assertIn("m=audio", early.body)
        # PRACK goes inside the early dialog, routed by the Record-Routes.
        early_dialog = Dialog(c, call_id, tag, early)
        prack = await self.in_dialog(c, early_dialog, "PRACK")
        self.assertEqual(prack.status, 200)
        ok = await c.response_to(call_id, invite_cseq, "INVITE")
        self.assertEqual(ok.status, 200, ok.text)
        dialog = Dialog(c, call_id, tag, ok)
        await dialog.ack(invite_cseq)

        reinvite = await self.in_dialog(c, dialog, "INVITE", body=SDP_OFFER.replace("o=- 1 1", "o=- 1 2") + "a=sendonly\r\n",
                                        content_type="application/sdp")
        self.assertEqual(reinvite.status, 200)
        self.assertIn("a=recvonly", reinvite.body)
        await dialog.ack(c.cseq)
        self.assertEqual((await self.in_dialog(c, dialog, "UPDATE")).status, 200)
        self.assertEqual((await self.in_dialog(c, dialog, "INFO", body="Signal=1\r\nDuration=160\r\n",
                                               content_type="application/dtmf-relay")).status, 200)
        self.assertEqual((await self.in_dialog(c, dialog, "OPTIONS")).status, 200)
        c.cseq += 1
        await c.send(c.request("REFER", dialog.target, call_id, tag, dialog.to, c.cseq,
                               extra=dialog.route_headers() + f"Refer-To: <sip:carol@{self.domain}>\r\n"))
        refer = await c.response_to(call_id, c.cseq, "REFER")
        self.assertEqual(refer.status, 202)

        # The phone sends INFO to the browser: it arrives over the WebSocket.
        info = await c.next_request("INFO")
        self.assertEqual(info.header("call-id"), call_id)
        self.assertIn("Signal=5", info.body)
        self.assertEqual(info.uri, f"sip:{c.contact_user}@{c.host};transport=ws")
        await c.reply(info, 200, "OK")

        self.assertEqual((await dialog.bye()).status, 200)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())

    async def test_subscribe_and_notify(self):
        uas, uri = self.uas("uas_subscribe_refer.xml")
        c = await self.registered("bob")
        call_id = "sub-" + os.urandom(4).hex()
        resp = await c.transaction("SUBSCRIBE", uri, call_id, "s1", f"<{uri}>",
                                   extra="Event: message-summary\r\nExpires: 60\r\n")
        self.assertEqual(resp.status, 200, resp.text)
        notify = await c.next_request("NOTIFY")
        self.assertEqual(notify.header("call-id"), call_id)
        self.assertEqual(notify.header("event"), "message-summary")
        await c.reply(notify, 200, "OK")
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())

    async def test_the_browser_cancels_a_ringing_call(self):
        uas, uri = self.uas("uas_cancelled.xml")
        c = await self.registered("carol")
        call_id, tag = "cxl-" + os.urandom(4).hex(), "c1"
        c.cseq += 1
        cseq = c.cseq
        invite = c.request("INVITE", uri, call_id, tag, f"<{uri}>", cseq, body=SDP_OFFER,
                           content_type="application/sdp")
        await c.send(invite)
        ringing = await c.response_to(call_id, cseq, "INVITE", final=False)
        self.assertEqual(ringing.status, 180)
        branch = re.search(r"branch=([^;\r]+)", invite).group(1)
        await c.send(c.request("CANCEL", uri, call_id, tag, f"<{uri}>", cseq, branch=branch))
        cancel_ok = await c.response_to(call_id, cseq, "CANCEL")
        self.assertEqual(cancel_ok.status, 200)
        final = await c.response_to(call_id, cseq, "INVITE")
        self.assertEqual(final.status, 487)
        await c.ack_non2xx(uri, call_id, tag, final)
        self.assertEqual(await self.wait_exit(uas), 0, uas.output())

    async def test_the_phone_cancels_while_the_browser_rings(self):
        c = await self.registered("dave")
        uac = w2s.sipp("uac_cancel.xml", f"{w2s.LOOPBACK}:{self.kam_port}",
                       w2s.free_port(socket.SOCK_DGRAM), service="dave")
        self.addCleanup(uac.kill)
        invite = await c.next_request("INVITE", timeout=15)
        await c.reply(invite, 180, "Ringing", to_tag="d1")
        cancel = await c.next_request("CANCEL")
        self.assertEqual(cancel.header("call-id"), invite.header("call-id"))
        self.assertEqual(cancel.all("via")[0], invite.all("via")[0])  # same branch as the INVITE
        await c.reply(cancel, 200, "OK", to_tag="d1")
        await c.reply(invite, 487, "Request Terminated", to_tag="d1")
        self.assertEqual(await self.wait_exit(uac), 0, uac.output())


if __name__ == "__main__":
    unittest.main(verbosity=2)
