"""The RTCWeb Breaker inside established calls, with real peers (Kamailio,
SIPp phones, a real media-relay node, a SIP-over-WebSocket browser client
offering a captured Chromium SDP): hold and resume by re-INVITE from each
side with the media session updated on its node, INFO and MESSAGE carried
both ways with their answers, session refreshes answered by the gateway,
RFC 4028 session timers (refreshing, and ending a silent dialog), and 100rel
on the SIP side."""

import asyncio
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
from breaker import (breaker_client, call, chromium_answer, chromium_offer,  # noqa: E402
                     start_media_relay)


def with_direction(sdp, direction, version):
    """The same SDP as a new offer or answer: another direction, o= version."""
    sdp = re.sub(r"a=(sendrecv|sendonly|recvonly|inactive)", f"a={direction}", sdp)
    return re.sub(r"^(o=\S+ \S+ )\d+", rf"\g<1>{version}", sdp, flags=re.M)


def origin_version(sdp):
    return int(re.search(r"^o=\S+ \S+ (\d+)", sdp, re.M).group(1))


def fingerprint(sdp):
    return re.search(r"a=fingerprint:(.*)", sdp).group(1).strip()


class BreakerGateway(unittest.IsolatedAsyncioTestCase):
    signaling_options = {}
    media_options = {}
    via_kamailio = True

    @classmethod
    def setUpClass(cls):
        w2s.start_sip_network(cls, "w2s-b2bua-dialog-")
        cfg = w2s.signaling_config(cls.kam_port if cls.via_kamailio else None,
                                   allow_ha1_over_ws=True, **cls.signaling_options)
        cfg["media"].update(cls.media_options)
        cls.relay = start_media_relay(cfg, "media-relay", port_range=(40000, 40999))
        cfg["signaling"]["media_nodes"] = {"addresses": [cls.relay.grpc]}
        cls.gw = w2s.start_signaling(cfg)

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        cls.relay.stop()
        cls.kamailio.stop()
        cls.kamailio.kill()
        assert code == 0, cls.gw.output()

    async def client(self, user, register=False):
        c = await breaker_client(self.gw.ws_url, user, self.domain)
        self.addAsyncCleanup(c.close)
        if register:
            resp = await c.register()
            self.assertEqual(resp.status, 200, resp.text)
        return c

    def phone(self, scenario, timeout="30s"):
        port = w2s.free_port(socket.SOCK_DGRAM)
        trace = os.path.join(self.workdir, f"uas-{port}.msg")
        proc = w2s.sipp(scenario, None, port, name="sipp-uas", timeout=timeout,
                        extra=["-trace_msg", "-message_file", trace])
        self.addCleanup(proc.kill)
        w2s.wait_udp_port_bound(port)
        return proc, f"sip:uas@{w2s.LOOPBACK}:{port}", trace

    def caller(self, scenario, user, timeout="30s"):
        port = w2s.free_port(socket.SOCK_DGRAM)
        trace = os.path.join(self.workdir, f"uac-{port}.msg")
        proc = w2s.sipp(scenario, f"{w2s.LOOPBACK}:{self.kam_port}", port, service=user, timeout=timeout,
                        extra=["-trace_msg", "-message_file", trace])
        self.addCleanup(proc.kill)
        return proc, trace

    async def wait_exit(self, proc, timeout=30):
        return await w2s.wait_exit(proc, timeout)

    def metric(self, name, **labels):
        return w2s.metric(self.gw.http_port, name, **labels)

    async def answer_incoming(self, c, tag):
        invite = await c.next_request("INVITE", timeout=20)
        await c.reply(invite, 200, "OK", to_tag=tag, body=chromium_answer(), content_type="application/sdp")
        ack = await c.next_request("ACK")
        self.assertEqual(ack.header("call-id"), invite.header("call-id"))
        return invite


class InDialogTest(BreakerGateway):
    async def reinvite(self, c, answered, sdp):
        c.cseq += 1
        cseq = c.cseq
        await c.send(c.request("INVITE", answered.contact, answered.call_id, answered.tag, answered.to,
                               cseq, body=sdp, content_type="application/sdp"))
        ok = await c.response_to(answered.call_id, cseq, "INVITE", timeout=20)
        await c.send(c.request("ACK", answered.contact, answered.call_id, answered.tag, answered.to,
                               cseq, cseq_method="ACK"))
        return ok

    async def request(self, c, answered, method, body):
        c.cseq += 1
        await c.send(c.request(method, answered.contact, answered.call_id, answered.tag, answered.to,
                               c.cseq, body=body, content_type="text/plain"))
        return await c.response_to(answered.call_id, c.cseq, method, timeout=20)

    async def test_the_browser_holds_and_resumes_and_talks_inside_the_call(self):
        phone, uri, trace = self.phone("uas_reinvite.xml")
        c = await self.client("hal")
        ok, answered = await call(c, uri, "hold-" + os.urandom(4).hex())
        self.assertEqual(ok.status, 200, ok.text)
        first = ok.body
        before = self.metric("webrtc2sip_b2bua_reoffers_total", **{"from": "browser", "outcome": "ok"})

        offer = chromium_offer()
        held = await self.reinvite(c, answered, with_direction(offer, "sendonly", origin_version(offer) + 1))
        self.assertEqual(held.status, 200, held.text)
        # A WebRTC answer to the hold: the mirror direction, same transport.
        self.assertIn("a=recvonly", held.body)
        self.assertIn("a=group:BUNDLE 0", held.body)
        self.assertIn("a=mid:0", held.body)
        self.assertEqual(fingerprint(held.body), fingerprint(first))
        self.assertEqual(origin_version(held.body), origin_version(first) + 1)

        resumed = await self.reinvite(c, answered, with_direction(offer, "sendrecv", origin_version(offer) + 2))
        self.assertEqual(resumed.status, 200, resumed.text)
        self.assertIn("a=sendrecv", resumed.body)
        self.assertEqual(origin_version(resumed.body), origin_version(first) + 2)
        self.assertEqual(self.metric("webrtc2sip_b2bua_reoffers_total", **{"from": "browser", "outcome": "ok"}),
                         before + 2)

        info = await self.request(c, answered, "INFO", "hello-info")
        self.assertEqual(info.status, 200)
        message = await self.request(c, answered, "MESSAGE", "hello-message")
        self.assertEqual(message.status, 202)  # the phone's own answer, carried back
        self.assertEqual((await answered.bye()).status, 200)
        # The phone checked each re-INVITE's direction and both bodies.
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())
        legacy = open(trace, errors="replace").read()
        self.assertNotIn("a=fingerprint", legacy)

    async def test_the_phone_holds_the_browser_and_talks_inside_the_call(self):
        c = await self.client("ivy", register=True)
        phone, trace = self.caller("uac_reinvite_browser.xml", "ivy")
        invite = await self.answer_incoming(c, "i1")
        # The phone's hold reaches the browser as the node's WebRTC re-offer.
        reoffer = await c.next_request("INVITE", timeout=20)
        self.assertEqual(reoffer.header("call-id"), invite.header("call-id"))
        self.assertIn("a=sendonly", reoffer.body)
        self.assertIn("a=group:BUNDLE", reoffer.body)
        self.assertEqual(fingerprint(reoffer.body), fingerprint(invite.body))
        self.assertGreater(origin_version(reoffer.body), origin_version(invite.body))
        answer = chromium_answer()
        await c.reply(reoffer, 200, "OK", body=with_direction(answer, "recvonly", origin_version(answer) + 1),
                      content_type="application/sdp")
        self.assertEqual((await c.next_request("ACK")).header("call-id"), invite.header("call-id"))
        info = await c.next_request("INFO", timeout=20)
        self.assertIn("hello-network-info", info.body)
        await c.reply(info, 200, "OK")
        message = await c.next_request("MESSAGE", timeout=20)
        self.assertIn("hello-network-message", message.body)
        await c.reply(message, 200, "OK")
        # The phone's refresh with its unchanged SDP stays at the gateway:
        # the next thing the browser sees is the BYE.
        bye = await c.next_request(timeout=20)
        self.assertEqual(bye.method, "BYE", bye.text)
        await c.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())
        self.assertGreaterEqual(self.metric("webrtc2sip_b2bua_reoffers_total",
                                            **{"from": "network", "outcome": "ok"}), 1)
        self.assertGreaterEqual(self.metric("webrtc2sip_b2bua_in_dialog_requests_total",
                                            method="MESSAGE", to="browser"), 1)

    async def test_session_timers_refresh_and_expire(self):
        # Two calls at once (each waits most of a 90 s interval): one where
        # the gateway refreshes, one where the silent phone should have.
        refreshed, uri, _ = self.phone("uas_session_timer.xml", timeout="120s")
        c = await self.client("jay")
        ok, answered = await call(c, uri, "st-" + os.urandom(4).hex())
        self.assertEqual(ok.status, 200, ok.text)

        d = await self.client("kim", register=True)
        silent, _ = self.caller("uac_session_timer.xml", "kim", timeout="120s")
        await self.answer_incoming(d, "k1")

        async def refreshed_then_bye():
            for _ in range(700):  # the UPDATE comes at 45 s
                if self.metric("webrtc2sip_b2bua_session_refreshes_total", by="gateway", outcome="ok") >= 1:
                    break
                await asyncio.sleep(0.1)
            self.assertEqual((await answered.bye()).status, 200)
            self.assertEqual(await self.wait_exit(refreshed, timeout=10), 0, refreshed.output())

        async def expired():
            bye = await d.next_request("BYE", timeout=80)  # at 90 - 30 s
            await d.reply(bye, 200, "OK")
            self.assertEqual(await self.wait_exit(silent, timeout=10), 0, silent.output())

        await asyncio.gather(refreshed_then_bye(), expired())
        self.assertGreaterEqual(self.metric("webrtc2sip_b2bua_calls_total", direction="incoming",
                                            outcome="session_expired"), 1)


class DtmfTest(BreakerGateway):
    async def test_sip_info_dtmf_becomes_rfc4733_events_toward_the_phone(self):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((w2s.LOOPBACK, 0))
        rtp.setblocking(False)
        self.addCleanup(rtp.close)
        port = w2s.free_port(socket.SOCK_DGRAM)
        phone = w2s.sipp("uas_dtmf.xml", None, port, name="sipp-uas",
                         extra=["-set", "rtp_port", str(rtp.getsockname()[1])])
        self.addCleanup(phone.kill)
        w2s.wait_udp_port_bound(port)
        c = await self.client("ned")
        ok, answered = await call(c, f"sip:uas@{w2s.LOOPBACK}:{port}", "dtmf-" + os.urandom(4).hex())
        self.assertEqual(ok.status, 200, ok.text)
        c.cseq += 1
        await c.send(c.request("INFO", answered.contact, answered.call_id, answered.tag, answered.to, c.cseq,
                               body="Signal=5\r\nDuration=160\r\n", content_type="application/dtmf-relay"))
        self.assertEqual((await c.response_to(answered.call_id, c.cseq, "INFO")).status, 200)
        # What reached the phone's RTP port: one key press, RFC 4733.
        loop = asyncio.get_running_loop()
        events = []
        while not events or not (events[-1][1] & 0x80 and sum(1 for e in events if e[1] & 0x80) >= 3):
            data = await asyncio.wait_for(loop.sock_recv(rtp, 2048), 5)
            if len(data) >= 16 and (data[1] & 0x7f) == 101:
                events.append((data[12], data[13], int.from_bytes(data[14:16], "big"),
                               data[1] & 0x80, int.from_bytes(data[2:4], "big"),
                               int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")))
        self.assertTrue(all(e[0] == 5 for e in events))            # the key
        self.assertTrue(events[0][3])                               # marker on the first
        self.assertFalse(any(e[3] for e in events[1:]))
        self.assertEqual(len({e[5] for e in events}), 1)            # one timestamp
        self.assertEqual(len({e[6] for e in events}), 1)            # one SSRC
        seqs = [e[4] for e in events]
        self.assertEqual(seqs, [(seqs[0] + i) % 65536 for i in range(len(seqs))])
        self.assertEqual(events[-1][2], 160 * 8)                    # 160 ms at 8 kHz
        self.assertEqual(sum(1 for e in events if e[1] & 0x80), 3)  # the end, three times
        durations = [e[2] for e in events]
        self.assertEqual(durations, sorted(durations))
        self.assertEqual(self.metric("webrtc2sip_b2bua_dtmf_total", outcome="rfc4733"), 1)
        self.assertEqual((await answered.bye()).status, 200)
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())


class SrtpMandatoryTest(BreakerGateway):
    """srtp_mode mandatory against a phone that insists on SDES-SRTP, with a
    real WebRTC stack (aiortc) as the browser: media both ways, encrypted on
    both legs with the keys each side gave."""
    media_options = {"srtp_mode": "mandatory"}
    via_kamailio = False

    async def test_audio_flows_both_ways_over_sdes_srtp_on_the_sip_side(self):
        import aiortc_peer  # noqa: E402  (patches aioice to loopback before aiortc loads)
        import rtp_peer
        suite = "AES_CM_128_HMAC_SHA1_80"
        legacy = await rtp_peer.LegacyEndpoint().open()
        self.addCleanup(legacy.close)
        key_raw, key_params = rtp_peer.new_sdes_key(suite)
        port = w2s.free_port(socket.SOCK_DGRAM)
        trace = os.path.join(self.workdir, f"sdes-{port}.msg")
        phone = w2s.sipp("uas_sdes.xml", None, port, name="sipp-uas",
                         extra=["-set", "rtp_port", str(legacy.rtp_port), "-set", "key", key_params,
                                "-trace_msg", "-message_file", trace])
        self.addCleanup(phone.kill)
        w2s.wait_udp_port_bound(port)

        browser = aiortc_peer.Browser()
        self.addAsyncCleanup(browser.close)
        offer = await browser.offer()
        # Like a browser behind mDNS: no usable candidate; the node learns the
        # browser's address from its checks (peer-reflexive).
        offer = "".join(l + "\r\n" for l in offer.splitlines() if not l.startswith("a=candidate"))
        c = await self.client("ola")
        call_id = "sdes-" + os.urandom(4).hex()
        uri = f"sip:uas@{w2s.LOOPBACK}:{port}"
        c.cseq += 1
        cseq = c.cseq
        await c.send(c.request("INVITE", uri, call_id, "o1", f"<{uri}>", cseq, body=offer,
                               content_type="application/sdp"))
        ok = await c.response_to(call_id, cseq, "INVITE", timeout=20)
        self.assertEqual(ok.status, 200, ok.text)
        contact, to = ok.header("contact").strip("<>"), ok.header("to")
        await c.send(c.request("ACK", contact, call_id, "o1", to, cseq, cseq_method="ACK"))

        # The gateway's offer to the phone: RTP/SAVP with two crypto lines.
        sip_log = open(trace, errors="replace").read()
        invite = sip_log[sip_log.find("INVITE sip:uas@"):]
        invite = invite[:invite.find("SIP/2.0 200 OK")]  # the phone's own answer follows
        self.assertRegex(invite, r"m=audio \d+ RTP/SAVP ")
        cryptos = re.findall(r"a=crypto:(\d+) (\S+) (inline:\S+)", invite)
        self.assertEqual(len(cryptos), 2, invite)
        tag1 = [c_ for c_ in cryptos if c_[0] == "1"][0]
        self.assertEqual(tag1[1], suite)
        relay_key = rtp_peer.parse_key_params(suite, tag1[2])
        relay_rtp = int(re.search(r"m=audio (\d+) ", invite).group(1))
        legacy.set_srtp(tx_suite=suite, tx_key=key_raw, rx_suite=suite, rx_key=relay_key)

        await browser.accept_answer(ok.body)
        await asyncio.wait_for(browser.connected.wait(), 20)
        # Browser -> phone: SRTP that only the relay's SDES key opens.
        self.assertTrue(await legacy.wait_packets(50, 20), f"{legacy.count()} packets, "
                        f"{legacy.undecodable} undecodable\n" + browser.describe())
        self.assertEqual(legacy.undecodable, 0)
        self.assertTrue(all(p.pt == 0 for p in legacy.received))
        # Phone -> browser: the phone's SRTP, decoded by aiortc.
        sender = rtp_peer.RtpSender(legacy, (w2s.LOOPBACK, relay_rtp), 0,
                                    lambda k: bytes([0xFF]) * 160).start()
        try:
            for _ in range(200):
                if len(browser.frames) >= 25:
                    break
                await asyncio.sleep(0.1)
        finally:
            await sender.stop()
        self.assertGreaterEqual(len(browser.frames), 25, browser.describe())
        # Media flowing was reported by the node and timed from the INVITE.
        self.assertGreaterEqual(self.metric("webrtc2sip_b2bua_media_flowing_seconds_count",
                                            direction="outgoing"), 1)

        c.cseq += 1
        await c.send(c.request("BYE", contact, call_id, "o1", to, c.cseq))
        self.assertEqual((await c.response_to(call_id, c.cseq, "BYE")).status, 200)
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())


class ReliableProvisionalTest(BreakerGateway):
    """enable_100rel, with the phones reached directly (no proxy between)."""
    signaling_options = {"enable_100rel": True}
    via_kamailio = False

    async def test_a_reliable_183_from_the_phone_is_pracked(self):
        phone, uri, _ = self.phone("uas_100rel.xml")
        c = await self.client("lou")
        ok, answered = await call(c, uri, "rel-" + os.urandom(4).hex())
        self.assertEqual(ok.status, 200, ok.text)
        # The 183 reached the browser as early media with the WebRTC answer.
        early = [m for m in c.received if m.status == 183]
        self.assertTrue(early and "a=fingerprint" in early[0].body)
        self.assertEqual((await answered.bye()).status, 200)
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())

    async def test_an_answer_right_behind_the_early_answer_still_carries_sdp(self):
        phone, uri, _ = self.phone("uas_early_then_answer.xml")
        c = await self.client("pat")
        ok, answered = await call(c, uri, "fast-" + os.urandom(4).hex())
        self.assertEqual(ok.status, 200, ok.text)
        self.assertIn("a=fingerprint", ok.body)  # a WebRTC answer, not an empty 200
        self.assertIn("a=group:BUNDLE", ok.body)
        self.assertEqual((await answered.bye()).status, 200)
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())

    async def test_the_browsers_ringing_goes_reliably_to_the_phone(self):
        c = await self.client("max", register=True)
        phone, _ = self.caller("uac_100rel_browser.xml", "max")
        invite = await c.next_request("INVITE", timeout=20)
        await c.reply(invite, 180, "Ringing", to_tag="m1")
        await asyncio.sleep(0.5)
        await c.reply(invite, 200, "OK", to_tag="m1", body=chromium_answer(), content_type="application/sdp")
        await c.next_request("ACK")
        bye = await c.next_request("BYE", timeout=20)
        await c.reply(bye, 200, "OK")
        self.assertEqual(await self.wait_exit(phone), 0, phone.output())


if __name__ == "__main__":
    unittest.main()
