#pragma once

// The Media Coder's metrics, labelled by codec pair ({from="opus",to="pcmu"}); children are
// looked up once per transcoder, so the packet path only increments.

#include <string_view>

#include "common/metrics/registry.h"

namespace webrtc2sip::media::coder {

struct CoderMetrics {
  metrics::Counter& streams;  // webrtc2sip_coder_streams_total
  metrics::Gauge& active;     // webrtc2sip_coder_streams_active
  metrics::Counter& packets_in;
  metrics::Counter& packets_out;  // webrtc2sip_coder_packets_total{direction}
  metrics::Counter& frames_decoded;
  metrics::Counter& frames_encoded;  // webrtc2sip_coder_frames_total{stage}
  metrics::Counter& dropped_bad_packet;
  metrics::Counter& dropped_late;
  metrics::Counter& dropped_input_full;
  metrics::Counter& dropped_output_full;
  metrics::Counter& dropped_failed;   // webrtc2sip_coder_dropped_packets_total{reason}
  metrics::Counter& pipeline_errors;  // webrtc2sip_coder_pipeline_errors_total
  metrics::Histogram& added_latency;  // webrtc2sip_coder_added_latency_seconds

  // Registers the families on first use (in Registry::Global()). Control plane.
  static CoderMetrics For(std::string_view from, std::string_view to);
};

}  // namespace webrtc2sip::media::coder
