#include "services/media-relay/relay/nack_cache.h"

#include <algorithm>
#include <cstring>

namespace webrtc2sip::media {
namespace {
// Extended numbers start one cycle up so that packets just before the first stay positive.
constexpr int64_t kFirstCycle = 1 << 16;
}  // namespace

NackCache::NackCache(size_t min_tail, size_t max_tail)
    : tail_(std::max<size_t>(min_tail, 1)), max_tail_(std::max(max_tail, tail_)) {
  slots_.resize(tail_);
  storage_.resize(tail_ * kMaxPacketSize);
}

int64_t NackCache::Unwrap(uint16_t seq) const {
  // The nearest extended number to the newest packet with these 16 low bits.
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(seq - highest_));
  return highest_ + delta;
}

bool NackCache::Store(uint16_t seq, const uint8_t* data, size_t len) {
  if (len > kMaxPacketSize) return false;
  int64_t ext;
  if (empty_) {
    ext = kFirstCycle + seq;
    empty_ = false;
    first_ = highest_ = ext;
  } else {
    ext = Unwrap(seq);
    if (ext <= highest_ - static_cast<int64_t>(tail_)) return false;
    highest_ = std::max(highest_, ext);
    first_ = std::min(first_, ext);
  }
  const size_t index = static_cast<size_t>(ext) % tail_;
  slots_[index] = {ext, len};
  if (len > 0) std::memcpy(&storage_[index * kMaxPacketSize], data, len);
  return true;
}

std::span<const uint8_t> NackCache::Lookup(uint16_t seq) {
  if (empty_) {
    ++unrecoverable_;
    return {};
  }
  const int64_t ext = Unwrap(seq);
  const int64_t age = highest_ - ext;
  const size_t index = static_cast<size_t>(ext) % tail_;
  if (age >= 0 && age < static_cast<int64_t>(tail_) && slots_[index].ext_seq == ext) {
    ++served_;
    return {&storage_[index * kMaxPacketSize], slots_[index].len};
  }
  ++unrecoverable_;
  // Sent, then evicted, and a longer tail would have kept it: grow.
  if (ext >= first_ && age >= static_cast<int64_t>(tail_) &&
      age < static_cast<int64_t>(max_tail_) && tail_ < max_tail_) {
    Resize(std::min(tail_ * 2, max_tail_));
  }
  return {};
}

void NackCache::Resize(size_t tail) {
  std::vector<Slot> slots(tail);
  std::vector<uint8_t> storage(tail * kMaxPacketSize);
  // Packets within the old tail are within the new one, and distinct modulo its length.
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (slot.ext_seq < 0 || highest_ - slot.ext_seq >= static_cast<int64_t>(tail_)) continue;
    const size_t index = static_cast<size_t>(slot.ext_seq) % tail;
    slots[index] = slot;
    std::memcpy(&storage[index * kMaxPacketSize], &storage_[i * kMaxPacketSize], slot.len);
  }
  slots_ = std::move(slots);
  storage_ = std::move(storage);
  tail_ = tail;
}

size_t ParseGenericNack(std::span<const uint8_t> fci, std::span<uint16_t> out) {
  size_t count = 0;
  for (size_t at = 0; at + 4 <= fci.size(); at += 4) {
    const auto pid = static_cast<uint16_t>(fci[at] << 8 | fci[at + 1]);
    const auto blp = static_cast<uint16_t>(fci[at + 2] << 8 | fci[at + 3]);
    if (count == out.size()) return count;
    out[count++] = pid;
    for (int bit = 0; bit < 16; ++bit) {
      if ((blp & (1u << bit)) == 0) continue;
      if (count == out.size()) return count;
      out[count++] = static_cast<uint16_t>(pid + bit + 1);
    }
  }
  return count;
}

}  // namespace webrtc2sip::media
