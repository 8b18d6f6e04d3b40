#pragma once

#include <array>
#include <memory>

#include "common/cwrap/openssl_ptr.h"
#include "services/media-relay/srtp/srtp_key_derivation.h"
#include "services/media-relay/srtp/srtp_transform.h"

namespace webrtc2sip::media {

// AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714) on OpenSSL EVP, 16-byte tags. A context is
// keyed once per direction; a packet only sets a new 12-byte IV.
class EvpAesGcmTransform final : public SrtpTransform {
 public:
  static constexpr size_t kTagLength = 16;

  // `encrypt` chooses the direction the contexts are keyed for. nullptr on a bad key.
  static std::unique_ptr<EvpAesGcmTransform> Create(const SrtpSessionKeys& keys, bool encrypt);

  bool ProtectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc, uint32_t roc,
                  uint16_t seq) override;
  SrtpResult UnprotectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc, uint32_t roc,
                          uint16_t seq) override;
  bool ProtectRtcp(uint8_t* buf, size_t* len, uint32_t ssrc, uint32_t index) override;
  uint32_t RtcpTrailerWord(const uint8_t* buf, size_t len) const override;
  SrtpResult UnprotectRtcp(uint8_t* buf, size_t* len) override;

 private:
  using Iv = std::array<uint8_t, 12>;

  EvpAesGcmTransform() = default;
  // AEAD encryption of `data` in place with two pieces of additional data; writes the tag.
  bool Seal(EVP_CIPHER_CTX* ctx, const Iv& iv, const uint8_t* aad1, size_t aad1_len,
            const uint8_t* aad2, size_t aad2_len, uint8_t* data, size_t len, uint8_t* tag);
  SrtpResult Open(EVP_CIPHER_CTX* ctx, const Iv& iv, const uint8_t* aad1, size_t aad1_len,
                  const uint8_t* aad2, size_t aad2_len, uint8_t* data, size_t len,
                  const uint8_t* tag);

  Iv rtp_salt_{};
  Iv rtcp_salt_{};
  EvpCipherCtxPtr rtp_ctx_;
  EvpCipherCtxPtr rtcp_ctx_;
};

}  // namespace webrtc2sip::media
