#include "load/stun_binding.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

namespace webrtc2sip::bench::relay {
namespace {

constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kAttrUsername = 0x0006;
constexpr uint16_t kAttrMessageIntegrity = 0x0008;
constexpr uint16_t kAttrXorMappedAddress = 0x0020;
constexpr uint16_t kAttrPriority = 0x0024;
constexpr uint16_t kAttrUseCandidate = 0x0025;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr uint16_t kAttrIceControlling = 0x802A;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kHeaderSize = 20;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// CRC-32 (ISO 3309, as zlib), table built once.
uint32_t Crc32(const uint8_t* data, size_t len) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

// Appends attributes to a message in a caller's buffer; MESSAGE-INTEGRITY and FINGERPRINT
// close it. Worst case of every message here fits kMinBuffer.
class StunWriter {
 public:
  static constexpr size_t kMinBuffer = 200;

  StunWriter(uint8_t* buffer, uint16_t type, const uint8_t* transaction) : b_(buffer) {
    Put16(b_, type);
    Put32(b_ + 4, kMagicCookie);
    std::memcpy(b_ + 8, transaction, 12);
  }

  void Add(uint16_t type, const void* value, size_t len) {
    Put16(b_ + n_, type);
    Put16(b_ + n_ + 2, static_cast<uint16_t>(len));
    if (len) std::memcpy(b_ + n_ + 4, value, len);
    const size_t padded = (len + 3) & ~size_t{3};
    std::memset(b_ + n_ + 4 + len, 0, padded - len);
    n_ += 4 + padded;
  }

  // HMAC-SHA1 keyed with the short-term password, then CRC-32; each over the message so far
  // with the header's length already counting its own attribute (RFC 5389 15.4, 15.5).
  size_t Finish(const std::string& password) {
    Put16(b_ + 2, static_cast<uint16_t>(n_ + 24 - kHeaderSize));
    uint8_t mac[20];
    unsigned int mac_len = 0;
    HMAC(EVP_sha1(), password.data(), static_cast<int>(password.size()), b_, n_, mac, &mac_len);
    Add(kAttrMessageIntegrity, mac, sizeof mac);
    Put16(b_ + 2, static_cast<uint16_t>(n_ + 8 - kHeaderSize));
    uint8_t crc[4];
    Put32(crc, Crc32(b_, n_) ^ kFingerprintXor);
    Add(kAttrFingerprint, crc, sizeof crc);
    return n_;
  }

  size_t size() const { return n_; }

 private:
  uint8_t* b_;
  size_t n_ = kHeaderSize;
};

}  // namespace

bool IsStunBindingRequest(std::span<const uint8_t> datagram) {
  return IsStun(datagram) && Get16(datagram.data()) == kBindingRequest;
}

StunBindingRequest::StunBindingRequest(const std::string& username, const std::string& password,
                                       uint32_t priority, uint64_t tie_breaker)
    : username_(username), password_(password), priority_(priority), tie_breaker_(tie_breaker) {}

std::span<const uint8_t> StunBindingRequest::Encode() {
  RAND_bytes(transaction_.data(), static_cast<int>(transaction_.size()));
  StunWriter w(buffer_.data(), kBindingRequest, transaction_.data());
  // Usernames longer than the buffer allows are cut: ICE ufrags are at most 256 characters,
  // ours and the relay's are a few.
  w.Add(kAttrUsername, username_.data(), std::min<size_t>(username_.size(), 64));
  uint8_t priority[4];
  Put32(priority, priority_);
  w.Add(kAttrPriority, priority, sizeof priority);
  uint8_t tie[8];
  Put32(tie, static_cast<uint32_t>(tie_breaker_ >> 32));
  Put32(tie + 4, static_cast<uint32_t>(tie_breaker_));
  w.Add(kAttrIceControlling, tie, sizeof tie);
  w.Add(kAttrUseCandidate, nullptr, 0);
  return {buffer_.data(), w.Finish(password_)};
}

bool StunBindingRequest::IsSuccessResponse(std::span<const uint8_t> datagram) const {
  if (!IsStun(datagram) || Get16(datagram.data()) != kBindingSuccess) return false;
  return std::memcmp(datagram.data() + 8, transaction_.data(), transaction_.size()) == 0;
}

size_t EncodeStunBindingSuccess(std::span<const uint8_t> request, const sockaddr_in& source,
                                const std::string& password, std::span<uint8_t> out) {
  if (!IsStunBindingRequest(request) || out.size() < StunWriter::kMinBuffer) return 0;
  StunWriter w(out.data(), kBindingSuccess, request.data() + 8);
  uint8_t mapped[8];
  mapped[0] = 0;
  mapped[1] = 0x01;  // IPv4
  Put16(mapped + 2, static_cast<uint16_t>(ntohs(source.sin_port) ^ (kMagicCookie >> 16)));
  Put32(mapped + 4, ntohl(source.sin_addr.s_addr) ^ kMagicCookie);
  w.Add(kAttrXorMappedAddress, mapped, sizeof mapped);
  return w.Finish(password);
}

}  // namespace webrtc2sip::bench::relay
