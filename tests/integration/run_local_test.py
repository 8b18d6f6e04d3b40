"""The README's first command, deploy/run-local.sh, as a user runs it (on
free ports, in a temporary run directory): everything comes up, the demo
phone page is served by the gateway, a breaker client with a real WebRTC
stack (aiortc) registers with Kamailio, calls "echo" and hears its audio
come back through the media node; Ctrl-C stops everything it started."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402
import aiortc_peer  # noqa: E402  (patches aioice to loopback before aiortc loads)
from breaker import breaker_client  # noqa: E402


class RunLocalTest(unittest.IsolatedAsyncioTestCase):
    async def test_the_quick_start_calls_echo_and_stops_on_ctrl_c(self):
        ports = {name: w2s.free_port(kind) for name, kind in (
            ("W2S_WS_PORT", socket.SOCK_STREAM), ("W2S_SIP_PORT", socket.SOCK_DGRAM),
            ("W2S_KAMAILIO_PORT", socket.SOCK_DGRAM), ("W2S_ECHO_PORT", socket.SOCK_DGRAM),
            ("W2S_SIGNALING_HTTP_PORT", socket.SOCK_STREAM), ("W2S_RELAY_HTTP_PORT", socket.SOCK_STREAM),
            ("W2S_RELAY_GRPC_PORT", socket.SOCK_STREAM))}
        ports["W2S_ECHO_MEDIA_PORT"] = w2s.free_port(socket.SOCK_DGRAM, even=True)
        ports["W2S_RTP_PORT_MIN"] = 46000
        run_dir = tempfile.mkdtemp(prefix="w2s-run-local-")
        env = dict(os.environ, W2S_RUN_DIR=run_dir, **{k: str(v) for k, v in ports.items()})
        log = open(os.path.join(run_dir, "run-local.out"), "w+")
        script = subprocess.Popen([os.path.join(w2s.SOURCE_DIR, "deploy/run-local.sh")], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def output():
            log.flush()
            with open(log.name) as f:
                return f.read()

        def kill_all():
            try:
                os.killpg(script.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.addCleanup(kill_all)

        deadline = time.monotonic() + 240  # installs nothing here, but may build
        while "webrtc2sip is running" not in output():
            self.assertIsNone(script.poll(), output())
            self.assertLess(time.monotonic(), deadline, output())
            await asyncio.sleep(0.5)
        await self.wait_ready(ports["W2S_SIGNALING_HTTP_PORT"], output)

        # The demo phone page and its SIP library, from the gateway's ws port.
        page = urllib.request.urlopen(f"http://127.0.0.1:{ports['W2S_WS_PORT']}/", timeout=5).read().decode()
        self.assertIn("<html", page.lower())
        bundle = urllib.request.urlopen(f"http://127.0.0.1:{ports['W2S_WS_PORT']}/jssip.js", timeout=5).read()
        self.assertIn(b"JsSIP", bundle)

        # Register with the breaker on and call the echo phone with real media.
        domain = f"127.0.0.1:{ports['W2S_KAMAILIO_PORT']}"
        c = await breaker_client(f"ws://127.0.0.1:{ports['W2S_WS_PORT']}", "quickstart", domain)
        self.addAsyncCleanup(c.close)
        self.assertEqual((await c.register()).status, 200)
        browser = aiortc_peer.Browser()
        self.addAsyncCleanup(browser.close)
        offer = await browser.offer()
        offer = "".join(l + "\r\n" for l in offer.splitlines() if not l.startswith("a=candidate"))
        uri = f"sip:echo@{domain}"
        c.cseq += 1
        cseq = c.cseq
        await c.send(c.request("INVITE", uri, "qs-call", "q1", f"<{uri}>", cseq, body=offer,
                               content_type="application/sdp"))
        ok = await c.response_to("qs-call", cseq, "INVITE", timeout=30)
        self.assertEqual(ok.status, 200, ok.text)
        contact, to = ok.header("contact").strip("<>"), ok.header("to")
        routes = "".join(f"Route: {r}\r\n" for r in reversed(ok.all("record-route")))
        await c.send(c.request("ACK", contact, "qs-call", "q1", to, cseq, extra=routes, cseq_method="ACK"))
        await browser.accept_answer(ok.body)
        await asyncio.wait_for(browser.connected.wait(), 20)
        for _ in range(200):
            if len(browser.frames) >= 50:
                break
            await asyncio.sleep(0.1)
        self.assertGreaterEqual(len(browser.frames), 50, browser.describe())  # its own audio, echoed
        c.cseq += 1
        await c.send(c.request("BYE", contact, "qs-call", "q1", to, c.cseq, extra=routes))
        self.assertEqual((await c.response_to("qs-call", c.cseq, "BYE")).status, 200)

        # Ctrl-C: the script stops everything it started and exits.
        os.killpg(script.pid, signal.SIGINT)
        for _ in range(300):
            if script.poll() is not None:
                break
            await asyncio.sleep(0.1)
        self.assertIsNotNone(script.poll(), "run-local.sh still running after Ctrl-C:\n" + output())
        await asyncio.sleep(0.5)
        for name in ("W2S_WS_PORT", "W2S_SIGNALING_HTTP_PORT", "W2S_RELAY_GRPC_PORT"):
            with socket.socket() as s:
                # Nothing listens there any more (TIME_WAIT of closed connections is fine).
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", ports[name]))
                except OSError as e:
                    self.fail(f"{name} {ports[name]} still taken after Ctrl-C ({e}):\n" + output())

    async def wait_ready(self, port, output):
        """Signaling ready, and its media node seen healthy (as a user who
        opens the page a moment later finds it)."""
        for _ in range(300):
            try:
                status, _, _ = w2s.http_get(port, "/readyz", timeout=2)
                if status == 200 and w2s.metric(port, "webrtc2sip_media_nodes", state="healthy") >= 1:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        self.fail("signaling never ready with a healthy media node:\n" + output())


if __name__ == "__main__":
    unittest.main()
