#pragma once

// One direction of one transcoded call: feeds a Transcoder its input clip in real time (one
// frame's packets at each frame time, sequence numbers, timestamps and SSRC its own) and
// takes its output as the relay would, on the worker's GMainContext. Measures what came out
// and the added latency: for each output frame (a distinct RTP timestamp), the time since the
// newest input frame at or before that timestamp was pushed, by the Transcoder's own timestamp
// map (MapTimestamp) -- the definition of webrtc2sip_coder_added_latency_seconds, measured
// here to the microsecond instead of in the metric's buckets. Worker thread only.

#include <glib.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "load/input_clips.h"
#include "load/latency_histogram.h"
#include "services/media-relay/coder/transcoder.h"

namespace webrtc2sip::bench::coder {

struct DirectionCounters {
  uint64_t frames_in = 0;   // Frames pushed (every packet of one frame time).
  uint64_t packets_in = 0;  // Packets the Transcoder queued.
  uint64_t frames_out = 0;  // Output frames: distinct RTP timestamps.
  uint64_t packets_out = 0;
  uint64_t push_drops = 0;    // Push() said anything but kQueued.
  uint64_t output_drops = 0;  // The Transcoder's output queue was full.
  uint64_t failures = 0;      // Pipeline errors.
  uint64_t unmatched = 0;     // Output frames whose input had left the ring: >5 s late.
  uint64_t backlog_max = 0;   // Largest frames_in - frames_out of one stream (snapshots).

  void Add(const DirectionCounters& other);
  DirectionCounters Since(const DirectionCounters& before) const;
};

class StreamDriver : public media::coder::Transcoder::Listener {
 public:
  // `clip` outlives the driver; `latency` (the worker's, for this direction) too.
  StreamDriver(const InputClip& clip, const InputClip& output_clip, const VideoClipSpec& video,
               LatencyHistogram& latency);
  ~StreamDriver() override;

  // Worker thread: builds the Transcoder with `context` as its output context.
  absl::Status Start(GMainContext* context);
  // The first frame is due at `start_us` (monotonic).
  void Go(int64_t start_us);
  int64_t next_due_us() const { return next_due_us_; }
  // Pushes the frame due now (at `now_us`); returns when the next one is due.
  int64_t PushFrame(int64_t now_us);

  void set_measuring(bool on) { measuring_ = on; }
  DirectionCounters Counters() const;
  // The first pipeline error's reason; empty when none.
  const std::string& failure() const { return failure_; }

  void OnTranscodedRtp(std::span<uint8_t> packet) override;
  void OnTranscoderFailed(std::string_view reason) override;

 private:
  struct Sent {
    uint32_t output_timestamp = 0;
    int64_t pushed_us = 0;
  };
  static constexpr size_t kRing = 256;  // Frames: 5 s of audio, 8.5 s of video.

  const InputClip& clip_;
  media::coder::TranscoderConfig config_;
  LatencyHistogram& latency_;
  std::unique_ptr<media::coder::Transcoder> transcoder_;
  bool measuring_ = false;
  int64_t start_us_ = 0;
  int64_t next_due_us_ = 0;
  uint64_t frame_index_ = 0;
  uint16_t sequence_;
  uint32_t timestamp_base_;
  uint32_t ssrc_;
  std::array<Sent, kRing> sent_{};
  bool have_output_ = false;
  uint32_t last_output_timestamp_ = 0;
  DirectionCounters counters_;
  std::string failure_;
};

}  // namespace webrtc2sip::bench::coder
