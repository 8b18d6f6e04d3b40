#pragma once

// Shared by the StreamBridge tests: legs as Chrome and SIP phones negotiate them, RTP and RTCP
// builders, and a sink that records what the bridge sends.

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "common/metrics/registry.h"
#include "services/media-relay/rtp/ntp_time.h"
#include "services/media-relay/rtp/rtcp_packet.h"
#include "services/media-relay/rtp/rtcp_writer.h"
#include "services/media-relay/rtp/rtp_packet.h"
#include "services/media-relay/rtp/stream_bridge.h"
#include "tests/unit/media-relay/test_packets.h"

namespace webrtc2sip::media::testing {

inline constexpr uint32_t kNodeA = 0xa0a0a0a0;  // The node's SSRC toward the browser.
inline constexpr uint32_t kNodeB = 0xb0b0b0b0;  // Toward the SIP endpoint.
inline constexpr uint32_t kBrowser = 0x11111111;
inline constexpr uint32_t kPhone = 0x22222222;
inline constexpr int64_t kMs = 1000;
// A fixed time on the NTP timescale: no real clock in tests.
inline constexpr int64_t kT0 = (kNtpUnixOffsetSeconds + 1'700'000'000) * kMicrosPerSecond;

inline CodecSpec Codec(uint8_t pt, const char* name, uint32_t rate, uint32_t channels = 1,
                       std::vector<RtcpFeedbackSpec> feedback = {}) {
  return {pt, name, rate, channels, std::move(feedback)};
}

// Chrome's audio offer against a SIP phone's answer.
inline BridgeConfig AudioConfig() {
  BridgeConfig config;
  config.a.codecs = {Codec(111, "opus", 48000, 2, {{"transport-cc", ""}}),
                     Codec(63, "red", 48000, 2), Codec(0, "PCMU", 8000),
                     Codec(110, "telephone-event", 48000), Codec(126, "telephone-event", 8000)};
  config.a.ssrc = kNodeA;
  config.a.rtcp_rsize = true;
  config.b.codecs = {Codec(96, "OPUS", 48000, 2), Codec(0, "pcmu", 8000, 0), Codec(8, "PCMA", 8000),
                     Codec(101, "telephone-event", 48000), Codec(100, "telephone-event", 8000)};
  config.b.ssrc = kNodeB;
  config.cname = "relay-cname";
  return config;
}

// Chrome's VP8 with full AVPF against a legacy video phone with `b_feedback`.
inline BridgeConfig VideoConfig(std::vector<RtcpFeedbackSpec> b_feedback) {
  BridgeConfig config;
  config.a.codecs = {Codec(
      96, "VP8", 90000, 1,
      {{"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""}, {"nack", "pli"}})};
  config.a.ssrc = kNodeA;
  config.a.rtcp_rsize = true;
  config.b.codecs = {Codec(100, "vp8", 90000, 1, std::move(b_feedback))};
  config.b.ssrc = kNodeB;
  config.cname = "relay-cname";
  config.nack_tail_min = 64;
  config.nack_tail_max = 256;
  return config;
}

inline Packet Rtp(uint32_t ssrc, uint16_t seq, uint32_t timestamp, uint8_t pt,
                  size_t payload = 160) {
  Packet p = MakeRtp(ssrc, seq, payload, pt);
  RtpPacket::Parse(p.buf(), p.len)->set_timestamp(timestamp);
  return p;
}

inline RtpPacket View(Packet& p) {
  return *RtpPacket::Parse(p.buf(), p.len);
}

struct RecordingSink : StreamBridge::Sink {
  struct Sent {
    Side to;
    std::vector<uint8_t> bytes;
  };
  void SendRtp(Side to, std::span<const uint8_t> packet) override {
    rtp.push_back({to, {packet.begin(), packet.end()}});
  }
  void SendRtcp(Side to, std::span<const uint8_t> packet) override {
    rtcp.push_back({to, {packet.begin(), packet.end()}});
  }
  std::vector<Sent> rtp;
  std::vector<Sent> rtcp;
};

inline std::vector<RtcpBlock> Blocks(std::span<const uint8_t> compound) {
  std::vector<RtcpBlock> blocks;
  RtcpReader reader(compound);
  RtcpBlock block;
  while (reader.Next(&block)) blocks.push_back(block);
  EXPECT_FALSE(reader.error());
  return blocks;
}

inline std::vector<uint8_t> Pli(uint32_t sender, uint32_t media) {
  std::vector<uint8_t> buf(64);
  RtcpWriter writer(buf);
  writer.AddPli(sender, media);
  buf.resize(writer.size());
  return buf;
}

inline std::vector<uint8_t> Fir(uint32_t sender, uint32_t target, uint8_t seq_nr) {
  std::vector<uint8_t> buf(64);
  RtcpWriter writer(buf);
  writer.AddFir(sender, target, seq_nr);
  buf.resize(writer.size());
  return buf;
}

inline std::vector<uint8_t> Nack(uint32_t sender, uint32_t media, std::vector<uint16_t> seqs) {
  std::vector<uint8_t> buf(256);
  RtcpWriter writer(buf);
  writer.AddGenericNack(sender, media, seqs);
  buf.resize(writer.size());
  return buf;
}

inline ReportBlock OnlyReportBlock(std::span<const uint8_t> report) {
  const auto blocks = Blocks(report);
  EXPECT_GE(blocks.size(), 2u);
  if (blocks.empty()) return {};
  if (const auto rr = ParseReceiverReport(blocks[0]); rr && rr->blocks.size() == 1) {
    return rr->blocks[0];
  }
  if (const auto sr = ParseSenderReport(blocks[0]); sr && sr->blocks.size() == 1) {
    return sr->blocks[0];
  }
  ADD_FAILURE() << "no SR/RR with one report block";
  return {};
}

inline double DropMetric(const char* name, const char* reason) {
  return metrics::Registry::Global().AddCounter(name, "", {"reason"}).WithLabels({reason}).Value();
}

}  // namespace webrtc2sip::media::testing
