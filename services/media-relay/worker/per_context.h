#pragma once

// One shared object of type T per GMainContext (a worker's socket poller, its timer queue),
// made on first use by `make` and kept while someone holds it. Any thread: the registry locks.

#include <glib.h>

#include <memory>
#include <mutex>
#include <unordered_map>

namespace webrtc2sip::media {

// `make(context)` returns a std::shared_ptr<T>, or null when T cannot be made (nothing is kept).
template <typename T, typename Make>
std::shared_ptr<T> SharedPerContext(GMainContext* context, Make make) {
  static std::mutex mutex;
  static std::unordered_map<GMainContext*, std::weak_ptr<T>> registry;
  std::lock_guard lock(mutex);
  std::weak_ptr<T>& slot = registry[context];
  if (std::shared_ptr<T> existing = slot.lock()) return existing;
  std::shared_ptr<T> made = make(context);
  if (made) slot = made;
  return made;
}

}  // namespace webrtc2sip::media
