#include "services/signaling/sip/deadline_queue.h"

namespace webrtc2sip::signaling {

struct DeadlineQueue::Source {
  GSource base;
  DeadlineQueue* queue;
};

DeadlineQueue::DeadlineQueue(GMainContext* context, Expired on_expired)
    : on_expired_(std::move(on_expired)) {
  // No prepare or check: the source's ready time says when it runs.
  static GSourceFuncs funcs = {nullptr, nullptr, &DeadlineQueue::Dispatch,
                               nullptr, nullptr, nullptr};
  source_ = reinterpret_cast<Source*>(g_source_new(&funcs, sizeof(Source)));
  source_->queue = this;
  g_source_set_name(&source_->base, "webrtc2sip-deadlines");
  g_source_set_ready_time(&source_->base, -1);
  g_source_attach(&source_->base, context);
}

DeadlineQueue::~DeadlineQueue() {
  g_source_destroy(&source_->base);
  g_source_unref(&source_->base);
}

DeadlineQueue::Handle DeadlineQueue::Add(guint after_ms, uint64_t key) {
  Handle h{g_get_monotonic_time() + static_cast<gint64>(after_ms) * 1000, next_seq_++};
  const bool earliest = pending_.empty() || h < pending_.begin()->first;
  pending_.emplace(h, key);
  if (earliest) Rearm();
  return h;
}

void DeadlineQueue::Cancel(Handle handle) {
  if (!handle) return;
  auto it = pending_.find(handle);
  if (it == pending_.end()) return;
  const bool earliest = it == pending_.begin();
  pending_.erase(it);
  if (earliest) Rearm();
}

void DeadlineQueue::RunDue(gint64 now_us) {
  // Each entry leaves the map before its callback, which may add or cancel.
  while (!pending_.empty() && pending_.begin()->first.at_us <= now_us) {
    const uint64_t key = pending_.begin()->second;
    pending_.erase(pending_.begin());
    on_expired_(key);
  }
  Rearm();
}

void DeadlineQueue::Rearm() {
  g_source_set_ready_time(&source_->base, pending_.empty() ? -1 : pending_.begin()->first.at_us);
}

gboolean DeadlineQueue::Dispatch(GSource* source, GSourceFunc, gpointer) {
  DeadlineQueue* self = reinterpret_cast<Source*>(source)->queue;
  self->RunDue(g_source_get_time(source));
  return G_SOURCE_CONTINUE;
}

}  // namespace webrtc2sip::signaling
