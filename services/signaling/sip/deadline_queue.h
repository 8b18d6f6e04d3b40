#pragma once

// Deadlines of many transactions on one GLib source. A GLib timer per
// transaction costs every turn of the loop a visit to each of them (GLib's
// prepare and check walk all sources): with thousands of INVITE transactions
// lingering 32 s that walk was most of the proxy's CPU. Here the deadlines
// sit in an ordered map and one source is armed for the earliest.
// Single-threaded: used on the loop's own thread only.

#include <glib.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

namespace webrtc2sip::signaling {

class DeadlineQueue {
 public:
  // A pending deadline; a default-constructed one is "none".
  struct Handle {
    gint64 at_us = 0;  // g_get_monotonic_time() clock
    uint64_t seq = 0;
    explicit operator bool() const { return seq != 0; }
    auto operator<=>(const Handle&) const = default;
  };
  // Called with the key given to Add, once its deadline has passed. The key
  // is looked up by the owner (a weak handle): a late expiry finds nothing.
  using Expired = std::function<void(uint64_t key)>;

  DeadlineQueue(GMainContext* context, Expired on_expired);
  ~DeadlineQueue();
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  Handle Add(guint after_ms, uint64_t key);
  // Safe with a handle that already expired or was cancelled.
  void Cancel(Handle handle);
  size_t size() const { return pending_.size(); }

  // Runs the expiries due at `now_us` (the GLib source does this itself).
  void RunDue(gint64 now_us);

 private:
  static gboolean Dispatch(GSource* source, GSourceFunc, gpointer);
  void Rearm();

  struct Source;
  Source* source_ = nullptr;
  Expired on_expired_;
  std::map<Handle, uint64_t> pending_;
  uint64_t next_seq_ = 1;
};

}  // namespace webrtc2sip::signaling
