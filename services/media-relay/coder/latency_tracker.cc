#include "services/media-relay/coder/latency_tracker.h"

namespace webrtc2sip::media::coder {

void LatencyTracker::RecordInput(int64_t pts_ns, int64_t now_us) {
  const uint64_t n = count_.load(std::memory_order_relaxed);
  Entry& e = entries_[n % kEntries];
  e.pts_ns.store(pts_ns, std::memory_order_relaxed);
  e.time_us.store(now_us, std::memory_order_relaxed);
  count_.store(n + 1, std::memory_order_release);
}

std::optional<int64_t> LatencyTracker::MeasureOutput(int64_t pts_ns, int64_t now_us) {
  if (pts_ns == last_output_pts_) return std::nullopt;
  last_output_pts_ = pts_ns;
  const uint64_t n = count_.load(std::memory_order_acquire);
  const uint64_t oldest = n > kEntries ? n - kEntries : 0;
  // Newest first: inputs come mostly in timestamp order, so the first at or before pts_ns is
  // the one that carried the packet's first sample.
  for (uint64_t i = n; i > oldest; --i) {
    const Entry& e = entries_[(i - 1) % kEntries];
    const int64_t pts = e.pts_ns.load(std::memory_order_relaxed);
    if (pts >= 0 && pts <= pts_ns) {
      const int64_t latency = now_us - e.time_us.load(std::memory_order_relaxed);
      if (latency < 0) return std::nullopt;
      return latency;
    }
  }
  return std::nullopt;
}

}  // namespace webrtc2sip::media::coder
