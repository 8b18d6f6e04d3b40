#include "services/media-relay/worker/timer_queue.h"

#include "services/media-relay/worker/per_context.h"

namespace webrtc2sip::media {

struct TimerQueue::Source {
  GSource base;
  TimerQueue* queue;
};

std::shared_ptr<TimerQueue> TimerQueue::ForContext(GMainContext* context) {
  return SharedPerContext<TimerQueue>(context, [](GMainContext* c) {
    return std::shared_ptr<TimerQueue>(new TimerQueue(c));
  });
}

TimerQueue::TimerQueue(GMainContext* context) {
  static GSourceFuncs funcs = {nullptr, nullptr, &TimerQueue::Dispatch, nullptr, nullptr, nullptr};
  GSource* source = g_source_new(&funcs, sizeof(Source));
  reinterpret_cast<Source*>(source)->queue = this;
  g_source_set_name(source, "webrtc2sip timer queue");
  g_source_set_ready_time(source, -1);
  g_source_attach(source, context);
  source_.reset(source);
}

TimerQueue::~TimerQueue() {
  source_.reset();
}

uint64_t TimerQueue::Add(std::chrono::milliseconds period, Callback callback) {
  const uint64_t token = next_token_++;
  const gint64 period_us = std::max<gint64>(1000, std::chrono::duration_cast<std::chrono::microseconds>(period).count());
  timers_.emplace(token, Timer{period_us, std::move(callback)});
  heap_.push({g_get_monotonic_time() + period_us, token});
  Arm();
  return token;
}

void TimerQueue::Remove(uint64_t token) {
  // Its heap entry stays until due, then is skipped.
  timers_.erase(token);
}

void TimerQueue::Arm() {
  // Entries of removed timers at the top would only cost a spurious wake-up: drop them now.
  while (!heap_.empty() && !timers_.count(heap_.top().token)) heap_.pop();
  // Setting a ready time wakes the context up (an eventfd write): only when it changes.
  const gint64 at = heap_.empty() ? -1 : heap_.top().at_us;
  if (at != armed_at_) {
    armed_at_ = at;
    g_source_set_ready_time(source_.get(), at);
  }
}

gboolean TimerQueue::Dispatch(GSource* source, GSourceFunc, gpointer) {
  std::shared_ptr<TimerQueue> self = reinterpret_cast<Source*>(source)->queue->shared_from_this();
  // GLib keeps a source's ready time once reached: re-armed below.
  self->armed_at_ = g_source_get_ready_time(source);
  const gint64 now = g_get_monotonic_time();
  // Timers due now, taken out first: those a callback adds or re-arms wait for the next turn.
  std::vector<uint64_t> due;
  while (!self->heap_.empty() && self->heap_.top().at_us <= now) {
    due.push_back(self->heap_.top().token);
    self->heap_.pop();
  }
  for (uint64_t token : due) {
    auto it = self->timers_.find(token);
    if (it == self->timers_.end()) continue;  // Removed, perhaps by an earlier callback.
    // The callback may remove any timer, itself included, or add new ones: copy what we need.
    const gint64 period = it->second.period_us;
    Callback callback = it->second.callback;
    const bool again = callback();
    it = self->timers_.find(token);
    if (it == self->timers_.end()) continue;
    if (again) {
      self->heap_.push({now + period, token});
    } else {
      self->timers_.erase(it);
    }
  }
  if (!g_source_is_destroyed(source)) self->Arm();
  return G_SOURCE_CONTINUE;
}

void QueuedTimer::Start(GMainContext* context, std::chrono::milliseconds period,
                        TimerQueue::Callback callback) {
  Stop();
  queue_ = TimerQueue::ForContext(context);
  token_ = queue_->Add(period, std::move(callback));
}

void QueuedTimer::Stop() {
  if (queue_ && token_ != 0) queue_->Remove(token_);
  token_ = 0;
  queue_.reset();
}

}  // namespace webrtc2sip::media
