#pragma once

#include <srtp2/srtp.h>

#include <memory>

#include "common/cwrap/c_ptr.h"
#include "services/media-relay/srtp/srtp_session.h"

namespace webrtc2sip::media {

// SrtpSession on libsrtp2, with ssrc_any_inbound / ssrc_any_outbound policies so that every
// SSRC gets its own stream on first use. libsrtp reads headers through 32-bit pointers: pass
// 4-byte aligned buffers.
class LibSrtpSession final : public SrtpSession {
 public:
  static std::unique_ptr<LibSrtpSession> Create(SrtpDirection direction, SrtpProfile profile,
                                                const SrtpMasterKey& key);

  SrtpResult ProtectRtp(uint8_t* buf, size_t* len, size_t capacity) override;
  SrtpResult UnprotectRtp(uint8_t* buf, size_t* len) override;
  SrtpResult ProtectRtcp(uint8_t* buf, size_t* len, size_t capacity) override;
  SrtpResult UnprotectRtcp(uint8_t* buf, size_t* len) override;

 private:
  using SrtpPtr = CPtr<srtp_ctx_t, srtp_dealloc>;

  LibSrtpSession(SrtpDirection direction, SrtpProfile profile, SrtpPtr srtp);

  const SrtpPtr srtp_;
};

}  // namespace webrtc2sip::media
