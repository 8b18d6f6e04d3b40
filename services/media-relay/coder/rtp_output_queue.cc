#include "services/media-relay/coder/rtp_output_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <utility>

namespace webrtc2sip::media::coder {

std::unique_ptr<RtpOutputQueue> RtpOutputQueue::Create(size_t capacity) {
  UniqueFd fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) return nullptr;
  return std::unique_ptr<RtpOutputQueue>(
      new RtpOutputQueue(std::move(fd), std::bit_ceil(capacity < 2 ? size_t{2} : capacity)));
}

RtpOutputQueue::RtpOutputQueue(UniqueFd event_fd, size_t capacity)
    : event_fd_(std::move(event_fd)), mask_(capacity - 1), slots_(new Slot[capacity]) {}

bool RtpOutputQueue::Push(std::span<const uint8_t> packet) {
  const size_t head = head_.load(std::memory_order_relaxed);
  // tail_ counts the slot Pop() handed out last as used until the next Pop().
  if (packet.size() > kSlotSize || head - tail_.load(std::memory_order_acquire) > mask_) {
    ++dropped_;
    return false;
  }
  Slot& slot = slots_[head & mask_];
  slot.dropped_before = std::exchange(dropped_, 0);
  slot.size = static_cast<uint16_t>(packet.size());
  std::memcpy(slot.data, packet.data(), packet.size());
  head_.store(head + 1, std::memory_order_release);
  if (!wakeup_pending_.exchange(true, std::memory_order_acq_rel)) {
    const uint64_t one = 1;
    // EAGAIN only when the counter would overflow: the fd is readable anyway.
    [[maybe_unused]] ssize_t written = write(event_fd_.get(), &one, sizeof(one));
  }
  return true;
}

void RtpOutputQueue::ClearWakeup() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = read(event_fd_.get(), &count, sizeof(count));
  // Cleared before the consumer drains: a packet pushed from now on writes the eventfd again.
  wakeup_pending_.store(false, std::memory_order_release);
}

std::span<uint8_t> RtpOutputQueue::Pop() {
  // Release the slot handed out last time.
  tail_.store(popped_, std::memory_order_release);
  if (popped_ == head_.load(std::memory_order_acquire)) return {};
  Slot& slot = slots_[popped_ & mask_];
  ++popped_;
  dropped_before_ = slot.dropped_before;
  return {slot.data, slot.size};
}

}  // namespace webrtc2sip::media::coder
