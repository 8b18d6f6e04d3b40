#include "services/media-relay/rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/media-relay/test_packets.h"

namespace webrtc2sip::media {
namespace {

using testing::Hex;

std::string Text(std::span<const uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

// Opus from Chrome with the one-byte extensions it negotiates for audio: ssrc-audio-level (1),
// abs-send-time (2), transport-wide-cc (3) and MID (4), then one padding byte.
std::vector<uint8_t> ChromeOpusPacket() {
  return Hex(
      "906f1a2b 0000bb80 12345678"    // V=2 X=1, PT 111, seq 6699, ts 48000, SSRC.
      "bede0003"                      // One-byte form, 3 words.
      "10ff 22123456 310001 4030 00"  // id1 "ff", id2 3 bytes, id3 2 bytes, id4 "0", padding.
      "fcfffe01020304");              // Opus payload.
}

TEST(RtpPacketTest, ReadsFixedHeader) {
  auto bytes = ChromeOpusPacket();
  const auto rtp = RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtp);
  EXPECT_EQ(rtp->payload_type(), 111);
  EXPECT_FALSE(rtp->marker());
  EXPECT_EQ(rtp->sequence_number(), 0x1a2b);
  EXPECT_EQ(rtp->timestamp(), 48000u);
  EXPECT_EQ(rtp->ssrc(), 0x12345678u);
  EXPECT_EQ(rtp->csrc_count(), 0u);
  EXPECT_EQ(rtp->header_length(), 28u);
  EXPECT_EQ(rtp->payload().size(), 7u);
  EXPECT_EQ(rtp->payload()[0], 0xfc);
}

TEST(RtpPacketTest, SettersRewriteInPlaceAndKeepTheRest) {
  auto bytes = ChromeOpusPacket();
  const auto original = bytes;
  auto rtp = RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtp);
  rtp->set_payload_type(96);
  rtp->set_marker(true);
  rtp->set_sequence_number(0xfffe);
  rtp->set_timestamp(0xdeadbeef);
  rtp->set_ssrc(0xcafebabe);
  EXPECT_EQ(bytes[1], 0x80 | 96);
  EXPECT_EQ(rtp->payload_type(), 96);
  EXPECT_TRUE(rtp->marker());
  rtp->set_payload_type(0);
  EXPECT_TRUE(rtp->marker());  // The marker bit survives a payload type change.
  EXPECT_EQ(rtp->sequence_number(), 0xfffe);
  EXPECT_EQ(rtp->timestamp(), 0xdeadbeefu);
  EXPECT_EQ(rtp->ssrc(), 0xcafebabeu);
  EXPECT_TRUE(std::equal(bytes.begin() + 0, bytes.begin() + 1, original.begin()));
  EXPECT_TRUE(std::equal(bytes.begin() + 12, bytes.end(), original.begin() + 12));
}

TEST(RtpPacketTest, FindsOneByteExtensionsAndMid) {
  auto bytes = ChromeOpusPacket();
  const auto rtp = RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtp);
  EXPECT_EQ(rtp->extension_profile(), kOneByteExtensionProfile);
  EXPECT_EQ(rtp->FindExtension(1)->size(), 1u);
  EXPECT_EQ((*rtp->FindExtension(2))[2], 0x56);
  EXPECT_EQ(rtp->FindExtension(3)->size(), 2u);
  EXPECT_EQ(rtp->FindMid(4), "0");
  EXPECT_FALSE(rtp->FindExtension(5));
  EXPECT_FALSE(rtp->FindExtension(0));
  EXPECT_FALSE(rtp->FindExtension(15));  // Not an id in the one-byte form.
}

TEST(RtpPacketTest, FindsTwoByteExtensionsIncludingEmptyOnes) {
  // Two-byte form with appbits 0x5: id 7 empty, padding, id 200 "abc", MID (id 9) "video1".
  auto bytes =
      Hex("90600001 00000001 00000002"
          "10050004"
          "0700 00 c803616263 0906766964656f31"
          "aabb");
  const auto rtp = RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtp);
  ASSERT_TRUE(rtp->FindExtension(7));
  EXPECT_TRUE(rtp->FindExtension(7)->empty());
  EXPECT_EQ(Text(*rtp->FindExtension(200)), "abc");
  EXPECT_EQ(rtp->FindMid(9), "video1");
  EXPECT_FALSE(rtp->FindMid(7));  // Empty is no MID.
  EXPECT_FALSE(rtp->FindExtension(8));
  EXPECT_EQ(rtp->payload().size(), 2u);
}

TEST(RtpPacketTest, OtherExtensionProfilesHaveNoElements) {
  auto bytes = Hex("90000001 00000001 00000002 abcd0001 10616263 ff");
  const auto rtp = RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtp);
  EXPECT_EQ(rtp->extension_profile(), 0xabcd);
  EXPECT_EQ(rtp->extension_data().size(), 4u);
  EXPECT_FALSE(rtp->FindExtension(1));
}

TEST(RtpPacketTest, MalformedElementsAreNotFoundAndDoNotOverrun) {
  // id 1 claims 16 bytes in a 4-byte block; the MID after it cannot be reached.
  auto one = Hex("90000001 00000001 00000002 bede0001 1f404130 ff");
  auto rtp = RtpPacket::Parse(one.data(), one.size());
  ASSERT_TRUE(rtp);
  EXPECT_FALSE(rtp->FindExtension(1));
  EXPECT_FALSE(rtp->FindExtension(4));
  // Two-byte element header cut by the end of the block.
  auto two = Hex("90000001 00000001 00000002 10000001 0000 0009");
  rtp = RtpPacket::Parse(two.data(), two.size());
  ASSERT_TRUE(rtp);
  EXPECT_FALSE(rtp->FindExtension(9));
  // id 15 stops parsing in the one-byte form.
  auto stop = Hex("90000001 00000001 00000002 bede0001 f0404130");
  rtp = RtpPacket::Parse(stop.data(), stop.size());
  ASSERT_TRUE(rtp);
  EXPECT_FALSE(rtp->FindExtension(4));
}

TEST(RtpPacketTest, CsrcsAndPadding) {
  // CC=2, P=1: 3 bytes of payload then 4 of padding.
  auto bytes = Hex("a2080005 00000010 00000020 11111111 22222222 aabbcc 00000004");
  const auto rtp = RtpPacket::Parse(bytes.data(), bytes.size());
  ASSERT_TRUE(rtp);
  EXPECT_EQ(rtp->csrc_count(), 2u);
  EXPECT_EQ(rtp->csrc(1), 0x22222222u);
  EXPECT_EQ(rtp->header_length(), 20u);
  EXPECT_EQ(rtp->padding_length(), 4u);
  EXPECT_EQ(rtp->payload().size(), 3u);
  EXPECT_FALSE(rtp->has_extension());
  EXPECT_FALSE(rtp->FindExtension(1));
}

TEST(RtpPacketTest, RejectsBadPackets) {
  auto reject = [](std::vector<uint8_t> bytes) {
    return !RtpPacket::Parse(bytes.data(), bytes.size()).has_value();
  };
  EXPECT_TRUE(reject({}));
  EXPECT_TRUE(reject(Hex("8000000100000001000000")));               // 11 bytes.
  EXPECT_TRUE(reject(Hex("40000001 00000001 00000002 00")));        // Version 1.
  EXPECT_TRUE(reject(Hex("c0000001 00000001 00000002 00")));        // Version 3.
  EXPECT_TRUE(reject(Hex("83000001 00000001 00000002 11111111")));  // 3 CSRCs, room for 1.
  EXPECT_TRUE(reject(Hex("90000001 00000001 00000002 bede")));      // Extension header cut.
  EXPECT_TRUE(reject(Hex("90000001 00000001 00000002 bede0002 10ff0000")));  // 2 words, 1.
  EXPECT_TRUE(reject(Hex("a0000001 00000001 00000002 aa00")));               // Padding count 0.
  EXPECT_TRUE(reject(Hex("a0000001 00000001 00000002 aa05")));   // More than the payload.
  EXPECT_FALSE(reject(Hex("80000001 00000001 00000002")));       // Header only is fine.
  EXPECT_FALSE(reject(Hex("a0000001 00000001 00000002 aa02")));  // Padding of 2 is fine.
}

TEST(RtpPacketTest, EveryTruncationOfAValidPacketIsRejected) {
  // CSRC, one-byte extension and 3 bytes of padding: each length check matters. The bytes are
  // chosen so that no cut ends on a byte that would pass for a padding count.
  const auto full = Hex("b1000001 00000001 00000002 00000003 bede0001 40303100 aa bb0003");
  auto whole = full;
  const auto rtp = RtpPacket::Parse(whole.data(), whole.size());
  ASSERT_TRUE(rtp);
  EXPECT_EQ(rtp->payload().size(), 1u);
  EXPECT_EQ(rtp->FindMid(4), "0");
  for (size_t len = 0; len < full.size(); ++len) {
    // A copy of exactly `len` bytes, so that sanitizers catch any read past the end.
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
    EXPECT_FALSE(RtpPacket::Parse(cut.data(), cut.size())) << len;
  }
}

TEST(RtpPacketTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  int parsed = 0;
  for (int round = 0; round < 20000; ++round) {
    // Exactly `len` bytes on the heap, so that sanitizers catch any read past the end.
    std::vector<uint8_t> bytes(rng() % 64);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    if (!bytes.empty()) bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x3f));  // X, P, CC.
    const size_t len = bytes.size();
    // Mostly RFC 8285 profiles, so that element parsing is exercised.
    const size_t profile_at = 12 + 4 * static_cast<size_t>(len > 0 ? bytes[0] & 0x0f : 0);
    if (len >= profile_at + 2 && round % 4 != 0) {
      bytes[profile_at] = round % 2 == 0 ? 0xbe : 0x10;
      bytes[profile_at + 1] = round % 2 == 0 ? 0xde : 0x00;
    }
    const auto rtp = RtpPacket::Parse(bytes.data(), len);
    if (!rtp) continue;
    ++parsed;
    ASSERT_LE(rtp->header_length() + rtp->padding_length(), len);
    for (int id = 0; id < 256; ++id) {
      if (auto ext = rtp->FindExtension(static_cast<uint8_t>(id))) {
        ASSERT_GE(ext->data(), bytes.data());
        ASSERT_LE(ext->data() + ext->size(), bytes.data() + rtp->header_length());
      }
    }
  }
  EXPECT_GT(parsed, 1000);
}

TEST(DatagramKindTest, ClassifiesByFirstBytes) {
  auto kind = [](std::string_view hex) { return ClassifyDatagram(Hex(hex)); };
  EXPECT_EQ(kind("0001 0000 2112a442"), DatagramKind::kStun);  // Binding request.
  EXPECT_EQ(kind("0101"), DatagramKind::kStun);                // Binding success.
  EXPECT_EQ(kind("03"), DatagramKind::kStun);
  EXPECT_EQ(kind("16fefd"), DatagramKind::kDtls);  // Handshake, DTLS 1.2.
  EXPECT_EQ(kind("14fefd"), DatagramKind::kDtls);  // 20: ChangeCipherSpec.
  EXPECT_EQ(kind("3f"), DatagramKind::kDtls);      // 63.
  EXPECT_EQ(kind("806f"), DatagramKind::kRtp);     // Opus 111.
  EXPECT_EQ(kind("80e0"), DatagramKind::kRtp);     // Marker + PT 96 = 224: RTP.
  EXPECT_EQ(kind("80bf"), DatagramKind::kRtp);     // Marker + PT 63 = 191.
  EXPECT_EQ(kind("80c8"), DatagramKind::kRtcp);    // SR, 200.
  EXPECT_EQ(kind("81cd"), DatagramKind::kRtcp);    // RTPFB, 205.
  EXPECT_EQ(kind("80c0"), DatagramKind::kRtcp);    // 192, first of the RTCP range.
  EXPECT_EQ(kind("80df"), DatagramKind::kRtcp);    // 223, last.
  EXPECT_EQ(kind("bfc9"), DatagramKind::kRtcp);    // 191 is still RTP/RTCP.
  EXPECT_EQ(kind(""), DatagramKind::kOther);
  EXPECT_EQ(kind("80"), DatagramKind::kOther);  // No second byte.
  EXPECT_EQ(kind("04"), DatagramKind::kOther);
  EXPECT_EQ(kind("10"), DatagramKind::kOther);    // ZRTP range.
  EXPECT_EQ(kind("40"), DatagramKind::kOther);    // TURN channel.
  EXPECT_EQ(kind("c0c8"), DatagramKind::kOther);  // 192: version 3.
}

}  // namespace
}  // namespace webrtc2sip::media
