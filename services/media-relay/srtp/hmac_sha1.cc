// The low-level SHA1 API is deprecated in OpenSSL 3 but is the only allocation-free way to
// restart a keyed hash there (see the header).
#define OPENSSL_SUPPRESS_DEPRECATED

#include "services/media-relay/srtp/hmac_sha1.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>

namespace webrtc2sip::media {
namespace {
constexpr size_t kBlockLength = 64;
}  // namespace

HmacSha1::~HmacSha1() {
  OPENSSL_cleanse(&inner_, sizeof(inner_));
  OPENSSL_cleanse(&outer_, sizeof(outer_));
}

void HmacSha1::SetKey(std::span<const uint8_t> key) {
  std::array<uint8_t, kBlockLength> block{};
  if (key.size() > kBlockLength) {
    SHA1(key.data(), key.size(), block.data());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<uint8_t, kBlockLength> pad;
  for (size_t i = 0; i < kBlockLength; ++i) pad[i] = block[i] ^ 0x36;
  SHA1_Init(&inner_);
  SHA1_Update(&inner_, pad.data(), pad.size());
  for (size_t i = 0; i < kBlockLength; ++i) pad[i] = block[i] ^ 0x5c;
  SHA1_Init(&outer_);
  SHA1_Update(&outer_, pad.data(), pad.size());
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
}

void HmacSha1::Compute(std::span<const uint8_t> first, std::span<const uint8_t> second,
                       uint8_t (&out)[kDigestLength]) const {
  SHA_CTX ctx = inner_;
  SHA1_Update(&ctx, first.data(), first.size());
  SHA1_Update(&ctx, second.data(), second.size());
  uint8_t inner_digest[kDigestLength];
  SHA1_Final(inner_digest, &ctx);
  ctx = outer_;
  SHA1_Update(&ctx, inner_digest, sizeof(inner_digest));
  SHA1_Final(out, &ctx);
}

}  // namespace webrtc2sip::media
