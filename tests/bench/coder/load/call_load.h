#pragma once

// The pipeline load: N two-way transcoded calls, each two Transcoders (browser codec ->
// legacy codec and back: opus <-> pcmu, or vp8 <-> h264 at the video size), fed in real
// time from the input clips on W relay workers, calls spread over the workers round-robin
// and every stream's frames spread evenly over the frame period. After a warm-up, a window
// measures the process's CPU (getrusage: every thread, GStreamer's streaming threads
// included), what came out, drops and added latency; then input stops and what is still in
// the pipelines is awaited (the drain).

#include <string>

#include "load/input_clips.h"
#include "load/result_line.h"

namespace webrtc2sip::bench::coder {

// The two codecs of a call kind: [0] the browser leg's (opus, vp8), [1] the legacy leg's
// (pcmu, h264-bp). Direction 0 ("fwd") transcodes [0] -> [1], direction 1 ("rev") back.
struct CallMedia {
  std::string kind;  // "audio" or "video".
  InputClip clips[2];
};
CallMedia MakeCallMedia(const std::string& kind, double clip_seconds, const VideoClipSpec& video);

struct LoadOptions {
  int calls = 10;
  int workers = 1;
  double warmup_s = 3;
  double window_s = 10;
  double drain_s = 2;
  bool flat_out = false;  // Push as fast as the worker goes (LoadWorker::Go).
  VideoClipSpec video;
};

// Runs the load; the "result ..." line (see README.md for its fields). A Transcoder that
// cannot be created is a std::runtime_error.
ResultLine RunCallLoad(const LoadOptions& options, const CallMedia& media);

}  // namespace webrtc2sip::bench::coder
