#include "load/input_clips.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>

#include "common/cwrap/gobject_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "load/codec_libs.h"
#include "load/resampler.h"
#include "services/media-relay/coder/gst_runtime.h"

namespace webrtc2sip::bench::coder {
namespace {

constexpr uint8_t kOpusPt = 111;
constexpr uint8_t kPcmuPt = 0;
constexpr uint8_t kVp8Pt = 96;
constexpr uint8_t kH264Pt = 102;

// Speech-band tones under a 4 Hz envelope, plus a little noise: at `rate`, `count` samples.
std::vector<int16_t> TestSignal(int rate, size_t count) {
  std::vector<int16_t> out(count);
  std::mt19937 noise(42);
  std::uniform_real_distribution<double> hiss(-300, 300);
  for (size_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(i) / rate;
    const double envelope = 0.55 + 0.45 * std::sin(2 * std::numbers::pi * 4 * t);
    const double tones = 0.5 * std::sin(2 * std::numbers::pi * 300 * t) +
                         0.3 * std::sin(2 * std::numbers::pi * 440 * t) +
                         0.2 * std::sin(2 * std::numbers::pi * 1000 * t);
    out[i] = static_cast<int16_t>(12000 * envelope * tones + hiss(noise));
  }
  return out;
}

// One packet per audio frame: header and payload.
ClipFrame AudioFrame(Bytes encoded, uint8_t payload_type) {
  ClipFrame frame;
  Bytes packet(kRtpHeaderSize + encoded.size());
  WriteRtpHeader(packet.data(), payload_type, false, 0, 0, 0);
  std::copy(encoded.begin(), encoded.end(), packet.begin() + kRtpHeaderSize);
  frame.packets.push_back(std::move(packet));
  frame.encoded = std::move(encoded);
  return frame;
}

Bytes CopyBuffer(GstSample* sample) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (buffer == nullptr || !gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    throw std::runtime_error("input clip: unreadable buffer");
  }
  Bytes out(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  return out;
}

// Every sample an appsink queued (it keeps them all: max-buffers=0) once the pipeline is done.
std::vector<Bytes> Drain(GstElement* pipeline, const char* name) {
  GObjectPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline), name));
  std::vector<Bytes> out;
  while (GstSamplePtr sample{gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 0)}) {
    out.push_back(CopyBuffer(sample.get()));
  }
  return out;
}

}  // namespace

size_t InputClip::packets() const {
  size_t n = 0;
  for (const ClipFrame& f : frames) n += f.packets.size();
  return n;
}

size_t InputClip::bytes() const {
  size_t n = 0;
  for (const ClipFrame& f : frames) n += f.encoded.size();
  return n;
}

void WriteRtpHeader(uint8_t* out, uint8_t payload_type, bool marker, uint16_t sequence,
                    uint32_t timestamp, uint32_t ssrc) {
  out[0] = 0x80;
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | (payload_type & 0x7f));
  out[2] = static_cast<uint8_t>(sequence >> 8);
  out[3] = static_cast<uint8_t>(sequence);
  for (int i = 0; i < 4; ++i) {
    out[4 + i] = static_cast<uint8_t>(timestamp >> (24 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
}

uint32_t RtpTimestampOf(const uint8_t* packet) {
  return (uint32_t{packet[4]} << 24) | (uint32_t{packet[5]} << 16) | (uint32_t{packet[6]} << 8) |
         packet[7];
}

InputClip MakeOpusClip(double seconds) {
  InputClip clip{"opus", kOpusPt, 48000, 960, 50, {}};
  const auto frames = static_cast<size_t>(seconds * 50);
  const std::vector<int16_t> signal = TestSignal(48000, frames * 960);
  OpusAudioEncoder encoder(32000, 10);
  uint8_t packet[1500];
  for (size_t i = 0; i < frames; ++i) {
    const size_t n = encoder.Encode({signal.data() + i * 960, 960}, packet);
    clip.frames.push_back(AudioFrame(Bytes(packet, packet + n), kOpusPt));
  }
  return clip;
}

InputClip MakePcmuClip(double seconds) {
  InputClip clip{"pcmu", kPcmuPt, 8000, 160, 50, {}};
  const auto frames = static_cast<size_t>(seconds * 50);
  const std::vector<int16_t> signal = TestSignal(8000, frames * 160);
  for (size_t i = 0; i < frames; ++i) {
    Bytes encoded(160);
    for (size_t k = 0; k < 160; ++k) encoded[k] = LinearToMulaw(signal[i * 160 + k]);
    clip.frames.push_back(AudioFrame(std::move(encoded), kPcmuPt));
  }
  return clip;
}

InputClip MakeVideoClip(std::string_view codec, double seconds, const VideoClipSpec& spec) {
  media::coder::EnsureGstreamer();
  const int frames = static_cast<int>(seconds * spec.fps);
  const std::string raw = "videotestsrc " + spec.source + " num-buffers=" + std::to_string(frames) +
                          " ! video/x-raw,format=I420,width=" + std::to_string(spec.width) +
                          ",height=" + std::to_string(spec.height) +
                          ",framerate=" + std::to_string(spec.fps) + "/1 ! ";
  InputClip clip;
  clip.codec = std::string(codec);
  clip.clock_rate = 90000;
  clip.frame_ticks = 90000 / static_cast<uint32_t>(spec.fps);
  clip.frames_per_second = static_cast<uint32_t>(spec.fps);
  std::string encode;  // The encoder (and caps after it).
  std::string pay;
  if (codec == "vp8") {
    clip.payload_type = kVp8Pt;
    encode =
        "vp8enc deadline=1 cpu-used=8 end-usage=cbr lag-in-frames=0 threads=1 "
        "keyframe-max-dist=100000 target-bitrate=";
    encode += std::to_string(spec.bitrate_kbps * 1000);
    pay = "rtpvp8pay pt=96 mtu=1200 picture-id-mode=15-bit";
  } else if (codec == "h264-bp") {
    clip.payload_type = kH264Pt;
    encode =
        "x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max=100000 bitrate=";
    encode += std::to_string(spec.bitrate_kbps);
    encode += " ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au";
    pay = "rtph264pay pt=102 mtu=1200 config-interval=-1";
  } else {
    throw std::invalid_argument("no video clip for " + std::string(codec));
  }
  // appsinks keep every sample (max-buffers=0) and let EOS through at once (wait-on-eos=false),
  // so the bus says when the pipeline is done and the samples are read afterwards.
  const std::string description =
      raw + encode + " ! tee name=t t. ! queue ! " + pay +
      " ! appsink name=rtp sync=false max-buffers=0 wait-on-eos=false"
      " t. ! queue ! appsink name=frames sync=false max-buffers=0 wait-on-eos=false";
  GError* error = nullptr;
  GstPipelinePtr pipeline(AdoptGObject(gst_parse_launch(description.c_str(), &error)).release());
  GErrorPtr owned(error);
  if (!pipeline || error != nullptr) {
    throw std::runtime_error("input clip pipeline: " + description +
                             (error ? std::string(": ") + error->message : ""));
  }
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  GObjectPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  GstMessagePtr done(
      gst_bus_timed_pop_filtered(bus.get(), 300 * GST_SECOND,
                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  if (!done || GST_MESSAGE_TYPE(done.get()) != GST_MESSAGE_EOS) {
    throw std::runtime_error("input clip pipeline did not finish: " + description);
  }
  std::vector<Bytes> encoded = Drain(pipeline.get(), "frames");
  std::vector<Bytes> rtp = Drain(pipeline.get(), "rtp");
  // A frame's packets share its RTP timestamp; frames come in order (no B-frames).
  size_t next = 0;
  for (Bytes& e : encoded) {
    ClipFrame frame;
    frame.encoded = std::move(e);
    const uint32_t ts = next < rtp.size() ? RtpTimestampOf(rtp[next].data()) : 0;
    while (next < rtp.size() && RtpTimestampOf(rtp[next].data()) == ts) {
      frame.packets.push_back(std::move(rtp[next++]));
    }
    if (frame.packets.empty() || (frame.packets.back()[1] & 0x80) == 0) {
      throw std::runtime_error("input clip: frame without a marked last packet");
    }
    clip.frames.push_back(std::move(frame));
  }
  if (static_cast<int>(clip.frames.size()) != frames || next != rtp.size()) {
    throw std::runtime_error("input clip: " + std::to_string(clip.frames.size()) + " frames, " +
                             std::to_string(rtp.size() - next) + " packets left over");
  }
  return clip;
}

}  // namespace webrtc2sip::bench::coder
