#pragma once

// Just enough SIP text handling for a load generator: the few headers of a
// response it needs to match a transaction and follow a dialog (RFC 3261),
// with compact header forms. No validation beyond what matching needs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webrtc2sip::bench {

struct SipResponse {
  int status = 0;
  std::string_view call_id;
  uint32_t cseq = 0;
  std::string_view cseq_method;
  std::string_view to;                         // whole header value, with the tag
  std::string_view contact;                    // the URI inside <>, or the bare value
  std::vector<std::string_view> record_route;  // entries in message order
  std::string_view body;                       // after the blank line
};

// False when `text` is not a SIP response with Call-ID and CSeq.
bool ParseResponse(std::string_view text, SipResponse& out);

// Appends "Route: <entry>\r\n" for a caller's route set: Record-Route reversed.
void AppendRouteSet(std::string& out, const std::vector<std::string>& record_route);

}  // namespace webrtc2sip::bench
