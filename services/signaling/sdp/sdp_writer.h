#pragma once

// SessionDescription -> SDP text, CRLF line ends, lines in RFC 8866 order and
// a fixed attribute order (WebRTC's: transport, mid, extmap, direction, per
// payload type rtpmap/rtcp-fb/fmtp, candidates, ssrc), unknown attributes last.

#include <string>

#include "services/signaling/sdp/session_description.h"

namespace webrtc2sip::signaling::sdp {

std::string WriteSdp(const SessionDescription& sdp);

}  // namespace webrtc2sip::signaling::sdp
