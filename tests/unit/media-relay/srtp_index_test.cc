#include "services/media-relay/srtp/srtp_index.h"

#include <gtest/gtest.h>

#include "services/media-relay/srtp/replay_window.h"

namespace webrtc2sip::media {
namespace {

TEST(EstimateRocTest, FollowsRfc3711AppendixA) {
  EXPECT_EQ(EstimateRoc(0, 100, 101), 0);
  EXPECT_EQ(EstimateRoc(0, 100, 50), 0);
  EXPECT_EQ(EstimateRoc(0, 65535, 0), 1);      // Wrapped.
  EXPECT_EQ(EstimateRoc(0, 65000, 100), 1);    // Wrapped, with a gap.
  EXPECT_EQ(EstimateRoc(3, 2, 65534), 2);      // Late packet from before the wrap.
  EXPECT_EQ(EstimateRoc(0, 2, 65534), -1);     // From before the stream began.
  EXPECT_EQ(EstimateRoc(5, 40000, 10000), 5);  // Within half the space: same ROC.
  EXPECT_EQ(EstimateRoc(5, 40000, 7000), 6);   // More than half behind: next ROC.
  EXPECT_EQ(SrtpPacketIndex(2, 0x1234), 0x21234u);
}

TEST(ReplayWindowTest, AcceptsNewRefusesSeenAndTooOld) {
  ReplayWindow w;
  EXPECT_FALSE(w.IsReplay(1000));
  w.Add(1000);
  EXPECT_TRUE(w.IsReplay(1000));
  EXPECT_FALSE(w.IsReplay(999));
  EXPECT_FALSE(w.IsReplay(1001));
  w.Add(1005);
  EXPECT_FALSE(w.IsReplay(1003));
  EXPECT_TRUE(w.IsReplay(1000));
  w.Add(1003);
  EXPECT_TRUE(w.IsReplay(1003));
  EXPECT_FALSE(w.IsReplay(1005 - ReplayWindow::kSize + 1));
  EXPECT_TRUE(w.IsReplay(1005 - ReplayWindow::kSize));
  w.Add(5000);  // A jump past the whole window clears it.
  EXPECT_TRUE(w.IsReplay(5000));
  EXPECT_FALSE(w.IsReplay(4999));
  EXPECT_TRUE(w.IsReplay(1005));
}

}  // namespace
}  // namespace webrtc2sip::media
