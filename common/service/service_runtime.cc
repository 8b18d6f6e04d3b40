#include "common/service/service_runtime.h"

#include <glib-unix.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "common/http/http_server.h"
#include "common/log/logger.h"
#include "common/metrics/registry.h"

#ifndef WEBRTC2SIP_VERSION
#define WEBRTC2SIP_VERSION "dev"
#endif

namespace webrtc2sip::service {

namespace {

void RegisterProcessMetrics(const std::string& service_name) {
  auto& registry = metrics::Registry::Global();
  registry
      .AddGauge("webrtc2sip_build_info", "Version of the running service (always 1).",
                {"service", "version"})
      .WithLabels({service_name, WEBRTC2SIP_VERSION})
      .Set(1);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  registry.AddGauge("process_start_time_seconds", "Start time of the process, Unix seconds.", {})
      .WithLabels({})
      .Set(static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
  auto& rss = registry.AddGauge("process_resident_memory_bytes", "Resident memory size.", {})
                  .WithLabels({});
  auto& fds = registry.AddGauge("process_open_fds", "Open file descriptors.", {}).WithLabels({});
  registry.AddCollectHook([&rss, &fds] {
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0, pages_resident = 0;
    if (statm >> pages_total >> pages_resident) {
      rss.Set(static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)));
    }
    GDir* dir = g_dir_open("/proc/self/fd", 0, nullptr);
    if (dir) {
      int n = 0;
      while (g_dir_read_name(dir)) ++n;
      g_dir_close(dir);
      fds.Set(n > 0 ? n - 1 : 0);  // minus the directory's own descriptor
    }
  });
}

}  // namespace

ServiceRuntime::ServiceRuntime(std::string service_name, const std::string& http_listen)
    : service_name_(std::move(service_name)),
      context_(g_main_context_default()),
      loop_(g_main_loop_new(context_, FALSE)),
      stop_handler_([this](int) { Quit(); }) {
  RegisterProcessMetrics(service_name_);

  http_ = std::make_unique<HttpServer>(context_);
  http_->Handle("/metrics", [] {
    return HttpResponse{200, metrics::kContentType, metrics::Registry::Global().Render()};
  });
  http_->Handle("/healthz", [] { return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"}; });
  http_->Handle("/readyz", [this] {
    return ready_.load() ? HttpResponse{200, "text/plain; charset=utf-8", "ready\n"}
                         : HttpResponse{503, "text/plain; charset=utf-8", "not ready\n"};
  });
  http_->Listen(http_listen);

  // Both sources are removed in the destructor, so `this` cannot dangle.
  sigterm_source_ = g_unix_signal_add(SIGTERM, &ServiceRuntime::OnSigterm, this);
  sigint_source_ = g_unix_signal_add(SIGINT, &ServiceRuntime::OnSigint, this);
  log::Info("admin http listening",
            {{"address", http_listen}, {"port", std::to_string(http_port())}});
}

ServiceRuntime::~ServiceRuntime() {
  if (sigterm_source_) g_source_remove(sigterm_source_);
  if (sigint_source_) g_source_remove(sigint_source_);
  http_.reset();
}

uint16_t ServiceRuntime::http_port() const {
  return http_->port();
}

void ServiceRuntime::OnStopSignal(std::function<void(int)> handler) {
  stop_handler_ = std::move(handler);
}

gboolean ServiceRuntime::OnSigterm(gpointer self) {
  static_cast<ServiceRuntime*>(self)->Stop(SIGTERM);
  return G_SOURCE_CONTINUE;
}

gboolean ServiceRuntime::OnSigint(gpointer self) {
  static_cast<ServiceRuntime*>(self)->Stop(SIGINT);
  return G_SOURCE_CONTINUE;
}

void ServiceRuntime::Stop(int signal) {
  log::Info("signal received", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
  ready_.store(false);
  stop_handler_(signal);
}

void ServiceRuntime::Run() {
  g_main_loop_run(loop_.get());
}

void ServiceRuntime::Quit() {
  g_main_loop_quit(loop_.get());
}

}  // namespace webrtc2sip::service
