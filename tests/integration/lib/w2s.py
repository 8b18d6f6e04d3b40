"""Helpers for integration tests: free loopback ports, configs, and the
project's binaries run as real processes (started here, stopped by PID)."""

import asyncio
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time

import yaml

BUILD_DIR = os.environ.get("W2S_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../../build"))
SOURCE_DIR = os.environ.get("W2S_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../../.."))
LOOPBACK = "127.0.0.1"


def binary(name):
    for sub in ("services/signaling", "services/media-relay", "services/tools", "tests/bench", ""):
        path = os.path.join(BUILD_DIR, sub, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{name} is not built under {BUILD_DIR}")


def free_port(kind=socket.SOCK_STREAM, even=False):
    """A port free for `kind` on 127.0.0.1 (and for UDP too when TCP asked,
    since SIP listens on both)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if even and port % 2:
            continue
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind((LOOPBACK, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def write_config(data, directory=None):
    fd, path = tempfile.mkstemp(prefix="w2s-", suffix=".yaml", dir=directory)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path


def http_get(port, path, timeout=5):
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read().decode()
    finally:
        conn.close()


class Process:
    """A project binary or a peer, with its output kept in a log file."""

    def __init__(self, argv, name, env=None):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"w2s-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def wait_http(self, port, path="/healthz", timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, _, _ = http_get(port, path, timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not answer {path} on {port}:\n{self.output()}")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal by PID; returns the exit status, killing after `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def local_config(**overrides):
    """deploy/config/local.yaml with every listening port moved to a free one."""
    cfg = load_yaml(os.path.join(SOURCE_DIR, "deploy/config/local.yaml"))
    sig = cfg.setdefault("signaling", {})
    sip_port = free_port()
    for t in sig.get("transports", []):
        t["address"] = LOOPBACK
        t["port"] = sip_port if t["protocol"] in ("udp", "tcp") else free_port()
    sig["http_listen"] = f"{LOOPBACK}:{free_port()}"
    relay = cfg.setdefault("media_relay", {})
    grpc_port = free_port()
    relay["grpc_listen"] = f"{LOOPBACK}:{grpc_port}"
    relay["http_listen"] = f"{LOOPBACK}:{free_port()}"
    sig["media_nodes"] = {"addresses": [f"{LOOPBACK}:{grpc_port}"]}
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def port_of(host_port):
    return int(host_port.rsplit(":", 1)[1])


def start_kamailio(port, workdir, listen=None, defines=()):
    """Kamailio as the SIP network's registrar on 127.0.0.1:port (UDP), or
    on `listen` ("tcp:PORT", "tls:PORT", ...) with `defines` (-A) for the
    config; then started with -DD, or it forks no TCP/TLS workers."""
    cfg = os.path.join(SOURCE_DIR, "tests/integration/kamailio/registrar.cfg")
    if listen is None:
        proc = Process(["kamailio", "-f", cfg, "-l", f"udp:{LOOPBACK}:{port}", "-D", "-E",
                        "-w", workdir, "-m", "32", "-M", "8", "-n", "2"], "kamailio")
        wait_udp_sip(port, proc)
        return proc
    argv = ["kamailio", "-f", cfg, "-DD", "-E", "-w", workdir, "-m", "32", "-M", "8", "-n", "2"]
    for spec in listen:
        proto, lport = spec.split(":")
        argv += ["-l", f"{proto}:{LOOPBACK}:{lport}"]
    for d in defines:
        argv += ["-A", d]
    proc = Process(argv, "kamailio")
    for spec in listen:
        wait_tcp_port(int(spec.split(":")[1]), proc)
    return proc


def wait_tcp_port(port, proc, timeout=10):
    """Waits until something listens on TCP 127.0.0.1:port, from
    /proc/net/tcp: no probe connection (SIPp and Kamailio's TLS port would
    each see one open and close)."""
    needle = f"0100007F:{port:04X}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.output()}")
        with open("/proc/net/tcp") as f:
            if any(line.split()[1] == needle and line.split()[3] == "0A" for line in list(f)[1:]):
                return
        time.sleep(0.05)
    raise TimeoutError(f"{proc.name} does not listen on tcp {port}:\n{proc.output()}")


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (RSA): (key path, certificate path)."""
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, cert


def wait_udp_sip(port, proc, timeout=10):
    """Waits until an OPTIONS to 127.0.0.1:port gets any answer."""
    deadline = time.time() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        s.settimeout(0.2)
        while time.time() < deadline:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"{proc.name} exited:\n{proc.output()}")
            me = s.getsockname()[1]
            s.sendto((f"OPTIONS sip:{LOOPBACK}:{port} SIP/2.0\r\n"
                      f"Via: SIP/2.0/UDP {LOOPBACK}:{me};branch=z9hG4bKprobe{time.time_ns()}\r\n"
                      f"From: <sip:probe@{LOOPBACK}>;tag=p\r\nTo: <sip:{LOOPBACK}>\r\n"
                      f"Call-ID: probe{time.time_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                      "Content-Length: 0\r\n\r\n").encode(), (LOOPBACK, port))
            try:
                s.recv(65535)
                return
            except socket.timeout:
                pass
    raise TimeoutError(f"{proc.name} does not answer SIP on {port}:\n{proc.output()}")


def sipp(scenario, target, port, service=None, calls=1, extra=(), name="sipp", timeout="30s"):
    """Starts SIPp with one of tests/integration/sipp/*.xml; returns the Process."""
    path = os.path.join(SOURCE_DIR, "tests/integration/sipp", scenario)
    argv = ["sipp", "-sf", path, "-i", LOOPBACK, "-p", str(port), "-mi", LOOPBACK,
            "-mp", str(free_port(socket.SOCK_DGRAM, even=True)), "-m", str(calls),
            "-timeout", timeout, "-timeout_error", "-nostdin", "-trace_err",
            "-error_file", f"/tmp/w2s-sipp-{port}-errors.log"]
    if service:
        argv += ["-s", service]
    argv += list(extra)
    if target:
        argv.append(target)
    return Process(argv, name)


def signaling_config(kamailio_port=None, outbound_proxy=None, **signaling):
    cfg = local_config()
    cfg["log"] = {"level": "debug", "format": "kv"}
    sig = cfg["signaling"]
    proxy = outbound_proxy or (f"sip:{LOOPBACK}:{kamailio_port};transport=udp" if kamailio_port else None)
    if proxy:
        sig["outbound_proxy"] = proxy
    sig.update(signaling)
    return cfg


def start_signaling(cfg):
    path = write_config(cfg)
    # W2S_WRAP="gdb -batch -ex run -ex bt --args" (or valgrind) wraps the service for debugging.
    wrap = os.environ.get("W2S_WRAP", "").split()
    proc = Process(wrap + [binary("webrtc2sip-signaling"), "--config", path], "signaling")
    proc.config_path = path
    proc.http_port = port_of(cfg["signaling"]["http_listen"])
    proc.wait_http(proc.http_port, "/readyz")
    for t in cfg["signaling"]["transports"]:
        if t["protocol"] == "ws":
            proc.ws_url = f"ws://{LOOPBACK}:{t['port']}"
        if t["protocol"] == "wss":
            proc.wss_url = f"wss://{LOOPBACK}:{t['port']}"
        if t["protocol"] == "udp":
            proc.udp_port = t["port"]
    return proc


def _samples(port, name):
    """(labels, value) of each sample of `name` on a service's /metrics."""
    _, _, body = http_get(port, "/metrics")
    for line in body.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        if sample == name:
            yield {}, float(value)
        elif sample.startswith(name + "{"):
            found = dict(kv.split("=", 1) for kv in sample[len(name) + 1:-1].split(",") if kv)
            yield {k: v.strip('"') for k, v in found.items()}, float(value)


def metric(port, name, **labels):
    """The value of one sample of a service's /metrics, or 0 when absent."""
    for found, value in _samples(port, name):
        if (not found and not labels) or (found and all(found.get(k) == str(v)
                                                         for k, v in labels.items())):
            return value
    return 0.0


def metric_sum(port, name, **labels):
    """The sum of the samples of `name` whose labels include `labels`
    (all of its samples when none is given)."""
    return sum(value for found, value in _samples(port, name)
               if all(found.get(k) == str(v) for k, v in labels.items()))


def wait_udp_port_bound(port, timeout=10):
    """Waits until something has bound UDP 127.0.0.1:port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((LOOPBACK, port))
        except OSError:
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on udp {port}")


def start_dnsmasq(port, options, workdir):
    """dnsmasq (Debian's dnsmasq-base) as the DNS of a test zone on
    127.0.0.1:port; `options` are its record flags (--srv-host=..., ...)."""
    argv = ["dnsmasq", "--no-daemon", f"--port={port}", f"--listen-address={LOOPBACK}",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
            "--local=/test/", f"--pid-file={workdir}/dnsmasq.pid", "--user=root"] + list(options)
    proc = Process(argv, "dnsmasq")
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited:\n{proc.output()}")
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((LOOPBACK, port))
        except OSError:
            return proc
        time.sleep(0.05)
    raise TimeoutError("dnsmasq did not start")


def start_sip_network(owner, prefix):
    """The SIP network of a test class: a work directory and Kamailio as
    registrar on a free UDP port; the SIP domain is the registrar itself,
    port included. Sets owner.workdir, .kam_port, .domain, .kamailio."""
    owner.workdir = tempfile.mkdtemp(prefix=prefix)
    owner.kam_port = free_port(socket.SOCK_DGRAM)
    owner.domain = f"{LOOPBACK}:{owner.kam_port}"
    owner.kamailio = start_kamailio(owner.kam_port, owner.workdir)


async def wait_exit(proc, timeout=30):
    """The exit status of `proc` once it ends; after `timeout` seconds it is
    killed and the test fails with its output."""
    for _ in range(int(timeout * 10)):
        if proc.proc.poll() is not None:
            return proc.proc.returncode
        await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{proc.name} did not finish:\n{proc.output()}")
