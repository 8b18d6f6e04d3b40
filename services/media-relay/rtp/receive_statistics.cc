#include "services/media-relay/rtp/receive_statistics.h"

#include <algorithm>

#include "services/media-relay/rtp/ntp_time.h"

namespace webrtc2sip::media {
namespace {
constexpr uint32_t kSeqMod = 1 << 16;
constexpr uint16_t kMaxDropout = 3000;
constexpr uint16_t kMaxMisorder = 100;
}  // namespace

void ReceiveStatistics::Reset(uint32_t ssrc) {
  *this = ReceiveStatistics();
  ssrc_ = ssrc;
}

void ReceiveStatistics::InitSequence(uint16_t seq) {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = kSeqMod + 1;  // Matches no sequence number.
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
}

void ReceiveStatistics::OnPacket(uint16_t seq, uint32_t rtp_timestamp, uint32_t clock_rate,
                                 int64_t arrival_us) {
  if (received_ == 0) {
    InitSequence(seq);
    first_arrival_us_ = arrival_us;
  } else {
    const auto udelta = static_cast<uint16_t>(seq - max_seq_);
    if (udelta < kMaxDropout) {
      if (seq < max_seq_) cycles_ += kSeqMod;  // In order, with wraparound.
      max_seq_ = seq;
    } else if (udelta <= kSeqMod - kMaxMisorder) {
      // A very large jump: believe it only when the next packet follows it (a restart).
      if (seq != bad_seq_) {
        bad_seq_ = (seq + 1u) & (kSeqMod - 1);
        return;
      }
      InitSequence(seq);
    }
    // Otherwise a duplicate or a reordered packet: counted, sequence state unchanged.
  }
  ++received_;

  // Interarrival jitter, in timestamp units: |D(i-1,i)| smoothed by 1/16 (RFC 3550 A.8).
  const int64_t elapsed_us = arrival_us - first_arrival_us_;
  const auto arrival = static_cast<uint32_t>(elapsed_us * clock_rate / kMicrosPerSecond);
  const auto transit = static_cast<int32_t>(arrival - rtp_timestamp);
  if (have_transit_ && clock_rate == clock_rate_) {
    int64_t d = static_cast<int64_t>(transit) - transit_;
    if (d < 0) d = -d;
    jitter_q4_ += static_cast<uint32_t>(d) - ((jitter_q4_ + 8) >> 4);
  }
  transit_ = transit;
  have_transit_ = true;
  clock_rate_ = clock_rate;
}

void ReceiveStatistics::OnSenderReport(uint64_t ntp_time, int64_t arrival_us) {
  last_sr_ = CompactNtp(ntp_time);
  last_sr_arrival_us_ = arrival_us;
}

int64_t ReceiveStatistics::expected() const {
  if (received_ == 0) return 0;
  return static_cast<int64_t>(extended_highest_seq()) - base_seq_ + 1;
}

ReportBlock ReceiveStatistics::MakeReportBlock(int64_t now_us) const {
  ReportBlock block;
  block.ssrc = ssrc_;
  const int64_t expected_total = expected();
  const int64_t lost = expected_total - static_cast<int64_t>(received_);
  block.cumulative_lost = lost > 0x7fffff    ? 0x7fffff
                          : lost < -0x800000 ? -0x800000
                                             : static_cast<int32_t>(lost);
  const int64_t expected_interval = expected_total - expected_prior_;
  const auto received_interval = static_cast<int64_t>(received_ - received_prior_);
  const int64_t lost_interval = expected_interval - received_interval;
  if (expected_interval > 0 && lost_interval > 0) {
    block.fraction_lost =
        static_cast<uint8_t>(std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
  }
  block.extended_highest_seq = extended_highest_seq();
  block.jitter = jitter();
  if (last_sr_ != 0) {
    block.last_sr = last_sr_;
    block.delay_since_last_sr = CompactNtpDuration(now_us - last_sr_arrival_us_);
  }
  return block;
}

void ReceiveStatistics::StartInterval() {
  expected_prior_ = expected();
  received_prior_ = received_;
}

}  // namespace webrtc2sip::media
