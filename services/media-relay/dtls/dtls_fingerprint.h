#pragma once

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>

namespace webrtc2sip::media {

// A certificate fingerprint as SDP's a=fingerprint carries it (RFC 8122): a hash function
// name ("sha-256") and the digest as colon-separated uppercase hex ("AB:CD:...").
struct DtlsFingerprint {
  std::string algorithm;
  std::string value;
};

// Digest of `cert` (DER) with one of sha-1, sha-224, sha-256, sha-384, sha-512 (any case);
// nullopt for another algorithm or a null certificate.
std::optional<std::string> ComputeFingerprint(X509* cert, std::string_view algorithm);

bool IsSupportedFingerprintAlgorithm(std::string_view algorithm);

// Same digest, ignoring hex case.
bool FingerprintValuesEqual(std::string_view a, std::string_view b);

}  // namespace webrtc2sip::media
