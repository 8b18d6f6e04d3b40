#pragma once

// "w2sopusenc": a GStreamer Opus encoder on libopus's single-stream API (opus_encode), for
// mono or stereo RTP (channel mapping family 0, RFC 7587). GStreamer's opusenc goes through
// the multistream API for every stream; on this project's virtual machines that path costs
// ~45% more per frame than opus_encode for the same output (measured by tests/bench/coder), a
// cost every transcoded call pays 50 times a second.
//
// Properties (the subset of opusenc's that the coder sets, with its names and defaults):
//   bitrate (bits/s, 4000-650000, default 64000), complexity (0-10, 10), audio-type
//   ("voice" = OPUS_APPLICATION_VOIP, "generic" = OPUS_APPLICATION_AUDIO, default generic),
//   frame-size (ms: 10, 20, 40 or 60; 20), inband-fec (false), packet-loss-percentage (0),
//   dtx (false). bitrate, inband-fec and packet-loss-percentage may change while running;
//   the change applies from the next frame.

namespace webrtc2sip::media::coder {

inline constexpr char kOpusEncoderElement[] = "w2sopusenc";

// Registers the element with GStreamer (once per process; later calls return the first
// result). Needs gst_init first. False only when GStreamer refuses the registration.
bool RegisterOpusEncoderElement();

}  // namespace webrtc2sip::media::coder
