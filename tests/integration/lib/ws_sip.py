"""A small SIP user agent over WebSocket (RFC 7118) for integration tests:
what a browser's JavaScript stack sends, without the browser. It registers
with digest auth, calls, answers, sends MESSAGE and BYE; every message it
receives is kept for assertions."""

import asyncio
import hashlib
import random
import re
import string

import websockets


def _rand(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class Message:
    def __init__(self, text):
        self.text = text
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers.append((name.strip().lower(), value.strip()))
        parts = self.start.split(" ", 2)
        if parts[0] == "SIP/2.0":
            self.status, self.method = int(parts[1]), None
            self.uri = None
        else:
            self.status, self.method, self.uri = None, parts[0], parts[1]
        cseq = self.header("cseq") or ""
        self.cseq_method = cseq.split()[-1] if cseq else None

    def header(self, name):
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def __repr__(self):
        return self.start


def digest(user, password, realm, nonce, method, uri, qop=None, nc="00000001", cnonce=None):
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    if qop:
        resp = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode()).hexdigest()
    else:
        resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    return resp


class WsSipClient:
    """One WebSocket connection, one SIP identity."""

    def __init__(self, url, user, domain, password="secret"):
        self.url, self.user, self.domain, self.password = url, user, domain, password
        self.host = _rand(12) + ".invalid"
        self.contact_user = _rand(8)
        self.ws = None
        self.inbox = asyncio.Queue()   # requests from the gateway
        self.responses = {}           # (call-id, cseq) -> asyncio.Queue
        self.received = []            # every message, for assertions
        self.cseq = random.randint(1, 1000)
        self.reader = None
        self.contact_params = ""  # e.g. ";rtcweb-breaker=yes;impi=alice;ha1=..."

    @property
    def contact(self):
        return f"<sip:{self.contact_user}@{self.host};transport=ws{self.contact_params}>"

    async def connect(self):
        self.ws = await websockets.connect(self.url, subprotocols=["sip"], max_size=None)
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def close(self):
        if self.ws:
            await self.ws.close()
        if self.reader:
            self.reader.cancel()

    async def _read(self):
        try:
            async for frame in self.ws:
                text = frame if isinstance(frame, str) else frame.decode()
                if text.strip() == "":
                    self.received.append(Message("PONG x SIP/2.0\r\n\r\n"))
                    continue
                msg = Message(text)
                self.received.append(msg)
                if msg.status is not None:
                    key = (msg.header("call-id"), msg.header("cseq"))
                    self.responses.setdefault(key, asyncio.Queue()).put_nowait(msg)
                else:
                    self.inbox.put_nowait(msg)
        except websockets.ConnectionClosed:
            pass

    async def send(self, text):
        await self.ws.send(text)

    def request(self, method, uri, call_id, from_tag, to, cseq, extra="", body="",
                content_type=None, branch=None, cseq_method=None):
        branch = branch or "z9hG4bK" + _rand(10)
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/WS {self.host};branch={branch}",
                 "Max-Forwards: 70",
                 f"To: {to}",
                 f"From: <sip:{self.user}@{self.domain}>;tag={from_tag}",
                 f"Call-ID: {call_id}",
                 f"CSeq: {cseq} {cseq_method or method}",
                 f"Contact: {self.contact}"]
        if extra:
            lines += [l for l in extra.split("\r\n") if l]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    async def response_to(self, call_id, cseq, method, timeout=10, final=True):
        q = self.responses.setdefault((call_id, f"{cseq} {method}"), asyncio.Queue())
        while True:
            msg = await asyncio.wait_for(q.get(), timeout)
            if not final or msg.status >= 200:
                return msg

    async def transaction(self, method, uri, call_id, from_tag, to, extra="", body="",
                          content_type=None, timeout=10):
        """Sends a request, answers one 401/407 challenge, returns the final response."""
        auth = ""
        for _ in range(2):
            self.cseq += 1
            await self.send(self.request(method, uri, call_id, from_tag, to, self.cseq,
                                         extra + auth, body, content_type))
            resp = await self.response_to(call_id, self.cseq, method, timeout)
            if resp.status in (401, 407) and not auth:
                challenge = resp.header("www-authenticate" if resp.status == 401 else "proxy-authenticate")
                realm = re.search(r'realm="([^"]*)"', challenge).group(1)
                nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
                r = digest(self.user, self.password, realm, nonce, method, uri)
                name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
                auth = (f'{name}: Digest username="{self.user}", realm="{realm}", '
                        f'nonce="{nonce}", uri="{uri}", response="{r}", algorithm=MD5\r\n')
                if method == "INVITE":
                    await self.ack_non2xx(uri, call_id, from_tag, resp)
                continue
            return resp
        return resp

    async def ack_non2xx(self, uri, call_id, from_tag, resp):
        via = resp.all("via")[0]
        branch = re.search(r"branch=([^;]+)", via).group(1)
        lines = [f"ACK {uri} SIP/2.0", f"Via: SIP/2.0/WS {self.host};branch={branch}",
                 "Max-Forwards: 70", f"To: {resp.header('to')}",
                 f"From: <sip:{self.user}@{self.domain}>;tag={from_tag}",
                 f"Call-ID: {call_id}", f"CSeq: {resp.header('cseq').split()[0]} ACK",
                 "Content-Length: 0"]
        await self.send("\r\n".join(lines) + "\r\n\r\n")

    async def register(self, expires=600):
        self.reg_call_id = _rand(16)
        self.reg_tag = _rand(8)
        uri = f"sip:{self.domain}"
        return await self.transaction("REGISTER", uri, self.reg_call_id, self.reg_tag,
                                      f"<sip:{self.user}@{self.domain}>",
                                      extra=f"Expires: {expires}\r\n")

    async def next_request(self, method=None, timeout=10):
        while True:
            msg = await asyncio.wait_for(self.inbox.get(), timeout)
            if method is None or msg.method == method:
                return msg

    async def reply(self, req, status, reason, body="", content_type=None, to_tag=None,
                    contact=True):
        to = req.header("to")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in req.all("via")]
        lines += [f"Record-Route: {r}" for r in req.all("record-route")]
        lines += [f"From: {req.header('from')}", f"To: {to}",
                  f"Call-ID: {req.header('call-id')}", f"CSeq: {req.header('cseq')}"]
        if contact and status < 300 and req.method in ("INVITE", "SUBSCRIBE"):
            lines.append(f"Contact: {self.contact}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body.encode())}")
        await self.send("\r\n".join(lines) + "\r\n\r\n" + body)


class Dialog:
    """The caller's view of an INVITE dialog: route set, remote target, tags."""

    def __init__(self, client, call_id, from_tag, ok):
        self.client = client
        self.call_id = call_id
        self.from_tag = from_tag
        self.to = ok.header("to")
        rr = []
        for value in ok.all("record-route"):
            rr += [v.strip() for v in value.split(",")]
        self.routes = list(reversed(rr))
        self.target = re.search(r"<([^>]+)>", ok.header("contact")).group(1)

    def route_headers(self):
        return "".join(f"Route: {r}\r\n" for r in self.routes)

    async def ack(self, cseq):
        c = self.client
        await c.send(c.request("ACK", self.target, self.call_id, self.from_tag, self.to, cseq,
                               extra=self.route_headers(), cseq_method="ACK"))

    async def bye(self):
        c = self.client
        c.cseq += 1
        await c.send(c.request("BYE", self.target, self.call_id, self.from_tag, self.to, c.cseq,
                               extra=self.route_headers()))
        return await c.response_to(self.call_id, c.cseq, "BYE")


SDP_OFFER = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")
