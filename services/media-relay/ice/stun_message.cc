#include "services/media-relay/ice/stun_message.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace webrtc2sip::media::stun {
namespace {

constexpr uint16_t kAttrUsername = 0x0006;
constexpr uint16_t kAttrMessageIntegrity = 0x0008;
constexpr uint16_t kAttrXorMappedAddress = 0x0020;
constexpr uint16_t kAttrPriority = 0x0024;
constexpr uint16_t kAttrUseCandidate = 0x0025;
constexpr uint16_t kAttrSoftware = 0x8022;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr uint16_t kAttrIceControlled = 0x8029;
constexpr uint16_t kAttrIceControlling = 0x802A;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kIntegritySize = 4 + HmacSha1::kDigestLength;
constexpr size_t kFingerprintSize = 8;
constexpr size_t kMaxUsername = 513;  // RFC 8489 section 14.3.

uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(Get16(p)) << 16 | Get16(p + 2);
}
uint64_t Get64(const uint8_t* p) {
  return static_cast<uint64_t>(Get32(p)) << 32 | Get32(p + 4);
}
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

// CRC-32 of ISO 3309 / ITU-T V.42, as FINGERPRINT wants (RFC 8489 section 14.7).
uint32_t Crc32(const uint8_t* data, size_t len) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

// Method and class are interleaved in the 14-bit type (RFC 8489 section 5).
uint16_t MessageType(uint16_t method, MessageClass message_class) {
  const auto c = static_cast<uint16_t>(message_class);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                               ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

// HMAC over the message up to `end` with the header's length counting through `length_end`.
void Mac(const uint8_t* message, size_t end, size_t length_end, const HmacSha1& key,
         uint8_t (&out)[HmacSha1::kDigestLength]) {
  uint8_t header[kHeaderSize];
  std::memcpy(header, message, kHeaderSize);
  Put16(header + 2, static_cast<uint16_t>(length_end - kHeaderSize));
  key.Compute({header, kHeaderSize}, {message + kHeaderSize, end - kHeaderSize}, out);
}

std::optional<sockaddr_storage> XorAddress(const uint8_t* value, size_t len,
                                           const uint8_t* transaction) {
  if (len < 4) return std::nullopt;
  sockaddr_storage address{};
  const auto port = static_cast<uint16_t>(Get16(value + 2) ^ (kMagicCookie >> 16));
  if (value[1] == 0x01 && len == 8) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    v4.sin_addr.s_addr = htonl(Get32(value + 4) ^ kMagicCookie);
    return address;
  }
  if (value[1] == 0x02 && len == 20) {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    uint8_t mask[16];
    Put32(mask, kMagicCookie);
    std::memcpy(mask + 4, transaction, 12);
    for (size_t i = 0; i < 16; ++i) v6.sin6_addr.s6_addr[i] = value[4 + i] ^ mask[i];
    return address;
  }
  return std::nullopt;
}

// Appends attributes to a message in a caller's buffer, then MESSAGE-INTEGRITY and FINGERPRINT
// close it, each computed with the header's length already counting it (RFC 8489 14.5, 14.7).
class Writer {
 public:
  Writer(std::span<uint8_t> out, uint16_t type, const TransactionId& transaction) : out_(out) {
    if (out_.size() < kHeaderSize) {
      ok_ = false;
      return;
    }
    Put16(out_.data(), type);
    Put32(out_.data() + 4, kMagicCookie);
    std::memcpy(out_.data() + 8, transaction.data(), transaction.size());
  }

  uint8_t* Add(uint16_t type, size_t len) {
    const size_t padded = (len + 3) & ~size_t{3};
    if (!ok_ || size_ + 4 + padded > out_.size()) {
      ok_ = false;
      return nullptr;
    }
    uint8_t* p = out_.data() + size_;
    Put16(p, type);
    Put16(p + 2, static_cast<uint16_t>(len));
    std::memset(p + 4 + len, 0, padded - len);
    size_ += 4 + padded;
    return p + 4;
  }
  void Add(uint16_t type, const void* value, size_t len) {
    if (uint8_t* p = Add(type, len); p != nullptr && len > 0) std::memcpy(p, value, len);
  }

  size_t Finish(const HmacSha1& key) {
    if (!ok_ || size_ + kIntegritySize + kFingerprintSize > out_.size()) return 0;
    uint8_t mac[HmacSha1::kDigestLength];
    Mac(out_.data(), size_, size_ + kIntegritySize, key, mac);
    Add(kAttrMessageIntegrity, mac, sizeof mac);
    Put16(out_.data() + 2, static_cast<uint16_t>(size_ + kFingerprintSize - kHeaderSize));
    uint8_t crc[4];
    Put32(crc, Crc32(out_.data(), size_) ^ kFingerprintXor);
    Add(kAttrFingerprint, crc, sizeof crc);
    return size_;
  }

 private:
  std::span<uint8_t> out_;
  size_t size_ = kHeaderSize;
  bool ok_ = true;
};

}  // namespace

bool LooksLikeStun(std::span<const uint8_t> datagram) {
  if (datagram.size() < kHeaderSize || datagram[0] > 3) return false;
  const size_t length = Get16(datagram.data() + 2);
  return (length & 3) == 0 && length + kHeaderSize == datagram.size() &&
         Get32(datagram.data() + 4) == kMagicCookie;
}

ParseResult Parse(std::span<const uint8_t> datagram, Message& message) {
  if (!LooksLikeStun(datagram)) return ParseResult::kNotStun;
  message = Message{};
  const uint8_t* data = datagram.data();
  const uint16_t type = Get16(data);
  message.method =
      static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  message.message_class = static_cast<MessageClass>(((type >> 4) & 1) | ((type >> 7) & 2));
  std::memcpy(message.transaction.data(), data + 8, message.transaction.size());

  size_t offset = kHeaderSize;
  while (offset < datagram.size()) {
    if (message.has_fingerprint) return ParseResult::kMalformed;  // FINGERPRINT must be last.
    if (offset + 4 > datagram.size()) return ParseResult::kMalformed;
    const uint16_t attribute = Get16(data + offset);
    const size_t len = Get16(data + offset + 2);
    const size_t next = offset + 4 + ((len + 3) & ~size_t{3});
    if (next > datagram.size()) return ParseResult::kMalformed;
    const uint8_t* value = data + offset + 4;
    if (attribute == kAttrFingerprint) {
      if (len != 4) return ParseResult::kMalformed;
      if ((Crc32(data, offset) ^ kFingerprintXor) != Get32(value)) {
        return ParseResult::kBadFingerprint;
      }
      message.has_fingerprint = true;
    } else if (message.integrity_offset != 0) {
      // Covered by nothing: ignored.
    } else if (attribute == kAttrMessageIntegrity) {
      if (len != HmacSha1::kDigestLength) return ParseResult::kMalformed;
      message.integrity_offset = offset;
    } else if (attribute == kAttrUsername) {
      if (len == 0 || len > kMaxUsername) return ParseResult::kMalformed;
      message.username = {reinterpret_cast<const char*>(value), len};
    } else if (attribute == kAttrPriority) {
      if (len != 4) return ParseResult::kMalformed;
      message.priority = Get32(value);
    } else if (attribute == kAttrUseCandidate) {
      if (len != 0) return ParseResult::kMalformed;
      message.use_candidate = true;
    } else if (attribute == kAttrIceControlling || attribute == kAttrIceControlled) {
      if (len != 8) return ParseResult::kMalformed;
      (attribute == kAttrIceControlling ? message.ice_controlling : message.ice_controlled) =
          Get64(value);
    } else if (attribute == kAttrXorMappedAddress) {
      message.xor_mapped_address = XorAddress(value, len, data + 8);
      if (!message.xor_mapped_address) return ParseResult::kMalformed;
    }
    offset = next;
  }
  return ParseResult::kOk;
}

bool IntegrityMatches(std::span<const uint8_t> datagram, const Message& message,
                      const HmacSha1& key) {
  const size_t at = message.integrity_offset;
  if (at == 0 || at + kIntegritySize > datagram.size()) return false;
  uint8_t mac[HmacSha1::kDigestLength];
  Mac(datagram.data(), at, at + kIntegritySize, key, mac);
  // Constant time: the MAC is a secret's proof.
  uint8_t diff = 0;
  for (size_t i = 0; i < sizeof mac; ++i) diff |= static_cast<uint8_t>(mac[i] ^ datagram[at + 4 + i]);
  return diff == 0;
}

void SetPassword(HmacSha1& key, std::string_view password) {
  key.SetKey({reinterpret_cast<const uint8_t*>(password.data()), password.size()});
}

bool UsernameIsFor(std::string_view username, std::string_view local_ufrag) {
  return !local_ufrag.empty() && username.size() > local_ufrag.size() &&
         username.substr(0, local_ufrag.size()) == local_ufrag &&
         username[local_ufrag.size()] == ':';
}

size_t EncodeBindingSuccess(const TransactionId& transaction, const sockaddr_storage& mapped,
                            const HmacSha1& key, std::span<uint8_t> out,
                            std::string_view software) {
  Writer writer(out, MessageType(kBindingMethod, MessageClass::kSuccess), transaction);
  if (!software.empty()) writer.Add(kAttrSoftware, software.data(), std::min<size_t>(software.size(), 64));
  if (mapped.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(mapped);
    if (uint8_t* p = writer.Add(kAttrXorMappedAddress, 8); p != nullptr) {
      p[0] = 0;
      p[1] = 0x01;
      Put16(p + 2, static_cast<uint16_t>(ntohs(v4.sin_port) ^ (kMagicCookie >> 16)));
      Put32(p + 4, ntohl(v4.sin_addr.s_addr) ^ kMagicCookie);
    }
  } else if (mapped.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(mapped);
    if (uint8_t* p = writer.Add(kAttrXorMappedAddress, 20); p != nullptr) {
      p[0] = 0;
      p[1] = 0x02;
      Put16(p + 2, static_cast<uint16_t>(ntohs(v6.sin6_port) ^ (kMagicCookie >> 16)));
      uint8_t mask[16];
      Put32(mask, kMagicCookie);
      std::memcpy(mask + 4, transaction.data(), 12);
      for (size_t i = 0; i < 16; ++i) p[4 + i] = v6.sin6_addr.s6_addr[i] ^ mask[i];
    }
  } else {
    return 0;
  }
  return writer.Finish(key);
}

size_t EncodeBindingRequest(const TransactionId& transaction, const BindingRequest& request,
                            const HmacSha1& key, std::span<uint8_t> out) {
  if (request.username.empty() || request.username.size() > kMaxUsername) return 0;
  Writer writer(out, MessageType(kBindingMethod, MessageClass::kRequest), transaction);
  writer.Add(kAttrUsername, request.username.data(), request.username.size());
  if (uint8_t* p = writer.Add(kAttrPriority, 4); p != nullptr) Put32(p, request.priority);
  if (uint8_t* p = writer.Add(request.controlling ? kAttrIceControlling : kAttrIceControlled, 8);
      p != nullptr) {
    Put32(p, static_cast<uint32_t>(request.tie_breaker >> 32));
    Put32(p + 4, static_cast<uint32_t>(request.tie_breaker));
  }
  if (request.use_candidate) writer.Add(kAttrUseCandidate, nullptr, 0);
  return writer.Finish(key);
}

}  // namespace webrtc2sip::media::stun
