#pragma once

// One epoll set per GMainContext, watched by a single GSource: the sockets of every session on
// a worker cost GLib's loop one file descriptor, not one each. GLib's main loop walks its whole
// poll array and every source on each wake-up, so with a source per socket a worker with
// hundreds of sessions spent most of its time in poll() and the loop itself
// (docs/performance.md); epoll returns only the ready sockets.

#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/cwrap/gobject_ptr.h"
#include "services/media-relay/net/send_batcher.h"
#include "services/media-relay/net/unique_fd.h"

namespace webrtc2sip::media {

class SocketPoller : public std::enable_shared_from_this<SocketPoller> {
 public:
  class Handler {
   public:
    // The fd is readable (level-triggered: called again while it stays readable). The handler
    // may remove itself, or others, from here.
    virtual void OnReadable() = 0;

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

  // Send batching (media_relay.send_batching): datagrams the handlers send during a turn go
  // out together through io_uring (SendBatcher), flushed at the end of each round of ready
  // sockets. False, and sockets keep sending one by one, when io_uring is unavailable; `why`
  // then says why.
  bool EnableSendBatching(std::string* why = nullptr);
  // The batcher to queue sends on: only inside a turn (a handler running), else nullptr.
  SendBatcher* batcher_in_turn() const { return in_turn_ ? batcher_.get() : nullptr; }
  // The batcher, in a turn or not (a socket flushes it before it closes).
  SendBatcher* batcher() const { return batcher_.get(); }

 private:
  struct Source;
  struct Slot {
    Handler* handler = nullptr;
    int fd = -1;
    uint32_t generation = 0;
  };

  explicit SocketPoller(GMainContext* context);
  static gboolean Dispatch(GSource* source, GSourceFunc, gpointer);
  const Slot* Find(uint64_t token) const;

  GMainContext* context_;
  UniqueFd epoll_;
  GSourcePtr source_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  std::chrono::microseconds batch_window_{0};
  std::unique_ptr<SendBatcher> batcher_;
  bool in_turn_ = false;
};

}  // namespace webrtc2sip::media
