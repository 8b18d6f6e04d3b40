#include "services/signaling/sip/sofia_gsource.h"

#include <sofia-sip/su_glib.h>

#include <mutex>
#include <unordered_map>

namespace webrtc2sip::signaling {
namespace {

// su_glib's own functions (one static table in the library for every root) and ours.
const GSourceFuncs* sofia_funcs = nullptr;
GSourceFuncs funcs;

// Per source: when (g_get_monotonic_time) a "ready" without a socket event is believed; 0 when
// sofia has not called itself ready since the last dispatch. Set at the first sighting and
// never moved later, so however busy the loop is, sofia is dispatched within the millisecond.
// Prepare, check and dispatch run on the loop's thread, finalize on whichever drops the last
// reference: hence the lock (uncontended).
std::mutex deadlines_mutex;
std::unordered_map<GSource*, gint64> deadlines;

gint64 DeadlineFor(GSource* source, gint64 now) {
  std::lock_guard lock(deadlines_mutex);
  gint64& deadline = deadlines[source];
  if (deadline == 0) deadline = now + 1000;
  return deadline;
}

gboolean Prepare(GSource* source, gint* timeout) {
  const gboolean ready = sofia_funcs->prepare(source, timeout);
  if (!ready || *timeout != 0) return ready;
  // "Ready" with nothing to wait for: a timer that is due or due within the millisecond (su_glib
  // cannot tell them apart), or queued messages. Ready once the millisecond has passed; until
  // then poll waits for it (a socket still wakes the poll at once).
  const gint64 now = g_get_monotonic_time();
  const gint64 deadline = DeadlineFor(source, now);
  if (now >= deadline) return TRUE;
  *timeout = static_cast<gint>((deadline - now + 999) / 1000);
  return FALSE;
}

gboolean Check(GSource* source) {
  for (GSList* l = source->poll_fds; l != nullptr; l = l->next) {
    if (static_cast<GPollFD*>(l->data)->revents != 0) return TRUE;
  }
  if (!sofia_funcs->check(source)) return FALSE;
  const gint64 now = g_get_monotonic_time();
  return now >= DeadlineFor(source, now);
}

gboolean Dispatch(GSource* source, GSourceFunc callback, gpointer data) {
  {
    std::lock_guard lock(deadlines_mutex);
    deadlines[source] = 0;
  }
  return sofia_funcs->dispatch(source, callback, data);
}

void Finalize(GSource* source) {
  {
    std::lock_guard lock(deadlines_mutex);
    deadlines.erase(source);
  }
  if (sofia_funcs->finalize != nullptr) sofia_funcs->finalize(source);
}

}  // namespace

GSource* SofiaRootGSource(su_root_t* root) {
  GSource* source = su_glib_root_gsource(root);
  if (source == nullptr) return nullptr;
  static std::once_flag once;
  std::call_once(once, [source] {
    sofia_funcs = source->source_funcs;
    funcs = *sofia_funcs;
    funcs.prepare = &Prepare;
    funcs.check = &Check;
    funcs.dispatch = &Dispatch;
    funcs.finalize = &Finalize;
  });
  g_source_set_funcs(source, &funcs);
  return source;
}

}  // namespace webrtc2sip::signaling
