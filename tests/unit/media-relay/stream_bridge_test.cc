#include "services/media-relay/rtp/stream_bridge.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/media-relay/rtp_bridge_test_util.h"

namespace webrtc2sip::media::testing {
namespace {

TEST(StreamBridgeTest, PayloadTypesMapByCodec) {
  StreamBridge bridge(AudioConfig());
  auto forwarded_pt = [&](Side from, uint8_t pt) -> int {
    Packet p = Rtp(from == Side::kA ? kBrowser : kPhone, 1, 0, pt);
    if (bridge.ForwardRtp(from, p.buf(), p.len, kT0) != RtpResult::kForward) return -1;
    return View(p).payload_type();
  };
  EXPECT_EQ(forwarded_pt(Side::kA, 111), 96);   // opus/48000/2, name case-insensitive.
  EXPECT_EQ(forwarded_pt(Side::kA, 0), 0);      // PCMU, channels 0 counts as 1.
  EXPECT_EQ(forwarded_pt(Side::kA, 110), 101);  // telephone-event/48000.
  EXPECT_EQ(forwarded_pt(Side::kA, 126), 100);  // telephone-event/8000.
  EXPECT_EQ(forwarded_pt(Side::kB, 96), 111);
  EXPECT_EQ(forwarded_pt(Side::kB, 101), 110);
  EXPECT_EQ(forwarded_pt(Side::kB, 100), 126);
}

TEST(StreamBridgeTest, UnknownPayloadTypeDroppedAndCounted) {
  StreamBridge bridge(AudioConfig());
  const double metric_before =
      DropMetric("webrtc2sip_media_rtp_dropped_total", "unknown_payload_type");
  for (const uint8_t pt : {63, 50}) {  // red: not on leg B; 50: negotiated nowhere.
    Packet p = Rtp(kBrowser, 1, 0, pt);
    const auto before = p.bytes();
    EXPECT_EQ(bridge.ForwardRtp(Side::kA, p.buf(), p.len, kT0), RtpResult::kUnknownPayloadType);
    EXPECT_EQ(p.bytes(), before);  // Untouched.
  }
  Packet pcma = Rtp(kPhone, 1, 0, 8);
  EXPECT_EQ(bridge.ForwardRtp(Side::kB, pcma.buf(), pcma.len, kT0), RtpResult::kUnknownPayloadType);
  const auto unknown = static_cast<size_t>(RtpResult::kUnknownPayloadType);
  EXPECT_EQ(bridge.stats(Side::kA).rtp_dropped[unknown], 2u);
  EXPECT_EQ(bridge.stats(Side::kB).rtp_dropped[unknown], 1u);
  EXPECT_EQ(bridge.stats(Side::kB).rtp_packets_sent, 0u);
  EXPECT_EQ(DropMetric("webrtc2sip_media_rtp_dropped_total", "unknown_payload_type"),
            metric_before + 3);
  // An unmapped packet from another SSRC (say RTX) is no new source.
  EXPECT_FALSE(bridge.sent(Side::kB).has_source());
}

TEST(StreamBridgeTest, BadPacketsDroppedAndCounted) {
  StreamBridge bridge(AudioConfig());
  RecordingSink sink;
  auto garbage = Hex("80 6f 00");
  EXPECT_EQ(bridge.ForwardRtp(Side::kA, garbage.data(), garbage.size(), kT0),
            RtpResult::kBadPacket);
  EXPECT_EQ(bridge.stats(Side::kA).rtp_dropped[static_cast<size_t>(RtpResult::kBadPacket)], 1u);
  const auto rtcp = Hex("81c90007 11111111");  // Length past the end.
  EXPECT_FALSE(bridge.OnRtcp(Side::kA, rtcp, kT0, sink));
  EXPECT_EQ(bridge.stats(Side::kA).rtcp_dropped[static_cast<size_t>(RtcpDrop::kBadPacket)], 1u);
  EXPECT_TRUE(sink.rtp.empty());
  EXPECT_TRUE(sink.rtcp.empty());
}

TEST(StreamBridgeTest, SsrcRewrittenSeqAndTimestampPassThrough) {
  StreamBridge bridge(AudioConfig());
  for (uint16_t i = 0; i < 5; ++i) {
    Packet a = Rtp(kBrowser, static_cast<uint16_t>(65534 + i), 960u * i, 111);
    ASSERT_EQ(bridge.ForwardRtp(Side::kA, a.buf(), a.len, kT0 + 20 * kMs * i), RtpResult::kForward);
    EXPECT_EQ(View(a).ssrc(), kNodeB);
    EXPECT_EQ(View(a).sequence_number(), static_cast<uint16_t>(65534 + i));
    EXPECT_EQ(View(a).timestamp(), 960u * i);

    Packet b = Rtp(kPhone, static_cast<uint16_t>(300 + i), 160u * i, 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, b.buf(), b.len, kT0 + 20 * kMs * i), RtpResult::kForward);
    EXPECT_EQ(View(b).ssrc(), kNodeA);
    EXPECT_EQ(View(b).sequence_number(), 300 + i);
  }
  EXPECT_EQ(bridge.stats(Side::kB).rtp_packets_sent, 5u);
  EXPECT_EQ(bridge.stats(Side::kA).rtp_packets_received, 5u);
}

TEST(StreamBridgeTest, ContinuityAcrossASourceSsrcChange) {
  StreamBridge bridge(AudioConfig());
  constexpr uint32_t kNewPhone = 0x33333333;
  int64_t now = kT0;
  for (uint16_t i = 0; i < 10; ++i, now += 20 * kMs) {
    Packet p = Rtp(kPhone, static_cast<uint16_t>(100 + i), 1000u + 160u * i, 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, now), RtpResult::kForward);
  }
  // Re-INVITE: the phone restarts with a new SSRC, sequence number and timestamp, 200 ms after
  // its last packet.
  now += 180 * kMs;
  Packet first = Rtp(kNewPhone, 40000, 999'999, 0);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, first.buf(), first.len, now), RtpResult::kForward);
  EXPECT_EQ(View(first).ssrc(), kNodeA);
  EXPECT_EQ(View(first).sequence_number(), 110);
  EXPECT_EQ(View(first).timestamp(), 1000u + 160u * 9 + 1600u);  // 200 ms at 8 kHz later.
  Packet second = Rtp(kNewPhone, 40001, 999'999 + 160, 0);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, second.buf(), second.len, now + 20 * kMs),
            RtpResult::kForward);
  EXPECT_EQ(View(second).sequence_number(), 111);
  EXPECT_EQ(View(second).timestamp(), 1000u + 160u * 9 + 1600u + 160u);
  EXPECT_EQ(bridge.received(Side::kB).ssrc(), kNewPhone);
  EXPECT_EQ(bridge.sent(Side::kA).source_ssrc(), kNewPhone);

  // A late packet of the old source does not switch back.
  Packet late = Rtp(kPhone, 110, 1000u + 160u * 10, 0);
  EXPECT_EQ(bridge.ForwardRtp(Side::kB, late.buf(), late.len, now + 30 * kMs),
            RtpResult::kStaleSource);
  EXPECT_EQ(bridge.stats(Side::kB).rtp_dropped[static_cast<size_t>(RtpResult::kStaleSource)], 1u);

  // Seconds later the old SSRC is a source like any other, again continuous.
  Packet back = Rtp(kPhone, 7, 5, 0);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, back.buf(), back.len, now + 2020 * kMs),
            RtpResult::kForward);
  EXPECT_EQ(View(back).sequence_number(), 112);
  EXPECT_EQ(View(back).timestamp(), 1000u + 160u * 9 + 1600u + 160u + 2000u * 8);
}

TEST(StreamBridgeTest, ReconfigureKeepsSsrcsAndContinuity) {
  StreamBridge bridge(AudioConfig());
  int64_t now = kT0;
  for (uint16_t i = 0; i < 5; ++i, now += 20 * kMs) {
    Packet p = Rtp(kPhone, static_cast<uint16_t>(100 + i), 160u * i, 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, now), RtpResult::kForward);
  }
  // re-INVITE: the phone now numbers telephone-event/8000 98, and drops opus.
  BridgeConfig config = AudioConfig();
  config.a.ssrc = 1;  // Ignored: the browser keeps seeing the same source.
  config.b.ssrc = 2;
  config.b.codecs = {Codec(0, "PCMU", 8000), Codec(98, "telephone-event", 8000)};
  bridge.Reconfigure(config);
  EXPECT_EQ(bridge.ssrc(Side::kA), kNodeA);
  EXPECT_EQ(bridge.ssrc(Side::kB), kNodeB);

  Packet dtmf = Rtp(0x44444444, 9000, 77777, 98);  // And a new SSRC with it.
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, dtmf.buf(), dtmf.len, now), RtpResult::kForward);
  EXPECT_EQ(View(dtmf).payload_type(), 126);
  EXPECT_EQ(View(dtmf).ssrc(), kNodeA);
  EXPECT_EQ(View(dtmf).sequence_number(), 105);
  EXPECT_EQ(View(dtmf).timestamp(), 160u * 4 + 160u);
  Packet opus = Rtp(kBrowser, 1, 0, 111);
  EXPECT_EQ(bridge.ForwardRtp(Side::kA, opus.buf(), opus.len, now), RtpResult::kUnknownPayloadType);
  EXPECT_EQ(bridge.stats(Side::kA).rtp_packets_sent, 6u);
}

TEST(StreamBridgeTest, NackAnsweredFromTheCacheOfWhatWasSent) {
  StreamBridge bridge(VideoConfig({}));
  ASSERT_NE(bridge.nack_cache(Side::kA), nullptr);
  EXPECT_EQ(bridge.nack_cache(Side::kA)->tail_length(), 64u);
  EXPECT_EQ(bridge.nack_cache(Side::kB), nullptr);  // The phone negotiated no NACK.
  std::vector<std::vector<uint8_t>> sent;
  for (uint16_t i = 0; i < 30; ++i) {
    Packet p = Rtp(kPhone, static_cast<uint16_t>(1000 + i), 3000u * i, 100, 900);
    ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, kT0 + i * 33 * kMs), RtpResult::kForward);
    sent.push_back(p.bytes());
  }
  RecordingSink sink;
  // 2000 was never sent (lost on the legacy leg): unrecoverable.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Nack(kBrowser, kNodeA, {1005, 1006, 1020, 2000}), kT0, sink));
  ASSERT_EQ(sink.rtp.size(), 3u);
  EXPECT_EQ(sink.rtp[0].to, Side::kA);
  EXPECT_EQ(sink.rtp[0].bytes, sent[5]);  // As sent: node SSRC, browser payload type.
  EXPECT_EQ(sink.rtp[1].bytes, sent[6]);
  EXPECT_EQ(sink.rtp[2].bytes, sent[20]);
  EXPECT_TRUE(sink.rtcp.empty());
  EXPECT_EQ(bridge.stats(Side::kA).retransmitted, 3u);
  EXPECT_EQ(bridge.stats(Side::kA).unrecoverable, 1u);
  EXPECT_EQ(bridge.nack_cache(Side::kA)->unrecoverable(), 1u);

  // A NACK for another stream of the bundle is not ours.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Nack(kBrowser, 0x12345, {1005}), kT0, sink));
  EXPECT_EQ(sink.rtp.size(), 3u);
  // The phone never negotiated NACK: its NACKs are dropped.
  ASSERT_TRUE(bridge.OnRtcp(Side::kB, Nack(kPhone, kNodeB, {1}), kT0, sink));
  EXPECT_EQ(bridge.stats(Side::kB).rtcp_dropped[static_cast<size_t>(RtcpDrop::kNackNotNegotiated)],
            1u);
}

TEST(StreamBridgeTest, PliForwardedToTheLegacyLegOnlyWhenNegotiated) {
  const auto not_negotiated = static_cast<size_t>(RtcpDrop::kKeyframeRequestNotNegotiated);
  {
    StreamBridge bridge(VideoConfig({{"nack", ""}}));  // NACK, but no "nack pli".
    Packet p = Rtp(kPhone, 1, 0, 100);
    bridge.ForwardRtp(Side::kB, p.buf(), p.len, kT0);
    RecordingSink sink;
    ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, kNodeA), kT0, sink));
    EXPECT_TRUE(sink.rtcp.empty());
    EXPECT_EQ(bridge.stats(Side::kA).rtcp_dropped[not_negotiated], 1u);
  }
  StreamBridge bridge(VideoConfig({{"nack", "pli"}}));
  RecordingSink sink;
  // Nothing from the phone yet: no source to ask.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, kNodeA), kT0, sink));
  EXPECT_TRUE(sink.rtcp.empty());
  EXPECT_EQ(bridge.stats(Side::kA).rtcp_dropped[static_cast<size_t>(RtcpDrop::kNoMediaSource)], 1u);

  Packet p = Rtp(kPhone, 1, 0, 100);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, kT0), RtpResult::kForward);
  // A PLI for another SSRC of the bundle (say the audio one) is not for this stream.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, 0x5555), kT0, sink));
  EXPECT_TRUE(sink.rtcp.empty());
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, kNodeA), kT0 + 5 * kMs, sink));
  ASSERT_EQ(sink.rtcp.size(), 1u);
  EXPECT_EQ(sink.rtcp[0].to, Side::kB);
  // Leg B has no reduced-size RTCP: RR + SDES + PLI, all from the node's SSRC on leg B.
  const auto& bytes = sink.rtcp[0].bytes;
  EXPECT_FALSE(IsReducedSizeRtcp(bytes));
  const auto blocks = Blocks(bytes);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(ParseReceiverReport(blocks[0])->sender_ssrc, kNodeB);
  EXPECT_EQ(FindSdesCname(blocks[1], kNodeB), "relay-cname");
  ASSERT_EQ(KindOf(blocks[2]), RtcpKind::kPli);
  EXPECT_EQ(ParseFeedback(blocks[2])->sender_ssrc, kNodeB);
  EXPECT_EQ(ParseFeedback(blocks[2])->media_ssrc, kPhone);
  EXPECT_EQ(bridge.stats(Side::kB).keyframe_requests_sent, 1u);
}

TEST(StreamBridgeTest, PliFromTheLegacyLegReachesTheBrowserRewritten) {
  StreamBridge bridge(VideoConfig({{"nack", "pli"}}));
  Packet p = Rtp(kBrowser, 1, 0, 96);
  ASSERT_EQ(bridge.ForwardRtp(Side::kA, p.buf(), p.len, kT0), RtpResult::kForward);
  // As a phone sends it: RR + SDES + PLI about the node's SSRC on leg B.
  std::vector<uint8_t> compound(256);
  RtcpWriter writer(compound);
  const std::array<ReportBlock, 1> block{ReportBlock{kNodeB, 0, 0, 1, 0, 0, 0}};
  writer.AddReceiverReport(kPhone, block);
  writer.AddSdesCname(kPhone, "phone");
  writer.AddPli(kPhone, kNodeB);
  compound.resize(writer.size());
  RecordingSink sink;
  ASSERT_TRUE(bridge.OnRtcp(Side::kB, compound, kT0, sink));
  ASSERT_EQ(sink.rtcp.size(), 1u);
  EXPECT_EQ(sink.rtcp[0].to, Side::kA);
  // The browser negotiated rtcp-rsize: the PLI alone.
  EXPECT_EQ(sink.rtcp[0].bytes, Pli(kNodeA, kBrowser));
}

TEST(StreamBridgeTest, FirSequenceNumberIncrementsPerNewRequest) {
  StreamBridge bridge(VideoConfig({{"ccm", "fir"}}));  // The phone knows FIR only.
  Packet p = Rtp(kPhone, 1, 0, 100);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, kT0), RtpResult::kForward);
  RecordingSink sink;
  auto last_fir = [&]() -> FirEntry {
    const auto blocks = Blocks(sink.rtcp.back().bytes);
    EXPECT_EQ(KindOf(blocks.back()), RtcpKind::kFir);
    const auto fir = ParseFeedback(blocks.back());
    EXPECT_EQ(fir->sender_ssrc, kNodeB);
    return FirEntryAt(*fir, 0);
  };
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Fir(kBrowser, kNodeA, 0), kT0, sink));
  ASSERT_EQ(sink.rtcp.size(), 1u);
  EXPECT_EQ(last_fir().ssrc, kPhone);
  EXPECT_EQ(last_fir().seq_nr, 1);
  // The browser repeats the same request: not a new one.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Fir(kBrowser, kNodeA, 0), kT0, sink));
  EXPECT_EQ(sink.rtcp.size(), 1u);
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Fir(kBrowser, kNodeA, 1), kT0, sink));
  ASSERT_EQ(sink.rtcp.size(), 2u);
  EXPECT_EQ(last_fir().seq_nr, 2);
  // A FIR for someone else changes nothing.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Fir(kBrowser, 0x5555, 9), kT0, sink));
  EXPECT_EQ(sink.rtcp.size(), 2u);
  // A PLI becomes a FIR for a leg that only has FIR.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, kNodeA), kT0, sink));
  ASSERT_EQ(sink.rtcp.size(), 3u);
  EXPECT_EQ(last_fir().seq_nr, 3);
  EXPECT_EQ(bridge.stats(Side::kB).keyframe_requests_sent, 3u);
}

TEST(StreamBridgeTest, RembAndTransportCcFromTheBrowserAreConsumed) {
  StreamBridge bridge(VideoConfig({{"nack", "pli"}, {"ccm", "fir"}}));
  const auto compound =
      Hex("81c90007 11111111 a0a0a0a0 00000000 00000001 00000000 00000000 00000000"
          "8fce0005 11111111 00000000 52454d42 010de848 a0a0a0a0"
          "8fcd0006 11111111 a0a0a0a0 00010003 00000100 20036400 00000000");
  RecordingSink sink;
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, compound, kT0, sink));
  EXPECT_TRUE(sink.rtcp.empty());
  EXPECT_TRUE(sink.rtp.empty());
  EXPECT_EQ(bridge.stats(Side::kA).remb_received, 1u);
  EXPECT_EQ(bridge.stats(Side::kA).transport_cc_received, 1u);
}

// The Media Coder's side of a bridge: a sink that serves keyframe requests and takes REMB.
struct CoderSink : RecordingSink {
  bool OnKeyframeRequest(Side from) override {
    keyframe_requests.push_back(from);
    return true;
  }
  void OnRemb(Side from, uint64_t bits_per_second) override { remb.push_back({from, bits_per_second}); }
  std::vector<Side> keyframe_requests;
  std::vector<std::pair<Side, uint64_t>> remb;
};

TEST(StreamBridgeTest, KeyframeRequestsAndRembGoToTheCoderWhenItServesThem) {
  StreamBridge bridge(VideoConfig({{"nack", "pli"}}));
  Packet media = Rtp(kPhone, 1, 0, 100);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, media.buf(), media.len, kT0), RtpResult::kForward);
  CoderSink sink;
  // The browser asks for a keyframe of what the node sends it: the coder makes one, the phone
  // is not asked.
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, kNodeA), kT0, sink));
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Fir(kBrowser, kNodeA, 1), kT0, sink));
  EXPECT_EQ(sink.keyframe_requests, (std::vector<Side>{Side::kA, Side::kA}));
  EXPECT_TRUE(sink.rtcp.empty());
  // REMB exponent 3, mantissa 0x1e848: 1 Mbit/s, for the encoder feeding the browser.
  const auto remb = Hex("8fce0005 11111111 00000000 52454d42 010de848 a0a0a0a0");
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, remb, kT0, sink));
  ASSERT_EQ(sink.remb.size(), 1u);
  EXPECT_EQ(sink.remb[0].first, Side::kA);
  EXPECT_EQ(sink.remb[0].second, 1'000'000u);
  // Without a coder (RecordingSink says no) the request goes to the source as before.
  RecordingSink relay;
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, Pli(kBrowser, kNodeA), kT0, relay));
  ASSERT_EQ(relay.rtcp.size(), 1u);
  EXPECT_EQ(relay.rtcp[0].to, Side::kB);
}

TEST(StreamBridgeTest, TranscodedOutputContinuesWhatWasRelayed) {
  StreamBridge bridge(AudioConfig());
  int64_t now = kT0;
  // Relayed PCMU from the browser first.
  for (uint16_t i = 0; i < 5; ++i, now += 20 * kMs) {
    Packet p = Rtp(kBrowser, static_cast<uint16_t>(500 + i), 8000u + 160u * i, 0);
    ASSERT_EQ(bridge.ForwardRtp(Side::kA, p.buf(), p.len, now), RtpResult::kForward);
  }
  // Then the coder's own source (its SSRC, sequence and timestamps) toward the phone: the phone
  // sees one source going on, 20 ms later.
  constexpr uint32_t kCoder = 0x44444444;
  Packet made = Rtp(kCoder, 9, 123456, 8);
  RtpPacket view = View(made);
  bridge.SendMade(Side::kB, view, 8000, now);
  EXPECT_EQ(view.ssrc(), kNodeB);
  EXPECT_EQ(view.sequence_number(), 505);
  EXPECT_EQ(view.timestamp(), 8000u + 160u * 5);
  EXPECT_EQ(bridge.stats(Side::kB).rtp_packets_sent, 6u);
  // What the coder decodes still counts as received from the browser, for its reports.
  Packet in = Rtp(kBrowser, 505, 8000u + 160u * 5, 111);
  EXPECT_TRUE(bridge.ReceiveForCoder(Side::kA, in.buf(), in.len, 48000, now));
  EXPECT_EQ(bridge.stats(Side::kA).rtp_packets_received, 6u);
  EXPECT_EQ(bridge.received(Side::kA).ssrc(), kBrowser);
  uint8_t junk[4] = {1, 2, 3, 4};
  EXPECT_FALSE(bridge.ReceiveForCoder(Side::kA, junk, sizeof junk, 48000, now));
}

TEST(StreamBridgeTest, BundledCompoundFromTheBrowserOnlyActsOnThisStream) {
  StreamBridge bridge(VideoConfig({{"nack", "pli"}}));
  Packet p = Rtp(kPhone, 500, 0, 100);
  ASSERT_EQ(bridge.ForwardRtp(Side::kB, p.buf(), p.len, kT0), RtpResult::kForward);
  const auto sent = p.bytes();
  // Chrome's RTCP for the whole bundle: RR on both node SSRCs, NACK and PLI for the audio
  // stream's SSRC 0xaudio, then a NACK and a PLI for ours.
  constexpr uint32_t kAudio = 0xaa0d10;
  std::vector<uint8_t> compound(512);
  RtcpWriter writer(compound);
  const std::array<ReportBlock, 2> blocks{ReportBlock{kAudio, 0, 0, 1, 0, 0, 0},
                                          ReportBlock{kNodeA, 0, 0, 500, 0, 0, 0}};
  writer.AddReceiverReport(kBrowser, blocks);
  writer.AddSdesCname(kBrowser, "browser");
  const std::array<uint16_t, 1> seq{500};
  writer.AddGenericNack(kBrowser, kAudio, seq);
  writer.AddPli(kBrowser, kAudio);
  writer.AddGenericNack(kBrowser, kNodeA, seq);
  writer.AddPli(kBrowser, kNodeA);
  compound.resize(writer.size());
  RecordingSink sink;
  ASSERT_TRUE(bridge.OnRtcp(Side::kA, compound, kT0, sink));
  ASSERT_EQ(sink.rtp.size(), 1u);
  EXPECT_EQ(sink.rtp[0].bytes, sent);
  EXPECT_EQ(sink.rtcp.size(), 1u);
}

}  // namespace
}  // namespace webrtc2sip::media::testing
