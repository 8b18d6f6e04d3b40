#include "services/media-relay/dtls/dtls_certificate.h"

#include <openssl/ec.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <string>

#include "services/media-relay/dtls/dtls_fingerprint.h"

namespace webrtc2sip::media {
namespace {

constexpr long kOneDay = 24L * 60 * 60;
// Browsers ignore validity for DTLS-SRTP; a wide window avoids clock-skew surprises elsewhere.
constexpr long kNotBefore = -kOneDay;
constexpr long kNotAfter = 365 * kOneDay;

[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(std::string("DTLS certificate: ") + what);
}

}  // namespace

DtlsCertificate::DtlsCertificate(EvpPkeyPtr key, X509Ptr cert, std::string fingerprint)
    : key_(std::move(key)), cert_(std::move(cert)), fingerprint_(std::move(fingerprint)) {}

std::shared_ptr<const DtlsCertificate> DtlsCertificate::Generate(std::string_view common_name) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) Fail("cannot generate an ECDSA P-256 key");

  X509Ptr cert(X509_new());
  if (!cert) Fail("X509_new failed");
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
    Fail("no random serial number");
  }
  serial &= 0x7fffffffffffffffULL;  // A positive INTEGER.
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), kNotBefore) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kNotAfter) == nullptr ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    Fail("cannot fill in the certificate");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) Fail("cannot sign the certificate");

  std::optional<std::string> fingerprint = ComputeFingerprint(cert.get(), kFingerprintAlgorithm);
  if (!fingerprint) Fail("cannot compute the fingerprint");
  return std::shared_ptr<const DtlsCertificate>(
      new DtlsCertificate(std::move(key), std::move(cert), std::move(*fingerprint)));
}

}  // namespace webrtc2sip::media
