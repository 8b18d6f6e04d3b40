#include "services/media-relay/srtp/srtp_profile.h"

#include <array>

namespace webrtc2sip::media {
namespace {

struct ProfileInfo {
  SrtpProfile profile;
  size_t key_length;
  size_t salt_length;
  size_t rtp_tag_length;
  size_t rtcp_tag_length;
  bool aead;
  std::string_view sdes_name;
  std::string_view dtls_name;
};

constexpr std::array<ProfileInfo, 4> kProfiles = {{
    {SrtpProfile::kAes128CmSha1_80, 16, 14, 10, 10, false, "AES_CM_128_HMAC_SHA1_80",
     "SRTP_AES128_CM_SHA1_80"},
    {SrtpProfile::kAes128CmSha1_32, 16, 14, 4, 10, false, "AES_CM_128_HMAC_SHA1_32",
     "SRTP_AES128_CM_SHA1_32"},
    {SrtpProfile::kAeadAes128Gcm, 16, 12, 16, 16, true, "AEAD_AES_128_GCM",
     "SRTP_AEAD_AES_128_GCM"},
    {SrtpProfile::kAeadAes256Gcm, 32, 12, 16, 16, true, "AEAD_AES_256_GCM",
     "SRTP_AEAD_AES_256_GCM"},
}};

const ProfileInfo& Info(SrtpProfile profile) {
  for (const ProfileInfo& info : kProfiles) {
    if (info.profile == profile) return info;
  }
  return kProfiles[0];  // Unreachable for a valid enumerator.
}

}  // namespace

size_t SrtpMasterKeyLength(SrtpProfile profile) {
  return Info(profile).key_length;
}
size_t SrtpMasterSaltLength(SrtpProfile profile) {
  return Info(profile).salt_length;
}
size_t SrtpRtpOverhead(SrtpProfile profile) {
  return Info(profile).rtp_tag_length;
}
size_t SrtpRtcpOverhead(SrtpProfile profile) {
  return Info(profile).rtcp_tag_length + 4;
}
bool SrtpIsAead(SrtpProfile profile) {
  return Info(profile).aead;
}
std::string_view SrtpProfileSdesName(SrtpProfile profile) {
  return Info(profile).sdes_name;
}
std::string_view SrtpProfileDtlsName(SrtpProfile profile) {
  return Info(profile).dtls_name;
}

std::optional<SrtpProfile> SrtpProfileFromSdesName(std::string_view name) {
  for (const ProfileInfo& info : kProfiles) {
    if (info.sdes_name == name) return info.profile;
  }
  return std::nullopt;
}

std::optional<SrtpProfile> SrtpProfileFromDtlsName(std::string_view name) {
  for (const ProfileInfo& info : kProfiles) {
    if (info.dtls_name == name) return info.profile;
  }
  return std::nullopt;
}

bool SrtpMasterKeyFits(SrtpProfile profile, const SrtpMasterKey& key) {
  return key.key.size() == SrtpMasterKeyLength(profile) &&
         key.salt.size() == SrtpMasterSaltLength(profile);
}

}  // namespace webrtc2sip::media
