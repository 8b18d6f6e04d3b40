#include "services/media-relay/rtp/outbound_stream.h"

#include <algorithm>

#include "services/media-relay/rtp/ntp_time.h"

namespace webrtc2sip::media {
namespace {

// Timestamp units of `elapsed_us` at `clock_rate`.
uint32_t Ticks(int64_t elapsed_us, uint32_t clock_rate) {
  if (elapsed_us <= 0) return 0;
  return static_cast<uint32_t>(elapsed_us * clock_rate / kMicrosPerSecond);
}

}  // namespace

bool OutboundStream::IsStale(uint32_t source_ssrc, int64_t now_us) const {
  return switched_ && source_ssrc == previous_source_ssrc_ && source_ssrc != source_ssrc_ &&
         now_us - switched_at_us_ < kStaleSourceUs;
}

bool OutboundStream::Rewrite(RtpPacket& packet, uint32_t clock_rate, int64_t now_us) {
  const uint32_t source = packet.ssrc();
  const uint16_t in_seq = packet.sequence_number();
  const uint32_t in_timestamp = packet.timestamp();
  bool new_source = false;
  if (packets_ == 0) {
    source_ssrc_ = source;
    new_source = true;
  } else if (source != source_ssrc_) {
    // Continue one sequence number and the elapsed time (at least one tick) after the newest
    // packet of the old source.
    previous_source_ssrc_ = source_ssrc_;
    source_ssrc_ = source;
    switched_ = true;
    switched_at_us_ = now_us;
    seq_offset_ = static_cast<uint16_t>(last_seq_ + 1 - in_seq);
    const uint32_t ticks = std::max<uint32_t>(Ticks(now_us - last_sent_us_, clock_rate), 1);
    timestamp_offset_ = last_timestamp_ + ticks - in_timestamp;
    new_source = true;
  }
  const auto out_seq = static_cast<uint16_t>(in_seq + seq_offset_);
  const uint32_t out_timestamp = in_timestamp + timestamp_offset_;
  packet.set_ssrc(ssrc_);
  packet.set_sequence_number(out_seq);
  packet.set_timestamp(out_timestamp);

  // A reordered packet is sent, but the newest one stays the reference.
  if (packets_ == 0 || new_source || static_cast<int16_t>(out_seq - last_seq_) > 0) {
    last_seq_ = out_seq;
    last_timestamp_ = out_timestamp;
    last_clock_rate_ = clock_rate;
    last_sent_us_ = now_us;
  }
  ++packets_;
  payload_octets_ += packet.payload().size();
  return new_source;
}

void OutboundStream::Stamp(RtpPacket& packet, uint32_t timestamp, uint32_t clock_rate,
                           int64_t now_us) {
  const auto seq = static_cast<uint16_t>(packets_ == 0 ? 0 : last_seq_ + 1);
  packet.set_ssrc(ssrc_);
  packet.set_sequence_number(seq);
  packet.set_timestamp(timestamp);
  // The source's next packet takes the number after this one.
  if (packets_ > 0) ++seq_offset_;
  last_seq_ = seq;
  if (packets_ == 0) {
    last_timestamp_ = timestamp;
    last_clock_rate_ = clock_rate;
    last_sent_us_ = now_us;
  }
  ++packets_;
  payload_octets_ += packet.payload().size();
}

uint32_t OutboundStream::TimestampAt(uint32_t clock_rate, int64_t now_us) const {
  if (packets_ == 0) return 0;
  return last_timestamp_ + Ticks(now_us - last_sent_us_, clock_rate);
}

SenderInfo OutboundStream::MakeSenderInfo(int64_t now_us) const {
  SenderInfo info;
  info.ntp_time = NtpFromMicros(now_us);
  info.rtp_timestamp = last_timestamp_ + Ticks(now_us - last_sent_us_, last_clock_rate_);
  info.packet_count = static_cast<uint32_t>(packets_);
  info.octet_count = static_cast<uint32_t>(payload_octets_);
  return info;
}

}  // namespace webrtc2sip::media
