#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace webrtc2sip::media {

// What a datagram on a shared port is, from its first two bytes (RFC 7983 section 7, and
// RFC 5761 section 4 for RTP against RTCP with rtcp-mux).
enum class DatagramKind {
  kStun,   // First byte 0-3.
  kDtls,   // 20-63.
  kRtp,    // 128-191 and a second byte (M bit and payload type) outside 192-223.
  kRtcp,   // 128-191 and a second byte (packet type) in 192-223.
  kOther,  // ZRTP, TURN channels, empty, anything else: drop.
};

DatagramKind ClassifyDatagram(std::span<const uint8_t> datagram);

// Header extension profiles (RFC 8285).
inline constexpr uint16_t kOneByteExtensionProfile = 0xbede;
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;  // Low 4 bits: "appbits".

// A view over one RTP packet (RFC 3550) in a mutable buffer the caller owns. Parse() checks
// the version and that the CSRCs, the header extension and the padding fit; the setters
// rewrite header fields in place. Never allocates.
class RtpPacket {
 public:
  static constexpr size_t kFixedHeaderLength = 12;

  // Nullopt when the `len` bytes at `data` are not a well-formed RTP packet.
  static std::optional<RtpPacket> Parse(uint8_t* data, size_t len);

  uint8_t payload_type() const { return data_[1] & 0x7f; }
  bool marker() const { return (data_[1] & 0x80) != 0; }
  uint16_t sequence_number() const;
  uint32_t timestamp() const;
  uint32_t ssrc() const;
  size_t csrc_count() const { return data_[0] & 0x0f; }
  uint32_t csrc(size_t index) const;  // index < csrc_count().

  void set_payload_type(uint8_t pt);  // 0-127.
  void set_marker(bool marker);
  void set_sequence_number(uint16_t seq);
  void set_timestamp(uint32_t timestamp);
  void set_ssrc(uint32_t ssrc);

  bool has_extension() const { return (data_[0] & 0x10) != 0; }
  uint16_t extension_profile() const;  // 0 without an extension.
  // The whole extension block after its 4-byte header, empty without one.
  std::span<const uint8_t> extension_data() const;

  // The value of RFC 8285 element `id` (1-14 in the one-byte form, 1-255 in the two-byte form),
  // possibly empty (two-byte form). Nullopt when absent, when the profile is neither RFC 8285
  // form, or when the elements before it are malformed.
  std::optional<std::span<const uint8_t>> FindExtension(uint8_t id) const;
  // The MID (RFC 9143) in element `id`; nullopt when absent or empty.
  std::optional<std::string_view> FindMid(uint8_t id) const;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t header_length() const { return header_length_; }
  size_t padding_length() const { return padding_length_; }
  // Without the header and the padding.
  std::span<uint8_t> payload() const {
    return {data_ + header_length_, size_ - header_length_ - padding_length_};
  }

 private:
  RtpPacket(uint8_t* data, size_t size, size_t header_length, size_t padding_length)
      : data_(data), size_(size), header_length_(header_length), padding_length_(padding_length) {}

  uint8_t* data_;
  size_t size_;
  size_t header_length_;  // Fixed part, CSRCs and extension.
  size_t padding_length_;
};

}  // namespace webrtc2sip::media
