#pragma once

// The datagrams a worker sends during one turn of its socket poller, handed to the kernel
// together: one io_uring_enter for up to kFlushAt sendmsg operations, on any of the worker's
// sockets, instead of one sendto each. A relayed packet costs one receive and one send; on a
// virtual machine where each system call costs about a microsecond, the sendto was a third of
// the relay's time per packet (docs/performance.md). sendmmsg cannot do this: it sends on one
// socket, and every session has its own.
//
// A flush of a single datagram uses sendto: one submission costs more than one sendto.
//
// Each datagram is copied into a slot of the batcher (the caller's buffer is a scratch buffer,
// reused at once). The batch is flushed by the poller at the end of each round of ready
// sockets, before it pauses, and here when kFlushAt are queued; a socket flushes before it
// closes. Sends are MSG_DONTWAIT, so io_uring completes them inline during the submit: when
// Flush() returns, every datagram is in the kernel or was dropped, and its result counted
// against its socket. Only the worker thread that owns the poller uses it.
//
// io_uring may be unavailable: an old kernel, or a seccomp profile that blocks it (Docker's
// and containerd's default profiles do). Create() returns nullptr then and sockets send with
// sendto, as before.

#include <liburing.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace webrtc2sip::media {

class SendBatcher {
 public:
  // What a flushed datagram's socket hears: the byte count sent, or -errno.
  class Sender {
   public:
    virtual void OnBatchedSendResult(int result) = 0;

   protected:
    virtual ~Sender() = default;
  };

  static constexpr size_t kFlushAt = 16;
  static constexpr size_t kMaxDatagram = 2048;

  // nullptr when io_uring cannot be set up; `why` then says what failed.
  static std::unique_ptr<SendBatcher> Create(std::string* why = nullptr);
  ~SendBatcher();
  SendBatcher(const SendBatcher&) = delete;
  SendBatcher& operator=(const SendBatcher&) = delete;

  // Queues one datagram from `fd` to `to`. False when it cannot be queued (longer than
  // kMaxDatagram): the caller sends it itself. Flushes when kFlushAt are queued.
  bool Queue(Sender& sender, int fd, const uint8_t* data, size_t len, const sockaddr_storage& to,
             socklen_t to_length);
  // Submits what is queued and reports each result to its Sender.
  void Flush();
  // A sender going away: flushes first if anything is queued (its slots point to it).
  void FlushBefore(const Sender&) {
    if (queued_ > 0) Flush();
  }
  size_t queued() const { return queued_; }

  struct Stats {
    uint64_t flushes = 0;
    uint64_t datagrams = 0;  // Flushed, one way or the other.
    uint64_t submitted = 0;  // Through io_uring (a lone datagram goes by sendto).
    uint64_t submit_errors = 0;  // io_uring_enter failed: those datagrams were sent one by one.
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Slot {
    Sender* sender = nullptr;
    int fd = -1;
    sockaddr_storage to{};
    msghdr header{};
    iovec iov{};
    std::array<uint8_t, kMaxDatagram> data{};
  };

  SendBatcher() = default;
  void SendOneByOne(size_t from);

  io_uring ring_{};
  bool ring_ready_ = false;
  std::array<Slot, kFlushAt> slots_;
  size_t queued_ = 0;
  Stats stats_;
};

}  // namespace webrtc2sip::media
