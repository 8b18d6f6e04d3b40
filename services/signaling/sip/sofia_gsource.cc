#include "services/signaling/sip/sofia_gsource.h"

#include <sofia-sip/su_glib.h>

#include <mutex>
#include <unordered_map>

namespace webrtc2sip::signaling {
namespace {

// su_glib's own functions (one static table in the library for every root) and ours.
const GSourceFuncs* sofia_funcs = nullptr;
GSourceFuncs funcs;

// Per source: until when (GLib monotonic µs) a "ready" without socket events is not believed.
// Only touched from the thread that runs the source's context.
std::unordered_map<GSource*, gint64>& WaitUntil() {
  static thread_local std::unordered_map<GSource*, gint64> map;
  return map;
}

gboolean Prepare(GSource* source, gint* timeout) {
  const gboolean ready = sofia_funcs->prepare(source, timeout);
  if (ready && *timeout == 0) {
    // "Ready" with nothing to wait for: a timer that is due, or due within the millisecond,
    // or queued messages. Wait that millisecond in poll (a socket still wakes it at once).
    WaitUntil()[source] = g_source_get_time(source) + 1000;
    *timeout = 1;
    return FALSE;
  }
  WaitUntil()[source] = 0;
  return ready;
}

gboolean Check(GSource* source) {
  for (GSList* l = source->poll_fds; l != nullptr; l = l->next) {
    if (static_cast<GPollFD*>(l->data)->revents != 0) return TRUE;
  }
  // sofia's check calls itself ready whenever its next timer is under a millisecond away, so a
  // stream of timers (one every 0.6 ms at 1,700 finished transactions a second) kept it ready
  // at every turn, and a ready source of a higher priority starves the lower ones: the proxy's
  // idle reaper never ran and the loop turned without waiting. Ready only once the millisecond
  // that Prepare waited for has passed.
  if (!sofia_funcs->check(source)) return FALSE;
  auto it = WaitUntil().find(source);
  return it == WaitUntil().end() || g_source_get_time(source) >= it->second;
}

void Finalize(GSource* source) {
  WaitUntil().erase(source);
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
    funcs.finalize = &Finalize;
  });
  g_source_set_funcs(source, &funcs);
  return source;
}

}  // namespace webrtc2sip::signaling
