#include "services/media-relay/srtp/srtp_key_derivation.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>

#include "common/cwrap/openssl_ptr.h"

namespace webrtc2sip::media {

bool AesCmKeystream(std::span<const uint8_t> key, std::span<const uint8_t, 16> iv,
                    std::span<uint8_t> out) {
  const EVP_CIPHER* cipher = nullptr;
  if (key.size() == 16) {
    cipher = EVP_aes_128_ctr();
  } else if (key.size() == 32) {
    cipher = EVP_aes_256_ctr();
  } else {
    return false;
  }
  if (out.size() > INT_MAX) return false;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) != 1) {
    return false;
  }
  // The keystream is the encryption of zeros.
  std::fill(out.begin(), out.end(), 0);
  int written = 0;
  return EVP_EncryptUpdate(ctx.get(), out.data(), &written, out.data(),
                           static_cast<int>(out.size())) == 1 &&
         static_cast<size_t>(written) == out.size();
}

bool DeriveSrtpSessionKey(std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
                          SrtpKdfLabel label, std::span<uint8_t> out) {
  if (master_salt.size() > kSrtpMaxMasterSaltLength) return false;
  // x = (label || r) XOR salt, r = 0 (key_derivation_rate 0); the label lands on the 8th
  // byte of the 112-bit salt. The counter is x * 2^16.
  std::array<uint8_t, 16> iv{};
  std::copy(master_salt.begin(), master_salt.end(), iv.begin());
  iv[7] ^= static_cast<uint8_t>(label);
  return AesCmKeystream(master_key, iv, out);
}

std::optional<SrtpSessionKeys> DeriveSrtpSessionKeys(SrtpProfile profile,
                                                     const SrtpMasterKey& master) {
  if (!SrtpMasterKeyFits(profile, master)) return std::nullopt;
  const size_t key_length = SrtpMasterKeyLength(profile);
  const size_t salt_length = SrtpMasterSaltLength(profile);
  const bool aead = SrtpIsAead(profile);
  SrtpSessionKeys keys;
  keys.rtp_key.resize(key_length);
  keys.rtp_salt.resize(salt_length);
  keys.rtcp_key.resize(key_length);
  keys.rtcp_salt.resize(salt_length);
  if (!aead) {
    keys.rtp_auth_key.resize(kSrtpHmacSha1KeyLength);
    keys.rtcp_auth_key.resize(kSrtpHmacSha1KeyLength);
  }
  const auto derive = [&](SrtpKdfLabel label, std::vector<uint8_t>& out) {
    return out.empty() || DeriveSrtpSessionKey(master.key, master.salt, label, out);
  };
  if (!derive(SrtpKdfLabel::kRtpEncryption, keys.rtp_key) ||
      !derive(SrtpKdfLabel::kRtpAuthentication, keys.rtp_auth_key) ||
      !derive(SrtpKdfLabel::kRtpSalt, keys.rtp_salt) ||
      !derive(SrtpKdfLabel::kRtcpEncryption, keys.rtcp_key) ||
      !derive(SrtpKdfLabel::kRtcpAuthentication, keys.rtcp_auth_key) ||
      !derive(SrtpKdfLabel::kRtcpSalt, keys.rtcp_salt)) {
    return std::nullopt;
  }
  return keys;
}

}  // namespace webrtc2sip::media
