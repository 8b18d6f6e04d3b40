#pragma once

#include <cstdint>

namespace webrtc2sip::media {

// RFC 3711 Appendix A: the rollover counter a sequence number most likely belongs to, given
// the current ROC and the highest sequence number seen so far (s_l). Sequence numbers are
// compared within half the 16-bit space: a packet from just before a wrap that arrives after
// it gets ROC - 1, one from just after a wrap gets ROC + 1. -1 means "before the stream
// began" (ROC 0): such a packet is older than any replay window.
inline int64_t EstimateRoc(uint32_t roc, uint16_t s_l, uint16_t seq) {
  if (s_l < 32768) {
    if (seq > s_l && seq - s_l > 32768) return static_cast<int64_t>(roc) - 1;
    return roc;
  }
  if (seq < s_l - 32768) return static_cast<int64_t>(roc) + 1;
  return roc;
}

// The 48-bit SRTP packet index i = 2^16 * ROC + SEQ.
inline uint64_t SrtpPacketIndex(uint32_t roc, uint16_t seq) {
  return static_cast<uint64_t>(roc) << 16 | seq;
}

}  // namespace webrtc2sip::media
