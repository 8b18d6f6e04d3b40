"""Limits that protect the SIP proxy, each with its own gateway: connections
per source address and in total, the per-connection message rate, and the
WebSocket keep-alive that closes a silent connection and releases its flow.
Nothing here needs the SIP network: refusals happen at the gateway."""

import asyncio
import base64
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import websockets  # noqa: E402
import w2s  # noqa: E402
from ws_sip import WsSipClient  # noqa: E402


def raw_ws_handshake(port):
    """A WebSocket connection that completes the upgrade and then never
    reads or answers anything: a browser that went away without closing."""
    s = socket.create_connection((w2s.LOOPBACK, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: {w2s.LOOPBACK}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


class SipLimitsTest(unittest.IsolatedAsyncioTestCase):
    def gateway(self, **limits):
        cfg = w2s.signaling_config(outbound_proxy=f"sip:{w2s.LOOPBACK}:9;transport=udp")
        cfg["signaling"]["limits"] = limits
        gw = w2s.start_signaling(cfg)
        self.addCleanup(gw.kill)
        return gw

    async def test_connections_per_address_and_in_total(self):
        gw = self.gateway(max_ws_connections_per_ip=2, max_ws_connections=3)
        kept = []
        for _ in range(2):
            kept.append(await websockets.connect(gw.ws_url, subprotocols=["sip"]))
        with self.assertRaises(Exception):
            await websockets.connect(gw.ws_url, subprotocols=["sip"])
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_ws_connections_rejected_total",
                                    reason="max_connections_per_ip"), 1)
        # The ones already open are not disturbed.
        await kept[0].send("\r\n\r\n")
        self.assertEqual(await asyncio.wait_for(kept[0].recv(), 5), "\r\n")
        # A connection without the "sip" subprotocol is refused too (RFC 7118).
        with self.assertRaises(Exception):
            await websockets.connect(gw.ws_url)
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_ws_connections_rejected_total",
                                    reason="no_sip_subprotocol"), 1)
        for ws in kept:
            await ws.close()
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_ws_connections", transport="ws"), 0)

    async def test_message_rate_per_connection(self):
        gw = self.gateway(max_messages_per_second=5)
        c = WsSipClient(gw.ws_url, "flood", w2s.LOOPBACK)
        await c.connect()
        self.addAsyncCleanup(c.close)
        calm = WsSipClient(gw.ws_url, "calm", w2s.LOOPBACK)
        await calm.connect()
        self.addAsyncCleanup(calm.close)
        # Max-Forwards 0: what gets through is answered 483 by the gateway itself.
        for i in range(40):
            await c.send(c.request("OPTIONS", "sip:x@127.0.0.1", f"flood-{i}", "t",
                                   "<sip:x@127.0.0.1>", 1).replace("Max-Forwards: 70",
                                                                   "Max-Forwards: 0"))
        await asyncio.sleep(0.5)
        limited = [m for m in c.received if m.status == 503]
        passed = [m for m in c.received if m.status == 483]
        self.assertGreaterEqual(len(limited), 25)
        self.assertGreaterEqual(len(passed), 5)
        self.assertEqual(len(limited) + len(passed), 40)
        self.assertEqual(limited[0].header("retry-after"), "1")
        self.assertGreaterEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_messages_dropped_total",
                                           reason="rate_limited"), 25)
        # Another connection has its own budget.
        await calm.send("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS c.invalid;branch=z9hG4bKc1\r\n"
                        "Max-Forwards: 0\r\nFrom: <sip:c@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n"
                        "Call-ID: calm-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        resp = await calm.response_to("calm-1", 1, "OPTIONS")
        self.assertEqual(resp.status, 483)  # processed, not rate limited

    async def test_a_silent_connection_is_closed_and_its_flow_released(self):
        gw = self.gateway(ws_keepalive_seconds=1)
        port = int(gw.ws_url.rsplit(":", 1)[1])
        silent = raw_ws_handshake(port)
        self.addCleanup(silent.close)
        await asyncio.sleep(0.3)
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_flows"), 1)
        # Ping after 1 s, hang up after 2.5 s of silence.
        for _ in range(60):
            await asyncio.sleep(0.1)
            if w2s.metric(gw.http_port, "webrtc2sip_sip_flows") == 0:
                break
        self.assertEqual(w2s.metric(gw.http_port, "webrtc2sip_sip_flows"), 0)
        silent.settimeout(2)
        data = b""
        try:
            while True:
                chunk = silent.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        self.assertIn(b"\x89", data[:2] + data)  # it was pinged before being closed


if __name__ == "__main__":
    unittest.main(verbosity=2)
