#pragma once

// Concatenates strings, string_views, characters and integers for control-plane messages.
// (Debian's absl::StrCat takes absl::string_view, which is not std::string_view there.)

#include <concepts>
#include <string>
#include <string_view>

namespace webrtc2sip::media::coder {

namespace internal {
inline void Append(std::string& out, std::string_view piece) {
  out += piece;
}
template <std::integral T>
void Append(std::string& out, T value) {
  out += std::to_string(value);
}
}  // namespace internal

template <typename... Pieces>
std::string StrCat(const Pieces&... pieces) {
  std::string out;
  (internal::Append(out, pieces), ...);
  return out;
}

}  // namespace webrtc2sip::media::coder
