"""Pieces the benchmark scripts share: logging, peers' log files, waiting
for a WebSocket listener, the generator's key=value result lines, medians."""

import os
import socket
import statistics
import sys
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def drop_log(proc):
    """Removes a peer's log file once it has ended well."""
    try:
        os.unlink(proc.log.name)
    except OSError:
        pass


def wait_ws(url, proc, timeout=15):
    """Waits until a WebSocket upgrade with subprotocol sip succeeds."""
    host, port = url[len("ws://"):].split(":")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.output()[-3000:]}")
        try:
            with socket.create_connection((host, int(port)), timeout=1) as s:
                s.sendall((f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n").encode())
                if s.recv(4096).startswith(b"HTTP/1.1 101"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{proc.name}: no WebSocket on {url}:\n{proc.output()[-3000:]}")


def parse_kv(line):
    return {k: _number(v) for k, _, v in (f.partition("=") for f in line.split())}


def _number(v):
    try:
        return float(v) if any(c in v for c in ".e") else int(v)
    except ValueError:
        return v


def median(runs, key):
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None
