#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace webrtc2sip::media {

// An rtcp-fb attribute: "nack" "", "nack" "pli", "ccm" "fir", "goog-remb" "", "transport-cc" "".
struct RtcpFeedbackSpec {
  std::string type;
  std::string parameter;
};

// One negotiated codec of a leg, as in proto Codec.
struct CodecSpec {
  uint8_t payload_type = 0;  // 0-127.
  std::string name;          // As in rtpmap: "opus", "PCMU", "telephone-event", "VP8".
  uint32_t clock_rate = 0;
  uint32_t channels = 1;  // 0 counts as 1.
  std::vector<RtcpFeedbackSpec> feedback;
};

// Feedback a leg negotiated on any of its codecs: what the node may send it.
struct FeedbackSupport {
  bool nack = false;  // "nack" without a parameter: generic NACK.
  bool pli = false;   // "nack pli".
  bool fir = false;   // "ccm fir".

  static FeedbackSupport Of(const std::vector<CodecSpec>& codecs);
};

// Payload types of one leg to those of the other, matched by codec: name (case-insensitive),
// clock rate and channels, so telephone-event/8000 maps to telephone-event/8000 only. With
// several matches the other leg's first (preferred) one wins. Lookups never allocate.
class PayloadTypeMap {
 public:
  PayloadTypeMap() = default;
  PayloadTypeMap(const std::vector<CodecSpec>& from, const std::vector<CodecSpec>& to);

  // The other leg's payload type for `pt`, nullopt when the codec is not on both legs.
  std::optional<uint8_t> Map(uint8_t pt) const {
    const Entry& e = entries_[pt & 0x7f];
    if (e.to < 0) return std::nullopt;
    return static_cast<uint8_t>(e.to);
  }
  // The clock rate of `pt` on the first leg, 0 when it is not mapped.
  uint32_t ClockRate(uint8_t pt) const { return entries_[pt & 0x7f].clock_rate; }

 private:
  struct Entry {
    int16_t to = -1;
    uint32_t clock_rate = 0;
  };
  std::array<Entry, 128> entries_{};
};

}  // namespace webrtc2sip::media
