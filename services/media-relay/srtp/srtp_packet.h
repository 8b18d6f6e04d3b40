#pragma once

// Just enough RTP/RTCP parsing for SRTP: header sizes and the fields the transforms need.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace webrtc2sip::media {

inline constexpr size_t kRtpFixedHeaderLength = 12;
inline constexpr size_t kRtcpHeaderLength = 8;  // First header and sender SSRC.

inline uint16_t ReadU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

inline uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

inline void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Length of the RTP header (fixed part, CSRCs and header extension), or nullopt when `len`
// bytes cannot hold it or the version is not 2.
inline std::optional<size_t> RtpHeaderLength(const uint8_t* buf, size_t len) {
  if (len < kRtpFixedHeaderLength || (buf[0] >> 6) != 2) return std::nullopt;
  size_t header = kRtpFixedHeaderLength + 4 * static_cast<size_t>(buf[0] & 0x0f);
  if ((buf[0] & 0x10) != 0) {  // X bit: 4-byte extension header, then `length` words.
    if (len < header + 4) return std::nullopt;
    header += 4 + 4 * static_cast<size_t>(ReadU16(buf + header + 2));
  }
  if (len < header) return std::nullopt;
  return header;
}

// An RTCP packet's first header: version 2 and room for the sender SSRC.
inline bool LooksLikeRtcp(const uint8_t* buf, size_t len) {
  return len >= kRtcpHeaderLength && (buf[0] >> 6) == 2;
}

inline uint16_t RtpSequenceNumber(const uint8_t* buf) {
  return ReadU16(buf + 2);
}
inline uint32_t RtpSsrc(const uint8_t* buf) {
  return ReadU32(buf + 8);
}
inline uint32_t RtcpSenderSsrc(const uint8_t* buf) {
  return ReadU32(buf + 4);
}

}  // namespace webrtc2sip::media
