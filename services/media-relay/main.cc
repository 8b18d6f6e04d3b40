// webrtc2sip-media-relay: the data plane (ICE/DTLS-SRTP <-> RTP, Media Coder).

#include "common/log/logger.h"
#include "common/service/service_main.h"
#include "common/service/service_runtime.h"

namespace {

int RunMediaRelay(const webrtc2sip::config::Config& config) {
  webrtc2sip::service::ServiceRuntime runtime("media-relay", config.media_relay().http_listen());
  runtime.SetReady(true);
  runtime.Run();
  return webrtc2sip::service::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return webrtc2sip::service::ServiceMain(
      argc, argv,
      {"webrtc2sip-media-relay", "media-relay", webrtc2sip::config::Scope::kMediaRelay,
       "/etc/webrtc2sip/webrtc2sip.yaml"},
      RunMediaRelay);
}
