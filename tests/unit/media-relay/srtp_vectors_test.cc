// Known-answer tests: RFC 3711 Appendix B, RFC 7714 sections 16-17, and the packets libsrtp
// validates itself against (test/srtp_driver.c, srtp_validate and srtp_validate_gcm).

#include <gtest/gtest.h>

#include <array>

#include "services/media-relay/srtp/evp_aes_cm_transform.h"
#include "services/media-relay/srtp/evp_aes_gcm_transform.h"
#include "services/media-relay/srtp/srtp_key_derivation.h"
#include "services/media-relay/srtp/srtp_session.h"
#include "tests/unit/media-relay/test_packets.h"

namespace webrtc2sip::media {
namespace {

using testing::Hex;
using testing::Packet;

std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t from, size_t n) {
  return {v.begin() + static_cast<ptrdiff_t>(from), v.begin() + static_cast<ptrdiff_t>(from + n)};
}

// RFC 3711 B.2: AES-CM keystream, 65282 blocks from the shifted salt.
TEST(SrtpVectorsTest, Rfc3711AesCmKeystream) {
  const auto key = Hex("2B7E151628AED2A6ABF7158809CF4F3C");
  const auto iv_bytes = Hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");
  std::array<uint8_t, 16> iv;
  std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
  std::vector<uint8_t> stream(size_t{65282} * 16);
  ASSERT_TRUE(AesCmKeystream(key, iv, stream));
  EXPECT_EQ(Slice(stream, 0, 48), Hex("E03EAD0935C95E80E166B16DD92B4EB4"
                                      "D23513162B02D0F72A43A2FE4A5F97AB"
                                      "41E95B3BB0A2E8DD477901E4FCA894C0"));
  EXPECT_EQ(Slice(stream, size_t{0xFEFF} * 16, 48), Hex("EC8CDF7398607CB0F2D21675EA9EA1E4"
                                                        "362B7C3C6773516318A077D7FC5073AE"
                                                        "6A2CC3787889374FBEB4C81B17BA6C44"));
}

// The same keystream through the packet transform: SSRC 0, ROC 0, SEQ 0 make the IV the
// shifted salt, so a zero payload encrypts to the keystream.
TEST(SrtpVectorsTest, Rfc3711AesCmKeystreamThroughRtpTransform) {
  SrtpSessionKeys keys;
  keys.rtp_key = keys.rtcp_key = Hex("2B7E151628AED2A6ABF7158809CF4F3C");
  keys.rtp_salt = keys.rtcp_salt = Hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  keys.rtp_auth_key = keys.rtcp_auth_key = std::vector<uint8_t>(20, 0x11);
  auto transform = EvpAesCmTransform::Create(keys, 10);
  ASSERT_NE(transform, nullptr);
  Packet p;
  p.data[0] = 0x80;
  p.len = 12 + 48;
  ASSERT_TRUE(transform->ProtectRtp(p.buf(), &p.len, 12, 0, 0, 0));
  EXPECT_EQ(p.len, 12u + 48 + 10);
  EXPECT_EQ(Slice(p.bytes(), 12, 48), Hex("E03EAD0935C95E80E166B16DD92B4EB4"
                                          "D23513162B02D0F72A43A2FE4A5F97AB"
                                          "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

// RFC 3711 B.3: key derivation.
TEST(SrtpVectorsTest, Rfc3711KeyDerivation) {
  const auto master_key = Hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const auto master_salt = Hex("0EC675AD498AFEEBB6960B3AABE6");
  std::vector<uint8_t> cipher_key(16), cipher_salt(14), auth_key(94);
  ASSERT_TRUE(
      DeriveSrtpSessionKey(master_key, master_salt, SrtpKdfLabel::kRtpEncryption, cipher_key));
  ASSERT_TRUE(DeriveSrtpSessionKey(master_key, master_salt, SrtpKdfLabel::kRtpSalt, cipher_salt));
  ASSERT_TRUE(
      DeriveSrtpSessionKey(master_key, master_salt, SrtpKdfLabel::kRtpAuthentication, auth_key));
  EXPECT_EQ(cipher_key, Hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(cipher_salt, Hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(auth_key, Hex("CEBE321F6FF7716B6FD4AB49AF256A15"
                          "6D38BAA48F0A0ACF3C34E2359E6CDBCE"
                          "E049646C43D9327AD175578EF7227098"
                          "6371C10C9A369AC2F94A8C5FBCDDDC25"
                          "6D6E919A48B610EF17C2041E47403576"
                          "6B68642C59BBFC2F34DB60DBDFB2"));

  const auto keys =
      DeriveSrtpSessionKeys(SrtpProfile::kAes128CmSha1_80, SrtpMasterKey{master_key, master_salt});
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->rtp_key, cipher_key);
  EXPECT_EQ(keys->rtp_salt, cipher_salt);
  EXPECT_EQ(keys->rtp_auth_key, Slice(auth_key, 0, 20));
  EXPECT_NE(keys->rtcp_key, keys->rtp_key);  // SRTCP has its own labels.
}

TEST(SrtpVectorsTest, KeyDerivationRefusesWrongLengths) {
  const SrtpMasterKey short_key{std::vector<uint8_t>(15), std::vector<uint8_t>(14)};
  EXPECT_FALSE(DeriveSrtpSessionKeys(SrtpProfile::kAes128CmSha1_80, short_key).has_value());
  const SrtpMasterKey cm_salt{std::vector<uint8_t>(16), std::vector<uint8_t>(14)};
  EXPECT_FALSE(DeriveSrtpSessionKeys(SrtpProfile::kAeadAes128Gcm, cm_salt).has_value());
}

// RFC 7714 sections 16 (SRTP) and 17 (SRTCP): session keys given directly.
struct Rfc7714Vector {
  const char* name;
  const char* key;
  const char* rtp_encrypted;
  const char* rtcp_encrypted;
  const char* rtcp_authenticated_only;
};

constexpr const char* kRfc7714Salt = "517569642070726f2071756f";
constexpr const char* kRfc7714RtpPlain =
    "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976"
    "69736120 696e2070 61727465 73207472 6573";
constexpr const char* kRfc7714RtcpPlain =
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
    "deadbeef deadbeef deadbeef deadbeef deadbeef";
constexpr uint32_t kRfc7714RtcpIndex = 0x5d4;

const Rfc7714Vector kRfc7714Vectors[] = {
    {"AEAD_AES_128_GCM", "000102030405060708090a0b0c0d0e0f",
     "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5"
     "0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
     "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
     "c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade"
     "800005d4",
     "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
     "deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3"
     "000005d4"},
    {"AEAD_AES_256_GCM", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238"
     "9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
     "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50"
     "a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be"
     "800005d4",
     "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
     "deadbeef deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393 ed2615fe"
     "000005d4"},
};

class Rfc7714Test : public ::testing::TestWithParam<Rfc7714Vector> {
 protected:
  std::unique_ptr<EvpAesGcmTransform> Transform(bool encrypt) {
    SrtpSessionKeys keys;
    keys.rtp_key = keys.rtcp_key = Hex(GetParam().key);
    keys.rtp_salt = keys.rtcp_salt = Hex(kRfc7714Salt);
    return EvpAesGcmTransform::Create(keys, encrypt);
  }
};

TEST_P(Rfc7714Test, EncryptsRtp) {
  auto t = Transform(true);
  ASSERT_NE(t, nullptr);
  Packet p = Packet::From(Hex(kRfc7714RtpPlain));
  ASSERT_TRUE(t->ProtectRtp(p.buf(), &p.len, 12, 0x5501a0b2, 0, 0xf17b));
  EXPECT_EQ(p.bytes(), Hex(GetParam().rtp_encrypted));
}

TEST_P(Rfc7714Test, DecryptsRtp) {
  auto t = Transform(false);
  ASSERT_NE(t, nullptr);
  Packet p = Packet::From(Hex(GetParam().rtp_encrypted));
  ASSERT_EQ(t->UnprotectRtp(p.buf(), &p.len, 12, 0x5501a0b2, 0, 0xf17b), SrtpResult::kOk);
  EXPECT_EQ(p.bytes(), Hex(kRfc7714RtpPlain));
}

TEST_P(Rfc7714Test, RejectsRtpWithWrongRoc) {
  auto t = Transform(false);
  Packet p = Packet::From(Hex(GetParam().rtp_encrypted));
  EXPECT_EQ(t->UnprotectRtp(p.buf(), &p.len, 12, 0x5501a0b2, 1, 0xf17b), SrtpResult::kAuthFail);
}

TEST_P(Rfc7714Test, EncryptsRtcp) {
  auto t = Transform(true);
  Packet p = Packet::From(Hex(kRfc7714RtcpPlain));
  ASSERT_TRUE(t->ProtectRtcp(p.buf(), &p.len, 0x4d617273, kRfc7714RtcpIndex));
  EXPECT_EQ(p.bytes(), Hex(GetParam().rtcp_encrypted));
}

TEST_P(Rfc7714Test, DecryptsRtcp) {
  auto t = Transform(false);
  Packet p = Packet::From(Hex(GetParam().rtcp_encrypted));
  EXPECT_EQ(t->RtcpTrailerWord(p.buf(), p.len), 0x80000000u | kRfc7714RtcpIndex);
  ASSERT_EQ(t->UnprotectRtcp(p.buf(), &p.len), SrtpResult::kOk);
  EXPECT_EQ(p.bytes(), Hex(kRfc7714RtcpPlain));
}

// E bit clear: the packet is authenticated only, all of it is AAD.
TEST_P(Rfc7714Test, VerifiesAuthenticatedOnlyRtcp) {
  auto t = Transform(false);
  Packet p = Packet::From(Hex(GetParam().rtcp_authenticated_only));
  ASSERT_EQ(t->UnprotectRtcp(p.buf(), &p.len), SrtpResult::kOk);
  EXPECT_EQ(p.bytes(), Hex(kRfc7714RtcpPlain));

  Packet tampered = Packet::From(Hex(GetParam().rtcp_authenticated_only));
  tampered.data[20] ^= 0x01;
  EXPECT_EQ(t->UnprotectRtcp(tampered.buf(), &tampered.len), SrtpResult::kAuthFail);
}

INSTANTIATE_TEST_SUITE_P(Aead, Rfc7714Test, ::testing::ValuesIn(kRfc7714Vectors),
                         [](const auto& p) { return std::string(p.param.name); });

// Packets libsrtp checks itself against (its own srtp_driver.c), through the whole session
// API: master key derivation, IV, tag layout. SSRC 0xcafebabe, SEQ 0x1234.
struct LibSrtpVector {
  const char* name;
  SrtpProfile profile;
  const char* master_key;
  const char* master_salt;
  const char* rtp_protected;
  const char* srtcp_protected;  // SRTCP index 1: libsrtp counts from 1.
};

constexpr const char* kLibSrtpRtpPlain =
    "800f1234 decafbad cafebabe abababab abababab abababab abababab";
constexpr const char* kLibSrtpRtcpPlain = "81c8000b cafebabe abababab abababab abababab abababab";

const LibSrtpVector kLibSrtpVectors[] = {
    {"AES_CM_128_HMAC_SHA1_80", SrtpProfile::kAes128CmSha1_80, "e1f97a0d3e018be0d64fa32c06de4139",
     "0ec675ad498afeebb6960b3aabe6",
     "800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb",
     "81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798"},
    {"AEAD_AES_128_GCM", SrtpProfile::kAeadAes128Gcm, "000102030405060708090a0b0c0d0e0f",
     "a0a1a2a3a4a5a6a7a8a9aaab",
     "800f1234 decafbad cafebabe c5002ede 04cfdd2e b91159e0 880aa06e d2976826 f796b201 df3131a1"
     "27e8a392",
     "81c8000b cafebabe c98b8b5d f0392a55 852b6c21 ac8e7025 c52c6fbe a2b3b446 ea31123b a88ce61e"
     "80000001"},
};

class LibSrtpVectorTest : public ::testing::TestWithParam<std::tuple<LibSrtpVector, SrtpImpl>> {
 protected:
  const LibSrtpVector& vector() const { return std::get<0>(GetParam()); }
  std::unique_ptr<SrtpSession> Session(SrtpDirection direction) const {
    return CreateSrtpSession(std::get<1>(GetParam()), direction, vector().profile,
                             {Hex(vector().master_key), Hex(vector().master_salt)});
  }
};

TEST_P(LibSrtpVectorTest, ProtectsRtp) {
  auto session = Session(SrtpDirection::kOutbound);
  ASSERT_NE(session, nullptr);
  Packet p = Packet::From(Hex(kLibSrtpRtpPlain));
  ASSERT_EQ(session->ProtectRtp(p.buf(), &p.len, p.data.size()), SrtpResult::kOk);
  EXPECT_EQ(p.bytes(), Hex(vector().rtp_protected));
}

TEST_P(LibSrtpVectorTest, UnprotectsRtpAndRtcp) {
  auto session = Session(SrtpDirection::kInbound);
  ASSERT_NE(session, nullptr);
  Packet rtp = Packet::From(Hex(vector().rtp_protected));
  ASSERT_EQ(session->UnprotectRtp(rtp.buf(), &rtp.len), SrtpResult::kOk);
  EXPECT_EQ(rtp.bytes(), Hex(kLibSrtpRtpPlain));
  Packet rtcp = Packet::From(Hex(vector().srtcp_protected));
  ASSERT_EQ(session->UnprotectRtcp(rtcp.buf(), &rtcp.len), SrtpResult::kOk);
  EXPECT_EQ(rtcp.bytes(), Hex(kLibSrtpRtcpPlain));
}

INSTANTIATE_TEST_SUITE_P(Both, LibSrtpVectorTest,
                         ::testing::Combine(::testing::ValuesIn(kLibSrtpVectors),
                                            ::testing::Values(SrtpImpl::kLibSrtp, SrtpImpl::kEvp)),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param).name) +
                                  (std::get<1>(p.param) == SrtpImpl::kEvp ? "_Evp" : "_LibSrtp");
                         });

}  // namespace
}  // namespace webrtc2sip::media
