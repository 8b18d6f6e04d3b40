#include "load/raw_ceiling.h"

#include <ctime>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "load/codec_libs.h"
#include "load/resampler.h"

namespace webrtc2sip::bench::coder {
namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU seconds of one direction: in total, and per stage (decode, convert = resample, encode).
struct StageTimes {
  double total = 0;
  double decode = 0;
  double convert = 0;
  double encode = 0;
};

// Charges the thread's CPU since the last lap to a stage; does nothing without a StageTimes,
// so the loop that measures the total reads the clock only at its ends.
class Laps {
 public:
  explicit Laps(StageTimes* times) : times_(times), last_(times ? ThreadCpuSeconds() : 0) {}
  void To(double StageTimes::*stage) {
    if (times_ == nullptr) return;
    const double now = ThreadCpuSeconds();
    times_->*stage += now - last_;
    last_ = now;
  }

 private:
  StageTimes* times_;
  double last_;
};

using Step = std::function<void(const ClipFrame&, StageTimes*)>;

// `warmup` frames unmeasured, `frames` timed as a whole, then `frames` more timed stage by
// stage (a clock read per stage costs a little; the total is the first figure).
StageTimes Loop(const InputClip& clip, size_t warmup, size_t frames, const Step& step) {
  auto frame = [&clip](size_t i) -> const ClipFrame& {
    return clip.frames[i % clip.frames.size()];
  };
  size_t i = 0;
  for (; i < warmup; ++i) step(frame(i), nullptr);
  StageTimes times;
  const double start = ThreadCpuSeconds();
  for (; i < warmup + frames; ++i) step(frame(i), nullptr);
  times.total = ThreadCpuSeconds() - start;
  for (; i < warmup + 2 * frames; ++i) step(frame(i), &times);
  return times;
}

struct Directions {
  StageTimes times[2];
  // Audio: the Opus step alone through the multistream API as GStreamer calls it (fwd:
  // opusdec's stereo decode, rev: opusenc's encode), CPU seconds over the same frames.
  double gst_api[2] = {0, 0};
};

Directions RunAudio(const CallMedia& media, size_t warmup, size_t frames) {
  Directions out;
  {  // opus -> pcmu
    OpusAudioDecoder decoder(1);
    Resampler6 resampler;
    int16_t wide[960 * 2];
    int16_t narrow[160];
    uint8_t mulaw[160];
    out.times[0] = Loop(media.clips[0], warmup, frames, [&](const ClipFrame& f, StageTimes* t) {
      Laps laps(t);
      if (decoder.Decode(f.encoded, wide) != 960) throw std::runtime_error("opus: not 20 ms");
      laps.To(&StageTimes::decode);
      resampler.Down({wide, 960}, narrow);
      laps.To(&StageTimes::convert);
      for (int i = 0; i < 160; ++i) mulaw[i] = LinearToMulaw(narrow[i]);
      laps.To(&StageTimes::encode);
      asm volatile("" : : "r"(mulaw) : "memory");  // Keep the result alive.
    });
  }
  {  // pcmu -> opus
    OpusAudioEncoder encoder(32000, 10);
    Resampler6 resampler;
    int16_t narrow[160];
    int16_t wide[960];
    uint8_t packet[1500];
    out.times[1] = Loop(media.clips[1], warmup, frames, [&](const ClipFrame& f, StageTimes* t) {
      Laps laps(t);
      for (int i = 0; i < 160; ++i) narrow[i] = MulawToLinear(f.encoded[static_cast<size_t>(i)]);
      laps.To(&StageTimes::decode);
      resampler.Up(narrow, wide);
      laps.To(&StageTimes::convert);
      encoder.Encode(wide, packet);
      laps.To(&StageTimes::encode);
    });
  }
  {  // Opus decode as opusdec does it: multistream API, stereo out (RTP's opus/48000/2).
    OpusAudioDecoder decoder(2, true);
    int16_t stereo[960 * 2];
    out.gst_api[0] = Loop(media.clips[0], warmup, frames, [&](const ClipFrame& f, StageTimes*) {
                       decoder.Decode(f.encoded, stereo);
                     }).total;
  }
  {  // Opus encode as opusenc does it: multistream API, one mono stream.
    OpusAudioEncoder encoder(32000, 10, true);
    std::vector<int16_t> wide(960);
    Resampler6 resampler;
    int16_t narrow[160];
    uint8_t packet[1500];
    out.gst_api[1] = Loop(media.clips[1], warmup, frames, [&](const ClipFrame& f, StageTimes*) {
                       for (int i = 0; i < 160; ++i) {
                         narrow[i] = MulawToLinear(f.encoded[static_cast<size_t>(i)]);
                       }
                       resampler.Up(narrow, wide);
                       encoder.Encode(wide, packet);
                     }).total;
  }
  return out;
}

Directions RunVideo(const CallMedia& media, size_t warmup, size_t frames,
                    const VideoClipSpec& video) {
  Directions out;
  {  // vp8 -> h264
    Vp8Decoder decoder;
    X264Encoder encoder(video.width, video.height, video.fps, video.bitrate_kbps);
    out.times[0] = Loop(media.clips[0], warmup, frames, [&](const ClipFrame& f, StageTimes* t) {
      Laps laps(t);
      const I420View picture = decoder.Decode(f.encoded);
      laps.To(&StageTimes::decode);
      encoder.Encode(picture);
      laps.To(&StageTimes::encode);
    });
  }
  {  // h264 -> vp8
    H264Decoder decoder;
    Vp8Encoder encoder(video.width, video.height, video.fps, video.bitrate_kbps);
    out.times[1] = Loop(media.clips[1], warmup, frames, [&](const ClipFrame& f, StageTimes* t) {
      Laps laps(t);
      const I420View picture = decoder.Decode(f.encoded);
      laps.To(&StageTimes::decode);
      encoder.Encode(picture);
      laps.To(&StageTimes::encode);
    });
  }
  return out;
}

}  // namespace

ResultLine RunRawCeiling(const CallMedia& media, double seconds, const VideoClipSpec& video) {
  const uint32_t fps = media.clips[0].frames_per_second;
  const auto frames = static_cast<size_t>(seconds * fps);
  const Directions d =
      media.kind == "audio" ? RunAudio(media, fps, frames) : RunVideo(media, fps, frames, video);
  const double media_s = static_cast<double>(frames) / fps;
  const double per_call_s = (d.times[0].total + d.times[1].total) / media_s;
  ResultLine r("ceiling");
  r.Add("kind", media.kind).Add("media_s", media_s).Add("frames", static_cast<uint64_t>(frames));
  const char* keys[2] = {"fwd", "rev"};
  for (int i = 0; i < 2; ++i) {
    const std::string k = keys[i];
    const StageTimes& t = d.times[i];
    const double per_frame_us = 1e6 / static_cast<double>(frames);
    r.Add(k + "_name", media.clips[i].codec + "->" + media.clips[1 - i].codec)
        .Add(k + "_cpu_s", t.total, 4)
        .Add(k + "_decode_us", t.decode * per_frame_us, 2)
        .Add(k + "_convert_us", t.convert * per_frame_us, 2)
        .Add(k + "_encode_us", t.encode * per_frame_us, 2)
        .Add(k + "_frame_us", t.total * per_frame_us, 2)
        .Add(k + "_realtime_x", media_s / t.total, 1);
    if (d.gst_api[i] > 0) r.Add(k + "_opus_gst_api_us", d.gst_api[i] * per_frame_us, 2);
  }
  r.Add("cpu_ms_per_call_s", per_call_s * 1000, 4).Add("ceiling_calls_per_core", 1 / per_call_s, 2);
  return r;
}

}  // namespace webrtc2sip::bench::coder
