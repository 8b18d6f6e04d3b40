#pragma once

// The main thread's GLib loop of a service, with what every service has
// beside its real work: /metrics, /healthz (alive) and /readyz (takes
// traffic) over HTTP, process metrics, and SIGTERM/SIGINT handling.

#include <glib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/cwrap/c_ptr.h"

namespace webrtc2sip {
class HttpServer;
}

namespace webrtc2sip::service {

class ServiceRuntime {
 public:
  // Runs on the calling thread's default GMainContext.
  ServiceRuntime(std::string service_name, const std::string& http_listen);
  ~ServiceRuntime();
  ServiceRuntime(const ServiceRuntime&) = delete;
  ServiceRuntime& operator=(const ServiceRuntime&) = delete;

  GMainContext* context() const { return context_; }
  GMainLoop* loop() const { return loop_.get(); }
  uint16_t http_port() const;

  // Called on the loop for SIGTERM or SIGINT. The default quits the loop.
  void OnStopSignal(std::function<void(int signal)> handler);

  // /readyz answers 200 only while ready; /healthz while the loop turns.
  void SetReady(bool ready) { ready_.store(ready); }
  bool ready() const { return ready_.load(); }

  void Run();
  void Quit();

 private:
  static gboolean OnSigterm(gpointer self);
  static gboolean OnSigint(gpointer self);
  void Stop(int signal);

  std::string service_name_;
  GMainContext* context_;
  CPtr<GMainLoop, g_main_loop_unref> loop_;
  std::unique_ptr<HttpServer> http_;
  std::function<void(int)> stop_handler_;
  std::atomic<bool> ready_{false};
  guint sigterm_source_ = 0;
  guint sigint_source_ = 0;
};

}  // namespace webrtc2sip::service
