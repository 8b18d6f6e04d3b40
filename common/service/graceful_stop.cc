#include "common/service/graceful_stop.h"

#include <signal.h>

#include <string>

#include "common/log/logger.h"
#include "common/service/service_runtime.h"

namespace webrtc2sip::service {

GracefulStop::GracefulStop(ServiceRuntime& runtime, std::chrono::seconds deadline, Hooks hooks)
    : runtime_(runtime), deadline_(deadline), hooks_(std::move(hooks)) {
  runtime_.OnStopSignal([this](int signal) { OnSignal(signal); });
}

GracefulStop::~GracefulStop() {
  if (tick_source_) g_source_remove(tick_source_);
  ServiceRuntime& runtime = runtime_;
  runtime_.OnStopSignal([&runtime](int) { runtime.Quit(); });
}

void GracefulStop::OnSignal(int signal) {
  if (draining_) {
    log::Info("second stop signal: exiting now",
              {{hooks_.what, std::to_string(hooks_.remaining())}});
    quitting_ = true;
    runtime_.Quit();
    return;
  }
  draining_ = true;
  deadline_at_ = std::chrono::steady_clock::now() + deadline_;
  runtime_.SetReady(false);
  hooks_.start();
  log::Info("draining", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"},
                         {hooks_.what, std::to_string(hooks_.remaining())},
                         {"deadline_seconds", std::to_string(deadline_.count())}});
  // The tick is removed in the destructor, so `this` cannot dangle.
  GSource* tick = g_timeout_source_new_seconds(1);
  g_source_set_callback(tick, &GracefulStop::OnTick, this, nullptr);
  tick_source_ = g_source_attach(tick, runtime_.context());
  g_source_unref(tick);
  Check();
}

void GracefulStop::Check() {
  if (!draining_ || quitting_) return;
  const size_t remaining = hooks_.remaining();
  if (remaining == 0) {
    log::Info("drained", {{hooks_.what, "0"}});
  } else if (std::chrono::steady_clock::now() >= deadline_at_) {
    log::Warn("drain deadline passed: exiting", {{hooks_.what, std::to_string(remaining)}});
  } else {
    return;
  }
  quitting_ = true;
  runtime_.Quit();
}

gboolean GracefulStop::OnTick(gpointer self) {
  static_cast<GracefulStop*>(self)->Check();
  return G_SOURCE_CONTINUE;
}

}  // namespace webrtc2sip::service
