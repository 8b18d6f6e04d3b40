"""A gateway with the Media Coder on, for the tests that call through it:
Kamailio as the SIP network, one media-relay node and signaling, both with
media.enable_media_coder; a small SIP phone over UDP; the relay's coder
metrics."""

import asyncio
import os
import re
import time
import unittest

import w2s
from breaker import start_media_relay
from ws_sip import Message


def without_candidates(sdp):
    """aiortc's SDP without its candidates: the relay (ICE-lite) learns its
    address from its checks, as media_relay_test explains."""
    return "".join(line + "\r\n" for line in sdp.splitlines() if not line.startswith("a=candidate"))


def _hop(uri):
    """(host, port) a request to `uri` goes to."""
    m = re.search(r"sips?:(?:[^@>]+@)?([^:;>]+)(?::(\d+))?", uri)
    return m.group(1), int(m.group(2) or 5060)


class SipPhone(asyncio.DatagramProtocol):
    """A legacy phone's SIP over UDP on 127.0.0.1: it answers an INVITE with
    the SDP the test writes, or calls through the registrar; it keeps every
    message it gets."""

    def __init__(self):
        self.transport = None
        self.port = None
        self.requests = asyncio.Queue()
        self.responses = {}  # (call-id, "cseq method") -> asyncio.Queue
        self.received = []
        self.dialog = None   # the call it placed: call-id, tags, route set, target, cseq

    async def open(self):
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self,
                                                                local_addr=(w2s.LOOPBACK, 0))
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def close(self):
        self.transport.close()

    @property
    def uri(self):
        return f"sip:phone@{w2s.LOOPBACK}:{self.port}"

    def datagram_received(self, data, addr):
        text = data.decode(errors="replace")
        if not text.strip():
            return  # a keepalive
        msg = Message(text)
        msg.source = addr
        self.received.append(msg)
        if msg.status is None:
            self.requests.put_nowait(msg)
        else:
            key = (msg.header("call-id"), msg.header("cseq"))
            self.responses.setdefault(key, asyncio.Queue()).put_nowait(msg)

    async def next_request(self, method, timeout=20):
        while True:
            msg = await asyncio.wait_for(self.requests.get(), timeout)
            if msg.method == method:
                return msg

    def reply(self, req, status, reason, body="", to_tag=None):
        to = req.header("to")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in req.all("via")]
        lines += [f"Record-Route: {r}" for r in req.all("record-route")]
        lines += [f"From: {req.header('from')}", f"To: {to}", f"Call-ID: {req.header('call-id')}",
                  f"CSeq: {req.header('cseq')}"]
        if req.method == "INVITE" and status < 300:
            lines.append(f"Contact: <{self.uri}>")
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        self.transport.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), req.source)

    def _request(self, method, uri, cseq, to, routes=(), body=""):
        d = self.dialog
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {w2s.LOOPBACK}:{self.port};branch=z9hG4bK{os.urandom(6).hex()};rport",
                 "Max-Forwards: 70", f"From: <{self.uri}>;tag={d['tag']}", f"To: {to}",
                 f"Call-ID: {d['call_id']}", f"CSeq: {cseq} {method}", f"Contact: <{self.uri}>"]
        lines += [f"Route: {r}" for r in routes]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        hop = _hop(routes[0] if routes else uri) if method != "INVITE" else d["proxy"]
        self.transport.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), hop)

    async def _final(self, cseq, method, timeout=20):
        q = self.responses.setdefault((self.dialog["call_id"], f"{cseq} {method}"), asyncio.Queue())
        while True:
            resp = await asyncio.wait_for(q.get(), timeout)
            if resp.status >= 200:
                return resp

    async def call(self, uri, proxy, sdp):
        """INVITEs `uri` through `proxy` (host, port) and ACKs a 200; the final response."""
        self.dialog = {"call_id": "phone-" + os.urandom(6).hex(), "tag": os.urandom(4).hex(),
                       "proxy": proxy}
        self._request("INVITE", uri, 1, f"<{uri}>", body=sdp)
        resp = await self._final(1, "INVITE", timeout=30)
        if resp.status == 200:
            rr = [r.strip() for value in resp.all("record-route") for r in value.split(",")]
            self.dialog.update(to=resp.header("to"), routes=list(reversed(rr)),
                               target=re.search(r"<([^>]+)>", resp.header("contact")).group(1))
            self._request("ACK", self.dialog["target"], 1, self.dialog["to"], self.dialog["routes"])
        return resp

    async def bye(self):
        d = self.dialog
        self._request("BYE", d["target"], 2, d["to"], d["routes"])
        return await self._final(2, "BYE")


class CoderGatewayCase(unittest.IsolatedAsyncioTestCase):
    """Starts the gateway once per class: set PREFIX, CODECS (media.codecs, in
    order) and PORTS (the relay's port range) in the subclass."""
    PREFIX = "w2s-media-coder-"
    CODECS = ["opus", "pcmu"]
    PORTS = (47000, 47999)

    @classmethod
    def setUpClass(cls):
        w2s.start_sip_network(cls, cls.PREFIX)
        cfg = w2s.signaling_config(cls.kam_port)
        cfg["media"].update(enable_media_coder=True, codecs=cls.CODECS, srtp_mode="none")
        cls.capacity = cfg["media_relay"].get("capacity", 1000)
        try:
            cls.relay = start_media_relay(cfg, "media-relay", port_range=cls.PORTS, with_media=True)
            cfg["signaling"]["media_nodes"] = {"addresses": [cls.relay.grpc]}
            cls.gw = w2s.start_signaling(cfg)
            # Calls start once the gateway has seen its node up, not before.
            deadline = time.monotonic() + 15
            while w2s.metric(cls.gw.http_port, "webrtc2sip_media_nodes", state="healthy") < 1:
                if time.monotonic() > deadline:
                    cls.gw.kill()
                    raise TimeoutError("the media node is not up at the gateway:\n" + cls.gw.output())
                time.sleep(0.05)
        except Exception:
            if getattr(cls, "relay", None):
                cls.relay.kill()
            cls.kamailio.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        cls.relay.stop()
        cls.kamailio.stop()
        cls.kamailio.kill()
        assert code == 0, cls.gw.output()

    def coder(self, what, frm, to, **labels):
        """A Media Coder metric of the relay for one codec pair, summed over its other labels."""
        return w2s.metric_sum(self.relay.http_port, f"webrtc2sip_coder_{what}",
                              **{"from": frm, "to": to}, **labels)

    def coder_all(self, what):
        return w2s.metric_sum(self.relay.http_port, f"webrtc2sip_coder_{what}")

    def assert_node_load(self, sessions_worth):
        """The relay's weighted load is that many relayed sessions' worth (a transcoded
        audio stream adds 2, a video one 36: RelaySession::Weight)."""
        load = w2s.metric(self.relay.http_port, "webrtc2sip_media_node_load")
        self.assertAlmostEqual(load, sessions_worth / self.capacity, places=9,
                               msg=f"node load {load} with capacity {self.capacity}")
