// The reports the node sends on each leg: report blocks on what arrived (loss, jitter,
// LSR/DLSR) and sender info on what it relayed.

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "services/media-relay/rtp/stream_bridge.h"
#include "tests/unit/media-relay/rtp_bridge_test_util.h"

namespace webrtc2sip::media::testing {
namespace {

TEST(StreamBridgeReportTest, ReceiverReportWithKnownLoss) {
  StreamBridge bridge(AudioConfig());
  int64_t now = kT0;
  // 100 packets, every tenth lost on the way.
  for (uint16_t i = 0; i < 100; ++i, now += 20 * kMs) {
    if (i % 10 == 3) continue;
    Packet p = Rtp(kPhone, static_cast<uint16_t>(65500 + i), 160u * i, 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, now), RtpResult::kForward);
  }
  std::array<uint8_t, 512> buf;
  size_t len = bridge.BuildReport(Side::kB, now, buf);
  ASSERT_GT(len, 0u);
  // The node sent nothing to the phone: an RR.
  auto blocks = Blocks(std::span(buf).first(len));
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(ParseReceiverReport(blocks[0])->sender_ssrc, kNodeB);
  EXPECT_EQ(FindSdesCname(blocks[1], kNodeB), "relay-cname");
  ReportBlock block = OnlyReportBlock(std::span(buf).first(len));
  EXPECT_EQ(block.ssrc, kPhone);
  EXPECT_EQ(block.cumulative_lost, 10);
  EXPECT_EQ(block.fraction_lost, 25);                             // 10/100 * 256, rounded down.
  EXPECT_EQ(block.extended_highest_seq, 65536u + 65599 - 65536);  // Wrapped once.
  EXPECT_EQ(block.last_sr, 0u);
  EXPECT_EQ(block.delay_since_last_sr, 0u);

  // Then 50 without loss: the fraction covers the new interval only.
  for (uint16_t i = 100; i < 150; ++i, now += 20 * kMs) {
    Packet p = Rtp(kPhone, static_cast<uint16_t>(65500 + i), 160u * i, 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, now), RtpResult::kForward);
  }
  len = bridge.BuildReport(Side::kB, now, buf);
  block = OnlyReportBlock(std::span(buf).first(len));
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 10);
  EXPECT_EQ(block.extended_highest_seq, 65536u + 113);
}

TEST(StreamBridgeReportTest, JitterFollowsRfc3550) {
  StreamBridge bridge(AudioConfig());
  // PCMU every 20 ms (160 ticks); odd packets arrive 5 ms late: |D| = 40 ticks each time.
  // The integer form of A.8 keeps 16 times the estimate and reports its floor: 18 after ten
  // packets and 39 once settled, within about 1 of the real-valued recurrence.
  double reference = 0;
  for (int i = 0; i < 200; ++i) {
    const int64_t arrival = kT0 + i * 20 * kMs + (i % 2 == 1 ? 5 * kMs : 0);
    Packet p = Rtp(kPhone, static_cast<uint16_t>(i), 160u * static_cast<uint32_t>(i), 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, arrival), RtpResult::kForward);
    if (i > 0) reference += (40 - reference) / 16;
    if (i == 10) {
      EXPECT_EQ(bridge.received(Side::kB).jitter(), 18u);
      EXPECT_NEAR(bridge.received(Side::kB).jitter(), reference, 1.5);
    }
  }
  EXPECT_EQ(bridge.received(Side::kB).jitter(), 39u);
  EXPECT_NEAR(bridge.received(Side::kB).jitter(), reference, 1.5);
  std::array<uint8_t, 512> buf;
  const size_t len = bridge.BuildReport(Side::kB, kT0 + 4 * kMicrosPerSecond, buf);
  EXPECT_EQ(OnlyReportBlock(std::span(buf).first(len)).jitter, bridge.received(Side::kB).jitter());

  // Perfectly regular arrivals: no jitter.
  StreamBridge steady(AudioConfig());
  for (int i = 0; i < 50; ++i) {
    Packet p = Rtp(kBrowser, static_cast<uint16_t>(i), 960u * static_cast<uint32_t>(i), 111);
    ASSERT_EQ(steady.ForwardRtp(Side::kA, p.buf(), p.len, kT0 + i * 20 * kMs), RtpResult::kForward);
  }
  EXPECT_EQ(steady.received(Side::kA).jitter(), 0u);
}

TEST(StreamBridgeReportTest, LsrAndDlsrFromTheLastSenderReport) {
  StreamBridge bridge(AudioConfig());
  Packet p = Rtp(kPhone, 1, 0, 0);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, kT0), RtpResult::kForward);
  const uint64_t sr_ntp = NtpFromMicros(kT0 - 250 * kMs);  // The phone's clock is not ours.
  std::vector<uint8_t> sr(256);
  RtcpWriter writer(sr);
  writer.AddSenderReport(kPhone, {sr_ntp, 160, 1, 160}, {});
  writer.AddSdesCname(kPhone, "phone");
  sr.resize(writer.size());
  RecordingSink sink;
  ASSERT_TRUE(bridge.OnRtcp(Side::kB, sr, kT0 + 10 * kMs, sink));
  // An SR of another source does not count.
  std::vector<uint8_t> other(64);
  RtcpWriter other_writer(other);
  other_writer.AddSenderReport(0x999, {NtpFromMicros(kT0), 0, 0, 0}, {});
  other.resize(other_writer.size());
  ASSERT_TRUE(bridge.OnRtcp(Side::kB, other, kT0 + 20 * kMs, sink));

  std::array<uint8_t, 512> buf;
  const size_t len = bridge.BuildReport(Side::kB, kT0 + 1510 * kMs, buf);
  const ReportBlock block = OnlyReportBlock(std::span(buf).first(len));
  EXPECT_EQ(block.last_sr, CompactNtp(sr_ntp));
  EXPECT_EQ(block.delay_since_last_sr, 98304u);  // 1.5 s in 1/65536 s.
  EXPECT_TRUE(sink.rtcp.empty());
}

TEST(StreamBridgeReportTest, SenderReportDescribesWhatTheNodeRelayed) {
  StreamBridge bridge(AudioConfig());
  int64_t now = kT0;
  for (uint16_t i = 0; i < 50; ++i, now += 20 * kMs) {
    Packet p = Rtp(kPhone, i, 8000u + 160u * i, 0, 160);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, now), RtpResult::kForward);
  }
  const int64_t last_arrival = now - 20 * kMs;
  const int64_t report_time = last_arrival + 100 * kMs;
  std::array<uint8_t, 512> buf;
  const size_t len = bridge.BuildReport(Side::kA, report_time, buf);
  const auto blocks = Blocks(std::span(buf).first(len));
  ASSERT_EQ(blocks.size(), 2u);
  const auto sr = ParseSenderReport(blocks[0]);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->sender_ssrc, kNodeA);
  EXPECT_EQ(sr->info.ntp_time, NtpFromMicros(report_time));
  EXPECT_EQ(sr->info.rtp_timestamp, 8000u + 160u * 49 + 800u);  // 100 ms at 8 kHz after.
  EXPECT_EQ(sr->info.packet_count, 50u);
  EXPECT_EQ(sr->info.octet_count, 50u * 160u);
  EXPECT_EQ(sr->blocks.size(), 0u);  // Nothing came from the browser.
  EXPECT_EQ(FindSdesCname(blocks[1], kNodeA), "relay-cname");
  EXPECT_EQ(bridge.BuildReport(Side::kA, report_time, std::span(buf).first(40)), 0u);

  const size_t bye_len = bridge.BuildBye(Side::kA, report_time, buf);
  const auto bye_blocks = Blocks(std::span(buf).first(bye_len));
  ASSERT_EQ(bye_blocks.size(), 3u);
  EXPECT_EQ(ParseBye(bye_blocks[2])->ssrc(0), kNodeA);
}

}  // namespace
}  // namespace webrtc2sip::media::testing
