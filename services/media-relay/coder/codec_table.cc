#include "services/media-relay/coder/codec_table.h"

#include <gst/gst.h>

#include <strings.h>

#include <array>
#include <mutex>
#include <optional>

#include "services/media-relay/coder/gst_runtime.h"

namespace webrtc2sip::media::coder {
namespace {

constexpr std::string_view kAudioPay = "min-ptime=20000000 max-ptime=20000000";  // 20 ms packets.
// avdec_* that thread (avdec_h263 does not): one thread per stream.
constexpr std::string_view kVideoDec = "max-threads=1";
// Keyframes on request, not periodically; slices of at most 1000 bytes (FFmpeg's "ps"), so
// rtph263pay finds GOB boundaries to split frames at.
constexpr std::string_view kGop = "gop-size=3000 ps=1000";
constexpr std::string_view kX264 =
    "tune=zerolatency speed-preset=ultrafast key-int-max=3000 threads=1 sync-lookahead=0 "
    "rc-lookahead=0 bframes=0";
constexpr std::string_view kH264Pay = "config-interval=-1 aggregate-mode=zero-latency";

constexpr MediaType A = MediaType::kAudio;
constexpr MediaType V = MediaType::kVideo;

// Checked on Debian 12 (GStreamer 1.22, plugins base/good/bad/ugly + libav): every element
// named here exists except ilbcenc (no encoder of iLBC at all: gst-plugins-bad's ilbc plugin
// is not built, and Debian's FFmpeg has no libilbc) and G.729 has no encoder in either.
// One codec per entry reads better than one field per line.
// clang-format off
constexpr std::array<CoderCodec, 19> kCodecs{{
    {"pcma", A, "PCMA", 8000, 8000, "", "rtppcmadepay", "alawdec", "", "alawenc", "", "",
     "rtppcmapay", kAudioPay, "", 0, 64000, 0, 0, ""},
    {"pcmu", A, "PCMU", 8000, 8000, "", "rtppcmudepay", "mulawdec", "", "mulawenc", "", "",
     "rtppcmupay", kAudioPay, "", 0, 64000, 0, 0, ""},
    // Decoded by FFmpeg's own Opus decoder: opusdec goes through libopus's multistream API,
    // which runs CPUID on every packet, and CPUID traps to the hypervisor on a virtual machine
    // (~60 us a packet here, 3x the decoding itself). It has no PLC; the receiving phone
    // conceals a lost packet itself. Decoded to mono (sprop-stereo=0 makes rtpopusdepay say
    // one channel): every other codec here is mono, the decoder downmixes a stereo stream
    // itself, and stereo float would double the samples that audioconvert then mixes down.
    // Encoded by the coder's own element on libopus's single-stream API
    // (opus_encoder_element.h), for the same reason (FFmpeg's encoder is CELT-only).
    {"opus", A, "OPUS", 48000, 48000, "sprop-stereo=(string)0", "rtpopusdepay", "avdec_opus", "", "w2sopusenc",
     "audio-type=voice frame-size=20", "", "rtpopuspay", "", "bitrate", 1, 32000, 0, 0, ""},
    {"amr-nb-be", A, "AMR", 8000, 8000, "octet-align=(string)0", "rtpamrdepay", "amrnbdec", "",
     "amrnbenc", "", "", "rtpamrpay", "", "", 0, 12200, 0, 0,
     "GStreamer's rtpamrdepay and rtpamrpay carry only octet-aligned AMR (octet-align=1)"},
    {"amr-nb-oa", A, "AMR", 8000, 8000, "octet-align=(string)1,encoding-params=(string)1",
     "rtpamrdepay", "amrnbdec", "", "amrnbenc", "", "", "rtpamrpay", "", "", 0, 12200, 0, 0, ""},
    {"speex-nb", A, "SPEEX", 8000, 8000, "", "rtpspeexdepay", "speexdec", "", "speexenc",
     "mode=nb", "", "rtpspeexpay", "", "", 0, 15000, 0, 0, ""},
    {"speex-wb", A, "SPEEX", 16000, 16000, "", "rtpspeexdepay", "speexdec", "", "speexenc",
     "mode=wb", "", "rtpspeexpay", "", "", 0, 27800, 0, 0, ""},
    {"speex-uwb", A, "SPEEX", 32000, 32000, "", "rtpspeexdepay", "speexdec", "", "speexenc",
     "mode=uwb", "", "rtpspeexpay", "", "", 0, 28000, 0, 0, ""},
    {"g729", A, "G729", 8000, 8000, "", "rtpg729depay", "avdec_g729", "", "", "", "",
     "rtpg729pay", kAudioPay, "", 0, 8000, 0, 0, ""},
    {"gsm", A, "GSM", 8000, 8000, "", "rtpgsmdepay", "gsmdec", "", "gsmenc", "", "", "rtpgsmpay",
     "", "", 0, 13200, 0, 0, ""},
    // G.722's RTP clock is 8000 (RFC 3551) for 16 kHz audio.
    {"g722", A, "G722", 8000, 16000, "", "rtpg722depay", "avdec_g722", "", "avenc_g722", "", "",
     "rtpg722pay", kAudioPay, "", 0, 64000, 0, 0, ""},
    {"ilbc", A, "ILBC", 8000, 8000, "mode=(string)30", "rtpilbcdepay", "avdec_ilbc", "",
     "ilbcenc", "mode=30", "", "rtpilbcpay", "", "", 0, 13330, 0, 0, ""},
    {"h264-bp", V, "H264", 90000, 0, "", "rtph264depay", "avdec_h264", kVideoDec, "x264enc", kX264,
     "video/x-h264,profile=(string)constrained-baseline", "rtph264pay", kH264Pay, "bitrate", 1000,
     800000, 0, 0, ""},
    {"h264-mp", V, "H264", 90000, 0, "", "rtph264depay", "avdec_h264", kVideoDec, "x264enc", kX264,
     "video/x-h264,profile=(string)main", "rtph264pay", kH264Pay, "bitrate", 1000, 800000, 0, 0,
     ""},
    {"vp8", V, "VP8", 90000, 0, "", "rtpvp8depay", "vp8dec", "threads=1", "vp8enc",
     "deadline=1 cpu-used=8 lag-in-frames=0 end-usage=cbr error-resilient=default "
     "keyframe-max-dist=3000 threads=1",
     "", "rtpvp8pay", "picture-id-mode=15-bit", "target-bitrate", 1, 800000, 0, 0, ""},
    // RFC 2190 H.263 allows only the standard picture sizes: CIF here.
    {"h263", V, "H263", 90000, 0, "", "rtph263depay", "avdec_h263", "", "avenc_h263", kGop,
     "", "rtph263pay", "", "bitrate", 1, 512000, 352, 288,
     "not verified: vp8 -> h263 output decodes right, but h263 -> vp8 through the coder "
     "decodes black (avdec_h263 conceals errors in the I frame); use h263+ (RFC 4629)"},
    {"h263+", V, "H263-1998", 90000, 0, "", "rtph263pdepay", "avdec_h263", "",
     "avenc_h263p", kGop, "", "rtph263ppay", "", "bitrate", 1, 512000, 0, 0, ""},
    {"theora", V, "THEORA", 90000, 0, "", "rtptheoradepay", "theoradec", "", "theoraenc",
     "keyframe-auto=false keyframe-freq=3000", "", "rtptheorapay", "config-interval=1", "bitrate",
     1000, 800000, 0, 0, ""},
    {"mp4v-es", V, "MP4V-ES", 90000, 0, "", "rtpmp4vdepay", "avdec_mpeg4", kVideoDec,
     "avenc_mpeg4", kGop, "", "rtpmp4vpay", "config-interval=1", "bitrate", 1, 800000, 0, 0, ""},
}};
// clang-format on

bool ElementExists(std::string_view name) {
  if (name.empty()) return false;
  GstElementFactory* factory = gst_element_factory_find(std::string(name).c_str());
  if (factory == nullptr) return false;
  gst_object_unref(factory);
  return true;
}

// Appends "no <role> element 'name'" (or "no <role> in GStreamer" for an empty name).
void NoteMissing(std::string& out, std::string_view role, std::string_view element) {
  if (!out.empty()) out += "; ";
  if (element.empty()) {
    out += "GStreamer has no ";
    out += role;
    out += " for it";
  } else {
    out += "element '";
    out += element;
    out += "' (";
    out += role;
    out += ") is not installed";
  }
}

// The value of parameter `name` in an fmtp "a=b;c=d" (names compare case-insensitively).
std::optional<std::string_view> FmtpValue(std::string_view fmtp, std::string_view name) {
  while (!fmtp.empty()) {
    const size_t end = fmtp.find(';');
    std::string_view item = fmtp.substr(0, end);
    fmtp = end == std::string_view::npos ? std::string_view() : fmtp.substr(end + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq != name.size()) continue;
    if (strncasecmp(item.data(), name.data(), name.size()) == 0) return item.substr(eq + 1);
  }
  return std::nullopt;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

const CoderCodec* CoderCodecOf(std::string_view encoding_name, uint32_t clock_rate,
                               std::string_view fmtp) {
  if (EqualsIgnoreCase(encoding_name, "AMR")) {
    const auto align = FmtpValue(fmtp, "octet-align");
    return FindCoderCodec(align && *align == "1" ? "amr-nb-oa" : "amr-nb-be");
  }
  if (EqualsIgnoreCase(encoding_name, "H264")) {
    const auto profile = FmtpValue(fmtp, "profile-level-id");
    const bool main = profile && profile->size() >= 2 && EqualsIgnoreCase(profile->substr(0, 2), "4d");
    return FindCoderCodec(main ? "h264-mp" : "h264-bp");
  }
  for (const CoderCodec& codec : kCodecs) {
    if (EqualsIgnoreCase(codec.encoding_name, encoding_name) && codec.clock_rate == clock_rate) {
      return &codec;
    }
  }
  return nullptr;
}

bool CanTranscode(const CoderCodec& codec) {
  static std::once_flag once;
  static std::array<bool, kCodecs.size()> can{};
  std::call_once(once, [] {
    for (size_t i = 0; i < kCodecs.size(); ++i) can[i] = CheckAvailability(kCodecs[i]).both();
  });
  const size_t index = static_cast<size_t>(&codec - kCodecs.data());
  return index < kCodecs.size() && can[index];
}

std::span<const CoderCodec> CoderCodecs() {
  return kCodecs;
}

const CoderCodec* FindCoderCodec(std::string_view name) {
  for (const CoderCodec& codec : kCodecs) {
    if (codec.name == name) return &codec;
  }
  return nullptr;
}

CodecAvailability CheckAvailability(const CoderCodec& codec) {
  EnsureGstreamer();
  CodecAvailability out;
  if (!codec.unsupported.empty()) {
    out.missing = std::string(codec.unsupported);
    return out;
  }
  const bool depay = ElementExists(codec.depayloader);
  const bool decoder = ElementExists(codec.decoder);
  const bool encoder = ElementExists(codec.encoder);
  const bool pay = ElementExists(codec.payloader);
  out.can_decode = depay && decoder;
  out.can_encode = encoder && pay;
  if (!depay) NoteMissing(out.missing, "depayloader", codec.depayloader);
  if (!decoder) NoteMissing(out.missing, "decoder", codec.decoder);
  if (!encoder) NoteMissing(out.missing, "encoder", codec.encoder);
  if (!pay) NoteMissing(out.missing, "payloader", codec.payloader);
  return out;
}

}  // namespace webrtc2sip::media::coder
