#pragma once

// Media for the Media Coder's tests: RTP made by independent GStreamer pipelines, decoding of
// what the coder sent (G.711 by table, the rest by GStreamer), and tone analysis.

#include <glib.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "services/media-relay/coder/transcoder.h"

namespace webrtc2sip::media::coder::testing {

using Packet = std::vector<uint8_t>;

// Runs a gst-launch description whose last element is "appsink name=sink" to EOS and returns
// every buffer it got (RTP packets when it ends with a payloader).
std::vector<Packet> RunToEos(const std::string& description);

// Encodes mono S16 samples (time 0 at the first) with "<encoder> ! <payloader>" to RTP.
std::vector<Packet> EncodeAudio(const std::vector<int16_t>& samples, int rate,
                                const std::string& encode);

// Decodes RTP packets (in order) with "<depay> ! <decoder>" to mono S16 at `rate`.
std::vector<int16_t> DecodeAudioRtp(const std::vector<Packet>& packets, const std::string& rtp_caps,
                                    const std::string& decode, int rate);

struct DecodedVideo {
  int frames = 0;
  int width = 0;
  int height = 0;
  std::vector<uint8_t> last_luma;  // Y plane of the last frame, width x height.
};
DecodedVideo DecodeVideoRtp(const std::vector<Packet>& packets, const std::string& rtp_caps,
                            const std::string& decode);

// G.711 (ITU-T G.711 expansion).
int16_t MulawToLinear(uint8_t code);
int16_t AlawToLinear(uint8_t code);

// The payload of an RTP packet (no CSRCs or extension in what GStreamer writes; checked).
std::span<const uint8_t> RtpPayload(const Packet& packet);
uint32_t RtpTimestamp(const Packet& packet);
uint16_t RtpSequence(const Packet& packet);

// Power at `frequency` (Goertzel) over all of `samples`, as a share of the total power (0-1).
double ToneShare(std::span<const int16_t> samples, int rate, double frequency);
// The frequency, in `step` Hz steps from `step` to rate/2, with the most power.
double DominantFrequency(std::span<const int16_t> samples, int rate, double step);
// RMS level in dBFS, a full-scale sine being 0 dBFS.
double LevelDbfs(std::span<const int16_t> samples);

// Collects a transcoder's output on the test's GMainContext.
class OutputCollector : public Transcoder::Listener {
 public:
  void OnTranscodedRtp(std::span<uint8_t> packet) override {
    packets.emplace_back(packet.begin(), packet.end());
  }
  void OnTranscoderFailed(std::string_view reason) override {
    ++failures;
    failure = std::string(reason);
  }

  std::vector<Packet> packets;
  int failures = 0;
  std::string failure;
};

// Runs `context` until `done()` or 60 s pass (a deadline for a broken pipeline, not a speed
// requirement); returns done().
template <typename F>
bool RunUntil(GMainContext* context, F done) {
  const int64_t deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  while (!done()) {
    if (g_get_monotonic_time() > deadline) return false;
    if (!g_main_context_iteration(context, FALSE)) g_usleep(1000);
  }
  return true;
}

// Pushes every packet, waiting (running `context`) while the pipeline's input is full.
// Returns how many were queued.
size_t PushAll(Transcoder& transcoder, GMainContext* context, const std::vector<Packet>& packets);

}  // namespace webrtc2sip::media::coder::testing
