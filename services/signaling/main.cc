// webrtc2sip-signaling: the control plane (SIP proxy and B2BUA).

#include <chrono>

#include "common/log/logger.h"
#include "common/service/graceful_stop.h"
#include "common/service/service_main.h"
#include "common/service/service_runtime.h"
#include "services/signaling/sip/sip_proxy.h"

namespace {

int RunSignaling(const webrtc2sip::config::Config& config) {
  webrtc2sip::service::ServiceRuntime runtime("signaling", config.signaling().http_listen());
  webrtc2sip::signaling::SipProxy proxy(runtime.loop(), config.signaling(), config.media());
  // SIGTERM drains: new INVITEs get 503, calls in progress end by themselves,
  // then exit (or at the deadline). A second signal exits at once.
  webrtc2sip::service::GracefulStop stop(
      runtime, std::chrono::seconds(config.signaling().drain_deadline_seconds()),
      {[&proxy] { proxy.StartDrain(); }, [&proxy] { return proxy.calls_in_progress(); }, "calls"});
  runtime.SetReady(true);
  runtime.Run();
  return webrtc2sip::service::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return webrtc2sip::service::ServiceMain(
      argc, argv,
      {"webrtc2sip-signaling", "signaling", webrtc2sip::config::Scope::kSignaling,
       "/etc/webrtc2sip/webrtc2sip.yaml", {}},
      RunSignaling);
}
