"""Process accounting for the SIP proxy benchmark, read from /proc: CPU time
and memory of a process and its descendants, and the whole machine's CPU."""

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # The command name may hold spaces: fields start after the last ')'.
    return data[data.rindex(")") + 2:].split()


def tree(root):
    """root and every live descendant of it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(entry)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids):
    """utime + stime of the given processes, in seconds (dead ones count 0)."""
    total = 0
    for pid in pids:
        try:
            f = _stat_fields(pid)
            total += int(f[11]) + int(f[12])  # utime, stime: fields 14 and 15
        except (OSError, ValueError, IndexError):
            pass
    return total / CLK_TCK


def context_switches(pids):
    """Voluntary + involuntary context switches of every thread of the given
    processes so far (dead ones count 0)."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            total += int(line.split()[1])
            except OSError:
                pass
    return total


def memory_kib(pids):
    """(sum of Pss, sum of VmRSS) in KiB. Pss splits pages shared between
    processes (Kamailio's shared memory) so the sum counts them once."""
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss


def machine_busy_seconds():
    """Non-idle CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def udp_counters():
    """The machine's UDP counters (/proc/net/snmp): drops show up as
    RcvbufErrors when a receiver falls behind."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))


def udp_drops_by_port():
    """Datagrams dropped so far by each bound UDP port (/proc/net/udp)."""
    drops = {}
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            port = int(fields[1].split(":")[1], 16)
            drops[port] = drops.get(port, 0) + int(fields[-1])
    return drops


class CpuMeter:
    """CPU used by named groups of processes between start() and stop(),
    by everything else on the machine over the same wall time, the UDP
    datagrams dropped meanwhile, and with `switches` the groups' context
    switches."""

    def __init__(self, groups, switches=False):
        self.groups = groups  # name -> list of pids
        self.switches = switches

    def start(self):
        self.t0 = time.monotonic()
        self.machine0 = machine_busy_seconds()
        self.c0 = {name: cpu_seconds(pids) for name, pids in self.groups.items()}
        if self.switches:
            self.s0 = {name: context_switches(pids) for name, pids in self.groups.items()}
        self.udp0 = udp_counters()
        self.ports0 = udp_drops_by_port()

    def stop(self):
        wall = max(time.monotonic() - self.t0, 1e-6)
        used = {name: cpu_seconds(pids) - self.c0[name] for name, pids in self.groups.items()}
        if self.switches:
            switched = {name: context_switches(pids) - self.s0[name] for name, pids in self.groups.items()}
        machine = machine_busy_seconds() - self.machine0
        out = {f"{name}_cpu_s": round(v, 3) for name, v in used.items()}
        out.update({f"{name}_cores": round(v / wall, 3) for name, v in used.items()})
        out["machine_cores"] = round(machine / wall, 3)
        out["others_cores"] = round(max(machine - sum(used.values()), 0) / wall, 3)
        out["wall_s"] = round(wall, 3)
        if self.switches:
            out.update({f"{name}_ctxsw": n for name, n in switched.items()})
        udp = udp_counters()
        out["udp_drops"] = udp["RcvbufErrors"] - self.udp0["RcvbufErrors"]
        ports = udp_drops_by_port()
        out["udp_drops_by_port"] = {p: n - self.ports0.get(p, 0) for p, n in ports.items()
                                    if n - self.ports0.get(p, 0) > 0}
        return out
