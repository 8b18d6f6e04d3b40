#include "services/media-relay/dtls/dtls_certificate.h"

#include <gtest/gtest.h>

#include <regex>

#include "services/media-relay/dtls/dtls_context.h"
#include "services/media-relay/dtls/dtls_fingerprint.h"

namespace webrtc2sip::media {
namespace {

TEST(DtlsCertificateTest, GeneratesAnEcdsaP256SelfSignedCertificate) {
  const auto cert = DtlsCertificate::Generate();
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(cert->private_key()), EVP_PKEY_EC);
  char group[32] = {};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(cert->private_key(), group, sizeof(group), &group_len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_private_key(cert->x509(), cert->private_key()), 1);
  // Self-signed: issuer == subject, and the signature verifies with its own key.
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert->x509()), X509_get_subject_name(cert->x509())),
            0);
  EXPECT_EQ(X509_verify(cert->x509(), cert->private_key()), 1);
}

TEST(DtlsCertificateTest, FingerprintIsSha256InSdpForm) {
  const auto cert = DtlsCertificate::Generate();
  const std::string& fp = cert->fingerprint();
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fp;
  EXPECT_EQ(ComputeFingerprint(cert->x509(), "sha-256"), fp);
  EXPECT_EQ(ComputeFingerprint(cert->x509(), "SHA-256"), fp);
  EXPECT_NE(DtlsCertificate::Generate()->fingerprint(), fp);  // A new key each time.
}

TEST(DtlsFingerprintTest, SupportsTheSdpHashFunctions) {
  const auto cert = DtlsCertificate::Generate();
  const std::pair<const char*, size_t> algorithms[] = {
      {"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64}};
  for (const auto& [name, bytes] : algorithms) {
    const auto fp = ComputeFingerprint(cert->x509(), name);
    ASSERT_TRUE(fp.has_value()) << name;
    EXPECT_EQ(fp->size(), bytes * 3 - 1) << name;
    EXPECT_TRUE(IsSupportedFingerprintAlgorithm(name));
  }
  EXPECT_FALSE(ComputeFingerprint(cert->x509(), "md5").has_value());
  EXPECT_FALSE(ComputeFingerprint(nullptr, "sha-256").has_value());
  EXPECT_FALSE(IsSupportedFingerprintAlgorithm("sha-3"));
  EXPECT_TRUE(FingerprintValuesEqual("AB:cd:01", "ab:CD:01"));
  EXPECT_FALSE(FingerprintValuesEqual("AB:CD:01", "AB:CD:02"));
  EXPECT_FALSE(FingerprintValuesEqual("AB:CD", "AB:CD:01"));
}

TEST(DtlsContextTest, RefusesNoCertificateAndNoProfile) {
  EXPECT_THROW(DtlsContext::Create(nullptr), std::runtime_error);
  EXPECT_THROW(DtlsContext::Create(DtlsCertificate::Generate(), DtlsContext::Options{{}}),
               std::runtime_error);
  EXPECT_NE(DtlsContext::Create(DtlsCertificate::Generate()), nullptr);
}

}  // namespace
}  // namespace webrtc2sip::media
