"""The two media servers of the relay benchmark, each started fresh for a run
on 127.0.0.1, and the signaling that sets N audio sessions up on it for the
load generator (relay_load): webrtc2sip-media-relay over gRPC, rtpengine over
its ng protocol. Processes are stopped by their own PID."""

import base64
import os
import random
import re
import resource
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time

import yaml

from ng_protocol import NgClient

LOOPBACK = "127.0.0.1"
# Media port ranges below the ephemeral range (32768-60999), away from each other.
RELAY_PORTS = (10000, 19999)
RTPENGINE_PORTS = (20000, 30999)
OPEN_FILES = 20000  # The hard limit here; a session takes 3 (relay) or 4 (rtpengine) sockets.


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _random_token(n):
    return "".join(random.choices(string.ascii_letters + string.digits, k=n))


def preexec(cpus, nice=0):
    """For a child started in a session of its own: open files for thousands
    of sessions, its cores, its nice value (inherited by every thread it
    makes). With sched_autogroup_enabled, CFS shares the CPU between sessions
    first and nice only counts inside one, so the session's autogroup gets the
    nice value too."""
    def setup():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(OPEN_FILES, hard), hard))
        if cpus:
            os.sched_setaffinity(0, cpus)
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
            try:
                with open("/proc/self/autogroup", "w") as f:
                    f.write(str(nice))
            except OSError:
                pass
    return setup


class Server:
    """A process with its output in a log file."""

    name = "server"

    def __init__(self, argv, cpus, nice=0):
        self.log = tempfile.NamedTemporaryFile(prefix=f"relay-bench-{self.name}-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=preexec(cpus, nice))

    @property
    def pid(self):
        return self.proc.pid

    def output(self, lines=30):
        with open(self.log.name, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


# ---------------------------------------------------------------- webrtc2sip media relay

class MediaRelay(Server):
    name = "media-relay"

    def __init__(self, binary, python_dir, workers, cpus, nice=0, log_level="warn",
                 batch_us=None, batched_io=None):
        sys.path.insert(0, python_dir)
        import grpc
        from webrtc2sip.media.v1 import media_relay_pb2 as pb
        from webrtc2sip.media.v1 import media_relay_pb2_grpc as rpc
        self.grpc, self.pb = grpc, pb
        self.grpc_port, self.http_port = free_port(), free_port()
        config = {
            "log": {"level": log_level, "format": "kv"},
            "media_relay": {
                "grpc_listen": f"{LOOPBACK}:{self.grpc_port}",
                "http_listen": f"{LOOPBACK}:{self.http_port}",
                "bind_address": LOOPBACK,
                "port_range": {"min": RELAY_PORTS[0], "max": RELAY_PORTS[1]},
                "workers": workers,
                "capacity": 100000,
                "drain_deadline_seconds": 0,  # SIGTERM ends it at once
            },
        }
        if batch_us is not None:
            config["media_relay"]["packet_batch_us"] = batch_us
        if batched_io is not None:
            config["media_relay"]["batched_io"] = batched_io
        fd, self.config_path = tempfile.mkstemp(prefix="relay-bench-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(config, f)
        super().__init__([binary, "--config", self.config_path], cpus, nice)
        self.channel = grpc.insecure_channel(f"{LOOPBACK}:{self.grpc_port}")
        deadline = time.time() + 30
        while True:
            self.check_alive()
            try:
                grpc.channel_ready_future(self.channel).result(timeout=0.5)
                break
            except grpc.FutureTimeoutError:
                if time.time() > deadline:
                    raise RuntimeError(f"media-relay gRPC never ready:\n{self.output()}")
        self.stub = rpc.MediaRelayStub(self.channel)

    def setup_sessions(self, count, ready, window=64):
        """CreateSession (the browser offers, actpass) and the legacy answer
        (plain RTP/AVP, rtcp-mux) for each session; returns relay_load's lines."""
        pb = self.pb
        pcmu = pb.Codec(payload_type=0, name="PCMU", clock_rate=8000, channels=1)
        sessions = []
        for i in range(count):
            ufrag, pwd = _random_token(8), _random_token(24)
            req = pb.CreateSessionRequest(
                call_id=f"bench-{i}", lease_seconds=3600,
                webrtc_leg=pb.LegRequest(type=pb.LEG_TYPE_WEBRTC, remote=pb.RemoteDescription(
                    streams=[pb.MediaStream(mid="0", kind=pb.MEDIA_KIND_AUDIO, codecs=[pcmu])],
                    webrtc=pb.WebRtcTransport(
                        ice_ufrag=ufrag, ice_pwd=pwd, rtcp_mux=True, bundle=True,
                        end_of_candidates=True, dtls_role=pb.DTLS_ROLE_UNSPECIFIED,
                        candidates=[pb.IceCandidate(
                            foundation="1", component=1, protocol="udp", priority=2130706431,
                            address=LOOPBACK, port=ready["browser_port"], type="host")],
                        fingerprints=[pb.Fingerprint(algorithm="sha-256",
                                                     value=ready["fingerprint"])]))),
                legacy_leg=pb.LegRequest(type=pb.LEG_TYPE_LEGACY, srtp_mode=pb.SRTP_MODE_NONE,
                                         offer_streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO,
                                                                       codecs=[pcmu])]))
            sessions.append({"ufrag": ufrag, "pwd": pwd, "request": req})
        answer = pb.RemoteDescription(
            streams=[pb.MediaStream(kind=pb.MEDIA_KIND_AUDIO, direction=pb.DIRECTION_SENDRECV,
                                    codecs=[pcmu])],
            legacy=pb.LegacyTransport(profile=pb.PROFILE_RTP_AVP, endpoints=[pb.LegacyEndpoint(
                address=LOOPBACK, rtp_port=ready["legacy_port"], rtcp_mux=True)]))
        for start in range(0, count, window):
            chunk = sessions[start:start + window]
            futures = [self.stub.CreateSession.future(s["request"], timeout=30) for s in chunk]
            for s, f in zip(chunk, futures):
                s["response"] = f.result()
            futures = [self.stub.UpdateLeg.future(pb.UpdateLegRequest(
                session_id=s["response"].session_id, side=pb.LEG_SIDE_LEGACY, is_offer=False,
                remote=answer), timeout=30) for s in chunk]
            for f in futures:
                f.result()
        lines = []
        for s in sessions:
            w = s["response"].webrtc_leg.webrtc
            legacy = s["response"].legacy_leg.legacy.endpoints[0]
            fp = w.fingerprints[0]
            lines.append(f"dtls {w.candidates[0].port} {legacy.rtp_port} "
                         f"{w.ice_ufrag}:{s['ufrag']} {w.ice_pwd} {s['pwd']} "
                         f"{fp.algorithm} {fp.value}")
        return lines

    def stop(self, timeout=10):
        self.channel.close()
        super().stop(timeout)
        os.unlink(self.config_path)


# ---------------------------------------------------------------- rtpengine

SDES_SUITE = "AES_CM_128_HMAC_SHA1_80"


def _sdp(port, profile, crypto=None):
    lines = ["v=0", f"o=- {random.randrange(1 << 30)} 1 IN IP4 {LOOPBACK}", "s=-",
             f"c=IN IP4 {LOOPBACK}", "t=0 0", f"m=audio {port} {profile} 0",
             "a=rtpmap:0 PCMU/8000", "a=sendrecv"]
    if crypto:
        lines.append(f"a=crypto:1 {SDES_SUITE} inline:{crypto}")
    return "\r\n".join(lines) + "\r\n"


def _media_port(sdp):
    m = re.search(r"^m=audio (\d+) ", sdp, re.M)
    if not m:
        raise RuntimeError(f"no m=audio in rtpengine's SDP:\n{sdp}")
    return int(m.group(1))


class Rtpengine(Server):
    """rtpengine's userspace daemon (no kernel module: --table=-1)."""

    name = "rtpengine"

    def __init__(self, binary, threads, cpus, nice=0):
        self.ng_port = free_port()
        super().__init__([
            binary, "--config-file=none", "--foreground", "--log-stderr", "--log-level=4",
            "--table=-1", f"--interface={LOOPBACK}", f"--listen-ng={LOOPBACK}:{self.ng_port}",
            f"--port-min={RTPENGINE_PORTS[0]}", f"--port-max={RTPENGINE_PORTS[1]}",
            f"--num-threads={threads}", "--timeout=600", "--delete-delay=0",
        ], cpus, nice)
        self.ng = NgClient(LOOPBACK, self.ng_port, timeout=0.5, retries=20)
        deadline = time.time() + 20
        while True:
            self.check_alive()
            try:
                if self.ng.ping():
                    break
            except Exception:
                if time.time() > deadline:
                    raise RuntimeError(f"rtpengine never answered ping:\n{self.output()}")
                time.sleep(0.1)

    def setup_sessions(self, count, ready):
        """The browser end offers RTP/SAVP with SDES; rtpengine offers RTP/AVP
        to the legacy end, which answers; returns relay_load's lines."""
        lines = []
        for i in range(count):
            call_id, from_tag, to_tag = f"bench-{i}-{_random_token(6)}", "a" + _random_token(7), \
                "b" + _random_token(7)
            our_key = os.urandom(30)
            offer = self.ng.request({
                "command": "offer", "call-id": call_id, "from-tag": from_tag,
                "sdp": _sdp(ready["browser_port"], "RTP/SAVP", base64.b64encode(our_key).decode()),
                "transport-protocol": "RTP/AVP", "ICE": "remove",
                "replace": ["origin", "session-connection"]})
            legacy_port = _media_port(offer["sdp"])
            answer = self.ng.request({
                "command": "answer", "call-id": call_id, "from-tag": from_tag, "to-tag": to_tag,
                "sdp": _sdp(ready["legacy_port"], "RTP/AVP"), "ICE": "remove",
                "replace": ["origin", "session-connection"]})
            sdp = answer["sdp"]
            crypto = re.search(r"^a=crypto:\d+ (\S+) inline:([A-Za-z0-9+/=]+)", sdp, re.M)
            if not crypto or crypto.group(1) != SDES_SUITE or " RTP/SAVP " not in sdp:
                raise RuntimeError(f"rtpengine's answer has no {SDES_SUITE} RTP/SAVP:\n{sdp}")
            their_key = base64.b64decode(crypto.group(2))
            lines.append(f"sdes {_media_port(sdp)} {legacy_port} {SDES_SUITE} "
                         f"{our_key.hex()} {their_key.hex()}")
        return lines

    def stop(self, timeout=10):
        self.ng.close()
        super().stop(timeout)
