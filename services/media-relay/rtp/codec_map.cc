#include "services/media-relay/rtp/codec_map.h"

#include <algorithm>
#include <cctype>

namespace webrtc2sip::media {
namespace {

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

uint32_t Channels(const CodecSpec& codec) {
  return std::max<uint32_t>(codec.channels, 1);
}

bool SameCodec(const CodecSpec& a, const CodecSpec& b) {
  return EqualsIgnoreCase(a.name, b.name) && a.clock_rate == b.clock_rate &&
         Channels(a) == Channels(b);
}

}  // namespace

FeedbackSupport FeedbackSupport::Of(const std::vector<CodecSpec>& codecs) {
  FeedbackSupport support;
  for (const CodecSpec& codec : codecs) {
    for (const RtcpFeedbackSpec& fb : codec.feedback) {
      if (EqualsIgnoreCase(fb.type, "nack")) {
        if (fb.parameter.empty()) support.nack = true;
        if (EqualsIgnoreCase(fb.parameter, "pli")) support.pli = true;
      } else if (EqualsIgnoreCase(fb.type, "ccm") && EqualsIgnoreCase(fb.parameter, "fir")) {
        support.fir = true;
      }
    }
  }
  return support;
}

PayloadTypeMap::PayloadTypeMap(const std::vector<CodecSpec>& from,
                               const std::vector<CodecSpec>& to) {
  for (const CodecSpec& codec : from) {
    if (codec.payload_type > 127 || codec.clock_rate == 0) continue;
    Entry& entry = entries_[codec.payload_type];
    if (entry.to >= 0) continue;  // A payload type listed twice: the first one counts.
    const auto match = std::find_if(to.begin(), to.end(), [&](const CodecSpec& other) {
      return other.payload_type <= 127 && SameCodec(codec, other);
    });
    if (match == to.end()) continue;
    entry.to = match->payload_type;
    entry.clock_rate = codec.clock_rate;
  }
}

}  // namespace webrtc2sip::media
