#pragma once

// Plain values the ICE side of a WebRTC leg exchanges with signaling (a=candidate,
// a=ice-ufrag, a=ice-pwd), independent of libnice.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webrtc2sip::media {

struct IceCandidate {
  std::string foundation;
  uint32_t component = 1;  // Always 1 on this leg: rtcp-mux and BUNDLE are required.
  std::string protocol = "udp";
  uint32_t priority = 0;
  std::string address;  // Numeric IPv4 or IPv6.
  uint16_t port = 0;
  std::string type = "host";  // host, srflx, prflx or relay.
  std::string related_address;
  uint16_t related_port = 0;

  bool operator==(const IceCandidate&) const = default;
};

struct IceParameters {
  std::string ufrag;
  std::string pwd;
  std::vector<IceCandidate> candidates;
  bool lite = false;  // Announce a=ice-lite.
};

// RTCIceTransportState's vocabulary, as a browser would report it.
enum class IceState {
  kNew,           // No check received or sent yet.
  kChecking,      // Checks under way, no usable pair yet.
  kConnected,     // A usable pair; data flows.
  kCompleted,     // The pair is nominated: ICE is done for this generation.
  kDisconnected,  // The selected pair went silent (consent): may come back.
  kFailed,        // No pair, or consent lost for good: only Restart() helps.
};

std::string_view IceStateName(IceState state);

}  // namespace webrtc2sip::media
