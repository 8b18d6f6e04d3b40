#include "services/media-relay/rtp/rtcp_packet.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "services/media-relay/relay/nack_cache.h"
#include "services/media-relay/rtp/byte_io.h"
#include "services/media-relay/rtp/rtcp_writer.h"
#include "tests/unit/media-relay/test_packets.h"

namespace webrtc2sip::media {
namespace {

using testing::Hex;

std::vector<RtcpBlock> Blocks(std::span<const uint8_t> compound) {
  std::vector<RtcpBlock> blocks;
  RtcpReader reader(compound);
  RtcpBlock block;
  while (reader.Next(&block)) blocks.push_back(block);
  EXPECT_FALSE(reader.error());
  return blocks;
}

// What Chrome sends as a receiver on a video stream, as one compound packet: RR with one
// block, SDES CNAME, then a reduced-size-style tail of feedback (PLI and REMB).
const std::vector<uint8_t> kChromeCompound = Hex(
    // RR, RC=1, length 7: sender 0x11111111, block about 0xaaaaaaaa.
    "81c90007 11111111"
    "aaaaaaaa 05 fffffe 00010400 00000032 12345678 00018000"
    // SDES, SC=1, length 6: CNAME "Dq0lLAfHFw6x3Cs4" (16 bytes), null, pad to 32 bits.
    "81ca0006 11111111 0110 4471306c4c416648 4677367833437334 0000"
    // PSFB PLI: sender 0x11111111, media 0xaaaaaaaa.
    "81ce0002 11111111 aaaaaaaa"
    // PSFB REMB: 1 SSRC, exponent 3, mantissa 125000: 1 Mbps.
    "8fce0005 11111111 00000000 52454d42 010de848 aaaaaaaa");

TEST(RtcpPacketTest, WalksAChromeCompoundPacket) {
  ASSERT_TRUE(IsValidRtcp(kChromeCompound));
  EXPECT_FALSE(IsReducedSizeRtcp(kChromeCompound));
  const auto blocks = Blocks(kChromeCompound);
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(KindOf(blocks[0]), RtcpKind::kReceiverReport);
  EXPECT_EQ(KindOf(blocks[1]), RtcpKind::kSdes);
  EXPECT_EQ(KindOf(blocks[2]), RtcpKind::kPli);
  EXPECT_EQ(KindOf(blocks[3]), RtcpKind::kRemb);

  const auto rr = ParseReceiverReport(blocks[0]);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->sender_ssrc, 0x11111111u);
  ASSERT_EQ(rr->blocks.size(), 1u);
  const ReportBlock b = rr->blocks[0];
  EXPECT_EQ(b.ssrc, 0xaaaaaaaau);
  EXPECT_EQ(b.fraction_lost, 5);
  EXPECT_EQ(b.cumulative_lost, -2);  // 24-bit two's complement.
  EXPECT_EQ(b.extended_highest_seq, 0x00010400u);
  EXPECT_EQ(b.jitter, 50u);
  EXPECT_EQ(b.last_sr, 0x12345678u);
  EXPECT_EQ(b.delay_since_last_sr, 0x18000u);  // 1.5 s.

  EXPECT_EQ(FindSdesCname(blocks[1], 0x11111111), "Dq0lLAfHFw6x3Cs4");
  EXPECT_FALSE(FindSdesCname(blocks[1], 0x22222222));

  const auto pli = ParseFeedback(blocks[2]);
  ASSERT_TRUE(pli);
  EXPECT_EQ(pli->sender_ssrc, 0x11111111u);
  EXPECT_EQ(pli->media_ssrc, 0xaaaaaaaau);
  EXPECT_TRUE(pli->fci.empty());

  const auto remb = ParseRemb(*ParseFeedback(blocks[3]));
  ASSERT_TRUE(remb);
  EXPECT_EQ(remb->bitrate_bps, 1'000'000u);
  ASSERT_EQ(remb->ssrc_count(), 1u);
}

TEST(RtcpPacketTest, ReducedSizeFeedbackAlone) {
  const auto pli = Hex("81ce0002 11111111 aaaaaaaa");
  EXPECT_TRUE(IsValidRtcp(pli));
  EXPECT_TRUE(IsReducedSizeRtcp(pli));
  // transport-cc (RTPFB 15) from Chrome: recognised, not parsed.
  const auto twcc = Hex("8fcd0006 11111111 aaaaaaaa 00010003 00000100 20036400 00000000");
  ASSERT_TRUE(IsReducedSizeRtcp(twcc));
  EXPECT_EQ(KindOf(Blocks(twcc)[0]), RtcpKind::kTransportCc);
  const auto nack = Hex("81cd0003 11111111 aaaaaaaa 00640005");
  ASSERT_TRUE(IsReducedSizeRtcp(nack));
  const auto blocks = Blocks(nack);
  EXPECT_EQ(KindOf(blocks[0]), RtcpKind::kGenericNack);
  std::array<uint16_t, 17> seqs;
  EXPECT_EQ(ParseGenericNack(ParseFeedback(blocks[0])->fci, seqs), 3u);
  EXPECT_EQ(seqs[0], 100);
  EXPECT_EQ(seqs[1], 101);
  EXPECT_EQ(seqs[2], 103);
}

TEST(RtcpPacketTest, SenderReportRoundTrip) {
  std::array<uint8_t, 256> buf;
  RtcpWriter writer(buf);
  const SenderInfo info{0xe1234567'89abcdefULL, 123456, 1000, 160000};
  const std::array<ReportBlock, 2> blocks{
      ReportBlock{0xaaaaaaaa, 64, 10, 70000, 12, 0x11112222, 0x8000},
      ReportBlock{0xbbbbbbbb, 0, -3, 5, 0, 0, 0},
  };
  ASSERT_TRUE(writer.AddSenderReport(0x01020304, info, blocks));
  ASSERT_TRUE(writer.AddSdesCname(0x01020304, "node@relay"));
  EXPECT_EQ(writer.size(), 28u + 48u + 24u);  // SDES: 10 bytes of CNAME, 2 nulls.
  const auto parsed = Blocks(writer.data());
  ASSERT_EQ(parsed.size(), 2u);
  const auto sr = ParseSenderReport(parsed[0]);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->sender_ssrc, 0x01020304u);
  EXPECT_EQ(sr->info.ntp_time, info.ntp_time);
  EXPECT_EQ(sr->info.rtp_timestamp, 123456u);
  EXPECT_EQ(sr->info.packet_count, 1000u);
  EXPECT_EQ(sr->info.octet_count, 160000u);
  ASSERT_EQ(sr->blocks.size(), 2u);
  EXPECT_EQ(sr->blocks[0].fraction_lost, 64);
  EXPECT_EQ(sr->blocks[0].cumulative_lost, 10);
  EXPECT_EQ(sr->blocks[0].extended_highest_seq, 70000u);
  EXPECT_EQ(sr->blocks[0].last_sr, 0x11112222u);
  EXPECT_EQ(sr->blocks[1].ssrc, 0xbbbbbbbbu);
  EXPECT_EQ(sr->blocks[1].cumulative_lost, -3);
  EXPECT_EQ(FindSdesCname(parsed[1], 0x01020304), "node@relay");
}

TEST(RtcpPacketTest, ReceiverReportClampsCumulativeLost) {
  std::array<uint8_t, 64> buf;
  RtcpWriter writer(buf);
  const std::array<ReportBlock, 1> blocks{ReportBlock{1, 0, 100'000'000, 0, 0, 0, 0}};
  ASSERT_TRUE(writer.AddReceiverReport(7, blocks));
  const auto rr = ParseReceiverReport(Blocks(writer.data())[0]);
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->sender_ssrc, 7u);
  EXPECT_EQ(rr->blocks[0].cumulative_lost, 0x7fffff);
}

TEST(RtcpPacketTest, SdesWithSeveralChunksAndItems) {
  // Chunk 1: CNAME "a", NAME "bob"; chunk 2: no items; chunk 3: CNAME "xyz".
  const auto sdes =
      Hex("83ca0009"
          "00000001 0101 61 0203 626f62 00000000"
          "00000002 00000000"
          "00000003 0103 78797a 000000");
  const auto blocks = Blocks(sdes);
  ASSERT_EQ(blocks.size(), 1u);
  SdesReader reader(blocks[0]);
  SdesItem item;
  std::vector<std::pair<uint32_t, std::string>> items;
  while (reader.Next(&item)) items.emplace_back(item.ssrc, std::string(item.value));
  EXPECT_FALSE(reader.error());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0], std::make_pair(1u, std::string("a")));
  EXPECT_EQ(items[1], std::make_pair(1u, std::string("bob")));
  EXPECT_EQ(items[2], std::make_pair(3u, std::string("xyz")));
  EXPECT_EQ(FindSdesCname(blocks[0], 3), "xyz");

  // An item longer than the packet.
  const auto bad = Hex("81ca0002 00000001 01ff6100");
  SdesReader bad_reader(Blocks(bad)[0]);
  EXPECT_FALSE(bad_reader.Next(&item));
  EXPECT_TRUE(bad_reader.error());
}

TEST(RtcpPacketTest, ByeWithReason) {
  std::array<uint8_t, 64> buf;
  RtcpWriter writer(buf);
  const std::array<uint32_t, 2> ssrcs{0x10, 0x20};
  ASSERT_TRUE(writer.AddBye(ssrcs, "hangup"));
  EXPECT_EQ(writer.size(), 4u + 8u + 8u);
  const auto bye = ParseBye(Blocks(writer.data())[0]);
  ASSERT_TRUE(bye);
  ASSERT_EQ(bye->ssrc_count(), 2u);
  EXPECT_EQ(bye->ssrc(1), 0x20u);
  EXPECT_EQ(bye->reason, "hangup");
  // A reason length past the end.
  EXPECT_FALSE(ParseBye(Blocks(Hex("81cb0002 00000010 09616263"))[0]));
}

TEST(RtcpPacketTest, GenericNackPacksAndParsesBack) {
  std::array<uint8_t, 64> buf;
  RtcpWriter writer(buf);
  const std::array<uint16_t, 7> seqs{100, 101, 105, 116, 117, 65535, 3};
  ASSERT_TRUE(writer.AddGenericNack(1, 2, seqs));
  // Entries: 100 (+101, 105, 116), 117, 65535 (+3 across the wrap).
  EXPECT_EQ(writer.size(), 12u + 3u * 4u);
  const auto blocks = Blocks(writer.data());
  ASSERT_EQ(KindOf(blocks[0]), RtcpKind::kGenericNack);
  const auto fb = ParseFeedback(blocks[0]);
  EXPECT_EQ(fb->media_ssrc, 2u);
  std::array<uint16_t, 64> out;
  const size_t n = ParseGenericNack(fb->fci, out);
  EXPECT_EQ(std::vector<uint16_t>(out.begin(), out.begin() + static_cast<long>(n)),
            std::vector<uint16_t>(seqs.begin(), seqs.end()));
  EXPECT_FALSE(writer.AddGenericNack(1, 2, {}));  // Nothing to ask for.
}

TEST(RtcpPacketTest, PliAndFir) {
  std::array<uint8_t, 64> buf;
  RtcpWriter writer(buf);
  ASSERT_TRUE(writer.AddPli(0x01, 0x02));
  ASSERT_TRUE(writer.AddFir(0x01, 0x03, 7));
  const auto blocks = Blocks(writer.data());
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_TRUE(IsReducedSizeRtcp(writer.data()));
  EXPECT_EQ(KindOf(blocks[0]), RtcpKind::kPli);
  EXPECT_EQ(ParseFeedback(blocks[0])->media_ssrc, 2u);
  ASSERT_EQ(KindOf(blocks[1]), RtcpKind::kFir);
  const auto fir = ParseFeedback(blocks[1]);
  EXPECT_EQ(fir->media_ssrc, 0u);  // RFC 5104: the target is in the FCI.
  ASSERT_EQ(FirEntryCount(*fir), 1u);
  EXPECT_EQ(FirEntryAt(*fir, 0).ssrc, 3u);
  EXPECT_EQ(FirEntryAt(*fir, 0).seq_nr, 7);
}

TEST(RtcpPacketTest, WriterWritesNothingWhenFull) {
  std::array<uint8_t, 20> buf{};
  RtcpWriter writer(buf);
  ASSERT_TRUE(writer.AddPli(1, 2));
  EXPECT_FALSE(writer.AddPli(1, 2));  // 12 + 12 > 20.
  EXPECT_FALSE(writer.AddSdesCname(1, "cname"));
  EXPECT_FALSE(writer.AddSdesCname(1, ""));
  EXPECT_FALSE(writer.AddSdesCname(1, std::string(256, 'x')));
  EXPECT_EQ(writer.size(), 12u);
  EXPECT_TRUE(std::all_of(buf.begin() + 12, buf.end(), [](uint8_t b) { return b == 0; }));
  const std::array<ReportBlock, 32> too_many{};
  std::array<uint8_t, 1024> big;
  RtcpWriter big_writer(big);
  EXPECT_FALSE(big_writer.AddReceiverReport(1, too_many));
}

TEST(RtcpPacketTest, RejectsMalformedCompounds) {
  EXPECT_FALSE(IsValidRtcp({}));
  EXPECT_FALSE(IsValidRtcp(Hex("81c9")));                  // Header cut.
  EXPECT_FALSE(IsValidRtcp(Hex("41c90001 11111111")));     // Version 1.
  EXPECT_FALSE(IsValidRtcp(Hex("81c90007 11111111")));     // Length past the end.
  EXPECT_FALSE(IsValidRtcp(Hex("80c90001 11111111 00")));  // Trailing byte.
  EXPECT_FALSE(IsValidRtcp(Hex("a0c90001 11111100")));     // Padding count 0.
  EXPECT_FALSE(IsValidRtcp(Hex("a0c90001 11111109")));     // Padding past the header.
  EXPECT_TRUE(IsValidRtcp(Hex("a0c90001 11111104")));      // 4 bytes of padding.
  // Well framed, but too short for what its header announces: parse gives nullopt.
  const auto rr = Hex("82c90007 11111111 aaaaaaaa 05fffffe 00010400 00000032 12345678 00018000");
  ASSERT_TRUE(IsValidRtcp(rr));
  EXPECT_FALSE(ParseReceiverReport(Blocks(rr)[0]));
  EXPECT_FALSE(ParseSenderReport(Blocks(Hex("80c80001 11111111"))[0]));
  EXPECT_FALSE(ParseFeedback(Blocks(Hex("81ce0001 11111111"))[0]));
  EXPECT_FALSE(
      ParseRemb(*ParseFeedback(Blocks(Hex("8fce0004 11111111 00000000 52454d42 050de848"))[0])));
}

TEST(RtcpPacketTest, EveryTruncationIsRejectedOrEndsOnAPacketBoundary) {
  std::vector<size_t> boundaries;
  size_t at = 0;
  for (const RtcpBlock& block : Blocks(kChromeCompound)) {
    at += block.packet.size();
    boundaries.push_back(at);
  }
  for (size_t len = 1; len < kChromeCompound.size(); ++len) {
    const std::vector<uint8_t> cut(kChromeCompound.begin(),
                                   kChromeCompound.begin() + static_cast<long>(len));
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), len) != boundaries.end();
    EXPECT_EQ(IsValidRtcp(cut), boundary) << len;
  }
}

TEST(RtcpPacketTest, RandomBytesNeverCrash) {
  std::mt19937 rng(11);
  std::vector<uint8_t> bytes(96);
  std::array<uint16_t, 64> seqs;
  for (int round = 0; round < 20000; ++round) {
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x3f));
    bytes[1] = static_cast<uint8_t>(200 + rng() % 8);
    bytes[2] = 0;
    bytes[3] = static_cast<uint8_t>(rng() % 24);
    const size_t len = rng() % bytes.size();
    std::vector<uint8_t> packet(bytes.begin(), bytes.begin() + static_cast<long>(len));
    RtcpReader reader(packet);
    RtcpBlock block;
    while (reader.Next(&block)) {
      ParseSenderReport(block);
      ParseReceiverReport(block);
      ParseBye(block);
      SdesReader sdes(block);
      SdesItem item;
      while (sdes.Next(&item)) {
      }
      if (auto fb = ParseFeedback(block)) {
        ParseRemb(*fb);
        ParseGenericNack(fb->fci, seqs);
        for (size_t i = 0; i < FirEntryCount(*fb); ++i) FirEntryAt(*fb, i);
      }
    }
    RewriteRtcpSsrcs(packet, 1, 2);
  }
}

TEST(RtcpPacketTest, RewritesSsrcsForForwarding) {
  auto compound = kChromeCompound;
  std::array<uint8_t, 64> buf;
  RtcpWriter writer(buf);
  ASSERT_TRUE(writer.AddFir(0x11111111, 0xaaaaaaaa, 3));
  compound.insert(compound.end(), writer.data().begin(), writer.data().end());
  ASSERT_TRUE(RewriteRtcpSsrcs(compound, 0x5e5e5e5e, 0x3d3d3d3d));

  const auto blocks = Blocks(compound);
  ASSERT_EQ(blocks.size(), 5u);
  const auto rr = ParseReceiverReport(blocks[0]);
  EXPECT_EQ(rr->sender_ssrc, 0x5e5e5e5eu);
  EXPECT_EQ(rr->blocks[0].ssrc, 0x3d3d3d3du);
  EXPECT_EQ(rr->blocks[0].jitter, 50u);  // The rest untouched.
  EXPECT_EQ(FindSdesCname(blocks[1], 0x5e5e5e5e), "Dq0lLAfHFw6x3Cs4");
  const auto pli = ParseFeedback(blocks[2]);
  EXPECT_EQ(pli->sender_ssrc, 0x5e5e5e5eu);
  EXPECT_EQ(pli->media_ssrc, 0x3d3d3d3du);
  const auto remb = ParseRemb(*ParseFeedback(blocks[3]));
  EXPECT_EQ(byte_io::Read32(remb->raw_ssrcs.data()), 0x3d3d3d3du);
  EXPECT_EQ(remb->bitrate_bps, 1'000'000u);
  const auto fir = ParseFeedback(blocks[4]);
  EXPECT_EQ(fir->sender_ssrc, 0x5e5e5e5eu);
  EXPECT_EQ(fir->media_ssrc, 0u);
  EXPECT_EQ(FirEntryAt(*fir, 0).ssrc, 0x3d3d3d3du);
  EXPECT_EQ(FirEntryAt(*fir, 0).seq_nr, 3);

  auto bad = Hex("81c90007 11111111");
  const auto before = bad;
  EXPECT_FALSE(RewriteRtcpSsrcs(bad, 1, 2));
  EXPECT_EQ(bad, before);
}

}  // namespace
}  // namespace webrtc2sip::media
