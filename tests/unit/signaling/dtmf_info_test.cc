// SIP INFO DTMF bodies as browsers and phones send them.

#include <gtest/gtest.h>

#include "services/signaling/b2bua/dtmf_info.h"

namespace webrtc2sip::signaling {
namespace {

TEST(DtmfInfo, DtmfRelayBodies) {
  auto p = ParseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->event, 5u);
  EXPECT_EQ(p->duration_ms, 160u);
  EXPECT_EQ(ParseDtmfInfo("Application/DTMF-Relay; x=1", "signal = *\nduration=100")->event, 10u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=#\r\n")->event, 11u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=11\r\n")->event, 11u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=d\r\n")->event, 15u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=1\r\n")->duration_ms, 100u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=1\r\nDuration=1\r\n")->duration_ms, 40u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=1\r\nDuration=99999\r\n")->duration_ms, 8000u);
}

TEST(DtmfInfo, PlainDtmfBodies) {
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "7")->event, 7u);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "#\r\n")->event, 11u);
}

TEST(DtmfInfo, AnythingElseIsNotDtmf) {
  EXPECT_FALSE(ParseDtmfInfo("text/plain", "Signal=5"));
  EXPECT_FALSE(ParseDtmfInfo("application/dtmf-relay", "Duration=160"));
  EXPECT_FALSE(ParseDtmfInfo("application/dtmf-relay", "Signal=X\r\n"));
  EXPECT_FALSE(ParseDtmfInfo("application/dtmf-relay", "Signal=16\r\n"));
  EXPECT_FALSE(ParseDtmfInfo("application/dtmf-relay", "Signal=99999999999999999999\r\n"));
  EXPECT_FALSE(ParseDtmfInfo("application/dtmf", ""));
  EXPECT_FALSE(ParseDtmfInfo("application/dtmf-relay", ""));
}

}  // namespace
}  // namespace webrtc2sip::signaling
