#pragma once

// A worker's datagram I/O in batches through io_uring: one io_uring_enter reads up to two
// datagrams from each of up to kReadBatch ready sockets, and one sends up to kBatch datagrams,
// on any of the worker's sockets, instead of one recvmmsg per ready socket and one sendto per
// packet. A relayed packet costs one receive and one send; on a virtual machine where each
// system call costs about a microsecond, batching them raised the relay's packets per core by
// about 40% (docs/performance.md). recvmmsg and sendmmsg cannot batch here: each works on one socket,
// and every session has its own sockets, each with one packet every 20 ms.
//
// Sends: each datagram is copied into a slot (the caller's buffer is a scratch buffer, reused
// at once). The poller flushes at the end of each round of ready sockets, before it pauses,
// and Queue() does at kBatch; a socket flushes before it closes. A flush of a single datagram
// uses sendto, which is cheaper than one submission (by about a microsecond here).
//
// Receives: the poller hands over the ready sockets of a round; each gets two recvmsg, one
// after the other (the kernel does not say whether a UDP socket has more waiting). An RTP
// socket has one datagram at a time, and its second read ends in EAGAIN inside the same
// submission; a socket whose second read got a datagram too is drained at once with
// recvmmsg by its owner.
//
// Every operation is MSG_DONTWAIT, so io_uring completes it inline during the submit: when a
// call returns, every result is in. Only the worker thread that owns the poller uses it.
//
// io_uring may be unavailable: an old kernel, or a seccomp profile that blocks it (container
// runtimes' default profiles may). Create() returns nullptr then, and the poller and
// sockets do their I/O one call at a time, as before.

#include <liburing.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace webrtc2sip::media {

class IoBatcher {
 public:
  // What a flushed datagram's socket hears: the byte count sent, or -errno.
  class Sender {
   public:
    virtual void OnBatchedSendResult(int result) = 0;

   protected:
    virtual ~Sender() = default;
  };

  static constexpr size_t kBatch = 16;
  static constexpr size_t kMaxDatagram = 2048;

  // One datagram read for a socket of a receive batch.
  struct Received {
    int result = 0;  // Bytes of the datagram (more than the buffer: truncated), or -errno.
    const uint8_t* data = nullptr;
    const sockaddr_storage* from = nullptr;
  };
  static constexpr size_t kReadsPerSocket = 2;
  static constexpr size_t kReadBatch = kBatch / kReadsPerSocket;  // Sockets per submission.

  // nullptr when io_uring cannot be set up; `why` then says what failed.
  static std::unique_ptr<IoBatcher> Create(std::string* why = nullptr);
  ~IoBatcher();
  IoBatcher(const IoBatcher&) = delete;
  IoBatcher& operator=(const IoBatcher&) = delete;

  // Queues one datagram from `fd` to `to`. False when it cannot be queued (longer than
  // kMaxDatagram, or batching was given up): the caller sends it itself. Flushes at kBatch.
  bool Queue(Sender& sender, int fd, const uint8_t* data, size_t len, const sockaddr_storage& to,
             socklen_t to_length);
  // Submits what is queued and reports each result to its Sender.
  void Flush();
  // A sender going away: flushes first if anything is queued (its slots point to it).
  void FlushBefore(const Sender&) {
    if (queued_ > 0) Flush();
  }
  size_t queued() const { return queued_; }

  // Reads up to two datagrams of up to `max_datagram` bytes (at most kMaxDatagram) from each
  // of `fds[0..count)` (count <= kReadBatch) in one submission; received(i, 0) and (i, 1) are
  // fds[i]'s, in order, until the next call. False when batching was given up (nothing was
  // read: the caller reads them itself).
  bool ReadEach(const int* fds, size_t count, size_t max_datagram);
  const Received& received(size_t i, size_t which) const {
    return received_[i * kReadsPerSocket + which];
  }

  struct Stats {
    uint64_t flushes = 0;
    uint64_t datagrams = 0;  // Flushed, one way or the other.
    uint64_t submitted = 0;  // Through io_uring (a lone datagram goes by sendto).
    uint64_t read_batches = 0;
    uint64_t reads = 0;
    uint64_t submit_errors = 0;  // io_uring_enter failed: batching was given up.
  };
  const Stats& stats() const { return stats_; }

 private:
  struct SendSlot {
    Sender* sender = nullptr;
    int fd = -1;
    sockaddr_storage to{};
    msghdr header{};
    iovec iov{};
    std::array<uint8_t, kMaxDatagram> data{};
  };
  struct ReceiveSlot {
    sockaddr_storage from{};
    msghdr header{};
    iovec iov{};
    std::array<uint8_t, kMaxDatagram> data{};
  };

  IoBatcher() = default;
  // Submits `count` prepared operations and waits for them: how many the ring took (in order);
  // `on_result(index, cqe)` for each that completed. Gives batching up when the ring did not
  // take or report them all.
  template <typename F>
  size_t SubmitAndReap(size_t count, F&& on_result);
  void GiveUp();
  void SendDirect(const SendSlot& slot);

  io_uring ring_{};
  bool ring_ready_ = false;
  std::array<SendSlot, kBatch> send_slots_;
  size_t queued_ = 0;
  std::array<ReceiveSlot, kBatch> receive_slots_;
  std::array<Received, kBatch> received_;
  Stats stats_;
};

}  // namespace webrtc2sip::media
