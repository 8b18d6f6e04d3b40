#include "services/signaling/sdp/sdp_parser.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace webrtc2sip::signaling::sdp {
namespace {

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !IsBlank(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// The text after the first `n` fields, verbatim (trimmed).
std::string_view AfterFields(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t k = 0; k < n; ++k) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    while (i < s.size() && !IsBlank(s[i])) ++i;
  }
  return Trim(s.substr(std::min(i, s.size())));
}

std::optional<uint32_t> Number(std::string_view s,
                               uint32_t max = std::numeric_limits<uint32_t>::max()) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::optional<Direction> DirectionOf(std::string_view name) {
  if (name == "sendrecv") return Direction::kSendRecv;
  if (name == "sendonly") return Direction::kSendOnly;
  if (name == "recvonly") return Direction::kRecvOnly;
  if (name == "inactive") return Direction::kInactive;
  return std::nullopt;
}

class Parser {
 public:
  absl::StatusOr<SessionDescription> Run(std::string_view text);

 private:
  // Each returns "" when the line is fine, else what is wrong with it.
  std::string Line(char type, std::string_view value);
  std::string SessionLine(char type, std::string_view value);
  std::string MediaLine(char type, std::string_view value);
  std::string Attr(std::string_view name, std::string_view value, bool has_value);
  std::string CommonAttr(std::string_view name, std::string_view value, bool* handled);
  std::string MediaAttr(std::string_view name, std::string_view value, bool* handled);
  std::string SessionAttr(std::string_view name, std::string_view value, bool* handled);
  static void SortByFormat(MediaDescription& m);

  // The m= section being read (the last one), nullptr at session level.
  MediaDescription* media() { return sdp_.media.empty() ? nullptr : &sdp_.media.back(); }

  SessionDescription sdp_;
  bool seen_origin_ = false;
  bool seen_timing_ = false;
};

std::string ParseConnection(std::string_view value, Connection* out) {
  auto f = Fields(value);
  if (f.size() != 3) return "expected '<nettype> <addrtype> <address>'";
  out->net_type = f[0];
  out->addr_type = f[1];
  out->address = f[2];
  return "";
}

std::string ParseExtMap(std::string_view value, ExtMap* out) {
  auto f = Fields(value);
  if (f.size() < 2) return "expected '<id>[/<direction>] <uri>'";
  std::string_view id = f[0];
  if (size_t slash = id.find('/'); slash != std::string_view::npos) {
    out->direction = id.substr(slash + 1);
    id = id.substr(0, slash);
  }
  auto n = Number(id, 65535);
  if (!n) return "extension id '" + std::string(id) + "' is not a number";
  out->id = *n;
  out->uri = f[1];
  out->attributes = AfterFields(value, 2);
  return "";
}

std::string ParseCandidate(std::string_view value, Candidate* out) {
  auto f = Fields(value);
  if (f.size() < 8 || f[6] != "typ") {
    return "expected '<foundation> <component> <transport> <priority> <address> <port> typ "
           "<type> ...'";
  }
  auto component = Number(f[1], 256);
  auto priority = Number(f[3]);
  auto port = Number(f[5], 65535);
  if (!component) return "component '" + std::string(f[1]) + "' is not a number";
  if (!priority) return "priority '" + std::string(f[3]) + "' is not a 32-bit number";
  if (!port) return "port '" + std::string(f[5]) + "' is not a number in 0-65535";
  out->foundation = f[0];
  out->component = *component;
  out->transport = f[2];
  out->priority = *priority;
  out->address = f[4];
  out->port = *port;
  out->type = f[7];
  for (size_t i = 8; i < f.size(); i += 2) {
    std::string_view name = f[i];
    std::string_view val = i + 1 < f.size() ? f[i + 1] : std::string_view();
    if (name == "raddr") {
      out->related_address = val;
      out->has_related = true;
    } else if (name == "rport") {
      auto rport = Number(val, 65535);
      if (!rport) return "rport '" + std::string(val) + "' is not a number in 0-65535";
      out->related_port = *rport;
      out->has_related = true;
    } else {
      out->extensions.emplace_back(name, val);
    }
  }
  return "";
}

std::string Parser::CommonAttr(std::string_view name, std::string_view value, bool* handled) {
  const bool session = media() == nullptr;
  *handled = true;
  if (name == "ice-ufrag") {
    (session ? sdp_.ice_ufrag : media()->ice_ufrag) = value;
  } else if (name == "ice-pwd") {
    (session ? sdp_.ice_pwd : media()->ice_pwd) = value;
  } else if (name == "ice-options") {
    (session ? sdp_.ice_options : media()->ice_options) = value;
  } else if (name == "fingerprint") {
    auto f = Fields(value);
    if (f.size() != 2) return "expected '<hash function> <fingerprint>'";
    (session ? sdp_.fingerprints : media()->fingerprints)
        .push_back({std::string(f[0]), std::string(f[1])});
  } else if (name == "setup") {
    Setup s;
    if (value == "actpass")
      s = Setup::kActPass;
    else if (value == "active")
      s = Setup::kActive;
    else if (value == "passive")
      s = Setup::kPassive;
    else if (value == "holdconn")
      s = Setup::kHoldConn;
    else
      return "'" + std::string(value) + "' is not actpass, active, passive or holdconn";
    (session ? sdp_.setup : media()->setup) = s;
  } else if (auto d = DirectionOf(name)) {
    (session ? sdp_.direction : media()->direction) = *d;
  } else if (name == "extmap") {
    ExtMap e;
    if (std::string err = ParseExtMap(value, &e); !err.empty()) return err;
    (session ? sdp_.extmaps : media()->extmaps).push_back(std::move(e));
  } else {
    *handled = false;
  }
  return "";
}

std::string Parser::SessionAttr(std::string_view name, std::string_view value, bool* handled) {
  *handled = true;
  if (name == "group") {
    auto f = Fields(value);
    if (f.empty()) return "expected '<semantics> <mid>...'";
    Group g{std::string(f[0]), {}};
    for (size_t i = 1; i < f.size(); ++i) g.mids.emplace_back(f[i]);
    sdp_.groups.push_back(std::move(g));
  } else if (name == "ice-lite") {
    sdp_.ice_lite = true;
  } else if (name == "msid-semantic") {
    sdp_.msid_semantic = Trim(value);
  } else {
    *handled = false;
  }
  return "";
}

std::string Parser::MediaAttr(std::string_view name, std::string_view value, bool* handled) {
  MediaDescription& m = *media();
  *handled = true;
  if (name == "mid") {
    if (value.empty()) return "empty mid";
    m.mid = value;
  } else if (name == "rtpmap") {
    auto f = Fields(value);
    if (f.size() != 2) return "expected '<payload type> <encoding>/<clock rate>[/<channels>]'";
    auto pt = Number(f[0], 127);
    if (!pt) return "payload type '" + std::string(f[0]) + "' is not a number in 0-127";
    std::string_view enc = f[1];
    size_t s1 = enc.find('/');
    if (s1 == std::string_view::npos || s1 == 0) return "expected '<encoding>/<clock rate>'";
    size_t s2 = enc.find('/', s1 + 1);
    std::string_view rate = enc.substr(s1 + 1, s2 == std::string_view::npos ? s2 : s2 - s1 - 1);
    auto clock = Number(rate);
    if (!clock || *clock == 0) return "clock rate '" + std::string(rate) + "' is not a number";
    RtpMap r{*pt, std::string(enc.substr(0, s1)), *clock, 0};
    if (s2 != std::string_view::npos) {
      auto ch = Number(enc.substr(s2 + 1), 255);
      if (!ch) return "channels '" + std::string(enc.substr(s2 + 1)) + "' is not a number";
      r.channels = *ch;
    }
    m.rtpmaps.push_back(std::move(r));
  } else if (name == "fmtp") {
    auto f = Fields(value);
    if (f.empty()) return "expected '<format> <parameters>'";
    m.fmtps.push_back({std::string(f[0]), std::string(AfterFields(value, 1))});
  } else if (name == "rtcp-fb") {
    auto f = Fields(value);
    if (f.size() < 2) return "expected '<payload type|*> <type> [<parameter>]'";
    m.rtcp_fbs.push_back(
        {std::string(f[0]), std::string(f[1]), std::string(AfterFields(value, 2))});
  } else if (name == "ptime" || name == "maxptime") {
    // Some stacks write "20.0": the integer part is what counts.
    std::string_view ms = value.substr(0, value.find('.'));
    auto n = Number(ms, 100000);
    if (!n) return "'" + std::string(value) + "' is not a number of milliseconds";
    (name == "ptime" ? m.ptime : m.maxptime) = *n;
  } else if (name == "candidate") {
    Candidate c;
    if (std::string err = ParseCandidate(value, &c); !err.empty()) return err;
    m.candidates.push_back(std::move(c));
  } else if (name == "end-of-candidates") {
    m.end_of_candidates = true;
  } else if (name == "rtcp-mux") {
    m.rtcp_mux = true;
  } else if (name == "rtcp-rsize") {
    m.rtcp_rsize = true;
  } else if (name == "bundle-only") {
    m.bundle_only = true;
  } else if (name == "rtcp") {
    auto f = Fields(value);
    auto port = f.empty() ? std::nullopt : Number(f[0], 65535);
    if (!port) return "expected '<port> [<nettype> <addrtype> <address>]'";
    RtcpAddress r{*port, std::nullopt};
    if (f.size() > 1) {
      Connection c;
      if (std::string err = ParseConnection(AfterFields(value, 1), &c); !err.empty()) return err;
      r.connection = std::move(c);
    }
    m.rtcp = std::move(r);
  } else if (name == "crypto") {
    auto f = Fields(value);
    if (f.size() < 3) return "expected '<tag> <crypto-suite> <key-params> [<session-params>]'";
    auto tag = Number(f[0], 999999999);
    if (!tag) return "tag '" + std::string(f[0]) + "' is not a number";
    m.crypto.push_back(
        {*tag, std::string(f[1]), std::string(f[2]), std::string(AfterFields(value, 3))});
  } else if (name == "msid") {
    m.msid = Trim(value);
  } else if (name == "ssrc") {
    auto f = Fields(value);
    auto ssrc = f.size() >= 2 ? Number(f[0]) : std::nullopt;
    if (!ssrc) return "expected '<ssrc> <attribute>[:<value>]' with a 32-bit ssrc";
    std::string_view rest = AfterFields(value, 1);
    size_t colon = rest.find(':');
    SsrcAttribute a{*ssrc, std::string(rest.substr(0, colon)), ""};
    if (colon != std::string_view::npos) a.value = rest.substr(colon + 1);
    m.ssrcs.push_back(std::move(a));
  } else if (name == "ssrc-group") {
    auto f = Fields(value);
    if (f.empty()) return "expected '<semantics> <ssrc>...'";
    SsrcGroup g{std::string(f[0]), {}};
    for (size_t i = 1; i < f.size(); ++i) {
      auto ssrc = Number(f[i]);
      if (!ssrc) return "ssrc '" + std::string(f[i]) + "' is not a 32-bit number";
      g.ssrcs.push_back(*ssrc);
    }
    m.ssrc_groups.push_back(std::move(g));
  } else {
    *handled = false;
  }
  return "";
}

std::string Parser::Attr(std::string_view name, std::string_view value, bool has_value) {
  bool handled = false;
  std::string err = CommonAttr(name, value, &handled);
  if (!handled) {
    err = media() ? MediaAttr(name, value, &handled) : SessionAttr(name, value, &handled);
  }
  if (!err.empty()) return "a=" + std::string(name) + ": " + err;
  if (!handled) {
    auto& other = media() ? media()->other : sdp_.other;
    other.push_back({std::string(name), std::string(value), has_value});
  }
  return "";
}

std::string Parser::SessionLine(char type, std::string_view value) {
  switch (type) {
    case 'o': {
      auto f = Fields(value);
      if (f.size() != 6) {
        return "o= needs 6 fields '<username> <sess-id> <sess-version> <nettype> <addrtype> "
               "<address>', found " +
               std::to_string(f.size());
      }
      sdp_.origin = {std::string(f[0]), std::string(f[1]), std::string(f[2]),
                     std::string(f[3]), std::string(f[4]), std::string(f[5])};
      seen_origin_ = true;
      return "";
    }
    case 's':
      sdp_.session_name = value;
      return "";
    case 't':
      if (!seen_timing_) sdp_.timing.clear();
      seen_timing_ = true;
      sdp_.timing.emplace_back(value);
      return "";
    case 'c': {
      Connection c;
      if (std::string err = ParseConnection(value, &c); !err.empty()) return "c=: " + err;
      sdp_.connection = std::move(c);
      return "";
    }
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'b':
    case 'r':
    case 'z':
    case 'k':
      sdp_.lines.push_back({type, std::string(value)});
      return "";
    default:
      return std::string("unknown line type '") + type + "='";
  }
}

std::string Parser::MediaLine(char type, std::string_view value) {
  switch (type) {
    case 'c': {
      Connection c;
      if (std::string err = ParseConnection(value, &c); !err.empty()) return "c=: " + err;
      media()->connection = std::move(c);
      return "";
    }
    case 'i':
    case 'b':
    case 'k':
      media()->lines.push_back({type, std::string(value)});
      return "";
    case 'o':
    case 's':
    case 't':
    case 'u':
    case 'e':
    case 'p':
    case 'r':
    case 'z':
    case 'v':
      return std::string(1, type) + "= belongs before the first m= line";
    default:
      return std::string("unknown line type '") + type + "='";
  }
}

std::string Parser::Line(char type, std::string_view value) {
  if (type == 'm') {
    auto f = Fields(value);
    if (f.size() < 3) return "m= needs '<media> <port> <proto> <format>...'";
    MediaDescription m;
    m.media = f[0];
    std::string_view port = f[1];
    if (size_t slash = port.find('/'); slash != std::string_view::npos) {
      auto count = Number(port.substr(slash + 1), 65535);
      if (!count)
        return "m=: port count '" + std::string(port.substr(slash + 1)) + "' is not a number";
      m.port_count = *count;
      port = port.substr(0, slash);
    }
    auto p = Number(port, 65535);
    if (!p) return "m=: port '" + std::string(port) + "' is not a number in 0-65535";
    m.port = *p;
    m.proto = f[2];
    for (size_t i = 3; i < f.size(); ++i) m.formats.emplace_back(f[i]);
    sdp_.media.push_back(std::move(m));
    return "";
  }
  if (type == 'a') {
    size_t colon = value.find(':');
    if (colon == 0) return "attribute without a name";
    if (colon == std::string_view::npos) return Attr(Trim(value), "", false);
    return Attr(value.substr(0, colon), Trim(value.substr(colon + 1)), true);
  }
  return media() ? MediaLine(type, value) : SessionLine(type, value);
}

// rtpmap, fmtp and rtcp-fb lines in the order of the m= line's formats, the
// writer's order (others, and rtcp-fb "*", after them in their own order).
void Parser::SortByFormat(MediaDescription& m) {
  auto rank = [&m](const std::string& format) {
    auto it = std::find(m.formats.begin(), m.formats.end(), format);
    return static_cast<size_t>(it - m.formats.begin());
  };
  std::stable_sort(m.rtpmaps.begin(), m.rtpmaps.end(), [&](const RtpMap& a, const RtpMap& b) {
    return rank(std::to_string(a.payload_type)) < rank(std::to_string(b.payload_type));
  });
  std::stable_sort(m.fmtps.begin(), m.fmtps.end(),
                   [&](const Fmtp& a, const Fmtp& b) { return rank(a.format) < rank(b.format); });
  std::stable_sort(m.rtcp_fbs.begin(), m.rtcp_fbs.end(), [&](const RtcpFb& a, const RtcpFb& b) {
    return rank(a.format) < rank(b.format);
  });
}

absl::StatusOr<SessionDescription> Parser::Run(std::string_view text) {
  int number = 0;
  bool first = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    std::string_view line = Trim(raw);
    if (line.empty()) continue;
    auto fail = [&](const std::string& what) {
      std::string shown(line.substr(0, 80));
      return absl::InvalidArgumentError("SDP line " + std::to_string(number) + " '" + shown +
                                        "': " + what);
    };
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return fail("not a '<letter>=<value>' line");
    }
    if (first) {
      if (line != "v=0") return fail("an SDP starts with v=0");
      first = false;
      continue;
    }
    if (line[0] == 'v') return fail("v= appears twice");
    if (std::string err = Line(line[0], line.substr(2)); !err.empty()) return fail(err);
  }
  if (first) return absl::InvalidArgumentError("SDP is empty");
  if (!seen_origin_) return absl::InvalidArgumentError("SDP has no o= line");
  for (MediaDescription& m : sdp_.media) SortByFormat(m);
  return std::move(sdp_);
}

}  // namespace

absl::StatusOr<SessionDescription> ParseSdp(std::string_view text) {
  return Parser().Run(text);
}

}  // namespace webrtc2sip::signaling::sdp
