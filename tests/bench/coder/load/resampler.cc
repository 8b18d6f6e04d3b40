#include "load/resampler.h"

#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace webrtc2sip::bench::coder {
namespace {

constexpr size_t kMaxInput = 1920;  // 40 ms at 48 kHz: more than the ceiling ever passes.

int16_t Saturate(float v) {
  return static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
}

}  // namespace

uint8_t LinearToMulaw(int16_t sample) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  int s = sample;
  const int sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s = std::min(s, kClip) + kBias;
  int exponent = 7;
  for (int mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  const int mantissa = (s >> (exponent + 3)) & 0x0f;
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

int16_t MulawToLinear(uint8_t code) {
  const int u = ~code & 0xff;
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return static_cast<int16_t>((u & 0x80) ? 0x84 - t : t - 0x84);
}

Resampler6::Resampler6() {
  // Hamming-windowed sinc, cut at 3.6 kHz of 48 kHz, unity gain at DC.
  constexpr double kCut = 3600.0 / 48000.0;
  double sum = 0;
  for (int k = 0; k < kTaps; ++k) {
    const double x = k - (kTaps - 1) / 2.0;
    const double sinc =
        x == 0 ? 2 * kCut : std::sin(2 * std::numbers::pi * kCut * x) / (std::numbers::pi * x);
    const double window = 0.54 - 0.46 * std::cos(2 * std::numbers::pi * k / (kTaps - 1));
    taps_[k] = static_cast<float>(sinc * window);
    sum += taps_[k];
  }
  for (float& t : taps_) t = static_cast<float>(t / sum);
}

void Resampler6::Down(std::span<const int16_t> in, std::span<int16_t> out) {
  if (in.size() != out.size() * 6 || in.size() > kMaxInput) {
    throw std::invalid_argument("Resampler6::Down: sizes");
  }
  // [the last kTaps - 1 samples before, then in]
  float buffer[kTaps - 1 + kMaxInput];
  std::copy(down_history_.begin(), down_history_.end(), buffer);
  for (size_t i = 0; i < in.size(); ++i) buffer[kTaps - 1 + i] = in[i];
  for (size_t j = 0; j < out.size(); ++j) {
    const float* x = buffer + 6 * j + (kTaps - 1);  // The newest sample of output j's window.
    float acc = 0;
    for (int k = 0; k < kTaps; ++k) acc += taps_[k] * x[-k];
    out[j] = Saturate(acc);
  }
  std::copy(buffer + in.size(), buffer + in.size() + kTaps - 1, down_history_.begin());
}

void Resampler6::Up(std::span<const int16_t> in, std::span<int16_t> out) {
  constexpr int kPhaseTaps = kTaps / 6;
  if (out.size() != in.size() * 6 || in.size() > kMaxInput) {
    throw std::invalid_argument("Resampler6::Up: sizes");
  }
  float buffer[kPhaseTaps - 1 + kMaxInput];
  std::copy(up_history_.begin(), up_history_.end(), buffer);
  for (size_t i = 0; i < in.size(); ++i) buffer[kPhaseTaps - 1 + i] = in[i];
  for (size_t m = 0; m < in.size(); ++m) {
    const float* x = buffer + m + (kPhaseTaps - 1);  // in[m]
    for (int r = 0; r < 6; ++r) {
      float acc = 0;
      for (int i = 0; i < kPhaseTaps; ++i) acc += taps_[r + 6 * i] * x[-i];
      out[6 * m + r] = Saturate(6 * acc);
    }
  }
  std::copy(buffer + in.size(), buffer + in.size() + kPhaseTaps - 1, up_history_.begin());
}

GstResampler::GstResampler(int in_rate, int out_rate) {
  gst_init(nullptr, nullptr);
  // audioresample's defaults (gst-plugins-base 1.22): kaiser, quality 4; the sinc filter
  // options left at theirs (mode auto, 1 MiB threshold, cubic interpolation), as the element
  // passes them.
  GstStructure* options = gst_structure_new_empty("resampler");
  gst_audio_resampler_options_set_quality(GST_AUDIO_RESAMPLER_METHOD_KAISER,
                                          GST_AUDIO_RESAMPLER_QUALITY_DEFAULT, in_rate, out_rate,
                                          options);
  resampler_ = gst_audio_resampler_new(GST_AUDIO_RESAMPLER_METHOD_KAISER,
                                       GST_AUDIO_RESAMPLER_FLAG_NONE, GST_AUDIO_FORMAT_S16, 1,
                                       in_rate, out_rate, options);
  gst_structure_free(options);
  if (resampler_ == nullptr) throw std::runtime_error("gst_audio_resampler_new");
}

GstResampler::~GstResampler() {
  gst_audio_resampler_free(resampler_);
}

size_t GstResampler::Process(std::span<const int16_t> in, std::span<int16_t> out) {
  const gsize frames = std::min<gsize>(
      gst_audio_resampler_get_out_frames(resampler_, in.size()), out.size());
  gpointer ins[1] = {const_cast<int16_t*>(in.data())};
  gpointer outs[1] = {out.data()};
  gst_audio_resampler_resample(resampler_, ins, in.size(), outs, frames);
  return frames;
}

}  // namespace webrtc2sip::bench::coder
