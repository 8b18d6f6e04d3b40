// Every other codec the coder can encode on Debian 12, both ways, by chaining two transcoders
// (what a call between two such legs would do): opus -> X -> opus for audio, vp8 -> X -> vp8
// for video, with the content checked at the end (tone frequency and level; frames, size and
// the test pattern's bars).

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>

#include "tests/unit/media-relay/coder_test_media.h"

namespace webrtc2sip::media::coder {
namespace {

using testing::Packet;

// Feeds what one transcoder sends into the next, as a session would between two legs.
class Forwarder : public Transcoder::Listener {
 public:
  void OnTranscodedRtp(std::span<uint8_t> packet) override {
    ++forwarded;
    const PushResult result = next->Push(packet);
    if (result != PushResult::kQueued) {
      ++refused;
      last_refusal = static_cast<int>(result);
    }
  }
  void OnTranscoderFailed(std::string_view reason) override { failure = std::string(reason); }

  Transcoder* next = nullptr;
  int forwarded = 0;
  int refused = 0;
  int last_refusal = -1;
  std::string failure;
};

struct Chain {
  const char* middle;
  uint8_t payload_type;
  // Frames the middle codec's depayloader + decoder keep until the next frame comes (H.263 and
  // MPEG-4 part 2 in GStreamer 1.22 hold the newest one: a frame of added latency).
  size_t held_frames = 0;
};

class CoderChainTest : public ::testing::TestWithParam<Chain> {
 protected:
  void SetUp() override { context_ = g_main_context_new(); }
  void TearDown() override {
    first_.reset();
    second_.reset();
    g_main_context_unref(context_);
  }

  void Build(const std::string& edge, uint8_t edge_pt, const Chain& chain) {
    TranscoderConfig config;
    config.from = chain.middle;
    config.to = edge;
    config.input_payload_type = chain.payload_type;
    config.output_payload_type = edge_pt;
    config.input_buffers = 1024;  // The first one's output comes in bursts here, not paced.
    auto second = Transcoder::Create(config, context_, output_);
    ASSERT_TRUE(second.ok()) << second.status();
    second_ = std::move(*second);
    config.input_buffers = 0;
    config.from = edge;
    config.to = chain.middle;
    config.input_payload_type = edge_pt;
    config.output_payload_type = chain.payload_type;
    auto first = Transcoder::Create(config, context_, forward_);
    ASSERT_TRUE(first.ok()) << first.status();
    first_ = std::move(*first);
    forward_.next = second_.get();
  }

  GMainContext* context_ = nullptr;
  Forwarder forward_;
  testing::OutputCollector output_;
  std::unique_ptr<Transcoder> first_;
  std::unique_ptr<Transcoder> second_;
};

class CoderAudioChainTest : public CoderChainTest {};
class CoderVideoChainTest : public CoderChainTest {};

TEST_P(CoderAudioChainTest, OpusToneSurvivesTheRoundTrip) {
  Build("opus", 111, GetParam());
  const std::vector<Packet> opus = testing::RunToEos(
      "audiotestsrc wave=sine freq=1000 volume=0.316227766 samplesperbuffer=960 num-buffers=100 ! "
      "audio/x-raw,format=S16LE,channels=1,rate=48000 ! opusenc frame-size=20 bitrate=64000 ! "
      "rtpopuspay pt=111 ! appsink name=sink sync=false");
  EXPECT_EQ(testing::PushAll(*first_, context_, opus), opus.size());
  EXPECT_TRUE(testing::RunUntil(context_, [&] { return output_.packets.size() >= 85; }))
      << output_.packets.size() << " out, " << forward_.forwarded << " in the middle";
  EXPECT_EQ(forward_.refused, 0) << "last refusal " << forward_.last_refusal;
  EXPECT_TRUE(forward_.failure.empty()) << forward_.failure;
  EXPECT_EQ(output_.failures, 0) << output_.failure;

  const std::vector<int16_t> decoded = testing::DecodeAudioRtp(
      output_.packets,
      "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111",
      "rtpopusdepay ! opusdec", 48000);
  ASSERT_GT(decoded.size(), 48000u);
  std::span<const int16_t> steady(decoded.data() + 9600, 38400);  // 0.2 s to 1.0 s.
  const double dominant = testing::DominantFrequency(steady, 48000, 50);
  const double share = testing::ToneShare(steady, 48000, 1000);
  const double level = testing::LevelDbfs(steady);
  std::cout << "  opus -> " << GetParam().middle << " -> opus: dominant " << dominant << " Hz, "
            << share * 100 << "% at 1 kHz, level " << level << " dBFS\n";
  EXPECT_DOUBLE_EQ(dominant, 1000);
  EXPECT_GT(share, 0.8);
  EXPECT_NEAR(level, -10, 3);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CoderAudioChainTest,
                         ::testing::Values(Chain{"speex-nb", 97}, Chain{"speex-wb", 98},
                                           Chain{"speex-uwb", 99}, Chain{"amr-nb-oa", 100}),
                         [](const auto& param_info) {
                           std::string name = param_info.param.middle;
                           for (char& c : name) c = std::isalnum(c) ? c : '_';
                           return name;
                         });

TEST_P(CoderVideoChainTest, Vp8PatternSurvivesTheRoundTrip) {
  const CodecAvailability available = CheckAvailability(*FindCoderCodec(GetParam().middle));
  if (!available.both()) GTEST_SKIP() << GetParam().middle << ": " << available.missing;
  Build("vp8", 96, GetParam());
  const std::vector<Packet> vp8 = testing::RunToEos(
      "videotestsrc pattern=smpte num-buffers=30 ! "
      "video/x-raw,format=I420,framerate=30/1,width=640,height=480 ! "
      "vp8enc deadline=1 keyframe-max-dist=1000 ! rtpvp8pay pt=96 ! appsink name=sink sync=false");
  EXPECT_EQ(testing::PushAll(*first_, context_, vp8), vp8.size());
  auto frames = [this] {
    size_t n = 0;
    for (const Packet& p : output_.packets) n += (p[1] & 0x80) != 0;
    return n;
  };
  const size_t expected = 30 - GetParam().held_frames;
  EXPECT_TRUE(testing::RunUntil(context_, [&] { return frames() >= expected; }))
      << frames() << " frames out, " << forward_.forwarded << " packets in the middle; first "
      << first_->stats().frames_decoded.load() << " decoded "
      << first_->stats().frames_encoded.load() << " encoded; second "
      << second_->stats().frames_decoded.load() << " decoded "
      << second_->stats().frames_encoded.load() << " encoded; output dropped "
      << first_->stats().output_dropped.load() << ", middle dropped "
      << second_->stats().packets_dropped.load();
  EXPECT_EQ(forward_.refused, 0) << "last refusal " << forward_.last_refusal;
  EXPECT_TRUE(forward_.failure.empty()) << forward_.failure;
  EXPECT_EQ(output_.failures, 0) << output_.failure;

  const testing::DecodedVideo video = testing::DecodeVideoRtp(
      output_.packets,
      "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96",
      "rtpvp8depay ! vp8dec");
  std::cout << "  vp8 -> " << GetParam().middle << " -> vp8: " << video.frames << " frames "
            << video.width << "x" << video.height << "\n";
  EXPECT_EQ(video.frames, static_cast<int>(expected));
  // Nothing held on the way in (theoraenc adds its 3 header buffers).
  EXPECT_GE(first_->stats().frames_encoded.load(), 30u);
  EXPECT_EQ(video.width, 640);
  EXPECT_EQ(video.height, 480);
  ASSERT_EQ(video.last_luma.size(), 640u * 480u);
  const int yellow = video.last_luma[144 * 640 + 137];
  const int blue = video.last_luma[144 * 640 + 594];
  EXPECT_GT(yellow, 130);
  EXPECT_LT(blue, 70);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CoderVideoChainTest,
                         ::testing::Values(Chain{"h264-bp", 102}, Chain{"h264-mp", 103},
                                           Chain{"h263", 34, 1}, Chain{"h263+", 104},
                                           Chain{"theora", 105}, Chain{"mp4v-es", 106, 1}),
                         [](const auto& param_info) {
                           std::string name = param_info.param.middle;
                           for (char& c : name) c = std::isalnum(c) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace webrtc2sip::media::coder
