#include "services/signaling/sdp/codec_catalog.h"

#include <array>
#include <cctype>

#include "common/text/ascii.h"

namespace webrtc2sip::signaling::sdp {
namespace {

using config::v1::Codec;
using media::v1::MEDIA_KIND_AUDIO;
using media::v1::MEDIA_KIND_VIDEO;

constexpr std::array<CodecIdentity, 19> kCodecs{{
    {config::v1::CODEC_PCMA, "pcma", MEDIA_KIND_AUDIO, "PCMA", 8000, 0, 8, ""},
    {config::v1::CODEC_PCMU, "pcmu", MEDIA_KIND_AUDIO, "PCMU", 8000, 0, 0, ""},
    {config::v1::CODEC_OPUS, "opus", MEDIA_KIND_AUDIO, "opus", 48000, 2, -1,
     "minptime=10;useinbandfec=1"},
    {config::v1::CODEC_AMR_NB_BE, "amr-nb-be", MEDIA_KIND_AUDIO, "AMR", 8000, 0, -1, ""},
    {config::v1::CODEC_AMR_NB_OA, "amr-nb-oa", MEDIA_KIND_AUDIO, "AMR", 8000, 0, -1,
     "octet-align=1"},
    {config::v1::CODEC_SPEEX_NB, "speex-nb", MEDIA_KIND_AUDIO, "speex", 8000, 0, -1, ""},
    {config::v1::CODEC_SPEEX_WB, "speex-wb", MEDIA_KIND_AUDIO, "speex", 16000, 0, -1, ""},
    {config::v1::CODEC_SPEEX_UWB, "speex-uwb", MEDIA_KIND_AUDIO, "speex", 32000, 0, -1, ""},
    {config::v1::CODEC_G729, "g729", MEDIA_KIND_AUDIO, "G729", 8000, 0, 18, ""},
    {config::v1::CODEC_GSM, "gsm", MEDIA_KIND_AUDIO, "GSM", 8000, 0, 3, ""},
    // G.722 says 8000 in SDP for historical reasons (RFC 3551 4.5.2).
    {config::v1::CODEC_G722, "g722", MEDIA_KIND_AUDIO, "G722", 8000, 0, 9, ""},
    {config::v1::CODEC_ILBC, "ilbc", MEDIA_KIND_AUDIO, "iLBC", 8000, 0, -1, "mode=30"},
    {config::v1::CODEC_H264_BP, "h264-bp", MEDIA_KIND_VIDEO, "H264", 90000, 0, -1,
     "profile-level-id=42e01f;packetization-mode=1"},
    {config::v1::CODEC_H264_MP, "h264-mp", MEDIA_KIND_VIDEO, "H264", 90000, 0, -1,
     "profile-level-id=4d001f;packetization-mode=1"},
    {config::v1::CODEC_VP8, "vp8", MEDIA_KIND_VIDEO, "VP8", 90000, 0, -1, ""},
    {config::v1::CODEC_H263, "h263", MEDIA_KIND_VIDEO, "H263", 90000, 0, 34, ""},
    {config::v1::CODEC_H263_PLUS, "h263+", MEDIA_KIND_VIDEO, "H263-1998", 90000, 0, -1, ""},
    {config::v1::CODEC_THEORA, "theora", MEDIA_KIND_VIDEO, "theora", 90000, 0, -1, ""},
    {config::v1::CODEC_MP4V_ES, "mp4v-es", MEDIA_KIND_VIDEO, "MP4V-ES", 90000, 0, -1, ""},
}};

struct StaticType {
  uint32_t payload_type;
  std::string_view name;
  uint32_t clock_rate;
  uint32_t channels;
  media::v1::MediaKind kind;
};

constexpr std::array<StaticType, 24> kStatic{{
    {0, "PCMU", 8000, 0, MEDIA_KIND_AUDIO},   {3, "GSM", 8000, 0, MEDIA_KIND_AUDIO},
    {4, "G723", 8000, 0, MEDIA_KIND_AUDIO},   {5, "DVI4", 8000, 0, MEDIA_KIND_AUDIO},
    {6, "DVI4", 16000, 0, MEDIA_KIND_AUDIO},  {7, "LPC", 8000, 0, MEDIA_KIND_AUDIO},
    {8, "PCMA", 8000, 0, MEDIA_KIND_AUDIO},   {9, "G722", 8000, 0, MEDIA_KIND_AUDIO},
    {10, "L16", 44100, 2, MEDIA_KIND_AUDIO},  {11, "L16", 44100, 0, MEDIA_KIND_AUDIO},
    {12, "QCELP", 8000, 0, MEDIA_KIND_AUDIO}, {13, "CN", 8000, 0, MEDIA_KIND_AUDIO},
    {14, "MPA", 90000, 0, MEDIA_KIND_AUDIO},  {15, "G728", 8000, 0, MEDIA_KIND_AUDIO},
    {16, "DVI4", 11025, 0, MEDIA_KIND_AUDIO}, {17, "DVI4", 22050, 0, MEDIA_KIND_AUDIO},
    {18, "G729", 8000, 0, MEDIA_KIND_AUDIO},  {25, "CelB", 90000, 0, MEDIA_KIND_VIDEO},
    {26, "JPEG", 90000, 0, MEDIA_KIND_VIDEO}, {28, "nv", 90000, 0, MEDIA_KIND_VIDEO},
    {31, "H261", 90000, 0, MEDIA_KIND_VIDEO}, {32, "MPV", 90000, 0, MEDIA_KIND_VIDEO},
    {33, "MP2T", 90000, 0, MEDIA_KIND_VIDEO}, {34, "H263", 90000, 0, MEDIA_KIND_VIDEO},
}};

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(name, value) for each "name=value" of an fmtp; stops when f returns true.
template <typename F>
void ForEachParameter(std::string_view fmtp, F f) {
  while (!fmtp.empty()) {
    size_t semi = fmtp.find(';');
    std::string_view item = TrimBlanks(fmtp.substr(0, semi));
    fmtp = semi == std::string_view::npos ? std::string_view() : fmtp.substr(semi + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view name = TrimBlanks(item.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? "" : TrimBlanks(item.substr(eq + 1));
    if (f(name, value)) return;
  }
}

uint32_t Channels(const media::v1::Codec& c) {
  return c.channels() ? c.channels() : 1;
}

// H.264 profile_idc ("42", "4d", "64"); RFC 6184's default is 42 (baseline).
std::string H264Profile(const media::v1::Codec& c) {
  std::string plid = FmtpParameter(c.fmtp(), "profile-level-id").value_or("42");
  std::string idc = plid.substr(0, 2);
  for (char& ch : idc) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return idc;
}

bool FlagParameter(const media::v1::Codec& c, std::string_view name) {
  return FmtpParameter(c.fmtp(), name).value_or("0") == "1";
}

}  // namespace

const CodecIdentity& IdentityOf(config::v1::Codec codec) {
  for (const CodecIdentity& id : kCodecs) {
    if (id.codec == codec) return id;
  }
  return kCodecs[0];  // unreachable for valid enum values
}

std::vector<config::v1::Codec> ConfiguredCodecs(const config::v1::Media& media) {
  std::vector<config::v1::Codec> out;
  for (int c : media.codecs()) out.push_back(static_cast<config::v1::Codec>(c));
  if (out.empty()) {
    out = {config::v1::CODEC_OPUS,    config::v1::CODEC_PCMA, config::v1::CODEC_PCMU,
           config::v1::CODEC_GSM,     config::v1::CODEC_VP8,  config::v1::CODEC_H264_BP,
           config::v1::CODEC_H264_MP, config::v1::CODEC_H263, config::v1::CODEC_H263_PLUS};
  }
  return out;
}

std::optional<config::v1::Codec> ConfigCodecOf(const media::v1::Codec& codec) {
  for (const CodecIdentity& id : kCodecs) {
    if (!EqualsIgnoreCase(codec.name(), id.encoding) || codec.clock_rate() != id.clock_rate) {
      continue;
    }
    if (id.channels && Channels(codec) != id.channels) continue;
    if (!id.channels && Channels(codec) != 1) continue;
    switch (id.codec) {
      case config::v1::CODEC_AMR_NB_BE:
        if (FlagParameter(codec, "octet-align")) continue;
        break;
      case config::v1::CODEC_AMR_NB_OA:
        if (!FlagParameter(codec, "octet-align")) continue;
        break;
      case config::v1::CODEC_H264_BP:
        if (H264Profile(codec) != "42") continue;
        break;
      case config::v1::CODEC_H264_MP:
        if (H264Profile(codec) != "4d") continue;
        break;
      default:
        break;
    }
    return id.codec;
  }
  return std::nullopt;
}

media::v1::Codec MakeCodec(config::v1::Codec codec, uint32_t payload_type) {
  const CodecIdentity& id = IdentityOf(codec);
  media::v1::Codec c;
  c.set_payload_type(payload_type);
  c.set_name(std::string(id.encoding));
  c.set_clock_rate(id.clock_rate);
  c.set_channels(id.channels);
  c.set_fmtp(std::string(id.fmtp));
  return c;
}

bool IsTelephoneEvent(const media::v1::Codec& codec) {
  return EqualsIgnoreCase(codec.name(), "telephone-event");
}

bool IsAuxiliary(const media::v1::Codec& codec) {
  for (std::string_view n : {"CN", "red", "ulpfec", "flexfec-03", "rtx"}) {
    if (EqualsIgnoreCase(codec.name(), n)) return true;
  }
  return false;
}

bool IsMediaCodec(const media::v1::Codec& codec) {
  return !IsTelephoneEvent(codec) && !IsAuxiliary(codec);
}

bool SameCodec(const media::v1::Codec& a, const media::v1::Codec& b) {
  if (!EqualsIgnoreCase(a.name(), b.name()) || a.clock_rate() != b.clock_rate() ||
      Channels(a) != Channels(b)) {
    return false;
  }
  if (EqualsIgnoreCase(a.name(), "H264")) {
    return H264Profile(a) == H264Profile(b) &&
           FmtpParameter(a.fmtp(), "packetization-mode").value_or("0") ==
               FmtpParameter(b.fmtp(), "packetization-mode").value_or("0");
  }
  if (EqualsIgnoreCase(a.name(), "AMR")) {
    return FlagParameter(a, "octet-align") == FlagParameter(b, "octet-align");
  }
  return true;
}

std::optional<media::v1::Codec> StaticPayloadCodec(uint32_t payload_type) {
  for (const StaticType& s : kStatic) {
    if (s.payload_type != payload_type) continue;
    media::v1::Codec c;
    c.set_payload_type(payload_type);
    c.set_name(std::string(s.name));
    c.set_clock_rate(s.clock_rate);
    c.set_channels(s.channels);
    return c;
  }
  return std::nullopt;
}

std::optional<std::string> FmtpParameter(std::string_view fmtp, std::string_view name) {
  std::optional<std::string> found;
  ForEachParameter(fmtp, [&](std::string_view n, std::string_view v) {
    if (!EqualsIgnoreCase(n, name)) return false;
    found = std::string(v);
    return true;
  });
  return found;
}

std::string SetFmtpParameter(std::string_view fmtp, std::string_view name, std::string_view value) {
  std::string out;
  bool replaced = false;
  ForEachParameter(fmtp, [&](std::string_view n, std::string_view v) {
    if (!out.empty()) out += ';';
    out += n;
    if (EqualsIgnoreCase(n, name)) {
      out += '=';
      out += value;
      replaced = true;
    } else if (!v.empty()) {
      out += '=';
      out += v;
    }
    return false;
  });
  if (!replaced) {
    if (!out.empty()) out += ';';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string OpusFmtpWithMaxRates(std::string_view fmtp, uint32_t playback, uint32_t capture) {
  std::string out = SetFmtpParameter(fmtp, "maxplaybackrate", std::to_string(playback));
  return SetFmtpParameter(out, "sprop-maxcapturerate", std::to_string(capture));
}

}  // namespace webrtc2sip::signaling::sdp
