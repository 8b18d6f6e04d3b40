#pragma once

// Big-endian reads and writes of RTP/RTCP fields. Callers check lengths first.

#include <cstdint>

namespace webrtc2sip::media::byte_io {

inline uint16_t Read16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t Read24(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[2];
}
inline uint32_t Read32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | Read24(p + 1);
}
inline uint64_t Read64(const uint8_t* p) {
  return static_cast<uint64_t>(Read32(p)) << 32 | Read32(p + 4);
}

inline void Write16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Write24(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 16);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v);
}
inline void Write32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  Write24(p + 1, v);
}
inline void Write64(uint8_t* p, uint64_t v) {
  Write32(p, static_cast<uint32_t>(v >> 32));
  Write32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace webrtc2sip::media::byte_io
