#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace webrtc2sip::media {

// Retransmission cache of one outgoing RTP stream toward the browser (RFC 4585 generic NACK).
// Keeps the last `tail_length()` packets by sequence number in preallocated fixed-size slots:
// Store() and Lookup() copy into or point at those slots and never allocate. The tail starts at
// the configured minimum (media.avpf_tail_length.min) and doubles, up to the maximum, each
// time a NACK asks for a packet that was sent but already evicted; only that growth allocates.
// Belongs to one thread.
class NackCache {
 public:
  static constexpr size_t kMaxPacketSize = 1500;

  // `min_tail` is raised to 1 and `max_tail` to `min_tail` when smaller.
  NackCache(size_t min_tail, size_t max_tail);

  // Keeps a copy of a packet just sent. False (nothing kept) when it is larger than
  // kMaxPacketSize or older than the whole tail.
  bool Store(uint16_t seq, const uint8_t* data, size_t len);

  // The packet a NACK asks for, or an empty span. The span stays valid until the next Store().
  std::span<const uint8_t> Lookup(uint16_t seq);

  size_t tail_length() const { return tail_; }
  size_t max_tail_length() const { return max_tail_; }
  uint64_t served() const { return served_; }
  // NACKed packets we could not send again (evicted, never stored, or not sent yet).
  uint64_t unrecoverable() const { return unrecoverable_; }

 private:
  struct Slot {
    int64_t ext_seq = -1;  // Extended (unwrapped) sequence number; -1 when empty.
    size_t len = 0;
  };

  int64_t Unwrap(uint16_t seq) const;
  void Resize(size_t tail);

  size_t tail_;
  const size_t max_tail_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> storage_;  // tail_ slots of kMaxPacketSize bytes.
  bool empty_ = true;
  int64_t first_ = 0;    // Oldest extended sequence number ever stored.
  int64_t highest_ = 0;  // Newest.
  uint64_t served_ = 0;
  uint64_t unrecoverable_ = 0;
};

// Sequence numbers a generic NACK's FCI entries ask for (RFC 4585 6.2.1): each 4-byte entry is
// a PID and a bitmask of the 16 following packets (BLP, least significant bit = PID + 1).
// Writes at most `out.size()` of them and returns how many; a trailing partial entry is
// ignored.
size_t ParseGenericNack(std::span<const uint8_t> fci, std::span<uint16_t> out);

}  // namespace webrtc2sip::media
