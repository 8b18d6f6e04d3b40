#include "services/signaling/sip/proxied_dialogs.h"

#include <iterator>

#include "common/metrics/registry.h"

namespace webrtc2sip::signaling {

namespace {

metrics::Gauge& ActiveGauge() {
  static metrics::Gauge& gauge =
      metrics::Registry::Global()
          .AddGauge("webrtc2sip_sip_dialogs_active",
                    "INVITE dialogs the SIP proxy carries (calls of RTCWeb Breaker clients are "
                    "webrtc2sip_b2bua_active_calls).",
                    {})
          .WithLabels({});
  return gauge;
}

}  // namespace

ProxiedDialogs::ProxiedDialogs() {
  ActiveGauge().Set(0);
}

ProxiedDialogs::~ProxiedDialogs() {
  ActiveGauge().Set(0);
}

void ProxiedDialogs::UpdateGauge() const {
  ActiveGauge().Set(static_cast<double>(by_call_id_.size()));
}

void ProxiedDialogs::Established(const std::string& call_id, ConnectionId conn) {
  by_call_id_[call_id] = conn;
  UpdateGauge();
}

void ProxiedDialogs::Ended(const std::string& call_id) {
  by_call_id_.erase(call_id);
  UpdateGauge();
}

void ProxiedDialogs::ConnectionClosed(ConnectionId conn) {
  for (auto it = by_call_id_.begin(); it != by_call_id_.end();) {
    it = it->second == conn ? by_call_id_.erase(it) : std::next(it);
  }
  UpdateGauge();
}

}  // namespace webrtc2sip::signaling
