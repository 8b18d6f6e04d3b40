#pragma once

// Time on the packet path is one int64 count of microseconds on the NTP timescale (since
// 1900-01-01), so that arrival times, jitter, DLSR and the NTP time of a sender report all come
// from one clock. A monotonic clock anchored to the wall clock once at startup is best: a wall
// clock step would show as jitter.

#include <chrono>
#include <cstdint>

namespace webrtc2sip::media {

inline constexpr int64_t kNtpUnixOffsetSeconds = 2'208'988'800;  // 1900 to 1970.
inline constexpr int64_t kMicrosPerSecond = 1'000'000;

// 32.32 fixed-point NTP time, as in a sender report.
inline uint64_t NtpFromMicros(int64_t us) {
  const auto seconds = static_cast<uint64_t>(us / kMicrosPerSecond);
  const auto micros = static_cast<uint64_t>(us % kMicrosPerSecond);
  return seconds << 32 | (micros << 32) / kMicrosPerSecond;
}

inline int64_t MicrosFromNtp(uint64_t ntp) {
  const uint64_t micros = ((ntp & 0xffffffff) * kMicrosPerSecond + (1ull << 31)) >> 32;
  return static_cast<int64_t>((ntp >> 32) * kMicrosPerSecond + micros);
}

// The middle 32 bits (16.16), as in LSR.
inline uint32_t CompactNtp(uint64_t ntp) {
  return static_cast<uint32_t>(ntp >> 16);
}

// Microseconds as a duration in 1/65536 s, as in DLSR.
inline uint32_t CompactNtpDuration(int64_t us) {
  if (us <= 0) return 0;
  if (us >= (int64_t{1} << 16) * kMicrosPerSecond) return 0xffffffff;  // Over 18 hours.
  return static_cast<uint32_t>((static_cast<uint64_t>(us) << 16) / kMicrosPerSecond);
}

// The wall clock on the NTP timescale.
inline int64_t NtpMicrosNow() {
  const auto since_unix = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return since_unix.count() + kNtpUnixOffsetSeconds * kMicrosPerSecond;
}

}  // namespace webrtc2sip::media
