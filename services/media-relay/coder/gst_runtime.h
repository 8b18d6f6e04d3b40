#pragma once

namespace webrtc2sip::media::coder {

// Initialises GStreamer once per process (thread-safe; later calls return at once). The
// coder's entry points call it; nothing else needs to.
void EnsureGstreamer();

}  // namespace webrtc2sip::media::coder
