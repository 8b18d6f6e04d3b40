#pragma once

// One epoll set per GMainContext, watched by a single GSource: the sockets of every session on
// a worker cost GLib's loop one file descriptor, not one each. GLib's main loop walks its whole
// poll array and every source on each wake-up, so with a source per socket a worker with
// hundreds of sessions spent most of its time in poll() and the loop itself
// (docs/performance.md); epoll returns only the ready sockets.

#include <glib.h>
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/cwrap/gobject_ptr.h"
#include "services/media-relay/net/io_batcher.h"
#include "services/media-relay/net/unique_fd.h"

namespace webrtc2sip::media {

class SocketPoller : public std::enable_shared_from_this<SocketPoller> {
 public:
  class Handler {
   public:
    // The fd is readable (level-triggered: called again while it stays readable). The handler
    // may remove itself, or others, from here.
    virtual void OnReadable() = 0;
    // With batched I/O (EnableBatchedIo): a datagram socket gives its fd here and the poller
    // reads up to two datagrams for it, with those of the round's other ready sockets, in one
    // submission, then calls OnBatchRead() for each instead of OnReadable() (and OnReadable()
    // too when both reads got one: more may be waiting). -1: OnReadable() only.
    virtual int batch_read_fd() const { return -1; }
    // The largest datagram it takes (at most IoBatcher::kMaxDatagram).
    virtual size_t batch_read_size() const { return IoBatcher::kMaxDatagram; }
    // One datagram read for it in a batch; it may remove itself, or others, from here.
    virtual void OnBatchRead(const IoBatcher::Received&) {}

   protected:
    virtual ~Handler() = default;
  };

  // The poller of `context`, made on first use and shared by every socket on it; it lives as
  // long as someone holds it. Any thread (the registry locks); use the poller on the thread
  // that runs `context` only.
  static std::shared_ptr<SocketPoller> ForContext(GMainContext* context);
  ~SocketPoller();
  SocketPoller(const SocketPoller&) = delete;
  SocketPoller& operator=(const SocketPoller&) = delete;

  // Watches `fd` for input; the token names the registration. 0 when epoll refuses it.
  uint64_t Add(int fd, Handler& handler);
  // No call reaches the handler after this, even one already returned by epoll in the same
  // turn. Unknown or removed tokens are ignored.
  void Remove(uint64_t token);
  // The registration is still there (a handler asks after calling out).
  bool Alive(uint64_t token) const;

  size_t size() const { return live_; }

  // Batching (media_relay.packet_batch_us): after a turn that found ready sockets, wait
  // `window` and look again, until a look finds none or the turn has run for about 2 ms (the
  // worker's timers and control calls wait meanwhile). Each wake-up of the loop costs about as
  // much as relaying a few packets; batching makes one serve several. Zero: no waiting.
  void SetBatchWindow(std::chrono::microseconds window) {
    batch_window_ = std::clamp(window, std::chrono::microseconds(0), std::chrono::microseconds(1000));
  }

  // Batched I/O (media_relay.batched_io): each round of ready sockets is read in one io_uring
  // submission (up to two datagrams each), and what the handlers send during a turn goes out
  // together, flushed at the end of each round (IoBatcher). False, and sockets keep reading
  // and sending one call at a time, when io_uring is unavailable; `why` then says why.
  bool EnableBatchedIo(std::string* why = nullptr);
  // The batcher to queue sends on: only inside a turn (a handler running), else nullptr.
  IoBatcher* batcher_in_turn() const { return in_turn_ ? batcher_.get() : nullptr; }
  // The batcher, in a turn or not (a socket flushes it before it closes).
  IoBatcher* batcher() const { return batcher_.get(); }

 private:
  struct Source;
  struct Slot {
    Handler* handler = nullptr;
    int fd = -1;
    uint32_t generation = 0;
  };

  explicit SocketPoller(GMainContext* context);
  static gboolean Dispatch(GSource* source, GSourceFunc, gpointer);
  // One round's ready sockets, read through the batcher where they allow it.
  void ServeBatched(const epoll_event* events, int count);
  const Slot* Find(uint64_t token) const;

  GMainContext* context_;
  UniqueFd epoll_;
  GSourcePtr source_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  std::chrono::microseconds batch_window_{0};
  std::unique_ptr<IoBatcher> batcher_;
  bool in_turn_ = false;
};

}  // namespace webrtc2sip::media
