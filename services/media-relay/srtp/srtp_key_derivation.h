#pragma once

// SRTP key derivation (RFC 3711 4.3) with the AES-CM PRF, key_derivation_rate 0. Exposed on
// its own so that RFC 3711 Appendix B known-answer tests can check it.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "services/media-relay/srtp/srtp_profile.h"

namespace webrtc2sip::media {

enum class SrtpKdfLabel : uint8_t {
  kRtpEncryption = 0x00,
  kRtpAuthentication = 0x01,
  kRtpSalt = 0x02,
  kRtcpEncryption = 0x03,
  kRtcpAuthentication = 0x04,
  kRtcpSalt = 0x05,
};

// AES counter-mode keystream (RFC 3711 4.1.1) from a 16-byte initial counter `iv`, with a 16
// or 32-byte AES key. False on a bad key length or a crypto library failure.
bool AesCmKeystream(std::span<const uint8_t> key, std::span<const uint8_t, 16> iv,
                    std::span<uint8_t> out);

// One session key: PRF_n(k_master, (label || r) XOR k_salt). `master_salt` is 14 bytes, or
// 12 for the AEAD suites (zero-padded on the right, as libsrtp does).
bool DeriveSrtpSessionKey(std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
                          SrtpKdfLabel label, std::span<uint8_t> out);

// Everything a profile needs for SRTP and SRTCP. Auth keys stay empty for AEAD suites.
struct SrtpSessionKeys {
  std::vector<uint8_t> rtp_key;
  std::vector<uint8_t> rtp_salt;
  std::vector<uint8_t> rtp_auth_key;
  std::vector<uint8_t> rtcp_key;
  std::vector<uint8_t> rtcp_salt;
  std::vector<uint8_t> rtcp_auth_key;
};

inline constexpr size_t kSrtpHmacSha1KeyLength = 20;

std::optional<SrtpSessionKeys> DeriveSrtpSessionKeys(SrtpProfile profile,
                                                     const SrtpMasterKey& master);

}  // namespace webrtc2sip::media
