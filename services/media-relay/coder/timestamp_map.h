#pragma once

// The transcoder's timebase. The pipeline runs on timestamps taken from the input's RTP
// timestamps: pts = base + (unwrapped(in) - first_in) / in_clock, where base is the pipeline
// time the first packet came at (0 unless a jitter buffer needs arrival times). The payloader
// stamps output packets from pipeline time 0 (timestamp-offset=0), so an input RTP timestamp
// maps to the output RTP timestamp of the same instant:
//   out = pts * out_clock   (mod 2^32)
// That is how a telephone-event packet, which goes around the pipeline, keeps its place in
// the transcoded audio. Belongs to the thread that pushes input.

#include <cstdint>
#include <optional>

namespace webrtc2sip::media::coder {

class TimestampMap {
 public:
  TimestampMap(uint32_t input_clock_rate, uint32_t output_clock_rate)
      : input_clock_(input_clock_rate), output_clock_(output_clock_rate) {}

  // The pipeline time (ns) of an input packet; the first call sets the base to `first_base_ns`
  // (ignored afterwards). Timestamps within 2^31 of the newest one seen unwrap across the
  // 32-bit wrap, forward or backward, so an older (reordered) packet gets a smaller time,
  // possibly before the base, or negative.
  int64_t ToPipelineTime(uint32_t input_timestamp, int64_t first_base_ns = 0);

  // The output RTP timestamp of the instant `input_timestamp` stands for, without changing
  // the map (an event's timestamp does not move the newest seen). Nullopt before the first
  // ToPipelineTime().
  std::optional<uint32_t> ToOutput(uint32_t input_timestamp) const;

  bool started() const { return started_; }

 private:
  int64_t Unwrap(uint32_t timestamp) const;
  int64_t TicksToNs(int64_t ticks) const;

  uint32_t input_clock_;
  uint32_t output_clock_;
  bool started_ = false;
  uint32_t first_ = 0;
  int64_t base_ns_ = 0;
  int64_t newest_ = 0;  // Unwrapped, relative to first_.
};

}  // namespace webrtc2sip::media::coder
