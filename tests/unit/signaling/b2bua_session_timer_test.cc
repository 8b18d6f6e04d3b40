// RFC 4028 negotiation of the B2BUA's network leg and the SDP/header helpers
// its re-INVITE handling relies on, on messages parsed by sofia.

#include <gtest/gtest.h>

#include <string>

#include "services/signaling/b2bua/b2bua_support.h"
#include "services/signaling/b2bua/session_timer.h"
#include "services/signaling/sip/sip_message.h"

namespace webrtc2sip::signaling {
namespace {

SipMessage Parse(const std::string& text) {
  SipMessage msg;
  EXPECT_EQ(SipMessage::Parse(text, msg), SipMessage::ParseResult::kOk) << text;
  return msg;
}

std::string Invite(const std::string& extra) {
  return "INVITE sip:alice@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1\r\n"
         "From: <sip:phone@127.0.0.1>;tag=a\r\nTo: <sip:alice@127.0.0.1>\r\n"
         "Call-ID: st-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n" +
         extra + "Content-Length: 0\r\n\r\n";
}

std::string Ok(const std::string& extra) {
  return "SIP/2.0 200 OK\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1\r\n"
         "From: <sip:phone@127.0.0.1>;tag=a\r\nTo: <sip:alice@127.0.0.1>;tag=b\r\n"
         "Call-ID: st-1\r\nCSeq: 1 INVITE\r\n" +
         extra + "Content-Length: 0\r\n\r\n";
}

TEST(SessionTimer, TheCallerThatSupportsTimersRefreshes) {
  SipMessage invite = Parse(Invite("Supported: timer\r\nSession-Expires: 1800\r\n"));
  SessionTimer t;
  EXPECT_EQ(t.NegotiateAsUas(invite.sip(), 90), "1800;refresher=uac");
  EXPECT_FALSE(t.we_refresh);
  EXPECT_TRUE(t.RequireInAnswer(invite.sip()));
  EXPECT_EQ(t.DelaySeconds(), 1800u - 32u);  // the dialog is dead before it expires
}

TEST(SessionTimer, ACallerWithoutTimerSupportLeavesTheRefreshToTheGateway) {
  SipMessage invite = Parse(Invite("Session-Expires: 600\r\n"));
  SessionTimer t;
  EXPECT_EQ(t.NegotiateAsUas(invite.sip(), 90), "600;refresher=uas");
  EXPECT_TRUE(t.we_refresh);
  EXPECT_FALSE(t.RequireInAnswer(invite.sip()));
  EXPECT_EQ(t.DelaySeconds(), 300u);
}

TEST(SessionTimer, TheNamedRefresherAndMinSeAreHonoured) {
  SipMessage invite = Parse(Invite("Supported: timer\r\nSession-Expires: 30;refresher=uas\r\n"));
  SessionTimer t;
  EXPECT_EQ(t.NegotiateAsUas(invite.sip(), 90), "90;refresher=uas");
  EXPECT_TRUE(t.we_refresh);
  EXPECT_EQ(t.DelaySeconds(), 45u);
  EXPECT_EQ(t.NegotiateAsUas(Parse(Invite("")).sip(), 90), "");  // no timer asked
  EXPECT_EQ(t.interval, 0u);
  EXPECT_EQ(t.DelaySeconds(), 0u);
}

TEST(SessionTimer, TheAnswerToTheGatewaysInviteSaysWhoRefreshes) {
  SessionTimer t;
  t.NegotiateAsUac(Parse(Ok("Require: timer\r\nSession-Expires: 90;refresher=uac\r\n")).sip());
  EXPECT_EQ(t.interval, 90u);
  EXPECT_TRUE(t.we_refresh);
  t.NegotiateAsUac(Parse(Ok("Require: timer\r\nSession-Expires: 120;refresher=uas\r\n")).sip());
  EXPECT_EQ(t.interval, 120u);
  EXPECT_FALSE(t.we_refresh);
  EXPECT_EQ(t.DelaySeconds(), 120u - 32u);
  t.NegotiateAsUac(Parse(Ok("")).sip());
  EXPECT_EQ(t.interval, 0u);
}

TEST(B2buaSupport, OriginKeyIsTheSessionIdAndVersion) {
  using b2bua_support::OriginKey;
  EXPECT_EQ(OriginKey("v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"),
            "53655765 2353687637");
  EXPECT_EQ(OriginKey("o=- 1 2 IN IP4 127.0.0.1\r\n"), "1 2");
  EXPECT_EQ(OriginKey("v=0\r\ns=-\r\n"), "");
  EXPECT_EQ(OriginKey(""), "");
  EXPECT_EQ(OriginKey("v=0\r\no=broken\r\n"), "");
}

TEST(B2buaSupport, WithoutTagDropsOnlyTheHeaderTag) {
  using b2bua_support::WithoutTag;
  EXPECT_EQ(WithoutTag("<sip:a@b>;tag=123"), "<sip:a@b>");
  EXPECT_EQ(WithoutTag("\"A\" <sip:a@b>;x=1;tag=123;y=2"), "\"A\" <sip:a@b>;x=1;y=2");
  EXPECT_EQ(WithoutTag("<sip:a@b;tag=uri-param>"), "<sip:a@b;tag=uri-param>");
  EXPECT_EQ(WithoutTag("<sip:a@b>"), "<sip:a@b>");
}

}  // namespace
}  // namespace webrtc2sip::signaling
