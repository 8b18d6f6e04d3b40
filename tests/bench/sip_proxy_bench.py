#!/usr/bin/python3
"""SIP proxy benchmark: webrtc2sip-signaling against Kamailio 5.6 (websocket
module) as SIP-over-WebSocket -> UDP proxies, with the same next hop
(Kamailio registrar without auth + a SIPp UAS), the same generator
(sipws_load) and the same offered loads, on 127.0.0.1 only.

Measures, for REGISTER, OPTIONS and INVITE dialogs: max throughput, p99 at a
fixed offered load (a fraction of Kamailio's max), the CPU each server used;
and the memory per idle WebSocket connection. Prints medians of --reps runs
and the ratios gateway/kamailio; --out writes every run as JSON.
Builds nothing: the gateway comes from --build-dir, sipws_load from
--build-dir/tests/bench or --load-bin.

  /usr/bin/python3 tests/bench/sip_proxy_bench.py --build-dir build --short
  /usr/bin/python3 tests/bench/sip_proxy_bench.py --build-dir build --full --max-others 0.25
"""

import argparse
import json
import os
import resource
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
SCENARIOS = ("register", "options", "invite")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("W2S_BUILD_DIR", os.path.join(HERE, "../../build")))
    p.add_argument("--load-bin", help="sipws_load (default: BUILD_DIR/tests/bench/sipws_load)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="smoke check: 1 rep, 2 s runs, 1,000 idle")
    mode.add_argument("--full", action="store_true", help="3 reps, 10 s runs, 1,000 and 10,000 idle (default)")
    p.add_argument("--reps", type=int)
    p.add_argument("--duration", type=float, help="measured seconds per run")
    p.add_argument("--warmup", type=float)
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--inflight", type=int, default=16, help="transactions in flight per connection")
    p.add_argument("--fixed-fraction", type=float, default=0.5,
                   help="fixed offered load as a fraction of Kamailio's median max (0.5)")
    p.add_argument("--fixed-rate", type=float,
                   help="fixed offered load in tx/s for every scenario, instead of --fixed-fraction")
    p.add_argument("--idle", help="idle connection counts, comma-separated (1000,10000)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--servers", default="gateway,kamailio")
    p.add_argument("--load-threads", type=int, default=1)
    p.add_argument("--kamailio-workers", type=int, default=2,
                   help="Kamailio-WS UDP and WebSocket worker processes each (2)")
    p.add_argument("--max-others", type=float,
                   help="redo a load run while other processes used more than this many cores")
    p.add_argument("--retries", type=int, default=3, help="redos allowed per run with --max-others")
    p.add_argument("--reuse-servers", action="store_true",
                   help="one server process per side for all load runs, instead of a fresh one per run")
    p.add_argument("--pin", action="store_true",
                   help="pin the server under test to the last CPU and everything else to the others")
    p.add_argument("--out", help="write every run and the medians to this JSON file")
    a = p.parse_args()
    short = a.short
    a.reps = a.reps or (1 if short else 3)
    a.duration = a.duration or (2.0 if short else 10.0)
    a.warmup = a.warmup if a.warmup is not None else (0.5 if short else 2.0)
    a.idle = [int(v) for v in (a.idle or ("1000" if short else "1000,10000")).split(",") if v]
    a.scenarios = [s for s in a.scenarios.split(",") if s]
    a.servers = [s for s in a.servers.split(",") if s]
    a.build_dir = os.path.abspath(a.build_dir)
    return a


ARGS = parse_args()
os.environ["W2S_BUILD_DIR"] = ARGS.build_dir
sys.path.insert(0, os.path.join(HERE, "../integration/lib"))
sys.path.insert(0, HERE)
import w2s  # noqa: E402
from bench_common import _number, drop_log, log, median, parse_kv, wait_ws  # noqa: E402,F401
from bench_procs import CpuMeter, memory_kib, tree  # noqa: E402

LO = w2s.LOOPBACK
NCPU = os.cpu_count() or 1


def hard_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if hard == resource.RLIM_INFINITY else hard


FDS = min(65536, hard_nofile())  # no CAP_SYS_RESOURCE here: the hard limit is the ceiling


def pin(pids, cpus):
    if not ARGS.pin or NCPU < 2:
        return
    for pid in pids:
        try:
            os.sched_setaffinity(pid, cpus)
        except OSError:
            pass


SERVER_CPUS = {NCPU - 1}
OTHER_CPUS = set(range(NCPU - 1)) or {0}


# ------------------------------------------------------------------ peers

class NextHop:
    """The SIP network both proxies talk to: Kamailio registrar without auth
    and a SIPp UAS that answers INVITE and BYE."""

    def __init__(self, workdir):
        self.port = w2s.free_port(socket.SOCK_DGRAM)
        self.uas_port = w2s.free_port(socket.SOCK_DGRAM)
        cfg = os.path.join(HERE, "kamailio/registrar-noauth.cfg")
        self.registrar = w2s.Process(["kamailio", "-f", cfg, "-l", f"udp:{LO}:{self.port}", "-DD", "-E",
                                      "-w", workdir, "-m", "256", "-M", "16", "-n", "2"], "registrar")
        w2s.wait_udp_sip(self.port, self.registrar)
        self.uas = w2s.Process(["sipp", "-sf", os.path.join(HERE, "sipp/uas.xml"), "-i", LO,
                                "-p", str(self.uas_port), "-mi", LO,
                                "-mp", str(w2s.free_port(socket.SOCK_DGRAM, even=True)),
                                "-nostdin", "-default_behaviors", "none", "-timeout_error"], "sipp-uas")
        w2s.wait_udp_port_bound(self.uas_port)
        self.pids = tree(self.registrar.pid) + [self.uas.pid]
        pin(self.pids, OTHER_CPUS)
        self.domain = f"{LO}:{self.port}"
        self.invite_ruri = f"sip:uas@{LO}:{self.uas_port}"

    def stop(self):
        for p in (self.uas, self.registrar):
            try:
                p.stop(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            p.kill()
            drop_log(p)


class Gateway:
    name = "gateway"

    def __init__(self, hop, workdir):
        cfg = w2s.signaling_config(outbound_proxy=f"sip:{hop.domain};transport=udp")
        cfg["log"] = {"level": "error", "format": "kv"}
        cfg["max_fds"] = FDS
        limits = cfg["signaling"].setdefault("limits", {})
        limits.update(max_ws_connections=100000, max_ws_connections_per_ip=100000,
                      max_messages_per_second=1000000)  # the default 200/s per connection would cap the bench
        self.proc = w2s.start_signaling(cfg)
        self.url = self.proc.ws_url
        self.udp_port = self.proc.udp_port
        wait_ws(self.url, self.proc)
        self.pids = tree(self.proc.pid)
        pin(self.pids, SERVER_CPUS)

    def stop(self):
        try:
            code = self.proc.stop(timeout=10)
        except subprocess.TimeoutExpired:
            code = "killed after 10 s"
        os.unlink(self.proc.config_path)
        if code != 0:
            log(f"gateway exited with {code}:\n{self.proc.output()[-3000:]}")
        else:
            drop_log(self.proc)


class KamailioWs:
    name = "kamailio"

    def __init__(self, hop, workdir, shm_mb=256):
        ws_port = w2s.free_port()
        udp_port = w2s.free_port(socket.SOCK_DGRAM)
        n = str(ARGS.kamailio_workers)
        self.proc = w2s.Process(
            ["kamailio", "-f", os.path.join(HERE, "kamailio/ws-proxy.cfg"),
             "-l", f"tcp:{LO}:{ws_port}", "-l", f"udp:{LO}:{udp_port}",
             "-A", f'NEXT_HOP="sip:{hop.domain}"', "-A", f"TCP_CHILDREN={n}", "-A", f"OPEN_FILES={FDS}",
             "-DD", "-E", "-w", workdir, "-m", str(shm_mb), "-M", "16", "-n", n], "kamailio-ws")
        self.url = f"ws://{LO}:{ws_port}"
        self.udp_port = udp_port
        wait_ws(self.url, self.proc)
        self.pids = tree(self.proc.pid)
        pin(self.pids, SERVER_CPUS)

    def stop(self):
        try:
            self.proc.stop(timeout=10)
        except subprocess.TimeoutExpired:
            log("kamailio-ws killed after 10 s")
        self.proc.kill()
        drop_log(self.proc)


SERVERS = {"gateway": Gateway, "kamailio": KamailioWs}


# ------------------------------------------------------------- generator

def load_bin():
    path = ARGS.load_bin or os.path.join(ARGS.build_dir, "tests/bench/sipws_load")
    if not os.path.exists(path):
        raise SystemExit(f"sipws_load not found at {path}: build it, or pass --load-bin")
    return path


def start_generator(argv, cpus=None):
    def setup():
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if cpus:
            os.sched_setaffinity(0, cpus)
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1,
                            preexec_fn=setup)
    proc.err = err
    return proc


def watchdog(proc, seconds):
    timer = threading.Timer(seconds, lambda: proc.poll() is None and proc.kill())
    timer.daemon = True
    timer.start()
    return timer


def run_load(server, hop, scenario, rate):
    argv = [load_bin(), "--target", server.url, "--scenario", scenario, "--domain", hop.domain,
            "--connections", str(ARGS.connections), "--inflight", str(ARGS.inflight),
            "--duration", str(ARGS.duration), "--warmup", str(ARGS.warmup), "--rate", str(rate),
            "--timeout-ms", "5000", "--threads", str(ARGS.load_threads), "--marks"]
    if scenario == "invite":
        argv += ["--ruri", hop.invite_ruri]
    gen = start_generator(argv, OTHER_CPUS if ARGS.pin and NCPU > 1 else None)
    meter = CpuMeter({"server": server.pids, "nexthop": hop.pids, "generator": [gen.pid]})
    timer = watchdog(gen, ARGS.duration + ARGS.warmup + 60)
    result = None
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
    gen.err.seek(0)
    stderr = gen.err.read()
    if not result:
        raise RuntimeError(f"sipws_load gave no result ({gen.returncode}): {stderr[-2000:]}")
    drops = cpu.pop("udp_drops_by_port")
    names = {server.udp_port: "server", hop.port: "registrar", hop.uas_port: "uas"}
    for port, name in names.items():
        cpu[f"udp_drops_{name}"] = drops.get(port, 0)
    result.update(cpu)
    result["server"] = server.name
    result["udp_drops_hop"] = cpu["udp_drops_registrar"] + cpu["udp_drops_uas"]
    result["server_us_per_tx"] = round(cpu["server_cpu_s"] * 1e6 / max(result["ok"], 1), 1)
    if result["failures"] and stderr:
        result["failure_sample"] = stderr[-1500:]
    return result


def run_idle(server_cls, hop, workdir, n):
    """A fresh server; its memory before and after n idle WebSocket connections."""
    if server_cls is KamailioWs:
        server = KamailioWs(hop, workdir, shm_mb=max(256, n // 8))  # ~70 KiB of shm per connection
    else:
        server = server_cls(hop, workdir)
    try:
        time.sleep(1.0)
        pss0, rss0 = memory_kib(tree(server.proc.pid))
        gen = start_generator([load_bin(), "--target", server.url, "--scenario", "idle",
                               "--connections", str(n), "--hold", "0", "--connect-concurrency", "200"],
                              OTHER_CPUS if ARGS.pin and NCPU > 1 else None)
        timer = watchdog(gen, 120)
        try:
            ready = parse_kv(gen.stdout.readline())
            time.sleep(2.0)  # let the server settle (handshake buffers freed, timers armed)
            pss1, rss1 = memory_kib(tree(server.proc.pid))
            gen.send_signal(signal.SIGTERM)
            done = parse_kv(gen.stdout.readline() or "")
            gen.wait()
        finally:
            timer.cancel()
            if gen.poll() is None:
                gen.kill()
                gen.wait()
    finally:
        server.stop()
    opened = ready.get("opened", 0)
    per = max(opened, 1)
    return {"server": server.name, "connections": n, "opened": opened,
            "connect_failed": ready.get("connect_failed"), "lost": done.get("lost"),
            "connect_s": ready.get("connect_s"),
            "pss_before_kib": pss0, "pss_after_kib": pss1, "rss_before_kib": rss0, "rss_after_kib": rss1,
            "kib_per_conn": round((pss1 - pss0) / per, 2), "rss_kib_per_conn": round((rss1 - rss0) / per, 2)}


# ----------------------------------------------------------------- report


def fmt(v, digits=1):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}" if digits else f"{v:.0f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def print_table(runs, idle_runs, rates):
    servers = ARGS.servers
    rows = []

    def row(label, key, kind, digits=1, scenario=None, n=None):
        vals = []
        for s in servers:
            sel = [r for r in (idle_runs if n else runs) if r["server"] == s and
                   (n is None or r["connections"] == n) and
                   (scenario is None or (r["scenario"] == scenario and r["mode"] == kind))]
            vals.append(median(sel, key))
        rows.append((label, vals, digits))

    for sc in ARGS.scenarios:
        name = sc.upper()
        row(f"{name} max tx/s", "tps", "max", 0, sc)
        row(f"{name} p50 at max (ms)", "lat_p50_ms", "max", 2, sc)
        row(f"{name} p99 at max (ms)", "lat_p99_ms", "max", 2, sc)
        row(f"{name} server CPU at max (cores)", "server_cores", "max", 2, sc)
        row(f"{name} server CPU per tx (us)", "server_us_per_tx", "max", 1, sc)
        row(f"{name} failures at max", "failures", "max", 0, sc)
        row(f"{name} UDP drops at max (server)", "udp_drops_server", "max", 0, sc)
        row(f"{name} UDP drops at max (next hop)", "udp_drops_hop", "max", 0, sc)
        if sc in rates:
            r = rates[sc]
            row(f"{name} p50 at {r:,.0f} tx/s (ms)", "lat_p50_ms", "rate", 2, sc)
            row(f"{name} p99 at {r:,.0f} tx/s (ms)", "lat_p99_ms", "rate", 2, sc)
            row(f"{name} server CPU at {r:,.0f} tx/s (cores)", "server_cores", "rate", 2, sc)
            row(f"{name} failures at {r:,.0f} tx/s", "failures", "rate", 0, sc)
            row(f"{name} UDP drops at {r:,.0f} tx/s (server)", "udp_drops_server", "rate", 0, sc)
    for n in ARGS.idle:
        row(f"idle WS conn KiB each at {n:,} (PSS)", "kib_per_conn", None, 2, None, n)
        row(f"idle WS conn KiB each at {n:,} (RSS)", "rss_kib_per_conn", None, 2, None, n)

    width = max(len(r[0]) for r in rows) + 2
    head = f"{'':{width}}" + "".join(f"{s:>12}" for s in servers)
    if servers == ["gateway", "kamailio"]:
        head += f"{'gw/kam':>9}"
    print(f"\nSIP proxy benchmark, medians of {ARGS.reps} run(s); {ARGS.connections} connections x "
          f"{ARGS.inflight} in flight; {ARGS.duration:g} s runs after {ARGS.warmup:g} s warm-up"
          f"{'; server pinned to its own CPU' if ARGS.pin else ''}")
    print(head)
    for label, vals, digits in rows:
        line = f"{label:{width}}" + "".join(f"{fmt(v, digits):>12}" for v in vals)
        if len(vals) == 2 and servers == ["gateway", "kamailio"]:
            line += f"{ratio(vals[0], vals[1]):>9}"
        print(line)
    gen = [r["generator_cores"] for r in runs if "generator_cores" in r]
    others = [r["others_cores"] for r in runs if "others_cores" in r]
    hop = [r["nexthop_cores"] for r in runs if r.get("mode") == "max"]
    if gen:
        print(f"generator CPU: median {statistics.median(gen):.2f}, max {max(gen):.2f} core "
              f"(its own getrusage: max {max(r['cpu_share'] for r in runs):.2f}) of {NCPU} CPUs")
    if hop:
        print(f"next hop (registrar + SIPp) CPU at max: median {statistics.median(hop):.2f}, "
              f"max {max(hop):.2f} core")
    if others:
        print(f"other processes on the machine during runs: median {statistics.median(others):.2f}, "
              f"max {max(others):.2f} core")


class Servers:
    """The servers under test: a fresh process for every run (the default,
    so no run inherits another's lingering transactions), or one each for
    the whole bench (--reuse-servers). A server found dead is reported and
    replaced."""

    def __init__(self, hop, workdir):
        self.hop, self.workdir = hop, workdir
        self.live = {}
        self.deaths = []

    def get(self, name):
        srv = self.live.get(name)
        if srv and srv.proc.proc.poll() is not None:
            self.died(srv, "between runs")
            srv = None
        if not srv:
            srv = self.live[name] = SERVERS[name](self.hop, self.workdir)
        return srv

    def died(self, srv, when):
        code = srv.proc.proc.returncode
        what = f"signal {-code}" if code < 0 else f"exit status {code}"
        self.deaths.append(f"{srv.name} died {when} ({what})")
        log(f"!! {srv.name} died {when} ({what}); its log ends with:\n{srv.proc.output()[-1500:]}")
        self.live.pop(srv.name, None)

    def done(self, srv, result):
        if srv.proc.proc.poll() is not None:
            result["server_died"] = srv.proc.proc.returncode
            self.died(srv, f"during {result['scenario']} {result['mode']}")
        elif not ARGS.reuse_servers:
            self.stop(srv.name)

    def stop(self, name):
        srv = self.live.pop(name, None)
        if srv:
            srv.stop()

    def stop_all(self):
        for name in list(self.live):
            self.stop(name)


def measure(servers, name, scenario, rate, rep):
    """One run; with --max-others, run again (up to --retries times) while
    other processes on the machine took more CPU than that, and keep the
    least disturbed run."""
    best = None
    for attempt in range(1 + (ARGS.retries if ARGS.max_others is not None else 0)):
        srv = servers.get(name)
        r = run_load(srv, servers.hop, scenario, rate)
        r["rep"], r["attempt"] = rep, attempt
        servers.done(srv, r)
        if best is None or r["others_cores"] < best["others_cores"]:
            best = r
        if ARGS.max_others is None or r["others_cores"] <= ARGS.max_others:
            break
        log(f"      {name} {scenario}: other processes took {r['others_cores']:.2f} core, again")
    r = best
    kind = "fixed" if rate else "max  "
    log(f"{kind} {name:8} {scenario:8} rep {rep}: {rate or '':>6} {r['tps']:>8.0f} ok/s  "
        f"p50 {r['lat_p50_ms']:.2f}  p99 {r['lat_p99_ms']:.2f} ms  fail {r['failures']}  "
        f"server {r['server_cores']:.2f} cores  gen {r['generator_cores']:.2f}  "
        f"hop {r['nexthop_cores']:.2f}  others {r['others_cores']:.2f}  "
        f"udp drops: server {r['udp_drops_server']} registrar {r['udp_drops_registrar']} "
        f"uas {r['udp_drops_uas']}" + (f"  late {r['late_sends']}" if rate else ""))
    return r


def main():
    # Stopped by a signal, still stop every process started here (a shell
    # starts background jobs with SIGINT ignored: take it back).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="w2s-bench-")
    load_bin()
    hop = NextHop(workdir)
    servers = Servers(hop, workdir)
    runs, idle_runs, rates = [], [], {}
    try:
        # Gateway and Kamailio take turns run by run, so drift on the machine hits both alike.
        for sc in ARGS.scenarios:
            for rep in range(ARGS.reps):
                for name in ARGS.servers:
                    runs.append(measure(servers, name, sc, 0, rep))
        basis = "kamailio" if "kamailio" in ARGS.servers else ARGS.servers[0]
        for sc in ARGS.scenarios:
            m = median([r for r in runs if r["server"] == basis and r["scenario"] == sc], "tps")
            if ARGS.fixed_rate:
                rates[sc] = round(ARGS.fixed_rate)
            elif m:
                rates[sc] = round(m * ARGS.fixed_fraction)
        for sc, rate in rates.items():
            for rep in range(ARGS.reps):
                for name in ARGS.servers:
                    runs.append(measure(servers, name, sc, rate, rep))
        servers.stop_all()
        for n in ARGS.idle:
            for rep in range(ARGS.reps):
                for name in ARGS.servers:
                    r = run_idle(SERVERS[name], hop, workdir, n)
                    r["rep"] = rep
                    idle_runs.append(r)
                    log(f"idle  {name:8} {n:>6} rep {rep}: opened {r['opened']}  "
                        f"{r['kib_per_conn']:.2f} KiB/conn PSS ({r['rss_kib_per_conn']:.2f} RSS)  "
                        f"lost {r['lost']}")
    finally:
        servers.stop_all()
        hop.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(runs, idle_runs, rates)
    for death in servers.deaths:
        print(f"!! {death}")
    if ARGS.out:
        with open(ARGS.out, "w") as f:
            json.dump({"args": vars(ARGS), "rates": rates, "deaths": servers.deaths,
                       "runs": runs, "idle": idle_runs}, f, indent=1)
    bad = [r for r in idle_runs if r["opened"] != r["connections"]]
    return 1 if bad or servers.deaths else 0


if __name__ == "__main__":
    sys.exit(main())
