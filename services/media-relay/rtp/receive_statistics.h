#pragma once

#include <cstdint>

#include "services/media-relay/rtp/rtcp_packet.h"

namespace webrtc2sip::media {

// Reception statistics of one source (RFC 3550 A.1, A.3, A.8), for the report block the node
// sends back to it, and the last sender report it sent (LSR/DLSR). Times are microseconds on
// the NTP timescale (see ntp_time.h). No probation: the first packet starts the statistics.
class ReceiveStatistics {
 public:
  // Forgets everything; the next packet starts statistics for `ssrc`.
  void Reset(uint32_t ssrc);

  // A packet of the source; `clock_rate` is its payload type's, for jitter.
  void OnPacket(uint16_t seq, uint32_t rtp_timestamp, uint32_t clock_rate, int64_t arrival_us);
  void OnSenderReport(uint64_t ntp_time, int64_t arrival_us);

  // The block for a report sent at `now_us`; fraction lost covers the interval since the last
  // StartInterval().
  ReportBlock MakeReportBlock(int64_t now_us) const;
  // Call when a report with MakeReportBlock() went out.
  void StartInterval();

  bool has_packets() const { return received_ > 0; }
  uint32_t ssrc() const { return ssrc_; }
  uint64_t received() const { return received_; }
  int64_t expected() const;
  uint32_t extended_highest_seq() const { return cycles_ + max_seq_; }
  uint32_t jitter() const { return jitter_q4_ >> 4; }  // RTP timestamp units.

 private:
  void InitSequence(uint16_t seq);

  uint32_t ssrc_ = 0;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;  // Shifted count of wraparounds.
  uint32_t base_seq_ = 0;
  uint32_t bad_seq_ = 0;
  uint64_t received_ = 0;
  int64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;

  int64_t first_arrival_us_ = 0;  // Keeps arrival * clock rate far from overflow.
  uint32_t clock_rate_ = 0;       // Of the last packet; a change restarts transit.
  bool have_transit_ = false;
  int32_t transit_ = 0;
  uint32_t jitter_q4_ = 0;  // Jitter times 16 (RFC 3550 A.8).

  uint32_t last_sr_ = 0;  // Compact NTP time of the last SR, 0 for none.
  int64_t last_sr_arrival_us_ = 0;
};

}  // namespace webrtc2sip::media
