#pragma once

// A node's LocalDescription (its side of a leg) -> the SDP the gateway sends
// on that leg: a clean legacy SDP toward SIP endpoints, a proper WebRTC SDP
// toward browsers. Build* return the model (keep it: a later re-offer reuses
// its mids and order), Write* the text.
//
// The streams of a LocalDescription carry the direction of the leg's peer
// (the node copies the remote's streams): an answer writes its mirror
// (sendonly -> recvonly), an offer writes it as is. `far_streams`, when given,
// are the other leg's remote streams (what the far peer answered or offered):
// codecs it lacks are left out, a stream it rejected is rejected, an answer's
// direction is narrowed to what it sends and receives, and an offer takes its
// direction (a re-offer relays the far peer's hold or resume).

#include <string>

#include "absl/status/statusor.h"
#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/session_description.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling::sdp {

// The cname and MediaStream id the gateway's WebRTC sections carry.
inline constexpr const char* kGatewayCname = "webrtc2sip";
inline constexpr const char* kGatewayStreamId = "webrtc2sip";

struct LocalSdpOptions {
  // o=: the B2BUA keeps session_id per leg and bumps session_version with each
  // new SDP it sends on that leg (RFC 3264 8); address is the node's.
  Origin origin;
  std::string session_name = "-";
  // Non-null: the SDP is the answer to this offer of the leg's peer (its m=
  // lines, order, protos and, for WebRTC, mids and BUNDLE group are mirrored;
  // sections that are not streams are rejected). Null: an offer.
  const SessionDescription* answer_to = nullptr;
  const MediaStreams* far_streams = nullptr;
  // The Media Coder is on: codecs the far peer lacks stay (the node's
  // description holds only what it relays or transcodes); far_streams still
  // decide directions and rejection.
  bool transcoding = false;
};

// RTP/AVP or RTP/SAVP per LegacyTransport.profile (an answer keeps the offer's
// proto), c=/m= from the node's endpoints, rtpmap/fmtp, a=ptime:20 for audio,
// the endpoint's a=crypto lines, a=rtcp when not muxed, a=rtcp-mux when the
// endpoint is, a direction; rtcp-fb only under AVPF; never ICE, fingerprint,
// setup, mid, BUNDLE, msid, ssrc or extmap.
absl::StatusOr<SessionDescription> BuildLegacySdp(const media::v1::LocalDescription& local,
                                                  const LocalSdpOptions& options);
absl::StatusOr<std::string> WriteLegacySdp(const media::v1::LocalDescription& local,
                                           const LocalSdpOptions& options);

// UDP/TLS/RTP/SAVPF, a=ice-lite when the node is lite, the node's ICE
// credentials, candidates and a=end-of-candidates, fingerprint, a=setup
// (offer: actpass; answer: the node's role, SERVER -> passive, CLIENT ->
// active), a=mid per section, a=group:BUNDLE of the accepted mids, rtcp-mux,
// rtcp-rsize when the stream has it, rtcp-fb the node serves (nack, nack pli,
// ccm fir), and on sections the node sends on its ssrc with cname and an msid.
// Rejected sections: port 0 and their mid only.
absl::StatusOr<SessionDescription> BuildWebRtcSdp(const media::v1::LocalDescription& local,
                                                  const LocalSdpOptions& options);
absl::StatusOr<std::string> WriteWebRtcSdp(const media::v1::LocalDescription& local,
                                           const LocalSdpOptions& options);

}  // namespace webrtc2sip::signaling::sdp
