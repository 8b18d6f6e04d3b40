"""The media relay against an independent WebRTC stack: aiortc (Debian's
python3-aiortc) is the browser, plain UDP sockets (SDES-SRTP with pylibsrtp)
are the SIP endpoint, and this test is the signaling: it turns aiortc's SDP
into the relay's proto and the relay's LocalDescription back into SDP.

Everything runs on 127.0.0.1. Media is checked end to end with known samples:
what aiortc sends arrives on the legacy socket as the exact PCMU of those
samples, and what the legacy socket sends comes out of aiortc's decoder as
the exact linear PCM of those bytes.

Run: W2S_BUILD_DIR=build /usr/bin/python3 tests/integration/media_relay_test.py"""

import asyncio
import warnings

warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
import audioop  # noqa: E402
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402

sys.path.insert(0, os.path.join(w2s.BUILD_DIR, "python"))
import grpc  # noqa: E402
from webrtc2sip.media.v1 import media_relay_pb2 as pb  # noqa: E402
from webrtc2sip.media.v1 import media_relay_pb2_grpc as rpc  # noqa: E402

import aiortc_peer  # noqa: E402  (patches aioice to loopback before aiortc loads)
import aioice.stun  # noqa: E402
import rtp_peer  # noqa: E402
import sdp_min  # noqa: E402

PCMU = pb.Codec(payload_type=0, name="PCMU", clock_rate=8000, channels=1)
DTMF = pb.Codec(payload_type=101, name="telephone-event", clock_rate=8000, fmtp="0-15")
RUN = 25            # consecutive intact frames required in each direction
MEDIA_TIMEOUT = 20  # seconds: generous, the machine may be loaded


def BROWSER_CANDIDATES(candidate):
    """Which of aiortc's candidates the relay is given: none. The relay learns
    aiortc's address as peer-reflexive from aiortc's checks. Given candidates,
    the relay (ICE-lite) sends connectivity checks of its own at once (a relay
    bug, see test_ice_lite_sends_no_checks); aioice 0.8 then runs two checks
    of one pair at once and declares "ICE failed" in a few percent of calls."""
    return False


def legacy_payload(k):
    """160 PCMU bytes, distinct for every k < 65536."""
    return bytes([k & 0xFF, (k >> 8) & 0xFF]) + bytes(((k * 31 + j * 17) % 251) for j in range(158))


def browser_pcmu(k):
    return audioop.lin2ulaw(aiortc_peer.frame_samples(k), 2)


def longest_run(indices):
    """Longest stretch of consecutive k, k+1, ... in `indices` (None breaks it)."""
    best = cur = 0
    prev = None
    for i in indices:
        if i is None:
            cur = 0
        elif prev is not None and i == prev + 1:
            cur += 1
        else:
            cur = 1
        prev = i
        best = max(best, cur)
    return best


class Relay:
    """webrtc2sip-media-relay on free loopback ports, with a Watch stream
    collected in the background."""

    def __init__(self, capacity=50, drain_deadline_seconds=60):
        cfg = w2s.local_config()
        cfg["log"] = {"level": "debug", "format": "kv"}
        relay = cfg["media_relay"]
        relay["capacity"] = capacity
        relay["workers"] = 2
        relay["drain_deadline_seconds"] = drain_deadline_seconds
        base = random.randrange(30000, 39000, 2)
        relay["port_range"] = {"min": base, "max": base + 400}
        self.cfg = cfg
        self.grpc_port = w2s.port_of(relay["grpc_listen"])
        self.http_port = w2s.port_of(relay["http_listen"])
        self.config_path = w2s.write_config(cfg)
        self.proc = w2s.Process(
            [w2s.binary("webrtc2sip-media-relay"), "--config", self.config_path], "media-relay")
        self.proc.wait_http(self.http_port, "/readyz", timeout=30)
        self.channel = grpc.insecure_channel(f"{w2s.LOOPBACK}:{self.grpc_port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = rpc.MediaRelayStub(self.channel)
        self.events = []
        self._lock = threading.Lock()
        self._watch = self.stub.Watch(pb.WatchRequest())
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self):
        try:
            for ev in self._watch:
                with self._lock:
                    self.events.append((time.monotonic(), ev))
        except grpc.RpcError:
            pass

    def session_events(self, session_id):
        with self._lock:
            return [ev.session for _, ev in self.events
                    if ev.HasField("session") and ev.session.session_id == session_id]

    def loads(self):
        with self._lock:
            return [ev.load for _, ev in self.events if ev.HasField("load")]

    async def wait_event(self, session_id, kind, timeout=MEDIA_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.session_events(session_id):
                if ev.type == kind:
                    return ev
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {pb.SessionEventType.Name(kind)} for {session_id}; got "
                             f"{self.session_events(session_id)}\n{self.tail()}")

    async def call(self, method, request, timeout=15):
        return await asyncio.to_thread(method, request, timeout=timeout)

    def metric(self, name, **labels):
        return w2s.metric(self.http_port, name, **labels)

    async def wait_metric(self, name, at_least, timeout=10, **labels):
        """Counters are published every 2 s: poll."""
        deadline = time.monotonic() + timeout
        value = 0
        while time.monotonic() < deadline:
            value = await asyncio.to_thread(self.metric, name, **labels)
            if value >= at_least:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"{name}{labels} = {value}, expected >= {at_least}")

    def metric_sum(self, name, **labels):
        """The sum of every sample of `name` whose labels include `labels`."""
        _, _, body = w2s.http_get(self.http_port, "/metrics")
        total = 0.0
        for line in body.splitlines():
            if not line.startswith(name + "{"):
                continue
            sample, _, value = line.rpartition(" ")
            found = dict(kv.split("=", 1) for kv in sample[len(name) + 1:-1].split(",") if kv)
            if all(found.get(k, "").strip('"') == str(v) for k, v in labels.items()):
                total += float(value)
        return total

    def health(self):
        """grpc.health.v1 Check of the server ("" service): 1 SERVING, 2 NOT_SERVING."""
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check",
                                         request_serializer=lambda x: x,
                                         response_deserializer=lambda x: x)
        resp = check(b"", timeout=5)
        return resp[1] if len(resp) >= 2 and resp[0] == 0x08 else 0

    def tail(self, lines=40):
        return "relay log tail:\n" + "\n".join(self.proc.output().splitlines()[-lines:])

    def close(self):
        self._watch.cancel()
        self.channel.close()
        self.proc.kill()
        self.proc.log.close()
        try:
            os.unlink(self.config_path)
        except OSError:
            pass


def bare_request(call_id, lease_seconds=30):
    """A session whose peers never show up (leases, errors)."""
    return pb.CreateSessionRequest(
        call_id=call_id, lease_seconds=lease_seconds,
        webrtc_leg=pb.LegRequest(type=pb.LEG_TYPE_WEBRTC, remote=pb.RemoteDescription(
            streams=[pb.MediaStream(mid="0", kind=pb.MEDIA_KIND_AUDIO, codecs=[PCMU])],
            webrtc=pb.WebRtcTransport(ice_ufrag="abcd", ice_pwd="0123456789012345678901",
                                      rtcp_mux=True, bundle=True,
                                      fingerprints=[pb.Fingerprint(algorithm="sha-256",
                                                                   value=":".join(["AB"] * 32))]))),
        legacy_leg=pb.LegRequest(type=pb.LEG_TYPE_LEGACY, srtp_mode=pb.SRTP_MODE_NONE,
                                 offer_streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO,
                                                               codecs=[PCMU])]))


class Call:
    """One call through the relay: aiortc, the legacy endpoint, the session."""

    def __init__(self, relay):
        self.relay = relay
        self.browser = aiortc_peer.Browser()
        self.legacy = None
        self.session_id = None
        self.resp = None
        self.sender = None
        self.legacy_ssrc = None
        self.relay_legacy_addr = None
        self.relay_webrtc_port = None
        self.answer_sdp = None
        self.offer_sdp = None

    # ---- set-up
    async def outgoing(self, fingerprint_override=None, lease_seconds=30):
        """The browser offers; the legacy endpoint answers the relay's offer."""
        self.legacy = await rtp_peer.LegacyEndpoint().open()
        self.offer_sdp = await self.browser.offer()
        remote = sdp_min.webrtc_remote(pb, self.offer_sdp, keep_candidate=BROWSER_CANDIDATES,
                                       fingerprint_override=fingerprint_override)
        req = pb.CreateSessionRequest(
            call_id=f"out-{random.randrange(1 << 30)}", lease_seconds=lease_seconds,
            webrtc_leg=pb.LegRequest(type=pb.LEG_TYPE_WEBRTC, remote=remote),
            legacy_leg=pb.LegRequest(type=pb.LEG_TYPE_LEGACY, srtp_mode=pb.SRTP_MODE_NONE,
                                     offer_streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO,
                                                                   codecs=[PCMU])]))
        self.resp = await self.relay.call(self.relay.stub.CreateSession, req)
        self.session_id = self.resp.session_id
        self.answer_sdp = sdp_min.webrtc_local_to_sdp(self.resp.webrtc_leg)
        await self.browser.accept_answer(self.answer_sdp)
        ep = self.resp.legacy_leg.legacy.endpoints[0]
        self.relay_legacy_addr = (ep.address, ep.rtp_port)
        self.legacy_ssrc = self.resp.legacy_leg.streams[0].ssrcs[0]
        self.relay_webrtc_port = self.resp.webrtc_leg.webrtc.candidates[0].port
        upd = await self.relay.call(self.relay.stub.UpdateLeg, pb.UpdateLegRequest(
            session_id=self.session_id, side=pb.LEG_SIDE_LEGACY, is_offer=False,
            remote=self.legacy_remote(pb.DIRECTION_SENDRECV)))
        return upd

    def legacy_remote(self, direction, codecs=(PCMU,), profile=pb.PROFILE_RTP_AVP, crypto=()):
        return pb.RemoteDescription(
            streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO, direction=direction, codecs=codecs)],
            legacy=pb.LegacyTransport(profile=profile, endpoints=[pb.LegacyEndpoint(
                address=w2s.LOOPBACK, rtp_port=self.legacy.rtp_port, crypto=crypto)]))

    async def incoming(self, offered_suites, webrtc_pt=110):
        """The legacy endpoint offers (SDES); the relay offers to the browser,
        which answers. The browser leg numbers PCMU `webrtc_pt`."""
        self.legacy = await rtp_peer.LegacyEndpoint().open()
        keys = {}
        crypto = []
        for tag, suite in enumerate(offered_suites, start=1):
            raw, params = rtp_peer.new_sdes_key(suite)
            keys[tag] = (suite, raw)
            crypto.append(pb.SdesCrypto(tag=tag, suite=suite, key_params=params))
        webrtc_pcmu = pb.Codec(payload_type=webrtc_pt, name="PCMU", clock_rate=8000, channels=1)
        req = pb.CreateSessionRequest(
            call_id=f"in-{random.randrange(1 << 30)}", lease_seconds=30,
            webrtc_leg=pb.LegRequest(type=pb.LEG_TYPE_WEBRTC, offer_streams=[
                pb.MediaStream(mid="0", kind=pb.MEDIA_KIND_AUDIO, codecs=[webrtc_pcmu])]),
            legacy_leg=pb.LegRequest(type=pb.LEG_TYPE_LEGACY, srtp_mode=pb.SRTP_MODE_OPTIONAL,
                                     remote=self.legacy_remote(pb.DIRECTION_SENDRECV,
                                                               codecs=(PCMU, DTMF),
                                                               profile=pb.PROFILE_RTP_SAVP,
                                                               crypto=crypto)))
        self.resp = await self.relay.call(self.relay.stub.CreateSession, req)
        self.session_id = self.resp.session_id
        ep = self.resp.legacy_leg.legacy.endpoints[0]
        self.relay_legacy_addr = (ep.address, ep.rtp_port)
        self.legacy_ssrc = self.resp.legacy_leg.streams[0].ssrcs[0]
        self.relay_webrtc_port = self.resp.webrtc_leg.webrtc.candidates[0].port
        self.offer_sdp = sdp_min.webrtc_local_to_sdp(self.resp.webrtc_leg)
        self.answer_sdp = await self.browser.answer(self.offer_sdp)
        await self.relay.call(self.relay.stub.UpdateLeg, pb.UpdateLegRequest(
            session_id=self.session_id, side=pb.LEG_SIDE_WEBRTC, is_offer=False,
            remote=sdp_min.webrtc_remote(pb, self.answer_sdp, keep_candidate=BROWSER_CANDIDATES)))
        return keys

    async def connected(self):
        await self.relay.wait_event(self.session_id, pb.SESSION_EVENT_MEDIA_CONNECTED)
        try:
            await asyncio.wait_for(self.browser.connected.wait(), MEDIA_TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"aiortc did not connect: {self.browser.describe()}\n"
                                 f"{self.relay.tail()}") from None

    def start_legacy_media(self, pt=0):
        self.sender = rtp_peer.RtpSender(self.legacy, self.relay_legacy_addr, pt,
                                         legacy_payload).start()

    # ---- media checks
    def to_legacy_indices(self, since=0):
        """Browser frame index of each RTP packet the legacy socket got (None: unknown)."""
        known = {browser_pcmu(k): k for k in range(self.browser.track.index + 5)}
        return [known.get(p.payload) for p in self.legacy.received[since:]]

    def to_browser_indices(self, since=0):
        count = self.sender.index + 5 if self.sender else 0
        known = {audioop.ulaw2lin(legacy_payload(k), 2): k for k in range(count)}
        return [known.get(f) for f in self.browser.frames[since:]]

    async def wait_media(self, legacy_since=0, browser_since=0, run=RUN, timeout=MEDIA_TIMEOUT,
                         to_legacy=True, to_browser=True):
        deadline = time.monotonic() + timeout
        while True:
            ok_l = not to_legacy or longest_run(self.to_legacy_indices(legacy_since)) >= run
            ok_b = not to_browser or longest_run(self.to_browser_indices(browser_since)) >= run
            if ok_l and ok_b:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"media did not flow: to legacy run "
                    f"{longest_run(self.to_legacy_indices(legacy_since))} of "
                    f"{len(self.legacy.received) - legacy_since} packets, to browser run "
                    f"{longest_run(self.to_browser_indices(browser_since))} of "
                    f"{len(self.browser.frames) - browser_since} frames (browser sent "
                    f"{self.browser.track.index}, legacy sent "
                    f"{self.sender.index if self.sender else 0}); "
                    f"browser states {self.browser.states}\n{self.relay.tail()}")
            await asyncio.sleep(0.1)

    async def close(self, delete=True):
        if self.sender:
            await self.sender.stop()
        if delete and self.session_id:
            try:
                await self.relay.call(self.relay.stub.DeleteSession,
                                      pb.DeleteSessionRequest(session_id=self.session_id))
            except grpc.RpcError:
                pass
        await self.browser.close()
        if self.legacy:
            self.legacy.close()


class RelayTestCase(unittest.IsolatedAsyncioTestCase):
    relay = None

    @classmethod
    def setUpClass(cls):
        cls.relay = Relay()

    @classmethod
    def tearDownClass(cls):
        cls.relay.close()

    async def new_call(self, relay=None):
        call = Call(relay or self.relay)
        self.calls.append(call)
        return call

    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # unittest's debug mode: slow-callback noise
        self.calls = []

    async def asyncTearDown(self):
        for call in self.calls:
            await call.close()

    def assert_legacy_packets_intact(self, call, since=0):
        """Every RTP packet the legacy socket got carries the relay's legacy SSRC,
        PCMU's PT 0 and a payload that is one of the browser's frames; sequence
        numbers and timestamps advance together."""
        pkts = call.legacy.received[since:]
        self.assertTrue(pkts)
        self.assertEqual({p.ssrc for p in pkts}, {call.legacy_ssrc})
        self.assertEqual({p.pt for p in pkts}, {0})
        indices = call.to_legacy_indices(since)
        self.assertNotIn(None, indices, "a payload that is none of the browser's frames")
        for a, b, ia, ib in zip(pkts, pkts[1:], indices, indices[1:]):
            if ib == ia + 1:
                self.assertEqual((b.seq - a.seq) & 0xFFFF, 1)
                self.assertEqual((b.ts - a.ts) & 0xFFFFFFFF, 160)
        self.assertEqual({p.src for p in pkts}, {call.relay_legacy_addr})


class OutgoingCall(RelayTestCase):
    async def test_browser_offers_media_both_ways_intact(self):
        call = await self.new_call()
        upd = await call.outgoing()
        # The answer aiortc got: ICE-lite, passive (the node is the DTLS server), PCMU only.
        sdp = sdp_min.parse(call.answer_sdp)
        self.assertTrue(sdp.ice_lite)
        self.assertEqual(sdp.media[0].setup, "passive")
        self.assertEqual(sdp.bundle, ["0"])
        self.assertEqual([(c.pt, c.name) for c in sdp.media[0].codecs], [(0, "PCMU")])
        self.assertTrue(all(c["address"] == "127.0.0.1" for c in sdp.media[0].candidates))
        self.assertEqual(call.resp.webrtc_leg.webrtc.dtls_role, pb.DTLS_ROLE_SERVER)
        # The relay's offer to the legacy side: plain RTP/AVP, no crypto.
        legacy = call.resp.legacy_leg.legacy
        self.assertEqual(legacy.profile, pb.PROFILE_RTP_AVP)
        self.assertEqual(len(legacy.endpoints[0].crypto), 0)
        self.assertEqual(legacy.endpoints[0].address, "127.0.0.1")
        # The legacy answer keeps the SSRC the relay announced.
        self.assertEqual(upd.local.streams[0].ssrcs[0], call.legacy_ssrc)

        await call.connected()
        call.start_legacy_media()
        await call.wait_media()
        self.assert_legacy_packets_intact(call)
        # The frames aiortc decoded are exactly the linear PCM of what the legacy side sent.
        self.assertNotIn(None, call.to_browser_indices(), "a frame that is none of the sent ones")
        # ICE and DTLS outcomes and durations are measured.
        self.assertGreaterEqual(self.relay.metric("webrtc2sip_media_ice_seconds_count", outcome="connected"), 1)
        self.assertGreaterEqual(self.relay.metric("webrtc2sip_media_dtls_seconds_count", outcome="connected"), 1)

        # The relay keeps its own SSRC toward the legacy side, whatever aiortc's is.
        browser_ssrc = sdp_min.parse(call.offer_sdp).media[0].ssrcs[0]
        self.assertNotEqual(browser_ssrc, call.legacy_ssrc)
        sid = call.session_id
        stats = (await self.relay.call(self.relay.stub.DeleteSession,
                                       pb.DeleteSessionRequest(session_id=sid))).stats
        call.session_id = None
        self.assertGreaterEqual(stats.packets_from_legacy, RUN)
        self.assertGreaterEqual(stats.packets_to_legacy, RUN)
        self.assertGreaterEqual(stats.packets_from_webrtc, RUN)
        self.assertGreaterEqual(stats.packets_to_webrtc, RUN)
        ended = await self.relay.wait_event(sid, pb.SESSION_EVENT_ENDED)
        self.assertEqual(ended.reason, "deleted")

    async def test_consent_checks_answered_on_the_direct_media_path(self):
        # Once ICE has selected the pair, the relay reads the socket itself and answers the
        # browser's consent checks (RFC 7675; aiortc sends one every 4-6 s) with its own STUN:
        # aioice's parser accepts every answer (integrity with the relay's ice-pwd, fingerprint),
        # aiortc stays connected and media keeps flowing.
        call = await self.new_call()
        await call.outgoing()
        await call.connected()
        aiortc_peer.STUN_RESPONSES.clear()
        call.start_legacy_media()
        await call.wait_media()
        name = "webrtc2sip_media_ice_checks_answered_total"
        answered = await asyncio.to_thread(self.relay.metric, name)
        deadline = time.monotonic() + 15
        while await asyncio.to_thread(self.relay.metric, name) < answered + 2:
            self.assertLess(time.monotonic(), deadline,
                            f"no consent check answered on the direct path\n{self.relay.tail()}")
            await asyncio.sleep(0.5)
        self.assertEqual(call.browser.pc.iceConnectionState, "completed")
        pwd = re.search(r"a=ice-pwd:(\S+)", call.answer_sdp).group(1).encode()
        responses = list(aiortc_peer.STUN_RESPONSES)
        self.assertGreaterEqual(len(responses), 2)
        for data in responses:
            message = aioice.stun.parse_message(data, integrity_key=pwd)  # raises when unsound
            self.assertEqual(message.message_class, aioice.stun.Class.RESPONSE)
            self.assertEqual(message.attributes["XOR-MAPPED-ADDRESS"][0], "127.0.0.1")
        await call.wait_media(legacy_since=len(call.legacy.received),
                              browser_since=len(call.browser.frames))

    async def test_hold_and_resume_by_legacy_reoffer(self):
        call = await self.new_call()
        await call.outgoing()
        await call.connected()
        call.start_legacy_media()
        await call.wait_media()

        # The legacy peer holds: a re-offer with its stream sendonly (it will not receive).
        upd = await self.relay.call(self.relay.stub.UpdateLeg, pb.UpdateLegRequest(
            session_id=call.session_id, side=pb.LEG_SIDE_LEGACY, is_offer=True,
            remote=call.legacy_remote(pb.DIRECTION_SENDONLY)))
        self.assertEqual(upd.local.streams[0].direction, pb.DIRECTION_SENDONLY)
        self.assertEqual(upd.local.streams[0].ssrcs[0], call.legacy_ssrc)
        await asyncio.sleep(0.3)  # what was in flight
        held_at = len(call.legacy.received)
        browser_sent = call.browser.track.index
        frames_at = len(call.browser.frames)
        await asyncio.sleep(1.5)
        self.assertGreater(call.browser.track.index - browser_sent, 30, "aiortc kept sending")
        self.assertEqual(len(call.legacy.received), held_at, "RTP reached the legacy peer on hold")
        # legacy -> browser still flows while on hold
        await call.wait_media(browser_since=frames_at, to_legacy=False)

        # Resume.
        upd = await self.relay.call(self.relay.stub.UpdateLeg, pb.UpdateLegRequest(
            session_id=call.session_id, side=pb.LEG_SIDE_LEGACY, is_offer=True,
            remote=call.legacy_remote(pb.DIRECTION_SENDRECV)))
        self.assertEqual(upd.local.streams[0].ssrcs[0], call.legacy_ssrc)
        await call.wait_media(legacy_since=held_at, browser_since=len(call.browser.frames))
        self.assert_legacy_packets_intact(call, since=held_at)


class IncomingCall(RelayTestCase):
    async def run_sdes_call(self, offered, expected_suite):
        call = await self.new_call()
        keys = await call.incoming(offered)
        legacy = call.resp.legacy_leg.legacy
        # The relay answers RTP/SAVP with one crypto line: the first suite offered, its own key.
        self.assertEqual(legacy.profile, pb.PROFILE_RTP_SAVP)
        self.assertEqual(len(legacy.endpoints[0].crypto), 1, legacy)
        answer = legacy.endpoints[0].crypto[0]
        self.assertEqual((answer.tag, answer.suite), (1, expected_suite))
        relay_key = rtp_peer.parse_key_params(answer.suite, answer.key_params)
        self.assertNotEqual(relay_key, keys[1][1])
        # The relay's offer to the browser: actpass, ICE-lite, BUNDLE, PCMU at the leg's PT.
        offer = sdp_min.parse(call.offer_sdp)
        self.assertEqual(offer.media[0].setup, "actpass")
        self.assertTrue(offer.ice_lite)
        self.assertEqual([(c.pt, c.name) for c in offer.media[0].codecs], [(110, "PCMU")])
        answer_sdp = sdp_min.parse(call.answer_sdp)
        self.assertEqual(answer_sdp.media[0].setup, "active")
        self.assertEqual([c.pt for c in answer_sdp.media[0].codecs], [110])

        call.legacy.set_srtp(tx_suite=keys[1][0], tx_key=keys[1][1],
                             rx_suite=answer.suite, rx_key=relay_key)
        call.start_legacy_media()
        await call.connected()
        await call.wait_media()
        # aiortc sent PCMU as PT 110: the legacy side gets PT 0, the relay's SSRC.
        self.assert_legacy_packets_intact(call)
        self.assertEqual(call.legacy.undecodable, 0)
        self.assertNotIn(None, call.to_browser_indices())
        return call

    async def test_legacy_offers_sdes_gcm_first(self):
        await self.run_sdes_call(["AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"],
                                 "AEAD_AES_128_GCM")

    async def test_legacy_offers_sdes_aes_cm_only(self):
        await self.run_sdes_call(["AES_CM_128_HMAC_SHA1_80"], "AES_CM_128_HMAC_SHA1_80")

    async def test_bad_srtp_dropped_and_counted(self):
        call = await self.run_sdes_call(["AEAD_AES_128_GCM"], "AEAD_AES_128_GCM")
        auth0 = self.relay.metric("webrtc2sip_media_packets_dropped_total", leg="legacy",
                                  reason="srtp_auth_failed")
        replay0 = self.relay.metric("webrtc2sip_media_packets_dropped_total", leg="legacy",
                                    reason="srtp_replay")
        frames_before = len(call.browser.frames)
        for _ in range(3):
            _, good = call.sender.sent[-5]
            call.legacy.send_raw(good, call.relay_legacy_addr)  # a replay
            k = call.sender.index + 50  # a future packet, its tag corrupted
            bad = bytearray(call.legacy.protect(call.sender.packet(k)))
            bad[-1] ^= 0x01
            call.legacy.send_raw(bytes(bad), call.relay_legacy_addr)
            await asyncio.sleep(0.05)
        await self.relay.wait_metric("webrtc2sip_media_packets_dropped_total", auth0 + 3,
                                     leg="legacy", reason="srtp_auth_failed")
        await self.relay.wait_metric("webrtc2sip_media_packets_dropped_total", replay0 + 3,
                                     leg="legacy", reason="srtp_replay")
        # Nothing of it reached the browser as a frame; media goes on both ways.
        await call.wait_media(legacy_since=len(call.legacy.received), browser_since=frames_before)
        self.assertNotIn(None, call.to_browser_indices(frames_before))


    # A relay gap, reported: an SRTP packet too short for its header and tag
    # (SrtpResult::kBadPacket) is dropped but counted only in the legs'
    # srtp_other counters, which RelaySession::PublishCounters never publishes.
    # Remove the decorator once such drops show in /metrics.
    async def test_truncated_srtp_counted(self):
        call = await self.run_sdes_call(["AEAD_AES_128_GCM"], "AEAD_AES_128_GCM")
        await asyncio.sleep(2.5)  # a publication of the counters

        def dropped():
            return (self.relay.metric_sum("webrtc2sip_media_packets_dropped_total", leg="legacy")
                    + self.relay.metric_sum("webrtc2sip_media_rtp_dropped_total"))

        before = dropped()
        for _ in range(5):
            call.legacy.send_raw(b"\x80\x00\x01", call.relay_legacy_addr)
            call.legacy.send_raw(b"\x80\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09",
                                 call.relay_legacy_addr)
        await asyncio.sleep(4.5)
        self.assertGreaterEqual(dropped() - before, 10, "truncated SRTP packets counted nowhere")


class IceLite(RelayTestCase):
    # A relay bug, reported: the WebRTC leg announces a=ice-lite, yet libnice
    # sends STUN Binding requests (connectivity checks, retransmitted at about
    # 0, 0.5 and 1.5 s) to the remote candidates it is given, and triggered
    # checks toward a peer-reflexive browser. Remove the decorator once fixed.
    async def test_ice_lite_sends_no_checks(self):
        browser = await rtp_peer.LegacyEndpoint().open()  # a UDP socket as the browser's candidate
        self.addCleanup(browser.close)
        got = []
        browser._on_datagram = lambda data, addr, rtcp: got.append(data)
        req = bare_request("lite")
        req.webrtc_leg.remote.webrtc.candidates.add(
            foundation="1", component=1, protocol="udp", priority=2130706431,
            address=w2s.LOOPBACK, port=browser.rtp_port, type="host")
        resp = await self.relay.call(self.relay.stub.CreateSession, req)
        self.addCleanup(self.relay.stub.DeleteSession,
                        pb.DeleteSessionRequest(session_id=resp.session_id))
        self.assertTrue(resp.webrtc_leg.webrtc.ice_lite)
        await asyncio.sleep(2.0)
        requests = [d for d in got if len(d) >= 20 and struct.unpack("!H", d[:2])[0] == 0x0001]
        self.assertEqual(len(requests), 0, "an ICE-lite agent sent STUN Binding requests")


class MediaFailures(RelayTestCase):
    async def test_wrong_fingerprint_fails_the_leg(self):
        outcome0 = self.relay.metric("webrtc2sip_media_webrtc_outcomes_total",
                                     outcome="dtls_fingerprint_mismatch")
        call = await self.new_call()
        wrong = [("sha-256", ":".join(f"{random.randrange(256):02X}" for _ in range(32)))]
        await call.outgoing(fingerprint_override=wrong)
        call.start_legacy_media()
        failed = await call.relay.wait_event(call.session_id, pb.SESSION_EVENT_MEDIA_FAILED)
        self.assertEqual(failed.reason, "dtls_fingerprint_mismatch")
        await self.relay.wait_metric("webrtc2sip_media_webrtc_outcomes_total", outcome0 + 1,
                                     outcome="dtls_fingerprint_mismatch")
        await asyncio.sleep(1.0)
        self.assertEqual(call.legacy.received, [], "media reached the legacy socket")
        self.assertNotIn(pb.SESSION_EVENT_MEDIA_CONNECTED,
                         [e.type for e in self.relay.session_events(call.session_id)])
        self.assertEqual(call.browser.frames, [])

    async def test_bad_input_dropped_and_counted(self):
        call = await self.new_call()
        await call.outgoing()
        await call.connected()
        call.start_legacy_media()
        await call.wait_media()
        m = self.relay.metric
        before = {
            "garbage": m("webrtc2sip_media_packets_dropped_total", leg="legacy", reason="garbage"),
            "bad_rtp": m("webrtc2sip_media_rtp_dropped_total", reason="bad_packet"),
            "bad_rtcp": m("webrtc2sip_media_rtcp_dropped_total", reason="bad_packet"),
            "pt": m("webrtc2sip_media_packets_dropped_total", leg="any",
                    reason="unknown_payload_type"),
            "webrtc": m("webrtc2sip_media_packets_dropped_total", leg="webrtc", reason="garbage"),
            "webrtc_auth": m("webrtc2sip_media_packets_dropped_total", leg="webrtc",
                             reason="srtp_auth_failed"),
        }
        dest = call.relay_legacy_addr
        send = call.legacy.send_raw
        for _ in range(5):
            send(bytes([random.randrange(0x40, 0x80)]) + os.urandom(99), dest)   # not RTP
            send(b"\x80\x00\x01", dest)                                          # 3 bytes
            send(b"\x80\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", dest)          # 11 bytes
            send(b"\x80\xc8" + os.urandom(30), dest)                              # RTCP garbage
            send(rtp_peer.build_rtp(18, 7, 7, 0x5555, b"\x00" * 20), dest)  # G729: not negotiated
            await asyncio.sleep(0.02)
        # Datagrams to the WebRTC leg's ICE port from a socket that is not the
        # browser (libnice drops them before the relay sees them), and from the
        # browser's own socket, bypassing its DTLS and SRTP.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.bind((w2s.LOOPBACK, 0))
            ice = (w2s.LOOPBACK, call.relay_webrtc_port)
            for _ in range(5):
                stranger.sendto(bytes([0x70]) + os.urandom(60), ice)
                stranger.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12),
                                ice)  # STUN-looking
                stranger.sendto(b"\x80\x00\x01", ice)
                stranger.sendto(rtp_peer.build_rtp(0, 9, 9, 0x77, os.urandom(60)), ice)
                stranger.sendto(b"\x17\xfe\xfd" + os.urandom(40), ice)  # a DTLS record
        for i in range(5):
            await call.browser.send_raw(bytes([0x70]) + os.urandom(60))  # not RTP/DTLS/STUN
            await call.browser.send_raw(rtp_peer.build_rtp(0, 40000 + i, 9, 0x77, os.urandom(60)))
            await call.browser.send_raw(b"\x80\x00\x01")                         # truncated
            await call.browser.send_raw(b"\x17\xfe\xfd\x00\x01" + os.urandom(40))  # malformed DTLS
            # Well-formed forged records: a fatal alert in epoch 0, application data in epoch 1.
            await call.browser.send_raw(b"\x15\xfe\xfd\x00\x00" + struct.pack("!IH", 0, 90 + i)
                                        + b"\x00\x02\x02\x28")
            await call.browser.send_raw(b"\x17\xfe\xfd\x00\x01" + struct.pack("!IH", 0, 90 + i)
                                        + b"\x00\x28" + os.urandom(40))
            await asyncio.sleep(0.02)
        await self.relay.wait_metric("webrtc2sip_media_packets_dropped_total",
                                     before["garbage"] + 5, leg="legacy", reason="garbage")
        await self.relay.wait_metric("webrtc2sip_media_rtp_dropped_total", before["bad_rtp"] + 10,
                                     reason="bad_packet")
        await self.relay.wait_metric("webrtc2sip_media_rtcp_dropped_total", before["bad_rtcp"] + 5,
                                     reason="bad_packet")
        await self.relay.wait_metric("webrtc2sip_media_packets_dropped_total", before["pt"] + 5,
                                     leg="any", reason="unknown_payload_type")
        await self.relay.wait_metric("webrtc2sip_media_packets_dropped_total",
                                     before["webrtc"] + 5, leg="webrtc", reason="garbage")
        await self.relay.wait_metric("webrtc2sip_media_packets_dropped_total",
                                     before["webrtc_auth"] + 5, leg="webrtc",
                                     reason="srtp_auth_failed")
        # The session is unharmed: media flows both ways, intact.
        legacy_since = len(call.legacy.received)
        await call.wait_media(legacy_since=legacy_since, browser_since=len(call.browser.frames))
        self.assert_legacy_packets_intact(call, since=legacy_since)
        self.assertNotIn(None, call.to_browser_indices())
        self.assertNotIn(pb.SESSION_EVENT_MEDIA_FAILED,
                         [e.type for e in self.relay.session_events(call.session_id)])
        dtls_log = [l for l in self.relay.proc.output().splitlines()
                    if call.session_id in l and "dtls" in l]
        # The forged alert did not end the DTLS association (the relay logs "dtls closed").
        self.assertFalse([l for l in dtls_log if "dtls closed" in l], dtls_log)


    # A relay bug, reported: LegacyLeg::OnUdpPacket latches symmetric RTP onto
    # any RTP-looking datagram from the peer's host before it is validated
    # (RtpPacket::Parse runs later, in the bridge), so a 2-byte datagram from
    # another port redirects the call's media. Remove the decorator once fixed.
    async def test_invalid_datagram_does_not_move_the_latch(self):
        call = await self.new_call()
        await call.outgoing()
        await call.connected()
        call.start_legacy_media()
        await call.wait_media()
        await call.sender.stop()  # the legacy peer goes silent (one-way audio, VAD)
        await asyncio.sleep(0.3)
        other = await rtp_peer.LegacyEndpoint().open()
        self.addCleanup(other.close)
        since = len(call.legacy.received)
        other.send_raw(b"\x80\x00", call.relay_legacy_addr)  # 2 bytes from the peer's host: not RTP
        await asyncio.sleep(1.0)
        self.assertEqual(len(other.received), 0,
                         "the relay's RTP went to the sender of a 2-byte datagram")
        self.assertGreater(len(call.legacy.received) - since, 20)


class Leases(RelayTestCase):
    async def test_lease_expiry_and_keepalive(self):
        ended0 = self.relay.metric("webrtc2sip_media_sessions_ended_total", reason="lease_expired")
        short = await self.relay.call(self.relay.stub.CreateSession, bare_request("lease-short", 2))
        kept = await self.relay.call(self.relay.stub.CreateSession, bare_request("lease-kept", 2))
        t0 = time.monotonic()

        async def keep_alive():
            while time.monotonic() - t0 < 5.5:
                r = await self.relay.call(self.relay.stub.KeepAlive,
                                          pb.KeepAliveRequest(session_ids=[kept.session_id]))
                self.assertEqual(list(r.unknown_session_ids), [])
                await asyncio.sleep(1.0)

        keeper = asyncio.ensure_future(keep_alive())
        ended = await self.relay.wait_event(short.session_id, pb.SESSION_EVENT_ENDED, timeout=8)
        self.assertEqual(ended.reason, "lease_expired")
        self.assertLess(time.monotonic() - t0, 5.0, "lease of 2 s ended late")
        with self.assertRaises(grpc.RpcError) as err:
            await self.relay.call(self.relay.stub.UpdateLeg, pb.UpdateLegRequest(
                session_id=short.session_id, side=pb.LEG_SIDE_LEGACY,
                remote=pb.RemoteDescription(streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO)],
                                            legacy=pb.LegacyTransport())))
        self.assertEqual(err.exception.code(), grpc.StatusCode.NOT_FOUND)
        r = await self.relay.call(self.relay.stub.KeepAlive, pb.KeepAliveRequest(
            session_ids=[short.session_id, "0000nope"]))
        self.assertEqual(sorted(r.unknown_session_ids), sorted([short.session_id, "0000nope"]))
        await self.relay.wait_metric("webrtc2sip_media_sessions_ended_total", ended0 + 1,
                                     reason="lease_expired")
        await keeper
        # The one kept alive lived more than twice its lease.
        self.assertGreater(time.monotonic() - t0, 5.0)
        self.assertEqual(self.relay.session_events(kept.session_id), [])
        r = await self.relay.call(self.relay.stub.KeepAlive,
                                  pb.KeepAliveRequest(session_ids=[kept.session_id]))
        self.assertEqual(list(r.unknown_session_ids), [])
        await self.relay.call(self.relay.stub.DeleteSession,
                              pb.DeleteSessionRequest(session_id=kept.session_id))


class CreateErrors(RelayTestCase):
    async def expect_error(self, request, code, *fragments):
        with self.assertRaises(grpc.RpcError) as err:
            await self.relay.call(self.relay.stub.CreateSession, request)
        self.assertEqual(err.exception.code(), code, err.exception.details())
        for f in fragments:
            self.assertIn(f, err.exception.details())

    async def test_bad_requests_name_the_field(self):
        sessions0 = self.relay.metric("webrtc2sip_media_sessions")
        r = bare_request("bad")
        r.legacy_leg.type = pb.LEG_TYPE_UNSPECIFIED
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "legacy_leg.type")
        r = bare_request("bad")
        r.webrtc_leg.type = pb.LEG_TYPE_LEGACY
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "webrtc_leg.type")
        r = bare_request("bad")
        r.legacy_leg.offer_streams.add(kind=pb.MEDIA_KIND_AUDIO, codecs=[PCMU])
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "legacy_leg")
        r = bare_request("bad")
        r.webrtc_leg.remote.webrtc.rtcp_mux = False
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "webrtc_leg.remote",
                                "rtcp_mux")
        r = bare_request("bad")
        r.webrtc_leg.remote.webrtc.ice_pwd = ""
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "webrtc_leg.remote", "ice_pwd")
        r = bare_request("bad")
        del r.webrtc_leg.remote.webrtc.fingerprints[:]
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "webrtc_leg.remote",
                                "fingerprint")
        r = bare_request("bad")
        r.legacy_leg.ClearField("offer_streams")
        r.legacy_leg.remote.CopyFrom(pb.RemoteDescription(
            streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO, codecs=[PCMU])],
            legacy=pb.LegacyTransport(profile=pb.PROFILE_RTP_SAVP, endpoints=[
                pb.LegacyEndpoint(address="127.0.0.1", rtp_port=40000)])))
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "legacy_leg.remote", "crypto")
        r.legacy_leg.remote.legacy.profile = pb.PROFILE_RTP_AVP
        r.legacy_leg.remote.legacy.endpoints[0].address = "not-an-ip"
        await self.expect_error(r, grpc.StatusCode.INVALID_ARGUMENT, "legacy_leg.remote",
                                "endpoints[0].address")
        r = bare_request("bad")
        r.legacy_leg.offer_streams[0].codecs[0].CopyFrom(
            pb.Codec(payload_type=8, name="PCMA", clock_rate=8000))
        await self.expect_error(r, grpc.StatusCode.FAILED_PRECONDITION, "share no codec")
        # None of them left a session (or its ports) behind.
        self.assertEqual(self.relay.metric("webrtc2sip_media_sessions"), sessions0)

    async def test_capacity(self):
        relay = Relay(capacity=1)
        self.addCleanup(relay.close)
        first = await relay.call(relay.stub.CreateSession, bare_request("cap-1"))
        with self.assertRaises(grpc.RpcError) as err:
            await relay.call(relay.stub.CreateSession, bare_request("cap-2"))
        self.assertEqual(err.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(
            relay.metric("webrtc2sip_media_sessions_failed_total", reason="capacity"), 1)
        await relay.call(relay.stub.DeleteSession,
                         pb.DeleteSessionRequest(session_id=first.session_id))
        again = await relay.call(relay.stub.CreateSession, bare_request("cap-3"))
        self.assertTrue(again.session_id)


class Drain(RelayTestCase):
    async def test_drain_rpc_then_sigterm(self):
        relay = Relay(drain_deadline_seconds=120)
        self.addCleanup(relay.close)
        call = await self.new_call(relay)
        await call.outgoing()
        await call.connected()
        call.start_legacy_media()
        await call.wait_media()

        r = await relay.call(relay.stub.Drain, pb.DrainRequest())
        self.assertEqual(r.sessions, 1)
        with self.assertRaises(grpc.RpcError) as err:
            await relay.call(relay.stub.CreateSession, bare_request("after-drain"))
        self.assertEqual(err.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(relay.metric("webrtc2sip_media_node_draining"), 1)
        self.assertTrue(any(load.draining for load in relay.loads()))
        # A draining node takes no new sessions: it stops being ready (within the
        # 1 s housekeeping tick) and its gRPC health says NOT_SERVING.
        deadline = time.monotonic() + 5
        while w2s.http_get(relay.http_port, "/readyz")[0] != 503:
            self.assertLess(time.monotonic(), deadline, "/readyz stayed 200 after the Drain RPC")
            await asyncio.sleep(0.1)
        self.assertEqual(relay.health(), 2)
        await call.wait_media(legacy_since=len(call.legacy.received),
                              browser_since=len(call.browser.frames))

        # SIGTERM with a session alive: not ready, still running, media still flows.
        relay.proc.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while w2s.http_get(relay.http_port, "/readyz")[0] != 503:
            self.assertLess(time.monotonic(), deadline, "/readyz stayed 200 after SIGTERM")
            await asyncio.sleep(0.1)
        self.assertEqual(relay.health(), 2)  # NOT_SERVING
        await asyncio.sleep(1.5)
        self.assertIsNone(relay.proc.proc.poll(), "exited with a session alive")
        await call.wait_media(legacy_since=len(call.legacy.received),
                              browser_since=len(call.browser.frames))

        t0 = time.monotonic()
        await relay.call(relay.stub.DeleteSession,
                         pb.DeleteSessionRequest(session_id=call.session_id))
        call.session_id = None
        rc = await asyncio.to_thread(relay.proc.proc.wait, 10)
        self.assertEqual(rc, 0, relay.tail())
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("msg=drained", relay.proc.output())


if __name__ == "__main__":
    unittest.main(verbosity=2)
