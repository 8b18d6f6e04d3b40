#pragma once

// The pre-encoded input a run loops over, made once at start-up before anything is measured:
// each frame's encoded bytes (what the raw ceiling decodes) and the RTP packets that carry it
// (what a Transcoder is pushed). Sequence numbers, timestamps and SSRC are rewritten when a
// frame is sent, so a clip loops seamlessly; a video clip starts with its only keyframe, so
// every loop starts with one too.
//
//   opus  libopus, VOIP, 32 kbit/s, complexity 10, 20 ms frames, mono 48 kHz, PT 111
//   pcmu  G.711 mu-law, 20 ms (160 bytes) per packet, PT 0
//   vp8   GStreamer vp8enc realtime (cpu-used 8, CBR 800 kbit/s), rtpvp8pay, PT 96
//   h264  GStreamer x264enc ultrafast/zerolatency, constrained baseline, 800 kbit/s,
//         rtph264pay, PT 102
// The audio is speech-band tones (300, 440 and 1000 Hz, with a 4 Hz syllable-like envelope and
// a little noise); the video is videotestsrc at 30 fps (default: SMPTE bars moving sideways,
// so every frame changes).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webrtc2sip::bench::coder {

using Bytes = std::vector<uint8_t>;

struct ClipFrame {
  Bytes encoded;               // Opus packet, 160 mu-law bytes, VP8 frame, H.264 access unit.
  std::vector<Bytes> packets;  // RTP, in order; the last one carries the frame's end.
};

struct InputClip {
  std::string codec;  // The coder's name: "opus", "pcmu", "vp8", "h264-bp".
  uint8_t payload_type = 0;
  uint32_t clock_rate = 0;
  uint32_t frame_ticks = 0;        // RTP ticks per frame.
  uint32_t frames_per_second = 0;  // 50 (20 ms audio) or the video frame rate.
  std::vector<ClipFrame> frames;

  size_t packets() const;
  size_t bytes() const;
};

struct VideoClipSpec {
  int width = 640;
  int height = 480;
  int fps = 30;
  int bitrate_kbps = 800;
  std::string source = "pattern=smpte horizontal-speed=4";  // videotestsrc properties.
};

// The same signal for both: one made at 48 kHz for Opus, one at 8 kHz for G.711.
InputClip MakeOpusClip(double seconds);
InputClip MakePcmuClip(double seconds);
// Encoded by a GStreamer pipeline that tees the encoder's frames to the payloader and to us.
InputClip MakeVideoClip(std::string_view codec, double seconds, const VideoClipSpec& spec);

// RTP helpers for what the clips carry (no CSRC or extension).
constexpr size_t kRtpHeaderSize = 12;
void WriteRtpHeader(uint8_t* out, uint8_t payload_type, bool marker, uint16_t sequence,
                    uint32_t timestamp, uint32_t ssrc);
uint32_t RtpTimestampOf(const uint8_t* packet);

}  // namespace webrtc2sip::bench::coder
