#include "services/media-relay/dtls/dtls_fingerprint.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>

#include "common/text/ascii.h"

namespace webrtc2sip::media {
namespace {

const EVP_MD* DigestFor(std::string_view algorithm) {
  struct Entry {
    std::string_view name;
    const EVP_MD* (*md)();
  };
  static constexpr std::array<Entry, 5> kDigests = {{
      {"sha-1", EVP_sha1},
      {"sha-224", EVP_sha224},
      {"sha-256", EVP_sha256},
      {"sha-384", EVP_sha384},
      {"sha-512", EVP_sha512},
  }};
  for (const Entry& entry : kDigests) {
    if (EqualsIgnoreCase(entry.name, algorithm)) return entry.md();
  }
  return nullptr;
}

}  // namespace

bool IsSupportedFingerprintAlgorithm(std::string_view algorithm) {
  return DigestFor(algorithm) != nullptr;
}

std::optional<std::string> ComputeFingerprint(X509* cert, std::string_view algorithm) {
  const EVP_MD* md = DigestFor(algorithm);
  if (cert == nullptr || md == nullptr) return std::nullopt;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, md, digest, &length) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(static_cast<size_t>(length) * 3);
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) out.push_back(':');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

bool FingerprintValuesEqual(std::string_view a, std::string_view b) {
  return EqualsIgnoreCase(a, b);
}

}  // namespace webrtc2sip::media
