"""The Media Coder on video, through the whole gateway, with the pictures
themselves checked: aiortc as the browser sends a moving test pattern in VP8
only, a legacy phone answers H.264 only (RTP/AVP); the node transcodes each
way and scales to media.video_size_pref (VGA). The phone depacketizes the
H.264 it gets (RFC 6184) and decodes it with FFmpeg (PyAV); it sends H.264
of its own (libx264) that aiortc receives as VP8 and decodes. Each side
counts its frames, checks their size and finds the pattern in them. A PLI
from the phone makes the node's H.264 encoder, which makes keyframes only
on request, send an IDR toward it; one addressed to another SSRC does not."""

import asyncio
import fractions
import os
import re
import struct
import sys
import time
import unittest

import av
import numpy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
import aiortc_peer  # noqa: E402  (patches aioice to loopback before aiortc loads)
import rtp_peer  # noqa: E402
import sdp_min  # noqa: E402
from aiortc import RTCRtpSender  # noqa: E402
from aiortc.mediastreams import VideoStreamTrack  # noqa: E402
from breaker import breaker_client  # noqa: E402
# The legacy phone's SIP over UDP, from the audio Media Coder test.
from coder_gateway import CoderGatewayCase, SipPhone, without_candidates  # noqa: E402

CODECS = ["opus", "pcmu", "vp8", "h264-bp"]  # media.codecs, in this order
PAIRS = (("vp8", "h264-bp"), ("h264-bp", "vp8"))  # the transcoders of a call, by metric labels
BROWSER_SIZE = (320, 240)  # what aiortc sends
PHONE_SIZE = (352, 288)    # what the phone sends (CIF)
NODE_SIZE = (640, 480)     # media.video_size_pref: vga, the default; the node scales to it
FPS = 30
WINDOW = 3.0               # seconds of video each side counts
MIN_FRAMES = 40            # in WINDOW: 30 fps sent, a loaded machine may lose some
MEDIA_TIMEOUT = 20         # seconds: generous, the machine may be loaded
QUIET = 1.5                # seconds without an IDR before the PLI
KEYFRAME_WAIT = 1.0        # seconds the IDR may take after the PLI
H264_FMTP = "packetization-mode=1;profile-level-id=42e01f"
MTU = 1200

NAL_IDR, NAL_SPS, NAL_PPS, STAP_A, FU_A = 5, 7, 8, 24, 28


# ---- the test pattern

def pattern(width, height, k):
    """Frame k of the test pattern, yuv420p as a (height * 3/2, width) array:
    the top-left and bottom-right quadrants bright, the others dark, and in a
    gray band across the middle a white bar that moves right every frame."""
    y = numpy.full((height, width), 30, numpy.uint8)
    y[:int(height * 0.4), :width // 2] = 220
    y[int(height * 0.6):, width // 2:] = 220
    top, bottom = int(height * 0.4), int(height * 0.6)
    y[top:bottom] = 128
    bar = max(2, width // 16)
    x = (k * max(1, width // 64)) % (width - bar)
    y[top:bottom, x:x + bar] = 255
    return numpy.concatenate([y, numpy.full((height // 2, width), 128, numpy.uint8)])


def bar_position(y):
    """Where the bar is in a picture's luma, as a fraction of its width."""
    h, w = y.shape
    band = y[int(h * 0.45):int(h * 0.55)].mean(axis=0)
    return float(band.argmax()) / w


def picture_mismatch(y):
    """None when the luma plane `y` shows the test pattern (at any size),
    else what is wrong with it."""
    h, w = y.shape

    def mean(r0, r1, c0, c1):
        return float(y[int(h * r0):int(h * r1), int(w * c0):int(w * c1)].mean())
    quadrants = {"top-left": mean(0.05, 0.35, 0.05, 0.45), "top-right": mean(0.05, 0.35, 0.55, 0.95),
                 "bottom-left": mean(0.65, 0.95, 0.05, 0.45),
                 "bottom-right": mean(0.65, 0.95, 0.55, 0.95)}
    bright = ("top-left", "bottom-right")
    wrong = [f"{name} {value:.0f}" for name, value in quadrants.items()
             if (value < 170 if name in bright else value > 80)]
    if wrong:
        return "quadrants not bright/dark as sent: " + ", ".join(wrong)
    band = y[int(h * 0.45):int(h * 0.55)].mean(axis=0)
    if band.max() - numpy.median(band) < 60:
        return f"no bar in the band (max {band.max():.0f}, median {numpy.median(band):.0f})"
    return None


class PatternTrack(VideoStreamTrack):
    """aiortc's sending track: the test pattern at `size`, 30 frames a second."""

    def __init__(self, size):
        super().__init__()
        self.size = size
        self.index = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(pattern(*self.size, self.index), format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        self.index += 1
        return frame


# ---- H.264 over RTP (RFC 6184), as a legacy phone does it

def annexb_nals(data):
    """The NAL units of an Annex B byte stream (start codes 00 00 01 and 00 00 00 01)."""
    return [nal for nal in re.split(b"\x00\x00\x00?\x01", data) if nal]


def h264_payloads(nals, mtu=MTU):
    """RTP payloads for one access unit: a single NAL unit packet each, or
    FU-A fragments of those larger than `mtu`."""
    out = []
    for nal in nals:
        if len(nal) <= mtu:
            out.append(nal)
            continue
        indicator, kind, rest = (nal[0] & 0xE0) | FU_A, nal[0] & 0x1F, nal[1:]
        chunks = [rest[i:i + mtu - 2] for i in range(0, len(rest), mtu - 2)]
        for i, chunk in enumerate(chunks):
            header = kind | (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0)
            out.append(bytes([indicator, header]) + chunk)
    return out


class AccessUnit:
    __slots__ = ("ts", "time", "nals")

    def __init__(self, ts, arrival, nals):
        self.ts, self.time, self.nals = ts, arrival, nals

    def has(self, kind):
        return any(n[0] & 0x1F == kind for n in self.nals)


def access_units(packets):
    """The access units of H.264 RTP packets (single NAL unit, STAP-A, FU-A)
    in arrival order, each with the arrival time of its last packet; a NAL
    unit that lost a fragment is left out."""
    units, nals, fu, ts, last_seq, arrival = [], [], None, None, None, 0.0

    def flush():
        if nals:
            units.append(AccessUnit(ts, arrival, list(nals)))
        nals.clear()
    for p in packets:
        if ts is not None and p.ts != ts:
            flush()
            fu = None
        if last_seq is not None and (p.seq - last_seq) & 0xFFFF != 1:
            fu = None  # a fragment is missing
        last_seq, ts, arrival, pl = p.seq, p.ts, p.time, p.payload
        if not pl:
            continue
        kind = pl[0] & 0x1F
        if 1 <= kind <= 23:
            nals.append(pl)
        elif kind == STAP_A:
            at = 1
            while at + 2 <= len(pl):
                size = struct.unpack("!H", pl[at:at + 2])[0]
                nals.append(pl[at + 2:at + 2 + size])
                at += 2 + size
        elif kind == FU_A and len(pl) > 2:
            if pl[1] & 0x80:
                fu = bytearray([(pl[0] & 0xE0) | (pl[1] & 0x1F)]) + pl[2:]
            elif fu is not None:
                fu += pl[2:]
            if pl[1] & 0x40 and fu is not None:
                nals.append(bytes(fu))
                fu = None
        if p.marker:
            flush()
            ts = None
    flush()
    return units


class DecodedVideo:
    """Frames decoded from one side's video: (arrival time, width, height),
    and the luma of every third one for the pattern check."""

    def __init__(self):
        self.frames = []
        self.lumas = []
        self.errors = []

    def add(self, arrival, frame):
        self.frames.append((arrival, frame.width, frame.height))
        if len(self.frames) % 3 == 1:
            self.lumas.append(frame.to_ndarray(format="yuv420p")[:frame.height].copy())

    def within(self, start, end):
        return [f for f in self.frames if start <= f[0] < end]

    def sizes(self):
        return sorted({(w, h) for _, w, h in self.frames})

    def problems(self):
        """What is wrong with the pictures: the pattern missing from one, or no motion."""
        bad = [(i, m) for i, m in enumerate(map(picture_mismatch, self.lumas)) if m]
        if bad:
            return f"{len(bad)} of {len(self.lumas)} pictures checked are not the pattern; first: {bad[0]}"
        positions = {round(bar_position(y), 2) for y in self.lumas}
        if len(positions) < 5:
            return f"the bar does not move: at {sorted(positions)} in {len(self.lumas)} pictures"
        return None


def decode_h264(units):
    """The H.264 access units decoded with FFmpeg."""
    out = DecodedVideo()
    decoder = av.CodecContext.create("h264", "r")
    for au in units:
        data = b"".join(b"\x00\x00\x00\x01" + n for n in au.nals)
        try:
            for frame in decoder.decode(av.Packet(data)):
                out.add(au.time, frame)
        except av.AVError as e:
            out.errors.append(f"access unit ts {au.ts}: {e}")
    return out


class H264Sender(rtp_peer.Paced):
    """The phone's camera: the test pattern at PHONE_SIZE coded by libx264
    (baseline, one slice a frame, an IDR with SPS and PPS every second) and
    sent as RTP at 30 frames a second from a LegacyEndpoint."""

    def __init__(self, endpoint, dest, pt, ssrc=0x2640CAFE, mtu=MTU):
        self.endpoint, self.dest, self.pt, self.ssrc, self.mtu = endpoint, dest, pt, ssrc, mtu
        self.encoder = av.CodecContext.create("libx264", "w")
        self.encoder.width, self.encoder.height = PHONE_SIZE
        self.encoder.pix_fmt = "yuv420p"
        self.encoder.time_base = fractions.Fraction(1, 90000)
        self.encoder.framerate = FPS
        self.encoder.gop_size = FPS
        self.encoder.bit_rate = 600000
        self.encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
                                "x264-params": "repeat-headers=1:scenecut=0:threads=1:log=-1"}
        self.period = 1 / FPS
        self.index = 0
        self.seq = 7000

    def send_one(self):
        frame = av.VideoFrame.from_ndarray(pattern(*PHONE_SIZE, self.index), format="yuv420p")
        frame.pts, frame.time_base = self.index * 90000 // FPS, self.encoder.time_base
        ts = 1000 + self.index * 90000 // FPS
        for packet in self.encoder.encode(frame):
            payloads = h264_payloads(annexb_nals(bytes(packet)), self.mtu)
            for i, payload in enumerate(payloads):
                self.endpoint.send_raw(rtp_peer.build_rtp(self.pt, self.seq, ts, self.ssrc, payload,
                                                          marker=i == len(payloads) - 1), self.dest)
                self.seq += 1
        self.index += 1


def rtcp_pli(sender_ssrc, media_ssrc):
    """A compound RTCP packet: an empty RR, then a PLI (RFC 4585 6.3.1) for `media_ssrc`."""
    return (struct.pack("!BBHI", 0x80, 201, 1, sender_ssrc) +
            struct.pack("!BBHII", 0x80 | 1, 206, 2, sender_ssrc, media_ssrc))


# ---- the browser

class VideoBrowser(aiortc_peer.Browser):
    """aiortc sending the pattern at BROWSER_SIZE in VP8 only (no H.264, no
    RTX offered); self.video decodes what it receives."""

    def __init__(self):
        super().__init__(track=PatternTrack(BROWSER_SIZE))
        self.video = DecodedVideo()

    async def offer(self):
        transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                         if c.mimeType.lower() == "video/vp8"])
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def _consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:  # noqa: BLE001 - the track ended
                return
            self.video.add(time.monotonic(), frame)
            self.frames.append(frame.pts)  # what describe() counts


# ---- SDP

def video_section(sdp):
    return next(m for m in sdp_min.parse(sdp).media if m.kind == "video")


def video_codecs(sdp):
    """(payload type, upper-case name, fmtp) of the video m-line's codecs, in order."""
    m = video_section(sdp)
    return [(c.pt, c.name.upper(), c.fmtp) for c in sorted(m.codecs, key=lambda c: m.fmts.index(str(c.pt)))]


def phone_video_sdp(port, pt):
    """The phone's answer: H.264 constrained baseline only, plain RTP/AVP."""
    return "\r\n".join([
        "v=0", f"o=phone {int(time.time())} 1 IN IP4 {w2s.LOOPBACK}", "s=-", f"c=IN IP4 {w2s.LOOPBACK}",
        "t=0 0", f"m=video {port} RTP/AVP {pt}", f"a=rtpmap:{pt} H264/90000", f"a=fmtp:{pt} {H264_FMTP}",
        "a=sendrecv"]) + "\r\n"


def node_addresses(sdp):
    """The node's (RTP, RTCP) addresses in the SDP it sent the phone."""
    m = video_section(sdp)
    address = m.address or sdp_min.parse(sdp).address
    rtcp = re.search(r"^a=rtcp:(\d+)", sdp.split("m=video", 1)[1], re.M)
    return (address, m.port), (address, int(rtcp.group(1)) if rtcp else m.port + 1)


# ---- the checks themselves, without the gateway

class VideoCheckTest(unittest.TestCase):
    """The phone's H.264 path and the picture check, without the gateway: the
    pattern survives libx264, RTP (FU-A) and FFmpeg; a black picture, a wrong
    one, a still one and a lost fragment are seen."""

    def sent_packets(self, frames=40, mtu=300):
        """The phone's first RTP packets, small: its pictures are simple."""
        sent = []

        class Capture:
            def send_raw(self, data, dest):
                sent.append(rtp_peer.Rtp(data, dest))
        sender = H264Sender(Capture(), None, 96, mtu=mtu)
        for _ in range(frames):
            sender.send_one()
        return sent

    def test_the_pattern_survives_h264_over_rtp(self):
        packets = self.sent_packets()
        self.assertTrue(any(p.payload[0] & 0x1F == FU_A for p in packets), "some NAL units are fragmented")
        units = access_units(packets)
        self.assertEqual(len(units), 40)
        self.assertTrue(units[0].has(NAL_IDR) and units[0].has(NAL_SPS) and units[0].has(NAL_PPS))
        self.assertEqual([i for i, u in enumerate(units) if u.has(NAL_IDR)], [0, 30])
        video = decode_h264(units)
        self.assertEqual((len(video.frames), video.errors, video.sizes()), (40, [], [PHONE_SIZE]))
        self.assertIsNone(video.problems())

    def test_a_lost_fragment_drops_its_nal_unit(self):
        packets = self.sent_packets(1, mtu=100)
        fragments = [p for p in packets if p.payload[0] & 0x1F == FU_A and p.payload[1] & 0x1F == NAL_IDR]
        self.assertGreater(len(fragments), 2)
        units = access_units([p for p in packets if p is not fragments[1]])
        self.assertFalse(units[0].has(NAL_IDR))
        self.assertTrue(units[0].has(NAL_SPS) and units[0].has(NAL_PPS))

    def test_a_wrong_black_or_still_picture_fails(self):
        w, h = NODE_SIZE
        self.assertIsNone(picture_mismatch(pattern(w, h, 3)[:h]))
        self.assertIn("quadrants", picture_mismatch(numpy.zeros((h, w), numpy.uint8)))
        self.assertIn("quadrants", picture_mismatch(numpy.full((h, w), 128, numpy.uint8)))
        self.assertIn("quadrants", picture_mismatch(numpy.fliplr(pattern(w, h, 3)[:h])))
        no_bar = pattern(w, h, 3)[:h].copy()
        no_bar[int(h * 0.4):int(h * 0.6)] = 128
        self.assertIn("no bar", picture_mismatch(no_bar))
        self.assertAlmostEqual(bar_position(pattern(w, h, 0)[:h]), 0.0, delta=0.07)
        self.assertGreater(bar_position(pattern(w, h, 20)[:h]), 0.2)
        still = DecodedVideo()
        still.lumas = [pattern(w, h, 3)[:h]] * 10
        self.assertIn("does not move", still.problems())


# ---- through the gateway

class MediaCoderVideoTest(CoderGatewayCase):
    PREFIX = "w2s-media-coder-video-"
    CODECS = CODECS
    PORTS = (48000, 48999)


    def coder_all(self, what):
        return w2s.metric_sum(self.relay.http_port, f"webrtc2sip_coder_{what}")

    def counters(self):
        """The coder's packet and frame counters of each codec pair, by direction or stage."""
        out = {}
        for pair in PAIRS:
            for label in ("in", "out"):
                out[(pair, "packets_total", label)] = self.coder("packets_total", *pair, direction=label)
            for label in ("decoded", "encoded"):
                out[(pair, "frames_total", label)] = self.coder("frames_total", *pair, stage=label)
        return out

    def grown(self, before):
        return {key: value - before[key] for key, value in self.counters().items()}

    def coder_metrics(self):
        """The relay's webrtc2sip_coder_* samples, for a failure message."""
        _, _, body = w2s.http_get(self.relay.http_port, "/metrics")
        return "\n" + "\n".join(line for line in body.splitlines() if line.startswith("webrtc2sip_coder_"))

    def logs(self):
        return (f"\n--- media-relay log (tail)\n{self.relay.output()[-4000:]}"
                f"\n--- signaling log (tail)\n{self.gw.output()[-4000:]}")

    async def until(self, condition, timeout, what):
        """Waits for `condition`; else fails with `what`: a message the logs
        are added to, or a function that makes the whole message then."""
        for _ in range(int(timeout * 20)):
            if condition():
                return
            await asyncio.sleep(0.05)
        self.fail(what() if callable(what) else f"{what}{self.logs()}")

    async def call_phone(self, user):
        """aiortc calls a phone that answers H.264 only; sets self.browser,
        .legacy (the phone's media), .invite (the SDP the node sent the phone),
        .ok (the browser's 200), .node_rtp, .node_rtcp and .hang_up."""
        await self.until(lambda: self.coder_all("streams_active") == 0, 10,
                         "transcoders of an earlier call still run")
        self.browser = VideoBrowser()
        self.addAsyncCleanup(self.browser.close)
        phone = await SipPhone().open()
        self.addCleanup(phone.close)
        self.legacy = await rtp_peer.LegacyEndpoint().open()
        self.addCleanup(self.legacy.close)
        c = await breaker_client(self.gw.ws_url, user, self.domain)
        self.addAsyncCleanup(c.close)
        offer = without_candidates(await self.browser.offer())
        self.assertEqual([n for _, n, _ in video_codecs(offer)], ["VP8"], offer)
        uri = f"sip:uas@{w2s.LOOPBACK}:{phone.port}"
        call_id = "coder-video-" + os.urandom(4).hex()
        c.cseq += 1
        cseq = c.cseq
        await c.send(c.request("INVITE", uri, call_id, "b1", f"<{uri}>", cseq, body=offer,
                               content_type="application/sdp"))
        self.invite = await phone.next_request("INVITE")
        # The phone is offered media.codecs' video in order: the browser's VP8, then H.264.
        offered = video_codecs(self.invite.body)
        self.assertEqual([n for _, n, _ in offered], ["VP8", "H264"], self.invite.body)
        self.assertTrue(video_section(self.invite.body).proto.startswith("RTP/AVP"), self.invite.body)
        self.h264_pt = next(pt for pt, n, fmtp in offered if n == "H264" and "42e01f" in fmtp.lower())
        self.node_rtp, self.node_rtcp = node_addresses(self.invite.body)
        phone.reply(self.invite, 200, "OK", to_tag="p1",
                    body=phone_video_sdp(self.legacy.rtp_port, self.h264_pt))
        self.ok = await c.response_to(call_id, cseq, "INVITE", timeout=20)
        self.assertEqual(self.ok.status, 200, self.ok.text + self.logs())
        # The browser is answered in its own VP8: the phone's H.264 is transcoded.
        self.assertEqual([n for _, n, _ in video_codecs(self.ok.body)], ["VP8"], self.ok.body)
        contact, to = self.ok.header("contact").strip("<>"), self.ok.header("to")
        routes = "".join(f"Route: {r}\r\n" for r in reversed(self.ok.all("record-route")))
        await c.send(c.request("ACK", contact, call_id, "b1", to, cseq, extra=routes, cseq_method="ACK"))
        await phone.next_request("ACK")
        await self.browser.accept_answer(self.ok.body)
        try:
            await asyncio.wait_for(self.browser.connected.wait(), MEDIA_TIMEOUT)
        except asyncio.TimeoutError:
            self.fail(f"aiortc did not connect: {self.browser.describe()}{self.logs()}")

        async def hang_up():
            c.cseq += 1
            await c.send(c.request("BYE", contact, call_id, "b1", to, c.cseq, extra=routes))
            phone.reply(await phone.next_request("BYE"), 200, "OK")
            self.assertEqual((await c.response_to(call_id, c.cseq, "BYE")).status, 200)
        self.hang_up = hang_up

    def phone_units(self):
        """What the phone got: its H.264 access units, checked to be one
        source in the payload type it answered."""
        got = {(p.pt, p.ssrc) for p in self.legacy.received}
        self.assertEqual(len(got), 1, f"payload types and SSRCs at the phone: {got}")
        self.assertEqual(next(iter(got))[0], self.h264_pt)
        return access_units(self.legacy.received)

    def media_state(self):
        units = access_units(self.legacy.received)
        return (f"the phone got {self.legacy.count()} packets ({len(units)} access units, "
                f"IDRs in {sum(u.has(NAL_IDR) for u in units)}), aiortc {len(self.browser.video.frames)} "
                f"frames; {self.browser.describe()}{self.logs()}")

    # ---- the tests
    async def test_vp8_and_h264_transcoded_both_ways(self):
        before = self.counters()
        created = {pair: self.coder("streams_total", *pair) for pair in PAIRS}
        await self.call_phone("coder-video")
        sender = H264Sender(self.legacy, self.node_rtp, self.h264_pt).start()
        try:
            await self.until(lambda: self.legacy.count() > 0 and self.browser.video.frames, MEDIA_TIMEOUT,
                             lambda: "video did not flow both ways: " + self.media_state())
            start = time.monotonic()
            await asyncio.sleep(WINDOW)
            end = time.monotonic()
        finally:
            await sender.stop()

        # aiortc's VP8 at 320x240, at the phone: H.264 at 640x480 that FFmpeg decodes.
        at_phone = await asyncio.to_thread(decode_h264, self.phone_units())
        counted = len(at_phone.within(start, end))
        self.assertGreaterEqual(counted, MIN_FRAMES, f"H.264 frames the phone decoded in {WINDOW} s "
                                f"(errors {at_phone.errors[:3]}): {self.media_state()}")
        self.assertEqual(at_phone.sizes(), [NODE_SIZE], self.media_state())
        self.assertEqual(at_phone.errors, [], self.media_state())
        self.assertIsNone(at_phone.problems(), f"the phone's pictures: {self.media_state()}")
        # The phone's H.264 at 352x288, at aiortc: VP8 at 640x480 that aiortc decoded.
        at_browser = self.browser.video
        counted = len(at_browser.within(start, end))
        self.assertGreaterEqual(counted, MIN_FRAMES, f"VP8 frames aiortc decoded in {WINDOW} s "
                                f"from the phone's {sender.index}: {self.media_state()}")
        self.assertEqual(at_browser.sizes(), [NODE_SIZE], self.media_state())
        self.assertIsNone(at_browser.problems(), f"aiortc's pictures: {self.media_state()}")

        # One transcoder each way, moving packets...
        for pair in PAIRS:
            self.assertEqual(self.coder("streams_total", *pair), created[pair] + 1,
                             f"transcoders {pair[0]}->{pair[1]} created{self.logs()}")
            self.assertEqual(self.coder("streams_active", *pair), 1, f"{pair} active{self.logs()}")
        grown = self.grown(before)
        for pair in PAIRS:
            for direction in ("in", "out"):
                self.assertGreaterEqual(grown[(pair, "packets_total", direction)], MIN_FRAMES,
                                        f"{pair} packets {direction}: {self.coder_metrics()}")
        self.assertEqual(self.coder_all("streams_active"), 2, "no other transcoder runs")
        await self.hang_up()
        await self.until(lambda: self.coder_all("streams_active") == 0, 10,
                         "transcoders still active after the call")
        # ... and counting the frames they decoded and encoded.
        grown = self.grown(before)
        short = {f"{pair[0]}->{pair[1]} {stage}": grown[(pair, "frames_total", stage)]
                 for pair in PAIRS for stage in ("decoded", "encoded")
                 if grown[(pair, "frames_total", stage)] < MIN_FRAMES}
        self.assertEqual(short, {}, f"webrtc2sip_coder_frames_total grew by less than {MIN_FRAMES} "
                                    f"over the call, though the peers decoded {len(at_phone.frames)} and "
                                    f"{len(at_browser.frames)} frames: {self.coder_metrics()}")

    async def test_a_pli_from_the_phone_makes_a_keyframe_toward_it(self):
        await self.call_phone("coder-video-pli")

        def idr_times():
            return [u.time for u in access_units(self.legacy.received) if u.has(NAL_IDR)]
        await self.until(idr_times, MEDIA_TIMEOUT, lambda: "no IDR reached the phone: " + self.media_state())
        # Keyframes only on request: after the first one, none comes unasked.
        await self.until(lambda: time.monotonic() - idr_times()[-1] >= QUIET, QUIET + 5,
                         lambda: f"IDRs keep coming unasked (at {idr_times()}): " + self.media_state())
        self.phone_units()  # one source
        node_ssrc = self.legacy.received[-1].ssrc
        phone_ssrc = 0x2640CAFE

        async def request_keyframe(media_ssrc):
            """Sends a PLI from the phone's RTCP port; the time of the first IDR
            within KEYFRAME_WAIT after it, or None."""
            sent = time.monotonic()
            self.legacy.send_rtcp_raw(rtcp_pli(phone_ssrc, media_ssrc), self.node_rtcp)
            await asyncio.sleep(KEYFRAME_WAIT)
            return next((t - sent for t in idr_times() if t > sent), None)

        # A PLI for another source is not the node's to answer.
        self.assertIsNone(await request_keyframe(node_ssrc ^ 0x5A5A5A5A),
                          "an IDR after a PLI for another SSRC: " + self.media_state())
        before = idr_times()
        quiet = time.monotonic() - before[-1]
        self.assertGreaterEqual(quiet, QUIET + KEYFRAME_WAIT)
        delay = await request_keyframe(node_ssrc)
        self.assertIsNotNone(delay, f"no IDR within {KEYFRAME_WAIT} s of the PLI "
                                    f"(none for {quiet:.1f} s before it): " + self.media_state())
        units = self.phone_units()
        idr = [u for u in units if u.has(NAL_IDR)][-1]
        self.assertTrue(idr.has(NAL_SPS) and idr.has(NAL_PPS), "the IDR comes with SPS and PPS")
        self.assertEqual(len(idr_times()), len(before) + 1, "one IDR per PLI: " + self.media_state())
        video = await asyncio.to_thread(decode_h264, units)
        self.assertEqual(video.errors, [], self.media_state())
        self.assertEqual(video.sizes(), [NODE_SIZE], self.media_state())
        await self.hang_up()


if __name__ == "__main__":
    unittest.main()
