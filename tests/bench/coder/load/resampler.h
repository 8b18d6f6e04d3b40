#pragma once

// The raw ceiling's audio glue between libopus (48 kHz) and G.711 (8 kHz): mu-law by the
// ITU-T G.711 formulas, and a plain 6:1 polyphase FIR resampler (48 taps, windowed sinc, cut
// at 3.6 kHz), simpler and cheaper than GStreamer's audioresample (kaiser, quality 4); the
// ceiling now resamples with GstResampler below, the pipeline's own resampler, and keeps this
// one as a reference.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

struct _GstAudioResampler;  // GstAudioResampler, gst/audio/audio-resampler.h.

namespace webrtc2sip::bench::coder {

uint8_t LinearToMulaw(int16_t sample);
int16_t MulawToLinear(uint8_t code);

class Resampler6 {
 public:
  static constexpr int kTaps = 48;  // 8 per phase.
  Resampler6();

  // 48 kHz -> 8 kHz: out.size() * 6 samples of `in`.
  void Down(std::span<const int16_t> in, std::span<int16_t> out);
  // 8 kHz -> 48 kHz: in.size() * 6 samples into `out`.
  void Up(std::span<const int16_t> in, std::span<int16_t> out);

 private:
  std::array<float, kTaps> taps_{};
  // The input samples before the current call that each direction's filter still reaches.
  std::array<float, kTaps - 1> down_history_{};
  std::array<float, kTaps / 6 - 1> up_history_{};
};

// What audioresample does, without the element: GStreamer's own resampler (libgstaudio's
// GstAudioResampler) set up as audioresample sets it up by default (kaiser, quality 4, sinc
// filter mode auto, cubic interpolation), on 16-bit mono as the coder's pipelines run it. The
// ceiling resamples with this, so its resampling is the pipeline's to the sample.
class GstResampler {
 public:
  GstResampler(int in_rate, int out_rate);
  ~GstResampler();
  GstResampler(const GstResampler&) = delete;
  GstResampler& operator=(const GstResampler&) = delete;
  // All of `in`; the samples written (at most out.size()).
  size_t Process(std::span<const int16_t> in, std::span<int16_t> out);

 private:
  ::_GstAudioResampler* resampler_;
};

}  // namespace webrtc2sip::bench::coder
