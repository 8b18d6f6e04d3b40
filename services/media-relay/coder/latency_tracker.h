#pragma once

// Added latency of a pipeline: the worker records when each input buffer went in (by its
// pipeline timestamp); the streaming thread, when a packet comes out, finds the newest input
// at or before the packet's timestamp (the input that carried its first sample) and returns
// the time since. Lock-free: a ring of the last kEntries inputs; a stale or torn entry only
// skews one sample.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace webrtc2sip::media::coder {

class LatencyTracker {
 public:
  static constexpr size_t kEntries = 256;

  // Worker: input buffer with pipeline time `pts_ns` pushed at `now_us` (monotonic).
  void RecordInput(int64_t pts_ns, int64_t now_us);

  // Streaming thread: the latency of an output packet with pipeline time `pts_ns`, once per
  // distinct output time (the fragments of one video frame count once). Nullopt when already
  // measured or no input matches.
  std::optional<int64_t> MeasureOutput(int64_t pts_ns, int64_t now_us);

 private:
  struct Entry {
    std::atomic<int64_t> pts_ns{-1};
    std::atomic<int64_t> time_us{0};
  };

  Entry entries_[kEntries];
  std::atomic<uint64_t> count_{0};  // Written by the worker only.
  int64_t last_output_pts_ = -1;    // Streaming thread only.
};

}  // namespace webrtc2sip::media::coder
