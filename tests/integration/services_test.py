"""Both services start from an example config, answer /metrics and health,
reject a bad config with one line naming the key, and stop cleanly on
SIGTERM/SIGINT. The config.xml importer's output passes --check-config."""

import glob
import os
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import w2s  # noqa: E402

SERVICES = [
    ("webrtc2sip-signaling", "signaling"),
    ("webrtc2sip-media-relay", "media_relay"),
]


class ExampleConfigs(unittest.TestCase):
    def test_every_example_passes_check_config(self):
        examples = glob.glob(os.path.join(w2s.SOURCE_DIR, "deploy/config/*.yaml"))
        self.assertGreaterEqual(len(examples), 2)
        for path in examples:
            for binary, _ in SERVICES:
                r = subprocess.run([w2s.binary(binary), "--check-config", path],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, f"{binary} {path}: {r.stderr}")
                self.assertIn(": ok", r.stdout)


class ServiceLifecycle(unittest.TestCase):
    def run_service(self, binary, section, stop_signal):
        cfg = w2s.local_config()
        path = w2s.write_config(cfg)
        self.addCleanup(os.unlink, path)
        port = w2s.port_of(cfg[section]["http_listen"])
        proc = w2s.Process([w2s.binary(binary), "--config", path], binary)
        self.addCleanup(proc.kill)
        proc.wait_http(port, "/healthz")

        status, _, body = w2s.http_get(port, "/readyz")
        self.assertEqual((status, body), (200, "ready\n"))
        status, ctype, body = w2s.http_get(port, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        service = "signaling" if section == "signaling" else "media-relay"
        self.assertIn(f'webrtc2sip_build_info{{service="{service}",version="', body)
        self.assertIn("# TYPE process_resident_memory_bytes gauge", body)
        rss = [l for l in body.splitlines() if l.startswith("process_resident_memory_bytes ")]
        self.assertEqual(len(rss), 1)
        self.assertGreater(float(rss[0].split()[1]), 1e6)
        status, _, _ = w2s.http_get(port, "/nope")
        self.assertEqual(status, 404)

        self.assertEqual(proc.stop(stop_signal, timeout=10), 0, proc.output())
        log = proc.output()
        self.assertIn("msg=starting", log)
        self.assertIn("msg=stopped", log)

    def test_signaling_sigterm(self):
        self.run_service("webrtc2sip-signaling", "signaling", signal.SIGTERM)

    def test_media_relay_sigterm(self):
        self.run_service("webrtc2sip-media-relay", "media_relay", signal.SIGTERM)

    def test_signaling_sigint(self):
        self.run_service("webrtc2sip-signaling", "signaling", signal.SIGINT)


class BadConfig(unittest.TestCase):
    def check_rejected(self, binary, mutate, expected, check_only):
        cfg = w2s.local_config()
        mutate(cfg)
        path = w2s.write_config(cfg)
        self.addCleanup(os.unlink, path)
        flag = "--check-config" if check_only else "--config"
        r = subprocess.run([w2s.binary(binary), flag, path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith(f"config error: {path}"), lines[0])
        self.assertIn(expected, lines[0])
        self.assertEqual(r.stdout, "")

    def test_unknown_key(self):
        for binary, _ in SERVICES:
            for check_only in (True, False):
                self.check_rejected(binary, lambda c: c["media"].update(codec=["pcma"]),
                                    "media.codec: unknown key (did you mean 'codecs'?)", check_only)

    def test_wrong_type(self):
        self.check_rejected("webrtc2sip-media-relay",
                            lambda c: c["media_relay"].update(capacity="lots"),
                            "media_relay.capacity: 'lots' is not an integer", False)

    def test_media_coder_refuses_codecs_this_machine_cannot_transcode(self):
        # Debian 12's GStreamer has no G.729 encoder: with the coder on, the
        # node could not serve a call that needs it.
        def coder_with(codecs):
            return lambda c: c["media"].update(enable_media_coder=True, codecs=codecs)
        for check_only in (True, False):
            self.check_rejected("webrtc2sip-media-relay", coder_with(["opus", "g729"]),
                                "media.codecs[1]: g729 cannot be transcoded on this machine", check_only)
        self.check_rejected("webrtc2sip-media-relay", coder_with(["pcmu", "h263"]),
                            "media.codecs[1]: h263 cannot be transcoded", True)
        for codecs, coder in ((["opus", "pcmu", "g722", "vp8", "h264-bp"], True), (["opus", "g729"], False)):
            cfg = w2s.local_config()
            cfg["media"].update(enable_media_coder=coder, codecs=codecs)
            path = w2s.write_config(cfg)
            self.addCleanup(os.unlink, path)
            r = subprocess.run([w2s.binary("webrtc2sip-media-relay"), "--check-config", path],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)  # passthrough needs no encoder

    def test_out_of_range(self):
        self.check_rejected("webrtc2sip-signaling",
                            lambda c: c["signaling"]["transports"][0].update(port=65536),
                            "signaling.transports[0].port: 65536 is out of range", False)

    def test_listen_port_in_use_is_a_clear_failure(self):
        cfg = w2s.local_config()
        import socket
        holder = socket.socket()
        holder.bind((w2s.LOOPBACK, 0))
        holder.listen()
        self.addCleanup(holder.close)
        cfg["media_relay"]["http_listen"] = f"{w2s.LOOPBACK}:{holder.getsockname()[1]}"
        path = w2s.write_config(cfg)
        self.addCleanup(os.unlink, path)
        r = subprocess.run([w2s.binary("webrtc2sip-media-relay"), "--config", path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot listen on", r.stderr)


class ConfigImport(unittest.TestCase):
    XML = """<?xml version="1.0" encoding="utf-8" ?>
<config>
  <debug-level>INFO</debug-level>
  <transport>udp;127.0.0.1;15060</transport>
  <transport>ws;127.0.0.1;15060</transport>
  <enable-media-coder>yes</enable-media-coder>
  <avpf-tail-length>150;500</avpf-tail-length>
  <codecs>pcmu;opus;h263+</codecs>
  <transport>c2c;*;10070</transport>
</config>
"""

    def test_import_then_check(self):
        with tempfile.TemporaryDirectory() as d:
            xml = os.path.join(d, "config.xml")
            out = os.path.join(d, "webrtc2sip.yaml")
            with open(xml, "w") as f:
                f.write(self.XML)
            r = subprocess.run([w2s.binary("webrtc2sip-config-import"), "--output", out, xml],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("<transport>: 'c2c;*;10070': the click-to-call", r.stderr)
            data = w2s.load_yaml(out)
            self.assertEqual(data["media"]["codecs"], ["pcmu", "opus", "h263+"])
            self.assertEqual(data["media"]["avpf_tail_length"], {"min": 150, "max": 500})
            self.assertTrue(data["media"]["enable_media_coder"])
            r = subprocess.run([w2s.binary("webrtc2sip-signaling"), "--check-config", out],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            # config.xml knew nothing of media nodes: the relay asks for its addresses.
            r = subprocess.run([w2s.binary("webrtc2sip-media-relay"), "--check-config", out],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertIn("media_relay.advertised: bind_address 0.0.0.0 is a wildcard", r.stderr)

    def test_broken_xml(self):
        with tempfile.TemporaryDirectory() as d:
            xml = os.path.join(d, "config.xml")
            with open(xml, "w") as f:
                f.write("<config>\n<srtp-mode>always</srtp-mode>\n</config>\n")
            r = subprocess.run([w2s.binary("webrtc2sip-config-import"), xml],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr.strip(), f"config error: {xml}:2: <srtp-mode>: 'always': "
                             "'always' is not one of: none, optional, mandatory")


if __name__ == "__main__":
    unittest.main(verbosity=2)
