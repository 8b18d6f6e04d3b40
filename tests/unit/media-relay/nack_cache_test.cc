#include "services/media-relay/relay/nack_cache.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace webrtc2sip::media {
namespace {

// A packet whose bytes say which sequence number it is.
std::vector<uint8_t> PacketFor(uint16_t seq, size_t len = 200) {
  std::vector<uint8_t> p(len);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(seq + i);
  return p;
}

void StoreRange(NackCache& cache, uint32_t first, uint32_t count) {
  for (uint32_t n = first; n < first + count; ++n) {
    const auto seq = static_cast<uint16_t>(n);
    const auto p = PacketFor(seq);
    ASSERT_TRUE(cache.Store(seq, p.data(), p.size()));
  }
}

bool Serves(NackCache& cache, uint16_t seq) {
  const auto found = cache.Lookup(seq);
  const auto expected = PacketFor(seq);
  return found.size() == expected.size() &&
         std::equal(found.begin(), found.end(), expected.begin());
}

TEST(NackCacheTest, ServesStoredPackets) {
  NackCache cache(100, 400);
  StoreRange(cache, 1000, 50);
  EXPECT_TRUE(Serves(cache, 1000));
  EXPECT_TRUE(Serves(cache, 1025));
  EXPECT_TRUE(Serves(cache, 1049));
  EXPECT_EQ(cache.served(), 3u);
  EXPECT_EQ(cache.unrecoverable(), 0u);
  EXPECT_TRUE(cache.Lookup(1050).empty());  // Not sent yet.
  EXPECT_EQ(cache.unrecoverable(), 1u);
  EXPECT_EQ(cache.tail_length(), 100u);  // Only evictions grow the tail.
}

TEST(NackCacheTest, EvictsBeyondTheTail) {
  NackCache cache(100, 100);
  StoreRange(cache, 0, 250);
  EXPECT_TRUE(Serves(cache, 150));
  EXPECT_TRUE(Serves(cache, 249));
  EXPECT_TRUE(cache.Lookup(149).empty());
  EXPECT_TRUE(cache.Lookup(10).empty());
  EXPECT_EQ(cache.served(), 2u);
  EXPECT_EQ(cache.unrecoverable(), 2u);
  EXPECT_EQ(cache.tail_length(), 100u);  // Already at max.
}

TEST(NackCacheTest, TailGrowsOnEvictedNacksUpToMaxAndNotBeyond) {
  NackCache cache(100, 400);
  StoreRange(cache, 0, 1000);
  EXPECT_TRUE(cache.Lookup(850).empty());  // Evicted with a tail of 100.
  EXPECT_EQ(cache.tail_length(), 200u);
  // Packets still held survive the growth.
  EXPECT_TRUE(Serves(cache, 950));
  StoreRange(cache, 1000, 1000);
  EXPECT_TRUE(Serves(cache, 1850));  // Kept now that the tail is 200.
  EXPECT_TRUE(cache.Lookup(1700).empty());
  EXPECT_EQ(cache.tail_length(), 400u);
  StoreRange(cache, 2000, 1000);
  EXPECT_TRUE(Serves(cache, 2650));
  EXPECT_TRUE(cache.Lookup(2550).empty());  // Age 449: beyond max, no growth.
  EXPECT_EQ(cache.tail_length(), 400u);
  EXPECT_EQ(cache.max_tail_length(), 400u);
  EXPECT_EQ(cache.unrecoverable(), 3u);
  EXPECT_EQ(cache.served(), 3u);
}

TEST(NackCacheTest, NonDoublingMaxIsReachedExactly) {
  NackCache cache(100, 150);
  StoreRange(cache, 0, 500);
  EXPECT_TRUE(cache.Lookup(370).empty());  // Age 129.
  EXPECT_EQ(cache.tail_length(), 150u);
  // Growth keeps what was held (the last 100); it cannot bring back what was dropped.
  for (uint16_t seq = 400; seq < 500; ++seq) EXPECT_TRUE(Serves(cache, seq)) << seq;
  EXPECT_TRUE(cache.Lookup(399).empty());
  StoreRange(cache, 500, 300);
  for (uint16_t seq = 650; seq < 800; ++seq) EXPECT_TRUE(Serves(cache, seq)) << seq;
  EXPECT_TRUE(cache.Lookup(649).empty());
}

TEST(NackCacheTest, NackOfANeverStoredPacketDoesNotGrow) {
  NackCache cache(10, 100);
  StoreRange(cache, 500, 20);
  EXPECT_TRUE(cache.Lookup(100).empty());  // Before the stream: nothing to keep longer for.
  EXPECT_EQ(cache.tail_length(), 10u);
  EXPECT_EQ(cache.unrecoverable(), 1u);
}

TEST(NackCacheTest, HandlesSequenceWraparound) {
  NackCache cache(64, 64);
  StoreRange(cache, 65500, 80);  // 65500 .. 65535, 0 .. 43.
  EXPECT_TRUE(Serves(cache, 65535));
  EXPECT_TRUE(Serves(cache, 0));
  EXPECT_TRUE(Serves(cache, 43));
  EXPECT_TRUE(Serves(cache, 65516));  // The oldest of the last 64.
  EXPECT_TRUE(cache.Lookup(65515).empty());
  EXPECT_TRUE(cache.Lookup(44).empty());
}

TEST(NackCacheTest, GrowsAcrossAWrap) {
  NackCache cache(16, 64);
  StoreRange(cache, 65530, 40);              // Newest is 33.
  EXPECT_TRUE(cache.Lookup(65534).empty());  // Age 35.
  EXPECT_EQ(cache.tail_length(), 32u);
  EXPECT_TRUE(Serves(cache, 20));
  StoreRange(cache, 65570, 40);
  EXPECT_TRUE(Serves(cache, 65570 + 39 - 31 - 65536));
}

TEST(NackCacheTest, RefusesOversizedAndAncientPackets) {
  NackCache cache(8, 8);
  const auto big = PacketFor(1, NackCache::kMaxPacketSize + 1);
  EXPECT_FALSE(cache.Store(1, big.data(), big.size()));
  const auto max = PacketFor(2, NackCache::kMaxPacketSize);
  EXPECT_TRUE(cache.Store(2, max.data(), max.size()));
  EXPECT_EQ(cache.Lookup(2).size(), NackCache::kMaxPacketSize);
  StoreRange(cache, 3, 20);
  const auto old = PacketFor(5);
  EXPECT_FALSE(cache.Store(5, old.data(), old.size()));  // Would overwrite a newer one.
  EXPECT_TRUE(Serves(cache, 22));
  EXPECT_TRUE(Serves(cache, 15));
}

TEST(NackCacheTest, OutOfOrderStoreWithinTheTail) {
  NackCache cache(16, 16);
  StoreRange(cache, 100, 10);
  StoreRange(cache, 112, 2);
  StoreRange(cache, 110, 2);
  for (uint16_t seq = 100; seq < 114; ++seq) EXPECT_TRUE(Serves(cache, seq)) << seq;
}

TEST(NackCacheTest, EmptyCacheServesNothing) {
  NackCache cache(0, 0);
  EXPECT_EQ(cache.tail_length(), 1u);
  EXPECT_TRUE(cache.Lookup(7).empty());
  EXPECT_EQ(cache.unrecoverable(), 1u);
}

TEST(GenericNackTest, ParsesPidAndBitmask) {
  // PID 1000 with BLP 0x8005 (1001, 1003, 1016), then PID 65535 with BLP 0x0001 (0).
  const uint8_t fci[] = {0x03, 0xe8, 0x80, 0x05, 0xff, 0xff, 0x00, 0x01, 0x12};
  std::array<uint16_t, 40> out{};
  const size_t n = ParseGenericNack(fci, out);
  const std::vector<uint16_t> got(out.begin(), out.begin() + n);
  EXPECT_EQ(got, (std::vector<uint16_t>{1000, 1001, 1003, 1016, 65535, 0}));
}

TEST(GenericNackTest, StopsWhenTheOutputIsFull) {
  const uint8_t fci[] = {0x00, 0x10, 0xff, 0xff};
  std::array<uint16_t, 5> out{};
  EXPECT_EQ(ParseGenericNack(fci, out), 5u);
  EXPECT_EQ(out[4], 0x14);
  std::array<uint16_t, 17> all{};
  EXPECT_EQ(ParseGenericNack(fci, all), 17u);
  EXPECT_EQ(all[16], 0x20);
  EXPECT_EQ(ParseGenericNack({}, all), 0u);
}

}  // namespace
}  // namespace webrtc2sip::media
