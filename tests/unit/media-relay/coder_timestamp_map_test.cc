#include <gtest/gtest.h>

#include "services/media-relay/coder/timestamp_map.h"

namespace webrtc2sip::media::coder {
namespace {

TEST(CoderTimestampMapTest, NothingMapsBeforeTheFirstPacket) {
  TimestampMap map(48000, 8000);
  EXPECT_FALSE(map.started());
  EXPECT_FALSE(map.ToOutput(1234));
}

TEST(CoderTimestampMapTest, ScalesFromTheFirstPacketAcrossTheWrap) {
  TimestampMap map(48000, 8000);
  const uint32_t first = 0xffffff00;
  EXPECT_EQ(map.ToPipelineTime(first), 0);
  EXPECT_EQ(map.ToPipelineTime(first + 960), 20'000'000);  // Wrapped: 0x2c0.
  EXPECT_EQ(map.ToPipelineTime(first + 2 * 960), 40'000'000);
  EXPECT_EQ(*map.ToOutput(first), 0u);
  EXPECT_EQ(*map.ToOutput(first + 960), 160u);
  EXPECT_EQ(*map.ToOutput(first + 48000 * 3), 24000u);  // Ahead of the newest: an event.
  // Mapping does not move the newest: a later packet still unwraps from the real one.
  EXPECT_EQ(map.ToPipelineTime(first + 3 * 960), 60'000'000);
}

TEST(CoderTimestampMapTest, ReorderedPacketsGoBackInTimeAndBeforeTheStartBelowZero) {
  TimestampMap map(8000, 48000);
  EXPECT_EQ(map.ToPipelineTime(1000), 0);
  EXPECT_EQ(map.ToPipelineTime(1320), 40'000'000);
  EXPECT_EQ(map.ToPipelineTime(1160), 20'000'000);  // Late, but after the first.
  EXPECT_EQ(map.ToPipelineTime(840), -20'000'000);  // Before the first: the caller drops it.
  EXPECT_EQ(*map.ToOutput(840), static_cast<uint32_t>(-960));
}

TEST(CoderTimestampMapTest, ABaseShiftsPipelineTimeAndOutputAlike) {
  TimestampMap map(90000, 90000);
  EXPECT_EQ(map.ToPipelineTime(5000, 1'000'000'000), 1'000'000'000);
  EXPECT_EQ(map.ToPipelineTime(5000 + 3000, 7), 1'000'000'000 + 33'333'333);  // Base kept.
  EXPECT_EQ(*map.ToOutput(5000), 90000u);
  EXPECT_EQ(*map.ToOutput(8000), 93000u - 1);  // The payloader's rounding of 1.033333333 s.
}

}  // namespace
}  // namespace webrtc2sip::media::coder
