// RFC 4733 key presses the node plays itself: the payloads, and how they go
// out in line with the relayed stream (one SSRC, consecutive numbers).

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "services/media-relay/rtp/dtmf_event.h"
#include "services/media-relay/rtp/outbound_stream.h"
#include "services/media-relay/rtp/rtp_packet.h"

namespace webrtc2sip::media {
namespace {

struct Sent {
  std::array<uint8_t, 4> payload;
  bool marker;
};

std::vector<Sent> Play(DtmfEvent event) {
  std::vector<Sent> out;
  Sent s{};
  while (event.Next(&s.payload, &s.marker)) out.push_back(s);
  return out;
}

TEST(DtmfEvent, AKeyPressGrowsEvery50msThenEndsThreeTimes) {
  auto packets = Play(DtmfEvent(11, 10, 160, 8000));  // '#' for 160 ms at 8 kHz
  ASSERT_EQ(packets.size(), 6u);  // 400, 800, 1200, 1280(end) x3
  const uint16_t expected[] = {400, 800, 1200, 1280, 1280, 1280};
  for (size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(packets[i].payload[0], 11);
    EXPECT_EQ(packets[i].payload[1] & 0x3f, 10);
    EXPECT_EQ(packets[i].payload[1] & 0x80, i >= 3 ? 0x80 : 0) << i;
    EXPECT_EQ((packets[i].payload[2] << 8) | packets[i].payload[3], expected[i]) << i;
    EXPECT_EQ(packets[i].marker, i == 0);
  }
}

TEST(DtmfEvent, DurationIsClampedAndFollowsTheClock) {
  auto shortest = Play(DtmfEvent(1, 0, 1, 8000));  // 40 ms at least
  ASSERT_EQ(shortest.size(), 3u);
  EXPECT_EQ((shortest[0].payload[2] << 8) | shortest[0].payload[3], 320);
  EXPECT_TRUE(shortest[0].marker);
  auto wideband = Play(DtmfEvent(1, 0, 100, 16000));
  EXPECT_EQ((wideband.back().payload[2] << 8) | wideband.back().payload[3], 1600);
  DtmfEvent done(1, 0, 40, 8000);
  Play(done);
}

TEST(OutboundStream, GeneratedPacketsGoInLineWithTheRelayedSource) {
  OutboundStream out(0x11223344);
  std::array<uint8_t, 16> buf{};
  auto packet = [&](uint32_t ssrc, uint16_t seq, uint32_t ts) {
    buf.fill(0);
    buf[0] = 0x80;
    buf[2] = static_cast<uint8_t>(seq >> 8);
    buf[3] = static_cast<uint8_t>(seq);
    for (int i = 0; i < 4; ++i) buf[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i) buf[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
    return *RtpPacket::Parse(buf.data(), buf.size());
  };
  auto a = packet(0xabc, 1000, 5000);
  out.Rewrite(a, 8000, 0);
  const uint16_t first = a.sequence_number();
  auto b = packet(0xabc, 1001, 5160);
  out.Rewrite(b, 8000, 20'000);
  EXPECT_EQ(out.TimestampAt(8000, 40'000), b.timestamp() + 160);
  auto event = packet(0, 0, 0);
  out.Stamp(event, 7777, 8000, 40'000);
  EXPECT_EQ(event.ssrc(), 0x11223344u);
  EXPECT_EQ(event.sequence_number(), static_cast<uint16_t>(first + 2));
  EXPECT_EQ(event.timestamp(), 7777u);
  auto c = packet(0xabc, 1002, 5320);
  out.Rewrite(c, 8000, 40'000);
  EXPECT_EQ(c.sequence_number(), static_cast<uint16_t>(first + 3));  // after the event
  EXPECT_EQ(out.packets(), 4u);
}

TEST(OutboundStream, AnEventBeforeAnyMediaStartsTheStream) {
  OutboundStream out(7);
  std::array<uint8_t, 16> buf{};
  buf[0] = 0x80;
  auto event = *RtpPacket::Parse(buf.data(), buf.size());
  EXPECT_EQ(out.TimestampAt(8000, 1'000'000), 0u);
  out.Stamp(event, 0, 8000, 1'000'000);
  EXPECT_EQ(event.sequence_number(), 0);
  std::array<uint8_t, 16> media{};
  media[0] = 0x80;
  media[3] = 50;  // seq 50 from the source
  media[11] = 9;  // ssrc 9
  auto m = *RtpPacket::Parse(media.data(), media.size());
  out.Rewrite(m, 8000, 1'020'000);
  EXPECT_EQ(m.sequence_number(), 1);  // the source continues after the event
  EXPECT_EQ(m.ssrc(), 7u);
}

}  // namespace
}  // namespace webrtc2sip::media
