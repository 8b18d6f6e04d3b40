#include "services/media-relay/legacy/sdes.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace webrtc2sip::media {

SdesKey GenerateSdesKey(uint32_t tag, SrtpProfile profile) {
  SdesKey k;
  k.tag = tag;
  k.profile = profile;
  k.key.key.resize(SrtpMasterKeyLength(profile));
  k.key.salt.resize(SrtpMasterSaltLength(profile));
  RAND_bytes(k.key.key.data(), static_cast<int>(k.key.key.size()));
  RAND_bytes(k.key.salt.data(), static_cast<int>(k.key.salt.size()));
  return k;
}

std::string SdesKeyParams(const SdesKey& key) {
  std::vector<uint8_t> raw(key.key.key);
  raw.insert(raw.end(), key.key.salt.begin(), key.key.salt.end());
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), raw.data(),
                          static_cast<int>(raw.size()));
  b64.resize(static_cast<size_t>(n));
  return "inline:" + b64;
}

std::optional<SdesKey> ParseSdesKey(uint32_t tag, std::string_view suite,
                                    std::string_view key_params) {
  auto profile = SrtpProfileFromSdesName(suite);
  if (!profile) return std::nullopt;
  if (key_params.substr(0, 7) != "inline:") return std::nullopt;
  std::string_view b64 = key_params.substr(7);
  b64 = b64.substr(0, b64.find('|'));  // lifetime and MKI follow
  if (b64.empty() || b64.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> raw(b64.size() / 4 * 3);
  int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the bytes the '=' padding stands for.
  if (b64.size() >= 1 && b64[b64.size() - 1] == '=') --len;
  if (b64.size() >= 2 && b64[b64.size() - 2] == '=') --len;
  const size_t key_len = SrtpMasterKeyLength(*profile);
  const size_t salt_len = SrtpMasterSaltLength(*profile);
  if (len != key_len + salt_len) return std::nullopt;
  SdesKey k;
  k.tag = tag;
  k.profile = *profile;
  k.key.key.assign(raw.begin(), raw.begin() + static_cast<long>(key_len));
  k.key.salt.assign(raw.begin() + static_cast<long>(key_len),
                    raw.begin() + static_cast<long>(key_len + salt_len));
  return k;
}

std::vector<SrtpProfile> OfferedSdesProfiles() {
  // Two lines, as the original gateway offered: the common AES-CM suites.
  return {SrtpProfile::kAes128CmSha1_80, SrtpProfile::kAes128CmSha1_32};
}

}  // namespace webrtc2sip::media
