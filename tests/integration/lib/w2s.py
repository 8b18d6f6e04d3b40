"""Helpers for integration tests: free loopback ports, configs, and the
project's binaries run as real processes (started here, stopped by PID)."""

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
