#pragma once

// What the config's codec names (media.codecs) are in SDP, and the codec
// comparisons the translator needs: rtpmap name, clock rate and channels, plus
// the fmtp parameters that make two codecs of one name different (H.264
// profile and packetization mode, AMR octet alignment).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "webrtc2sip/config/v1/config.pb.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling::sdp {

struct CodecIdentity {
  config::v1::Codec codec;
  std::string_view config_name;  // "h263+", as in media.codecs
  media::v1::MediaKind kind;
  std::string_view encoding;  // rtpmap encoding name
  uint32_t clock_rate;
  uint32_t channels;        // 0: not written (mono)
  int static_payload_type;  // RFC 3551, -1 for dynamic
  std::string_view fmtp;    // when the gateway brings the codec itself
};

// Every value of config::v1::Codec has one.
const CodecIdentity& IdentityOf(config::v1::Codec codec);

// media.codecs, or the documented default when the list is empty.
std::vector<config::v1::Codec> ConfiguredCodecs(const config::v1::Media& media);

// The config codec an SDP codec is, if any: "AMR/8000" with octet-align=1 is
// amr-nb-oa, without it amr-nb-be; H264 is h264-bp for profile_idc 0x42 (or no
// profile-level-id) and h264-mp for 0x4d; speex by clock rate.
std::optional<config::v1::Codec> ConfigCodecOf(const media::v1::Codec& codec);

// A v1::Codec for a config codec with the given payload type (static one when
// `payload_type` is negative and the codec has one).
media::v1::Codec MakeCodec(config::v1::Codec codec, uint32_t payload_type);

bool IsTelephoneEvent(const media::v1::Codec& codec);
// CN, red, ulpfec, flexfec, rtx: never chosen by media.codecs, never relayed as a codec.
bool IsAuxiliary(const media::v1::Codec& codec);
// A codec that carries the media itself: neither of the above.
bool IsMediaCodec(const media::v1::Codec& codec);

// Same name (case-insensitive), clock rate and channels (0 counts as 1), and
// for H264/AMR the same profile/packetization-mode/octet-align.
bool SameCodec(const media::v1::Codec& a, const media::v1::Codec& b);

// RFC 3551's static payload types (0 PCMU, 8 PCMA, 9 G722, 18 G729, 34 H263, ...):
// the codec an m= line means when it has no a=rtpmap for the number.
std::optional<media::v1::Codec> StaticPayloadCodec(uint32_t payload_type);

// fmtp "a=b;c=d" helpers; names compare case-insensitively.
std::optional<std::string> FmtpParameter(std::string_view fmtp, std::string_view name);
std::string SetFmtpParameter(std::string_view fmtp, std::string_view name, std::string_view value);

// Opus fmtp with maxplaybackrate and sprop-maxcapturerate (RFC 7587) set.
std::string OpusFmtpWithMaxRates(std::string_view fmtp, uint32_t playback, uint32_t capture);

}  // namespace webrtc2sip::signaling::sdp
