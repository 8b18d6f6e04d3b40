#include "services/media-relay/coder/opus_encoder_element.h"

#include <gst/audio/audio.h>
#include <gst/audio/gstaudioencoder.h>
#include <gst/gst.h>
#include <opus/opus.h>

#include <cstring>
#include <mutex>

namespace webrtc2sip::media::coder {
namespace {

// The largest Opus packet of one frame (RFC 6716 section 3.2.1).
constexpr int kMaxPacket = 1275;

enum Property {
  kPropBitrate = 1,
  kPropComplexity,
  kPropAudioType,
  kPropFrameSize,
  kPropInbandFec,
  kPropPacketLoss,
  kPropDtx,
};

struct W2sOpusEnc {
  GstAudioEncoder parent;
  OpusEncoder* encoder;
  int rate;
  int channels;
  int frame_samples;  // Per channel, at `rate`.
  // Properties; guarded by the object lock (set from any thread, read on the streaming one).
  int bitrate;
  int complexity;
  gboolean voice;
  int frame_ms;
  gboolean inband_fec;
  int packet_loss;
  gboolean dtx;
  gboolean dirty;  // A property that applies while running changed since the last frame.
};

struct W2sOpusEncClass {
  GstAudioEncoderClass parent_class;
};

GType w2s_opus_enc_get_type();
#define W2S_OPUS_ENC(obj) (reinterpret_cast<W2sOpusEnc*>(obj))

G_DEFINE_TYPE(W2sOpusEnc, w2s_opus_enc, GST_TYPE_AUDIO_ENCODER)

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-raw, format=(string)" GST_AUDIO_NE(S16)
                    ", layout=(string)interleaved, rate=(int){ 48000, 24000, 16000, 12000, 8000 }"
                    ", channels=(int)[ 1, 2 ]"));

GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-opus, rate=(int)48000, channels=(int)[ 1, 2 ], "
                    "channel-mapping-family=(int)0"));

GType AudioTypeEnum() {
  static GType type = 0;
  static std::once_flag once;
  std::call_once(once, [] {
    static const GEnumValue values[] = {
        {OPUS_APPLICATION_AUDIO, "Generic audio", "generic"},
        {OPUS_APPLICATION_VOIP, "Voice", "voice"},
        {0, nullptr, nullptr},
    };
    type = g_enum_register_static("W2sOpusEncAudioType", values);
  });
  return type;
}

// Applies the run-time settings; call with the object lock held.
void ApplyLocked(W2sOpusEnc* self) {
  opus_encoder_ctl(self->encoder, OPUS_SET_BITRATE(self->bitrate));
  opus_encoder_ctl(self->encoder, OPUS_SET_INBAND_FEC(self->inband_fec ? 1 : 0));
  opus_encoder_ctl(self->encoder, OPUS_SET_PACKET_LOSS_PERC(self->packet_loss));
  self->dirty = FALSE;
}

void SetProperty(GObject* object, guint id, const GValue* value, GParamSpec* spec) {
  W2sOpusEnc* self = W2S_OPUS_ENC(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case kPropBitrate: self->bitrate = g_value_get_int(value); self->dirty = TRUE; break;
    case kPropComplexity: self->complexity = g_value_get_int(value); break;
    case kPropAudioType: self->voice = g_value_get_enum(value) == OPUS_APPLICATION_VOIP; break;
    case kPropFrameSize: self->frame_ms = g_value_get_int(value); break;
    case kPropInbandFec: self->inband_fec = g_value_get_boolean(value); self->dirty = TRUE; break;
    case kPropPacketLoss: self->packet_loss = g_value_get_int(value); self->dirty = TRUE; break;
    case kPropDtx: self->dtx = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

void GetProperty(GObject* object, guint id, GValue* value, GParamSpec* spec) {
  W2sOpusEnc* self = W2S_OPUS_ENC(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case kPropBitrate: g_value_set_int(value, self->bitrate); break;
    case kPropComplexity: g_value_set_int(value, self->complexity); break;
    case kPropAudioType:
      g_value_set_enum(value, self->voice ? OPUS_APPLICATION_VOIP : OPUS_APPLICATION_AUDIO);
      break;
    case kPropFrameSize: g_value_set_int(value, self->frame_ms); break;
    case kPropInbandFec: g_value_set_boolean(value, self->inband_fec); break;
    case kPropPacketLoss: g_value_set_int(value, self->packet_loss); break;
    case kPropDtx: g_value_set_boolean(value, self->dtx); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

void DestroyEncoder(W2sOpusEnc* self) {
  if (self->encoder != nullptr) opus_encoder_destroy(self->encoder);
  self->encoder = nullptr;
}

gboolean Stop(GstAudioEncoder* encoder) {
  DestroyEncoder(W2S_OPUS_ENC(encoder));
  return TRUE;
}

gboolean SetFormat(GstAudioEncoder* encoder, GstAudioInfo* info) {
  W2sOpusEnc* self = W2S_OPUS_ENC(encoder);
  DestroyEncoder(self);
  self->rate = GST_AUDIO_INFO_RATE(info);
  self->channels = GST_AUDIO_INFO_CHANNELS(info);
  GST_OBJECT_LOCK(self);
  const int frame_ms = self->frame_ms;
  if (frame_ms != 10 && frame_ms != 20 && frame_ms != 40 && frame_ms != 60) {
    GST_OBJECT_UNLOCK(self);
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("frame-size must be 10, 20, 40 or 60 ms"),
                      ("frame-size=%d", frame_ms));
    return FALSE;
  }
  const int application = self->voice ? OPUS_APPLICATION_VOIP : OPUS_APPLICATION_AUDIO;
  int error = OPUS_OK;
  self->encoder = opus_encoder_create(self->rate, self->channels, application, &error);
  if (self->encoder != nullptr) {
    opus_encoder_ctl(self->encoder, OPUS_SET_COMPLEXITY(self->complexity));
    opus_encoder_ctl(self->encoder, OPUS_SET_DTX(self->dtx ? 1 : 0));
    ApplyLocked(self);
  }
  GST_OBJECT_UNLOCK(self);
  if (self->encoder == nullptr) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("cannot create an Opus encoder"),
                      ("opus_encoder_create(%d Hz, %d channels): %s", self->rate, self->channels,
                       opus_strerror(error)));
    return FALSE;
  }
  self->frame_samples = self->rate * frame_ms / 1000;
  gst_audio_encoder_set_frame_samples_min(encoder, self->frame_samples);
  gst_audio_encoder_set_frame_samples_max(encoder, self->frame_samples);
  gst_audio_encoder_set_frame_max(encoder, 1);
  // No gst_audio_encoder_set_lookahead(): the base class would stamp every packet that many
  // samples early (and the first one before 0, which wraps). The coder maps output times to
  // RTP timestamps one for one (timestamp_map.h): packet n carries input frame n's time.
  const GstClockTime frame = gst_util_uint64_scale_int(frame_ms, GST_MSECOND, 1);
  gst_audio_encoder_set_latency(encoder, frame, frame);

  GstCaps* caps = gst_caps_new_simple("audio/x-opus", "rate", G_TYPE_INT, 48000, "channels",
                                      G_TYPE_INT, self->channels, "channel-mapping-family",
                                      G_TYPE_INT, 0, nullptr);
  const gboolean ok = gst_audio_encoder_set_output_format(encoder, caps);
  gst_caps_unref(caps);
  return ok;
}

GstFlowReturn HandleFrame(GstAudioEncoder* encoder, GstBuffer* buffer) {
  W2sOpusEnc* self = W2S_OPUS_ENC(encoder);
  // Nothing is held back: every frame is encoded as it comes, so a drain has nothing to do.
  if (buffer == nullptr) return GST_FLOW_OK;
  if (self->encoder == nullptr) return GST_FLOW_NOT_NEGOTIATED;
  GST_OBJECT_LOCK(self);
  if (self->dirty) ApplyLocked(self);
  GST_OBJECT_UNLOCK(self);

  GstMapInfo in;
  if (!gst_buffer_map(buffer, &in, GST_MAP_READ)) return GST_FLOW_ERROR;
  const size_t frame_bytes = static_cast<size_t>(self->frame_samples) * self->channels * 2;
  const opus_int16* pcm = reinterpret_cast<const opus_int16*>(in.data);
  // The base class hands exactly one frame, except a shorter last one at end of stream,
  // which is padded with silence (Opus has no partial frames).
  opus_int16 padded[48000 / 1000 * 60 * 2];
  if (in.size < frame_bytes) {
    std::memcpy(padded, in.data, in.size);
    std::memset(reinterpret_cast<uint8_t*>(padded) + in.size, 0, frame_bytes - in.size);
    pcm = padded;
  }
  GstBuffer* out = gst_audio_encoder_allocate_output_buffer(encoder, kMaxPacket);
  GstMapInfo map;
  if (out == nullptr || !gst_buffer_map(out, &map, GST_MAP_WRITE)) {
    gst_buffer_unmap(buffer, &in);
    if (out != nullptr) gst_buffer_unref(out);
    return GST_FLOW_ERROR;
  }
  const opus_int32 size =
      opus_encode(self->encoder, pcm, self->frame_samples, map.data, kMaxPacket);
  gst_buffer_unmap(out, &map);
  gst_buffer_unmap(buffer, &in);
  if (size < 0) {
    gst_buffer_unref(out);
    GST_ELEMENT_ERROR(self, STREAM, ENCODE, ("Opus encoding failed"),
                      ("opus_encode: %s", opus_strerror(size)));
    return GST_FLOW_ERROR;
  }
  gst_buffer_set_size(out, size);
  return gst_audio_encoder_finish_frame(encoder, out, self->frame_samples);
}

// Opus takes any of its rates and always signals 48 kHz, so the base class's default (the
// downstream rate and channels imposed on the input) would refuse 8-24 kHz input: only the
// channel count follows downstream.
GstCaps* GetCaps(GstAudioEncoder* encoder, GstCaps* filter) {
  GstCaps* allowed = gst_pad_get_allowed_caps(GST_AUDIO_ENCODER_SRC_PAD(encoder));
  GstCaps* caps = gst_static_pad_template_get_caps(&sink_template);
  if (allowed != nullptr && !gst_caps_is_any(allowed) && !gst_caps_is_empty(allowed)) {
    const GstStructure* downstream = gst_caps_get_structure(allowed, 0);
    const GValue* channels = gst_structure_get_value(downstream, "channels");
    if (channels != nullptr && gst_caps_get_size(allowed) == 1) {
      caps = gst_caps_make_writable(caps);
      gst_caps_set_value(caps, "channels", channels);
    }
  }
  if (allowed != nullptr) gst_caps_unref(allowed);
  if (filter != nullptr) {
    GstCaps* intersected = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = intersected;
  }
  return caps;
}

void Finalize(GObject* object) {
  DestroyEncoder(W2S_OPUS_ENC(object));
  G_OBJECT_CLASS(w2s_opus_enc_parent_class)->finalize(object);
}

void w2s_opus_enc_class_init(W2sOpusEncClass* klass) {
  GObjectClass* object_class = G_OBJECT_CLASS(klass);
  object_class->set_property = SetProperty;
  object_class->get_property = GetProperty;
  object_class->finalize = Finalize;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      object_class, kPropBitrate,
      g_param_spec_int("bitrate", "Bitrate", "Target bitrate (bits/s)", 4000, 650000, 64000,
                       flags));
  g_object_class_install_property(
      object_class, kPropComplexity,
      g_param_spec_int("complexity", "Complexity", "Encoder complexity", 0, 10, 10, flags));
  g_object_class_install_property(
      object_class, kPropAudioType,
      g_param_spec_enum("audio-type", "Audio type", "What the encoder tunes for",
                        AudioTypeEnum(), OPUS_APPLICATION_AUDIO, flags));
  g_object_class_install_property(
      object_class, kPropFrameSize,
      g_param_spec_int("frame-size", "Frame size", "Frame duration (ms: 10, 20, 40 or 60)", 10,
                       60, 20, flags));
  g_object_class_install_property(
      object_class, kPropInbandFec,
      g_param_spec_boolean("inband-fec", "In-band FEC", "Forward error correction in band",
                           FALSE, flags));
  g_object_class_install_property(
      object_class, kPropPacketLoss,
      g_param_spec_int("packet-loss-percentage", "Packet loss", "Expected loss (%)", 0, 100, 0,
                       flags));
  g_object_class_install_property(
      object_class, kPropDtx,
      g_param_spec_boolean("dtx", "DTX", "Discontinuous transmission", FALSE, flags));

  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "webrtc2sip Opus encoder",
                                        "Codec/Encoder/Audio",
                                        "Encodes audio to Opus with libopus's single-stream API",
                                        "webrtc2sip");
  GstAudioEncoderClass* encoder_class = GST_AUDIO_ENCODER_CLASS(klass);
  encoder_class->stop = Stop;
  encoder_class->set_format = SetFormat;
  encoder_class->handle_frame = HandleFrame;
  encoder_class->getcaps = GetCaps;
}

void w2s_opus_enc_init(W2sOpusEnc* self) {
  self->encoder = nullptr;
  self->rate = 0;
  self->channels = 0;
  self->frame_samples = 0;
  self->bitrate = 64000;
  self->complexity = 10;
  self->voice = FALSE;
  self->frame_ms = 20;
  self->inband_fec = FALSE;
  self->packet_loss = 0;
  self->dtx = FALSE;
  self->dirty = FALSE;
}

}  // namespace

bool RegisterOpusEncoderElement() {
  static bool registered = false;
  static std::once_flag once;
  std::call_once(once, [] {
    registered = gst_element_register(nullptr, kOpusEncoderElement, GST_RANK_NONE,
                                      w2s_opus_enc_get_type()) == TRUE;
  });
  return registered;
}

}  // namespace webrtc2sip::media::coder
