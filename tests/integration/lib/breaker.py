"""RTCWeb Breaker calls for integration tests: a SIP-over-WebSocket client
that opts in with rtcweb-breaker=yes and offers a real Chromium SDP (captured
from JsSIP), and the media-relay nodes the calls run through."""

import os

import w2s
from ws_sip import WsSipClient


def _sdp_of(capture):
    with open(os.path.join(w2s.SOURCE_DIR, "tests/unit/signaling/testdata/jssip", capture), newline="") as f:
        return f.read().split("\r\n\r\n", 1)[1]


def chromium_offer():
    return _sdp_of("03-INVITE-outgoing-call.sip")


def chromium_answer():
    return _sdp_of("16-200-INVITE-incoming-call.sip")


async def breaker_client(ws_url, user, domain, contact_params=""):
    """A connected WsSipClient whose Contact asks for the RTCWeb Breaker."""
    c = WsSipClient(ws_url, user, domain)
    c.contact_params = ";rtcweb-breaker=yes" + contact_params
    await c.connect()
    return c


async def invite(c, uri, call_id, tag):
    """Sends the browser's INVITE with the Chromium offer; returns its CSeq."""
    c.cseq += 1
    await c.send(c.request("INVITE", uri, call_id, tag, f"<{uri}>", c.cseq, body=chromium_offer(),
                           content_type="application/sdp"))
    return c.cseq


class Call:
    """An answered breaker call from a browser: ACK sent, BYE on demand."""

    def __init__(self, client, call_id, tag, ok):
        self.client, self.call_id, self.tag = client, call_id, tag
        self.contact = ok.header("contact").strip("<>")
        self.to = ok.header("to")

    async def bye(self, timeout=10):
        c = self.client
        c.cseq += 1
        await c.send(c.request("BYE", self.contact, self.call_id, self.tag, self.to, c.cseq))
        return await c.response_to(self.call_id, c.cseq, "BYE", timeout=timeout)


async def call(c, uri, call_id, tag="t1", timeout=20):
    """Places one breaker call and ACKs its 200; returns (final response, Call or None)."""
    cseq = await invite(c, uri, call_id, tag)
    ok = await c.response_to(call_id, cseq, "INVITE", timeout=timeout)
    if ok.status != 200:
        return ok, None
    answered = Call(c, call_id, tag, ok)
    await c.send(c.request("ACK", answered.contact, call_id, tag, answered.to, cseq, cseq_method="ACK"))
    return ok, answered


def start_media_relay(cfg, name, port_range=None, grpc_port=None, http_port=None, with_media=False):
    """A media-relay node with the log and media_relay sections of `cfg`
    (and its media section too when `with_media`), on 127.0.0.1 with the
    given gRPC and HTTP ports (free ones by default) and `port_range`
    (min, max) for media when given. The Process has .grpc
    ("127.0.0.1:port") and .http_port."""
    relay_cfg = {"log": cfg["log"], "media_relay": dict(cfg["media_relay"])}
    if with_media:
        relay_cfg["media"] = cfg["media"]
    grpc_port, http_port = grpc_port or w2s.free_port(), http_port or w2s.free_port()
    relay_cfg["media_relay"]["grpc_listen"] = f"{w2s.LOOPBACK}:{grpc_port}"
    relay_cfg["media_relay"]["http_listen"] = f"{w2s.LOOPBACK}:{http_port}"
    if port_range:
        relay_cfg["media_relay"]["port_range"] = {"min": port_range[0], "max": port_range[1]}
    path = w2s.write_config(relay_cfg)
    proc = w2s.Process([w2s.binary("webrtc2sip-media-relay"), "--config", path], name)
    proc.config_path = path
    proc.grpc = f"{w2s.LOOPBACK}:{grpc_port}"
    proc.http_port = http_port
    try:
        proc.wait_http(http_port)
    except Exception:
        proc.kill()
        raise
    return proc
