#pragma once

#include <cstddef>
#include <cstdint>

#include "services/media-relay/srtp/srtp_session.h"

namespace webrtc2sip::media {

// The per-packet cryptography of one SRTP profile under fixed session keys: no parsing beyond
// what the caller hands in, no stream state. EvpSrtpSession owns the SSRC, ROC and replay
// bookkeeping; tests drive a transform directly with RFC test vectors.
class SrtpTransform {
 public:
  virtual ~SrtpTransform() = default;

  // `buf[0, header_len)` is the RTP header, the payload runs to `*len`. Appends the tag; the
  // caller checked that `buf` has room for it.
  virtual bool ProtectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc, uint32_t roc,
                          uint16_t seq) = 0;
  // `*len` includes the tag (the caller checked it is there). On kOk, `*len` drops the tag.
  virtual SrtpResult UnprotectRtp(uint8_t* buf, size_t* len, size_t header_len, uint32_t ssrc,
                                  uint32_t roc, uint16_t seq) = 0;

  // Encrypts everything after the first 8 bytes, appends the E bit and `index`, and the tag.
  virtual bool ProtectRtcp(uint8_t* buf, size_t* len, uint32_t ssrc, uint32_t index) = 0;
  // The E bit and SRTCP index word of a protected packet at least 8 + overhead bytes long.
  virtual uint32_t RtcpTrailerWord(const uint8_t* buf, size_t len) const = 0;
  // On kOk, `*len` drops the trailer and the tag.
  virtual SrtpResult UnprotectRtcp(uint8_t* buf, size_t* len) = 0;
};

}  // namespace webrtc2sip::media
