"""A minimal SDP helper for the media-relay integration test: the test is the
signaling, so it turns a WebRTC peer's SDP into the relay's proto messages
(RemoteDescription) and the relay's LocalDescription back into SDP.

Only what a one-transport, BUNDLEd, rtcp-mux WebRTC description uses is
handled; it is not a general SDP library."""

import random

_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


class Codec:
    def __init__(self, pt, name, rate, channels=0):
        self.pt = pt
        self.name = name
        self.rate = rate
        self.channels = channels
        self.fmtp = ""
        self.feedback = []  # (type, parameter)

    def __repr__(self):
        return f"Codec({self.pt} {self.name}/{self.rate}/{self.channels})"


class Media:
    def __init__(self, kind, port, proto, fmts):
        self.kind = kind
        self.port = port
        self.proto = proto
        self.fmts = fmts
        self.address = None
        self.mid = None
        self.direction = "sendrecv"
        self.codecs = []
        self.candidates = []  # dicts
        self.end_of_candidates = False
        self.ufrag = None
        self.pwd = None
        self.fingerprints = []  # (algorithm, value)
        self.setup = None
        self.rtcp_mux = False
        self.rtcp_rsize = False
        self.ssrcs = []
        self.extmaps = []  # (id, uri)
        self.crypto = []  # (tag, suite, key_params)


class Session:
    def __init__(self):
        self.ice_lite = False
        self.ufrag = None
        self.pwd = None
        self.fingerprints = []
        self.setup = None
        self.bundle = []
        self.address = None
        self.media = []


def parse(text):
    """Parses SDP text into a Session; session-level ICE/DTLS attributes are
    inherited by media sections that do not have their own."""
    sess = Session()
    cur = None
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:]
        if key == "m":
            parts = value.split()
            cur = Media(parts[0], int(parts[1]), parts[2], parts[3:])
            sess.media.append(cur)
            continue
        if key == "c":
            addr = value.split()[2]
            if cur is None:
                sess.address = addr
            else:
                cur.address = addr
            continue
        if key != "a":
            continue
        name, _, arg = value.partition(":")
        target = cur
        if cur is None:
            if name == "ice-lite":
                sess.ice_lite = True
            elif name == "ice-ufrag":
                sess.ufrag = arg
            elif name == "ice-pwd":
                sess.pwd = arg
            elif name == "fingerprint":
                alg, fp = arg.split(None, 1)
                sess.fingerprints.append((alg, fp.strip()))
            elif name == "setup":
                sess.setup = arg
            elif name == "group" and arg.startswith("BUNDLE"):
                sess.bundle = arg.split()[1:]
            continue
        if name in _DIRECTIONS:
            target.direction = name
        elif name == "mid":
            target.mid = arg
        elif name == "rtpmap":
            pt, enc = arg.split(None, 1)
            bits = enc.split("/")
            target.codecs.append(Codec(int(pt), bits[0], int(bits[1]),
                                       int(bits[2]) if len(bits) > 2 else 0))
        elif name == "fmtp":
            pt, params = arg.split(None, 1)
            for c in target.codecs:
                if c.pt == int(pt):
                    c.fmtp = params
        elif name == "rtcp-fb":
            pt, fb = arg.split(None, 1)
            fbs = fb.split(None, 1)
            for c in target.codecs:
                if pt == "*" or c.pt == int(pt):
                    c.feedback.append((fbs[0], fbs[1] if len(fbs) > 1 else ""))
        elif name == "candidate":
            f = arg.split()
            cand = {"foundation": f[0], "component": int(f[1]), "protocol": f[2].lower(),
                    "priority": int(f[3]), "address": f[4], "port": int(f[5]), "type": f[7],
                    "related_address": "", "related_port": 0}
            rest = f[8:]
            for i in range(0, len(rest) - 1, 2):
                if rest[i] == "raddr":
                    cand["related_address"] = rest[i + 1]
                elif rest[i] == "rport":
                    cand["related_port"] = int(rest[i + 1])
            target.candidates.append(cand)
        elif name == "end-of-candidates":
            target.end_of_candidates = True
        elif name == "ice-ufrag":
            target.ufrag = arg
        elif name == "ice-pwd":
            target.pwd = arg
        elif name == "fingerprint":
            alg, fp = arg.split(None, 1)
            target.fingerprints.append((alg, fp.strip()))
        elif name == "setup":
            target.setup = arg
        elif name == "rtcp-mux":
            target.rtcp_mux = True
        elif name == "rtcp-rsize":
            target.rtcp_rsize = True
        elif name == "ssrc":
            ssrc = int(arg.split()[0])
            if ssrc not in target.ssrcs:
                target.ssrcs.append(ssrc)
        elif name == "extmap":
            ident, uri = arg.split(None, 1)
            target.extmaps.append((int(ident.split("/")[0]), uri.split()[0]))
        elif name == "crypto":
            tag, suite, params = arg.split(None, 2)
            target.crypto.append((int(tag), suite, params.split()[0]))
    for m in sess.media:
        m.ufrag = m.ufrag or sess.ufrag
        m.pwd = m.pwd or sess.pwd
        m.fingerprints = m.fingerprints or list(sess.fingerprints)
        m.setup = m.setup or sess.setup
        m.address = m.address or sess.address
    return sess


# ------------------------------------------------------------ SDP -> proto

_SETUP_TO_ROLE = {"actpass": 0, "active": 1, "passive": 2}  # DtlsRole values
_KINDS = {"audio": 1, "video": 2}
_DIR_VALUES = {"sendrecv": 0, "sendonly": 1, "recvonly": 2, "inactive": 3}


def webrtc_remote(pb, text, keep_candidate=lambda c: c["address"] == "127.0.0.1",
                  fingerprint_override=None):
    """The RemoteDescription of a WebRTC peer's SDP (offer or answer)."""
    sess = parse(text)
    if not sess.media:
        raise ValueError("SDP without media")
    first = sess.media[0]
    streams = []
    for m in sess.media:
        s = pb.MediaStream(mid=m.mid or "", kind=_KINDS.get(m.kind, 0),
                           direction=_DIR_VALUES[m.direction], ssrcs=m.ssrcs,
                           rtcp_rsize=m.rtcp_rsize, rejected=m.port == 0)
        for c in m.codecs:
            s.codecs.add(payload_type=c.pt, name=c.name, clock_rate=c.rate, channels=c.channels,
                         fmtp=c.fmtp,
                         rtcp_feedback=[pb.RtcpFeedback(type=t, parameter=p)
                                        for t, p in c.feedback])
        for ident, uri in m.extmaps:
            s.header_extensions.add(id=ident, uri=uri)
        streams.append(s)
    fps = fingerprint_override or first.fingerprints
    transport = pb.WebRtcTransport(
        ice_ufrag=first.ufrag or "", ice_pwd=first.pwd or "", ice_lite=sess.ice_lite,
        end_of_candidates=first.end_of_candidates,
        dtls_role=_SETUP_TO_ROLE.get(first.setup or "actpass", 0),
        fingerprints=[pb.Fingerprint(algorithm=a, value=v) for a, v in fps],
        bundle=bool(sess.bundle), rtcp_mux=first.rtcp_mux)
    for c in first.candidates:
        if keep_candidate(c):
            transport.candidates.add(**c)
    return pb.RemoteDescription(streams=streams, webrtc=transport)


# ------------------------------------------------------------ proto -> SDP

_ROLE_TO_SETUP = {0: "actpass", 1: "active", 2: "passive"}
_DIR_NAMES = {v: k for k, v in _DIR_VALUES.items()}
_INVERSE = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
            "inactive": "inactive"}


def webrtc_local_to_sdp(local, direction=None):
    """SDP for a WebRTC peer from the relay's LocalDescription of the WebRTC
    leg: an answer when dtls_role is CLIENT/SERVER, an offer when UNSPECIFIED
    (actpass). The streams' directions are the peer's view, so the relay's
    own direction is their inverse unless `direction` forces one."""
    t = local.webrtc
    sid = random.randint(1, 2**62)
    mids = [s.mid or str(i) for i, s in enumerate(local.streams)]
    lines = ["v=0", f"o=- {sid} 1 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    if t.ice_lite:
        lines.append("a=ice-lite")
    if t.bundle:
        lines.append("a=group:BUNDLE " + " ".join(mids))
    lines.append("a=msid-semantic:WMS *")
    host = next((c for c in t.candidates), None)
    port = host.port if host else 9
    addr = host.address if host else "0.0.0.0"
    for i, s in enumerate(local.streams):
        kind = "audio" if s.kind == 1 else "video"
        pts = " ".join(str(c.payload_type) for c in s.codecs)
        lines.append(f"m={kind} {0 if s.rejected else port} UDP/TLS/RTP/SAVPF {pts}")
        lines.append(f"c=IN IP4 {addr}")
        lines.append(f"a=mid:{mids[i]}")
        d = direction or _INVERSE[_DIR_NAMES[s.direction]]
        lines.append(f"a={d}")
        for ext in s.header_extensions:
            lines.append(f"a=extmap:{ext.id} {ext.uri}")
        lines.append("a=rtcp-mux")
        if s.rtcp_rsize:
            lines.append("a=rtcp-rsize")
        for c in s.codecs:
            enc = f"{c.name}/{c.clock_rate}" + (f"/{c.channels}" if c.channels > 1 else "")
            lines.append(f"a=rtpmap:{c.payload_type} {enc}")
            if c.fmtp:
                lines.append(f"a=fmtp:{c.payload_type} {c.fmtp}")
            for fb in c.rtcp_feedback:
                lines.append(f"a=rtcp-fb:{c.payload_type} {fb.type}" +
                             (f" {fb.parameter}" if fb.parameter else ""))
        for ssrc in s.ssrcs:
            lines.append(f"a=ssrc:{ssrc} cname:webrtc2sip-relay")
        lines.append(f"a=ice-ufrag:{t.ice_ufrag}")
        lines.append(f"a=ice-pwd:{t.ice_pwd}")
        for fp in t.fingerprints:
            lines.append(f"a=fingerprint:{fp.algorithm} {fp.value}")
        lines.append(f"a=setup:{_ROLE_TO_SETUP[t.dtls_role]}")
        for c in t.candidates:
            cand = (f"a=candidate:{c.foundation} {c.component} {c.protocol} {c.priority} "
                    f"{c.address} {c.port} typ {c.type}")
            if c.related_address:
                cand += f" raddr {c.related_address} rport {c.related_port}"
            lines.append(cand)
        if t.end_of_candidates:
            lines.append("a=end-of-candidates")
    return "\r\n".join(lines) + "\r\n"
