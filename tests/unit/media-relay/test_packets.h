#pragma once

// Helpers shared by the media-relay unit tests: hex parsing and hand-built RTP/RTCP packets.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace webrtc2sip::media::testing {

// Hex digits to bytes; whitespace is ignored.
inline std::vector<uint8_t> Hex(std::string_view text) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

// A packet buffer with room for any SRTP trailer; 8-byte aligned as libsrtp wants.
struct Packet {
  alignas(8) std::array<uint8_t, 1600> data{};
  size_t len = 0;

  uint8_t* buf() { return data.data(); }
  size_t* len_ptr() { return &len; }
  std::vector<uint8_t> bytes() const { return {data.begin(), data.begin() + len}; }

  static Packet From(std::span<const uint8_t> bytes) {
    Packet p;
    std::copy(bytes.begin(), bytes.end(), p.data.begin());
    p.len = bytes.size();
    return p;
  }
};

// RTP packet, version 2, with a payload whose bytes depend on SSRC and sequence number.
inline Packet MakeRtp(uint32_t ssrc, uint16_t seq, size_t payload_len = 160, uint8_t pt = 111) {
  Packet p;
  uint8_t* b = p.buf();
  b[0] = 0x80;
  b[1] = pt;
  b[2] = static_cast<uint8_t>(seq >> 8);
  b[3] = static_cast<uint8_t>(seq);
  const uint32_t ts = seq * 960u;
  for (int i = 0; i < 4; ++i) {
    b[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
  for (size_t i = 0; i < payload_len; ++i) {
    b[12 + i] = static_cast<uint8_t>(i * 7 + seq + ssrc);
  }
  p.len = 12 + payload_len;
  return p;
}

// RTCP receiver report from `ssrc` with one report block (32 bytes).
inline Packet MakeRtcp(uint32_t ssrc, uint8_t fill = 0x5a) {
  Packet p;
  uint8_t* b = p.buf();
  b[0] = 0x81;
  b[1] = 201;
  b[2] = 0;
  b[3] = 7;
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (size_t i = 8; i < 32; ++i) b[i] = static_cast<uint8_t>(fill + i);
  p.len = 32;
  return p;
}

}  // namespace webrtc2sip::media::testing
