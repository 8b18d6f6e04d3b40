"""rtpengine's ng control protocol: bencoded dictionaries over UDP, each
datagram "<cookie> <bencoded dict>", the reply carrying the same cookie."""

import os
import socket


def bencode(value):
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data):
    """Decodes one value; byte strings come back as str (UTF-8, lossy)."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the bencoded value")
    return value


def _decode(data, i):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i, out = i + 1, []
        while data[i:i + 1] != b"e":
            v, i = _decode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i, out = i + 1, {}
        while data[i:i + 1] != b"e":
            k, i = _decode(data, i)
            v, i = _decode(data, i)
            out[k] = v
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        start = colon + 1
        return data[start:start + n].decode("utf-8", "replace"), start + n
    raise ValueError(f"bad bencode at byte {i}")


class NgError(RuntimeError):
    pass


class NgClient:
    """Synchronous requests to one rtpengine, retried on silence."""

    def __init__(self, host, port, timeout=2.0, retries=3):
        self.addr = (host, port)
        self.timeout = timeout
        self.retries = retries
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def close(self):
        self.sock.close()

    def request(self, message):
        cookie = os.urandom(6).hex().encode()
        datagram = cookie + b" " + bencode(message)
        for _ in range(self.retries):
            self.sock.sendto(datagram, self.addr)
            self.sock.settimeout(self.timeout)
            try:
                while True:
                    data, _ = self.sock.recvfrom(65535)
                    got, _, body = data.partition(b" ")
                    if got == cookie:
                        reply = bdecode(body)
                        if reply.get("result") == "error":
                            raise NgError(f"{message.get('command')}: {reply.get('error-reason')}")
                        return reply
            except socket.timeout:
                continue
        raise NgError(f"{message.get('command')}: no reply from rtpengine at {self.addr}")

    def ping(self):
        return self.request({"command": "ping"}).get("result") == "pong"
