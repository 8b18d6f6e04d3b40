#pragma once

// The raw codec ceiling: the work of one two-way call done on the codec libraries directly, in
// a tight loop on one thread, over the same input clips, with no pipeline, RTP or threads:
//   audio fwd  libavcodec Opus decode (20 ms, mono 48 kHz float -> 16 bits) -> GStreamer's
//              resampler (as audioresample) down to 8 kHz -> mu-law
//         rev  mu-law decode -> GStreamer's resampler up to 48 kHz -> libopus encode
//   video fwd  libvpx VP8 decode -> x264 encode
//         rev  libavcodec H.264 decode -> libvpx VP8 encode
// Audio keeps one codec state per call (`streams`), taken in turn; video one. Each direction
// warms up (a second; two per state with several), then `seconds` of media (the clip looped,
// at least a second per state) are timed as a whole by the thread's CPU clock, then as much
// again stage by stage. The totals give CPU per call-second and the ceiling: the calls one
// core could carry if transcoding cost nothing but the codecs.

#include "load/call_load.h"
#include "load/result_line.h"

namespace webrtc2sip::bench::coder {

// The "ceiling ..." line (see README.md for its fields).
// Audio: `streams` codec states taken in turn (frames and warm-up are per stream). With
// `wall_s`, each direction's timed pass lasts at least half of it (a run alongside a load).
ResultLine RunRawCeiling(const CallMedia& media, double seconds, const VideoClipSpec& video,
                         size_t streams = 1, double wall_s = 0);

}  // namespace webrtc2sip::bench::coder
