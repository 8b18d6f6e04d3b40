#include "services/signaling/sdp/sdp_writer.h"

#include <algorithm>

namespace webrtc2sip::signaling::sdp {
namespace {

class Writer {
 public:
  std::string Take() { return std::move(out_); }

  void Line(char type, const std::string& value) {
    out_ += type;
    out_ += '=';
    out_ += value;
    out_ += "\r\n";
  }
  void Attr(const std::string& name) { Line('a', name); }
  void Attr(const std::string& name, const std::string& value) { Line('a', name + ":" + value); }

  void Raw(const std::vector<RawLine>& lines, char type) {
    for (const RawLine& l : lines) {
      if (l.type == type) Line(l.type, l.value);
    }
  }
  void Connection(const sdp::Connection& c) {
    Line('c', c.net_type + " " + c.addr_type + " " + c.address);
  }
  void Fingerprints(const std::vector<Fingerprint>& fps) {
    for (const Fingerprint& f : fps) Attr("fingerprint", f.algorithm + " " + f.value);
  }
  void Extmaps(const std::vector<ExtMap>& extmaps) {
    for (const ExtMap& e : extmaps) {
      std::string v = std::to_string(e.id);
      if (!e.direction.empty()) v += "/" + e.direction;
      v += " " + e.uri;
      if (!e.attributes.empty()) v += " " + e.attributes;
      Attr("extmap", v);
    }
  }
  void Others(const std::vector<Attribute>& attrs) {
    for (const Attribute& a : attrs) {
      if (a.has_value) {
        Attr(a.name, a.value);
      } else {
        Attr(a.name);
      }
    }
  }
  void Transport(const std::string& ufrag, const std::string& pwd, const std::string& options,
                 const std::vector<Fingerprint>& fps, const std::optional<Setup>& setup) {
    if (!ufrag.empty()) Attr("ice-ufrag", ufrag);
    if (!pwd.empty()) Attr("ice-pwd", pwd);
    if (!options.empty()) Attr("ice-options", options);
    Fingerprints(fps);
    if (setup) Attr("setup", SetupName(*setup));
  }

  void Format(const MediaDescription& m, const std::string& format) {
    for (const RtpMap& r : m.rtpmaps) {
      if (std::to_string(r.payload_type) == format) RtpMapLine(r);
    }
    for (const RtcpFb& fb : m.rtcp_fbs) {
      if (fb.format == format) RtcpFbLine(fb);
    }
    for (const Fmtp& f : m.fmtps) {
      if (f.format == format) FmtpLine(f);
    }
  }
  void RtpMapLine(const RtpMap& r) {
    std::string v =
        std::to_string(r.payload_type) + " " + r.encoding + "/" + std::to_string(r.clock_rate);
    if (r.channels) v += "/" + std::to_string(r.channels);
    Attr("rtpmap", v);
  }
  void RtcpFbLine(const RtcpFb& fb) {
    Attr("rtcp-fb", fb.format + " " + fb.type + (fb.parameter.empty() ? "" : " " + fb.parameter));
  }
  void FmtpLine(const Fmtp& f) {
    Attr("fmtp", f.format + (f.parameters.empty() ? "" : " " + f.parameters));
  }

  void CandidateLine(const Candidate& c) {
    std::string v = c.foundation + " " + std::to_string(c.component) + " " + c.transport + " " +
                    std::to_string(c.priority) + " " + c.address + " " + std::to_string(c.port) +
                    " typ " + c.type;
    if (c.has_related) {
      v += " raddr " + c.related_address + " rport " + std::to_string(c.related_port);
    }
    for (const auto& [name, value] : c.extensions) {
      v += " " + name;
      if (!value.empty()) v += " " + value;
    }
    Attr("candidate", v);
  }

  void Media(const MediaDescription& m);

 private:
  std::string out_;
};

void Writer::Media(const MediaDescription& m) {
  std::string mline = m.media + " " + std::to_string(m.port);
  if (m.port_count) mline += "/" + std::to_string(*m.port_count);
  mline += " " + m.proto;
  for (const std::string& f : m.formats) mline += " " + f;
  Line('m', mline);
  Raw(m.lines, 'i');
  if (m.connection) Connection(*m.connection);
  Raw(m.lines, 'b');
  Raw(m.lines, 'k');
  if (m.rtcp) {
    std::string v = std::to_string(m.rtcp->port);
    if (m.rtcp->connection) {
      const auto& c = *m.rtcp->connection;
      v += " " + c.net_type + " " + c.addr_type + " " + c.address;
    }
    Attr("rtcp", v);
  }
  Transport(m.ice_ufrag, m.ice_pwd, m.ice_options, m.fingerprints, m.setup);
  if (!m.mid.empty()) Attr("mid", m.mid);
  Extmaps(m.extmaps);
  if (m.direction) Attr(DirectionName(*m.direction));
  if (!m.msid.empty()) Attr("msid", m.msid);
  if (m.rtcp_mux) Attr("rtcp-mux");
  if (m.rtcp_rsize) Attr("rtcp-rsize");
  if (m.bundle_only) Attr("bundle-only");
  for (const std::string& f : m.formats) Format(m, f);
  // Lines for formats the m= line does not list (and rtcp-fb "*"), as they came.
  auto listed = [&m](const std::string& f) {
    return std::find(m.formats.begin(), m.formats.end(), f) != m.formats.end();
  };
  for (const RtpMap& r : m.rtpmaps) {
    if (!listed(std::to_string(r.payload_type))) RtpMapLine(r);
  }
  for (const RtcpFb& fb : m.rtcp_fbs) {
    if (!listed(fb.format)) RtcpFbLine(fb);
  }
  for (const Fmtp& f : m.fmtps) {
    if (!listed(f.format)) FmtpLine(f);
  }
  if (m.ptime) Attr("ptime", std::to_string(*m.ptime));
  if (m.maxptime) Attr("maxptime", std::to_string(*m.maxptime));
  for (const Crypto& c : m.crypto) {
    Attr("crypto", std::to_string(c.tag) + " " + c.suite + " " + c.key_params +
                       (c.session_params.empty() ? "" : " " + c.session_params));
  }
  for (const Candidate& c : m.candidates) CandidateLine(c);
  if (m.end_of_candidates) Attr("end-of-candidates");
  for (const SsrcGroup& g : m.ssrc_groups) {
    std::string v = g.semantics;
    for (uint32_t s : g.ssrcs) v += " " + std::to_string(s);
    Attr("ssrc-group", v);
  }
  for (const SsrcAttribute& s : m.ssrcs) {
    Attr("ssrc", std::to_string(s.ssrc) + " " + s.name + (s.value.empty() ? "" : ":" + s.value));
  }
  Others(m.other);
}

}  // namespace

std::string WriteSdp(const SessionDescription& sdp) {
  Writer w;
  w.Line('v', "0");
  const Origin& o = sdp.origin;
  w.Line('o', o.username + " " + o.session_id + " " + o.session_version + " " + o.net_type + " " +
                  o.addr_type + " " + o.address);
  w.Line('s', sdp.session_name.empty() ? " " : sdp.session_name);  // RFC 8866: "s= " for none
  for (char type : {'i', 'u', 'e', 'p'}) w.Raw(sdp.lines, type);
  if (sdp.connection) w.Connection(*sdp.connection);
  w.Raw(sdp.lines, 'b');
  for (const std::string& t : sdp.timing) w.Line('t', t);
  for (char type : {'r', 'z', 'k'}) w.Raw(sdp.lines, type);
  for (const Group& g : sdp.groups) {
    std::string v = g.semantics;
    for (const std::string& mid : g.mids) v += " " + mid;
    w.Attr("group", v);
  }
  if (sdp.ice_lite) w.Attr("ice-lite");
  w.Transport(sdp.ice_ufrag, sdp.ice_pwd, sdp.ice_options, sdp.fingerprints, sdp.setup);
  if (sdp.direction) w.Attr(DirectionName(*sdp.direction));
  if (!sdp.msid_semantic.empty()) w.Attr("msid-semantic", " " + sdp.msid_semantic);
  w.Extmaps(sdp.extmaps);
  w.Others(sdp.other);
  for (const MediaDescription& m : sdp.media) w.Media(m);
  return w.Take();
}

}  // namespace webrtc2sip::signaling::sdp
