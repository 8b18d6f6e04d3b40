#pragma once

#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace webrtc2sip::media {

// HMAC-SHA1 (RFC 2104) with the keyed inner and outer hash states computed once. Each MAC
// starts from a plain struct copy of those states: no allocation per packet. (OpenSSL 3.0's
// EVP_MAC and EVP_MD_CTX re-initialisation allocate on every call; 3.0 has no way around it.)
class HmacSha1 {
 public:
  static constexpr size_t kDigestLength = 20;

  HmacSha1() = default;
  ~HmacSha1();
  HmacSha1(const HmacSha1&) = delete;
  HmacSha1& operator=(const HmacSha1&) = delete;

  void SetKey(std::span<const uint8_t> key);

  // HMAC(key, first || second), all 20 bytes into `out`.
  void Compute(std::span<const uint8_t> first, std::span<const uint8_t> second,
               uint8_t (&out)[kDigestLength]) const;

 private:
  SHA_CTX inner_{};
  SHA_CTX outer_{};
};

}  // namespace webrtc2sip::media
