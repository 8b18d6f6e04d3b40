#pragma once

// DTMF carried in SIP INFO bodies (application/dtmf-relay, as sipML5 and
// many phones send it; application/dtmf) -> an RFC 4733 event code and
// duration, for the media node to play as telephone-events.

#include <cstdint>
#include <optional>
#include <string_view>

namespace webrtc2sip::signaling {

struct DtmfKeyPress {
  uint32_t event = 0;         // RFC 4733: 0-9, 10 = *, 11 = #, 12-15 = A-D
  uint32_t duration_ms = 100;
};

// nullopt when the body is not DTMF of a known type, or names no valid key.
std::optional<DtmfKeyPress> ParseDtmfInfo(std::string_view content_type, std::string_view body);

}  // namespace webrtc2sip::signaling
