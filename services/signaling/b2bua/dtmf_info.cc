#include "services/signaling/b2bua/dtmf_info.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "common/text/ascii.h"

namespace webrtc2sip::signaling {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<uint32_t> Number(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A key as written ("5", "*", "#", "A") or as its event number ("10").
std::optional<uint32_t> KeyEvent(std::string_view key) {
  key = Trim(key);
  if (key.size() == 1) {
    const char c = key[0];
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0');
    if (c == '*') return 10;
    if (c == '#') return 11;
    if (c >= 'A' && c <= 'D') return static_cast<uint32_t>(12 + c - 'A');
    if (c >= 'a' && c <= 'd') return static_cast<uint32_t>(12 + c - 'a');
    return std::nullopt;
  }
  auto n = Number(key);
  if (n && *n <= 15) return n;
  return std::nullopt;
}

}  // namespace

std::optional<DtmfKeyPress> ParseDtmfInfo(std::string_view content_type, std::string_view body) {
  content_type = Trim(content_type.substr(0, content_type.find(';')));
  DtmfKeyPress press;
  if (EqualsIgnoreCase(content_type, "application/dtmf")) {
    auto event = KeyEvent(body.substr(0, body.find('\n')));
    if (!event) return std::nullopt;
    press.event = *event;
    return press;
  }
  if (!EqualsIgnoreCase(content_type, "application/dtmf-relay")) return std::nullopt;
  std::optional<uint32_t> event;
  while (!body.empty()) {
    const size_t eol = body.find('\n');
    std::string_view line = Trim(body.substr(0, eol));
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = Trim(line.substr(0, eq));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (EqualsIgnoreCase(name, "Signal")) {
      event = KeyEvent(value);
    } else if (EqualsIgnoreCase(name, "Duration")) {
      if (auto d = Number(value)) press.duration_ms = std::clamp<uint32_t>(*d, 40, 8000);
    }
  }
  if (!event) return std::nullopt;
  press.event = *event;
  return press;
}

}  // namespace webrtc2sip::signaling
