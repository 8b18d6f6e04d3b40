#include "services/signaling/media/loop_post.h"

#include <memory>

namespace webrtc2sip::signaling {

void PostToLoop(GMainContext* context, std::function<void()> fn) {
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(
      source,
      [](gpointer data) -> gboolean {
        (*static_cast<std::function<void()>*>(data))();
        return G_SOURCE_REMOVE;
      },
      new std::function<void()>(std::move(fn)),
      [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
  g_source_attach(source, context);  // thread-safe; the context holds the source from here
  g_source_unref(source);
}

LoopTimer::LoopTimer(GMainContext* context, std::chrono::milliseconds period,
                     std::function<void()> fn)
    : fn_(std::move(fn)),
      source_(g_timeout_source_new(static_cast<guint>(std::max<int64_t>(1, period.count())))) {
  // The source dies with this object (GSourcePtr destroys it), so `this` cannot dangle.
  g_source_set_callback(source_.get(), &LoopTimer::OnFire, this, nullptr);
  g_source_attach(source_.get(), context);
}

gboolean LoopTimer::OnFire(gpointer data) {
  static_cast<LoopTimer*>(data)->fn_();
  return G_SOURCE_CONTINUE;
}

}  // namespace webrtc2sip::signaling
