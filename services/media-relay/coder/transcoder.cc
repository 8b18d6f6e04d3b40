#include "services/media-relay/coder/transcoder.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video-event.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "common/cwrap/c_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "services/media-relay/coder/coder_metrics.h"
#include "services/media-relay/coder/gst_runtime.h"
#include "services/media-relay/coder/latency_tracker.h"
#include "services/media-relay/coder/pipeline_builder.h"
#include "services/media-relay/coder/pipeline_reaper.h"
#include "services/media-relay/coder/rtp_output_queue.h"
#include "services/media-relay/coder/str_cat.h"
#include "services/media-relay/rtp/rtp_packet.h"

namespace webrtc2sip::media::coder {

// Everything the streaming threads use. The pipeline's callbacks and probes get a raw pointer:
// the reaper keeps this alive until the pipeline is freed.
struct Transcoder::Shared {
  Shared(CoderMetrics m, std::unique_ptr<RtpOutputQueue> q) : metrics(m), queue(std::move(q)) {}
  ~Shared() {
    if (pool) gst_buffer_pool_set_active(pool.get(), FALSE);
    metrics.active.Dec();
  }

  CoderMetrics metrics;
  std::unique_ptr<RtpOutputQueue> queue;
  TranscoderStats stats;
  LatencyTracker latency;
  GObjectPtr<GstBufferPool> pool;  // Deactivated once the pipeline has let go of its buffers.
};

namespace {

// What a pad probe counts into: the transcoder's own stats and the process-wide metric.
struct FrameCount {
  std::atomic<uint64_t>* stat;
  metrics::Counter* metric;
};

GstPadProbeReturn CountBuffers(GstPad*, GstPadProbeInfo* info, gpointer data) {
  uint64_t n = 1;
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    n = gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
  }
  const auto* count = static_cast<const FrameCount*>(data);
  count->stat->fetch_add(n, std::memory_order_relaxed);
  count->metric->Inc(static_cast<double>(n));
  return GST_PAD_PROBE_OK;
}

void CountOnSrcPad(GstElement* element, std::atomic<uint64_t>* stat, metrics::Counter& metric) {
  GObjectPtr<GstPad> pad(gst_element_get_static_pad(element, "src"));
  if (!pad) return;
  gst_pad_add_probe(
      pad.get(),
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
      &CountBuffers, new FrameCount{stat, &metric},
      [](gpointer data) { delete static_cast<FrameCount*>(data); });
}

// Streaming thread (inline: the pushing thread): one payloaded packet, into the output queue.
void TakeOutput(Transcoder::Shared* shared, GstBuffer* buffer) {
  GstMapInfo map;
  if (buffer == nullptr || !gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
  const bool queued = shared->queue->Push({map.data, map.size});
  gst_buffer_unmap(buffer, &map);
  if (!queued) {
    shared->stats.output_dropped.fetch_add(1, std::memory_order_relaxed);
    shared->metrics.dropped_output_full.Inc();
    return;
  }
  if (GST_BUFFER_PTS_IS_VALID(buffer)) {
    const auto latency = shared->latency.MeasureOutput(static_cast<int64_t>(GST_BUFFER_PTS(buffer)),
                                                       g_get_monotonic_time());
    if (latency) shared->metrics.added_latency.Observe(static_cast<double>(*latency) / 1e6);
  }
}

GstFlowReturn OnNewSample(GstAppSink* sink, gpointer data) {
  GstSamplePtr sample(gst_app_sink_pull_sample(sink));
  if (sample) TakeOutput(static_cast<Transcoder::Shared*>(data), gst_sample_get_buffer(sample.get()));
  return GST_FLOW_OK;
}

// The output pad's: what appsink does for us without its queue, lock, sample and signal.
GstFlowReturn OnOutputBuffer(GstPad* pad, GstObject*, GstBuffer* buffer) {
  TakeOutput(static_cast<Transcoder::Shared*>(gst_pad_get_element_private(pad)), buffer);
  gst_buffer_unref(buffer);
  return GST_FLOW_OK;
}

gboolean OnOutputEvent(GstPad*, GstObject*, GstEvent* event) {
  gst_event_unref(event);  // Caps, segment, EOS: nothing to do with them past the payloader.
  return TRUE;
}

// A pad of the transcoder's own, linked to the pipeline (`peer` its first sink or last source).
GObjectPtr<GstPad> OwnPad(const char* name, GstPadDirection direction, GstPad* peer) {
  GObjectPtr<GstPad> pad = AdoptGObject(GST_PAD(gst_object_ref_sink(gst_pad_new(name, direction))));
  if (!gst_pad_set_active(pad.get(), TRUE)) return {};
  const GstPadLinkReturn linked = direction == GST_PAD_SRC ? gst_pad_link(pad.get(), peer)
                                                           : gst_pad_link(peer, pad.get());
  if (linked != GST_PAD_LINK_OK) return {};
  return pad;
}

// Unlinks and drops one of OwnPad()'s, on the thread that pushes through it.
void ReleaseOwnPad(GObjectPtr<GstPad>& pad) {
  if (!pad) return;
  if (GObjectPtr<GstPad> peer{gst_pad_get_peer(pad.get())}) {
    if (GST_PAD_IS_SRC(pad.get())) {
      gst_pad_unlink(pad.get(), peer.get());
    } else {
      gst_pad_unlink(peer.get(), pad.get());
    }
  }
  gst_pad_set_active(pad.get(), FALSE);
  pad.reset();
}

struct OutputSource {
  GSource base;
  Transcoder* transcoder;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Transcoder>> Transcoder::Create(const TranscoderConfig& config,
                                                               GMainContext* context,
                                                               Listener& listener) {
  EnsureGstreamer();
  const CoderCodec* from = FindCoderCodec(config.from);
  const CoderCodec* to = FindCoderCodec(config.to);
  if (from == nullptr || to == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("unknown codec: ", from == nullptr ? config.from : config.to));
  }
  if (const CodecAvailability a = CheckAvailability(*from); !a.can_decode) {
    return absl::FailedPreconditionError(StrCat("cannot decode ", from->name, ": ", a.missing));
  }
  if (const CodecAvailability a = CheckAvailability(*to); !a.can_encode) {
    return absl::FailedPreconditionError(StrCat("cannot encode ", to->name, ": ", a.missing));
  }
  const bool audio = from->media == MediaType::kAudio;
  TranscoderConfig effective = config;
  effective.inline_input = audio && config.inline_input && config.jitter_buffer_ms == 0;
  auto built = BuildPipeline(*from, *to, effective);
  if (!built.ok()) return built.status();

  // Inline, the queue is emptied after every push (an audio push makes one packet), so a few
  // slots do; a ring of 128 x 2 KiB per stream went round through cold memory.
  std::unique_ptr<RtpOutputQueue> queue =
      RtpOutputQueue::Create(config.output_packets != 0 ? config.output_packets
                             : effective.inline_input   ? 16
                             : audio                    ? 128
                                                        : 1024);
  if (!queue) return absl::ResourceExhaustedError("cannot create an eventfd");
  std::unique_ptr<Transcoder> t(new Transcoder(config, *from, *to, listener));
  t->shared_ = std::make_shared<Shared>(CoderMetrics::For(from->name, to->name), std::move(queue));
  Shared& shared = *t->shared_;
  shared.metrics.streams.Inc();
  shared.metrics.active.Inc();

  // Input buffers: a pool of MTU-sized buffers, so Push() allocates nothing in steady state.
  // Inline, a buffer is back in the pool when Push() returns (unless an element keeps it): two
  // to start with and no limit, so the pool holds what is really in use and reuses them warm
  // (it hands buffers out first in, first out: 64 would go round through cold memory).
  t->pool_ = AdoptGObject(gst_buffer_pool_new());
  GstStructure* pool_config = gst_buffer_pool_get_config(t->pool_.get());
  const size_t buffers = config.input_buffers != 0 ? config.input_buffers : audio ? 64 : 512;
  const bool grow = effective.inline_input && config.input_buffers == 0;
  gst_buffer_pool_config_set_params(pool_config, nullptr, RtpOutputQueue::kSlotSize,
                                    grow ? 2u : static_cast<guint>(buffers),
                                    grow ? 0u : static_cast<guint>(buffers));
  if (!gst_buffer_pool_set_config(t->pool_.get(), pool_config) ||
      !gst_buffer_pool_set_active(t->pool_.get(), TRUE)) {
    return absl::ResourceExhaustedError("cannot set up the input buffer pool");
  }
  shared.pool = RefGObject(t->pool_.get());

  t->pipeline_ = std::move(built->pipeline);
  t->appsrc_ = std::move(built->appsrc);
  if (effective.inline_input) {
    // Our own source pad in front of the depayloader: Push() pushes on it from this thread.
    t->input_pad_ = OwnPad("webrtc2sip-input", GST_PAD_SRC, built->input.get());
    if (!t->input_pad_) {
      t->StopPipeline();
      return absl::InternalError(StrCat("cannot feed the ", from->name, " -> ", to->name, " pipeline"));
    }
  }
  t->encoder_ = std::move(built->encoder);
  // The configured target, or the codec's default (the encoders' own defaults vary widely).
  t->SetBitrate(config.bitrate != 0 ? config.bitrate : to->default_bitrate);
  CountOnSrcPad(built->decoder.get(), &shared.stats.frames_decoded, shared.metrics.frames_decoded);
  CountOnSrcPad(t->encoder_.get(), &shared.stats.frames_encoded, shared.metrics.frames_encoded);
  if (effective.inline_input) {
    // Our own sink pad after the payloader: packets reach the queue on the pushing thread.
    t->output_pad_ = OwnPad("webrtc2sip-output", GST_PAD_SINK, built->output.get());
    if (t->output_pad_) {
      gst_pad_set_element_private(t->output_pad_.get(), &shared);
      gst_pad_set_chain_function(t->output_pad_.get(), &OnOutputBuffer);
      gst_pad_set_event_function(t->output_pad_.get(), &OnOutputEvent);
    } else {
      t->StopPipeline();
      return absl::InternalError(StrCat("cannot take the ", from->name, " -> ", to->name, " pipeline's output"));
    }
  } else {
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = &OnNewSample;
    gst_app_sink_set_callbacks(GST_APP_SINK(built->appsink.get()), &callbacks, &shared, nullptr);
  }

  // Errors come to the worker through its bus relay; output through the queue's eventfd.
  t->bus_relay_ = BusRelay::For(context);
  if (!t->bus_relay_) return absl::ResourceExhaustedError("cannot create an eventfd");
  {
    GObjectPtr<GstBus> bus(gst_element_get_bus(t->pipeline_.get()));
    t->bus_watch_ = t->bus_relay_->Watch(bus.get(), StrCat(from->name, " -> ", to->name, ": "),
                                         t.get());
  }

  static GSourceFuncs output_funcs = {
      nullptr,
      nullptr,
      [](GSource* source, GSourceFunc, gpointer) -> gboolean {
        return OnOutputReady(reinterpret_cast<OutputSource*>(source)->transcoder);
      },
      nullptr,
      nullptr,
      nullptr};
  if (t->input_pad_) {
    // Output is taken right after each push, on this thread: nothing to wake.
    shared.queue->DisableWakeups();
  } else {
    GSource* output = g_source_new(&output_funcs, sizeof(OutputSource));
    reinterpret_cast<OutputSource*>(output)->transcoder = t.get();
    g_source_set_name(output, "webrtc2sip coder output");
    g_source_add_unix_fd(output, shared.queue->fd(), G_IO_IN);
    g_source_attach(output, context);
    t->output_source_.reset(output);
  }

  // Our clock and base time, set before starting, so arrival times are known from the first
  // packet on. Without a live source or a syncing sink, PLAYING is reached at once and data
  // flows as it is pushed: the input's pace is the pipeline's.
  t->clock_ = AdoptGObject(gst_system_clock_obtain());
  gst_pipeline_use_clock(GST_PIPELINE(t->pipeline_.get()), t->clock_.get());
  gst_element_set_start_time(t->pipeline_.get(), GST_CLOCK_TIME_NONE);
  t->base_time_ = gst_clock_get_time(t->clock_.get());
  gst_element_set_base_time(t->pipeline_.get(), t->base_time_);
  if (gst_element_set_state(t->pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    t->StopPipeline();
    return absl::InternalError(
        StrCat("the ", from->name, " -> ", to->name, " pipeline does not start"));
  }
  if (t->input_pad_) {
    // What appsrc would send before its first buffer: stream start, caps, a time segment.
    static std::atomic<uint32_t> streams{0};
    GstEvent* start = gst_event_new_stream_start(StrCat("webrtc2sip-coder-", streams++).c_str());
    gst_event_set_group_id(start, gst_util_group_id_next());
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    if (!gst_pad_push_event(t->input_pad_.get(), start) ||
        !gst_pad_push_event(t->input_pad_.get(), gst_event_new_caps(built->input_caps.get())) ||
        !gst_pad_push_event(t->input_pad_.get(), gst_event_new_segment(&segment))) {
      t->StopPipeline();
      return absl::InternalError(
          StrCat("the ", from->name, " -> ", to->name, " pipeline refuses its input"));
    }
  }
  return t;
}

Transcoder::Transcoder(const TranscoderConfig& config, const CoderCodec& from, const CoderCodec& to,
                       Listener& listener)
    : from_(&from),
      to_(&to),
      listener_(listener),
      timestamps_(from.clock_rate, to.clock_rate),
      input_payload_type_(config.input_payload_type),
      jitter_buffer_(config.jitter_buffer_ms > 0),
      output_ssrc_(g_random_int()),
      next_sequence_(static_cast<uint16_t>(g_random_int())) {}

Transcoder::~Transcoder() {
  if (bus_relay_) bus_relay_->Unwatch(bus_watch_);
  output_source_.reset();
  StopPipeline();
}

void Transcoder::StopPipeline() {
  // Unlinked here, on the pushing thread, before the reaper stops the pipeline.
  ReleaseOwnPad(input_pad_);
  ReleaseOwnPad(output_pad_);
  appsrc_.reset();
  encoder_.reset();
  pool_.reset();
  if (pipeline_) PipelineReaper::Global().Reap(pipeline_.release(), shared_);
}

const TranscoderStats& Transcoder::stats() const {
  return shared_->stats;
}

PushResult Transcoder::Push(std::span<const uint8_t> packet) {
  Shared& s = *shared_;
  auto drop = [&s](PushResult result, metrics::Counter& counter) {
    s.stats.packets_dropped.fetch_add(1, std::memory_order_relaxed);
    counter.Inc();
    return result;
  };
  if (failed_) return drop(PushResult::kFailed, s.metrics.dropped_failed);
  if (packet.size() > RtpOutputQueue::kSlotSize) {
    return drop(PushResult::kBadPacket, s.metrics.dropped_bad_packet);
  }
  GstBuffer* raw = nullptr;
  GstBufferPoolAcquireParams params{};
  params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
  if (gst_buffer_pool_acquire_buffer(pool_.get(), &raw, &params) != GST_FLOW_OK) {
    return drop(PushResult::kInputFull, s.metrics.dropped_input_full);
  }
  GstMiniPtr<GstBuffer> buffer(raw);
  gst_buffer_set_size(raw, static_cast<gssize>(packet.size()));
  GstMapInfo map;
  if (!gst_buffer_map(raw, &map, GST_MAP_WRITE)) {
    return drop(PushResult::kInputFull, s.metrics.dropped_input_full);
  }
  std::memcpy(map.data, packet.data(), packet.size());
  const std::optional<RtpPacket> rtp = RtpPacket::Parse(map.data, packet.size());
  const bool valid = rtp && rtp->payload_type() == input_payload_type_ && !rtp->payload().empty();
  const uint32_t timestamp = valid ? rtp->timestamp() : 0;
  gst_buffer_unmap(raw, &map);
  if (!valid) return drop(PushResult::kBadPacket, s.metrics.dropped_bad_packet);

  // With a jitter buffer, times start at the first packet's arrival and every packet carries
  // its arrival time (DTS): the jitter buffer waits on the pipeline clock.
  int64_t arrival_ns = 0;
  if (jitter_buffer_) {
    GstClockTime running = gst_clock_get_time(clock_.get()) - base_time_;
    arrival_ns = static_cast<int64_t>(running);
    GST_BUFFER_DTS(raw) = running;
  }
  const int64_t pts = timestamps_.ToPipelineTime(timestamp, arrival_ns);
  if (pts < 0) return drop(PushResult::kLate, s.metrics.dropped_late);
  GST_BUFFER_PTS(raw) = static_cast<GstClockTime>(pts);
  s.latency.RecordInput(pts, g_get_monotonic_time());
  auto count_in = [&s] {
    s.stats.packets_in.fetch_add(1, std::memory_order_relaxed);
    s.metrics.packets_in.Inc();
  };
  if (input_pad_) {
    count_in();
    // Through the whole pipeline now; an element's error also comes on the bus.
    const GstFlowReturn flow = gst_pad_push(input_pad_.get(), buffer.release());
    DeliverOutput();
    if (flow != GST_FLOW_OK) return drop(PushResult::kFailed, s.metrics.dropped_failed);
    return PushResult::kQueued;
  }
  // Takes the buffer. Fails only while the pipeline stops: the error comes on the bus.
  if (gst_app_src_push_buffer(GST_APP_SRC(appsrc_.get()), buffer.release()) != GST_FLOW_OK) {
    return drop(PushResult::kFailed, s.metrics.dropped_failed);
  }
  count_in();
  return PushResult::kQueued;
}

bool Transcoder::PrepareTelephoneEvent(std::span<uint8_t> packet, uint8_t output_payload_type) {
  std::optional<RtpPacket> rtp = RtpPacket::Parse(packet.data(), packet.size());
  if (!rtp) return false;
  const std::optional<uint32_t> timestamp = timestamps_.ToOutput(rtp->timestamp());
  if (!timestamp) return false;
  rtp->set_timestamp(*timestamp);
  // The event's duration counts ticks of the input's clock (RFC 4733 2.5.1.3): Opus's 48 kHz
  // on one leg is G.711's 8 kHz on the other.
  std::span<uint8_t> event = rtp->payload();
  if (event.size() >= 4 && from_->clock_rate != to_->clock_rate) {
    const uint64_t duration = (uint64_t{event[2]} << 8 | event[3]) * to_->clock_rate / from_->clock_rate;
    const uint16_t scaled = static_cast<uint16_t>(std::min<uint64_t>(duration, 0xffff));
    event[2] = static_cast<uint8_t>(scaled >> 8);
    event[3] = static_cast<uint8_t>(scaled & 0xff);
  }
  rtp->set_payload_type(output_payload_type & 0x7f);
  rtp->set_ssrc(output_ssrc_);
  rtp->set_sequence_number(next_sequence_++);
  return true;
}

void Transcoder::RequestKeyframe() {
  if (failed_ || to_->media != MediaType::kVideo || !encoder_) return;
  // Upstream into the encoder's source pad: the encoder base class makes the next frame a
  // keyframe. Without all-headers: it would push the headers as a buffer of their own, which
  // the payloader sends as a marked packet (a bogus frame end); the payloaders put the
  // configuration in front of keyframes themselves (config-interval).
  GObjectPtr<GstPad> pad(gst_element_get_static_pad(encoder_.get(), "src"));
  if (!pad) return;
  gst_pad_send_event(pad.get(),
                     gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, FALSE, 0));
}

bool Transcoder::SetBitrate(uint32_t bits_per_second) {
  if (failed_ || !encoder_ || to_->bitrate_property.empty() || to_->bitrate_unit == 0) {
    return false;
  }
  const std::string name(to_->bitrate_property);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(encoder_.get()), name.c_str());
  if (spec == nullptr) return false;
  // The property may be int, uint or int64 depending on the element: convert through GValue.
  GValue from = G_VALUE_INIT;
  GValue value = G_VALUE_INIT;
  g_value_init(&from, G_TYPE_UINT64);
  g_value_set_uint64(&from, bits_per_second / to_->bitrate_unit);
  g_value_init(&value, spec->value_type);
  const bool converted = g_value_transform(&from, &value) &&
                         g_param_value_validate(spec, &value) == FALSE;  // In range as is.
  if (converted) g_object_set_property(G_OBJECT(encoder_.get()), name.c_str(), &value);
  g_value_unset(&from);
  g_value_unset(&value);
  return converted;
}

void Transcoder::OnPipelineError(std::string reason) {
  if (!failed_) Fail(std::move(reason));  // May destroy this through the listener.
}

void Transcoder::Fail(std::string reason) {
  failed_ = true;
  shared_->metrics.pipeline_errors.Inc();
  StopPipeline();
  listener_.OnTranscoderFailed(reason);
}

gboolean Transcoder::OnOutputReady(gpointer data) {
  auto* self = static_cast<Transcoder*>(data);
  GSource* source = self->output_source_.get();
  // GLib holds the source during dispatch: if the listener destroys the transcoder, the
  // source is destroyed and the loop stops before touching it again.
  g_source_ref(source);
  Shared& s = *self->shared_;
  RtpOutputQueue& queue = *s.queue;
  queue.ClearWakeup();
  for (std::span<uint8_t> packet = queue.Pop(); !packet.empty(); packet = queue.Pop()) {
    self->Emit(packet, queue.dropped_before());
    if (g_source_is_destroyed(source)) break;
  }
  g_source_unref(source);
  return G_SOURCE_CONTINUE;
}

void Transcoder::DeliverOutput() {
  RtpOutputQueue& queue = *shared_->queue;
  for (std::span<uint8_t> packet = queue.Pop(); !packet.empty(); packet = queue.Pop()) {
    Emit(packet, queue.dropped_before());
  }
}

void Transcoder::Emit(std::span<uint8_t> packet, uint32_t dropped_before) {
  // One sequence space with the telephone events put in between (PrepareTelephoneEvent);
  // packets the queue had to drop leave a gap, so the receiver sees the loss.
  next_sequence_ = static_cast<uint16_t>(next_sequence_ + dropped_before);
  if (std::optional<RtpPacket> rtp = RtpPacket::Parse(packet.data(), packet.size())) {
    rtp->set_sequence_number(next_sequence_++);
    rtp->set_ssrc(output_ssrc_);
  }
  shared_->stats.packets_out.fetch_add(1, std::memory_order_relaxed);
  shared_->metrics.packets_out.Inc();
  listener_.OnTranscodedRtp(packet);
}

}  // namespace webrtc2sip::media::coder
