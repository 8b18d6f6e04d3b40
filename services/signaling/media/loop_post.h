#pragma once

// Getting work into the signaling loop from other threads (gRPC completions,
// the Watch readers, the DNS thread), and a repeating timer on that loop.

#include <glib.h>

#include <chrono>
#include <functional>

#include "common/cwrap/gobject_ptr.h"

namespace webrtc2sip::signaling {

// Runs `fn` on a later turn of `context`, from any thread, never inline (an
// idle source, even when the caller already runs the loop). `fn` must guard
// against its target being gone by then: capture weak handles, not `this`.
void PostToLoop(GMainContext* context, std::function<void()> fn);

// A repeating timer on one GMainContext. Create, use and destroy it on the
// thread running that context; once destroyed the callback never runs again,
// so its owner may capture `this`. The callback must not destroy the timer.
class LoopTimer {
 public:
  LoopTimer(GMainContext* context, std::chrono::milliseconds period, std::function<void()> fn);
  ~LoopTimer() = default;
  LoopTimer(const LoopTimer&) = delete;
  LoopTimer& operator=(const LoopTimer&) = delete;

 private:
  static gboolean OnFire(gpointer data);

  std::function<void()> fn_;
  GSourcePtr source_;  // declared last: destroyed first, before fn_
};

}  // namespace webrtc2sip::signaling
