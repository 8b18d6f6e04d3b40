#pragma once

// One-way latencies in 1 us buckets up to 200 ms (and one bucket above), allocated once, so
// recording a sample on the packet path is an increment.

#include <cstdint>
#include <vector>

namespace webrtc2sip::bench::relay {

class LatencyHistogram {
 public:
  static constexpr uint32_t kMaxMicros = 200'000;

  LatencyHistogram() : buckets_(kMaxMicros + 1, 0) {}

  void Add(int64_t nanos) {
    const int64_t us = nanos < 0 ? 0 : nanos / 1000;
    ++buckets_[us > kMaxMicros ? kMaxMicros : static_cast<uint32_t>(us)];
    ++count_;
  }

  uint64_t count() const { return count_; }

  // The smallest latency (us) at or under which a fraction `q` of the samples lie; 0 when empty.
  // kMaxMicros means "at least that".
  uint32_t Quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (uint32_t us = 0; us <= kMaxMicros; ++us) {
      seen += buckets_[us];
      if (seen >= rank) return us;
    }
    return kMaxMicros;
  }

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
};

}  // namespace webrtc2sip::bench::relay
