#include "services/media-relay/srtp/dep_lib_srtp.h"

#include <srtp2/srtp.h>

#include <mutex>

namespace webrtc2sip::media {

bool DepLibSrtp::ClassInit() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = srtp_init() == srtp_err_status_ok; });
  return ok;
}

}  // namespace webrtc2sip::media
