// The proxy's message edits on messages captured from JsSIP 3.13 and SIP.js
// 0.21 in Chromium (tests/unit/signaling/testdata, see its README).

#include "services/signaling/sip/message_rewriter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "services/signaling/sip/flow_table.h"
#include "services/signaling/sip/local_response.h"
#include "services/signaling/sip/sip_message.h"

namespace webrtc2sip::signaling {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(WEBRTC2SIP_SOURCE_DIR) + "/tests/unit/signaling/testdata/" + name,
                   std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

SipMessage Parsed(const std::string& text) {
  SipMessage msg;
  EXPECT_EQ(SipMessage::Parse(text, msg), SipMessage::ParseResult::kOk) << text;
  return msg;
}

// Both libraries, same expectations.
class CapturedTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Lib(const std::string& file) { return Fixture(GetParam() + "/" + file); }
};

INSTANTIATE_TEST_SUITE_P(Libraries, CapturedTest, ::testing::Values("jssip", "sipjs"));

const SideAddress kNet{"192.0.2.10", 5060, "udp"};
const SideAddress kWs{"192.0.2.10", 10060, "ws"};

TEST_P(CapturedTest, ReceivedAndRportGoOnTheBrowsersVia) {
  SipMessage msg = Parsed(Lib("01-REGISTER-initial.sip"));
  StampReceived(msg, "198.51.100.7", 61000);
  const std::string text = msg.ToString();
  EXPECT_THAT(text, ::testing::ContainsRegex(
                        "Via: SIP/2.0/WS [a-z0-9]+\\.invalid;branch=z9hG4bK[0-9]+;"
                        "(rport=61000;received=198\\.51\\.100\\.7|received=198\\.51\\.100\\.7;"
                        "rport=61000)\r\n"));
  // It still parses, and nothing else moved.
  SipMessage again = Parsed(text);
  EXPECT_STREQ(again.sip()->sip_via->v_received, "198.51.100.7");
  EXPECT_STREQ(again.sip()->sip_via->v_rport, "61000");
  EXPECT_EQ(again.call_id(), msg.call_id());
}

TEST_P(CapturedTest, RegisterContactBecomesReachableAndComesBack) {
  SipMessage msg = Parsed(Lib("02-REGISTER-initial-with-auth.sip"));
  const std::string original_user = msg.sip()->sip_contact->m_url->url_user;
  auto originals = RewriteContacts(msg, kNet, "flowtoken123");
  ASSERT_EQ(originals.size(), 1u);
  EXPECT_EQ(originals[0].first, original_user);
  EXPECT_THAT(originals[0].second, HasSubstr(".invalid;transport=ws"));

  SipMessage sent = Parsed(msg.ToString());
  const url_t* url = sent.sip()->sip_contact->m_url;
  EXPECT_STREQ(url->url_user, original_user.c_str());  // JsSIP and SIP.js match on it
  EXPECT_STREQ(url->url_host, "192.0.2.10");
  EXPECT_STREQ(url->url_port, "5060");
  EXPECT_EQ(FlowOf(url), "flowtoken123");
  EXPECT_THAT(msg.ToString(), Not(HasSubstr(".invalid;transport=ws")));
  // Contact parameters (expires, +sip.instance, reg-id) stay.
  EXPECT_THAT(msg.ToString(), HasSubstr("expires=600"));

  // The registrar's 200 lists the rewritten contact: the browser gets its own back.
  std::string ok = "SIP/2.0 200 OK\r\n"
                   "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1;received=198.51.100.7;rport=1\r\n"
                   "From: <sip:alice@example.com>;tag=a\r\nTo: <sip:alice@example.com>;tag=b\r\n"
                   "Call-ID: c\r\nCSeq: 2 REGISTER\r\n"
                   "Contact: <sip:" + original_user +
                   "@192.0.2.10:5060;transport=udp;w2s=flowtoken123>;expires=600\r\n"
                   "Contact: <sip:other@203.0.113.5>;expires=100\r\nContent-Length: 0\r\n\r\n";
  SipMessage resp = Parsed(ok);
  RestoreContacts(resp, "flowtoken123", [&](const std::string& user) -> std::optional<std::string> {
    for (auto& [u, uri] : originals) {
      if (u == user) return uri;
    }
    return std::nullopt;
  });
  const std::string back = resp.ToString();
  EXPECT_THAT(back, HasSubstr("Contact: <" + originals[0].second + ">;expires=600"));
  EXPECT_THAT(back, HasSubstr("Contact: <sip:other@203.0.113.5>;expires=100"));  // not ours
}

TEST_P(CapturedTest, ContactKeepsTheBreakerFlagButNeverTheHa1) {
  std::string text = Lib("02-REGISTER-initial-with-auth.sip");
  text = std::regex_replace(text, std::regex(";transport=ws>"),
                            ";transport=ws;rtcweb-breaker=yes;impi=alice;ha1=0123456789abcdef0123456789abcdef>");
  SipMessage msg = Parsed(text);
  RewriteContacts(msg, kNet, "tok");
  const std::string sent = msg.ToString();
  EXPECT_THAT(sent, HasSubstr(";rtcweb-breaker=yes"));
  EXPECT_THAT(sent, Not(HasSubstr("ha1=")));
  EXPECT_THAT(sent, Not(HasSubstr("0123456789abcdef")));
  EXPECT_THAT(sent, Not(HasSubstr("impi=")));
  EXPECT_THAT(sent, Not(HasSubstr("transport=ws")));
}

TEST_P(CapturedTest, InviteGetsTwoRecordRoutesFacingEachSide) {
  SipMessage msg = Parsed(Lib("05-INVITE-outgoing-call-with-auth.sip"));
  AddRecordRoutes(msg, GatewayUri(kWs, "tok"), GatewayUri(kNet, ""));
  SipMessage sent = Parsed(msg.ToString());
  const sip_record_route_t* rr = sent.sip()->sip_record_route;
  ASSERT_NE(rr, nullptr);
  ASSERT_NE(rr->r_next, nullptr);
  // The callee's route set starts with the side it faces (udp), then the ws side.
  EXPECT_STREQ(rr->r_url->url_port, "5060");
  EXPECT_EQ(FlowOf(rr->r_url), "");
  EXPECT_STREQ(rr->r_next->r_url->url_port, "10060");
  EXPECT_EQ(FlowOf(rr->r_next->r_url), "tok");
  EXPECT_TRUE(url_has_param(rr->r_url, "lr"));
  // The SDP body is untouched.
  EXPECT_THAT(sent.ToString(), HasSubstr("a=fingerprint:sha-256 "));
  EXPECT_EQ(sent.sip()->sip_payload->pl_len, msg.sip()->sip_payload->pl_len);
}

TEST_P(CapturedTest, InDialogRequestsLoseOnlyTheGatewaysRoutes) {
  // The browser's BYE routes through the gateway's two Record-Routes, then a third party.
  std::string bye = Lib("08-BYE-outgoing-call.sip");
  bye = std::regex_replace(bye, std::regex("Route: [^\r]*\r\n"), "");
  bye.insert(bye.find("\r\n") + 2, "Route: <" + GatewayUri(kWs, "tok42") + ">\r\nRoute: <" +
                                       GatewayUri(kNet, "") +
                                       ">\r\nRoute: <sip:proxy.example.net;lr>\r\n");
  SipMessage msg = Parsed(bye);
  EXPECT_EQ(PopOwnRoutes(msg), "tok42");
  ASSERT_NE(msg.sip()->sip_route, nullptr);
  EXPECT_STREQ(msg.sip()->sip_route->r_url->url_host, "proxy.example.net");
  EXPECT_EQ(msg.sip()->sip_route->r_next, nullptr);
  // A request with no gateway route keeps all of its routes.
  SipMessage other = Parsed(Lib("08-BYE-outgoing-call.sip"));
  EXPECT_EQ(PopOwnRoutes(other), std::nullopt);
  EXPECT_NE(other.sip()->sip_route, nullptr);
}

TEST_P(CapturedTest, MaxForwardsCountsDownAndStopsAtZero) {
  SipMessage msg = Parsed(Lib("07-MESSAGE-out-of-dialog.sip"));
  const unsigned before = msg.sip()->sip_max_forwards->mf_count;
  EXPECT_TRUE(DecrementMaxForwards(msg));
  EXPECT_THAT(msg.ToString(), HasSubstr("Max-Forwards: " + std::to_string(before - 1) + "\r\n"));
  std::string zero = std::regex_replace(Lib("07-MESSAGE-out-of-dialog.sip"),
                                        std::regex("Max-Forwards: [0-9]+"), "Max-Forwards: 0");
  SipMessage last = Parsed(zero);
  EXPECT_FALSE(DecrementMaxForwards(last));
}

TEST_P(CapturedTest, RequestsFromTheNetworkGetTheGatewayVia) {
  SipMessage msg = Parsed(Fixture(GetParam() + "/server/14-INVITE-incoming-call.sip"));
  ASSERT_TRUE(PushVia(msg, "SIP/2.0/WS 192.0.2.10:10060;branch=z9hG4bK-w2s-abc-1"));
  SipMessage sent = Parsed(msg.ToString());
  EXPECT_STREQ(sent.sip()->sip_via->v_branch, "z9hG4bK-w2s-abc-1");
  EXPECT_NE(sent.sip()->sip_via->v_next, nullptr);
  // The browser's 180 comes back with it; the gateway pops it again.
  SipMessage ringing = Parsed(Lib("15-180-INVITE-incoming-call.sip"));
  const std::string second = ringing.sip()->sip_via->v_next ? ringing.sip()->sip_via->v_next->v_host : "";
  PopVia(ringing);
  EXPECT_EQ(ringing.sip()->sip_via ? ringing.sip()->sip_via->v_host : "", second);
}

TEST_P(CapturedTest, TheGatewaysOwnAnswersCopyWhatTheyMust) {
  SipMessage msg = Parsed(Lib("07-MESSAGE-out-of-dialog.sip"));
  std::string text = MakeResponse(msg, 483, "Too Many Hops");
  SipMessage resp = Parsed(text);
  EXPECT_EQ(resp.status(), 483);
  EXPECT_EQ(resp.call_id(), msg.call_id());
  EXPECT_STREQ(resp.sip()->sip_via->v_branch, msg.sip()->sip_via->v_branch);
  EXPECT_STREQ(resp.sip()->sip_to->a_tag, std::string(LocalTag()).c_str());
  EXPECT_EQ(resp.sip()->sip_cseq->cs_seq, msg.sip()->sip_cseq->cs_seq);
  EXPECT_EQ(resp.method(), sip_method_message);
}

TEST(SipMessageTest, TellsGarbageFromMalformedSip) {
  SipMessage msg;
  EXPECT_EQ(SipMessage::Parse("hello world", msg), SipMessage::ParseResult::kGarbage);
  EXPECT_EQ(SipMessage::Parse(std::string("\x16\x03\x01\x00", 4), msg),
            SipMessage::ParseResult::kGarbage);
  EXPECT_EQ(SipMessage::Parse("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n"
                              "CSeq: 1 INVITE\r\n\r\n",
                              msg),
            SipMessage::ParseResult::kMalformed);
  EXPECT_TRUE(msg.is_request());  // still answerable
  EXPECT_EQ(SipMessage::Parse("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\n"
                              "CSeq: 1 INVITE\r\n\r\n",
                              msg),
            SipMessage::ParseResult::kMalformed);  // CSeq method differs
}

TEST(FlowTableTest, TokensRouteToTheirConnectionUntilItCloses) {
  FlowTable flows;
  const std::string a = flows.Open(1), b = flows.Open(2);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 20u);  // 96 random bits
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](char c) { return std::isalnum(c) && !std::isupper(c); }));
  EXPECT_EQ(flows.Find(a), 1u);
  EXPECT_EQ(flows.Find(b), 2u);
  EXPECT_EQ(flows.TokenOf(2), b);
  flows.RememberContact(a, "u1", "sip:u1@x.invalid;transport=ws");
  EXPECT_EQ(flows.ContactOf(a, "u1"), "sip:u1@x.invalid;transport=ws");
  EXPECT_EQ(flows.ContactOf(a, "u2"), std::nullopt);
  flows.Close(1);
  EXPECT_EQ(flows.Find(a), std::nullopt);
  EXPECT_EQ(flows.ContactOf(a, "u1"), std::nullopt);
  EXPECT_EQ(flows.Find(b), 2u);
  EXPECT_EQ(flows.size(), 1u);
}

TEST(FlowTableTest, AConnectionCannotMakeItKeepUnboundedContacts) {
  FlowTable flows;
  const std::string t = flows.Open(7);
  for (int i = 0; i < 100; ++i) flows.RememberContact(t, "u" + std::to_string(i), "sip:x");
  EXPECT_TRUE(flows.ContactOf(t, "u15").has_value());
  EXPECT_FALSE(flows.ContactOf(t, "u16").has_value());
}

}  // namespace
}  // namespace webrtc2sip::signaling
