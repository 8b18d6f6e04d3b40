#pragma once

// Shared by the SDP tests: the bodies of the captured JsSIP / SIP.js messages
// (tests/unit/signaling/testdata) and a stand-in for what a media-relay node
// returns as its side of a leg (services/media-relay/session/relay_session.cc
// FillLocal: the leg's streams as its peer described them, with the codecs
// the other leg can carry, and the node's SSRC).

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/sdp_parser.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling::sdp::testing {

namespace v1 = media::v1;

// The SDP body of a captured SIP message (after the first blank line).
inline std::string SdpBody(const std::string& name) {
  std::ifstream in(std::string(WEBRTC2SIP_SOURCE_DIR) + "/tests/unit/signaling/testdata/" + name,
                   std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  EXPECT_FALSE(text.empty()) << name;
  const size_t blank = text.find("\r\n\r\n");
  EXPECT_NE(blank, std::string::npos) << name;
  return blank == std::string::npos ? "" : text.substr(blank + 4);
}

inline SessionDescription Parsed(const std::string& text) {
  auto sdp = ParseSdp(text);
  EXPECT_TRUE(sdp.ok()) << sdp.status() << "\n" << text;
  return sdp.ok() ? *sdp : SessionDescription{};
}

inline bool NodeSameCodec(const v1::Codec& a, const v1::Codec& b) {
  std::string x = a.name(), y = b.name();
  std::transform(x.begin(), x.end(), x.begin(), ::tolower);
  std::transform(y.begin(), y.end(), y.begin(), ::tolower);
  return x == y && a.clock_rate() == b.clock_rate() &&
         std::max(a.channels(), 1u) == std::max(b.channels(), 1u);
}

// One leg's local streams as the node fills them.
inline MediaStreams NodeStreams(const MediaStreams& mine, const MediaStreams& other,
                                uint32_t first_ssrc) {
  MediaStreams out;
  for (int i = 0; i < mine.size(); ++i) {
    v1::MediaStream* s = out.Add();
    *s = mine[i];
    s->clear_codecs();
    s->clear_ssrcs();
    for (const auto& c : mine[i].codecs()) {
      const auto& theirs = other[i].codecs();
      if (std::any_of(theirs.begin(), theirs.end(),
                      [&c](const v1::Codec& o) { return NodeSameCodec(c, o); })) {
        *s->add_codecs() = c;
      }
    }
    s->add_ssrcs(first_ssrc + static_cast<uint32_t>(i));
  }
  return out;
}

inline v1::WebRtcTransport NodeWebRtcTransport(v1::DtlsRole role) {
  v1::WebRtcTransport t;
  t.set_ice_ufrag("n0de");
  t.set_ice_pwd("node-password-0123456789ab");
  t.set_ice_lite(true);
  auto* c = t.add_candidates();
  c->set_foundation("1");
  c->set_component(1);
  c->set_protocol("udp");
  c->set_priority(2130706431);
  c->set_address("198.51.100.7");
  c->set_port(40000);
  c->set_type("host");
  t.set_end_of_candidates(true);
  auto* fp = t.add_fingerprints();
  fp->set_algorithm("sha-256");
  fp->set_value(
      "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"
      "77:88:99");
  t.set_dtls_role(role);
  t.set_bundle(true);
  t.set_rtcp_mux(true);
  return t;
}

inline v1::LocalDescription NodeWebRtcLocal(const MediaStreams& mine, const MediaStreams& other,
                                            v1::DtlsRole role) {
  v1::LocalDescription local;
  local.set_type(v1::LEG_TYPE_WEBRTC);
  *local.mutable_streams() = NodeStreams(mine, other, 11111);
  *local.mutable_webrtc() = NodeWebRtcTransport(role);
  return local;
}

inline constexpr const char* kNodeLegacyAddress = "203.0.113.5";

// `crypto`: 0 none, 1 the chosen line of an answer, 2 the two lines of an offer.
inline v1::LocalDescription NodeLegacyLocal(const MediaStreams& mine, const MediaStreams& other,
                                            v1::Profile profile, int crypto, bool rtcp_mux) {
  v1::LocalDescription local;
  local.set_type(v1::LEG_TYPE_LEGACY);
  *local.mutable_streams() = NodeStreams(mine, other, 22222);
  v1::LegacyTransport* t = local.mutable_legacy();
  t->set_profile(profile);
  for (int i = 0; i < mine.size(); ++i) {
    auto* ep = t->add_endpoints();
    ep->set_address(kNodeLegacyAddress);
    ep->set_rtp_port(30000 + 2 * i);
    ep->set_rtcp_port(rtcp_mux ? 30000 + 2 * i : 30001 + 2 * i);
    ep->set_rtcp_mux(rtcp_mux);
    const char* suites[] = {"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"};
    for (int k = 0; k < crypto; ++k) {
      auto* c = ep->add_crypto();
      c->set_tag(k + 1);
      c->set_suite(suites[k]);
      c->set_key_params("inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
    }
  }
  return local;
}

inline int CountLines(const std::string& text, const std::string& prefix) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

}  // namespace webrtc2sip::signaling::sdp::testing
