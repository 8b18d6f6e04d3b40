#pragma once

// Hands RTP packets from a GStreamer streaming thread (one producer) to a worker thread (one
// consumer) without locks: a ring of fixed slots allocated once, and an eventfd that the
// worker's GMainContext watches. The producer writes the eventfd only when the consumer is not
// already due to look, so a burst costs one wakeup.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "services/media-relay/net/unique_fd.h"

namespace webrtc2sip::media::coder {

class RtpOutputQueue {
 public:
  // The payloaders' MTU is lower (1200 by default), but rtph263pay (RFC 2190) cannot always
  // split a GOB to it: H.263 I-frames give packets of up to about 1.9 KB.
  static constexpr size_t kSlotSize = 2048;

  // `capacity` slots (rounded up to a power of two). The eventfd is created here; nullptr when
  // it cannot be.
  static std::unique_ptr<RtpOutputQueue> Create(size_t capacity);

  // Producer: copies the packet into a free slot and wakes the consumer. False (dropped) when
  // the queue is full or the packet longer than a slot; the next packet that gets in carries
  // how many were dropped before it (dropped_before()), so a gap can be left for them.
  bool Push(std::span<const uint8_t> packet);

  // Consumer: call when fd() is readable. Clears the wakeup; then Pop() until empty.
  void ClearWakeup();
  // For a consumer that drains on the producer's own thread right after it pushes: the
  // eventfd is never written (until ClearWakeup()).
  void DisableWakeups() { wakeup_pending_.store(true, std::memory_order_release); }
  // Consumer: the oldest packet, valid (and writable, to rewrite in place) until the next
  // Pop(); empty when there is none.
  std::span<uint8_t> Pop();
  // Consumer: packets the producer dropped just before the one Pop() returned last.
  uint32_t dropped_before() const { return dropped_before_; }

  int fd() const { return event_fd_.get(); }
  size_t capacity() const { return mask_ + 1; }

 private:
  struct Slot {
    uint32_t dropped_before;
    uint16_t size;
    uint8_t data[kSlotSize];
  };

  RtpOutputQueue(UniqueFd event_fd, size_t capacity);

  UniqueFd event_fd_;
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  // Free-running counters; head_ is written by the producer only, tail_ by the consumer only.
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
  size_t popped_ = 0;            // Consumer: a slot handed out by Pop() and not yet released.
  uint32_t dropped_before_ = 0;  // Consumer: of the slot Pop() returned last.
  uint32_t dropped_ = 0;         // Producer: dropped since the last packet that got in.
  alignas(64) std::atomic<bool> wakeup_pending_{false};
};

}  // namespace webrtc2sip::media::coder
