#pragma once

// Small pieces the B2BUA's source files share: its metrics and helpers over
// sofia's parsed messages.

#include <sofia-sip/sip.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"
#include "services/signaling/sdp/session_description.h"
#include "webrtc2sip/config/v1/config.pb.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling::b2bua_support {

struct Metrics {
  metrics::CounterFamily& calls;
  metrics::GaugeFamily& active;
  metrics::HistogramFamily& setup;
  metrics::HistogramFamily& media_setup;
  metrics::HistogramFamily& media_flowing;
  metrics::CounterFamily& challenges;
  metrics::CounterFamily& reoffers;
  metrics::CounterFamily& in_dialog;
  metrics::CounterFamily& dtmf;
  metrics::CounterFamily& session_refreshes;
  static Metrics& Get();
};

std::string RandomToken(size_t bytes);
// The header printed by sofia ("" for null).
std::string HeaderValue(su_home_t* home, const void* header);
// A name-addr without its ";tag=" parameter.
std::string WithoutTag(std::string header_value);
std::string UrlParam(const url_t* url, const char* name);
std::string Body(const sip_t* sip);
// "o=" session id and version of an SDP body ("" when absent), to tell a
// refresh that changes nothing (RFC 3264 8) from a new offer.
std::string OriginKey(std::string_view sdp);
std::string BracketHost(const std::string& host);

// A peer's SDP body parsed, and what the media node takes of it; an error
// says why the gateway cannot use it.
struct PeerSdp {
  sdp::SessionDescription sdp;
  media::v1::RemoteDescription remote;
};
absl::StatusOr<PeerSdp> ParseWebRtcPeer(std::string_view body);  // a browser's
absl::StatusOr<PeerSdp> ParseLegacyPeer(std::string_view body);  // a SIP endpoint's

// srtp_mode of the config, as the legacy leg asks the node for it.
media::v1::SrtpMode LegacySrtpMode(const config::v1::Media& media);

// UpdateLeg for one side of a call's session (the pool fills the session id).
media::v1::UpdateLegRequest LegUpdate(media::v1::LegSide side, bool is_offer,
                                      const media::v1::RemoteDescription& remote);

}  // namespace webrtc2sip::signaling::b2bua_support
