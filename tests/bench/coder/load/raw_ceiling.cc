#include "load/raw_ceiling.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "load/codec_libs.h"
#include "load/resampler.h"

namespace webrtc2sip::bench::coder {
namespace {

double WallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU seconds of one direction: in total, and per stage (decode, convert = resample, encode).
struct StageTimes {
  size_t frames = 0;  // In the total: the frames asked for, or more in a wall-time run.
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

// One frame of one stream: `stream` picks the codec state, as a call picks its pipeline.
using Step = std::function<void(const ClipFrame&, size_t stream, StageTimes*)>;

// `warmup` frames unmeasured, `frames` timed as a whole, then `frames` more timed stage by
// stage (a clock read per stage costs a little; the total is the first figure). Frames go
// round-robin to `streams` codec states, each getting the clip in order: N calls' worth of
// codec state in the caches, as N calls on a worker have, where one state would stay hot.
// With `min_wall_s`, the timed pass goes on past `frames` until that much wall time has
// passed (a ceiling run alongside a load run covers its window).
StageTimes Loop(const InputClip& clip, size_t warmup, size_t frames, size_t streams,
                const Step& step, double min_wall_s = 0) {
  // Stream k starts k/streams of the way into the clip, so that a pass of a few frames per
  // stream still covers the whole clip (encoding cost varies with the content).
  const size_t size = clip.frames.size();
  auto run = [&](size_t i, StageTimes* t) {
    const size_t k = i % streams;
    step(clip.frames[(k * size / streams + i / streams) % size], k, t);
  };
  size_t i = 0;
  for (; i < warmup; ++i) run(i, nullptr);
  StageTimes times;
  const double start = ThreadCpuSeconds();
  const double wall_start = WallSeconds();
  for (; i < warmup + frames || (min_wall_s > 0 && WallSeconds() - wall_start < min_wall_s); ++i) {
    run(i, nullptr);
  }
  times.total = ThreadCpuSeconds() - start;
  times.frames = i - warmup;
  if (min_wall_s > 0) return times;  // Alongside a load: the total only, within its window.
  for (const size_t staged_end = i + frames; i < staged_end; ++i) run(i, &times);
  return times;
}

// Codec states, one per stream.
template <typename T, typename... Args>
std::vector<std::unique_ptr<T>> Make(size_t n, const Args&... args) {
  std::vector<std::unique_ptr<T>> v;
  for (size_t i = 0; i < n; ++i) v.push_back(std::make_unique<T>(args...));
  return v;
}

struct Directions {
  StageTimes times[2];
  // Audio: the Opus step alone through the multistream API as GStreamer calls it (fwd:
  // opusdec's stereo decode, rev: opusenc's encode), CPU seconds over the same frames.
  double gst_api[2] = {0, 0};
  double libopus_decode = 0;  // Audio: opus_decode's CPU over the same frames.
};

Directions RunAudio(const CallMedia& media, size_t warmup, size_t frames, size_t streams,
                    double wall_s = 0) {
  Directions out;
  {  // opus -> pcmu
    auto decoders = Make<AvOpusDecoder>(streams);
    auto resamplers = Make<GstResampler>(streams, 48000, 8000);
    int16_t wide[960];
    int16_t narrow[160];
    uint8_t mulaw[160];
    out.times[0] = Loop(media.clips[0], warmup, frames, streams,
                        [&](const ClipFrame& f, size_t k, StageTimes* t) {
      Laps laps(t);
      if (decoders[k]->Decode(f.encoded, wide) != 960) throw std::runtime_error("opus: not 20 ms");
      laps.To(&StageTimes::decode);
      resamplers[k]->Process({wide, 960}, narrow);
      laps.To(&StageTimes::convert);
      for (int i = 0; i < 160; ++i) mulaw[i] = LinearToMulaw(narrow[i]);
      laps.To(&StageTimes::encode);
      asm volatile("" : : "r"(mulaw) : "memory");  // Keep the result alive.
    }, wall_s / 2);
  }
  {  // pcmu -> opus
    auto encoders = Make<OpusAudioEncoder>(streams, 32000, 10);
    auto resamplers = Make<GstResampler>(streams, 8000, 48000);
    int16_t narrow[160];
    int16_t wide[960];
    uint8_t packet[1500];
    out.times[1] = Loop(media.clips[1], warmup, frames, streams,
                        [&](const ClipFrame& f, size_t k, StageTimes* t) {
      Laps laps(t);
      for (int i = 0; i < 160; ++i) narrow[i] = MulawToLinear(f.encoded[static_cast<size_t>(i)]);
      laps.To(&StageTimes::decode);
      // The resampler's delay makes its first outputs short: the encoder takes 20 ms anyway.
      resamplers[k]->Process(narrow, wide);
      laps.To(&StageTimes::convert);
      encoders[k]->Encode(wide, packet);
      laps.To(&StageTimes::encode);
    }, wall_s / 2);
  }
  if (streams > 1 || wall_s > 0) return out;
  {  // Opus decode on libopus (opus_decode, mono), for comparison with FFmpeg's above.
    OpusAudioDecoder decoder(1);
    int16_t mono[960];
    out.libopus_decode = Loop(media.clips[0], warmup, frames, 1, [&](const ClipFrame& f, size_t, StageTimes*) {
                           decoder.Decode(f.encoded, mono);
                         }).total;
  }
  {  // Opus decode as opusdec does it: multistream API, stereo out (RTP's opus/48000/2).
    OpusAudioDecoder decoder(2, true);
    int16_t stereo[960 * 2];
    out.gst_api[0] = Loop(media.clips[0], warmup, frames, 1, [&](const ClipFrame& f, size_t, StageTimes*) {
                       decoder.Decode(f.encoded, stereo);
                     }).total;
  }
  {  // Opus encode as opusenc does it: multistream API, one mono stream.
    OpusAudioEncoder encoder(32000, 10, true);
    std::vector<int16_t> wide(960);
    Resampler6 resampler;
    int16_t narrow[160];
    uint8_t packet[1500];
    out.gst_api[1] = Loop(media.clips[1], warmup, frames, 1, [&](const ClipFrame& f, size_t, StageTimes*) {
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
    out.times[0] = Loop(media.clips[0], warmup, frames, 1, [&](const ClipFrame& f, size_t, StageTimes* t) {
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
    out.times[1] = Loop(media.clips[1], warmup, frames, 1, [&](const ClipFrame& f, size_t, StageTimes* t) {
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

ResultLine RunRawCeiling(const CallMedia& media, double seconds, const VideoClipSpec& video,
                         size_t streams, double wall_s) {
  const uint32_t fps = media.clips[0].frames_per_second;
  const auto frames = static_cast<size_t>(seconds * fps);
  const bool audio = media.kind == "audio";
  if (!audio) streams = 1;  // Video: one state (N encoders at VGA would not fit the point).
  // Several streams: two seconds of warm-up each (a young Opus encoder costs more), and at
  // least a second of media each.
  const size_t warmup = static_cast<size_t>(fps) * (streams > 1 ? 2 * streams : 1);
  const size_t measured = std::max(frames, static_cast<size_t>(fps) * streams);
  const Directions d = audio ? RunAudio(media, warmup, measured, streams, wall_s)
                             : RunVideo(media, warmup, measured, video);
  // Per direction: CPU per media-second (a wall-time run may have done more frames one way).
  auto cpu_per_s = [fps](const StageTimes& t) {
    return t.total * fps / static_cast<double>(t.frames);
  };
  const double media_s = static_cast<double>(measured) / fps;
  const double per_call_s = cpu_per_s(d.times[0]) + cpu_per_s(d.times[1]);
  ResultLine r("ceiling");
  r.Add("kind", media.kind).Add("media_s", media_s).Add("frames", static_cast<uint64_t>(measured));
  r.Add("streams", static_cast<uint64_t>(streams));
  const char* keys[2] = {"fwd", "rev"};
  for (int i = 0; i < 2; ++i) {
    const std::string k = keys[i];
    const StageTimes& t = d.times[i];
    const double per_frame_us = 1e6 / static_cast<double>(measured);
    r.Add(k + "_name", media.clips[i].codec + "->" + media.clips[1 - i].codec)
        .Add(k + "_frames", static_cast<uint64_t>(t.frames))
        .Add(k + "_cpu_s", t.total, 4)
        .Add(k + "_decode_us", t.decode * per_frame_us, 2)
        .Add(k + "_convert_us", t.convert * per_frame_us, 2)
        .Add(k + "_encode_us", t.encode * per_frame_us, 2)
        .Add(k + "_frame_us", t.total * 1e6 / static_cast<double>(t.frames), 2)
        .Add(k + "_realtime_x", 1 / cpu_per_s(t), 1);
  }
  r.Add("cpu_ms_per_call_s", per_call_s * 1000, 4).Add("ceiling_calls_per_core", 1 / per_call_s, 2);
  if (wall_s > 0) {
    // Alongside a load run: its figure only.
  } else if (audio && streams > 1) {
    // The same work on one codec state, hot in the caches: what the ceiling was before it
    // counted the calls' states.
    const Directions one = RunAudio(media, fps, frames, 1);
    const double one_per_call_s = (one.times[0].total + one.times[1].total) / (static_cast<double>(frames) / fps);
    r.Add("one_stream_cpu_ms_per_call_s", one_per_call_s * 1000, 4);
  } else if (audio) {
    const double per_frame_us = 1e6 / static_cast<double>(frames);
    r.Add("fwd_libopus_decode_us", d.libopus_decode * per_frame_us, 2);
    for (int i = 0; i < 2; ++i) {
      r.Add(std::string(keys[i]) + "_opus_gst_api_us", d.gst_api[i] * per_frame_us, 2);
    }
  }
  return r;
}

}  // namespace webrtc2sip::bench::coder
