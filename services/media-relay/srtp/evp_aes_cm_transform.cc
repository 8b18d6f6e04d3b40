#include "services/media-relay/srtp/evp_aes_cm_transform.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <climits>

#include "services/media-relay/srtp/srtp_packet.h"

namespace webrtc2sip::media {
namespace {

EvpCipherCtxPtr KeyedCtr(const std::vector<uint8_t>& key) {
  const EVP_CIPHER* cipher = key.size() == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), nullptr) != 1) {
    return nullptr;
  }
  return ctx;
}

// Counter block: session salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16 (RFC 3711 4.1.1).
std::array<uint8_t, 16> CounterBlock(const std::array<uint8_t, 14>& salt, uint32_t ssrc,
                                     uint64_t index) {
  std::array<uint8_t, 16> iv{};
  std::copy(salt.begin(), salt.end(), iv.begin());
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  return iv;
}

}  // namespace

std::unique_ptr<EvpAesCmTransform> EvpAesCmTransform::Create(const SrtpSessionKeys& keys,
                                                             size_t rtp_tag_length) {
  if (keys.rtp_salt.size() != 14 || keys.rtcp_salt.size() != 14 ||
      (rtp_tag_length != 10 && rtp_tag_length != 4)) {
    return nullptr;
  }
  std::unique_ptr<EvpAesCmTransform> t(new EvpAesCmTransform());
  t->rtp_tag_length_ = rtp_tag_length;
  std::copy(keys.rtp_salt.begin(), keys.rtp_salt.end(), t->rtp_salt_.begin());
  std::copy(keys.rtcp_salt.begin(), keys.rtcp_salt.end(), t->rtcp_salt_.begin());
  t->rtp_cipher_ = KeyedCtr(keys.rtp_key);
  t->rtcp_cipher_ = KeyedCtr(keys.rtcp_key);
  if (!t->rtp_cipher_ || !t->rtcp_cipher_) return nullptr;
  t->rtp_auth_.SetKey(keys.rtp_auth_key);
  t->rtcp_auth_.SetKey(keys.rtcp_auth_key);
  return t;
}

bool EvpAesCmTransform::Crypt(EVP_CIPHER_CTX* ctx, const std::array<uint8_t, 16>& iv, uint8_t* data,
                              size_t len) {
  if (len > INT_MAX) return false;
  int written = 0;
  return EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) == 1 &&
         EVP_EncryptUpdate(ctx, data, &written, data, static_cast<int>(len)) == 1 &&
         static_cast<size_t>(written) == len;
}

bool EvpAesCmTransform::ProtectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc,
                                   uint32_t roc, uint16_t seq) {
  const auto iv = CounterBlock(rtp_salt_, ssrc, static_cast<uint64_t>(roc) << 16 | seq);
  if (!Crypt(rtp_cipher_.get(), iv, buf + header_len, *len - header_len)) return false;
  // The tag covers the packet and the ROC, which is not sent (RFC 3711 4.2).
  uint8_t roc_bytes[4];
  WriteU32(roc_bytes, roc);
  uint8_t mac[HmacSha1::kDigestLength];
  rtp_auth_.Compute({buf, *len}, roc_bytes, mac);
  std::copy_n(mac, rtp_tag_length_, buf + *len);
  *len += rtp_tag_length_;
  return true;
}

SrtpResult EvpAesCmTransform::UnprotectRtp(uint8_t* buf, size_t* len, size_t header_len,
                                           uint32_t ssrc, uint32_t roc, uint16_t seq) {
  const size_t authenticated = *len - rtp_tag_length_;
  uint8_t roc_bytes[4];
  WriteU32(roc_bytes, roc);
  uint8_t mac[HmacSha1::kDigestLength];
  rtp_auth_.Compute({buf, authenticated}, roc_bytes, mac);
  if (CRYPTO_memcmp(mac, buf + authenticated, rtp_tag_length_) != 0) {
    return SrtpResult::kAuthFail;
  }
  const auto iv = CounterBlock(rtp_salt_, ssrc, static_cast<uint64_t>(roc) << 16 | seq);
  if (!Crypt(rtp_cipher_.get(), iv, buf + header_len, authenticated - header_len)) {
    return SrtpResult::kError;
  }
  *len = authenticated;
  return SrtpResult::kOk;
}

bool EvpAesCmTransform::ProtectRtcp(uint8_t* buf, size_t* len, uint32_t ssrc, uint32_t index) {
  const auto iv = CounterBlock(rtcp_salt_, ssrc, index);
  if (!Crypt(rtcp_cipher_.get(), iv, buf + kRtcpHeaderLength, *len - kRtcpHeaderLength)) {
    return false;
  }
  WriteU32(buf + *len, 0x80000000u | index);  // E bit: encrypted.
  *len += 4;
  uint8_t mac[HmacSha1::kDigestLength];
  rtcp_auth_.Compute({buf, *len}, {}, mac);
  std::copy_n(mac, kRtcpTagLength, buf + *len);
  *len += kRtcpTagLength;
  return true;
}

uint32_t EvpAesCmTransform::RtcpTrailerWord(const uint8_t* buf, size_t len) const {
  return ReadU32(buf + len - kRtcpTagLength - 4);
}

SrtpResult EvpAesCmTransform::UnprotectRtcp(uint8_t* buf, size_t* len) {
  const size_t authenticated = *len - kRtcpTagLength;
  uint8_t mac[HmacSha1::kDigestLength];
  rtcp_auth_.Compute({buf, authenticated}, {}, mac);
  if (CRYPTO_memcmp(mac, buf + authenticated, kRtcpTagLength) != 0) {
    return SrtpResult::kAuthFail;
  }
  const uint32_t trailer = ReadU32(buf + authenticated - 4);
  const size_t plain_len = authenticated - 4;
  if ((trailer & 0x80000000u) != 0) {
    const auto iv = CounterBlock(rtcp_salt_, RtcpSenderSsrc(buf), trailer & 0x7fffffffu);
    if (!Crypt(rtcp_cipher_.get(), iv, buf + kRtcpHeaderLength, plain_len - kRtcpHeaderLength)) {
      return SrtpResult::kError;
    }
  }
  *len = plain_len;
  return SrtpResult::kOk;
}

}  // namespace webrtc2sip::media
