#pragma once

// The GStreamer elements that transcode each codec of the config's media.codecs, and whether
// this machine has them. Names are the config's spellings ("opus", "amr-nb-oa", "h263+").

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace webrtc2sip::media::coder {

enum class MediaType : uint8_t { kAudio, kVideo };

struct CoderCodec {
  std::string_view name;  // As in media.codecs.
  MediaType media;
  std::string_view encoding_name;  // encoding-name of GStreamer's application/x-rtp caps.
  uint32_t clock_rate;             // RTP clock rate.
  uint32_t sample_rate;            // Audio: what the encoder takes (G.722: 16000). Video: 0.
  // Extra fields of the application/x-rtp caps the depayloader needs ("octet-align=(string)1").
  std::string_view rtp_caps;
  std::string_view depayloader;
  std::string_view decoder;
  std::string_view decoder_options;  // "name=value ..." (gst_util_set_object_arg spellings).
  std::string_view encoder;          // Empty: GStreamer has no encoder for it at all.
  std::string_view encoder_options;
  std::string_view encoded_caps;  // Caps between encoder and payloader; empty for none.
  std::string_view payloader;
  std::string_view payloader_options;
  std::string_view bitrate_property;  // Of the encoder; empty when it has none.
  uint32_t bitrate_unit;              // Bits per second in one unit of it (kbit/s: 1000).
  uint32_t default_bitrate;           // Bits per second.
  // Video: a codec limited to fixed picture sizes (H.263, RFC 2190) is scaled to this one.
  uint16_t fixed_width;
  uint16_t fixed_height;
  // Set when the codec is not to be transcoded whatever is installed: GStreamer cannot carry
  // it, or it fails the coder's content tests. Says why, for the config check.
  std::string_view unsupported;
};

// Every codec of config::v1::Codec, in the enum's order.
std::span<const CoderCodec> CoderCodecs();
// Nullptr for a name that is not in media.codecs' vocabulary.
const CoderCodec* FindCoderCodec(std::string_view name);

// What this machine can do with a codec, from gst_element_factory_find (GStreamer is
// initialised on first use). `missing` says why when a direction is impossible, for the
// config check to print: "no encoder: GStreamer has no G.729 encoder".
struct CodecAvailability {
  bool can_decode = false;  // RTP of the codec in: depayloader and decoder exist.
  bool can_encode = false;  // RTP of the codec out: encoder and payloader exist.
  std::string missing;      // Empty when both directions work.
  bool both() const { return can_decode && can_encode; }
};
CodecAvailability CheckAvailability(const CoderCodec& codec);

// The coder's codec for a codec of SDP (rtpmap encoding name, clock rate, fmtp), nullptr when
// it has none: AMR is amr-nb-oa with octet-align=1, else amr-nb-be; H264 is h264-mp for
// profile_idc 0x4d, else h264-bp (constrained baseline is what every H.264 decoder takes);
// SPEEX by clock rate; H263-1998 is h263+.
const CoderCodec* CoderCodecOf(std::string_view encoding_name, uint32_t clock_rate,
                               std::string_view fmtp);
// CheckAvailability(codec).both(), looked up once per codec per process. Any thread.
bool CanTranscode(const CoderCodec& codec);

}  // namespace webrtc2sip::media::coder
