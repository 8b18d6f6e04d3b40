#pragma once

#include <array>
#include <memory>

#include "common/cwrap/openssl_ptr.h"
#include "services/media-relay/srtp/hmac_sha1.h"
#include "services/media-relay/srtp/srtp_key_derivation.h"
#include "services/media-relay/srtp/srtp_transform.h"

namespace webrtc2sip::media {

// AES_CM_128_HMAC_SHA1_80/_32 (RFC 3711 4.1.1, 4.2.1) on OpenSSL EVP. The cipher contexts are
// keyed once; a packet only sets a new counter block.
class EvpAesCmTransform final : public SrtpTransform {
 public:
  // `rtp_tag_length` is 10 or 4; SRTCP always uses 10. Returns nullptr on a key the library
  // refuses.
  static std::unique_ptr<EvpAesCmTransform> Create(const SrtpSessionKeys& keys,
                                                   size_t rtp_tag_length);

  bool ProtectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc, uint32_t roc,
                  uint16_t seq) override;
  SrtpResult UnprotectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc, uint32_t roc,
                          uint16_t seq) override;
  bool ProtectRtcp(uint8_t* buf, size_t* len, uint32_t ssrc, uint32_t index) override;
  uint32_t RtcpTrailerWord(const uint8_t* buf, size_t len) const override;
  SrtpResult UnprotectRtcp(uint8_t* buf, size_t* len) override;

 private:
  static constexpr size_t kRtcpTagLength = 10;

  EvpAesCmTransform() = default;
  bool Crypt(EVP_CIPHER_CTX* ctx, const std::array<uint8_t, 16>& iv, uint8_t* data, size_t len);

  size_t rtp_tag_length_ = 10;
  std::array<uint8_t, 14> rtp_salt_{};
  std::array<uint8_t, 14> rtcp_salt_{};
  EvpCipherCtxPtr rtp_cipher_;
  EvpCipherCtxPtr rtcp_cipher_;
  HmacSha1 rtp_auth_;
  HmacSha1 rtcp_auth_;
};

}  // namespace webrtc2sip::media
