#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "services/media-relay/srtp/srtp_profile.h"

namespace webrtc2sip::media {

enum class SrtpDirection {
  kInbound,   // Unprotects what a peer sent.
  kOutbound,  // Protects what we send.
};

// Outcome of one packet; everything but kOk means "drop it and count it".
enum class SrtpResult {
  kOk,
  kBadPacket,       // Not RTP/RTCP, or too short for its header and tag.
  kAuthFail,        // Authentication tag does not match.
  kReplay,          // Already received, or older than the replay window.
  kNoSpace,         // Capacity too small for the tag (protect).
  kWrongDirection,  // Protect on an inbound session or the reverse.
  kError,           // Crypto library failure.
};

std::string_view SrtpResultName(SrtpResult result);

// SRTP/SRTCP for one direction of one transport, any number of SSRCs (learned as packets go:
// BUNDLE puts audio and video in one session). Packets are transformed in place; the packet
// path never allocates (except once per new SSRC), never throws and never logs.
//
// Protect: `buf` holds `*len` bytes and has room for `capacity`; on kOk `*len` grew by
// SrtpRtpOverhead() or SrtpRtcpOverhead(). Unprotect: on kOk `*len` shrank to the plain packet.
// On any other result `*len` is unchanged and the bytes are unspecified (AEAD decrypts in place
// before the tag verdict): drop the packet. A session belongs to one thread.
class SrtpSession {
 public:
  virtual ~SrtpSession() = default;
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  virtual SrtpResult ProtectRtp(uint8_t* buf, size_t* len, size_t capacity) = 0;
  virtual SrtpResult UnprotectRtp(uint8_t* buf, size_t* len) = 0;
  virtual SrtpResult ProtectRtcp(uint8_t* buf, size_t* len, size_t capacity) = 0;
  virtual SrtpResult UnprotectRtcp(uint8_t* buf, size_t* len) = 0;

  SrtpDirection direction() const { return direction_; }
  SrtpProfile profile() const { return profile_; }

 protected:
  SrtpSession(SrtpDirection direction, SrtpProfile profile)
      : direction_(direction), profile_(profile) {}

 private:
  const SrtpDirection direction_;
  const SrtpProfile profile_;
};

enum class SrtpImpl {
  kLibSrtp,  // libsrtp2 (Debian's is built on NSS).
  kEvp,      // Our own, on OpenSSL EVP (several times faster here).
};

// Returns nullptr when the key or salt length does not fit the profile or the crypto library
// refuses the key.
std::unique_ptr<SrtpSession> CreateSrtpSession(SrtpImpl impl, SrtpDirection direction,
                                               SrtpProfile profile, const SrtpMasterKey& key);

}  // namespace webrtc2sip::media
