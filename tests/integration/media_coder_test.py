"""The Media Coder (transcoding) through the whole gateway, with real peers
and the audio itself checked: aiortc as the browser sends a known tone in
Opus, a legacy phone (SIP over UDP written here, RTP from rtp_peer) answers
PCMA, PCMU, G.722 and GSM in turn and sends a tone of its own in that codec;
each side decodes what arrived and checks the tone's frequency and level. A
phone that calls the browser with GSM only is transcoded the same way, and a
call whose legs share a codec is shown to pass through: no transcoder
created, the same payload bytes on both sides."""

import array
import asyncio
import os
import random
import sys
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
import aiortc_peer  # noqa: E402  (patches aioice to loopback before aiortc loads)
import rtp_peer  # noqa: E402
import sdp_min  # noqa: E402
import tone  # noqa: E402
from breaker import breaker_client  # noqa: E402
from coder_gateway import CoderGatewayCase, SipPhone, without_candidates  # noqa: E402

warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
import audioop  # noqa: E402

CODECS = ["opus", "pcma", "pcmu", "g722", "gsm"]  # media.codecs, in this order
BROWSER_TONE = tone.Tone(1000, -12)  # what aiortc sends
PHONE_TONE = tone.Tone(700, -12)     # what the phone sends: another one, so no echo passes
AUDIO_SECONDS = 2.0  # of media each side gets before its tone is checked
MEDIA_TIMEOUT = 20   # seconds: generous, the machine may be loaded


def audio_codecs(sdp):
    """(payload type, upper-case name) of the first audio m-line's formats, in
    order; static payload types need no rtpmap."""
    m = next(m for m in sdp_min.parse(sdp).media if m.kind == "audio")
    names = {c.pt: c.name.upper() for c in m.codecs}
    return [(int(f), names.get(int(f), tone.STATIC.get(int(f), f))) for f in m.fmts]


def media_address(sdp):
    m = next(m for m in sdp_min.parse(sdp).media if m.kind == "audio")
    return m.address, m.port


def phone_sdp(port, codecs):
    """A legacy phone's RTP/AVP SDP: `codecs` are (pt, rtpmap) pairs."""
    lines = ["v=0", f"o=phone {random.randrange(1 << 30)} 1 IN IP4 {w2s.LOOPBACK}", "s=-",
             f"c=IN IP4 {w2s.LOOPBACK}", "t=0 0",
             f"m=audio {port} RTP/AVP " + " ".join(str(pt) for pt, _ in codecs)]
    lines += [f"a=rtpmap:{pt} {rtpmap}" for pt, rtpmap in codecs]
    lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


class ToneCheckTest(unittest.TestCase):
    """The check itself, without the gateway: it takes the tone through each
    legacy codec, and refuses a wrong tone, silence, noise and a wrong level."""

    def test_the_tone_survives_each_legacy_codec(self):
        for codec in (tone.PCMA, tone.PCMU, tone.G722, tone.GSM):
            with self.subTest(codec=codec):
                pcm = BROWSER_TONE.samples(codec.audio_rate, 0, int(1.5 * codec.audio_rate))
                payloads = tone.encode(codec, pcm)
                self.assertEqual({len(p) for p in payloads}, {33 if codec is tone.GSM else 160})
                self.assertIsNone(tone.mismatch(tone.decode(codec, payloads), codec.audio_rate,
                                                BROWSER_TONE))

    def test_a_wrong_tone_silence_noise_or_level_fails(self):
        def seconds_of(t, rate=8000):
            return t.samples(rate, 0, int(1.5 * rate))
        self.assertIsNone(tone.mismatch(seconds_of(BROWSER_TONE), 8000, BROWSER_TONE))
        self.assertIn("frequency", tone.mismatch(seconds_of(tone.Tone(500, -12)), 8000, BROWSER_TONE))
        self.assertIn("frequency", tone.mismatch(seconds_of(PHONE_TONE), 8000, BROWSER_TONE))
        self.assertIn("too little", tone.mismatch(bytes(2 * 16000), 8000, BROWSER_TONE))
        self.assertIn("level", tone.mismatch(seconds_of(tone.Tone(1000, -24)), 8000, BROWSER_TONE))
        rng = random.Random(1)
        noise = array.array("h", (rng.randint(-16000, 16000) for _ in range(12000))).tobytes()
        self.assertIsNotNone(tone.mismatch(noise, 8000, BROWSER_TONE))
        # Nor is the tone buried in a louder noise.
        self.assertIsNotNone(tone.mismatch(audioop.add(seconds_of(BROWSER_TONE), noise, 2), 8000,
                                           BROWSER_TONE))
        # A 1000 Hz tone read at the wrong rate (16 kHz as 8 kHz) is 500 Hz.
        self.assertIn("frequency", tone.mismatch(BROWSER_TONE.samples(16000, 0, 24000), 8000,
                                                 BROWSER_TONE))


class MediaCoderTest(CoderGatewayCase):
    PREFIX = "w2s-media-coder-"
    CODECS = CODECS
    PORTS = (47000, 47999)


    def logs(self):
        return (f"\n--- media-relay log (tail)\n{self.relay.output()[-4000:]}"
                f"\n--- signaling log (tail)\n{self.gw.output()[-4000:]}")

    async def within(self, awaitable, timeout, what):
        """What `awaitable` gives, or the test fails saying what() was
        missing, with the services' logs."""
        try:
            return await asyncio.wait_for(awaitable, timeout)
        except asyncio.TimeoutError:
            self.fail(f"no {what()} within {timeout} s{self.logs()}")

    async def until(self, condition, timeout, what):
        for _ in range(int(timeout * 10)):
            if condition():
                return
            await asyncio.sleep(0.1)
        self.fail(f"{what}{self.logs()}")

    async def client(self, user, register=False):
        c = await breaker_client(self.gw.ws_url, user, self.domain)
        self.addAsyncCleanup(c.close)
        if register:
            resp = await c.register()
            self.assertEqual(resp.status, 200, resp.text)
        return c

    async def peers(self, browser):
        self.addAsyncCleanup(browser.close)
        phone = await SipPhone().open()
        self.addCleanup(phone.close)
        legacy = await rtp_peer.LegacyEndpoint().open()
        self.addCleanup(legacy.close)
        return phone, legacy

    async def browser_calls(self, browser, answer_codec, user):
        """The browser calls the phone, which answers `answer_codec` only:
        (the phone's INVITE, the browser's 200, a hang-up coroutine, the
        phone's RTP endpoint)."""
        phone, legacy = await self.peers(browser)
        c = await self.client(user)
        offer = without_candidates(await browser.offer())
        uri = f"sip:uas@{w2s.LOOPBACK}:{phone.port}"
        call_id = "coder-" + os.urandom(4).hex()
        c.cseq += 1
        cseq = c.cseq
        await c.send(c.request("INVITE", uri, call_id, "b1", f"<{uri}>", cseq, body=offer,
                               content_type="application/sdp"))
        invite = await self.within(phone.next_request("INVITE"), 20,
                                   lambda: f"INVITE at the phone (the browser got {c.received})")
        phone.reply(invite, 200, "OK", to_tag="p1",
                    body=phone_sdp(legacy.rtp_port, [(answer_codec.pt, answer_codec.rtpmap)]))
        ok = await c.response_to(call_id, cseq, "INVITE", timeout=20)
        self.assertEqual(ok.status, 200, ok.text + self.logs())
        contact, to = ok.header("contact").strip("<>"), ok.header("to")
        routes = "".join(f"Route: {r}\r\n" for r in reversed(ok.all("record-route")))
        await c.send(c.request("ACK", contact, call_id, "b1", to, cseq, extra=routes, cseq_method="ACK"))
        await phone.next_request("ACK")
        await browser.accept_answer(ok.body)
        await self.connected(browser)

        async def hang_up():
            c.cseq += 1
            await c.send(c.request("BYE", contact, call_id, "b1", to, c.cseq, extra=routes))
            phone.reply(await phone.next_request("BYE"), 200, "OK")
            self.assertEqual((await c.response_to(call_id, c.cseq, "BYE")).status, 200)
        return invite, ok, hang_up, legacy

    async def connected(self, browser):
        try:
            await asyncio.wait_for(browser.connected.wait(), MEDIA_TIMEOUT)
        except asyncio.TimeoutError:
            self.fail(f"aiortc did not connect: {browser.describe()}{self.logs()}")

    async def exchange(self, browser, legacy, relay_rtp, pt, payload_of):
        """The phone sends payload_of(k) with `pt` to the relay while aiortc
        sends its track, until each side has AUDIO_SECONDS of media; the index
        of the first frame aiortc got from the phone."""
        since = len(browser.audio)
        sender = rtp_peer.RtpSender(legacy, relay_rtp, pt, payload_of).start()

        def browser_seconds():
            return sum(len(data) / 2 / channels / rate for rate, channels, data in browser.audio[since:])

        try:
            for _ in range(MEDIA_TIMEOUT * 10):
                if legacy.count() >= AUDIO_SECONDS / 0.02 and browser_seconds() >= AUDIO_SECONDS:
                    break
                await asyncio.sleep(0.1)
            else:
                self.fail(f"media did not flow: the phone got {legacy.count()} packets "
                          f"(payload types {sorted({p.pt for p in legacy.received})}), aiortc "
                          f"{browser_seconds():.2f} s of audio from the phone's {sender.index} packets; "
                          f"{browser.describe()}{self.logs()}")
        finally:
            await sender.stop()
        return since

    async def check_tones(self, browser, legacy, relay_rtp, codec):
        """Tones both ways through a transcoded call whose legacy leg is `codec`."""
        payloads = tone.encode(codec, PHONE_TONE.samples(codec.audio_rate, 0, 8 * codec.audio_rate))
        since = await self.exchange(browser, legacy, relay_rtp, codec.pt,
                                    lambda k: payloads[k % len(payloads)])
        # aiortc's Opus, transcoded by the relay: what reached the phone.
        self.assertEqual({p.pt for p in legacy.received}, {codec.pt})
        heard = tone.decode(codec, tone.in_sequence(legacy.received))
        problem = tone.mismatch(heard, codec.audio_rate, BROWSER_TONE)
        self.assertIsNone(problem, f"the phone's {codec} from aiortc's Opus {BROWSER_TONE}{self.logs()}")
        # The phone's codec, transcoded to Opus: what aiortc decoded.
        rate, pcm = browser.received_pcm(since)
        problem = tone.mismatch(pcm, rate, PHONE_TONE)
        self.assertIsNone(problem, f"aiortc's Opus from the phone's {codec} {PHONE_TONE}{self.logs()}")

    def coder_counts(self, codec):
        name = codec.name.lower()
        return {pair: self.coder("streams_total", *pair) for pair in (("opus", name), (name, "opus"))}

    def check_transcoders(self, before):
        """One more transcoder created for each codec pair of `before` (Opus
        and the legacy codec, both ways) than it counts, each running and
        moving packets, and no other running."""
        for pair, count in before.items():
            self.assertEqual(self.coder("streams_total", *pair), count + 1,
                             f"transcoders {pair[0]}->{pair[1]} created{self.logs()}")
            self.assertEqual(self.coder("streams_active", *pair), 1, f"{pair} active{self.logs()}")
            self.assertGreater(self.coder("packets_total", *pair), 0, f"{pair} packets{self.logs()}")
        self.assertEqual(self.coder_all("streams_active"), 2, self.logs())

    async def wait_transcoders_gone(self):
        await self.until(lambda: self.coder_all("streams_active") == 0, 10,
                         f"transcoders still active after the call: "
                         f"{self.coder_all('streams_active')}")

    # ---- browser -> phone, transcoded
    async def browser_calls_phone_speaking(self, codec):
        await self.wait_transcoders_gone()
        before = self.coder_counts(codec)
        browser = aiortc_peer.Browser(track=aiortc_peer.KnownAudioTrack(BROWSER_TONE.frame),
                                      audio_codecs=["audio/opus"])
        invite, ok, hang_up, legacy = await self.browser_calls(browser, codec,
                                                               "coder-" + codec.name.lower())
        # The browser offered Opus only (and telephone-event, maybe)...
        offered = [n for _, n in audio_codecs(browser.pc.localDescription.sdp)]
        self.assertEqual([n for n in offered if n != "TELEPHONE-EVENT"], ["OPUS"])
        # ... yet the phone is offered media.codecs in config order, plus telephone-event.
        to_phone = [n for _, n in audio_codecs(invite.body)]
        self.assertEqual([n for n in to_phone if n != "TELEPHONE-EVENT"],
                         [n.upper() for n in CODECS], invite.body)
        self.assertIn("TELEPHONE-EVENT", to_phone, invite.body)
        self.assertIn((codec.pt, codec.name), audio_codecs(invite.body))
        # The browser is answered in Opus, the phone's codec being transcoded.
        self.assertEqual(audio_codecs(ok.body)[0][1], "OPUS", ok.body)
        await self.check_tones(browser, legacy, media_address(invite.body), codec)
        self.check_transcoders(before)
        # A transcoded audio call weighs 1 + 2 relayed sessions in the node's reported load.
        self.assert_node_load(3)
        await hang_up()
        await self.wait_transcoders_gone()

    async def test_browser_opus_to_phone_pcma(self):
        await self.browser_calls_phone_speaking(tone.PCMA)

    async def test_browser_opus_to_phone_pcmu(self):
        await self.browser_calls_phone_speaking(tone.PCMU)

    async def test_browser_opus_to_phone_g722(self):
        await self.browser_calls_phone_speaking(tone.G722)

    async def test_browser_opus_to_phone_gsm(self):
        await self.browser_calls_phone_speaking(tone.GSM)

    # ---- phone -> browser, transcoded
    async def test_phone_gsm_calls_browser_opus(self):
        await self.wait_transcoders_gone()
        before = self.coder_counts(tone.GSM)
        c = await self.client("coder-callee", register=True)
        browser = aiortc_peer.Browser(track=aiortc_peer.KnownAudioTrack(BROWSER_TONE.frame),
                                      audio_codecs=["audio/opus"])
        phone, legacy = await self.peers(browser)
        calling = asyncio.ensure_future(phone.call(
            f"sip:coder-callee@{self.domain}", (w2s.LOOPBACK, self.kam_port),
            phone_sdp(legacy.rtp_port, [(tone.GSM.pt, tone.GSM.rtpmap), (101, "telephone-event/8000")])))
        self.addCleanup(calling.cancel)
        invite = await self.within(c.next_request("INVITE", timeout=None), 20,
                                   lambda: f"INVITE at the browser (the phone got {phone.received})")
        # The browser is offered the phone's GSM, then the browser-capable codecs of media.codecs.
        to_browser = [n for _, n in audio_codecs(invite.body) if n != "TELEPHONE-EVENT"]
        self.assertEqual(to_browser, ["GSM", "OPUS", "PCMA", "PCMU", "G722"], invite.body)
        answer = without_candidates(await browser.answer(invite.body))
        self.assertEqual([n for _, n in audio_codecs(answer) if n != "TELEPHONE-EVENT"], ["OPUS"])
        await c.reply(invite, 200, "OK", to_tag="c1", body=answer, content_type="application/sdp")
        ok = await self.within(calling, 30, lambda: "final answer at the phone")
        self.assertEqual(ok.status, 200, ok.text + self.logs())
        self.assertEqual((await c.next_request("ACK")).header("call-id"), invite.header("call-id"))
        # The phone is answered in its own GSM.
        self.assertEqual([n for _, n in audio_codecs(ok.body) if n != "TELEPHONE-EVENT"], ["GSM"], ok.body)
        await self.connected(browser)
        await self.check_tones(browser, legacy, media_address(ok.body), tone.GSM)
        self.check_transcoders(before)
        bye = asyncio.ensure_future(phone.bye())
        await c.reply(await c.next_request("BYE", timeout=20), 200, "OK")
        self.assertEqual((await asyncio.wait_for(bye, 20)).status, 200)
        await self.wait_transcoders_gone()

    # ---- a shared codec: no transcoder
    async def test_a_shared_codec_passes_through_untouched(self):
        await self.wait_transcoders_gone()
        created = self.coder_all("streams_total")
        packets = self.coder_all("packets_total")
        browser = aiortc_peer.Browser()  # aiortc's own offer (Opus, PCMU, PCMA), its known frames
        invite, ok, hang_up, legacy = await self.browser_calls(browser, tone.PCMU, "coder-shared")
        self.assertIn("PCMU", [n for _, n in audio_codecs(browser.pc.localDescription.sdp)])
        self.assertEqual(audio_codecs(ok.body)[0][1], "PCMU", ok.body)

        def phone_payload(k):
            """160 PCMU bytes, distinct for every k < 65536."""
            return bytes([k & 0xFF, (k >> 8) & 0xFF]) + bytes(((k * 31 + j * 17) % 251) for j in range(158))

        since = await self.exchange(browser, legacy, media_address(invite.body), tone.PCMU.pt,
                                    phone_payload)
        # What aiortc encoded reached the phone byte for byte, in order.
        sent = {audioop.lin2ulaw(aiortc_peer.frame_samples(k), 2): k
                for k in range(browser.track.index + 5)}
        got = [sent.get(p.payload) for p in legacy.received]
        self.assertNotIn(None, got, f"{got.count(None)} of {len(got)} packets at the phone are not "
                                    f"aiortc's PCMU{self.logs()}")
        self.assertEqual(got, sorted(got))
        self.assertEqual({p.pt for p in legacy.received}, {tone.PCMU.pt})
        # What the phone sent reached aiortc byte for byte (decoded by aiortc itself).
        known = {audioop.ulaw2lin(phone_payload(k), 2): k for k in range(5000)}
        frames = [known.get(f) for f in browser.frames[since:]]
        self.assertNotIn(None, frames, f"{frames.count(None)} of {len(frames)} frames aiortc got "
                                       f"are not the phone's{self.logs()}")
        self.assertEqual(frames, sorted(frames))
        # No transcoder was made, none moved a packet.
        self.assertEqual(self.coder_all("streams_total"), created)
        self.assertEqual(self.coder_all("packets_total"), packets)
        self.assertEqual(self.coder_all("streams_active"), 0)
        self.assert_node_load(1)  # a relayed session weighs 1
        await hang_up()


if __name__ == "__main__":
    unittest.main()
