// SDP -> the node's RemoteDescription, and the streams offered on the other
// leg, on the captured Chromium SDP of JsSIP and SIP.js and on legacy offers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/signaling/sdp/codec_catalog.h"
#include "services/signaling/sdp/media_translator.h"
#include "tests/unit/signaling/sdp_test_util.h"

namespace webrtc2sip::signaling::sdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Parsed;
using testing::SdpBody;
namespace v1 = media::v1;

std::vector<std::string> Names(const v1::MediaStream& s) {
  std::vector<std::string> out;
  for (const auto& c : s.codecs()) {
    out.push_back(std::to_string(c.payload_type()) + " " + c.name() + "/" +
                  std::to_string(c.clock_rate()));
  }
  return out;
}

config::v1::Media MediaWith(std::initializer_list<config::v1::Codec> codecs) {
  config::v1::Media media;
  for (auto c : codecs) media.add_codecs(c);
  return media;
}

std::string Error(const absl::Status& s) {
  return std::string(s.message());
}

class ChromiumOffer : public ::testing::TestWithParam<std::string> {
 protected:
  SessionDescription Offer() {
    return Parsed(SdpBody(GetParam() + "/03-INVITE-outgoing-call.sip"));
  }
  v1::RemoteDescription Remote() {
    auto r = WebRtcSdpToRemote(Offer());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::RemoteDescription{};
  }
};
INSTANTIATE_TEST_SUITE_P(Libraries, ChromiumOffer, ::testing::Values("jssip", "sipjs"));

TEST_P(ChromiumOffer, RemoteHasTheBrowsersIceDtlsAndBundle) {
  const SessionDescription offer = Offer();
  const v1::RemoteDescription r = Remote();
  ASSERT_TRUE(r.has_webrtc());
  const v1::WebRtcTransport& t = r.webrtc();
  EXPECT_EQ(t.ice_ufrag(), offer.media[0].ice_ufrag);
  EXPECT_EQ(t.ice_pwd(), offer.media[0].ice_pwd);
  EXPECT_FALSE(t.ice_lite());
  ASSERT_EQ(t.candidates_size(), 1);
  EXPECT_EQ(t.candidates(0).protocol(), "udp");
  EXPECT_EQ(t.candidates(0).component(), 1u);
  EXPECT_EQ(t.candidates(0).address(), "127.0.0.1");
  EXPECT_EQ(t.candidates(0).port(), offer.media[0].port);
  EXPECT_EQ(t.candidates(0).priority(), 2113937151u);
  EXPECT_EQ(t.candidates(0).type(), "host");
  ASSERT_EQ(t.fingerprints_size(), 1);
  EXPECT_EQ(t.fingerprints(0).algorithm(), "sha-256");
  EXPECT_EQ(t.fingerprints(0).value(), offer.media[0].fingerprints[0].value);
  EXPECT_EQ(t.dtls_role(), v1::DTLS_ROLE_UNSPECIFIED);  // actpass
  EXPECT_TRUE(t.bundle());
  EXPECT_TRUE(t.rtcp_mux());
  EXPECT_FALSE(t.end_of_candidates());
}

TEST_P(ChromiumOffer, RemoteStreamHasCodecsInOfferOrder) {
  const v1::RemoteDescription r = Remote();
  ASSERT_EQ(r.streams_size(), 1);
  const v1::MediaStream& s = r.streams(0);
  EXPECT_EQ(s.mid(), "0");
  EXPECT_EQ(s.kind(), v1::MEDIA_KIND_AUDIO);
  EXPECT_EQ(s.direction(), v1::DIRECTION_SENDRECV);
  EXPECT_FALSE(s.rejected());
  EXPECT_TRUE(s.rtcp_rsize());
  EXPECT_THAT(Names(s), ElementsAre("111 opus/48000", "63 red/48000", "9 G722/8000", "0 PCMU/8000",
                                    "8 PCMA/8000", "13 CN/8000", "110 telephone-event/48000",
                                    "126 telephone-event/8000"));
  EXPECT_EQ(s.codecs(0).channels(), 2u);
  EXPECT_EQ(s.codecs(0).fmtp(), "minptime=10;useinbandfec=1");
  ASSERT_EQ(s.codecs(0).rtcp_feedback_size(), 1);
  EXPECT_EQ(s.codecs(0).rtcp_feedback(0).type(), "transport-cc");
  ASSERT_EQ(s.header_extensions_size(), 4);
  EXPECT_EQ(s.header_extensions(0).uri(), "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  ASSERT_EQ(s.ssrcs_size(), 1);  // cname and msid lines of one SSRC
  EXPECT_EQ(s.ssrcs(0), Offer().media[0].ssrcs[0].ssrc);
}

TEST_P(ChromiumOffer, LegacyOfferStreamsFollowTheConfig) {
  const v1::RemoteDescription r = Remote();
  auto streams = OfferStreamsForLegacy(r.streams(),
                                       MediaWith({config::v1::CODEC_PCMA, config::v1::CODEC_G729,
                                                  config::v1::CODEC_PCMU, config::v1::CODEC_OPUS}));
  ASSERT_TRUE(streams.ok()) << streams.status();
  ASSERT_EQ(streams->size(), 1);
  const v1::MediaStream& s = (*streams)[0];
  // media.codecs order; no red, CN or G722 (not listed); DTMF kept.
  EXPECT_THAT(Names(s), ElementsAre("8 PCMA/8000", "0 PCMU/8000", "111 opus/48000",
                                    "110 telephone-event/48000", "126 telephone-event/8000"));
  for (const auto& c : s.codecs()) EXPECT_EQ(c.rtcp_feedback_size(), 0) << c.name();
  EXPECT_EQ(s.codecs(2).fmtp(),
            "minptime=10;useinbandfec=1;maxplaybackrate=48000;sprop-maxcapturerate=48000");
  EXPECT_TRUE(s.mid().empty());
  EXPECT_EQ(s.ssrcs_size(), 0);
  EXPECT_EQ(s.header_extensions_size(), 0);
  EXPECT_FALSE(s.rtcp_rsize());
  EXPECT_FALSE(s.rejected());
}

TEST_P(ChromiumOffer, TelephoneEventFollowsTheKeptClockRates) {
  auto streams = OfferStreamsForLegacy(Remote().streams(), MediaWith({config::v1::CODEC_PCMU}));
  ASSERT_TRUE(streams.ok());
  EXPECT_THAT(Names((*streams)[0]), ElementsAre("0 PCMU/8000", "126 telephone-event/8000"));
}

TEST_P(ChromiumOffer, NoConfiguredCodecIsAClearError) {
  auto streams = OfferStreamsForLegacy(Remote().streams(), MediaWith({config::v1::CODEC_G729}));
  ASSERT_FALSE(streams.ok());
  EXPECT_EQ(streams.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Error(streams.status()), HasSubstr("media.codecs: g729"));
  EXPECT_THAT(Error(streams.status()), HasSubstr("opus/48000"));
}

TEST_P(ChromiumOffer, MediaCoderOnOffersEveryConfiguredCodecInOrder) {
  config::v1::Media media = MediaWith({config::v1::CODEC_GSM, config::v1::CODEC_PCMA,
                                       config::v1::CODEC_SPEEX_WB, config::v1::CODEC_OPUS,
                                       config::v1::CODEC_VP8});
  media.set_enable_media_coder(true);
  auto streams = OfferStreamsForLegacy(Remote().streams(), media);
  ASSERT_TRUE(streams.ok()) << streams.status();
  // GSM and speex the browser lacks (the node transcodes if they are picked),
  // the browser's own PCMA and opus entries; events at 48000 and 8000 from the
  // browser, and one made for speex's 16000; no video codec in an audio stream.
  EXPECT_THAT(Names((*streams)[0]),
              ElementsAre("3 GSM/8000", "8 PCMA/8000", "97 speex/16000", "111 opus/48000",
                          "110 telephone-event/48000", "126 telephone-event/8000",
                          "96 telephone-event/16000"));
}

TEST_P(ChromiumOffer, MediaCoderOffKeepsOnlyTheBrowsersCodecs) {
  auto streams = OfferStreamsForLegacy(
      Remote().streams(), MediaWith({config::v1::CODEC_GSM, config::v1::CODEC_PCMU}));
  ASSERT_TRUE(streams.ok()) << streams.status();
  EXPECT_THAT(Names((*streams)[0]), ElementsAre("0 PCMU/8000", "126 telephone-event/8000"));
}

TEST_P(ChromiumOffer, OpusMaxRatesComeFromTheConfig) {
  config::v1::Media media = MediaWith({config::v1::CODEC_OPUS});
  media.mutable_codec_opus_maxrates()->set_playback(16000);
  media.mutable_codec_opus_maxrates()->set_capture(8000);
  auto streams = OfferStreamsForLegacy(Remote().streams(), media);
  ASSERT_TRUE(streams.ok());
  EXPECT_EQ((*streams)[0].codecs(0).fmtp(),
            "minptime=10;useinbandfec=1;maxplaybackrate=16000;sprop-maxcapturerate=8000");
}

TEST(WebRtcSdpToRemote, CapturedAnswersSayActive) {
  for (const char* file :
       {"jssip/16-200-INVITE-incoming-call.sip", "sipjs/16-200-INVITE-incoming-call.sip"}) {
    auto r = WebRtcSdpToRemote(Parsed(SdpBody(file)));
    ASSERT_TRUE(r.ok()) << file << ": " << r.status();
    EXPECT_EQ(r->webrtc().dtls_role(), v1::DTLS_ROLE_CLIENT) << file;
    EXPECT_THAT(Names(r->streams(0)), ElementsAre("111 opus/48000", "0 PCMU/8000", "8 PCMA/8000",
                                                  "101 telephone-event/8000"));
  }
  // The fake server's answer: ice-lite, passive, no candidates.
  auto r = WebRtcSdpToRemote(Parsed(SdpBody("jssip/server/06-200-INVITE-outgoing-call.sip")));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->webrtc().dtls_role(), v1::DTLS_ROLE_SERVER);
  EXPECT_TRUE(r->webrtc().ice_lite());
  EXPECT_EQ(r->webrtc().candidates_size(), 0);
}

const char kBundledAudioVideo[] =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a v d\r\n"
    "a=fingerprint:sha-256 01:02\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=ice-ufrag:uf\r\n"
    "a=ice-pwd:pw\r\na=setup:passive\r\na=rtcp-mux\r\na=sendonly\r\n"
    "a=candidate:1 1 udp 100 192.0.2.7 5000 typ host\r\n"
    "a=candidate:2 1 tcp 90 192.0.2.7 9 typ host tcptype active\r\n"
    "a=candidate:3 1 udp 80 0b1f.local 5001 typ host\r\n"
    "a=candidate:4 2 udp 70 192.0.2.7 5002 typ host\r\n"
    "a=candidate:5 1 UDP 60 203.0.113.9 6000 typ srflx raddr 192.0.2.7 rport 5000\r\n"
    "a=end-of-candidates\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\na=ice-ufrag:uf\r\n"
    "a=ice-pwd:pw\r\na=setup:passive\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\na=rtpmap:98 H264/90000\r\n"
    "a=fmtp:98 profile-level-id=4d001f;packetization-mode=1\r\na=rtcp-fb:* ccm fir\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:d\r\n";

TEST(WebRtcSdpToRemote, BundledStreamsShareTheTaggedTransport) {
  auto r = WebRtcSdpToRemote(Parsed(kBundledAudioVideo));
  ASSERT_TRUE(r.ok()) << r.status();
  // The data channel is no stream.
  ASSERT_EQ(r->streams_size(), 2);
  EXPECT_EQ(r->streams(0).direction(), v1::DIRECTION_SENDONLY);
  EXPECT_EQ(r->streams(1).kind(), v1::MEDIA_KIND_VIDEO);
  EXPECT_EQ(r->streams(1).mid(), "v");
  ASSERT_EQ(r->streams(1).codecs_size(), 3);
  EXPECT_EQ(r->streams(1).codecs(0).rtcp_feedback_size(), 2);  // nack pli + ccm fir (*)
  const v1::WebRtcTransport& t = r->webrtc();
  EXPECT_EQ(t.dtls_role(), v1::DTLS_ROLE_SERVER);
  EXPECT_EQ(t.fingerprints(0).value(), "01:02");  // from the session level
  EXPECT_TRUE(t.end_of_candidates());
  // UDP, component 1, IP addresses only: no tcp, no mDNS name, no RTCP component.
  ASSERT_EQ(t.candidates_size(), 2);
  EXPECT_EQ(t.candidates(0).port(), 5000u);
  EXPECT_EQ(t.candidates(1).type(), "srflx");
  EXPECT_EQ(t.candidates(1).protocol(), "udp");
  EXPECT_EQ(t.candidates(1).related_address(), "192.0.2.7");
  EXPECT_EQ(t.candidates(1).related_port(), 5000u);
}

struct BadWebRtc {
  std::string name;
  std::string from;
  std::string to;
  std::string error;
};

class BadWebRtcOffer : public ::testing::TestWithParam<BadWebRtc> {};
INSTANTIATE_TEST_SUITE_P(
    Cases, BadWebRtcOffer,
    ::testing::Values(
        BadWebRtc{"NoRtcpMux", "a=rtcp-mux\r\n", "", "m=audio #0 (mid 0): no a=rtcp-mux"},
        BadWebRtc{"NoFingerprint", "a=fingerprint:", "a=x-fingerprint:", "no a=fingerprint"},
        BadWebRtc{"NoIceUfrag", "a=ice-ufrag:", "a=x-ice-ufrag:", "no a=ice-ufrag/a=ice-pwd"},
        BadWebRtc{"HoldConn", "a=setup:actpass", "a=setup:holdconn", "holdconn is not supported"},
        BadWebRtc{"Rejected", "m=audio 47499", "m=audio 0", "no accepted audio or video m= line"}),
    [](const auto& p) { return p.param.name; });

TEST_P(BadWebRtcOffer, IsRefusedWithAReason) {
  std::string text = SdpBody("jssip/03-INVITE-outgoing-call.sip");
  const size_t at = text.find(GetParam().from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, GetParam().from.size(), GetParam().to);
  auto r = WebRtcSdpToRemote(Parsed(text));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Error(r.status()), HasSubstr(GetParam().error));
}

TEST(WebRtcSdpToRemote, UnbundledSectionsAreRefused) {
  std::string text = kBundledAudioVideo;
  text.replace(text.find("a=group:BUNDLE a v d"), 20, "a=group:BUNDLE a d");
  auto r = WebRtcSdpToRemote(Parsed(text));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Error(r.status()), HasSubstr("m=video #1 (mid v) is not in the a=group:BUNDLE"));
}

// ------------------------------------------------------------------ legacy

TEST(LegacySdpToRemote, PlainRtpOfferWithSessionConnection) {
  // The fake server's incoming plain call: RTP/AVP, session-level c=, no rtcp-mux.
  auto r = LegacySdpToRemote(Parsed(SdpBody("jssip/server/18-INVITE-incoming-plain-rtp.sip")));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_legacy());
  EXPECT_EQ(r->legacy().profile(), v1::PROFILE_RTP_AVP);
  ASSERT_EQ(r->legacy().endpoints_size(), 1);
  const v1::LegacyEndpoint& ep = r->legacy().endpoints(0);
  EXPECT_EQ(ep.address(), "127.0.0.1");
  EXPECT_EQ(ep.rtp_port(), 40000u);
  EXPECT_EQ(ep.rtcp_port(), 0u);  // rtp_port + 1
  EXPECT_FALSE(ep.rtcp_mux());
  EXPECT_EQ(ep.crypto_size(), 0);
  ASSERT_EQ(r->streams_size(), 1);
  EXPECT_THAT(Names(r->streams(0)), ElementsAre("0 PCMU/8000", "101 telephone-event/8000"));
  EXPECT_EQ(r->streams(0).codecs(1).fmtp(), "0-15");
  EXPECT_EQ(r->streams(0).direction(), v1::DIRECTION_SENDRECV);
}

const char kSdesOffer[] =
    "v=0\r\no=pbx 10 20 IN IP4 192.0.2.50\r\ns=call\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n"
    "m=audio 16000 RTP/SAVP 18 0 101\r\nc=IN IP4 192.0.2.51\r\na=rtcp:16001\r\na=rtcp-mux\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^31\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"
    "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0 "
    "UNENCRYPTED_SRTCP\r\n"
    "a=sendrecv\r\n"
    "m=video 0 RTP/SAVP 34\r\n";

TEST(LegacySdpToRemote, SdesOfferWithMuxAndARejectedStream) {
  auto r = LegacySdpToRemote(Parsed(kSdesOffer));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->legacy().profile(), v1::PROFILE_RTP_SAVP);
  ASSERT_EQ(r->streams_size(), 2);
  // Static types without rtpmap come from RFC 3551.
  EXPECT_THAT(Names(r->streams(0)),
              ElementsAre("18 G729/8000", "0 PCMU/8000", "101 telephone-event/8000"));
  const v1::LegacyEndpoint& ep = r->legacy().endpoints(0);
  EXPECT_EQ(ep.address(), "192.0.2.51");  // the section's c= wins
  EXPECT_EQ(ep.rtp_port(), 16000u);
  EXPECT_EQ(ep.rtcp_port(), 16001u);
  EXPECT_TRUE(ep.rtcp_mux());
  // The line with a session parameter asks for what the node does not do.
  ASSERT_EQ(ep.crypto_size(), 2);
  EXPECT_EQ(ep.crypto(0).tag(), 1u);
  EXPECT_EQ(ep.crypto(0).suite(), "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(ep.crypto(0).key_params(), "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^31");
  EXPECT_EQ(ep.crypto(1).suite(), "AES_CM_128_HMAC_SHA1_32");
  // Port 0: a rejected stream keeps its place.
  EXPECT_TRUE(r->streams(1).rejected());
  EXPECT_EQ(r->streams(1).kind(), v1::MEDIA_KIND_VIDEO);
  EXPECT_EQ(r->legacy().endpoints(1).rtp_port(), 0u);
}

TEST(LegacySdpToRemote, OldStyleHoldTakesTheReceiveSideAway) {
  auto r =
      LegacySdpToRemote(Parsed("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
                               "t=0 0\r\nm=audio 4000 RTP/AVP 8\r\n"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->streams(0).direction(), v1::DIRECTION_SENDONLY);
}

TEST(LegacySdpToRemote, AvpfKeepsFeedbackAvpDropsIt) {
  const std::string avpf =
      "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
      "m=video 5000 RTP/AVPF 96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n";
  auto r = LegacySdpToRemote(Parsed(avpf));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->legacy().profile(), v1::PROFILE_RTP_AVPF);
  EXPECT_EQ(r->streams(0).codecs(0).rtcp_feedback_size(), 1);
  std::string avp = avpf;
  avp.replace(avp.find("RTP/AVPF"), 8, "RTP/AVP");
  r = LegacySdpToRemote(Parsed(avp));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->streams(0).codecs(0).rtcp_feedback_size(), 0);
}

TEST(LegacySdpToRemote, ErrorsNameTheSection) {
  const std::string head = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";
  auto dtls =
      LegacySdpToRemote(Parsed(head + "c=IN IP4 192.0.2.1\r\nm=audio 1 UDP/TLS/RTP/SAVPF 0\r\n"));
  ASSERT_FALSE(dtls.ok());
  EXPECT_THAT(Error(dtls.status()),
              HasSubstr("m=audio #0: proto 'UDP/TLS/RTP/SAVPF' is not RTP/AVP, RTP/SAVP"));
  auto no_c = LegacySdpToRemote(Parsed(head + "m=audio 1 RTP/AVP 0\r\n"));
  ASSERT_FALSE(no_c.ok());
  EXPECT_THAT(Error(no_c.status()), HasSubstr("m=audio #0: no c= line"));
  auto no_key = LegacySdpToRemote(Parsed(head + "c=IN IP4 192.0.2.1\r\nm=audio 1 RTP/SAVP 0\r\n"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(Error(no_key.status()), HasSubstr("RTP/SAVP without a usable a=crypto line"));
  auto none = LegacySdpToRemote(Parsed(head + "m=image 1 udptl t38\r\n"));
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(Error(none.status()), HasSubstr("no audio or video m= line"));
}

// ------------------------------------------------------------------ offer streams

TEST(OfferStreamsForLegacy, VideoByConfigRankAndPayloadTypesRenumbered) {
  auto r = WebRtcSdpToRemote(Parsed(kBundledAudioVideo));
  ASSERT_TRUE(r.ok());
  // The browser's opus on a low dynamic number: legacy peers get 96-127.
  r->mutable_streams(0)->mutable_codecs(0)->set_payload_type(63);
  auto streams = OfferStreamsForLegacy(
      r->streams(), MediaWith({config::v1::CODEC_OPUS, config::v1::CODEC_H264_MP,
                               config::v1::CODEC_H264_BP, config::v1::CODEC_VP8}));
  ASSERT_TRUE(streams.ok()) << streams.status();
  EXPECT_THAT(Names((*streams)[0]), ElementsAre("96 opus/48000"));
  EXPECT_EQ((*streams)[0].direction(), v1::DIRECTION_SENDONLY);
  // h264-mp before vp8; rtx is no codec of the config.
  EXPECT_THAT(Names((*streams)[1]), ElementsAre("98 H264/90000", "96 VP8/90000"));
  EXPECT_EQ((*streams)[1].codecs(1).rtcp_feedback_size(), 0);
}

TEST(OfferStreamsForLegacy, StreamWithoutConfiguredCodecIsRejected) {
  auto r = WebRtcSdpToRemote(Parsed(kBundledAudioVideo));
  ASSERT_TRUE(r.ok());
  auto streams = OfferStreamsForLegacy(r->streams(), MediaWith({config::v1::CODEC_OPUS}));
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->size(), 2);
  EXPECT_FALSE((*streams)[0].rejected());
  EXPECT_TRUE((*streams)[1].rejected());
  EXPECT_EQ((*streams)[1].kind(), v1::MEDIA_KIND_VIDEO);
  EXPECT_EQ((*streams)[1].codecs_size(), 0);
}

TEST(OfferStreamsForBrowser, CodecsTheConfigAllowsInTheOffersOrder) {
  auto r = LegacySdpToRemote(Parsed(kSdesOffer));
  ASSERT_TRUE(r.ok());
  // Default media.codecs has no g729.
  auto streams = OfferStreamsForBrowser(r->streams(), config::v1::Media());
  ASSERT_TRUE(streams.ok()) << streams.status();
  ASSERT_EQ(streams->size(), 2);
  const v1::MediaStream& audio = (*streams)[0];
  EXPECT_EQ(audio.mid(), "0");
  EXPECT_TRUE(audio.rtcp_rsize());
  EXPECT_THAT(Names(audio), ElementsAre("0 PCMU/8000", "101 telephone-event/8000"));
  EXPECT_TRUE((*streams)[1].rejected());
  EXPECT_EQ((*streams)[1].mid(), "1");
}

TEST(OfferStreamsForBrowser, MediaCoderOnAddsTheBrowserCodecsAfterTheOffers) {
  const std::string offer =
      "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
      "m=audio 5000 RTP/AVP 3 101\r\na=rtpmap:101 telephone-event/8000\r\n"
      "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H263-1998/90000\r\n";
  auto r = LegacySdpToRemote(Parsed(offer));
  ASSERT_TRUE(r.ok()) << r.status();
  config::v1::Media media = MediaWith({config::v1::CODEC_GSM, config::v1::CODEC_OPUS,
                                       config::v1::CODEC_PCMU, config::v1::CODEC_SPEEX_NB,
                                       config::v1::CODEC_H263_PLUS, config::v1::CODEC_VP8});
  media.set_enable_media_coder(true);
  auto streams = OfferStreamsForBrowser(r->streams(), media);
  ASSERT_TRUE(streams.ok()) << streams.status();
  // The SIP offer's GSM first (passthrough if the browser had it), then the
  // configured codecs browsers take; speex is none of them. Opus gets an event
  // at its own clock rate.
  EXPECT_THAT(Names((*streams)[0]),
              ElementsAre("3 GSM/8000", "96 opus/48000", "0 PCMU/8000", "101 telephone-event/8000",
                          "97 telephone-event/48000"));
  // Video on the one BUNDLE transport: numbers the audio took are not reused.
  EXPECT_THAT(Names((*streams)[1]), ElementsAre("98 H263-1998/90000", "99 VP8/90000"));
  EXPECT_EQ((*streams)[1].codecs(1).rtcp_feedback_size(), 3);
}

TEST(OfferStreamsForBrowser, VideoStaysWhenTheConfigHasItsCodec) {
  const std::string offer =
      "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
      "m=audio 5000 RTP/AVP 96 8\r\na=rtpmap:96 AMR/8000\r\na=fmtp:96 octet-align=1\r\n"
      "m=video 5002 RTP/AVP 96 34\r\na=rtpmap:96 H264/90000\r\n";
  auto r = LegacySdpToRemote(Parsed(offer));
  ASSERT_TRUE(r.ok()) << r.status();
  auto streams = OfferStreamsForBrowser(
      r->streams(), MediaWith({config::v1::CODEC_AMR_NB_OA, config::v1::CODEC_PCMA,
                               config::v1::CODEC_H264_BP, config::v1::CODEC_H263}));
  ASSERT_TRUE(streams.ok()) << streams.status();
  EXPECT_THAT(Names((*streams)[0]), ElementsAre("96 AMR/8000", "8 PCMA/8000"));
  // One BUNDLE transport: the video's 96 (H264) cannot be the audio's 96 (AMR).
  EXPECT_THAT(Names((*streams)[1]), ElementsAre("97 H264/90000", "34 H263/90000"));
  ASSERT_EQ((*streams)[1].codecs(0).rtcp_feedback_size(), 3);
  EXPECT_EQ((*streams)[1].codecs(0).rtcp_feedback(1).parameter(), "pli");
  EXPECT_EQ((*streams)[1].codecs(0).rtcp_feedback(2).type(), "ccm");
  EXPECT_EQ((*streams)[0].codecs(0).rtcp_feedback_size(), 0);

  auto audio_only = OfferStreamsForBrowser(r->streams(), MediaWith({config::v1::CODEC_PCMA}));
  ASSERT_TRUE(audio_only.ok());
  EXPECT_TRUE((*audio_only)[1].rejected());

  auto nothing = OfferStreamsForBrowser(r->streams(), MediaWith({config::v1::CODEC_OPUS}));
  ASSERT_FALSE(nothing.ok());
  EXPECT_THAT(Error(nothing.status()), HasSubstr("no stream of the SIP offer has a codec"));
}

}  // namespace
}  // namespace webrtc2sip::signaling::sdp
