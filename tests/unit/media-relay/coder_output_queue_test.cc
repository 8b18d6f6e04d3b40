#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "services/media-relay/coder/rtp_output_queue.h"

namespace webrtc2sip::media::coder {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

TEST(CoderOutputQueueTest, DeliversInOrderAndWakesOncePerBurst) {
  auto queue = RtpOutputQueue::Create(4);
  ASSERT_TRUE(queue);
  EXPECT_EQ(queue->capacity(), 4u);
  EXPECT_FALSE(Readable(queue->fd()));
  const uint8_t a[] = {1, 2, 3};
  const uint8_t b[] = {4};
  EXPECT_TRUE(queue->Push(a));
  EXPECT_TRUE(Readable(queue->fd()));
  EXPECT_TRUE(queue->Push(b));
  queue->ClearWakeup();
  EXPECT_FALSE(Readable(queue->fd()));  // One eventfd write for the two.
  std::span<uint8_t> first = queue->Pop();
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[2], 3);
  first[0] = 9;  // Writable in place.
  std::span<uint8_t> second = queue->Pop();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0], 4);
  EXPECT_TRUE(queue->Pop().empty());
  // A push after the consumer cleared the wakeup wakes it again.
  EXPECT_TRUE(queue->Push(a));
  EXPECT_TRUE(Readable(queue->fd()));
}

TEST(CoderOutputQueueTest, DropsWhenFullOrTooLong) {
  auto queue = RtpOutputQueue::Create(4);
  const uint8_t p[] = {7};
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(queue->Push(p)) << i;
  EXPECT_FALSE(queue->Push(p));
  std::vector<uint8_t> huge(RtpOutputQueue::kSlotSize + 1);
  queue->ClearWakeup();
  EXPECT_FALSE(queue->Pop().empty());
  EXPECT_FALSE(queue->Push(huge));
  // The popped slot is still the consumer's until the next Pop().
  EXPECT_FALSE(queue->Push(p));
  EXPECT_FALSE(queue->Pop().empty());
  EXPECT_EQ(queue->dropped_before(), 0u);
  EXPECT_TRUE(queue->Push(p));
  // Three dropped (full, too long, full) before the last one that got in: it says so.
  EXPECT_FALSE(queue->Pop().empty());
  EXPECT_FALSE(queue->Pop().empty());
  EXPECT_EQ(queue->dropped_before(), 0u);
  EXPECT_FALSE(queue->Pop().empty());
  EXPECT_EQ(queue->dropped_before(), 3u);
  EXPECT_TRUE(queue->Pop().empty());
}

TEST(CoderOutputQueueTest, OneProducerThreadOneConsumerLosesNothing) {
  auto queue = RtpOutputQueue::Create(64);
  constexpr uint32_t kCount = 200000;
  std::thread producer([&] {
    for (uint32_t i = 0; i < kCount; ++i) {
      const uint8_t bytes[4] = {uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
      while (!queue->Push(bytes)) std::this_thread::yield();
    }
  });
  uint32_t expected = 0;
  while (expected < kCount) {
    pollfd p{queue->fd(), POLLIN, -1};
    poll(&p, 1, 1000);
    queue->ClearWakeup();
    for (auto packet = queue->Pop(); !packet.empty(); packet = queue->Pop()) {
      const uint32_t got = (uint32_t{packet[0]} << 24) | (uint32_t{packet[1]} << 16) |
                           (uint32_t{packet[2]} << 8) | packet[3];
      ASSERT_EQ(got, expected);
      ++expected;
    }
  }
  producer.join();
}

}  // namespace
}  // namespace webrtc2sip::media::coder
