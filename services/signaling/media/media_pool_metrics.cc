#include "services/signaling/media/media_pool_metrics.h"

#include "services/signaling/media/media_rpc.h"

namespace webrtc2sip::signaling {

namespace {

metrics::GaugeFamily& NodesFamily() {
  return metrics::Registry::Global().AddGauge(
      "webrtc2sip_media_nodes",
      "Media-relay nodes known to signaling, by state: healthy (takes new sessions), "
      "draining, or down (no heartbeat).",
      {"state"});
}

}  // namespace

MediaPoolMetrics& MediaPoolMetrics::Get() {
  static MediaPoolMetrics* const metrics = new MediaPoolMetrics{
      NodesFamily().WithLabels({"healthy"}),
      NodesFamily().WithLabels({"draining"}),
      NodesFamily().WithLabels({"down"}),
      metrics::Registry::Global().AddCounter("webrtc2sip_media_node_choices_total",
                                             "Media sessions placed on each node.", {"node"}),
      metrics::Registry::Global().AddCounter("webrtc2sip_media_node_failures_total",
                                             "Failures seen by the media node pool, by reason.",
                                             {"reason"}),
      metrics::Registry::Global().AddHistogram(
          "webrtc2sip_media_rpc_duration_seconds",
          "Latency of MediaRelay calls from signaling, by method.", {"method"},
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}),
      metrics::Registry::Global()
          .AddGauge("webrtc2sip_media_nodes_listed",
                    "Media-relay nodes in the static list or the last DNS answer (A/AAAA or "
                    "SRV); a node no longer listed keeps its sessions until they end.",
                    {})
          .WithLabels({}),
  };
  return *metrics;
}

metrics::Histogram& MediaRpcLatency(const std::string& method) {
  return MediaPoolMetrics::Get().rpc_latency.WithLabels({method});
}

}  // namespace webrtc2sip::signaling
