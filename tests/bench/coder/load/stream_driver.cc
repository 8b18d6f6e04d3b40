#include "load/stream_driver.h"

#include <algorithm>
#include <cstring>

#include "services/media-relay/coder/rtp_output_queue.h"

namespace webrtc2sip::bench::coder {

void DirectionCounters::Add(const DirectionCounters& o) {
  frames_in += o.frames_in;
  packets_in += o.packets_in;
  frames_out += o.frames_out;
  packets_out += o.packets_out;
  push_drops += o.push_drops;
  output_drops += o.output_drops;
  failures += o.failures;
  unmatched += o.unmatched;
  backlog_max = std::max(backlog_max, o.backlog_max);
}

DirectionCounters DirectionCounters::Since(const DirectionCounters& b) const {
  DirectionCounters d;
  d.frames_in = frames_in - b.frames_in;
  d.packets_in = packets_in - b.packets_in;
  d.frames_out = frames_out - b.frames_out;
  d.packets_out = packets_out - b.packets_out;
  d.push_drops = push_drops - b.push_drops;
  d.output_drops = output_drops - b.output_drops;
  d.failures = failures - b.failures;
  d.unmatched = unmatched - b.unmatched;
  d.backlog_max = backlog_max;  // As of the later snapshot.
  return d;
}

StreamDriver::StreamDriver(const InputClip& clip, const InputClip& output_clip,
                           const VideoClipSpec& video, LatencyHistogram& latency)
    : clip_(clip),
      latency_(latency),
      sequence_(static_cast<uint16_t>(g_random_int())),
      timestamp_base_(g_random_int()),
      ssrc_(g_random_int()) {
  config_.from = clip.codec;
  config_.to = output_clip.codec;
  config_.input_payload_type = clip.payload_type;
  config_.output_payload_type = output_clip.payload_type;
  config_.width = static_cast<uint32_t>(video.width);
  config_.height = static_cast<uint32_t>(video.height);
}

StreamDriver::~StreamDriver() = default;

absl::Status StreamDriver::Start(GMainContext* context) {
  auto transcoder = media::coder::Transcoder::Create(config_, context, *this);
  if (!transcoder.ok()) return transcoder.status();
  transcoder_ = std::move(*transcoder);
  return absl::OkStatus();
}

void StreamDriver::Go(int64_t start_us) {
  start_us_ = start_us;
  next_due_us_ = start_us;
}

int64_t StreamDriver::PushFrame(int64_t now_us) {
  const ClipFrame& frame = clip_.frames[frame_index_ % clip_.frames.size()];
  const uint32_t timestamp =
      timestamp_base_ + static_cast<uint32_t>(frame_index_ * clip_.frame_ticks);
  uint8_t buffer[media::coder::RtpOutputQueue::kSlotSize];
  for (const Bytes& packet : frame.packets) {
    const size_t size = std::min(packet.size(), sizeof(buffer));
    std::memcpy(buffer, packet.data(), size);
    WriteRtpHeader(buffer, clip_.payload_type, (packet[1] & 0x80) != 0, sequence_++, timestamp,
                   ssrc_);
    if (transcoder_->Push({buffer, size}) == media::coder::PushResult::kQueued) {
      ++counters_.packets_in;
    } else {
      ++counters_.push_drops;
    }
  }
  ++counters_.frames_in;
  if (const auto mapped = transcoder_->MapTimestamp(timestamp)) {
    sent_[frame_index_ % kRing] = {*mapped, now_us};
  }
  ++frame_index_;
  next_due_us_ =
      start_us_ + static_cast<int64_t>(frame_index_ * 1'000'000 / clip_.frames_per_second);
  // A worker that cannot keep up does not catch up on every overdue frame (it would never get
  // out of it): frames more than kMaxLagUs late are skipped, as a saturated relay drops them at
  // its socket buffers, and counted as push drops, so the run does not pass for kept up.
  constexpr int64_t kMaxLagUs = 200'000;
  if (now_us - next_due_us_ > kMaxLagUs) {
    const auto skip = static_cast<uint64_t>((now_us - next_due_us_) * clip_.frames_per_second / 1'000'000);
    frame_index_ += skip;
    counters_.push_drops += skip * clip_.frames[0].packets.size();
    next_due_us_ =
        start_us_ + static_cast<int64_t>(frame_index_ * 1'000'000 / clip_.frames_per_second);
  }
  return next_due_us_;
}

DirectionCounters StreamDriver::Counters() const {
  DirectionCounters c = counters_;
  if (transcoder_) c.output_drops = transcoder_->stats().output_dropped.load();
  c.backlog_max = c.frames_in > c.frames_out ? c.frames_in - c.frames_out : 0;
  return c;
}

void StreamDriver::OnTranscodedRtp(std::span<uint8_t> packet) {
  ++counters_.packets_out;
  if (packet.size() < kRtpHeaderSize) return;
  const uint32_t timestamp = RtpTimestampOf(packet.data());
  if (have_output_ && timestamp == last_output_timestamp_) return;  // The same frame.
  have_output_ = true;
  last_output_timestamp_ = timestamp;
  ++counters_.frames_out;
  if (!measuring_) return;
  // Newest first: the newest input frame whose mapped timestamp is at or before this one.
  const int64_t now = g_get_monotonic_time();
  const uint64_t newest = frame_index_;
  const uint64_t oldest = newest > kRing ? newest - kRing : 0;
  for (uint64_t i = newest; i > oldest; --i) {
    const Sent& s = sent_[(i - 1) % kRing];
    if (static_cast<int32_t>(timestamp - s.output_timestamp) >= 0) {
      latency_.Add(now - s.pushed_us);
      return;
    }
  }
  ++counters_.unmatched;
}

void StreamDriver::OnTranscoderFailed(std::string_view reason) {
  ++counters_.failures;
  if (failure_.empty()) failure_ = std::string(reason);
}

}  // namespace webrtc2sip::bench::coder
