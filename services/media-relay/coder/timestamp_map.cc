#include "services/media-relay/coder/timestamp_map.h"

namespace webrtc2sip::media::coder {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
// Products of a day's nanoseconds and a 90 kHz clock overflow 64 bits.
__extension__ typedef __int128 Int128;

// Floor division (C++ truncates toward zero).
int64_t FloorDiv(Int128 a, int64_t b) {
  Int128 q = a / b;
  if (a % b != 0 && a < 0) --q;
  return static_cast<int64_t>(q);
}

}  // namespace

int64_t TimestampMap::Unwrap(uint32_t timestamp) const {
  // Distance from the newest, as a signed 32-bit step.
  const uint32_t newest_wrapped = first_ + static_cast<uint32_t>(newest_);
  const auto step = static_cast<int32_t>(timestamp - newest_wrapped);
  return newest_ + step;
}

int64_t TimestampMap::TicksToNs(int64_t ticks) const {
  return base_ns_ + FloorDiv(static_cast<Int128>(ticks) * kSecond, input_clock_);
}

int64_t TimestampMap::ToPipelineTime(uint32_t input_timestamp, int64_t first_base_ns) {
  if (!started_) {
    started_ = true;
    first_ = input_timestamp;
    base_ns_ = first_base_ns;
    newest_ = 0;
  }
  const int64_t ticks = Unwrap(input_timestamp);
  if (ticks > newest_) newest_ = ticks;
  return TicksToNs(ticks);
}

std::optional<uint32_t> TimestampMap::ToOutput(uint32_t input_timestamp) const {
  if (!started_) return std::nullopt;
  // As the payloader does: running time * clock rate / 1 s, rounded down.
  const int64_t ns = TicksToNs(Unwrap(input_timestamp));
  return static_cast<uint32_t>(FloorDiv(static_cast<Int128>(ns) * output_clock_, kSecond));
}

}  // namespace webrtc2sip::media::coder
