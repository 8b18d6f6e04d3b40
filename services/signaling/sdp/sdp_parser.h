#pragma once

// SDP text -> SessionDescription. Lines may end in CRLF or LF; blank lines and
// trailing blanks are ignored; unknown attributes are kept in `other`. The
// attributes the model has fields for must be well formed: the error names
// the line ("line 14: a=rtpmap: payload type 'x' is not a number in 0-127").

#include <string_view>

#include "absl/status/statusor.h"
#include "services/signaling/sdp/session_description.h"

namespace webrtc2sip::signaling::sdp {

absl::StatusOr<SessionDescription> ParseSdp(std::string_view text);

}  // namespace webrtc2sip::signaling::sdp
