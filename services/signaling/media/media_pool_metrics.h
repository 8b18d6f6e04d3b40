#pragma once

// The media node pool's metrics, in the process-wide registry.

#include <string>

#include "common/metrics/registry.h"

namespace webrtc2sip::signaling {

struct MediaPoolMetrics {
  static MediaPoolMetrics& Get();

  // webrtc2sip_media_nodes{state="healthy|draining|down"}
  metrics::Gauge& healthy;
  metrics::Gauge& draining;
  metrics::Gauge& down;
  // webrtc2sip_media_node_choices_total{node}
  metrics::CounterFamily& choices;
  // webrtc2sip_media_node_failures_total{reason}
  metrics::CounterFamily& failures;
  // webrtc2sip_media_rpc_duration_seconds{method}
  metrics::HistogramFamily& rpc_latency;
  // webrtc2sip_media_nodes_listed: in the static list or the last DNS answer
  metrics::Gauge& listed;

  void Failure(const std::string& reason) { failures.WithLabels({reason}).Inc(); }
};

}  // namespace webrtc2sip::signaling
