#include "sip_text.h"

#include <strings.h>

#include <charconv>

namespace webrtc2sip::bench {
namespace {

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool NameIs(std::string_view name, std::string_view full, char compact) {
  if (name.size() == 1) return (name[0] | 0x20) == compact;
  return name.size() == full.size() && strncasecmp(name.data(), full.data(), full.size()) == 0;
}

// Splits a header value at commas outside <> and quotes.
void SplitList(std::string_view value, std::vector<std::string_view>& out) {
  int depth = 0;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '<') ++depth;
    if (c == '>') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(Trim(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(Trim(value.substr(start)));
}

}  // namespace

bool ParseResponse(std::string_view text, SipResponse& out) {
  if (text.size() < 12 || text.substr(0, 8) != "SIP/2.0 ") return false;
  out = SipResponse{};
  std::from_chars(text.data() + 8, text.data() + 11, out.status);
  size_t pos = text.find("\r\n");
  while (pos != std::string_view::npos) {
    pos += 2;
    const size_t end = text.find("\r\n", pos);
    if (end == pos) out.body = text.substr(pos + 2);
    if (end == std::string_view::npos || end == pos) break;  // end of the head
    const std::string_view line = text.substr(pos, end - pos);
    pos = end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (NameIs(name, "Call-ID", 'i')) {
      out.call_id = value;
    } else if (NameIs(name, "CSeq", '\0')) {
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out.cseq);
      if (ec == std::errc())
        out.cseq_method = Trim(std::string_view(p, value.data() + value.size() - p));
    } else if (NameIs(name, "To", 't')) {
      out.to = value;
    } else if (NameIs(name, "Contact", 'm')) {
      const size_t lt = value.find('<');
      const size_t gt = value.find('>', lt);
      out.contact = lt != std::string_view::npos && gt != std::string_view::npos
                        ? value.substr(lt + 1, gt - lt - 1)
                        : value.substr(0, value.find(';'));
    } else if (NameIs(name, "Record-Route", '\0')) {
      SplitList(value, out.record_route);
    }
  }
  return !out.call_id.empty() && !out.cseq_method.empty();
}

void AppendRouteSet(std::string& out, const std::vector<std::string>& record_route) {
  for (auto it = record_route.rbegin(); it != record_route.rend(); ++it) {
    out += "Route: ";
    out += *it;
    out += "\r\n";
  }
}

}  // namespace webrtc2sip::bench
