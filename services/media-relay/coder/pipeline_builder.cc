#include "services/media-relay/coder/pipeline_builder.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/cwrap/gst_ptr.h"
#include "services/media-relay/coder/str_cat.h"
#include "services/media-relay/coder/transcoder.h"

namespace webrtc2sip::media::coder {
namespace {

absl::StatusOr<GObjectPtr<GstElement>> Make(std::string_view factory, std::string_view options) {
  const std::string name(factory);
  GObjectPtr<GstElement> element = AdoptGObject(gst_element_factory_make(name.c_str(), nullptr));
  if (!element) {
    return absl::FailedPreconditionError(
        StrCat("GStreamer element '", factory, "' is not installed"));
  }
  if (!ApplyOptions(element.get(), options)) {
    return absl::InternalError(StrCat("bad options for '", factory, "': ", options));
  }
  return element;
}

absl::StatusOr<GObjectPtr<GstElement>> MakeCapsFilter(const std::string& caps_text) {
  GstCapsPtr caps(gst_caps_from_string(caps_text.c_str()));
  if (!caps) return absl::InternalError(StrCat("bad caps: ", caps_text));
  GObjectPtr<GstElement> filter = AdoptGObject(gst_element_factory_make("capsfilter", nullptr));
  if (!filter) return absl::FailedPreconditionError("GStreamer element 'capsfilter' is missing");
  g_object_set(filter.get(), "caps", caps.get(), nullptr);
  return filter;
}

std::string RtpCaps(const CoderCodec& codec, uint8_t payload_type) {
  std::string caps = StrCat("application/x-rtp,media=(string)",
                            codec.media == MediaType::kAudio ? "audio" : "video",
                            ",clock-rate=(int)", codec.clock_rate, ",encoding-name=(string)",
                            codec.encoding_name, ",payload=(int)", payload_type);
  if (!codec.rtp_caps.empty()) caps += StrCat(",", codec.rtp_caps);
  return caps;
}

std::string RawCaps(const CoderCodec& to, const TranscoderConfig& config) {
  if (to.media == MediaType::kAudio) {
    return StrCat("audio/x-raw,rate=(int)", to.sample_rate, ",channels=(int)1");
  }
  uint32_t width = config.width;
  uint32_t height = config.height;
  if (to.fixed_width != 0) {
    width = to.fixed_width;
    height = to.fixed_height;
  }
  std::string caps = "video/x-raw,format=(string)I420,pixel-aspect-ratio=(fraction)1/1";
  if (width != 0 && height != 0) {
    caps += StrCat(",width=(int)", width, ",height=(int)", height);
  }
  return caps;
}

// Debian's avenc_mpeg4 (gst-libav 1.22, FFmpeg 5.1) sends its frames without timestamps, and
// rtpmp4vpay then stamps every packet alike. The video encoders here make no B-frames (one
// frame out per frame in, in order), so a frame without one takes that of the last input.
GstPadProbeReturn RememberPts(GstPad*, GstPadProbeInfo* info, gpointer last) {
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_PTS_IS_VALID(buffer)) *static_cast<GstClockTime*>(last) = GST_BUFFER_PTS(buffer);
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn RestorePts(GstPad*, GstPadProbeInfo* info, gpointer last) {
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  const GstClockTime pts = *static_cast<GstClockTime*>(last);
  if (!GST_BUFFER_PTS_IS_VALID(buffer) && GST_CLOCK_TIME_IS_VALID(pts)) {
    buffer = gst_buffer_make_writable(buffer);
    GST_BUFFER_PTS(buffer) = pts;
    GST_BUFFER_DTS(buffer) = pts;
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
  }
  return GST_PAD_PROBE_OK;
}

void RestoreEncoderTimestamps(GstElement* encoder) {
  GObjectPtr<GstPad> sink(gst_element_get_static_pad(encoder, "sink"));
  GObjectPtr<GstPad> src(gst_element_get_static_pad(encoder, "src"));
  if (!sink || !src) return;
  // Both probes run on the one streaming thread; the encoder's qdata owns the shared value.
  auto* last = new GstClockTime(GST_CLOCK_TIME_NONE);
  g_object_set_data_full(G_OBJECT(encoder), "webrtc2sip-last-pts", last,
                         [](gpointer p) { delete static_cast<GstClockTime*>(p); });
  gst_pad_add_probe(sink.get(), GST_PAD_PROBE_TYPE_BUFFER, &RememberPts, last, nullptr);
  gst_pad_add_probe(src.get(), GST_PAD_PROBE_TYPE_BUFFER, &RestorePts, last, nullptr);
}

}  // namespace

bool ApplyOptions(GstElement* element, std::string_view options) {
  size_t pos = 0;
  while (pos < options.size()) {
    const size_t end = std::min(options.find(' ', pos), options.size());
    const std::string_view item = options.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string name(item.substr(0, eq));
    const std::string value(item.substr(eq + 1));
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(element), name.c_str()) == nullptr) {
      return false;
    }
    gst_util_set_object_arg(G_OBJECT(element), name.c_str(), value.c_str());
  }
  return true;
}

absl::StatusOr<BuiltPipeline> BuildPipeline(const CoderCodec& from, const CoderCodec& to,
                                            const TranscoderConfig& config) {
  if (from.media != to.media) {
    return absl::InvalidArgumentError(
        StrCat("cannot transcode ", from.name, " to ", to.name, ": audio and video"));
  }
  const bool audio = from.media == MediaType::kAudio;
  BuiltPipeline out;
  out.pipeline = AdoptGObject(gst_pipeline_new(nullptr));

  // The chain in order; each is added to the pipeline and linked to the one before.
  std::vector<GObjectPtr<GstElement>> chain;
  auto add = [&chain](absl::StatusOr<GObjectPtr<GstElement>> element) -> absl::Status {
    if (!element.ok()) return element.status();
    chain.push_back(std::move(*element));
    return absl::OkStatus();
  };

  out.input_caps.reset(gst_caps_from_string(RtpCaps(from, config.input_payload_type).c_str()));
  if (!out.input_caps) return absl::InternalError("bad RTP caps");
  if (!config.inline_input) {
    // appsrc: timestamps are ours (from RTP), pushes never block; buffers are bounded by the
    // transcoder's pool, not by the queue.
    auto appsrc = Make("appsrc", "format=time stream-type=stream block=false max-bytes=0");
    if (!appsrc.ok()) return appsrc.status();
    g_object_set(appsrc->get(), "caps", out.input_caps.get(), nullptr);
    out.appsrc = RefGObject(appsrc->get());
    chain.push_back(std::move(*appsrc));
  }

  absl::Status status;
  if (config.jitter_buffer_ms > 0) {
    // mode=none: output times from RTP timestamps alone, from the first packet's arrival.
    status = add(Make("rtpjitterbuffer", "mode=none"));
    if (!status.ok()) return status;
    g_object_set(chain.back().get(), "latency", static_cast<guint>(config.jitter_buffer_ms),
                 nullptr);
  }
  if (!(status = add(Make(from.depayloader, ""))).ok()) return status;
  if (!(status = add(Make(from.decoder, from.decoder_options))).ok()) return status;
  out.decoder = RefGObject(chain.back().get());
  if (audio) {
    // No dither: the float decoders' output is quantized to 16 bits once, then to 8 (G.711),
    // and TPDF dither draws two random numbers a sample (a fifth of opus -> pcmu's pipeline).
    if (!(status = add(Make("audioconvert", "dithering=none"))).ok()) return status;
    if (!(status = add(Make("audioresample", ""))).ok()) return status;
  } else {
    // RTP video has no frame rate, so decoders announce 0/1 (variable): theoraenc refuses
    // that, and x264enc holds every frame until the next one comes (a frame of latency, and a
    // keyframe request served a frame late). Encoders are told a nominal 30/1; timestamps
    // still carry the real timing.
    if (!(status = add(Make("capssetter", ""))).ok()) return status;
    {
      GstCapsPtr nominal(gst_caps_from_string("video/x-raw,framerate=(fraction)30/1"));
      g_object_set(chain.back().get(), "caps", nominal.get(), nullptr);
    }
    if (!(status = add(Make("videoconvert", ""))).ok()) return status;
    if (!(status = add(Make("videoscale", ""))).ok()) return status;
  }
  if (!(status = add(MakeCapsFilter(RawCaps(to, config)))).ok()) return status;
  if (to.encoder.empty()) {
    return absl::FailedPreconditionError(StrCat("GStreamer has no encoder for ", to.name));
  }
  if (!(status = add(Make(to.encoder, to.encoder_options))).ok()) return status;
  out.encoder = RefGObject(chain.back().get());
  if (!audio) RestoreEncoderTimestamps(out.encoder.get());
  if (!to.encoded_caps.empty()) {
    if (!(status = add(MakeCapsFilter(std::string(to.encoded_caps)))).ok()) return status;
  }
  if (!(status = add(Make(to.payloader, to.payloader_options))).ok()) return status;
  // Output times start at 0 (see TimestampMap); SSRC and sequence are the caller's anyway.
  g_object_set(chain.back().get(), "pt", static_cast<guint>(config.output_payload_type),
               "timestamp-offset", 0u, "seqnum-offset", 0, "mtu", static_cast<guint>(config.mtu),
               nullptr);
  if (!config.inline_input) {
    if (!(status = add(Make("appsink", "sync=false async=false emit-signals=false"))).ok()) {
      return status;
    }
    out.appsink = RefGObject(chain.back().get());
  }

  GstElement* previous = nullptr;
  for (GObjectPtr<GstElement>& element : chain) {
    // The bin takes its own reference (it sinks none: ours were sunk by AdoptGObject).
    gst_bin_add(GST_BIN(out.pipeline.get()), element.get());
    if (previous != nullptr && !gst_element_link(previous, element.get())) {
      return absl::InternalError(StrCat("cannot link ", GST_ELEMENT_NAME(previous), " to ",
                                        GST_ELEMENT_NAME(element.get()), " for ", from.name, " -> ",
                                        to.name));
    }
    previous = element.get();
  }
  if (config.inline_input) {
    out.input = GObjectPtr<GstPad>(gst_element_get_static_pad(chain.front().get(), "sink"));
    if (!out.input) return absl::InternalError(StrCat("no sink pad on ", GST_ELEMENT_NAME(chain.front().get())));
    out.output = GObjectPtr<GstPad>(gst_element_get_static_pad(chain.back().get(), "src"));
    if (!out.output) return absl::InternalError(StrCat("no source pad on ", GST_ELEMENT_NAME(chain.back().get())));
  }
  return out;
}

}  // namespace webrtc2sip::media::coder
