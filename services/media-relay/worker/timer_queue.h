#pragma once

// Periodic timers of one GMainContext in one min-heap behind a single GSource whose ready time
// is the earliest deadline: a worker with hundreds of sessions, each with its report and
// consent timers, gives GLib's loop one source to look at on each turn instead of two per
// session (the loop visits every source on every wake-up).

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "common/cwrap/gobject_ptr.h"

namespace webrtc2sip::media {

class TimerQueue : public std::enable_shared_from_this<TimerQueue> {
 public:
  // Returns false to stop repeating.
  using Callback = std::function<bool()>;

  // The queue of `context`, made on first use and shared while someone holds it. Any thread
  // (the registry locks); use the queue on the thread that runs `context` only.
  static std::shared_ptr<TimerQueue> ForContext(GMainContext* context);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Calls `callback` every `period` (first after one period) until it returns false or the
  // token is removed. Returns the token (never 0).
  uint64_t Add(std::chrono::milliseconds period, Callback callback);
  // No call after this, even one due in the same turn. Unknown tokens are ignored; a callback
  // may remove itself or others.
  void Remove(uint64_t token);

  size_t size() const { return timers_.size(); }

 private:
  struct Source;
  struct Timer {
    gint64 period_us;
    Callback callback;
  };
  struct Due {
    gint64 at_us;
    uint64_t token;
    bool operator>(const Due& other) const { return at_us > other.at_us; }
  };

  explicit TimerQueue(GMainContext* context);
  static gboolean Dispatch(GSource* source, GSourceFunc, gpointer);
  void Arm();

  GSourcePtr source_;
  std::unordered_map<uint64_t, Timer> timers_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> heap_;
  uint64_t next_token_ = 1;
  gint64 armed_at_ = -1;  // The source's ready time as last set.
};

// A timer of a TimerQueue, removed when this goes away. Empty until Start().
class QueuedTimer {
 public:
  QueuedTimer() = default;
  ~QueuedTimer() { Stop(); }
  QueuedTimer(const QueuedTimer&) = delete;
  QueuedTimer& operator=(const QueuedTimer&) = delete;

  void Start(GMainContext* context, std::chrono::milliseconds period, TimerQueue::Callback callback);
  void Stop();
  bool running() const { return token_ != 0; }

 private:
  std::shared_ptr<TimerQueue> queue_;
  uint64_t token_ = 0;
};

}  // namespace webrtc2sip::media
