#include "tests/unit/media-relay/coder_test_media.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "common/cwrap/gobject_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "services/media-relay/coder/gst_runtime.h"

namespace webrtc2sip::media::coder::testing {
namespace {

GObjectPtr<GstElement> Launch(const std::string& description) {
  EnsureGstreamer();
  GError* error = nullptr;
  GObjectPtr<GstElement> pipeline = AdoptGObject(gst_parse_launch(description.c_str(), &error));
  GErrorPtr owned(error);
  if (!pipeline || error != nullptr) {
    throw std::runtime_error("bad test pipeline: " + description +
                             (error ? std::string(": ") + error->message : ""));
  }
  return pipeline;
}

GObjectPtr<GstElement> ByName(GstElement* pipeline, const char* name) {
  return GObjectPtr<GstElement>(gst_bin_get_by_name(GST_BIN(pipeline), name));
}

// Pulls samples from "sink" until EOS (or an error, which throws), calling `each`.
template <typename F>
void PullAll(GstElement* pipeline, F each) {
  GObjectPtr<GstElement> sink = ByName(pipeline, "sink");
  for (;;) {
    GstSamplePtr sample(gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 30 * GST_SECOND));
    if (!sample) break;
    each(sample.get());
  }
  GObjectPtr<GstBus> bus(gst_element_get_bus(pipeline));
  GstMessagePtr error(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  if (error) {
    GError* e = nullptr;
    gst_message_parse_error(error.get(), &e, nullptr);
    GErrorPtr owned(e);
    throw std::runtime_error(std::string("test pipeline error: ") + (e ? e->message : "?"));
  }
}

void Stop(GstElement* pipeline) {
  gst_element_set_state(pipeline, GST_STATE_NULL);
}

// Pushes RTP packets into "src", timestamped from their RTP timestamps, then EOS.
void PushRtp(GstElement* pipeline, const std::vector<Packet>& packets, int clock_rate) {
  GObjectPtr<GstElement> src = ByName(pipeline, "src");
  if (packets.empty()) {
    gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
    return;
  }
  const uint32_t first = RtpTimestamp(packets.front());
  for (const Packet& p : packets) {
    GstBuffer* buffer = gst_buffer_new_memdup(p.data(), p.size());
    const uint32_t ticks = RtpTimestamp(p) - first;
    GST_BUFFER_PTS(buffer) = gst_util_uint64_scale_int(ticks, GST_SECOND, clock_rate);
    gst_app_src_push_buffer(GST_APP_SRC(src.get()), buffer);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
}

int ClockRateOf(const std::string& rtp_caps) {
  GstCapsPtr caps(gst_caps_from_string(rtp_caps.c_str()));
  int rate = 0;
  if (!caps || !gst_structure_get_int(gst_caps_get_structure(caps.get(), 0), "clock-rate", &rate)) {
    throw std::runtime_error("no clock-rate in " + rtp_caps);
  }
  return rate;
}

}  // namespace

std::vector<Packet> RunToEos(const std::string& description) {
  GObjectPtr<GstElement> pipeline = Launch(description);
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  std::vector<Packet> out;
  PullAll(pipeline.get(), [&out](GstSample* sample) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    out.emplace_back(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
  });
  Stop(pipeline.get());
  return out;
}

std::vector<Packet> EncodeAudio(const std::vector<int16_t>& samples, int rate,
                                const std::string& encode) {
  GObjectPtr<GstElement> pipeline = Launch(
      "appsrc name=src format=time caps=audio/x-raw,format=S16LE,layout=interleaved,"
      "channels=1,rate=" +
      std::to_string(rate) + " ! " + encode + " ! appsink name=sink sync=false");
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  GObjectPtr<GstElement> src = ByName(pipeline.get(), "src");
  const size_t chunk = static_cast<size_t>(rate) / 50;
  for (size_t i = 0; i < samples.size(); i += chunk) {
    const size_t n = std::min(chunk, samples.size() - i);
    GstBuffer* buffer = gst_buffer_new_memdup(samples.data() + i, n * sizeof(int16_t));
    GST_BUFFER_PTS(buffer) = gst_util_uint64_scale_int(i, GST_SECOND, rate);
    GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale_int(n, GST_SECOND, rate);
    gst_app_src_push_buffer(GST_APP_SRC(src.get()), buffer);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  std::vector<Packet> out;
  PullAll(pipeline.get(), [&out](GstSample* sample) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    out.emplace_back(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
  });
  Stop(pipeline.get());
  return out;
}

std::vector<int16_t> DecodeAudioRtp(const std::vector<Packet>& packets, const std::string& rtp_caps,
                                    const std::string& decode, int rate) {
  GObjectPtr<GstElement> pipeline =
      Launch("appsrc name=src format=time caps=\"" + rtp_caps + "\" ! " + decode +
             " ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=" +
             std::to_string(rate) + " ! appsink name=sink sync=false");
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  PushRtp(pipeline.get(), packets, ClockRateOf(rtp_caps));
  std::vector<int16_t> out;
  PullAll(pipeline.get(), [&out](GstSample* sample) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    const auto* s = reinterpret_cast<const int16_t*>(map.data);
    out.insert(out.end(), s, s + map.size / 2);
    gst_buffer_unmap(buffer, &map);
  });
  Stop(pipeline.get());
  return out;
}

DecodedVideo DecodeVideoRtp(const std::vector<Packet>& packets, const std::string& rtp_caps,
                            const std::string& decode) {
  GObjectPtr<GstElement> pipeline =
      Launch("appsrc name=src format=time caps=\"" + rtp_caps + "\" ! " + decode +
             " ! videoconvert ! video/x-raw,format=I420 ! appsink name=sink sync=false");
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  PushRtp(pipeline.get(), packets, 90000);
  DecodedVideo out;
  PullAll(pipeline.get(), [&out](GstSample* sample) {
    GstVideoInfo info;
    if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample))) return;
    ++out.frames;
    out.width = GST_VIDEO_INFO_WIDTH(&info);
    out.height = GST_VIDEO_INFO_HEIGHT(&info);
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) return;
    const auto* y = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    out.last_luma.resize(static_cast<size_t>(out.width) * out.height);
    for (int row = 0; row < out.height; ++row) {
      std::copy(y + row * stride, y + row * stride + out.width,
                out.last_luma.begin() + static_cast<ptrdiff_t>(row) * out.width);
    }
    gst_video_frame_unmap(&frame);
  });
  Stop(pipeline.get());
  return out;
}

int16_t MulawToLinear(uint8_t code) {
  code = static_cast<uint8_t>(~code);
  const int sign = code & 0x80;
  const int exponent = (code >> 4) & 0x07;
  const int mantissa = code & 0x0f;
  int magnitude = ((mantissa << 3) + 0x84) << exponent;
  magnitude -= 0x84;
  return static_cast<int16_t>(sign ? -magnitude : magnitude);
}

int16_t AlawToLinear(uint8_t code) {
  code ^= 0x55;
  const int sign = code & 0x80;
  const int exponent = (code >> 4) & 0x07;
  const int mantissa = code & 0x0f;
  int magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return static_cast<int16_t>(sign ? magnitude : -magnitude);
}

std::span<const uint8_t> RtpPayload(const Packet& p) {
  if (p.size() < 12 || (p[0] & 0x3f) != 0 || (p[0] & 0xc0) != 0x80) {
    throw std::runtime_error("unexpected RTP header (CSRC, extension or padding)");
  }
  return {p.data() + 12, p.size() - 12};
}

uint32_t RtpTimestamp(const Packet& p) {
  return (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7];
}

uint16_t RtpSequence(const Packet& p) {
  return static_cast<uint16_t>((p[2] << 8) | p[3]);
}

double ToneShare(std::span<const int16_t> samples, int rate, double frequency) {
  // Goertzel: power of one DFT bin, normalised by Parseval against the total energy.
  const double w = 2 * std::numbers::pi * frequency / rate;
  const double coefficient = 2 * std::cos(w);
  double s1 = 0, s2 = 0, energy = 0;
  for (int16_t x : samples) {
    const double s0 = x + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += static_cast<double>(x) * x;
  }
  const double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  if (energy == 0) return 0;
  return 2 * power / (static_cast<double>(samples.size()) * energy);
}

double DominantFrequency(std::span<const int16_t> samples, int rate, double step) {
  double best = 0, best_share = -1;
  for (double f = step; f < rate / 2.0; f += step) {
    const double share = ToneShare(samples, rate, f);
    if (share > best_share) {
      best_share = share;
      best = f;
    }
  }
  return best;
}

double LevelDbfs(std::span<const int16_t> samples) {
  double energy = 0;
  for (int16_t x : samples) energy += static_cast<double>(x) * x;
  const double rms = std::sqrt(energy / static_cast<double>(samples.size())) / 32768.0;
  return 20 * std::log10(rms * std::numbers::sqrt2);
}

size_t PushAll(Transcoder& transcoder, GMainContext* context, const std::vector<Packet>& packets) {
  size_t queued = 0;
  for (const Packet& p : packets) {
    PushResult result;
    while ((result = transcoder.Push(p)) == PushResult::kInputFull) {
      if (!g_main_context_iteration(context, FALSE)) g_usleep(1000);
    }
    if (result == PushResult::kQueued) ++queued;
  }
  return queued;
}

}  // namespace webrtc2sip::media::coder::testing
