#pragma once

#include <bitset>
#include <cstdint>

namespace webrtc2sip::media {

// Sliding replay window of RFC 3711 3.3.2 over packet indexes (48-bit SRTP index or 31-bit
// SRTCP index). 128 packets, as libsrtp, above RFC 3711's minimum of 64.
class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 128;

  // True when `index` was already accepted or is older than the window.
  bool IsReplay(uint64_t index) const {
    if (empty_ || index > top_) return false;
    const uint64_t age = top_ - index;
    return age >= kSize || seen_[age];
  }

  // Marks `index` as received; call only after the packet authenticated.
  void Add(uint64_t index) {
    if (empty_) {
      empty_ = false;
      top_ = index;
      seen_.reset();
      seen_[0] = true;
    } else if (index > top_) {
      const uint64_t shift = index - top_;
      if (shift >= kSize) {
        seen_.reset();
      } else {
        seen_ <<= shift;
      }
      seen_[0] = true;
      top_ = index;
    } else if (top_ - index < kSize) {
      seen_[top_ - index] = true;
    }
  }

  bool empty() const { return empty_; }
  uint64_t top() const { return top_; }

 private:
  bool empty_ = true;
  uint64_t top_ = 0;
  std::bitset<kSize> seen_;  // Bit i: index top_ - i was received.
};

}  // namespace webrtc2sip::media
