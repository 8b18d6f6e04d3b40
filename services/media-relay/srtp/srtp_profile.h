#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace webrtc2sip::media {

// SRTP crypto suites the relay speaks, on either leg (DTLS-SRTP or SDES).
enum class SrtpProfile { kAes128CmSha1_80, kAes128CmSha1_32, kAeadAes128Gcm, kAeadAes256Gcm };

inline constexpr size_t kSrtpMaxMasterKeyLength = 32;
inline constexpr size_t kSrtpMaxMasterSaltLength = 14;

// Master key length in bytes (16 or 32).
size_t SrtpMasterKeyLength(SrtpProfile profile);
// Master salt length in bytes: 14 for AES-CM, 12 for AEAD (RFC 7714).
size_t SrtpMasterSaltLength(SrtpProfile profile);
// Bytes an SRTP packet grows by when protected (the authentication tag).
size_t SrtpRtpOverhead(SrtpProfile profile);
// Bytes an SRTCP packet grows by when protected (tag + E bit and SRTCP index). SRTCP uses an
// 80-bit tag for both AES-CM suites (RFC 3711 5.2, RFC 4568 6.2.1).
size_t SrtpRtcpOverhead(SrtpProfile profile);
bool SrtpIsAead(SrtpProfile profile);

// SDES crypto-suite names (RFC 4568, RFC 7714 14.2).
std::string_view SrtpProfileSdesName(SrtpProfile profile);
std::optional<SrtpProfile> SrtpProfileFromSdesName(std::string_view name);
// DTLS-SRTP protection profile names as OpenSSL spells them (RFC 5764, RFC 7714 14.2).
std::string_view SrtpProfileDtlsName(SrtpProfile profile);
std::optional<SrtpProfile> SrtpProfileFromDtlsName(std::string_view name);

// One direction's master key and master salt.
struct SrtpMasterKey {
  std::vector<uint8_t> key;
  std::vector<uint8_t> salt;

  bool operator==(const SrtpMasterKey&) const = default;
};

// Keys of both directions as DTLS-SRTP exports them: `local` protects what this side sends,
// `remote` unprotects what it receives.
struct SrtpKeyMaterial {
  SrtpMasterKey local;
  SrtpMasterKey remote;
};

// True when `key` has the key and salt lengths `profile` needs.
bool SrtpMasterKeyFits(SrtpProfile profile, const SrtpMasterKey& key);

}  // namespace webrtc2sip::media
