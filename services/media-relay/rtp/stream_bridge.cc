#include "services/media-relay/rtp/stream_bridge.h"

#include "common/metrics/registry.h"
#include "services/media-relay/rtp/rtcp_writer.h"
#include "services/media-relay/rtp/rtp_packet.h"

namespace webrtc2sip::media {
namespace {

// Room for any RTCP the node sends: SR with one block, SDES with the longest CNAME, feedback.
constexpr size_t kMaxRtcpSize = 512;

// Process-wide counters, resolved once (label lookups lock and allocate).
struct RelayMetrics {
  std::array<metrics::Counter*, kRtpResultCount> rtp_dropped{};
  std::array<metrics::Counter*, kRtcpDropCount> rtcp_dropped{};
  metrics::Counter* retransmitted = nullptr;
  metrics::Counter* unrecoverable = nullptr;

  static RelayMetrics& Get() {
    static RelayMetrics m;
    return m;
  }

 private:
  RelayMetrics() {
    auto& registry = metrics::Registry::Global();
    auto& rtp =
        registry.AddCounter("webrtc2sip_media_rtp_dropped_total",
                            "RTP packets the relay did not forward, by reason.", {"reason"});
    for (size_t i = 1; i < kRtpResultCount; ++i) {
      rtp_dropped[i] = &rtp.WithLabels({std::string(RtpResultName(static_cast<RtpResult>(i)))});
    }
    auto& rtcp =
        registry.AddCounter("webrtc2sip_media_rtcp_dropped_total",
                            "RTCP packets or feedback messages dropped, by reason.", {"reason"});
    for (size_t i = 0; i < kRtcpDropCount; ++i) {
      rtcp_dropped[i] = &rtcp.WithLabels({std::string(RtcpDropName(static_cast<RtcpDrop>(i)))});
    }
    retransmitted = &registry
                         .AddCounter("webrtc2sip_media_nack_retransmitted_total",
                                     "RTP packets sent again in answer to a NACK.")
                         .WithLabels({});
    unrecoverable = &registry
                         .AddCounter("webrtc2sip_media_nack_unrecoverable_total",
                                     "NACKed RTP packets no longer in the retransmission cache.")
                         .WithLabels({});
  }
};

}  // namespace

std::string_view RtpResultName(RtpResult result) {
  switch (result) {
    case RtpResult::kForward:
      return "forward";
    case RtpResult::kBadPacket:
      return "bad_packet";
    case RtpResult::kUnknownPayloadType:
      return "unknown_payload_type";
    case RtpResult::kStaleSource:
      return "stale_source";
  }
  return "unknown";
}

std::string_view RtcpDropName(RtcpDrop drop) {
  switch (drop) {
    case RtcpDrop::kBadPacket:
      return "bad_packet";
    case RtcpDrop::kNackNotNegotiated:
      return "nack_not_negotiated";
    case RtcpDrop::kKeyframeRequestNotNegotiated:
      return "keyframe_request_not_negotiated";
    case RtcpDrop::kNoMediaSource:
      return "no_media_source";
  }
  return "unknown";
}

StreamBridge::StreamBridge(const BridgeConfig& config)
    : legs_{Leg(config.a.ssrc), Leg(config.b.ssrc)},
      nack_tail_min_(config.nack_tail_min),
      nack_tail_max_(config.nack_tail_max) {
  RelayMetrics::Get();  // Registered here, off the packet path.
  Reconfigure(config);
}

void StreamBridge::Reconfigure(const BridgeConfig& config) {
  cname_ = config.cname;
  for (const Side side : {Side::kA, Side::kB}) {
    const LegConfig& own = side == Side::kA ? config.a : config.b;
    const LegConfig& other = side == Side::kA ? config.b : config.a;
    Leg& l = leg(side);
    l.to_other = PayloadTypeMap(own.codecs, other.codecs);
    l.feedback = FeedbackSupport::Of(own.codecs);
    l.rtcp_rsize = own.rtcp_rsize;
    if (!l.feedback.nack) {
      l.nack_cache.reset();
    } else if (!l.nack_cache) {
      l.nack_cache = std::make_unique<NackCache>(nack_tail_min_, nack_tail_max_);
    }
  }
}

RtpResult StreamBridge::Drop(Leg& from, RtpResult result) {
  ++from.stats.rtp_dropped[static_cast<size_t>(result)];
  RelayMetrics::Get().rtp_dropped[static_cast<size_t>(result)]->Inc();
  return result;
}

void StreamBridge::DropRtcp(Leg& from, RtcpDrop drop) {
  ++from.stats.rtcp_dropped[static_cast<size_t>(drop)];
  RelayMetrics::Get().rtcp_dropped[static_cast<size_t>(drop)]->Inc();
}

RtpResult StreamBridge::ForwardRtp(Side from, uint8_t* packet, size_t len, int64_t now_us) {
  Leg& in = leg(from);
  Leg& out = leg(Other(from));
  ++in.stats.rtp_packets_received;
  in.stats.rtp_bytes_received += len;
  auto rtp = RtpPacket::Parse(packet, len);
  if (!rtp) return Drop(in, RtpResult::kBadPacket);
  // Before the source check: another SSRC with an unmapped payload type (RTX, FEC) must not
  // pass for a new source.
  const auto pt = in.to_other.Map(rtp->payload_type());
  if (!pt) return Drop(in, RtpResult::kUnknownPayloadType);
  if (out.sending.IsStale(rtp->ssrc(), now_us)) return Drop(in, RtpResult::kStaleSource);

  const uint32_t clock_rate = in.to_other.ClockRate(rtp->payload_type());
  if (!in.received.has_packets() || in.received.ssrc() != rtp->ssrc()) {
    in.received.Reset(rtp->ssrc());
  }
  in.received.OnPacket(rtp->sequence_number(), rtp->timestamp(), clock_rate, now_us);

  rtp->set_payload_type(*pt);
  out.sending.Rewrite(*rtp, clock_rate, now_us);
  if (out.nack_cache) out.nack_cache->Store(rtp->sequence_number(), packet, len);
  ++out.stats.rtp_packets_sent;
  out.stats.rtp_bytes_sent += len;
  return RtpResult::kForward;
}

bool StreamBridge::ReceiveForCoder(Side from, const uint8_t* packet, size_t len,
                                   uint32_t clock_rate, int64_t now_us) {
  Leg& in = leg(from);
  ++in.stats.rtp_packets_received;
  in.stats.rtp_bytes_received += len;
  auto rtp = RtpPacket::Parse(const_cast<uint8_t*>(packet), len);
  if (!rtp) {
    Drop(in, RtpResult::kBadPacket);
    return false;
  }
  if (!in.received.has_packets() || in.received.ssrc() != rtp->ssrc()) in.received.Reset(rtp->ssrc());
  in.received.OnPacket(rtp->sequence_number(), rtp->timestamp(), clock_rate, now_us);
  return true;
}

void StreamBridge::SendMade(Side to, RtpPacket& packet, uint32_t clock_rate, int64_t now_us) {
  Leg& out = leg(to);
  out.sending.Rewrite(packet, clock_rate, now_us);
  const size_t len =
      static_cast<size_t>(packet.payload().data() + packet.payload().size() - packet.data());
  if (out.nack_cache) out.nack_cache->Store(packet.sequence_number(), packet.data(), len);
  ++out.stats.rtp_packets_sent;
  out.stats.rtp_bytes_sent += len;
}

void StreamBridge::StampGenerated(Side to, RtpPacket& packet, uint32_t timestamp,
                                  uint32_t clock_rate, int64_t now_us) {
  Leg& out = leg(to);
  out.sending.Stamp(packet, timestamp, clock_rate, now_us);
  if (out.nack_cache) {
    out.nack_cache->Store(packet.sequence_number(), packet.data(),
                          static_cast<size_t>(packet.payload().data() + packet.payload().size() - packet.data()));
  }
  ++out.stats.rtp_packets_sent;
  out.stats.rtp_bytes_sent += packet.payload().size();
}

bool StreamBridge::OnRtcp(Side from, std::span<const uint8_t> packet, int64_t now_us, Sink& sink) {
  Leg& in = leg(from);
  ++in.stats.rtcp_packets_received;
  if (!IsValidRtcp(packet)) {
    DropRtcp(in, RtcpDrop::kBadPacket);
    return false;
  }
  RtcpReader reader(packet);
  RtcpBlock block;
  while (reader.Next(&block)) {
    switch (KindOf(block)) {
      case RtcpKind::kSenderReport: {
        const auto sr = ParseSenderReport(block);
        if (sr && in.received.has_packets() && sr->sender_ssrc == in.received.ssrc()) {
          in.received.OnSenderReport(sr->info.ntp_time, now_us);
        }
        break;
      }
      case RtcpKind::kGenericNack:
        if (const auto fb = ParseFeedback(block); fb && fb->media_ssrc == in.sending.ssrc()) {
          OnNack(from, *fb, sink);
        }
        break;
      case RtcpKind::kPli:
        if (const auto fb = ParseFeedback(block); fb && fb->media_ssrc == in.sending.ssrc()) {
          if (!sink.OnKeyframeRequest(from)) RequestKeyframe(from, Other(from), /*fir=*/false, now_us, sink);
        }
        break;
      case RtcpKind::kFir: {
        const auto fb = ParseFeedback(block);
        if (!fb) break;
        for (size_t i = 0; i < FirEntryCount(*fb); ++i) {
          const FirEntry entry = FirEntryAt(*fb, i);
          if (entry.ssrc != in.sending.ssrc()) continue;
          // The same sequence number again is a repetition of a request already passed on.
          if (entry.seq_nr == in.last_fir_seq_received) continue;
          in.last_fir_seq_received = entry.seq_nr;
          if (!sink.OnKeyframeRequest(from)) RequestKeyframe(from, Other(from), /*fir=*/true, now_us, sink);
        }
        break;
      }
      case RtcpKind::kRemb:
        ++in.stats.remb_received;
        if (const auto fb = ParseFeedback(block)) {
          if (const auto remb = ParseRemb(*fb)) sink.OnRemb(from, remb->bitrate_bps);
        }
        break;
      case RtcpKind::kTransportCc:
        ++in.stats.transport_cc_received;
        break;
      default:
        break;  // RR, SDES, BYE, APP, XR: the node terminates RTCP.
    }
  }
  return true;
}

void StreamBridge::OnNack(Side from, const Feedback& nack, Sink& sink) {
  Leg& in = leg(from);
  if (!in.nack_cache) {
    DropRtcp(in, RtcpDrop::kNackNotNegotiated);
    return;
  }
  RelayMetrics& metrics = RelayMetrics::Get();
  // One FCI entry at a time: at most 17 sequence numbers each.
  std::array<uint16_t, 17> seqs;
  for (size_t at = 0; at + 4 <= nack.fci.size(); at += 4) {
    const size_t count = ParseGenericNack(nack.fci.subspan(at, 4), seqs);
    for (size_t i = 0; i < count; ++i) {
      const auto found = in.nack_cache->Lookup(seqs[i]);
      if (found.empty()) {
        ++in.stats.unrecoverable;
        metrics.unrecoverable->Inc();
        continue;
      }
      ++in.stats.retransmitted;
      metrics.retransmitted->Inc();
      sink.SendRtp(from, found);
    }
  }
}

void StreamBridge::RequestKeyframe(Side from, Side to, bool fir, int64_t now_us, Sink& sink) {
  Leg& target = leg(to);
  // FIR where the leg has only FIR, PLI where it has only PLI: both ask for a key frame.
  const bool use_fir = target.feedback.fir && (fir || !target.feedback.pli);
  if (!use_fir && !target.feedback.pli) {
    DropRtcp(leg(from), RtcpDrop::kKeyframeRequestNotNegotiated);
    return;
  }
  if (!target.received.has_packets()) {
    DropRtcp(leg(from), RtcpDrop::kNoMediaSource);
    return;
  }
  std::array<uint8_t, kMaxRtcpSize> buf;
  // Without reduced-size RTCP, feedback rides in a compound packet after SR/RR and SDES.
  const size_t report = target.rtcp_rsize ? 0 : BuildReport(to, now_us, buf);
  RtcpWriter writer{std::span(buf).subspan(report)};
  const uint32_t media = target.received.ssrc();
  const bool written = use_fir ? writer.AddFir(target.sending.ssrc(), media, ++target.fir_seq_sent)
                               : writer.AddPli(target.sending.ssrc(), media);
  if (!written) return;
  ++target.stats.keyframe_requests_sent;
  sink.SendRtcp(to, std::span(buf).first(report + writer.size()));
}

size_t StreamBridge::BuildReport(Side to, int64_t now_us, std::span<uint8_t> out) {
  Leg& l = leg(to);
  RtcpWriter writer(out);
  std::array<ReportBlock, 1> block;
  const size_t blocks = l.received.has_packets() ? 1 : 0;
  if (blocks > 0) block[0] = l.received.MakeReportBlock(now_us);
  const bool ok = l.sending.has_source()
                      ? writer.AddSenderReport(l.sending.ssrc(), l.sending.MakeSenderInfo(now_us),
                                               std::span(block).first(blocks))
                      : writer.AddReceiverReport(l.sending.ssrc(), std::span(block).first(blocks));
  if (!ok || !writer.AddSdesCname(l.sending.ssrc(), cname_)) return 0;
  if (blocks > 0) l.received.StartInterval();
  return writer.size();
}

size_t StreamBridge::BuildBye(Side to, int64_t now_us, std::span<uint8_t> out) {
  const size_t report = BuildReport(to, now_us, out);
  if (report == 0) return 0;
  RtcpWriter writer(out.subspan(report));
  const uint32_t ssrc = leg(to).sending.ssrc();
  if (!writer.AddBye(std::span(&ssrc, 1))) return 0;
  return report + writer.size();
}

}  // namespace webrtc2sip::media
