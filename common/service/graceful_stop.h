#pragma once

// A service's drain on SIGTERM/SIGINT, in the manner of seastar's gate: the
// first signal makes the service not ready (/readyz 503) and asks it to
// refuse new work; the loop quits once the work in progress is done, or when
// the deadline passes. A second signal quits at once. Both services use it:
// media-relay (sessions) and signaling (calls).

#include <glib.h>

#include <chrono>
#include <cstddef>
#include <functional>

namespace webrtc2sip::service {

class ServiceRuntime;

class GracefulStop {
 public:
  struct Hooks {
    std::function<void()> start;        // refuse new work; called once, on the first signal
    std::function<size_t()> remaining;  // work still in progress
    const char* what = "calls";         // the unit of `remaining`, for the log
  };

  // Takes over the runtime's stop signals until destroyed.
  GracefulStop(ServiceRuntime& runtime, std::chrono::seconds deadline, Hooks hooks);
  ~GracefulStop();
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

  bool draining() const { return draining_; }
  // Quits the loop if the drain is over. Runs every second while draining;
  // call it too when work ends, to stop without waiting for the next tick.
  void Check();

 private:
  void OnSignal(int signal);
  static gboolean OnTick(gpointer self);

  ServiceRuntime& runtime_;
  const std::chrono::seconds deadline_;
  const Hooks hooks_;
  bool draining_ = false;
  bool quitting_ = false;
  std::chrono::steady_clock::time_point deadline_at_{};
  guint tick_source_ = 0;
};

}  // namespace webrtc2sip::service
