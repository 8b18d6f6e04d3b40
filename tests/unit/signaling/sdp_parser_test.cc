// SDP text <-> model: the captured Chromium offers and answers of JsSIP and
// SIP.js, line endings, unknown attributes, round trips, malformed lines.

#include "services/signaling/sdp/sdp_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/signaling/sdp/sdp_writer.h"
#include "tests/unit/signaling/sdp_test_util.h"

namespace webrtc2sip::signaling::sdp {
namespace {

using ::testing::HasSubstr;
using testing::Parsed;
using testing::SdpBody;

class CapturedOffer : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Libraries, CapturedOffer, ::testing::Values("jssip", "sipjs"));

TEST_P(CapturedOffer, ChromiumOfferParsesIntoTheModel) {
  const SessionDescription sdp = Parsed(SdpBody(GetParam() + "/03-INVITE-outgoing-call.sip"));
  EXPECT_EQ(sdp.origin.username, "-");
  EXPECT_EQ(sdp.origin.session_version, "2");
  EXPECT_EQ(sdp.origin.address, "127.0.0.1");
  ASSERT_NE(sdp.BundleGroup(), nullptr);
  EXPECT_EQ(sdp.BundleGroup()->mids, std::vector<std::string>{"0"});
  EXPECT_THAT(sdp.msid_semantic, ::testing::StartsWith("WMS "));
  ASSERT_EQ(sdp.other.size(), 1u);
  EXPECT_EQ(sdp.other[0].name, "extmap-allow-mixed");
  EXPECT_FALSE(sdp.other[0].has_value);

  ASSERT_EQ(sdp.media.size(), 1u);
  const MediaDescription& m = sdp.media[0];
  EXPECT_EQ(m.media, "audio");
  EXPECT_EQ(m.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(m.formats, (std::vector<std::string>{"111", "63", "9", "0", "8", "13", "110", "126"}));
  ASSERT_TRUE(m.connection.has_value());
  EXPECT_EQ(m.connection->address, "127.0.0.1");
  ASSERT_TRUE(m.rtcp.has_value());
  EXPECT_EQ(m.rtcp->port, 9u);
  EXPECT_EQ(m.rtcp->connection->address, "0.0.0.0");
  ASSERT_EQ(m.candidates.size(), 1u);
  const Candidate& c = m.candidates[0];
  EXPECT_EQ(c.component, 1u);
  EXPECT_EQ(c.transport, "udp");
  EXPECT_EQ(c.priority, 2113937151u);
  EXPECT_EQ(c.address, "127.0.0.1");
  EXPECT_EQ(c.port, m.port);
  EXPECT_EQ(c.type, "host");
  EXPECT_EQ(c.extensions.size(), 2u);  // generation 0, network-cost 999
  EXPECT_EQ(m.ice_ufrag.size(), 4u);
  EXPECT_EQ(m.ice_pwd.size(), 24u);
  EXPECT_EQ(m.ice_options, "trickle");
  ASSERT_EQ(m.fingerprints.size(), 1u);
  EXPECT_EQ(m.fingerprints[0].algorithm, "sha-256");
  EXPECT_EQ(m.fingerprints[0].value.size(), 95u);
  EXPECT_EQ(m.setup, Setup::kActPass);
  EXPECT_EQ(m.mid, "0");
  ASSERT_EQ(m.extmaps.size(), 4u);
  EXPECT_EQ(m.extmaps[3].id, 4u);
  EXPECT_EQ(m.extmaps[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
  EXPECT_EQ(m.direction, Direction::kSendRecv);
  EXPECT_FALSE(m.msid.empty());
  EXPECT_TRUE(m.rtcp_mux);
  EXPECT_TRUE(m.rtcp_rsize);
  ASSERT_EQ(m.rtpmaps.size(), 8u);
  EXPECT_EQ(m.rtpmaps[0], (RtpMap{111, "opus", 48000, 2}));
  EXPECT_EQ(m.rtpmaps[7], (RtpMap{126, "telephone-event", 8000, 0}));
  EXPECT_EQ(m.FmtpOf("111"), "minptime=10;useinbandfec=1");
  EXPECT_EQ(m.FmtpOf("63"), "111/111");
  ASSERT_EQ(m.rtcp_fbs.size(), 1u);
  EXPECT_EQ(m.rtcp_fbs[0], (RtcpFb{"111", "transport-cc", ""}));
  ASSERT_EQ(m.ssrcs.size(), 2u);
  EXPECT_EQ(m.ssrcs[0].name, "cname");
  EXPECT_EQ(m.ssrcs[1].name, "msid");
  ASSERT_EQ(m.other.size(), 1u);
  EXPECT_EQ(m.other[0], (Attribute{"rtcp-xr", "rcvr-rtt=all", true}));
}

TEST_P(CapturedOffer, LfLineEndsParseLikeCrlf) {
  std::string crlf = SdpBody(GetParam() + "/03-INVITE-outgoing-call.sip");
  std::string lf;
  for (char ch : crlf) {
    if (ch != '\r') lf += ch;
  }
  EXPECT_EQ(Parsed(lf), Parsed(crlf));
  // Blank lines and trailing blanks are no harm either.
  std::string padded = "\n" + lf;
  padded.insert(padded.find("s=-") + 3, "   \n\n");
  EXPECT_EQ(Parsed(padded), Parsed(crlf));
}

// Every captured SDP, both directions: parse(write(x)) == x and the text is stable.
class CapturedSdp : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Files, CapturedSdp,
                         ::testing::Values("jssip/03-INVITE-outgoing-call.sip",
                                           "sipjs/03-INVITE-outgoing-call.sip",
                                           "jssip/16-200-INVITE-incoming-call.sip",
                                           "sipjs/16-200-INVITE-incoming-call.sip",
                                           "jssip/server/18-INVITE-incoming-plain-rtp.sip",
                                           "jssip/server/06-200-INVITE-outgoing-call.sip"));

TEST_P(CapturedSdp, RoundTripIsStable) {
  const SessionDescription first = Parsed(SdpBody(GetParam()));
  const std::string text = WriteSdp(first);
  const SessionDescription second = Parsed(text);
  EXPECT_EQ(second, first) << text;
  EXPECT_EQ(WriteSdp(second), text);
}

TEST_P(CapturedSdp, WriterUsesCrlfOnly) {
  const std::string text = WriteSdp(Parsed(SdpBody(GetParam())));
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(text.ends_with("\r\n"));
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  EXPECT_TRUE(text.starts_with("v=0\r\no="));
}

TEST(SdpParser, UnknownAttributesAndLinesAreKeptInOrder) {
  const std::string text =
      "v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=call\r\ni=info\r\nc=IN IP4 192.0.2.1\r\n"
      "b=AS:64\r\nt=0 0\r\na=tool:foo\r\na=x-session\r\n"
      "m=audio 4000 RTP/AVP 0 96\r\nb=TIAS:64000\r\na=rtpmap:96 AMR/8000\r\n"
      "a=fmtp:96 octet-align=1\r\na=x-b:2\r\na=x-a\r\na=label:1\r\n";
  const SessionDescription sdp = Parsed(text);
  ASSERT_EQ(sdp.other.size(), 2u);
  EXPECT_EQ(sdp.other[0], (Attribute{"tool", "foo", true}));
  EXPECT_EQ(sdp.other[1], (Attribute{"x-session", "", false}));
  EXPECT_EQ(sdp.lines, (std::vector<RawLine>{{'i', "info"}, {'b', "AS:64"}}));
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp.media[0].other,
            (std::vector<Attribute>{{"x-b", "2", true}, {"x-a", "", false}, {"label", "1", true}}));
  EXPECT_EQ(sdp.media[0].lines, (std::vector<RawLine>{{'b', "TIAS:64000"}}));
  EXPECT_EQ(Parsed(WriteSdp(sdp)), sdp);
}

TEST(SdpParser, LinesOfFormatsComeInFormatOrder) {
  // rtpmap/fmtp in another order than the m= line: the model (and the writer)
  // take the m= line's order, so parse(write(x)) == x still holds.
  const SessionDescription sdp = Parsed(
      "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=video 9 RTP/AVPF 97 96\n"
      "a=fmtp:96 profile-level-id=42e01f\na=rtpmap:96 H264/90000\na=rtcp-fb:* nack\n"
      "a=rtpmap:97 VP8/90000\na=rtcp-fb:97 ccm fir\n");
  const MediaDescription& m = sdp.media[0];
  EXPECT_EQ(m.rtpmaps[0].payload_type, 97u);
  EXPECT_EQ(m.rtcp_fbs[0].format, "97");
  EXPECT_EQ(m.rtcp_fbs[1].format, "*");
  EXPECT_EQ(m.RtcpFbOf("96").size(), 1u);
  EXPECT_EQ(m.RtcpFbOf("97").size(), 2u);
  EXPECT_EQ(Parsed(WriteSdp(sdp)), sdp);
}

struct Malformed {
  std::string name;
  std::string sdp;
  std::string error;  // expected in the message, after "SDP line N"
};

class MalformedSdp : public ::testing::TestWithParam<Malformed> {};

const std::string kHead = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";  // lines 1-4

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedSdp,
    ::testing::Values(
        Malformed{"NotSdp", "INVITE sip:a@b SIP/2.0\r\n", "SDP line 1 'INVITE"},
        Malformed{"NoVersion", "o=- 1 1 IN IP4 1.2.3.4\r\n",
                  "SDP line 1 'o=- 1 1 IN IP4 1.2.3.4': an SDP starts with v=0"},
        Malformed{"ShortOrigin", "v=0\r\no=- 1 IN IP4 1.2.3.4\r\n",
                  "SDP line 2 'o=- 1 IN IP4 1.2.3.4': o= needs 6 fields"},
        Malformed{"NoOrigin", "v=0\r\ns=-\r\nt=0 0\r\n", "no o= line"},
        Malformed{"Empty", "\r\n\r\n", "SDP is empty"},
        Malformed{"NotALine", kHead + "m=audio 1 RTP/AVP 0\r\nhello\r\n",
                  "SDP line 6 'hello': not a '<letter>=<value>' line"},
        Malformed{"UnknownType", kHead + "x=1\r\n", "SDP line 5 'x=1': unknown line type 'x='"},
        Malformed{
            "BadPort", kHead + "m=audio 7000x RTP/AVP 0\r\n",
            "SDP line 5 'm=audio 7000x RTP/AVP 0': m=: port '7000x' is not a number in 0-65535"},
        Malformed{"ShortMedia", kHead + "m=audio 7000\r\n", "SDP line 5 'm=audio 7000': m= needs"},
        Malformed{"BadConnection", kHead + "c=IN IP4\r\n", "SDP line 5 'c=IN IP4': c=: expected"},
        Malformed{"RtpmapPt", kHead + "m=audio 1 RTP/AVP 0\r\na=rtpmap:abc PCMU/8000\r\n",
                  "SDP line 6 'a=rtpmap:abc PCMU/8000': a=rtpmap: payload type 'abc' is not a "
                  "number in 0-127"},
        Malformed{"RtpmapNoRate", kHead + "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus\r\n",
                  "SDP line 6 'a=rtpmap:96 opus': a=rtpmap: expected '<encoding>/<clock rate>'"},
        Malformed{"RtpmapBadRate", kHead + "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/x\r\n",
                  "a=rtpmap: clock rate 'x' is not a number"},
        Malformed{"CandidateNoTyp",
                  kHead + "m=audio 1 RTP/AVP 0\r\na=candidate:1 1 udp 1 1.2.3.4 5 host\r\n",
                  "SDP line 6 'a=candidate:1 1 udp 1 1.2.3.4 5 host': a=candidate: expected"},
        Malformed{"CandidatePort",
                  kHead + "m=audio 1 RTP/AVP 0\r\na=candidate:1 1 udp 1 1.2.3.4 99999 typ host\r\n",
                  "a=candidate: port '99999' is not a number in 0-65535"},
        Malformed{
            "CandidatePriority",
            kHead + "m=audio 1 RTP/AVP 0\r\na=candidate:1 1 udp 99999999999 1.2.3.4 5 typ host\r\n",
            "a=candidate: priority '99999999999' is not a 32-bit number"},
        Malformed{"Setup", kHead + "m=audio 1 RTP/AVP 0\r\na=setup:server\r\n",
                  "a=setup: 'server' is not actpass, active, passive or holdconn"},
        Malformed{"Fingerprint", kHead + "a=fingerprint:sha-256\r\n",
                  "SDP line 5 'a=fingerprint:sha-256': a=fingerprint: expected"},
        Malformed{
            "CryptoTag",
            kHead + "m=audio 1 RTP/SAVP 0\r\na=crypto:one AES_CM_128_HMAC_SHA1_80 inline:x\r\n",
            "a=crypto: tag 'one' is not a number"},
        Malformed{"CryptoShort",
                  kHead + "m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80\r\n",
                  "SDP line 6 'a=crypto:1 AES_CM_128_HMAC_SHA1_80': a=crypto: expected"},
        Malformed{"Ssrc", kHead + "m=audio 1 RTP/AVP 0\r\na=ssrc:-1 cname:x\r\n",
                  "a=ssrc: expected"},
        Malformed{"Extmap", kHead + "m=audio 1 RTP/AVP 0\r\na=extmap:x urn:a\r\n",
                  "a=extmap: extension id 'x' is not a number"},
        Malformed{"Rtcp", kHead + "m=audio 1 RTP/AVP 0\r\na=rtcp:port\r\n",
                  "SDP line 6 'a=rtcp:port': a=rtcp: expected"},
        Malformed{"Ptime", kHead + "m=audio 1 RTP/AVP 0\r\na=ptime:abc\r\n",
                  "a=ptime: 'abc' is not a number of milliseconds"},
        Malformed{"SessionLineInMedia", kHead + "m=audio 1 RTP/AVP 0\r\ns=late\r\n",
                  "SDP line 6 's=late': s= belongs before the first m= line"},
        Malformed{"TwoVersions", kHead + "v=0\r\n", "SDP line 5 'v=0': v= appears twice"},
        Malformed{"AttrNoName", kHead + "a=:x\r\n", "attribute without a name"}),
    [](const ::testing::TestParamInfo<Malformed>& p) { return p.param.name; });

TEST_P(MalformedSdp, ErrorNamesTheLine) {
  auto sdp = ParseSdp(GetParam().sdp);
  ASSERT_FALSE(sdp.ok());
  EXPECT_EQ(sdp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sdp.status().message()), HasSubstr(GetParam().error));
}

TEST(SdpParser, LenientWhereItCostsNothing) {
  // ptime "20.0", m= line with a port count, t= absent, no a=rtpmap for a static type.
  const SessionDescription sdp = Parsed(
      "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=\nc=IN IP4 224.2.1.1/127\n"
      "m=audio 49170/2 RTP/AVP 0\na=ptime:20.0\na=sendonly\n");
  EXPECT_EQ(sdp.session_name, "");
  EXPECT_EQ(sdp.connection->address, "224.2.1.1/127");
  EXPECT_EQ(sdp.media[0].port_count, 2u);
  EXPECT_EQ(sdp.media[0].ptime, 20u);
  EXPECT_EQ(sdp.media[0].direction, Direction::kSendOnly);
  EXPECT_EQ(Parsed(WriteSdp(sdp)), sdp);
}

}  // namespace
}  // namespace webrtc2sip::signaling::sdp
