"""aiortc (Debian's python3-aiortc) as the browser of media-relay tests, on
127.0.0.1 only: a peer connection with no STUN server, host candidates on
loopback, a sending track whose samples the test knows, and a sink that keeps
what the received track yields."""

import asyncio
import collections
import fractions
import logging
import struct
import time

import aioice.ice

# aioice gathers every interface but loopback; these tests use loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
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
    """8 kHz mono s16 frames of 20 ms; frame k carries frame_samples(k)."""
    kind = "audio"

    def __init__(self):
        super().__init__()
        self.index = 0
        self._start = None

    async def recv(self):
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.index * 0.02 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(frame_samples(self.index))
        frame.sample_rate = 8000
        frame.time_base = TIME_BASE
        frame.pts = self.index * SAMPLES
        self.index += 1
        return frame


class Browser:
    def __init__(self):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = KnownAudioTrack()
        self.frames = []  # bytes of s16 samples of each frame the remote track yields
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
            self.frame_times.append(time.monotonic())

    def add_audio(self):
        self.pc.addTransceiver(self.track, direction="sendrecv")

    async def offer(self):
        self.add_audio()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp):
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, offer_sdp):
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
