#!/usr/bin/python3
"""Media relay benchmark: webrtc2sip-media-relay against rtpengine, same
audio streams, same generator, on 127.0.0.1 only. See README.md here.

For each server and each session count N (rising until loss passes
--max-loss or the server's CPU saturates): a fresh server, N sessions set up
through its control protocol (gRPC CreateSession/UpdateLeg for the relay,
ng offer/answer for rtpengine), then relay_load drives 50 packets/s each way
per session (SRTP on the browser side, plain RTP on the legacy side) and
measures relayed packets/s, the server's CPU over the window, one-way latency
and loss. Medians of --runs runs per point. Then the raw SRTP cost on OpenSSL
EVP (srtp_ceiling) and the ratios.

  /usr/bin/python3 tests/bench/relay/relay_bench.py --quick   # ~1 min smoke run
  /usr/bin/python3 tests/bench/relay/relay_bench.py           # full: 3 runs per point
On a machine others use too, add --nice -10 (see README.md).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_servers  # noqa: E402

SOURCE_DIR = os.path.abspath(os.path.join(HERE, "../../.."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
GEN_CPU = 0  # the generator's core; servers get the next ones when there are enough


# ---------------------------------------------------------------- servers

class ServerKind:
    """One column of the comparison: which server, how many threads."""

    def __init__(self, name):
        self.name = name
        self.batch_us = None  # the relay's media_relay.packet_batch_us; None: its default
        self.batched_io = None  # the relay's media_relay.batched_io; None: its default
        if name == "direct":
            self.kind, self.threads = "direct", 0
        else:
            kind, _, rest = name.partition("-")
            threads, *options = rest.split("-")
            if (kind not in ("relay", "rtpengine") or threads[:1] not in ("w", "t")
                    or (options and kind != "relay")
                    or any(o[:1] not in ("b", "s") or not o[1:].isdigit() for o in options)):
                raise ValueError(f"unknown server {name}: relay-wN[-bUS][-s0|-s1], "
                                 "rtpengine-tN or direct")
            self.kind, self.threads = kind, int(threads[1:])
            for option in options:
                if option[0] == "b":
                    self.batch_us = int(option[1:])
                else:
                    self.batched_io = option[1:] != "0"

    @property
    def keying(self):
        return {"relay": "dtls", "rtpengine": "sdes", "direct": "none"}[self.kind]

    def cpus(self, pin):
        """The server's cores: its own ones next to the generator's when the
        machine has enough, else unpinned (sharing the generator's)."""
        if not pin or self.threads + 1 > NCPU:
            return None
        return set(range(GEN_CPU + 1, GEN_CPU + 1 + self.threads))

    def start(self, args):
        cpus = self.cpus(args.pin)
        if self.kind == "relay":
            return bench_servers.MediaRelay(args.relay_bin, os.path.join(args.build_dir, "python"),
                                            self.threads, cpus, args.nice,
                                            batch_us=self.batch_us,
                                            batched_io=self.batched_io)
        if self.kind == "rtpengine":
            return bench_servers.Rtpengine(args.rtpengine, self.threads, cpus, args.nice)
        return None


# ---------------------------------------------------------------- one run

def parse_kv(line):
    out = {}
    for item in line.split()[1:]:
        key, _, value = item.partition("=")
        try:
            out[key] = float(value) if any(c in value for c in ".e") else int(value)
        except ValueError:
            out[key] = value
    return out


def run_once(server_kind, sessions, args):
    """A fresh server, `sessions` sessions, one measurement; a dict of results."""
    server = server_kind.start(args)
    gen = None
    try:
        argv = [args.load_bin, "--keying", server_kind.keying, "--rate", str(args.rate),
                "--payload", str(args.payload), "--warmup", str(args.warmup),
                "--window", str(args.window), "--handshake-window", "128"]
        if args.pin:
            argv += ["--cpu", str(GEN_CPU)]
        if server:
            argv += ["--server-pid", str(server.pid)]
        if server_kind.kind == "direct":
            argv += ["--sessions", str(sessions)]
        if server_kind.kind == "relay" and args.dtls_profiles:
            argv += ["--dtls-profiles", args.dtls_profiles]
        gen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               start_new_session=True,
                               preexec_fn=bench_servers.preexec(None, args.nice))
        ready = parse_kv(gen.stdout.readline())
        if "browser_port" not in ready:
            raise RuntimeError(f"relay_load did not start: {gen.wait()}")
        t = time.time()
        lines = server.setup_sessions(sessions, ready) if server else []
        setup_s = time.time() - t
        gen.stdin.write("".join(line + "\n" for line in lines) + "go\n")
        gen.stdin.close()
        connected = parse_kv(gen.stdout.readline())
        result = parse_kv(gen.stdout.readline())
        if gen.wait(timeout=60) != 0 or "sent" not in result:
            raise RuntimeError(f"relay_load failed (exit {gen.returncode})")
        if server:
            server.check_alive()
        result.update(server=server_kind.name, n=sessions, setup_s=round(setup_s, 2),
                      connect_s=connected.get("seconds"), connected=connected.get("sessions"),
                      failed=connected.get("failed"), profiles=connected.get("profiles"),
                      failures=connected.get("failures"))
        ncores = NCPU * result.get("machine_busy_pct", 0) / 100
        result["other_cores"] = round(ncores - result.get("server_cpu_pct", 0) / 100
                                      - result.get("gen_cpu_pct", 0) / 100, 2)
        # How long the server or the generator waited for a CPU: others in the way.
        result["wait_pct"] = max(result.get("server_wait_pct", 0), result.get("gen_wait_pct", 0))
        return result
    finally:
        if gen and gen.poll() is None:
            gen.kill()
            gen.wait()
        if server:
            server.stop()


def run_point(server_kind, sessions, args, log):
    """`runs` runs, each retried when the server or the generator waited for
    a CPU more than --max-wait of the window (the least disturbed one is
    kept); the medians."""
    runs = []
    for r in range(args.runs):
        best = None
        for attempt in range(1 + args.retries):
            time.sleep(args.pause)
            res = run_once(server_kind, sessions, args)
            log(res)
            if best is None or res["wait_pct"] < best["wait_pct"]:
                best = res
            if res["wait_pct"] <= args.max_wait:
                break
        runs.append(best)
    return summarize(runs)


def summarize(runs):
    def med(key):
        vals = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        return statistics.median(vals) if vals else None
    keys = ["relayed_pps", "server_cpu_pct", "pps_per_core", "p50_us", "p99_us", "loss_pct",
            "gen_cpu_pct", "other_cores", "wait_pct", "max_send_lag_us", "connect_s", "setup_s",
            "p50_to_legacy_us", "p99_to_legacy_us", "p50_to_browser_us", "p99_to_browser_us"]
    out = {k: med(k) for k in keys}
    out.update(server=runs[0]["server"], n=runs[0]["n"], runs=len(runs),
               profiles=runs[0].get("profiles"),
               failed=max(r.get("failed") or 0 for r in runs),
               silent=max(r.get("silent_sessions") or 0 for r in runs),
               gen_drops=max(r.get("gen_socket_drops") or 0 for r in runs),
               duplicates=max(r.get("duplicates") or 0 for r in runs))
    return out


# ---------------------------------------------------------------- ceiling

def run_ceiling(args):
    argv = [args.ceiling_bin, "--iterations", str(args.ceiling_iterations)]
    cpus = {GEN_CPU + 1} if args.pin and NCPU > 1 else None
    out = subprocess.run(argv, check=True, capture_output=True, text=True,
                         start_new_session=True, preexec_fn=bench_servers.preexec(cpus, args.nice))
    rows = [parse_kv(line) for line in out.stdout.splitlines() if line.startswith("ceiling")]
    return {(r["impl"], r["profile"]): r for r in rows}


# ---------------------------------------------------------------- report

def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def print_table(points, columns):
    print()
    print(f"{'server':<13}{'N':>6}{'relayed pps':>13}{'srv CPU%':>10}{'pps/core':>10}"
          f"{'p50 us':>8}{'p99 us':>8}{'loss %':>9}{'gen CPU%':>10}{'wait %':>8}{'others':>8}"
          "  note")
    for name in columns:
        for p in points:
            if p["server"] != name:
                continue
            note = []
            if p["failed"]:
                note.append(f"{p['failed']} not connected")
            if p["silent"]:
                note.append(f"{p['silent']} silent")
            if p.get("saturated"):
                note.append("CPU saturated")
            if not p.get("within_budget") and p["server"] != "direct":
                note.append("over budget")
            if p["duplicates"]:
                note.append(f"{p['duplicates']} duplicates")
            if p["gen_drops"]:
                note.append(f"gen drops {p['gen_drops']}")
            print(f"{name:<13}{p['n']:>6}{fmt(p['relayed_pps']):>13}"
                  f"{fmt(p['server_cpu_pct'], '{:.1f}'):>10}{fmt(p['pps_per_core']):>10}"
                  f"{fmt(p['p50_us']):>8}{fmt(p['p99_us']):>8}{fmt(p['loss_pct'], '{:.3f}'):>9}"
                  f"{fmt(p['gen_cpu_pct'], '{:.1f}'):>10}{fmt(p['wait_pct'], '{:.1f}'):>8}"
                  f"{fmt(p['other_cores'], '{:.2f}'):>8}"
                  f"  {', '.join(note)}")


def print_comparison(points, relay, rtpengine, ceiling):
    by = {(p["server"], p["n"]): p for p in points}
    ns = sorted({p["n"] for p in points})
    print(f"\n{relay} vs {rtpengine}: packets/s per core (pps / server CPU-seconds per second)")
    print(f"{'N':>6}{relay:>14}{rtpengine:>14}{'ratio':>8}{'p50/p99 us ' + relay:>24}"
          f"{'p50/p99 us ' + rtpengine:>26}")
    for n in ns:
        a, b = by.get((relay, n)), by.get((rtpengine, n))
        if not a and not b:
            continue
        ratio = (a["pps_per_core"] / b["pps_per_core"]
                 if a and b and a["pps_per_core"] and b["pps_per_core"] else None)
        lat = lambda p: "-" if not p else f"{fmt(p['p50_us'])}/{fmt(p['p99_us'])}"  # noqa: E731
        print(f"{n:>6}{fmt(a and a['pps_per_core']):>14}{fmt(b and b['pps_per_core']):>14}"
              f"{fmt(ratio, '{:.2f}'):>8}{lat(a):>24}{lat(b):>26}")


def within_budget(point, args):
    """Every session connected, loss and p99 latency within their limits."""
    return (point["loss_pct"] is not None and point["loss_pct"] <= args.max_loss
            and point["p99_us"] is not None and point["p99_us"] <= 1000 * args.max_p99_ms
            and not point["failed"])


def headline(points, name):
    """The point with the most relayed packets/s within the budget."""
    ok = [p for p in points if p["server"] == name and p["within_budget"]]
    return max(ok, key=lambda p: p["relayed_pps"]) if ok else None


def print_summary(points, servers, ceiling, args):
    print(f"\nSummary (medians; 'best' = the highest load with loss <= {args.max_loss:g} % and "
          f"p99 <= {args.max_p99_ms:g} ms)")
    floor = [p for p in points if p["server"] == "direct"]
    if floor:
        print("  latency floor (generator + loopback, no server) p50/p99 us: " + ", ".join(
            f"N={p['n']} {fmt(p['p50_us'])}/{fmt(p['p99_us'])}" for p in floor))
    servers = [s for s in servers if s != "direct"]
    heads = {s: headline(points, s) for s in servers}
    for s, h in heads.items():
        if h:
            print(f"  {s:<13} best at N={h['n']}: {fmt(h['relayed_pps'])} pps relayed, "
                  f"{fmt(h['pps_per_core'])} pps per core, "
                  f"CPU {fmt(h['server_cpu_pct'], '{:.0f}')}%, "
                  f"p50/p99 {fmt(h['p50_us'])}/{fmt(h['p99_us'])} us, "
                  f"loss {fmt(h['loss_pct'], '{:.3f}')}%, SRTP {h.get('profiles')}")
        else:
            print(f"  {s:<13} no point within the budget")
    relays = [s for s in servers if s.startswith("relay-")]
    engines = [s for s in servers if s.startswith("rtpengine-")]
    for r in relays:
        for e in engines:
            if heads.get(r) and heads.get(e) and heads[e]["pps_per_core"]:
                print(f"  per-core ratio {r}/{e} (best points): "
                      f"{heads[r]['pps_per_core'] / heads[e]['pps_per_core']:.2f}")
    for one, two in (("relay-w1", "relay-w2"), ("rtpengine-t1", "rtpengine-t2")):
        h1, h2 = heads.get(one), heads.get(two)
        if h1 and h2:
            print(f"  scaling {one} -> {two}: max relayed pps within budget "
                  f"{fmt(h1['relayed_pps'])} -> {fmt(h2['relayed_pps'])} "
                  f"(x{h2['relayed_pps'] / h1['relayed_pps']:.2f}); per core "
                  f"{fmt(h1['pps_per_core'])} -> {fmt(h2['pps_per_core'])}")
    if ceiling:
        print("\nSRTP ceiling (srtp_ceiling, 172-byte packets, one core; relay-equivalent = "
              "2 / (protect + unprotect))")
        for (impl, profile), c in sorted(ceiling.items()):
            print(f"  {impl:<9}{profile:<25} protect {c['protect_ns']:>7.0f} ns  unprotect "
                  f"{c['unprotect_ns']:>7.0f} ns  relay-equivalent "
                  f"{c['relay_equivalent_pps']:>9.0f} pps")
        for s, h in heads.items():
            if not h or not h.get("profiles") or h["profiles"] == "-":
                continue
            profile = h["profiles"].split(":")[0]
            c = ceiling.get(("evp", profile))
            if c and h["pps_per_core"]:
                print(f"  {s}: {fmt(h['pps_per_core'])} pps/core = "
                      f"{h['pps_per_core'] / c['relay_equivalent_pps']:.3f} of the EVP {profile} "
                      f"ceiling ({c['relay_equivalent_pps']:.0f}); SRTP is "
                      f"{100 * h['pps_per_core'] / c['relay_equivalent_pps']:.1f}% of its "
                      "per-packet cost")


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(SOURCE_DIR, "build"))
    p.add_argument("--bin-dir", help="where relay_load and srtp_ceiling are "
                   "(default: BUILD_DIR/tests/bench/relay)")
    p.add_argument("--rtpengine", default="/usr/bin/rtpengine")
    p.add_argument("--quick", action="store_true", help="smoke run, about a minute")
    p.add_argument("--servers", help="comma-separated: relay-wN (relay-wN-bUS: with "
                   "media_relay.packet_batch_us=US; -s0: media_relay.batched_io off), "
                   "rtpengine-tN, direct "
                   "(default: relay-w1,rtpengine-t1,relay-w2,rtpengine-t2,direct; "
                   "quick: relay-w1,rtpengine-t1)")
    p.add_argument("--sessions", help="session counts, rising "
                   "(default 50,100,200,300,400,600,800,1200,1600; quick 50,200,800)")
    p.add_argument("--runs", type=int, help="runs per point (default 3, quick 1)")
    p.add_argument("--warmup", type=float, help="seconds (default 3, quick 1)")
    p.add_argument("--window", type=float, help="measurement seconds (default 10, quick 3)")
    p.add_argument("--rate", type=int, default=50, help="packets/s per session and direction")
    p.add_argument("--payload", type=int, default=160, help="RTP payload bytes")
    p.add_argument("--max-loss", type=float, default=0.1, help="loss %% that ends a server's ramp")
    p.add_argument("--max-p99-ms", type=float, default=20,
                   help="p99 one-way latency that ends a server's ramp: queues building up "
                   "(a packet that late is as good as lost to a jitter buffer)")
    p.add_argument("--saturation", type=float, default=0.95,
                   help="server CPU (fraction of its threads' cores) that ends its ramp")
    p.add_argument("--dtls-profiles", help="SRTP profiles the generator offers the relay "
                   "(OpenSSL names); default: the project's list, the relay picks")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="do not pin the generator to core 0 and the servers to the next ones")
    p.add_argument("--max-wait", type=float, default=10,
                   help="%% of the window the server or the generator may wait for a CPU "
                   "(others in the way) before the run is retried")
    p.add_argument("--retries", type=int, default=1, help="retries of a disturbed run")
    p.add_argument("--pause", type=float, default=1, help="seconds between runs")
    p.add_argument("--nice", type=int, default=0,
                   help="nice value of the servers, the generator and the ceiling (e.g. -10 on a "
                   "machine others use too; the same for every server)")
    p.add_argument("--ceiling-iterations", type=int, help="default 1000000, quick 200000")
    p.add_argument("--no-ceiling", action="store_true")
    p.add_argument("--out", help="write every run and point as JSON here")
    args = p.parse_args()

    quick = args.quick
    servers = (args.servers or ("relay-w1,rtpengine-t1" if quick else
                                "relay-w1,rtpengine-t1,relay-w2,rtpengine-t2,direct")).split(",")
    kinds = [ServerKind(s) for s in servers]
    default_sessions = "50,200,800" if quick else "50,100,200,300,400,600,800,1200,1600"
    sessions = [int(x) for x in (args.sessions or default_sessions).split(",")]
    args.runs = args.runs or (1 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.window = args.window if args.window is not None else (3 if quick else 10)
    args.ceiling_iterations = args.ceiling_iterations or (200000 if quick else 1000000)
    if quick:
        args.retries = 0
    bin_dir = args.bin_dir or os.path.join(args.build_dir, "tests/bench/relay")
    args.load_bin = os.path.join(bin_dir, "relay_load")
    args.ceiling_bin = os.path.join(bin_dir, "srtp_ceiling")
    args.relay_bin = os.path.join(args.build_dir, "services/media-relay/webrtc2sip-media-relay")
    for path in (args.load_bin, args.relay_bin) + (() if args.no_ceiling else (args.ceiling_bin,)):
        if not os.access(path, os.X_OK):
            sys.exit(f"relay_bench: {path} is not built (see tests/bench/relay/README.md)")
    if any(k.kind == "rtpengine" for k in kinds) and not os.access(args.rtpengine, os.X_OK):
        sys.exit(f"relay_bench: {args.rtpengine} missing: apt-get install rtpengine-daemon")

    print(f"relay_bench: {NCPU} cores, nice {args.nice}, "
          f"generator on core {GEN_CPU if args.pin else '-'}, "
          f"servers {servers}, N {sessions}, {args.runs} run(s) of {args.window:g} s "
          f"(+{args.warmup:g} s warm-up), {args.rate} pps x {args.payload} B each way per session",
          flush=True)
    all_runs, points = [], []

    def log(res):
        all_runs.append(res)
        print(f"  run {res['server']:<13} N={res['n']:<5} pps={res.get('relayed_pps', 0):>9.0f} "
              f"srv={res.get('server_cpu_pct', 0):>5.1f}% per_core={res.get('pps_per_core', 0):>8} "
              f"p50/p99={res.get('p50_us')}/{res.get('p99_us')} us loss={res.get('loss_pct')}% "
              f"gen={res.get('gen_cpu_pct')}% wait={res['wait_pct']}% "
              f"others={res['other_cores']} "
              f"failed={res.get('failed')} dup={res.get('duplicates')} {res.get('profiles')}",
              flush=True)

    # Servers take turns point by point, so drifts of the machine hit them alike.
    done = set()
    for n in sessions:
        for kind in kinds:
            if kind.name in done:
                continue
            point = run_point(kind, n, args, log)
            cores = max(1, kind.threads)
            point["saturated"] = bool(point["server_cpu_pct"] and
                                      point["server_cpu_pct"] >= 100 * args.saturation * cores)
            point["within_budget"] = within_budget(point, args)
            points.append(point)
            if kind.kind != "direct" and (point["saturated"] or not point["within_budget"]):
                done.add(kind.name)

    ceiling = {} if args.no_ceiling else run_ceiling(args)
    print_table(points, servers)
    relays = [s for s in servers if s.startswith("relay-")]
    engines = [s for s in servers if s.startswith("rtpengine-")]
    for r in relays:
        for e in engines:
            if r[-1] == e[-1]:
                print_comparison(points, r, e, ceiling)
    print_summary(points, servers, ceiling, args)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"runs": all_runs, "points": points,
                       "ceiling": [dict(v) for v in ceiling.values()]}, f, indent=1)


if __name__ == "__main__":
    main()
