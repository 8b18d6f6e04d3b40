#include "services/signaling/sdp/session_description.h"

namespace webrtc2sip::signaling::sdp {

const RtpMap* MediaDescription::FindRtpMap(uint32_t payload_type) const {
  for (const RtpMap& m : rtpmaps) {
    if (m.payload_type == payload_type) return &m;
  }
  return nullptr;
}

std::string MediaDescription::FmtpOf(const std::string& format) const {
  for (const Fmtp& f : fmtps) {
    if (f.format == format) return f.parameters;
  }
  return "";
}

std::vector<RtcpFb> MediaDescription::RtcpFbOf(const std::string& format) const {
  std::vector<RtcpFb> out;
  for (const RtcpFb& fb : rtcp_fbs) {
    if (fb.format == format || fb.format == "*") out.push_back(fb);
  }
  return out;
}

const Group* SessionDescription::BundleGroup() const {
  for (const Group& g : groups) {
    if (g.semantics == "BUNDLE") return &g;
  }
  return nullptr;
}

const char* DirectionName(Direction d) {
  switch (d) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "sendrecv";
}

const char* SetupName(Setup s) {
  switch (s) {
    case Setup::kActPass:
      return "actpass";
    case Setup::kActive:
      return "active";
    case Setup::kPassive:
      return "passive";
    case Setup::kHoldConn:
      return "holdconn";
  }
  return "actpass";
}

}  // namespace webrtc2sip::signaling::sdp
