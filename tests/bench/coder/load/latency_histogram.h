#pragma once

// Added latencies in 10 us buckets up to 2 s (and one bucket above), allocated once, so a
// sample is an increment; one per worker and direction, merged at the end.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace webrtc2sip::bench::coder {

class LatencyHistogram {
 public:
  static constexpr int64_t kBucketMicros = 10;
  static constexpr int64_t kMaxMicros = 2'000'000;

  LatencyHistogram() : buckets_(kMaxMicros / kBucketMicros + 1, 0) {}

  void Add(int64_t micros) {
    const int64_t b = (micros < 0 ? 0 : micros) / kBucketMicros;
    ++buckets_[b >= static_cast<int64_t>(buckets_.size()) ? buckets_.size() - 1
                                                          : static_cast<size_t>(b)];
    ++count_;
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
  }

  uint64_t count() const { return count_; }

  // The latency (us, the top of its bucket) at or under which a fraction `q` of the samples
  // lie; 0 when empty; kMaxMicros means "at least that".
  int64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank)
        return std::min<int64_t>((static_cast<int64_t>(i) + 1) * kBucketMicros, kMaxMicros);
    }
    return kMaxMicros;
  }

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
};

}  // namespace webrtc2sip::bench::coder
