#!/usr/bin/python3
"""RTCWeb Breaker benchmark: call setups through webrtc2sip's B2BUA (signaling
+ a real media-relay node) against Kamailio 5.6 + rtpengine doing the same
offer/answer bridging, with the same generator, the same SIPp UAS and the
same offered loads, on 127.0.0.1 only.

    sipws_load --ws--> webrtc2sip-signaling (B2BUA) --udp--> SIPp UAS
                          | gRPC: CreateSession/UpdateLeg/DeleteSession
                       webrtc2sip-media-relay
    sipws_load --ws--> Kamailio (websocket + rtpengine module) --udp--> SIPp UAS
                          | ng over UDP: offer/answer/delete
                       rtpengine (userspace)
    sipws_load --udp--> SIPp UAS                                  (the baseline)

Each call: the generator sends an INVITE with a real Chromium offer
(UDP/TLS/RTP/SAVPF, ICE, DTLS, BUNDLE) and rtcweb-breaker=yes in its
Contact; the server allocates media and offers plain RTP/AVP to SIPp, which
answers RTP/AVP PCMU; the 200 goes back to the generator with a WebRTC
answer (checked: a=fingerprint and a=ice-ufrag); then ACK and BYE, which
frees the media. ICE and DTLS never run. Setup latency = INVITE sent -> 200
received at the generator. The baseline sends the same INVITE straight to
SIPp over UDP; "added" latency is a server's percentile minus the
baseline's at the same offered load.

Measures max setups/s, p50/p99 at max and at a fixed offered load (a
fraction of Kamailio's median max), the CPU of each side's processes
(signaling + media-relay, kamailio + rtpengine) over the generator's
measurement window, failures, and whether media sessions are all freed
after each run. Builds nothing.

  /usr/bin/python3 tests/bench/breaker_bench.py --build-dir build --short   # ~40 s smoke check
  /usr/bin/python3 tests/bench/breaker_bench.py --build-dir build --full    # ~5 min, 3 reps
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIDES = ("baseline", "gateway", "kamailio")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("W2S_BUILD_DIR", os.path.join(HERE, "../../build")))
    p.add_argument("--load-bin", help="sipws_load (default: BUILD_DIR/tests/bench/sipws_load)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="smoke check: 1 rep, 3 s runs (~1 min)")
    mode.add_argument("--full", action="store_true", help="3 reps, 10 s runs (default)")
    p.add_argument("--reps", type=int)
    p.add_argument("--duration", type=float, help="measured seconds per run")
    p.add_argument("--warmup", type=float)
    # One call at a time per connection, as a browser places them. (With several INVITEs in flight
    # on one connection, Kamailio left some unanswered until the connection sent more data.)
    p.add_argument("--connections", type=int, default=40, help="WebSocket connections (40)")
    p.add_argument("--inflight", type=int, default=1, help="calls in flight per connection (1)")
    p.add_argument("--fixed-fraction", type=float, default=0.5,
                   help="fixed offered load as a fraction of Kamailio's median max (0.5)")
    p.add_argument("--fixed-rate", type=float, help="fixed offered load in setups/s instead")
    p.add_argument("--sides", default=",".join(SIDES))
    p.add_argument("--media-threads", type=int, default=os.cpu_count() or 2,
                   help="media-relay workers and rtpengine threads (number of CPUs)")
    p.add_argument("--kamailio-workers", type=int, default=4,
                   help="Kamailio UDP and WebSocket worker processes each (4); each blocks on rtpengine")
    p.add_argument("--max-others", type=float,
                   help="redo a run while other processes used more than this many cores")
    p.add_argument("--retries", type=int, default=2, help="redos allowed per run with --max-others")
    p.add_argument("--offer", default=os.path.join(HERE, "../unit/signaling/testdata/jssip/03-INVITE-outgoing-call.sip"),
                   help="the browser's offer: an SDP or a captured SIP message (Chromium via JsSIP)")
    p.add_argument("--out", help="write every run and the medians to this JSON file")
    a = p.parse_args()
    a.reps = a.reps or (1 if a.short else 3)
    a.duration = a.duration or (3.0 if a.short else 10.0)
    a.warmup = a.warmup if a.warmup is not None else (1.0 if a.short else 2.0)
    a.sides = [s for s in a.sides.split(",") if s]
    a.build_dir = os.path.abspath(a.build_dir)
    return a


ARGS = parse_args()
os.environ["W2S_BUILD_DIR"] = ARGS.build_dir
sys.path.insert(0, os.path.join(HERE, "../integration/lib"))
sys.path.insert(0, os.path.join(HERE, "relay"))
sys.path.insert(0, HERE)
import w2s  # noqa: E402
from bench_common import _number, drop_log, log, median, parse_kv, wait_ws  # noqa: E402,F401
from bench_procs import CpuMeter, tree  # noqa: E402
from bench_servers import Rtpengine  # noqa: E402
from breaker import start_media_relay  # noqa: E402
from ng_protocol import NgClient  # noqa: E402

LO = w2s.LOOPBACK
RELAY_PORTS = (10000, 19999)  # rtpengine's (bench_servers) are 20000-30999


def stop_quietly(proc, timeout=10):
    try:
        proc.stop(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    proc.kill()


# ------------------------------------------------------------------ sides

class Uas:
    """The legacy phone every side calls: SIPp answering RTP/AVP PCMU."""

    def __init__(self):
        self.port = w2s.free_port(socket.SOCK_DGRAM)
        self.proc = w2s.Process(["sipp", "-sf", os.path.join(HERE, "sipp/uas.xml"), "-i", LO,
                                 "-p", str(self.port), "-mi", LO,
                                 "-mp", str(w2s.free_port(socket.SOCK_DGRAM, even=True)),
                                 "-buff_size", str(4 << 20),  # the baseline's 6,000+ calls/s
                                 "-nostdin", "-default_behaviors", "none", "-timeout_error"], "sipp-uas")
        w2s.wait_udp_port_bound(self.port)
        self.ruri = f"sip:uas@{LO}:{self.port}"

    def stop(self):
        stop_quietly(self.proc, 5)
        drop_log(self.proc)


class Baseline:
    """No server: the generator talks straight to SIPp over UDP."""

    name = "baseline"

    def __init__(self, uas):
        self.url = f"udp://{LO}:{uas.port}"
        self.groups = {}

    def alive(self):
        return True

    def leftover_sessions(self):
        return 0

    def stop(self):
        pass


class Gateway:
    """webrtc2sip-signaling with the B2BUA and one webrtc2sip-media-relay node."""

    name = "gateway"

    def __init__(self, uas):
        cfg = w2s.signaling_config()  # no outbound proxy: the B2BUA sends to the Request-URI
        cfg["log"] = {"level": "error", "format": "kv"}
        cfg["media"]["srtp_mode"] = "none"  # plain RTP/AVP toward SIPp, as rtpengine is told
        cfg["media_relay"].update(capacity=100000, workers=ARGS.media_threads, drain_deadline_seconds=0)
        self.relay = start_media_relay(cfg, "media-relay", port_range=RELAY_PORTS)
        self.relay_http = self.relay.http_port
        cfg["signaling"]["media_nodes"] = {"addresses": [self.relay.grpc]}
        limits = cfg["signaling"].setdefault("limits", {})
        limits.update(max_ws_connections=100000, max_ws_connections_per_ip=100000,
                      max_messages_per_second=1000000)  # the default 200/s per connection would cap the bench
        try:
            self.proc = w2s.start_signaling(cfg)
        except Exception:
            stop_quietly(self.relay)
            raise
        self.url = self.proc.ws_url
        wait_ws(self.url, self.proc)
        self.wait_node_ready()
        self.groups = {"signaling": tree(self.proc.pid), "media-relay": tree(self.relay.pid)}

    def wait_node_ready(self, timeout=15):
        deadline = time.time() + timeout
        while w2s.metric(self.proc.http_port, "webrtc2sip_media_nodes", state="healthy") < 1:
            if time.time() > deadline:
                log("!! the gateway never reported its media node ready; going on")
                return
            time.sleep(0.1)

    def alive(self):
        return self.proc.proc.poll() is None and self.relay.proc.poll() is None

    def leftover_sessions(self):
        return int(w2s.metric(self.relay_http, "webrtc2sip_media_sessions"))

    def mean_ms(self, histogram, **labels):
        """The mean of one of signaling's histograms over the whole run
        (warm-up included), in ms."""
        port = self.proc.http_port
        s = w2s.metric(port, histogram + "_sum", **labels)
        n = w2s.metric(port, histogram + "_count", **labels)
        return round(s / n * 1000, 3) if n else None

    def stop(self):
        for p in (self.proc, self.relay):
            try:
                code = p.stop(timeout=10)
            except subprocess.TimeoutExpired:
                code = "killed after 10 s"
            os.unlink(p.config_path)
            if code != 0:
                log(f"{p.name} exited with {code}:\n{p.output()[-3000:]}")
            else:
                drop_log(p)


class KamailioRtpengine:
    """Kamailio 5.6 as WS -> UDP proxy calling rtpengine (userspace) per call."""

    name = "kamailio"

    def __init__(self, uas, workdir):
        self.rtpengine = Rtpengine("/usr/bin/rtpengine", ARGS.media_threads, None)
        ws_port = w2s.free_port()
        udp_port = w2s.free_port(socket.SOCK_DGRAM)
        n = str(ARGS.kamailio_workers)
        self.proc = w2s.Process(
            ["kamailio", "-f", os.path.join(HERE, "kamailio/ws-proxy.cfg"),
             "-l", f"tcp:{LO}:{ws_port}", "-l", f"udp:{LO}:{udp_port}",
             "-A", f'NEXT_HOP="sip:{LO}:{uas.port}"', "-A", f"TCP_CHILDREN={n}",
             "-A", "WITH_RTPENGINE", "-A", f'RTPENGINE_SOCK="udp:{LO}:{self.rtpengine.ng_port}"',
             "-DD", "-E", "-w", workdir, "-m", "256", "-M", "16", "-n", n], "kamailio-ws")
        self.url = f"ws://{LO}:{ws_port}"
        try:
            wait_ws(self.url, self.proc)
        except Exception:
            self.stop()
            raise
        self.groups = {"kamailio": tree(self.proc.pid), "rtpengine": [self.rtpengine.pid]}
        self.ng = NgClient(LO, self.rtpengine.ng_port, timeout=1.0, retries=3)

    def alive(self):
        return self.proc.proc.poll() is None and self.rtpengine.proc.poll() is None

    def leftover_sessions(self):
        return len(self.ng.request({"command": "list", "limit": 1000}).get("calls", []))

    def stop(self):
        if hasattr(self, "ng"):
            self.ng.close()
        stop_quietly(self.proc)
        drop_log(self.proc)
        self.rtpengine.stop()


def start_side(name, uas, workdir):
    if name == "baseline":
        return Baseline(uas)
    if name == "gateway":
        return Gateway(uas)
    return KamailioRtpengine(uas, workdir)


# ------------------------------------------------------------- generator

def load_bin():
    path = ARGS.load_bin or os.path.join(ARGS.build_dir, "tests/bench/sipws_load")
    if not os.path.exists(path):
        raise SystemExit(f"sipws_load not found at {path}: build it, or pass --load-bin")
    return path


def run_load(side, uas, rate):
    argv = [load_bin(), "--target", side.url, "--scenario", "invite", "--domain", LO,
            "--ruri", uas.ruri, "--sdp", ARGS.offer, "--contact-params", ";rtcweb-breaker=yes",
            "--connections", str(ARGS.connections), "--inflight", str(ARGS.inflight),
            "--duration", str(ARGS.duration), "--warmup", str(ARGS.warmup), "--rate", str(rate),
            "--timeout-ms", "5000", "--marks"]
    if side.name != "baseline":
        argv.append("--check-webrtc-answer")  # SIPp's own answer is plain RTP/AVP
    err = tempfile.TemporaryFile(mode="w+")
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1,
                           preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, []))
    groups = dict(side.groups, uas=[uas.proc.pid], generator=[gen.pid])
    meter = CpuMeter(groups, switches=True)
    timer = threading.Timer(ARGS.duration + ARGS.warmup + 60, lambda: gen.poll() is None and gen.kill())
    timer.daemon = True
    timer.start()
    result, cpu = None, None
    try:
        for line in gen.stdout:
            if line.startswith("event=window_start"):
                meter.start()
            elif line.startswith("event=window_end"):
                cpu = meter.stop()
            elif line.strip():
                result = parse_kv(line)
        gen.wait()
    finally:
        timer.cancel()
        if gen.poll() is None:
            gen.kill()
            gen.wait()
    err.seek(0)
    stderr = err.read()
    if not result or cpu is None:
        raise RuntimeError(f"sipws_load gave no result ({gen.returncode}): {stderr[-2000:]}")
    cpu.pop("udp_drops_by_port", None)
    result.update(cpu)
    server = [n for n in side.groups]
    result["server_cpu_s"] = round(sum(cpu[f"{n}_cpu_s"] for n in server), 3)
    result["server_cores"] = round(sum(cpu[f"{n}_cores"] for n in server), 3)
    result["server_us_per_setup"] = round(result["server_cpu_s"] * 1e6 / max(result["ok"], 1), 1)
    # Thread wake-ups per call: each is a chance to wait for a CPU on a busy machine.
    result["server_ctxsw_per_setup"] = round(sum(cpu[f"{n}_ctxsw"] for n in server) / max(result["ok"], 1), 1)
    if result["failures"] and stderr:
        result["failure_sample"] = stderr[-1500:]
    return result


def measure(side_name, uas, workdir, rate, rep):
    """One run on a fresh side; with --max-others, again while other
    processes on the machine took more CPU than that, keeping the least
    disturbed run."""
    best = None
    for attempt in range(1 + (ARGS.retries if ARGS.max_others is not None else 0)):
        side = start_side(side_name, uas, workdir)
        try:
            time.sleep(0.3)
            r = run_load(side, uas, rate)
            alive = side.alive()
            r["server_died"] = not alive
            if alive:
                time.sleep(0.5)  # the last BYEs' session deletes
                r["leftover_sessions"] = side.leftover_sessions()
                if side_name == "gateway":
                    # INVITE in -> session on the node; INVITE in -> 200 out (SIPp's time included)
                    r["media_setup_ms_mean"] = side.mean_ms("webrtc2sip_b2bua_media_setup_seconds",
                                                            direction="outgoing")
                    r["b2bua_setup_ms_mean"] = side.mean_ms("webrtc2sip_b2bua_setup_seconds",
                                                            direction="outgoing")
                    for method in ("CreateSession", "UpdateLeg", "DeleteSession"):
                        r[f"rpc_{method}_ms_mean"] = side.mean_ms("webrtc2sip_media_rpc_duration_seconds",
                                                                  method=method)
        finally:
            side.stop()
        r["side"], r["rep"], r["attempt"], r["mode"] = side_name, rep, attempt, "rate" if rate else "max"
        if best is None or r["others_cores"] < best["others_cores"]:
            best = r
        if ARGS.max_others is None or r["others_cores"] <= ARGS.max_others:
            break
        log(f"      {side_name}: other processes took {r['others_cores']:.2f} core, again")
    r = best
    parts = "  ".join(f"{n} {r[f'{n}_cores']:.2f}" for n in
                      ("signaling", "media-relay", "kamailio", "rtpengine") if f"{n}_cores" in r)
    log(f"{'fixed' if rate else 'max  '} {side_name:8} rep {rep}: {rate or '':>5} {r['tps']:>7.0f} setups/s  "
        f"p50 {r['lat_p50_ms']:.2f}  p99 {r['lat_p99_ms']:.2f} ms  fail {r['failures']} "
        f"(bad answers {r['bad_answers']}, timeouts {r['timeouts']}, codes {r['codes']})  "
        f"server {r['server_cores']:.2f} cores ({parts})  uas {r['uas_cores']:.2f}  "
        f"gen {r['generator_cores']:.2f}  others {r['others_cores']:.2f}  "
        f"left sessions {r.get('leftover_sessions', '-')}"
        + (f"  b2bua: media {r['media_setup_ms_mean']} ms (CreateSession rpc {r['rpc_CreateSession_ms_mean']}), "
           f"setup {r['b2bua_setup_ms_mean']} ms" if r.get("media_setup_ms_mean") else "")
        + (f"  late {r['late_sends']}" if rate else ""))
    if r.get("server_died"):
        log(f"!! {side_name} died during the run")
    return r


# ----------------------------------------------------------------- report


def fmt(v, digits=1):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(runs, rate, load_before, load_after):
    sides = ARGS.sides
    sel = lambda side, mode: [r for r in runs if r["side"] == side and r["mode"] == mode]  # noqa: E731
    rows = []

    def row(label, mode, key, digits=1, added=False):
        vals = []
        for s in sides:
            v = median(sel(s, mode), key)
            if added and v is not None:
                base = median(sel("baseline", mode), key)
                v = None if s == "baseline" or base is None else v - base
            vals.append(v)
        rows.append((label, vals, digits))

    row("max setups/s", "max", "tps", 0)
    row("p50 setup at max (ms)", "max", "lat_p50_ms", 2)
    row("p99 setup at max (ms)", "max", "lat_p99_ms", 2)
    row("server CPU at max (cores)", "max", "server_cores", 2)
    row("server CPU per setup (us)", "max", "server_us_per_setup", 0)
    row("server context switches per setup at max", "max", "server_ctxsw_per_setup", 1)
    row("failures at max", "max", "failures", 0)
    if rate:
        row(f"p50 setup at {rate}/s (ms)", "rate", "lat_p50_ms", 2)
        row(f"p99 setup at {rate}/s (ms)", "rate", "lat_p99_ms", 2)
        row(f"p50 added at {rate}/s (ms)", "rate", "lat_p50_ms", 2, added=True)
        row(f"p99 added at {rate}/s (ms)", "rate", "lat_p99_ms", 2, added=True)
        row(f"server CPU at {rate}/s (cores)", "rate", "server_cores", 2)
        row(f"server CPU per setup at {rate}/s (us)", "rate", "server_us_per_setup", 0)
        row(f"server context switches per setup at {rate}/s", "rate", "server_ctxsw_per_setup", 1)
        row(f"failures at {rate}/s", "rate", "failures", 0)
    row("media sessions left after runs (max)", "max", "leftover_sessions", 0)
    width = max(len(r[0]) for r in rows) + 2
    both = "gateway" in sides and "kamailio" in sides
    gi, ki = (sides.index("gateway"), sides.index("kamailio")) if both else (0, 0)
    print(f"\nRTCWeb Breaker benchmark, medians of {ARGS.reps} run(s); {ARGS.connections} connections x "
          f"{ARGS.inflight} calls in flight; {ARGS.duration:g} s runs after {ARGS.warmup:g} s warm-up; "
          f"media threads {ARGS.media_threads}, Kamailio workers {ARGS.kamailio_workers}x2")
    print(f"{'':{width}}" + "".join(f"{s:>11}" for s in sides) + (f"{'gw/kam':>9}" if both else ""))
    for label, vals, digits in rows:
        line = f"{label:{width}}" + "".join(f"{fmt(v, digits):>11}" for v in vals)
        if both and vals[gi] is not None and vals[ki]:
            line += f"{vals[gi] / vals[ki]:>9.2f}"
        print(line)
    for s, parts in (("gateway", ("signaling", "media-relay")), ("kamailio", ("kamailio", "rtpengine"))):
        if s in sides:
            split = ", ".join(f"{p} {fmt(median(sel(s, 'max'), p + '_cores'), 2)}" for p in parts)
            print(f"{s} CPU at max by process (cores): {split}")
    if "gateway" in sides:
        for key, what in (("media_setup_ms_mean", "media allocation (INVITE in -> session on the node)"),
                          ("rpc_CreateSession_ms_mean", "CreateSession gRPC round trip"),
                          ("rpc_UpdateLeg_ms_mean", "UpdateLeg gRPC round trip (legacy answer)"),
                          ("b2bua_setup_ms_mean", "setup inside the gateway (INVITE in -> 200 out)")):
            m, f = median(sel("gateway", "max"), key), median(sel("gateway", "rate"), key)
            print(f"gateway {what}, mean from its metrics: {fmt(m, 2)} ms at max, {fmt(f, 2)} ms at {rate}/s")
    uas = [r["uas_cores"] for r in runs if r["mode"] == "max"]
    gen = [r["generator_cores"] for r in runs if r["mode"] == "max"]
    others = [r["others_cores"] for r in runs]
    print(f"SIPp UAS CPU at max: median {statistics.median(uas):.2f}, max {max(uas):.2f} core; "
          f"generator: median {statistics.median(gen):.2f}, max {max(gen):.2f} core")
    print(f"other processes during runs: median {statistics.median(others):.2f}, max {max(others):.2f} "
          f"core of {os.cpu_count()}; load average before {load_before}, after {load_after}")
    bad = [r for r in runs if r["failures"] or r.get("server_died") or r.get("leftover_sessions")]
    for r in bad:
        print(f"!! {r['side']} {r['mode']} rep {r['rep']}: failures {r['failures']} (non2xx {r['non2xx']} "
              f"{r['codes']}, timeouts {r['timeouts']}, closed {r['closed']}, bad answers {r['bad_answers']}), "
              f"sessions left {r.get('leftover_sessions')}, died {r.get('server_died')}")
        if r.get("failure_sample"):
            print("   " + r["failure_sample"][:600].replace("\n", "\n   "))
    return bad


def snapshot_binaries(workdir):
    """Copies the binaries under test into workdir so that a rebuild of the
    build tree during the run cannot mix versions; returns their build times."""
    built = {}
    for sub, name in (("services/signaling", "webrtc2sip-signaling"),
                      ("services/media-relay", "webrtc2sip-media-relay")):
        src = w2s.binary(name)
        os.makedirs(os.path.join(workdir, "bin", sub), exist_ok=True)
        shutil.copy2(src, os.path.join(workdir, "bin", sub, name))
        built[name] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(src)))
    gen = os.path.join(workdir, "bin", "sipws_load")
    shutil.copy2(load_bin(), gen)
    built["sipws_load"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(load_bin())))
    w2s.BUILD_DIR = os.path.join(workdir, "bin")
    ARGS.load_bin = gen
    return built


def main():
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_bin()
    workdir = tempfile.mkdtemp(prefix="w2s-breaker-bench-")
    built = snapshot_binaries(workdir)
    log("binaries (UTC build times): " + ", ".join(f"{k} {v}" for k, v in built.items()))
    load_before = loadavg()
    uas = Uas()
    runs, rate = [], None
    try:
        # The sides take turns run by run, so drift on the machine hits them alike.
        for rep in range(ARGS.reps):
            for name in ARGS.sides:
                runs.append(measure(name, uas, workdir, 0, rep))
        basis = "kamailio" if "kamailio" in ARGS.sides else ARGS.sides[-1]
        m = median([r for r in runs if r["side"] == basis], "tps")
        rate = round(ARGS.fixed_rate) if ARGS.fixed_rate else round(m * ARGS.fixed_fraction) if m else None
        if rate:
            for rep in range(ARGS.reps):
                for name in ARGS.sides:
                    runs.append(measure(name, uas, workdir, rate, rep))
    finally:
        uas.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    bad = report(runs, rate, load_before, loadavg())
    print("binaries (UTC build times): " + ", ".join(f"{k} {v}" for k, v in built.items()))
    if ARGS.out:
        with open(ARGS.out, "w") as f:
            json.dump({"args": vars(ARGS), "rate": rate, "binaries": built, "runs": runs}, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
