#include "load/codec_libs.h"

#include <opus/opus.h>
#include <opus/opus_multistream.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <x264.h>
}

namespace webrtc2sip::bench::coder {
namespace {

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

void CheckOpus(int result, const char* what) {
  if (result < 0) throw std::runtime_error(std::string(what) + ": " + opus_strerror(result));
}

void CheckVpx(vpx_codec_err_t err, const char* what) {
  if (err != VPX_CODEC_OK) {
    throw std::runtime_error(std::string(what) + ": " + vpx_codec_err_to_string(err));
  }
}

}  // namespace

// ---------------------------------------------------------------- Opus

OpusAudioEncoder::OpusAudioEncoder(int bitrate, int complexity, bool multistream) {
  int err = 0;
  if (multistream) {
    const unsigned char mapping[1] = {0};
    ms_encoder_ =
        opus_multistream_encoder_create(48000, 1, 1, 0, mapping, OPUS_APPLICATION_VOIP, &err);
  } else {
    encoder_ = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
  }
  CheckOpus(err, "opus encoder create");
  Check(encoder_ != nullptr || ms_encoder_ != nullptr, "opus encoder create");
  // The OPUS_SET_* macros expand to "request, value".
  auto set = [this](int request, opus_int32 value) {
    CheckOpus(ms_encoder_ ? opus_multistream_encoder_ctl(ms_encoder_, request, value)
                          : opus_encoder_ctl(encoder_, request, value),
              "opus encoder setting");
  };
  // opusenc's defaults besides what the coder sets: constrained VBR, full band.
  set(OPUS_SET_BITRATE(bitrate));
  set(OPUS_SET_COMPLEXITY(complexity));
  set(OPUS_SET_VBR(1));
  set(OPUS_SET_VBR_CONSTRAINT(1));
  set(OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_FULLBAND));
}

OpusAudioEncoder::~OpusAudioEncoder() {
  if (encoder_) opus_encoder_destroy(encoder_);
  if (ms_encoder_) opus_multistream_encoder_destroy(ms_encoder_);
}

size_t OpusAudioEncoder::Encode(std::span<const int16_t> samples, std::span<uint8_t> out) {
  const auto frame = static_cast<int>(samples.size());
  const auto room = static_cast<opus_int32>(out.size());
  const opus_int32 n =
      ms_encoder_ ? opus_multistream_encode(ms_encoder_, samples.data(), frame, out.data(), room)
                  : opus_encode(encoder_, samples.data(), frame, out.data(), room);
  CheckOpus(n, "opus_encode");
  return static_cast<size_t>(n);
}

OpusAudioDecoder::OpusAudioDecoder(int channels, bool multistream) : channels_(channels) {
  int err = 0;
  if (multistream) {
    // Mapping family 0: one stream, coupled when stereo (opusdec's set-up for RTP).
    const unsigned char mapping[2] = {0, 1};
    ms_decoder_ =
        opus_multistream_decoder_create(48000, channels, 1, channels == 2 ? 1 : 0, mapping, &err);
  } else {
    decoder_ = opus_decoder_create(48000, channels, &err);
  }
  CheckOpus(err, "opus decoder create");
  Check(decoder_ != nullptr || ms_decoder_ != nullptr, "opus decoder create");
}

OpusAudioDecoder::~OpusAudioDecoder() {
  if (decoder_) opus_decoder_destroy(decoder_);
  if (ms_decoder_) opus_multistream_decoder_destroy(ms_decoder_);
}

size_t OpusAudioDecoder::Decode(std::span<const uint8_t> packet, std::span<int16_t> out) {
  const auto len = static_cast<opus_int32>(packet.size());
  const int frame = static_cast<int>(out.size()) / channels_;
  const int n = ms_decoder_
                    ? opus_multistream_decode(ms_decoder_, packet.data(), len, out.data(), frame, 0)
                    : opus_decode(decoder_, packet.data(), len, out.data(), frame, 0);
  CheckOpus(n, "opus_decode");
  return static_cast<size_t>(n);
}

// ---------------------------------------------------------------- VP8

struct Vp8Decoder::Impl {
  vpx_codec_ctx_t codec{};
};

Vp8Decoder::Vp8Decoder() : impl_(std::make_unique<Impl>()) {
  vpx_codec_dec_cfg_t cfg{};
  cfg.threads = 1;  // vp8dec threads=1
  CheckVpx(vpx_codec_dec_init(&impl_->codec, vpx_codec_vp8_dx(), &cfg, 0), "vp8 decoder");
}

Vp8Decoder::~Vp8Decoder() {
  vpx_codec_destroy(&impl_->codec);
}

I420View Vp8Decoder::Decode(std::span<const uint8_t> frame) {
  CheckVpx(vpx_codec_decode(&impl_->codec, frame.data(), static_cast<unsigned>(frame.size()),
                            nullptr, 0),
           "vp8 decode");
  vpx_codec_iter_t iter = nullptr;
  const vpx_image_t* img = vpx_codec_get_frame(&impl_->codec, &iter);
  Check(img != nullptr && img->fmt == VPX_IMG_FMT_I420, "vp8 decode: no I420 picture");
  I420View view;
  for (int i = 0; i < 3; ++i) {
    view.planes[i] = img->planes[i];
    view.strides[i] = img->stride[i];
  }
  view.width = static_cast<int>(img->d_w);
  view.height = static_cast<int>(img->d_h);
  return view;
}

struct Vp8Encoder::Impl {
  vpx_codec_ctx_t codec{};
  vpx_image_t image{};
  int64_t pts = 0;
};

Vp8Encoder::Vp8Encoder(int width, int height, int fps, int bitrate_kbps)
    : impl_(std::make_unique<Impl>()) {
  vpx_codec_enc_cfg_t cfg{};
  CheckVpx(vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0), "vp8 config");
  cfg.g_w = static_cast<unsigned>(width);
  cfg.g_h = static_cast<unsigned>(height);
  cfg.g_timebase = {1, fps};
  cfg.g_threads = 1;
  cfg.g_lag_in_frames = 0;
  cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
  cfg.rc_end_usage = VPX_CBR;
  cfg.rc_target_bitrate = static_cast<unsigned>(bitrate_kbps);
  // vp8enc's defaults for the rest.
  cfg.rc_min_quantizer = 4;
  cfg.rc_max_quantizer = 63;
  cfg.rc_undershoot_pct = 100;
  cfg.rc_overshoot_pct = 100;
  cfg.rc_buf_sz = 6000;
  cfg.rc_buf_initial_sz = 4000;
  cfg.rc_buf_optimal_sz = 5000;
  cfg.kf_mode = VPX_KF_AUTO;
  cfg.kf_max_dist = 3000;
  CheckVpx(vpx_codec_enc_init(&impl_->codec, vpx_codec_vp8_cx(), &cfg, 0), "vp8 encoder");
  CheckVpx(vpx_codec_control(&impl_->codec, VP8E_SET_CPUUSED, 8), "vp8 cpu-used");
  CheckVpx(vpx_codec_control(&impl_->codec, VP8E_SET_STATIC_THRESHOLD, 1u), "vp8 static");
  vpx_img_wrap(&impl_->image, VPX_IMG_FMT_I420, static_cast<unsigned>(width),
               static_cast<unsigned>(height), 1, nullptr);
}

Vp8Encoder::~Vp8Encoder() {
  vpx_codec_destroy(&impl_->codec);
}

size_t Vp8Encoder::Encode(const I420View& picture) {
  vpx_image_t& img = impl_->image;
  for (int i = 0; i < 3; ++i) {
    img.planes[i] = const_cast<uint8_t*>(picture.planes[i]);
    img.stride[i] = picture.strides[i];
  }
  // vp8enc deadline=1: the realtime deadline (1 us).
  CheckVpx(vpx_codec_encode(&impl_->codec, &img, impl_->pts++, 1, 0, 1), "vp8 encode");
  size_t bytes = 0;
  vpx_codec_iter_t iter = nullptr;
  while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&impl_->codec, &iter)) {
    if (pkt->kind == VPX_CODEC_CX_FRAME_PKT) bytes += pkt->data.frame.sz;
  }
  return bytes;
}

// ---------------------------------------------------------------- H.264

X264Encoder::X264Encoder(int width, int height, int fps, int bitrate_kbps) {
  x264_param_t param;
  Check(x264_param_default_preset(&param, "ultrafast", "zerolatency") == 0, "x264 preset");
  param.i_width = width;
  param.i_height = height;
  param.i_csp = X264_CSP_I420;
  param.i_fps_num = static_cast<uint32_t>(fps);
  param.i_fps_den = 1;
  param.i_threads = 1;
  param.i_sync_lookahead = 0;
  param.i_bframe = 0;
  param.i_keyint_max = 3000;
  param.rc.i_lookahead = 0;
  // x264enc pass=cbr: ABR with a VBV of vbv-buf-capacity (600 ms) at the bitrate.
  param.rc.i_rc_method = X264_RC_ABR;
  param.rc.i_bitrate = bitrate_kbps;
  param.rc.i_vbv_max_bitrate = bitrate_kbps;
  param.rc.i_vbv_buffer_size = bitrate_kbps * 600 / 1000;
  param.b_repeat_headers = 1;
  param.i_log_level = X264_LOG_WARNING;
  Check(x264_param_apply_profile(&param, "baseline") == 0, "x264 profile");
  encoder_ = x264_encoder_open(&param);
  Check(encoder_ != nullptr, "x264_encoder_open");
}

X264Encoder::~X264Encoder() {
  x264_encoder_close(encoder_);
}

size_t X264Encoder::Encode(const I420View& picture) {
  x264_picture_t in;
  x264_picture_init(&in);
  in.img.i_csp = X264_CSP_I420;
  in.img.i_plane = 3;
  for (int i = 0; i < 3; ++i) {
    in.img.plane[i] = const_cast<uint8_t*>(picture.planes[i]);
    in.img.i_stride[i] = picture.strides[i];
  }
  in.i_pts = pts_++;
  x264_picture_t out;
  x264_nal_t* nals = nullptr;
  int count = 0;
  const int bytes = x264_encoder_encode(encoder_, &nals, &count, &in, &out);
  Check(bytes >= 0, "x264_encoder_encode");
  return static_cast<size_t>(bytes);
}

AvDecoder::AvDecoder(int codec_id, const char* name,
                     const std::function<void(AVCodecContext*)>& setup)
    : name_(name) {
  const AVCodec* codec = avcodec_find_decoder(static_cast<AVCodecID>(codec_id));
  Check(codec != nullptr, std::string("libavcodec has no ") + name + " decoder");
  context_ = avcodec_alloc_context3(codec);
  Check(context_ != nullptr, "avcodec_alloc_context3");
  setup(context_);
  Check(avcodec_open2(context_, codec, nullptr) == 0, std::string("avcodec_open2 ") + name);
  frame_ = av_frame_alloc();
  packet_ = av_packet_alloc();
  Check(frame_ != nullptr && packet_ != nullptr, "av_frame_alloc");
}

AvDecoder::~AvDecoder() {
  av_packet_free(&packet_);
  av_frame_free(&frame_);
  avcodec_free_context(&context_);
}

const AVFrame& AvDecoder::Decode(std::span<const uint8_t> data) {
  padded_.assign(data.begin(), data.end());
  padded_.resize(data.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  packet_->data = padded_.data();
  packet_->size = static_cast<int>(data.size());
  Check(avcodec_send_packet(context_, packet_) == 0, std::string(name_) + " avcodec_send_packet");
  // One decoding thread, no reordering: every packet gives its frame at once.
  Check(avcodec_receive_frame(context_, frame_) == 0, std::string(name_) + " decode: no frame");
  return *frame_;
}

AvOpusDecoder::AvOpusDecoder()
    : decoder_(AV_CODEC_ID_OPUS, "opus", [](AVCodecContext* c) {
        c->sample_rate = 48000;
        av_channel_layout_default(&c->ch_layout, 1);
      }) {}

size_t AvOpusDecoder::Decode(std::span<const uint8_t> packet, std::span<int16_t> out) {
  const AVFrame& frame = decoder_.Decode(packet);
  Check(frame.format == AV_SAMPLE_FMT_FLTP || frame.format == AV_SAMPLE_FMT_FLT,
        "opus decode: not float");
  const auto n = std::min(static_cast<size_t>(frame.nb_samples), out.size());
  const auto* samples = reinterpret_cast<const float*>(frame.data[0]);
  for (size_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(samples[i] * 32767.0f);
    out[i] = static_cast<int16_t>(std::clamp(v, -32768.0f, 32767.0f));
  }
  return n;
}

H264Decoder::H264Decoder()
    : decoder_(AV_CODEC_ID_H264, "h264",
               [](AVCodecContext* c) { c->thread_count = 1; }) {}  // avdec_h264 max-threads=1

I420View H264Decoder::Decode(std::span<const uint8_t> access_unit) {
  const AVFrame& frame = decoder_.Decode(access_unit);
  Check(frame.format == AV_PIX_FMT_YUV420P, "h264 decode: not 4:2:0");
  I420View view;
  for (int i = 0; i < 3; ++i) {
    view.planes[i] = frame.data[i];
    view.strides[i] = frame.linesize[i];
  }
  view.width = frame.width;
  view.height = frame.height;
  return view;
}

}  // namespace webrtc2sip::bench::coder
