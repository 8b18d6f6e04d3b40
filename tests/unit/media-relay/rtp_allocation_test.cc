// The relay's packet path must not touch the heap: operator new is counted while RTP and RTCP
// flow through a StreamBridge. A binary of its own, since it replaces operator new.

// The replaced operator new and delete pair malloc with free on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "services/media-relay/rtp/rtcp_writer.h"
#include "services/media-relay/rtp/stream_bridge.h"
#include "tests/unit/media-relay/test_packets.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace webrtc2sip::media {
namespace {

struct CountingSink : StreamBridge::Sink {
  void SendRtp(Side, std::span<const uint8_t> packet) override { bytes += packet.size(); }
  void SendRtcp(Side, std::span<const uint8_t> packet) override { bytes += packet.size(); }
  size_t bytes = 0;
};

TEST(RtpAllocationTest, PacketPathDoesNotAllocate) {
  BridgeConfig config;
  config.a.codecs = {{96, "VP8", 90000, 1, {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}}}};
  config.a.ssrc = 0xa0a0a0a0;
  config.a.rtcp_rsize = true;
  config.b.codecs = {{100, "VP8", 90000, 1, {{"nack", "pli"}}}};
  config.b.ssrc = 0xb0b0b0b0;
  config.cname = "relay";
  StreamBridge bridge(config);

  // Browser feedback, built before counting: a NACK of cached packets, a PLI, a FIR.
  std::array<uint8_t, 128> feedback;
  RtcpWriter writer(feedback);
  const std::array<uint16_t, 3> seqs{990, 991, 995};
  ASSERT_TRUE(writer.AddGenericNack(0x1111, config.a.ssrc, seqs));
  ASSERT_TRUE(writer.AddPli(0x1111, config.a.ssrc));
  ASSERT_TRUE(writer.AddFir(0x1111, config.a.ssrc, 1));
  std::array<uint8_t, 512> report;
  CountingSink sink;

  const long before = g_allocations.load();
  int64_t now = 4'000'000'000'000'000;
  for (uint16_t seq = 0; seq < 1000; ++seq, now += 10'000) {
    auto from_phone = testing::MakeRtp(0x2222, seq, 1000, 100);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, from_phone.buf(), from_phone.len, now),
              RtpResult::kForward);
    auto from_browser = testing::MakeRtp(0x1111, seq, 1000, 96);
    ASSERT_EQ(bridge.ForwardRtp(Side::kA, from_browser.buf(), from_browser.len, now),
              RtpResult::kForward);
  }
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, writer.data(), now, sink));
  ASSERT_GT(bridge.BuildReport(Side::kA, now, report), 0u);
  ASSERT_GT(bridge.BuildReport(Side::kB, now, report), 0u);
  EXPECT_EQ(g_allocations.load() - before, 0);

  EXPECT_EQ(bridge.stats(Side::kA).retransmitted, 3u);
  EXPECT_EQ(bridge.stats(Side::kB).keyframe_requests_sent, 2u);  // PLI, and FIR as a PLI.
  EXPECT_GT(sink.bytes, 3000u);
}

}  // namespace
}  // namespace webrtc2sip::media
