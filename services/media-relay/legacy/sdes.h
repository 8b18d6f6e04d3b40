#pragma once

// SDES (RFC 4568) keys of the legacy leg: a=crypto attributes the node
// offers or answers with, and the peer's keys parsed from its attributes.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/media-relay/srtp/srtp_profile.h"

namespace webrtc2sip::media {

struct SdesKey {
  uint32_t tag = 1;
  SrtpProfile profile = SrtpProfile::kAes128CmSha1_80;
  SrtpMasterKey key;
};

// A fresh random key for `profile`.
SdesKey GenerateSdesKey(uint32_t tag, SrtpProfile profile);

// "inline:<base64 of key||salt>" for the key_params of an a=crypto line.
std::string SdesKeyParams(const SdesKey& key);

// Parses a peer's suite name and key params ("inline:...|2^31|1:1" accepts
// and ignores lifetime and MKI). nullopt for an unknown suite or a key of
// the wrong length.
std::optional<SdesKey> ParseSdesKey(uint32_t tag, std::string_view suite,
                                    std::string_view key_params);

// The suites the node offers, in order of preference.
std::vector<SrtpProfile> OfferedSdesProfiles();

}  // namespace webrtc2sip::media
