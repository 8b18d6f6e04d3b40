#pragma once

// What one event loop counted, merged across loops at the end.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace webrtc2sip::bench {

struct LoadStats {
  uint64_t started = 0;
  uint64_t ok = 0;  // 2xx final (invite: the whole dialog, BYE included)
  uint64_t non2xx = 0;
  uint64_t timeouts = 0;
  uint64_t closed = 0;               // in flight on a connection that closed
  uint64_t bad_answers = 0;          // invite: a 200 whose SDP is not a WebRTC answer
  std::vector<uint32_t> latency_us;  // request sent -> final response
  std::vector<uint32_t> bye_us;      // invite only: BYE sent -> its final response
  std::map<int, uint64_t> codes;     // non-2xx final statuses
  uint64_t late_sends = 0;           // fixed rate: sent > 1 ms after their slot in the schedule
  int64_t max_lag_ns = 0;
  uint32_t opened = 0;
  uint32_t connect_failed = 0;
  uint32_t lost = 0;  // connections closed by the server during the run
  std::string first_error;
  std::string first_failure;  // the first non-2xx response, whole

  void Merge(LoadStats&& o) {
    started += o.started, ok += o.ok, non2xx += o.non2xx, timeouts += o.timeouts;
    closed += o.closed, bad_answers += o.bad_answers;
    latency_us.insert(latency_us.end(), o.latency_us.begin(), o.latency_us.end());
    bye_us.insert(bye_us.end(), o.bye_us.begin(), o.bye_us.end());
    for (auto [code, n] : o.codes) codes[code] += n;
    late_sends += o.late_sends;
    max_lag_ns = std::max(max_lag_ns, o.max_lag_ns);
    opened += o.opened, connect_failed += o.connect_failed, lost += o.lost;
    if (first_error.empty()) first_error = std::move(o.first_error);
    if (first_failure.empty()) first_failure = std::move(o.first_failure);
  }
};

// The q-quantile (0..1) of a sorted sample, in milliseconds; 0 when empty.
inline double QuantileMs(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

}  // namespace webrtc2sip::bench
