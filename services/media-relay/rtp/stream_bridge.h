#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "services/media-relay/relay/nack_cache.h"
#include "services/media-relay/rtp/codec_map.h"
#include "services/media-relay/rtp/outbound_stream.h"
#include "services/media-relay/rtp/receive_statistics.h"

namespace webrtc2sip::media {

// The two legs of a session.
enum class Side : uint8_t {
  kA = 0,  // The WebRTC leg: the browser (SRTP, AVPF, rtcp-mux, reduced-size RTCP).
  kB = 1,  // The legacy leg: the SIP endpoint (RTP/AVP or SDES-SRTP, feedback if negotiated).
};
constexpr Side Other(Side side) {
  return side == Side::kA ? Side::kB : Side::kA;
}

struct LegConfig {
  std::vector<CodecSpec> codecs;  // Negotiated on this leg, with its payload types and rtcp-fb.
  uint32_t ssrc = 0;              // The node's own SSRC on this leg, for media and RTCP.
  bool rtcp_rsize = false;        // Reduced-size RTCP: feedback may go without SR/RR + SDES.
};

struct BridgeConfig {
  LegConfig a;
  LegConfig b;
  std::string cname;  // SDES CNAME of the node's sources, 1-255 bytes.
  // Retransmission cache of each leg that negotiated "nack" (media.avpf_tail_length).
  size_t nack_tail_min = 100;
  size_t nack_tail_max = 400;
};

enum class RtpResult : uint8_t {
  kForward,             // Rewritten in place: protect it and send it to the other leg.
  kBadPacket,           // Not a well-formed RTP packet.
  kUnknownPayloadType,  // Its codec is not negotiated on the other leg.
  kStaleSource,         // From the source its leg just replaced (see OutboundStream).
};
inline constexpr size_t kRtpResultCount = 4;
std::string_view RtpResultName(RtpResult result);  // Metric label: "unknown_payload_type".

enum class RtcpDrop : uint8_t {
  kBadPacket,                     // Not a valid RTCP packet: none of it is used.
  kNackNotNegotiated,             // NACK from a leg that never negotiated "nack".
  kKeyframeRequestNotNegotiated,  // PLI/FIR for a leg with neither "nack pli" nor "ccm fir".
  kNoMediaSource,                 // PLI/FIR for a leg that has sent no media yet.
};
inline constexpr size_t kRtcpDropCount = 4;
std::string_view RtcpDropName(RtcpDrop drop);

// Counters of one leg; "received" is from the leg, "sent" is to it.
struct LegStats {
  uint64_t rtp_packets_received = 0;
  uint64_t rtp_bytes_received = 0;
  uint64_t rtp_packets_sent = 0;  // Forwarded from the other leg.
  uint64_t rtp_bytes_sent = 0;
  std::array<uint64_t, kRtpResultCount> rtp_dropped{};  // Of those received, by RtpResult.
  uint64_t rtcp_packets_received = 0;
  std::array<uint64_t, kRtcpDropCount> rtcp_dropped{};
  uint64_t retransmitted = 0;           // Answers to this leg's NACKs.
  uint64_t unrecoverable = 0;           // NACKed by this leg and not in the cache.
  uint64_t keyframe_requests_sent = 0;  // PLI or FIR the node sent to this leg.
  uint64_t remb_received = 0;           // Consumed: the other leg never negotiated it.
  uint64_t transport_cc_received = 0;   // Likewise.
};

// The relay logic of one stream between leg A and leg B, both directions, socket-free:
// payload type mapping by codec, one stable node SSRC per leg, RTCP termination (the node
// reports on each leg what it relays and receives), NACKs answered from a cache of what the
// node sent, keyframe requests passed on only as the other leg negotiated them.
//
// The packet path (ForwardRtp, OnRtcp, BuildReport) never allocates, throws or logs; drops are
// counted here and in webrtc2sip_media_{rtp,rtcp}_dropped_total. Times are microseconds on the
// NTP timescale (ntp_time.h). A bridge belongs to one thread.
class StreamBridge {
 public:
  // Where the packets the node itself sends go; spans are valid during the call only.
  class Sink {
   public:
    virtual ~Sink() = default;
    // A packet sent earlier to leg `to`, asked again by its NACK: plain RTP to protect and send.
    virtual void SendRtp(Side to, std::span<const uint8_t> packet) = 0;
    // RTCP to leg `to`: compound, or reduced-size where the leg negotiated it.
    virtual void SendRtcp(Side to, std::span<const uint8_t> packet) = 0;
    // A keyframe request (PLI or FIR) from leg `from` about what the node sends it. True when
    // the node serves it itself (the Media Coder's encoder that feeds that leg); false passes
    // it on to the other leg's source, as negotiated there.
    virtual bool OnKeyframeRequest(Side /*from*/) { return false; }
    // REMB from leg `from`: the bitrate it can take of what the node sends it.
    virtual void OnRemb(Side /*from*/, uint64_t /*bits_per_second*/) {}
  };

  explicit StreamBridge(const BridgeConfig& config);

  // A new negotiation on either leg (re-INVITE, UpdateLeg): payload types, feedback and CNAME
  // change, while the node's SSRCs (those of `config` are ignored), sequence number and
  // timestamp continuity, statistics and retransmission caches carry on. Keep the bridge
  // rather than making a new one, or the receiver sees the stream jump. Control plane only.
  void Reconfigure(const BridgeConfig& config);

  // A plain (unprotected) RTP packet from leg `from`, rewritten in place for the other leg:
  // payload type, SSRC, sequence number and timestamp. Its length does not change.
  RtpResult ForwardRtp(Side from, uint8_t* packet, size_t len, int64_t now_us);

  // A plain RTCP packet from leg `from`, consumed: SR times are kept for LSR/DLSR, NACKs are
  // answered with sink.SendRtp, PLI/FIR become the node's own to the other leg. Feedback for
  // another SSRC than the node's on that leg is ignored, so with BUNDLE every stream's bridge
  // may be given the whole compound packet. False when it is not valid RTCP (dropped, counted).
  bool OnRtcp(Side from, std::span<const uint8_t> packet, int64_t now_us, Sink& sink);

  // A packet the node makes for leg `to` (an RFC 4733 event), stamped in line with what it
  // relays there (its SSRC, the next sequence number, `timestamp`) and counted as sent.
  void StampGenerated(Side to, RtpPacket& packet, uint32_t timestamp, uint32_t clock_rate,
                      int64_t now_us);
  // Media Coder: an RTP packet of leg `from` that the node decodes instead of relaying, taken
  // into the leg's receive statistics (its reports) and counted. False when it is not RTP.
  bool ReceiveForCoder(Side from, const uint8_t* packet, size_t len, uint32_t clock_rate,
                       int64_t now_us);
  // Media Coder: a packet made for leg `to` (transcoder output, or a telephone event put in
  // line with it), with the payload type of that leg: rewritten to the node's SSRC with
  // sequence and timestamp continuity (a stream that turns from relayed to transcoded does not
  // jump), kept for NACKs and counted as sent.
  void SendMade(Side to, RtpPacket& packet, uint32_t clock_rate, int64_t now_us);
  // Asks the source on leg `source` for a keyframe (PLI or FIR as it negotiated), e.g. for a
  // decoder that starts in the middle of its stream.
  void RequestKeyframeFrom(Side source, int64_t now_us, Sink& sink) {
    RequestKeyframe(Other(source), source, /*fir=*/false, now_us, sink);
  }

  // The RTP time on leg `to` at `now_us`, continuing what the node sent there.
  uint32_t TimestampNow(Side to, uint32_t clock_rate, int64_t now_us) const {
    return leg(to).sending.TimestampAt(clock_rate, now_us);
  }

  // The node's periodic report to leg `to` (every 1-5 s): SR if it ever sent media there, else
  // RR, with a report block on the leg's source, then SDES CNAME. Bytes written, 0 when `out`
  // is too small (80 bytes and the CNAME always do).
  size_t BuildReport(Side to, int64_t now_us, std::span<uint8_t> out);
  // The last report and a BYE, when the stream ends.
  size_t BuildBye(Side to, int64_t now_us, std::span<uint8_t> out);

  const LegStats& stats(Side side) const { return leg(side).stats; }
  uint32_t ssrc(Side side) const { return leg(side).sending.ssrc(); }
  FeedbackSupport feedback(Side side) const { return leg(side).feedback; }
  // What arrived from leg `side`'s current source, and what the node sent to it.
  const ReceiveStatistics& received(Side side) const { return leg(side).received; }
  const OutboundStream& sent(Side side) const { return leg(side).sending; }
  // Null when the leg did not negotiate generic NACK.
  const NackCache* nack_cache(Side side) const { return leg(side).nack_cache.get(); }

 private:
  struct Leg {
    explicit Leg(uint32_t ssrc) : sending(ssrc) {}

    PayloadTypeMap to_other;  // This leg's payload types to the other's.
    FeedbackSupport feedback;
    bool rtcp_rsize = false;
    ReceiveStatistics received;
    OutboundStream sending;
    std::unique_ptr<NackCache> nack_cache;
    uint8_t fir_seq_sent = 0;
    int last_fir_seq_received = -1;  // -1: none yet.
    LegStats stats;
  };

  Leg& leg(Side side) { return legs_[static_cast<size_t>(side)]; }
  const Leg& leg(Side side) const { return legs_[static_cast<size_t>(side)]; }

  static RtpResult Drop(Leg& from, RtpResult result);
  static void DropRtcp(Leg& from, RtcpDrop drop);
  void OnNack(Side from, const Feedback& nack, Sink& sink);
  // Asks leg `to`'s source for a key frame, by FIR or PLI as it negotiated.
  void RequestKeyframe(Side from, Side to, bool fir, int64_t now_us, Sink& sink);

  std::array<Leg, 2> legs_;
  std::string cname_;
  size_t nack_tail_min_;
  size_t nack_tail_max_;
};

}  // namespace webrtc2sip::media
