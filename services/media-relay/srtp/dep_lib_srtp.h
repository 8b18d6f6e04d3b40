#pragma once

namespace webrtc2sip::media {

// libsrtp2's process-wide srtp_init(), done once whichever thread asks first.
class DepLibSrtp {
 public:
  // True when libsrtp is usable. Safe to call from any thread, any number of times.
  static bool ClassInit();
};

}  // namespace webrtc2sip::media
