#include "services/media-relay/coder/gst_runtime.h"

#include <gst/gst.h>

#include <mutex>

namespace webrtc2sip::media::coder {

void EnsureGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

}  // namespace webrtc2sip::media::coder
