#include "services/media-relay/coder/coder_metrics.h"

#include <string>
#include <vector>

namespace webrtc2sip::media::coder {
namespace {

struct Families {
  metrics::CounterFamily& streams;
  metrics::GaugeFamily& active;
  metrics::CounterFamily& packets;
  metrics::CounterFamily& frames;
  metrics::CounterFamily& dropped;
  metrics::CounterFamily& errors;
  metrics::HistogramFamily& latency;

  static Families& Get() {
    static Families families = [] {
      metrics::Registry& r = metrics::Registry::Global();
      return Families{
          r.AddCounter("webrtc2sip_coder_streams_total",
                       "Transcoded stream directions started, by codec pair.", {"from", "to"}),
          r.AddGauge("webrtc2sip_coder_streams_active",
                     "Transcoded stream directions running, by codec pair.", {"from", "to"}),
          r.AddCounter("webrtc2sip_coder_packets_total",
                       "RTP packets into (in) and out of (out) the Media Coder.",
                       {"from", "to", "direction"}),
          r.AddCounter("webrtc2sip_coder_frames_total",
                       "Frames out of the decoder (decoded) and the encoder (encoded).",
                       {"from", "to", "stage"}),
          r.AddCounter("webrtc2sip_coder_dropped_packets_total",
                       "RTP packets the Media Coder dropped, by reason.", {"from", "to", "reason"}),
          r.AddCounter("webrtc2sip_coder_pipeline_errors_total",
                       "Transcoding pipelines ended by a GStreamer error.", {"from", "to"}),
          r.AddHistogram("webrtc2sip_coder_added_latency_seconds",
                         "Time from an input packet to the output carrying its first sample.",
                         {"from", "to"},
                         {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64}),
      };
    }();
    return families;
  }
};

}  // namespace

CoderMetrics CoderMetrics::For(std::string_view from_view, std::string_view to_view) {
  Families& f = Families::Get();
  const std::string from(from_view);
  const std::string to(to_view);
  return CoderMetrics{
      f.streams.WithLabels({from, to}),
      f.active.WithLabels({from, to}),
      f.packets.WithLabels({from, to, "in"}),
      f.packets.WithLabels({from, to, "out"}),
      f.frames.WithLabels({from, to, "decoded"}),
      f.frames.WithLabels({from, to, "encoded"}),
      f.dropped.WithLabels({from, to, "bad_packet"}),
      f.dropped.WithLabels({from, to, "late"}),
      f.dropped.WithLabels({from, to, "input_full"}),
      f.dropped.WithLabels({from, to, "output_full"}),
      f.dropped.WithLabels({from, to, "failed"}),
      f.errors.WithLabels({from, to}),
      f.latency.WithLabels({from, to}),
  };
}

}  // namespace webrtc2sip::media::coder
