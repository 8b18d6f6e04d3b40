#pragma once

// The codec libraries the raw ceiling calls directly, each wrapped once and set up as the
// coder's GStreamer elements set theirs up (services/media-relay/coder/codec_table.cc), so
// the ceiling does the same work without the pipeline around it:
//   opusenc  audio-type=voice, complexity 10, constrained VBR, 32 kbit/s, 20 ms, mono 48 kHz
//   x264enc  ultrafast, zerolatency, constrained baseline, ABR 800 kbit/s with a 600 ms VBV
//            (x264enc pass=cbr), key-int-max 3000, one thread
//   vp8enc   realtime deadline, cpu-used 8, CBR 800 kbit/s, lag 0, error-resilient default,
//            key-int-max 3000, one thread
//   decoders: libavcodec's opus and h264 (what avdec_opus and avdec_h264 are), libvpx, one
//            thread each.
// Failures throw std::runtime_error: a benchmark that cannot set up has nothing to measure.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

struct OpusEncoder;
struct OpusDecoder;
struct OpusMSEncoder;
struct OpusMSDecoder;
struct x264_t;
struct AVCodecContext;
struct AVFrame;
struct AVPacket;

namespace webrtc2sip::bench::coder {

// A decoded picture, not owned: three planes of 8-bit 4:2:0.
struct I420View {
  const uint8_t* planes[3] = {};
  int strides[3] = {};
  int width = 0;
  int height = 0;
};

// `multistream`: through libopus's multistream API (one stream), as GStreamer's opusenc and
// opusdec call it; that API asks for the decoders' sizes on every call, which runs CPUID,
// dear under virtualization. The ceiling uses the plain API and times this one apart.
class OpusAudioEncoder {
 public:
  OpusAudioEncoder(int bitrate, int complexity, bool multistream = false);
  ~OpusAudioEncoder();
  OpusAudioEncoder(const OpusAudioEncoder&) = delete;
  OpusAudioEncoder& operator=(const OpusAudioEncoder&) = delete;
  // 960 samples (20 ms at 48 kHz) in; the packet's bytes written to `out`, its size returned.
  size_t Encode(std::span<const int16_t> samples, std::span<uint8_t> out);

 private:
  OpusEncoder* encoder_ = nullptr;
  OpusMSEncoder* ms_encoder_ = nullptr;
};

class OpusAudioDecoder {
 public:
  explicit OpusAudioDecoder(int channels, bool multistream = false);
  ~OpusAudioDecoder();
  OpusAudioDecoder(const OpusAudioDecoder&) = delete;
  OpusAudioDecoder& operator=(const OpusAudioDecoder&) = delete;
  // Samples per channel decoded into `out` (interleaved).
  size_t Decode(std::span<const uint8_t> packet, std::span<int16_t> out);

 private:
  OpusDecoder* decoder_ = nullptr;
  OpusMSDecoder* ms_decoder_ = nullptr;
  int channels_;
};

// One libavcodec decoder on one thread: its context, a frame, and a packet whose input is
// copied with the padding libavcodec reads past the end.
class AvDecoder {
 public:
  // `codec_id`: an AVCodecID; `setup` sets the context up before it is opened.
  AvDecoder(int codec_id, const char* name, const std::function<void(AVCodecContext*)>& setup);
  ~AvDecoder();
  AvDecoder(const AvDecoder&) = delete;
  AvDecoder& operator=(const AvDecoder&) = delete;
  // One packet in; the frame it gave, valid until the next call (every packet gives one).
  const AVFrame& Decode(std::span<const uint8_t> data);

 private:
  const char* name_;
  AVCodecContext* context_;
  AVFrame* frame_;
  AVPacket* packet_;
  std::vector<uint8_t> padded_;
};

// libavcodec's Opus decoder, as avdec_opus runs it in the coder (mono, float planar out), with
// the float -> 16-bit step audioconvert then does (no dither). FFmpeg's own decoder, not
// libopus: on this machine it decodes the same packets a little faster (18.4 against 19.2 µs).
class AvOpusDecoder {
 public:
  AvOpusDecoder();
  // Samples decoded into `out` (mono).
  size_t Decode(std::span<const uint8_t> packet, std::span<int16_t> out);

 private:
  AvDecoder decoder_;
};

class Vp8Decoder {
 public:
  Vp8Decoder();
  ~Vp8Decoder();
  Vp8Decoder(const Vp8Decoder&) = delete;
  Vp8Decoder& operator=(const Vp8Decoder&) = delete;
  // One frame in; the picture, valid until the next call.
  I420View Decode(std::span<const uint8_t> frame);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Vp8Encoder {
 public:
  Vp8Encoder(int width, int height, int fps, int bitrate_kbps);
  ~Vp8Encoder();
  Vp8Encoder(const Vp8Encoder&) = delete;
  Vp8Encoder& operator=(const Vp8Encoder&) = delete;
  // One picture in; the bytes of the frame(s) it made.
  size_t Encode(const I420View& picture);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class X264Encoder {
 public:
  X264Encoder(int width, int height, int fps, int bitrate_kbps);
  ~X264Encoder();
  X264Encoder(const X264Encoder&) = delete;
  X264Encoder& operator=(const X264Encoder&) = delete;
  size_t Encode(const I420View& picture);

 private:
  x264_t* encoder_;
  int64_t pts_ = 0;
};

class H264Decoder {
 public:
  H264Decoder();
  // One access unit (Annex B) in; the picture, valid until the next call.
  I420View Decode(std::span<const uint8_t> access_unit);

 private:
  AvDecoder decoder_;
};

}  // namespace webrtc2sip::bench::coder
