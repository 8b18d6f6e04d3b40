// The proxy's transaction deadlines: order, cancellation, re-entrancy, and
// one real expiry through a GLib main context.

#include "services/signaling/sip/deadline_queue.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

namespace webrtc2sip::signaling {
namespace {

constexpr gint64 kMs = 1000;

class DeadlineQueueTest : public ::testing::Test {
 protected:
  ~DeadlineQueueTest() override {
    owned_queue_.reset();  // its source goes before the context
    g_main_context_unref(context_);
  }

  GMainContext* context_ = g_main_context_new();
  std::vector<uint64_t> fired_;
  std::function<void(uint64_t)> on_fire_;
  std::unique_ptr<DeadlineQueue> owned_queue_ =
      std::make_unique<DeadlineQueue>(context_, [this](uint64_t key) {
        fired_.push_back(key);
        if (on_fire_) on_fire_(key);
      });
  DeadlineQueue& queue_ = *owned_queue_;
};

TEST_F(DeadlineQueueTest, ExpiresInDeadlineOrderAndNotBefore) {
  const gint64 before = g_get_monotonic_time();
  queue_.Add(300, 3);
  queue_.Add(100, 1);
  queue_.Add(200, 2);
  queue_.Add(100, 4);  // same deadline as 1: after it, in the order added
  const gint64 after = g_get_monotonic_time();
  EXPECT_EQ(queue_.size(), 4u);

  queue_.RunDue(before + 99 * kMs);
  EXPECT_TRUE(fired_.empty());
  queue_.RunDue(after + 100 * kMs);
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 4}));
  queue_.RunDue(after + 300 * kMs);
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 4, 2, 3}));
  EXPECT_EQ(queue_.size(), 0u);
}

TEST_F(DeadlineQueueTest, CancelledDeadlinesNeverFireAndStaleHandlesAreHarmless) {
  const gint64 start = g_get_monotonic_time();
  DeadlineQueue::Handle a = queue_.Add(100, 1);
  DeadlineQueue::Handle b = queue_.Add(100, 2);
  EXPECT_TRUE(a);
  EXPECT_NE(a, b);
  queue_.Cancel(a);
  queue_.Cancel(a);   // twice
  queue_.Cancel({});  // none
  queue_.RunDue(start + 1000 * kMs);
  EXPECT_EQ(fired_, (std::vector<uint64_t>{2}));
  queue_.Cancel(b);  // already expired
  EXPECT_EQ(queue_.size(), 0u);
}

TEST_F(DeadlineQueueTest, AnExpiryMayAddAndCancelOthers) {
  const gint64 start = g_get_monotonic_time();
  DeadlineQueue::Handle doomed = queue_.Add(200, 2);
  queue_.Add(100, 1);
  on_fire_ = [&](uint64_t key) {
    if (key == 1) {
      queue_.Cancel(doomed);
      queue_.Add(0, 5);  // due at once: runs in this same pass
      queue_.Add(10000, 6);
    }
  };
  queue_.RunDue(start + 1000 * kMs);
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 5}));
  EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(DeadlineQueueTest, FiresFromTheMainContext) {
  queue_.Add(1, 7);
  // Iterates until the deadline's source has run; no clock is asserted on.
  while (fired_.empty()) g_main_context_iteration(context_, TRUE);
  EXPECT_EQ(fired_, (std::vector<uint64_t>{7}));
  EXPECT_EQ(queue_.size(), 0u);
}

}  // namespace
}  // namespace webrtc2sip::signaling
