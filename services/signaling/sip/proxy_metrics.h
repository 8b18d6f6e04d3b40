#pragma once

// The SIP proxy's metrics, registered once in the global registry.

#include <string_view>

#include "common/metrics/registry.h"

namespace webrtc2sip::signaling {

struct ProxyMetrics {
  metrics::CounterFamily& transactions = metrics::Registry::Global().AddCounter(
      "webrtc2sip_sip_transactions_total",
      "Proxied SIP transactions by direction, method and final status class "
      "(1xx..6xx, or timeout).",
      {"direction", "method", "status_class"});
  metrics::HistogramFamily& latency = metrics::Registry::Global().AddHistogram(
      "webrtc2sip_sip_proxy_latency_seconds",
      "Time the proxy takes to pass a message on, from reception to sending.", {"direction"},
      {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1});
  metrics::CounterFamily& dropped = metrics::Registry::Global().AddCounter(
      "webrtc2sip_sip_messages_dropped_total",
      "SIP messages refused or dropped, by reason.", {"reason"});
  metrics::GaugeFamily& flows = metrics::Registry::Global().AddGauge(
      "webrtc2sip_sip_flows", "Browser flows (WebSocket connections) the proxy can route to.", {});
  metrics::CounterFamily& messages = metrics::Registry::Global().AddCounter(
      "webrtc2sip_sip_messages_total", "SIP messages received, by transport side and kind.",
      {"side", "kind"});

  // Children with fixed labels, looked up once: they are touched per message.
  metrics::Counter& ws_requests = messages.WithLabels({"ws", "request"});
  metrics::Counter& ws_responses = messages.WithLabels({"ws", "response"});
  metrics::Counter& net_requests = messages.WithLabels({"net", "request"});
  metrics::Counter& net_responses = messages.WithLabels({"net", "response"});
  metrics::Histogram& ws_to_net_latency = latency.WithLabels({"ws_to_net"});
  metrics::Histogram& net_to_ws_latency = latency.WithLabels({"net_to_ws"});
  metrics::Gauge& active_flows = flows.WithLabels({});

  static ProxyMetrics& Get() {
    static ProxyMetrics m;
    return m;
  }
  void Drop(std::string_view reason) { dropped.WithLabels({std::string(reason)}).Inc(); }
};

}  // namespace webrtc2sip::signaling
