// The node's side of each leg -> SDP: the legacy offer written for each
// srtp-mode from a captured Chromium offer is clean, the WebRTC answer going
// back to the browser is a proper one, and the incoming-call way round.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/signaling/sdp/local_sdp_writer.h"
#include "services/signaling/sdp/sdp_writer.h"
#include "tests/unit/signaling/sdp_test_util.h"

namespace webrtc2sip::signaling::sdp {
namespace {

using ::testing::ContainsRegex;
using testing::CountLines;
using ::testing::HasSubstr;
using testing::kNodeLegacyAddress;
using testing::NodeLegacyLocal;
using testing::NodeWebRtcLocal;
using ::testing::Not;
using testing::Parsed;
using testing::SdpBody;
namespace v1 = media::v1;

config::v1::Media MediaWith(std::initializer_list<config::v1::Codec> codecs) {
  config::v1::Media media;
  for (auto c : codecs) media.add_codecs(c);
  return media;
}

LocalSdpOptions Options(const SessionDescription* answer_to = nullptr,
                        const MediaStreams* far = nullptr) {
  LocalSdpOptions o;
  o.origin = Origin{"webrtc2sip", "4242", "1", "IN", "IP4", kNodeLegacyAddress};
  o.answer_to = answer_to;
  o.far_streams = far;
  return o;
}

// The outgoing call of a captured browser: its offer, the remote description
// of it, the streams offered to the SIP side and the node's two sides.
struct OutgoingCall {
  SessionDescription offer;
  v1::RemoteDescription browser;
  MediaStreams legacy_offer;
  v1::LocalDescription webrtc_local;
  v1::LocalDescription legacy_local;

  OutgoingCall(const std::string& lib, v1::SrtpMode mode, const config::v1::Media& media) {
    offer = Parsed(SdpBody(lib + "/03-INVITE-outgoing-call.sip"));
    auto remote = WebRtcSdpToRemote(offer);
    EXPECT_TRUE(remote.ok()) << remote.status();
    browser = *remote;
    auto streams = OfferStreamsForLegacy(browser.streams(), media);
    EXPECT_TRUE(streams.ok()) << streams.status();
    legacy_offer = *streams;
    webrtc_local = NodeWebRtcLocal(browser.streams(), legacy_offer, v1::DTLS_ROLE_SERVER);
    legacy_local = NodeLegacyLocal(
        legacy_offer, browser.streams(),
        mode == v1::SRTP_MODE_MANDATORY ? v1::PROFILE_RTP_SAVP : v1::PROFILE_RTP_AVP,
        mode == v1::SRTP_MODE_NONE ? 0 : 2, false);
  }
};

const config::v1::Media kPcmaPcmuOpus =
    MediaWith({config::v1::CODEC_PCMA, config::v1::CODEC_PCMU, config::v1::CODEC_OPUS});

struct ModeCase {
  std::string lib;
  v1::SrtpMode mode;
  std::string profile;
  int crypto_lines;
};

class LegacyOffer : public ::testing::TestWithParam<ModeCase> {};
INSTANTIATE_TEST_SUITE_P(
    SrtpModes, LegacyOffer,
    ::testing::Values(ModeCase{"jssip", v1::SRTP_MODE_NONE, "RTP/AVP", 0},
                      ModeCase{"jssip", v1::SRTP_MODE_OPTIONAL, "RTP/AVP", 2},
                      ModeCase{"jssip", v1::SRTP_MODE_MANDATORY, "RTP/SAVP", 2},
                      ModeCase{"sipjs", v1::SRTP_MODE_NONE, "RTP/AVP", 0},
                      ModeCase{"sipjs", v1::SRTP_MODE_OPTIONAL, "RTP/AVP", 2},
                      ModeCase{"sipjs", v1::SRTP_MODE_MANDATORY, "RTP/SAVP", 2}),
    [](const auto& p) { return p.param.lib + "_" + std::to_string(p.param.mode); });

TEST_P(LegacyOffer, IsCleanWithTheModesProfileAndCrypto) {
  OutgoingCall call(GetParam().lib, GetParam().mode, kPcmaPcmuOpus);
  auto text = WriteLegacySdp(call.legacy_local, Options());
  ASSERT_TRUE(text.ok()) << text.status();
  SCOPED_TRACE(*text);
  for (const char* webrtc_only : {"a=ice-", "a=candidate", "a=end-of-candidates", "a=fingerprint",
                                  "a=setup", "a=group", "a=msid", "a=ssrc", "a=extmap", "a=mid",
                                  "a=rtcp-fb", "a=rtcp-mux", "a=rtcp-rsize", "a=rtcp-xr"}) {
    EXPECT_EQ(CountLines(*text, webrtc_only), 0) << webrtc_only;
  }
  EXPECT_THAT(*text, Not(HasSubstr("UDP/TLS")));
  EXPECT_THAT(*text, Not(HasSubstr("red/")));
  EXPECT_THAT(*text, Not(HasSubstr("CN/")));
  EXPECT_THAT(*text, Not(HasSubstr("G722")));
  // Codecs in media.codecs order, then DTMF.
  EXPECT_THAT(*text, HasSubstr("\r\nm=audio 30000 " + GetParam().profile + " 8 0 111 110 126\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\nc=IN IP4 203.0.113.5\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=rtcp:30001\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=ptime:20\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=sendrecv\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=rtpmap:111 opus/48000/2\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=fmtp:111 minptime=10;useinbandfec=1;maxplaybackrate=48000;"
                               "sprop-maxcapturerate=48000\r\n"));
  EXPECT_EQ(CountLines(*text, "a=crypto:"), GetParam().crypto_lines);
  if (GetParam().crypto_lines) {
    EXPECT_THAT(*text, HasSubstr("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
    EXPECT_THAT(*text, HasSubstr("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"));
  }
  EXPECT_THAT(*text, ContainsRegex("^v=0\r\no=webrtc2sip 4242 1 IN IP4 203\\.0\\.113\\.5\r\n"));

  // A SIP endpoint reading it sees what the node offered.
  auto remote = LegacySdpToRemote(Parsed(*text));
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ(remote->legacy().endpoints(0).address(), kNodeLegacyAddress);
  EXPECT_EQ(remote->legacy().endpoints(0).rtcp_port(), 30001u);
  EXPECT_EQ(remote->legacy().endpoints(0).crypto_size(), GetParam().crypto_lines);
  EXPECT_EQ(remote->streams(0).codecs_size(), 5);
}

class BrowserAnswer : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Libraries, BrowserAnswer, ::testing::Values("jssip", "sipjs"));

TEST_P(BrowserAnswer, IsAProperWebRtcAnswer) {
  OutgoingCall call(GetParam(), v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  auto text = WriteWebRtcSdp(call.webrtc_local, Options(&call.offer));
  ASSERT_TRUE(text.ok()) << text.status();
  SCOPED_TRACE(*text);
  EXPECT_THAT(*text, HasSubstr("\r\na=ice-lite\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=group:BUNDLE 0\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 111 0 8 110 126\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\nc=IN IP4 198.51.100.7\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=ice-ufrag:n0de\r\na=ice-pwd:node-password-0123456789ab\r\n"));
  EXPECT_THAT(*text,
              HasSubstr("\r\na=candidate:1 1 udp 2130706431 198.51.100.7 40000 typ host\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=end-of-candidates\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:"));
  EXPECT_THAT(*text, HasSubstr("\r\na=setup:passive\r\n"));  // the node's role for actpass
  EXPECT_THAT(*text, HasSubstr("\r\na=mid:0\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=sendrecv\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=rtcp-mux\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=rtcp-rsize\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=ssrc:11111 cname:webrtc2sip\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=msid:webrtc2sip webrtc2sip-audio-0\r\n"));
  // Nothing the node would not honour: transport-cc, extensions, the browser's ssrc.
  EXPECT_THAT(*text, Not(HasSubstr("transport-cc")));
  EXPECT_EQ(CountLines(*text, "a=extmap"), 0);
  EXPECT_EQ(CountLines(*text, "a=ssrc:"), 1);
  EXPECT_EQ(CountLines(*text, "a=rtcp:"), 0);

  // Read back as the browser would: a WebRTC answer that takes the DTLS server role.
  const SessionDescription answer = Parsed(*text);
  ASSERT_EQ(answer.media.size(), call.offer.media.size());
  EXPECT_EQ(answer.media[0].mid, call.offer.media[0].mid);
  EXPECT_EQ(answer.BundleGroup()->mids, call.offer.BundleGroup()->mids);
  auto remote = WebRtcSdpToRemote(answer);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ(remote->webrtc().dtls_role(), v1::DTLS_ROLE_SERVER);
  EXPECT_TRUE(remote->webrtc().ice_lite());
  EXPECT_TRUE(remote->webrtc().bundle());
  EXPECT_EQ(remote->webrtc().candidates(0).address(), "198.51.100.7");
}

TEST_P(BrowserAnswer, KeepsOnlyWhatTheSipSideAnswered) {
  OutgoingCall call(GetParam(), v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  // The SIP side answers PCMA and telephone-event/8000 on its own numbers.
  auto sip_answer = LegacySdpToRemote(Parsed(
      "v=0\r\no=- 5 5 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
      "m=audio 7078 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
      "a=sendonly\r\n"));
  ASSERT_TRUE(sip_answer.ok()) << sip_answer.status();
  auto text = WriteWebRtcSdp(call.webrtc_local, Options(&call.offer, &sip_answer->streams()));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 8 126\r\n"));
  // The SIP side only sends: the gateway only sends to the browser.
  EXPECT_THAT(*text, HasSubstr("\r\na=sendonly\r\n"));
  EXPECT_THAT(*text, HasSubstr("\r\na=ssrc:11111 cname:webrtc2sip\r\n"));
}

TEST_P(BrowserAnswer, OfferBeforeGatheringIsNoHold) {
  // Chromium's offer before candidates: port 9, c=IN IP4 0.0.0.0 (RFC 8839), trickle.
  OutgoingCall call(GetParam(), v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  std::string text = SdpBody(GetParam() + "/03-INVITE-outgoing-call.sip");
  const size_t c = text.find("c=IN IP4 127.0.0.1");
  ASSERT_NE(c, std::string::npos);
  text.replace(c, 18, "c=IN IP4 0.0.0.0");
  SessionDescription offer = Parsed(text);
  offer.media[0].port = 9;
  offer.media[0].candidates.clear();
  auto browser = WebRtcSdpToRemote(offer);
  ASSERT_TRUE(browser.ok()) << browser.status();
  EXPECT_EQ(browser->streams(0).direction(), v1::DIRECTION_SENDRECV);
  EXPECT_EQ(browser->webrtc().candidates_size(), 0);
  auto sdp = BuildWebRtcSdp(call.webrtc_local, Options(&offer));
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(sdp->media[0].direction, Direction::kSendRecv);
  EXPECT_EQ(sdp->media[0].ssrcs.size(), 1u);
}

TEST_P(BrowserAnswer, MirrorsTheBrowsersDirection) {
  OutgoingCall call(GetParam(), v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  call.offer.media[0].direction = Direction::kSendOnly;  // the browser holds
  auto sdp = BuildWebRtcSdp(call.webrtc_local, Options(&call.offer));
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(sdp->media[0].direction, Direction::kRecvOnly);
  EXPECT_TRUE(sdp->media[0].ssrcs.empty());  // sends nothing: no source, no msid
  EXPECT_TRUE(sdp->media[0].msid.empty());
  EXPECT_TRUE(sdp->msid_semantic.empty());
}

TEST_P(BrowserAnswer, SetupFollowsTheNodesRole) {
  OutgoingCall call(GetParam(), v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  call.webrtc_local.mutable_webrtc()->set_dtls_role(v1::DTLS_ROLE_CLIENT);
  auto sdp = BuildWebRtcSdp(call.webrtc_local, Options(&call.offer));
  ASSERT_TRUE(sdp.ok());
  EXPECT_EQ(sdp->media[0].setup, Setup::kActive);
  call.webrtc_local.mutable_webrtc()->set_dtls_role(v1::DTLS_ROLE_UNSPECIFIED);
  sdp = BuildWebRtcSdp(call.webrtc_local, Options(&call.offer));
  ASSERT_FALSE(sdp.ok());
  EXPECT_THAT(std::string(sdp.status().message()), HasSubstr("dtls_role is unspecified"));
}

TEST(BrowserAnswer, SectionsThatAreNoStreamsAreRejectedInPlace) {
  // audio + video + data channel, the SIP side rejects the video.
  const SessionDescription offer = Parsed(
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:uf\r\n"
      "a=ice-pwd:pw\r\na=fingerprint:sha-256 01:02\r\na=setup:actpass\r\na=rtcp-mux\r\n"
      "a=rtpmap:111 opus/48000/2\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtcp-mux\r\n"
      "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 goog-remb\r\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n"
      "a=sctp-port:5000\r\n");
  auto browser = WebRtcSdpToRemote(offer);
  ASSERT_TRUE(browser.ok()) << browser.status();
  auto legacy = OfferStreamsForLegacy(browser->streams(), config::v1::Media());
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  const v1::LocalDescription local =
      NodeWebRtcLocal(browser->streams(), *legacy, v1::DTLS_ROLE_SERVER);

  auto sdp = BuildWebRtcSdp(local, Options(&offer));
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  ASSERT_EQ(sdp->media.size(), 3u);
  EXPECT_EQ(sdp->media[1].rtcp_fbs, (std::vector<RtcpFb>{{"96", "nack", ""}}));  // no goog-remb
  EXPECT_EQ(sdp->media[2].port, 0u);
  EXPECT_EQ(sdp->media[2].media, "application");
  EXPECT_EQ(sdp->media[2].mid, "2");
  EXPECT_EQ(sdp->BundleGroup()->mids, (std::vector<std::string>{"0", "1"}));

  auto sip_answer = LegacySdpToRemote(
      Parsed("v=0\r\no=- 5 5 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
             "m=audio 7078 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\nm=video 0 RTP/AVP 96\r\n"));
  ASSERT_TRUE(sip_answer.ok()) << sip_answer.status();
  sdp = BuildWebRtcSdp(local, Options(&offer, &sip_answer->streams()));
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(sdp->media[0].port, 40000u);
  EXPECT_EQ(sdp->media[1].port, 0u);
  EXPECT_EQ(sdp->media[1].mid, "1");
  EXPECT_TRUE(sdp->media[1].candidates.empty());
  EXPECT_EQ(sdp->BundleGroup()->mids, (std::vector<std::string>{"0"}));
}

TEST(BrowserAnswer, NoGroupWhenTheOfferHadNone) {
  OutgoingCall call("sipjs", v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  call.offer.groups.clear();  // an answerer cannot bundle what was not offered bundled
  auto sdp = BuildWebRtcSdp(call.webrtc_local, Options(&call.offer));
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_TRUE(sdp->groups.empty());
  EXPECT_EQ(sdp->media[0].mid, "0");
}

TEST(BrowserAnswer, StreamCountMustMatchTheOffer) {
  OutgoingCall call("jssip", v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  *call.webrtc_local.add_streams() = call.webrtc_local.streams(0);
  auto sdp = BuildWebRtcSdp(call.webrtc_local, Options(&call.offer));
  ASSERT_FALSE(sdp.ok());
  EXPECT_THAT(std::string(sdp.status().message()), HasSubstr("number of audio/video m= lines"));
}

// ------------------------------------------------------------------ incoming calls

TEST(IncomingCall, SipOfferBecomesAWebRtcOfferAndTheBrowsersAnswerALegacyAnswer) {
  const SessionDescription sip_offer =
      Parsed(SdpBody("jssip/server/18-INVITE-incoming-plain-rtp.sip"));
  auto sip = LegacySdpToRemote(sip_offer);
  ASSERT_TRUE(sip.ok()) << sip.status();
  auto to_browser = OfferStreamsForBrowser(sip->streams(), config::v1::Media());
  ASSERT_TRUE(to_browser.ok()) << to_browser.status();
  const v1::LocalDescription webrtc_local =
      NodeWebRtcLocal(*to_browser, sip->streams(), v1::DTLS_ROLE_UNSPECIFIED);

  auto offer = WriteWebRtcSdp(webrtc_local, Options());
  ASSERT_TRUE(offer.ok()) << offer.status();
  SCOPED_TRACE(*offer);
  EXPECT_THAT(*offer, HasSubstr("\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 0 101\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=setup:actpass\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=group:BUNDLE 0\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=mid:0\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=rtcp-mux\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=rtcp-rsize\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=fmtp:101 0-15\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=sendrecv\r\n"));
  EXPECT_THAT(*offer, HasSubstr("\r\na=ice-lite\r\n"));
  // Our offer reads as a WebRTC offer.
  auto as_remote = WebRtcSdpToRemote(Parsed(*offer));
  ASSERT_TRUE(as_remote.ok()) << as_remote.status();
  EXPECT_EQ(as_remote->webrtc().dtls_role(), v1::DTLS_ROLE_UNSPECIFIED);

  // The browser answers (captured answer of Chromium through JsSIP).
  auto browser = WebRtcSdpToRemote(Parsed(SdpBody("jssip/16-200-INVITE-incoming-call.sip")));
  ASSERT_TRUE(browser.ok()) << browser.status();
  EXPECT_EQ(browser->webrtc().dtls_role(), v1::DTLS_ROLE_CLIENT);
  const v1::LocalDescription legacy_local =
      NodeLegacyLocal(sip->streams(), *to_browser, v1::PROFILE_RTP_AVP, 0, false);
  auto answer = WriteLegacySdp(legacy_local, Options(&sip_offer, &browser->streams()));
  ASSERT_TRUE(answer.ok()) << answer.status();
  SCOPED_TRACE(*answer);
  EXPECT_THAT(*answer, HasSubstr("\r\nc=IN IP4 203.0.113.5\r\n"));
  EXPECT_THAT(*answer, HasSubstr("\r\nm=audio 30000 RTP/AVP 0 101\r\n"));
  EXPECT_THAT(*answer, HasSubstr("\r\na=rtcp:30001\r\n"));
  EXPECT_THAT(*answer, HasSubstr("\r\na=sendrecv\r\n"));
  EXPECT_THAT(*answer, HasSubstr("\r\na=ptime:20\r\n"));
  EXPECT_EQ(CountLines(*answer, "a=crypto"), 0);
  EXPECT_EQ(CountLines(*answer, "a=rtcp-mux"), 0);
  EXPECT_EQ(CountLines(*answer, "a=ssrc"), 0);
}

TEST(IncomingCall, LegacyAnswerKeepsTheOffersShape) {
  // SDES with mux, an AVPF video and a T.38 section to reject in place.
  const SessionDescription sip_offer = Parsed(
      "v=0\r\no=pbx 10 20 IN IP4 192.0.2.50\r\ns=call\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n"
      "m=audio 16000 RTP/SAVP 0 101\r\na=rtcp-mux\r\na=rtpmap:101 telephone-event/8000\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\n"
      "a=sendonly\r\n"
      "m=image 16002 udptl t38\r\n"
      "m=video 16004 RTP/SAVPF 100\r\na=rtpmap:100 VP8/90000\r\na=rtcp-fb:100 nack pli\r\n"
      "a=rtcp-fb:100 goog-remb\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\n");
  auto sip = LegacySdpToRemote(sip_offer);
  ASSERT_TRUE(sip.ok()) << sip.status();
  ASSERT_EQ(sip->streams_size(), 2);
  auto to_browser = OfferStreamsForBrowser(sip->streams(), config::v1::Media());
  ASSERT_TRUE(to_browser.ok()) << to_browser.status();
  const v1::LocalDescription legacy_local =
      NodeLegacyLocal(sip->streams(), *to_browser, v1::PROFILE_RTP_SAVP, 1, true);

  auto answer = BuildLegacySdp(legacy_local, Options(&sip_offer));
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->media.size(), 3u);
  const MediaDescription& audio = answer->media[0];
  EXPECT_EQ(audio.proto, "RTP/SAVP");
  EXPECT_EQ(audio.direction, Direction::kRecvOnly);  // mirror of sendonly
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_FALSE(audio.rtcp.has_value());
  EXPECT_EQ(audio.crypto.size(), 1u);
  EXPECT_TRUE(audio.rtcp_fbs.empty());
  const MediaDescription& image = answer->media[1];
  EXPECT_EQ(image.media, "image");
  EXPECT_EQ(image.port, 0u);
  EXPECT_EQ(image.proto, "udptl");
  EXPECT_EQ(image.formats, std::vector<std::string>{"t38"});
  const MediaDescription& video = answer->media[2];
  EXPECT_EQ(video.proto, "RTP/SAVPF");
  EXPECT_EQ(video.port, 30002u);
  EXPECT_EQ(video.rtcp_fbs, (std::vector<RtcpFb>{{"100", "nack", "pli"}}));
  EXPECT_FALSE(video.ptime.has_value());
  const std::string text = WriteSdp(*answer);
  EXPECT_EQ(CountLines(text, "a=mid"), 0);
  EXPECT_EQ(CountLines(text, "c="), 1);  // the session's only
}

TEST(LocalSdpWriter, ReOfferRelaysTheBrowsersHoldAndResume) {
  OutgoingCall call("jssip", v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  // After the call is up, the legacy leg's streams carry the SIP side's answer (here
  // recvonly, as if it had held before); the browser re-offers sendonly, then sendrecv.
  call.legacy_local.mutable_streams(0)->set_direction(v1::DIRECTION_RECVONLY);
  MediaStreams browser = call.browser.streams();
  browser[0].set_direction(v1::DIRECTION_SENDONLY);
  auto held = BuildLegacySdp(call.legacy_local, Options(nullptr, &browser));
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->media[0].direction, Direction::kSendOnly);
  browser[0].set_direction(v1::DIRECTION_SENDRECV);
  auto resumed = BuildLegacySdp(call.legacy_local, Options(nullptr, &browser));
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->media[0].direction, Direction::kSendRecv);
  EXPECT_EQ(resumed->media[0].formats, held->media[0].formats);
}

TEST(LocalSdpWriter, RefusesTheWrongLegOrAMismatch) {
  OutgoingCall call("jssip", v1::SRTP_MODE_NONE, kPcmaPcmuOpus);
  EXPECT_FALSE(WriteLegacySdp(call.webrtc_local, Options()).ok());
  EXPECT_FALSE(WriteWebRtcSdp(call.legacy_local, Options()).ok());
  call.legacy_local.mutable_legacy()->add_endpoints();
  auto text = WriteLegacySdp(call.legacy_local, Options());
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("2 endpoints for 1 streams"));
  MediaStreams two;
  two.Add();
  two.Add();
  text = WriteWebRtcSdp(call.webrtc_local, Options(&call.offer, &two));
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("far_streams has 2 streams"));
}

TEST(LocalSdpWriter, OfferedRejectedStreamIsPortZero) {
  const SessionDescription offer = Parsed(
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:uf\r\n"
      "a=ice-pwd:pw\r\na=fingerprint:sha-256 01:02\r\na=setup:actpass\r\na=rtcp-mux\r\n"
      "a=rtpmap:111 opus/48000/2\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtcp-mux\r\n"
      "a=rtpmap:96 VP8/90000\r\n");
  auto browser = WebRtcSdpToRemote(offer);
  ASSERT_TRUE(browser.ok());
  auto legacy = OfferStreamsForLegacy(browser->streams(), MediaWith({config::v1::CODEC_OPUS}));
  ASSERT_TRUE(legacy.ok());
  const v1::LocalDescription local =
      NodeLegacyLocal(*legacy, browser->streams(), v1::PROFILE_RTP_AVP, 0, false);
  auto sdp = BuildLegacySdp(local, Options());
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  ASSERT_EQ(sdp->media.size(), 2u);
  EXPECT_EQ(sdp->media[1].media, "video");
  EXPECT_EQ(sdp->media[1].port, 0u);
  EXPECT_EQ(sdp->media[1].proto, "RTP/AVP");
  EXPECT_FALSE(sdp->media[1].formats.empty());
  // And the SIP side's answer to it reads back as a rejected stream.
  auto again = LegacySdpToRemote(Parsed(WriteSdp(*sdp)));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->streams(1).rejected());
}

}  // namespace
}  // namespace webrtc2sip::signaling::sdp
