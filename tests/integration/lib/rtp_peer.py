"""A legacy (SIP-side) media endpoint for tests: plain UDP sockets on
127.0.0.1 (an even RTP port and the RTCP port after it) that record every
datagram and send RTP, optionally SDES-SRTP protected with pylibsrtp."""

import asyncio
import base64
import os
import socket
import struct
import time

LOOPBACK = "127.0.0.1"

# SDES suite -> (pylibsrtp profile name, key length, salt length)
SUITES = {
    "AES_CM_128_HMAC_SHA1_80": ("SRTP_PROFILE_AES128_CM_SHA1_80", 16, 14),
    "AES_CM_128_HMAC_SHA1_32": ("SRTP_PROFILE_AES128_CM_SHA1_32", 16, 14),
    "AEAD_AES_128_GCM": ("SRTP_PROFILE_AEAD_AES_128_GCM", 16, 12),
    "AEAD_AES_256_GCM": ("SRTP_PROFILE_AEAD_AES_256_GCM", 32, 12),
}


def new_sdes_key(suite):
    """A fresh master key||salt for `suite`, as raw bytes and as key-params."""
    _, klen, slen = SUITES[suite]
    raw = os.urandom(klen + slen)
    return raw, "inline:" + base64.b64encode(raw).decode()


def parse_key_params(suite, key_params):
    assert key_params.startswith("inline:"), key_params
    raw = base64.b64decode(key_params[7:].split("|")[0])
    _, klen, slen = SUITES[suite]
    assert len(raw) == klen + slen, (suite, len(raw))
    return raw


def _srtp_session(suite, raw, outbound):
    import pylibsrtp
    profile = getattr(pylibsrtp.Policy, SUITES[suite][0])
    ssrc_type = (pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound
                 else pylibsrtp.Policy.SSRC_ANY_INBOUND)
    policy = pylibsrtp.Policy(key=raw, srtp_profile=profile, ssrc_type=ssrc_type)
    if outbound:
        policy.allow_repeat_tx = True
    return pylibsrtp.Session(policy=policy)


def build_rtp(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                       ts & 0xFFFFFFFF, ssrc) + payload


class Rtp:
    """A parsed RTP packet as received."""
    __slots__ = ("time", "src", "pt", "marker", "seq", "ts", "ssrc", "payload")

    def __init__(self, data, src):
        self.time = time.monotonic()
        self.src = src
        b0, b1, self.seq, self.ts, self.ssrc = struct.unpack("!BBHII", data[:12])
        self.pt = b1 & 0x7F
        self.marker = bool(b1 & 0x80)
        off = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            ext_len = struct.unpack("!H", data[off + 2:off + 4])[0]
            off += 4 + 4 * ext_len
        end = len(data)
        if b0 & 0x20:
            end -= data[-1]
        self.payload = bytes(data[off:end])


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner, rtcp):
        self.owner = owner
        self.rtcp = rtcp

    def datagram_received(self, data, addr):
        self.owner._on_datagram(data, addr, self.rtcp)


class LegacyEndpoint:
    """RTP on an even port, RTCP on the next one."""

    def __init__(self):
        self.rtp_port = None
        self.received = []        # Rtp, decrypted, in arrival order
        self.rtcp_received = []   # raw (decrypted) RTCP datagrams
        self.undecodable = 0      # datagrams that failed SRTP or parsing
        self._tx = None
        self._rx = None
        self._transports = []
        self.waiters = []

    async def open(self):
        loop = asyncio.get_running_loop()
        for _ in range(100):
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtp.bind((LOOPBACK, 0))
                port = rtp.getsockname()[1]
                if port % 2 or port == 65535:
                    raise OSError("odd")
                rtcp.bind((LOOPBACK, port + 1))
            except OSError:
                rtp.close()
                rtcp.close()
                continue
            for sock, is_rtcp in ((rtp, False), (rtcp, True)):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                t, _ = await loop.create_datagram_endpoint(lambda r=is_rtcp: _Proto(self, r),
                                                           sock=sock)
                self._transports.append(t)
            self.rtp_port = port
            return self
        raise RuntimeError("no free even port pair")

    def close(self):
        for t in self._transports:
            t.close()
        self._transports = []

    # ---- SRTP
    def set_srtp(self, tx_suite=None, tx_key=None, rx_suite=None, rx_key=None):
        """tx: our key (we protect with it); rx: the relay's key."""
        self._tx = _srtp_session(tx_suite, tx_key, True) if tx_suite else None
        self._rx = _srtp_session(rx_suite, rx_key, False) if rx_suite else None

    def protect(self, packet):
        return self._tx.protect(packet) if self._tx else packet

    # ---- receive
    def _on_datagram(self, data, addr, rtcp):
        if not rtcp and len(data) >= 2 and 192 <= data[1] <= 223:
            rtcp = True  # muxed RTCP
        try:
            if rtcp:
                self.rtcp_received.append(self._rx.unprotect_rtcp(data) if self._rx else data)
                return
            plain = self._rx.unprotect(data) if self._rx else data
            self.received.append(Rtp(plain, addr))
        except Exception:  # noqa: BLE001 - counted, the test decides
            self.undecodable += 1

    def count(self):
        return len(self.received)

    async def wait_packets(self, n, timeout, since=0):
        deadline = time.monotonic() + timeout
        while len(self.received) - since < n:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    # ---- send
    def send_raw(self, data, dest):
        self._transports[0].sendto(data, dest)

    def send_rtcp_raw(self, data, dest):
        self._transports[1].sendto(data, dest)


class Paced:
    """Calls self.send_one() every `period` seconds on the wall clock from
    start() until stop(); send_one() advances self.index. A late loop catches
    up, as a real endpoint would."""

    period = 0.02
    index = 0
    _task = None

    async def _run(self):
        start = time.monotonic()
        while True:
            self.send_one()
            await asyncio.sleep(max(0.0, start + self.index * self.period - time.monotonic()))

    def start(self):
        self._task = asyncio.ensure_future(self._run())
        return self

    async def stop(self):
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


class RtpSender(Paced):
    """Sends PCMU-like RTP every 20 ms from a LegacyEndpoint; payload k is
    payload_of(k). Remembers the datagrams it sent (for replays)."""

    def __init__(self, endpoint, dest, pt, payload_of, ssrc=0x1234ABCD, samples=160):
        self.endpoint = endpoint
        self.dest = dest
        self.pt = pt
        self.payload_of = payload_of
        self.ssrc = ssrc
        self.samples = samples
        self.index = 0
        self.seq0 = 1000
        self.ts0 = 50000
        self.sent = []  # (index, datagram as sent)

    def packet(self, k):
        return build_rtp(self.pt, self.seq0 + k, self.ts0 + k * self.samples, self.ssrc,
                         self.payload_of(k), marker=(k == 0))

    def send_one(self):
        data = self.endpoint.protect(self.packet(self.index))
        self.endpoint.send_raw(data, self.dest)
        self.sent.append((self.index, data))
        del self.sent[:-200]
        self.index += 1
