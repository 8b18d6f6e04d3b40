#pragma once

// Responses the gateway itself gives to a request (400, 430, 482, 483, 503,
// 200 to CANCEL...), as text for the WebSocket side.

#include <string>
#include <string_view>

#include "services/signaling/sip/sip_message.h"

namespace webrtc2sip::signaling {

// RFC 3261 8.2.6.2: Via, From, Call-ID and CSeq copied, To with a tag when
// it had none. `extra_headers` are whole lines without the final CRLF.
// Returns "" when the request lacks what a response needs.
std::string MakeResponse(const SipMessage& request, int status, std::string_view reason,
                         std::string_view extra_headers = {});

// A fixed To tag of the gateway for responses it generates itself.
std::string_view LocalTag();

}  // namespace webrtc2sip::signaling
