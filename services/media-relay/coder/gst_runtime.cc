#include "services/media-relay/coder/gst_runtime.h"

#include <gst/gst.h>

#include <mutex>

#include "services/media-relay/coder/opus_encoder_element.h"

namespace webrtc2sip::media::coder {

void EnsureGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] {
    gst_init(nullptr, nullptr);
    RegisterOpusEncoderElement();
  });
}

}  // namespace webrtc2sip::media::coder
