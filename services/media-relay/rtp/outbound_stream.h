#pragma once

#include <cstdint>

#include "services/media-relay/rtp/rtcp_packet.h"
#include "services/media-relay/rtp/rtp_packet.h"

namespace webrtc2sip::media {

// What the node sends on one leg for one stream: a single SSRC of its own, whatever sources
// feed it (a peer that restarts or is re-INVITEd changes SSRC), so the receiver sees one
// continuous source. Sequence numbers and timestamps pass through with an offset that is 0
// until the source changes, then makes the new source continue where the old one stopped.
// Also counts what was sent, for the sender report. Times: microseconds, NTP timescale.
class OutboundStream {
 public:
  // Packets of the source we switched away from are refused this long: late or reordered
  // packets of the old source must not switch back and break continuity again.
  static constexpr int64_t kStaleSourceUs = 1'000'000;

  explicit OutboundStream(uint32_t ssrc) : ssrc_(ssrc) {}

  // A packet of the source just replaced.
  bool IsStale(uint32_t source_ssrc, int64_t now_us) const;

  // Rewrites SSRC, sequence number and timestamp of a packet about to be sent, and counts it.
  // `clock_rate` is the packet's payload type's. True when it starts a new source.
  bool Rewrite(RtpPacket& packet, uint32_t clock_rate, int64_t now_us);

  // A packet the node makes itself (an RFC 4733 event) goes out in line: the node's SSRC, the
  // next sequence number, `timestamp` as given; the source's packets continue after it.
  void Stamp(RtpPacket& packet, uint32_t timestamp, uint32_t clock_rate, int64_t now_us);
  // The RTP time at `now_us`: the newest packet's timestamp advanced by the time since.
  uint32_t TimestampAt(uint32_t clock_rate, int64_t now_us) const;

  // Sender info for an SR at `now_us`: the RTP timestamp of the newest packet sent, advanced
  // by the time since at its clock rate.
  SenderInfo MakeSenderInfo(int64_t now_us) const;

  uint32_t ssrc() const { return ssrc_; }
  bool has_source() const { return packets_ > 0; }
  uint32_t source_ssrc() const { return source_ssrc_; }
  uint64_t packets() const { return packets_; }
  uint64_t payload_octets() const { return payload_octets_; }

 private:
  const uint32_t ssrc_;
  uint32_t source_ssrc_ = 0;
  uint32_t previous_source_ssrc_ = 0;
  int64_t switched_at_us_ = 0;
  bool switched_ = false;

  uint16_t seq_offset_ = 0;
  uint32_t timestamp_offset_ = 0;

  // The newest packet sent (highest sequence number), after rewriting.
  uint16_t last_seq_ = 0;
  uint32_t last_timestamp_ = 0;
  uint32_t last_clock_rate_ = 0;
  int64_t last_sent_us_ = 0;

  uint64_t packets_ = 0;
  uint64_t payload_octets_ = 0;
};

}  // namespace webrtc2sip::media
