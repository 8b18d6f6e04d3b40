#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/cwrap/openssl_ptr.h"

namespace webrtc2sip::media {

// This node's DTLS identity: an ECDSA P-256 key and a self-signed X.509 certificate, made once
// at startup and shared (read-only) by every transport on every worker.
class DtlsCertificate {
 public:
  static constexpr std::string_view kFingerprintAlgorithm = "sha-256";

  // Throws std::runtime_error when OpenSSL cannot make the key or the certificate.
  static std::shared_ptr<const DtlsCertificate> Generate(
      std::string_view common_name = "webrtc2sip");

  X509* x509() const { return cert_.get(); }
  EVP_PKEY* private_key() const { return key_.get(); }
  // SHA-256 fingerprint, "AB:CD:..." as a=fingerprint:sha-256 wants it.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  DtlsCertificate(EvpPkeyPtr key, X509Ptr cert, std::string fingerprint);

  EvpPkeyPtr key_;
  X509Ptr cert_;
  std::string fingerprint_;
};

}  // namespace webrtc2sip::media
