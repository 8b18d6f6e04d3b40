"""aiortc (Debian's python3-aiortc) as the browser of media-relay tests, on
127.0.0.1 only: a peer connection with no STUN server, host candidates on
loopback, a sending track whose samples the test knows, and a sink that keeps
what the received track yields."""

import array
import asyncio
import collections
import fractions
import logging
import struct
import time

import aioice.ice

# aioice gathers every interface but loopback; these tests use loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

# Every STUN Binding success response aioice receives, raw, so a test can check it with aioice's
# own parser (aioice does not check the integrity of responses itself).
STUN_RESPONSES = collections.deque(maxlen=1000)
_datagram_received = aioice.ice.StunProtocol.datagram_received


def _keep_responses(self, data, addr):
    if isinstance(data, bytes) and data[:2] == b"\x01\x01":
        STUN_RESPONSES.append(data)
    return _datagram_received(self, data, addr)


aioice.ice.StunProtocol.datagram_received = _keep_responses

from aiortc import (RTCConfiguration, RTCPeerConnection, RTCRtpSender,  # noqa: E402
                    RTCSessionDescription)
from aiortc.mediastreams import MediaStreamTrack  # noqa: E402
from av import AudioFrame  # noqa: E402

# The last ICE/DTLS debug lines of aiortc, for the message of a failed test.
ICE_LOG = collections.deque(maxlen=300)


class _Keep(logging.Handler):
    def emit(self, record):
        ICE_LOG.append(f"{record.created:.3f} {record.name} {record.getMessage()}")


for _name in ("aioice", "aiortc.rtcdtlstransport", "aiortc.rtcicetransport"):
    logging.getLogger(_name).setLevel(logging.DEBUG)
    logging.getLogger(_name).addHandler(_Keep())
    logging.getLogger(_name).propagate = False

SAMPLES = 160  # 20 ms at 8 kHz
TIME_BASE = fractions.Fraction(1, 8000)


def frame_samples(k):
    """160 s16 samples, distinct for every k (k is in the first two samples)."""
    vals = [(k * 8 + 1000) % 30000, -((k * 8 + 1000) % 30000)]
    vals += [((k * 977 + j * 613) % 20000) - 10000 for j in range(SAMPLES - 2)]
    return struct.pack(f"<{SAMPLES}h", *vals)


class KnownAudioTrack(MediaStreamTrack):
    """8 kHz mono s16 frames of 20 ms; frame k carries samples_of(k)
    (160 samples, frame_samples by default)."""
    kind = "audio"

    def __init__(self, samples_of=frame_samples):
        super().__init__()
        self.samples_of = samples_of
        self.index = 0
        self._start = None

    async def recv(self):
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.index * 0.02 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(self.samples_of(self.index))
        frame.sample_rate = 8000
        frame.time_base = TIME_BASE
        frame.pts = self.index * SAMPLES
        self.index += 1
        return frame


class Browser:
    """`track` is what it sends (a KnownAudioTrack by default); `audio_codecs`
    (mime types, e.g. ["audio/opus"]) restricts and orders the audio codecs
    it offers or answers with, as setCodecPreferences does in a browser."""

    def __init__(self, track=None, audio_codecs=None):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = track or KnownAudioTrack()
        self.audio_codecs = audio_codecs
        self.frames = []  # the first 160 s16 samples of each frame the remote track yields
        self.audio = []  # (sample rate, channels, all its s16 samples) of each such frame
        self.frame_times = []
        self.connected = asyncio.Event()
        self.states = []
        self._sink = None

        @self.pc.on("connectionstatechange")
        def _state():
            self.states.append(self.pc.connectionState)
            if self.pc.connectionState == "connected":
                self.connected.set()

        @self.pc.on("track")
        def _track(track):
            self._sink = asyncio.ensure_future(self._consume(track))

    async def _consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:  # noqa: BLE001 - the track ended
                return
            self.frames.append(bytes(frame.planes[0])[:SAMPLES * 2])
            channels = len(frame.layout.channels)
            self.audio.append((frame.sample_rate, channels,
                               bytes(frame.planes[0])[:frame.samples * channels * 2]))
            self.frame_times.append(time.monotonic())

    def received_pcm(self, since=0):
        """(sample rate, s16 samples of the first channel) of the frames
        received from index `since` on."""
        frames = self.audio[since:]
        if not frames:
            return 0, b""
        mono = array.array("h")
        for _, channels, data in frames:
            mono.extend(array.array("h", data)[::channels])
        return frames[0][0], mono.tobytes()

    def add_audio(self):
        transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        if self.audio_codecs:
            wanted = [m.lower() for m in self.audio_codecs]
            caps = [c for c in RTCRtpSender.getCapabilities("audio").codecs
                    if c.mimeType.lower() in wanted]
            caps.sort(key=lambda c: wanted.index(c.mimeType.lower()))
            transceiver.setCodecPreferences(caps)

    async def offer(self):
        self.add_audio()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp):
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, offer_sdp):
        if self.audio_codecs:
            self.add_audio()  # the offer's audio then lands on it, with its codec preferences
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for t in self.pc.getTransceivers():
            if t.kind == "audio":
                t.sender.replaceTrack(self.track)
                t.direction = "sendrecv"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def describe(self):
        dtls = [t.sender.transport for t in self.pc.getTransceivers()]
        return (f"connection states {self.states}, ice {self.pc.iceConnectionState}, "
                f"dtls {[d.state for d in dtls if d]}, frames {len(self.frames)}\n"
                "aiortc's last ICE/DTLS log lines:\n" + "\n".join(list(ICE_LOG)[-60:]))

    async def send_raw(self, data):
        """A datagram from aiortc's own ICE socket to the nominated remote: the
        path real media takes, bypassing DTLS and SRTP."""
        ice = self.pc.getTransceivers()[0].sender.transport.transport
        await ice._connection.sendto(data, 1)

    async def close(self):
        await self.pc.close()
        if self._sink:
            self._sink.cancel()
