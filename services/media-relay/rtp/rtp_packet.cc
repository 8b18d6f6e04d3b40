#include "services/media-relay/rtp/rtp_packet.h"

#include "services/media-relay/rtp/byte_io.h"

namespace webrtc2sip::media {

using byte_io::Read16;
using byte_io::Read32;

DatagramKind ClassifyDatagram(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return DatagramKind::kOther;
  const uint8_t first = datagram[0];
  if (first <= 3) return DatagramKind::kStun;
  if (first >= 20 && first <= 63) return DatagramKind::kDtls;
  if (first >= 128 && first <= 191 && datagram.size() >= 2) {
    const uint8_t second = datagram[1];
    return second >= 192 && second <= 223 ? DatagramKind::kRtcp : DatagramKind::kRtp;
  }
  return DatagramKind::kOther;
}

std::optional<RtpPacket> RtpPacket::Parse(uint8_t* data, size_t len) {
  if (data == nullptr || len < kFixedHeaderLength || (data[0] >> 6) != 2) return std::nullopt;
  size_t header = kFixedHeaderLength + 4 * static_cast<size_t>(data[0] & 0x0f);
  if (len < header) return std::nullopt;
  if ((data[0] & 0x10) != 0) {
    if (len < header + 4) return std::nullopt;
    header += 4 + 4 * static_cast<size_t>(Read16(data + header + 2));
    if (len < header) return std::nullopt;
  }
  size_t padding = 0;
  if ((data[0] & 0x20) != 0) {
    // The last byte counts the padding, itself included.
    padding = data[len - 1];
    if (padding == 0 || len - header < padding) return std::nullopt;
  }
  return RtpPacket(data, len, header, padding);
}

uint16_t RtpPacket::sequence_number() const {
  return Read16(data_ + 2);
}
uint32_t RtpPacket::timestamp() const {
  return Read32(data_ + 4);
}
uint32_t RtpPacket::ssrc() const {
  return Read32(data_ + 8);
}
uint32_t RtpPacket::csrc(size_t index) const {
  return Read32(data_ + kFixedHeaderLength + 4 * index);
}

void RtpPacket::set_payload_type(uint8_t pt) {
  data_[1] = static_cast<uint8_t>((data_[1] & 0x80) | (pt & 0x7f));
}
void RtpPacket::set_marker(bool marker) {
  data_[1] = static_cast<uint8_t>((data_[1] & 0x7f) | (marker ? 0x80 : 0));
}
void RtpPacket::set_sequence_number(uint16_t seq) {
  byte_io::Write16(data_ + 2, seq);
}
void RtpPacket::set_timestamp(uint32_t timestamp) {
  byte_io::Write32(data_ + 4, timestamp);
}
void RtpPacket::set_ssrc(uint32_t ssrc) {
  byte_io::Write32(data_ + 8, ssrc);
}

uint16_t RtpPacket::extension_profile() const {
  if (!has_extension()) return 0;
  return Read16(data_ + kFixedHeaderLength + 4 * csrc_count());
}

std::span<const uint8_t> RtpPacket::extension_data() const {
  if (!has_extension()) return {};
  const size_t start = kFixedHeaderLength + 4 * csrc_count() + 4;
  return {data_ + start, header_length_ - start};
}

std::optional<std::span<const uint8_t>> RtpPacket::FindExtension(uint8_t id) const {
  const uint16_t profile = extension_profile();
  const bool one_byte = profile == kOneByteExtensionProfile;
  if (id == 0 || (!one_byte && (profile & 0xfff0) != kTwoByteExtensionProfile)) {
    return std::nullopt;
  }
  if (one_byte && id > 14) return std::nullopt;
  const std::span<const uint8_t> ext = extension_data();
  size_t at = 0;
  while (at < ext.size()) {
    if (one_byte ? (ext[at] >> 4) == 0 : ext[at] == 0) {  // Padding between elements.
      ++at;
      continue;
    }
    uint8_t element_id;
    size_t element_len;
    if (one_byte) {
      element_id = ext[at] >> 4;
      element_len = static_cast<size_t>(ext[at] & 0x0f) + 1;
      if (element_id == 15) return std::nullopt;  // Reserved: stop parsing (RFC 8285 4.2).
      at += 1;
    } else {
      if (at + 2 > ext.size()) return std::nullopt;
      element_id = ext[at];
      element_len = ext[at + 1];
      at += 2;
    }
    if (element_len > ext.size() - at) return std::nullopt;
    if (element_id == id) return ext.subspan(at, element_len);
    at += element_len;
  }
  return std::nullopt;
}

std::optional<std::string_view> RtpPacket::FindMid(uint8_t id) const {
  const auto value = FindExtension(id);
  if (!value || value->empty()) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(value->data()), value->size());
}

}  // namespace webrtc2sip::media
