// The proxy's count of INVITE dialogs, which a drain waits for.

#include "services/signaling/sip/proxied_dialogs.h"

#include <gtest/gtest.h>

namespace webrtc2sip::signaling {
namespace {

TEST(ProxiedDialogsTest, A2xxOpensAndTheByesAnswerCloses) {
  ProxiedDialogs dialogs;
  dialogs.Established("call-1", 7);
  dialogs.Established("call-2", 7);
  dialogs.Established("call-1", 7);  // a re-INVITE's 2xx: the same dialog
  EXPECT_EQ(dialogs.size(), 2u);
  dialogs.Ended("call-1");
  EXPECT_EQ(dialogs.size(), 1u);
  dialogs.Ended("call-1");  // a second final answer changes nothing
  dialogs.Ended("unknown");
  EXPECT_EQ(dialogs.size(), 1u);
  dialogs.Ended("call-2");
  EXPECT_EQ(dialogs.size(), 0u);
}

TEST(ProxiedDialogsTest, AClosedConnectionTakesOnlyItsDialogs) {
  ProxiedDialogs dialogs;
  dialogs.Established("a-1", 1);
  dialogs.Established("a-2", 1);
  dialogs.Established("b-1", 2);
  dialogs.ConnectionClosed(1);
  EXPECT_EQ(dialogs.size(), 1u);
  dialogs.Ended("b-1");
  EXPECT_EQ(dialogs.size(), 0u);
}

}  // namespace
}  // namespace webrtc2sip::signaling
