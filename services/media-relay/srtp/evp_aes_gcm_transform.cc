#include "services/media-relay/srtp/evp_aes_gcm_transform.h"

#include <algorithm>
#include <climits>

#include "services/media-relay/srtp/srtp_packet.h"

namespace webrtc2sip::media {
namespace {

constexpr uint32_t kEncryptedFlag = 0x80000000u;

EvpCipherCtxPtr KeyedGcm(const std::vector<uint8_t>& key, bool encrypt) {
  const EVP_CIPHER* cipher = nullptr;
  if (key.size() == 16) {
    cipher = EVP_aes_128_gcm();
  } else if (key.size() == 32) {
    cipher = EVP_aes_256_gcm();
  } else {
    return nullptr;
  }
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1) {
    return nullptr;
  }
  return ctx;
}

// RFC 7714 8.1 / 9.1: the salt XOR 00 00 || SSRC || (ROC || SEQ, or 00 00 || SRTCP index).
std::array<uint8_t, 12> MakeIv(const std::array<uint8_t, 12>& salt, uint32_t ssrc, uint32_t high,
                               uint16_t low) {
  std::array<uint8_t, 12> iv = salt;
  for (int i = 0; i < 4; ++i) {
    iv[2 + i] ^= static_cast<uint8_t>(ssrc >> (24 - 8 * i));
    iv[6 + i] ^= static_cast<uint8_t>(high >> (24 - 8 * i));
  }
  iv[10] ^= static_cast<uint8_t>(low >> 8);
  iv[11] ^= static_cast<uint8_t>(low);
  return iv;
}

std::array<uint8_t, 12> RtcpIv(const std::array<uint8_t, 12>& salt, uint32_t ssrc, uint32_t index) {
  return MakeIv(salt, ssrc, index >> 16, static_cast<uint16_t>(index));
}

}  // namespace

std::unique_ptr<EvpAesGcmTransform> EvpAesGcmTransform::Create(const SrtpSessionKeys& keys,
                                                               bool encrypt) {
  if (keys.rtp_salt.size() != 12 || keys.rtcp_salt.size() != 12) return nullptr;
  std::unique_ptr<EvpAesGcmTransform> t(new EvpAesGcmTransform());
  std::copy(keys.rtp_salt.begin(), keys.rtp_salt.end(), t->rtp_salt_.begin());
  std::copy(keys.rtcp_salt.begin(), keys.rtcp_salt.end(), t->rtcp_salt_.begin());
  t->rtp_ctx_ = KeyedGcm(keys.rtp_key, encrypt);
  t->rtcp_ctx_ = KeyedGcm(keys.rtcp_key, encrypt);
  if (!t->rtp_ctx_ || !t->rtcp_ctx_) return nullptr;
  return t;
}

bool EvpAesGcmTransform::Seal(EVP_CIPHER_CTX* ctx, const Iv& iv, const uint8_t* aad1,
                              size_t aad1_len, const uint8_t* aad2, size_t aad2_len, uint8_t* data,
                              size_t len, uint8_t* tag) {
  if (len > INT_MAX || aad1_len > INT_MAX || aad2_len > INT_MAX) return false;
  int written = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1) return false;
  if (EVP_EncryptUpdate(ctx, nullptr, &written, aad1, static_cast<int>(aad1_len)) != 1) {
    return false;
  }
  if (aad2_len > 0 &&
      EVP_EncryptUpdate(ctx, nullptr, &written, aad2, static_cast<int>(aad2_len)) != 1) {
    return false;
  }
  if (len > 0 && EVP_EncryptUpdate(ctx, data, &written, data, static_cast<int>(len)) != 1) {
    return false;
  }
  uint8_t none[16];  // GCM's final step outputs nothing.
  return EVP_EncryptFinal_ex(ctx, none, &written) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagLength, tag) == 1;
}

SrtpResult EvpAesGcmTransform::Open(EVP_CIPHER_CTX* ctx, const Iv& iv, const uint8_t* aad1,
                                    size_t aad1_len, const uint8_t* aad2, size_t aad2_len,
                                    uint8_t* data, size_t len, const uint8_t* tag) {
  if (len > INT_MAX || aad1_len > INT_MAX || aad2_len > INT_MAX) return SrtpResult::kError;
  int written = 0;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only copies from it.
  uint8_t tag_copy[kTagLength];
  std::copy_n(tag, kTagLength, tag_copy);
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &written, aad1, static_cast<int>(aad1_len)) != 1 ||
      (aad2_len > 0 &&
       EVP_DecryptUpdate(ctx, nullptr, &written, aad2, static_cast<int>(aad2_len)) != 1) ||
      (len > 0 && EVP_DecryptUpdate(ctx, data, &written, data, static_cast<int>(len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagLength, tag_copy) != 1) {
    return SrtpResult::kError;
  }
  uint8_t none[16];  // GCM's final step outputs nothing; it checks the tag.
  return EVP_DecryptFinal_ex(ctx, none, &written) == 1 ? SrtpResult::kOk : SrtpResult::kAuthFail;
}

bool EvpAesGcmTransform::ProtectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc,
                                    uint32_t roc, uint16_t seq) {
  const Iv iv = MakeIv(rtp_salt_, ssrc, roc, seq);
  if (!Seal(rtp_ctx_.get(), iv, buf, header_len, nullptr, 0, buf + header_len, *len - header_len,
            buf + *len)) {
    return false;
  }
  *len += kTagLength;
  return true;
}

SrtpResult EvpAesGcmTransform::UnprotectRtp(uint8_t* buf, size_t* len, size_t header_len,
                                            uint32_t ssrc, uint32_t roc, uint16_t seq) {
  const size_t plain_len = *len - kTagLength;
  const Iv iv = MakeIv(rtp_salt_, ssrc, roc, seq);
  const SrtpResult result = Open(rtp_ctx_.get(), iv, buf, header_len, nullptr, 0, buf + header_len,
                                 plain_len - header_len, buf + plain_len);
  if (result == SrtpResult::kOk) *len = plain_len;
  return result;
}

bool EvpAesGcmTransform::ProtectRtcp(uint8_t* buf, size_t* len, uint32_t ssrc, uint32_t index) {
  // Layout: header (8) || ciphertext || tag (16) || E + SRTCP index (4). The AAD is the
  // header and the E + index word (RFC 7714 9.3).
  uint8_t trailer[4];
  WriteU32(trailer, kEncryptedFlag | index);
  const Iv iv = RtcpIv(rtcp_salt_, ssrc, index);
  if (!Seal(rtcp_ctx_.get(), iv, buf, kRtcpHeaderLength, trailer, sizeof(trailer),
            buf + kRtcpHeaderLength, *len - kRtcpHeaderLength, buf + *len)) {
    return false;
  }
  std::copy_n(trailer, sizeof(trailer), buf + *len + kTagLength);
  *len += kTagLength + sizeof(trailer);
  return true;
}

uint32_t EvpAesGcmTransform::RtcpTrailerWord(const uint8_t* buf, size_t len) const {
  return ReadU32(buf + len - 4);
}

SrtpResult EvpAesGcmTransform::UnprotectRtcp(uint8_t* buf, size_t* len) {
  const uint8_t* trailer = buf + *len - 4;
  const uint32_t word = ReadU32(trailer);
  const size_t plain_len = *len - 4 - kTagLength;
  const uint8_t* tag = buf + plain_len;
  const Iv iv = RtcpIv(rtcp_salt_, RtcpSenderSsrc(buf), word & ~kEncryptedFlag);
  SrtpResult result;
  if ((word & kEncryptedFlag) != 0) {
    result = Open(rtcp_ctx_.get(), iv, buf, kRtcpHeaderLength, trailer, 4, buf + kRtcpHeaderLength,
                  plain_len - kRtcpHeaderLength, tag);
  } else {
    // Authenticated only: the whole packet is AAD (RFC 7714 9.3).
    result = Open(rtcp_ctx_.get(), iv, buf, plain_len, trailer, 4, nullptr, 0, tag);
  }
  if (result == SrtpResult::kOk) *len = plain_len;
  return result;
}

}  // namespace webrtc2sip::media
