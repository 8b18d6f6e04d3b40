// The coder's own Opus encoder element (w2sopusenc): what it makes is decoded by libopus
// directly (no GStreamer on the checking side) and the tone is checked.

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <opus/opus.h>

#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "common/cwrap/gobject_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "gtest/gtest.h"
#include "services/media-relay/coder/gst_runtime.h"
#include "services/media-relay/coder/opus_encoder_element.h"
#include "tests/unit/media-relay/coder_test_media.h"

namespace webrtc2sip::media::coder {
namespace {

using testing::Packet;

std::vector<int16_t> Tone(int rate, int channels, double frequency, double seconds) {
  const size_t frames = static_cast<size_t>(rate * seconds);
  std::vector<int16_t> out(frames * channels);
  for (size_t i = 0; i < frames; ++i) {
    const double v = 0.5 * std::sin(2 * std::numbers::pi * frequency * i / rate);
    for (int c = 0; c < channels; ++c) out[i * channels + c] = static_cast<int16_t>(v * 32767);
  }
  return out;
}

// Decodes Opus packets with libopus at 48 kHz, mono (channel 0 of stereo).
std::vector<int16_t> Decode(const std::vector<Packet>& packets, int channels) {
  int error = OPUS_OK;
  OpusDecoder* decoder = opus_decoder_create(48000, channels, &error);
  EXPECT_EQ(error, OPUS_OK);
  std::vector<int16_t> out;
  std::vector<int16_t> frame(5760 * channels);
  for (const Packet& p : packets) {
    const int n = opus_decode(decoder, p.data(), static_cast<opus_int32>(p.size()), frame.data(),
                              5760, 0);
    EXPECT_GT(n, 0) << opus_strerror(n);
    for (int i = 0; i < n; ++i) out.push_back(frame[static_cast<size_t>(i) * channels]);
  }
  opus_decoder_destroy(decoder);
  return out;
}

// At 48 kHz, as RTP Opus counts (RFC 7587), whatever the input rate.
int Samples48k(const Packet& packet) {
  return opus_packet_get_nb_samples(packet.data(), static_cast<opus_int32>(packet.size()), 48000);
}

// The decoded tone past the encoder's start-up (its first frames): frequency and level of a
// half-scale sine.
void ExpectTone(const std::vector<int16_t>& pcm, double frequency, double step) {
  ASSERT_GT(pcm.size(), 9600u);
  const std::span<const int16_t> steady(pcm.data() + 9600, pcm.size() - 9600);
  EXPECT_NEAR(testing::DominantFrequency(steady, 48000, step), frequency, 1);
  EXPECT_GT(testing::ToneShare(steady, 48000, frequency), 0.9);
  EXPECT_NEAR(testing::LevelDbfs(steady), -6.0, 2.0);
}

std::string RawCaps(int rate, int channels) {
  return "audio/x-raw,format=S16LE,layout=interleaved,rate=" + std::to_string(rate) +
         ",channels=" + std::to_string(channels);
}

// appsrc ! w2sopusenc <options> ! appsink, driven by hand.
class EncoderPipeline {
 public:
  EncoderPipeline(int rate, int channels, const std::string& options)
      : rate_(rate), channels_(channels) {
    EnsureGstreamer();
    GError* error = nullptr;
    const std::string description = "appsrc name=src format=time caps=" +
                                    RawCaps(rate, channels) + " ! w2sopusenc name=enc " +
                                    options + " ! appsink name=sink sync=false";
    pipeline_ = AdoptGObject(gst_parse_launch(description.c_str(), &error));
    GErrorPtr owned(error);
    EXPECT_TRUE(pipeline_ && error == nullptr) << description;
    src_.reset(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "src"));
    sink_.reset(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "sink"));
    encoder_.reset(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "enc"));
    gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
  }
  ~EncoderPipeline() { gst_element_set_state(pipeline_.get(), GST_STATE_NULL); }

  // Pushes 20 ms chunks of `samples` (interleaved).
  void Push(const std::vector<int16_t>& samples) {
    const size_t chunk = static_cast<size_t>(rate_ / 50) * channels_;
    for (size_t i = 0; i < samples.size(); i += chunk) {
      const size_t n = std::min(chunk, samples.size() - i);
      GstBuffer* buffer = gst_buffer_new_memdup(samples.data() + i, n * sizeof(int16_t));
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale_int(pushed_, GST_SECOND, rate_);
      GST_BUFFER_DURATION(buffer) =
          gst_util_uint64_scale_int(n / channels_, GST_SECOND, rate_);
      pushed_ += n / channels_;
      gst_app_src_push_buffer(GST_APP_SRC(src_.get()), buffer);
    }
  }

  // Takes `count` packets (waiting up to 10 s for each: a deadline for a broken pipeline).
  std::vector<Packet> Pull(size_t count) {
    std::vector<Packet> out;
    while (out.size() < count) {
      GstSamplePtr sample(gst_app_sink_try_pull_sample(GST_APP_SINK(sink_.get()), 10 * GST_SECOND));
      if (!sample) break;
      GstBuffer* buffer = gst_sample_get_buffer(sample.get());
      pts.push_back(GST_BUFFER_PTS(buffer));
      GstMapInfo map;
      gst_buffer_map(buffer, &map, GST_MAP_READ);
      out.emplace_back(map.data, map.data + map.size);
      gst_buffer_unmap(buffer, &map);
    }
    return out;
  }

  // The first error the pipeline posted within 10 s, or "".
  std::string Error() {
    GObjectPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
    GstMessagePtr message(
        gst_bus_timed_pop_filtered(bus.get(), 10 * GST_SECOND, GST_MESSAGE_ERROR));
    if (!message) return "";
    GError* e = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(message.get(), &e, &debug);
    GErrorPtr owned(e);
    std::string text = std::string(e ? e->message : "?") + " | " + (debug ? debug : "");
    g_free(debug);
    return text;
  }

  GstElement* encoder() { return encoder_.get(); }
  std::vector<GstClockTime> pts;  // Of every packet pulled, in order.

 private:
  int rate_;
  int channels_;
  uint64_t pushed_ = 0;
  GObjectPtr<GstElement> pipeline_, src_, sink_, encoder_;
};

TEST(OpusEncoderElementTest, IsRegisteredWithGstreamer) {
  EnsureGstreamer();
  EXPECT_TRUE(RegisterOpusEncoderElement());
  GstElementFactory* factory = gst_element_factory_find(kOpusEncoderElement);
  ASSERT_NE(factory, nullptr);
  gst_object_unref(factory);
}

TEST(OpusEncoderElementTest, EncodesA48kToneLibopusDecodes) {
  EncoderPipeline p(48000, 1, "bitrate=32000 audio-type=voice frame-size=20");
  p.Push(Tone(48000, 1, 1000, 1.0));
  const std::vector<Packet> packets = p.Pull(50);
  ASSERT_EQ(packets.size(), 50u);
  // Packet n carries input frame n's time: the coder turns it into the RTP timestamp.
  ASSERT_EQ(p.pts.size(), 50u);
  for (size_t i = 0; i < p.pts.size(); ++i) EXPECT_EQ(p.pts[i], i * 20 * GST_MSECOND) << i;
  for (const Packet& packet : packets) {
    EXPECT_EQ(Samples48k(packet), 960);
    EXPECT_EQ(opus_packet_get_nb_channels(packet.data()), 1);
  }
  // 32 kbit/s in 20 ms frames: about 80 bytes a packet.
  size_t bytes = 0;
  for (const Packet& packet : packets) bytes += packet.size();
  EXPECT_NEAR(bytes * 8 / 1.0, 32000, 8000);
  const std::vector<int16_t> pcm = Decode(packets, 1);
  ASSERT_EQ(pcm.size(), 48000u);
  ExpectTone(pcm, 1000, 50);
}

TEST(OpusEncoderElementTest, EncodesNarrowbandInputAtItsOwnRate) {
  EncoderPipeline p(8000, 1, "bitrate=16000 audio-type=voice");
  p.Push(Tone(8000, 1, 1000, 0.5));
  const std::vector<Packet> packets = p.Pull(25);
  ASSERT_EQ(packets.size(), 25u);
  for (const Packet& packet : packets) {
    EXPECT_EQ(opus_packet_get_bandwidth(packet.data()), OPUS_BANDWIDTH_NARROWBAND);
    EXPECT_EQ(Samples48k(packet), 960);
  }
  ExpectTone(Decode(packets, 1), 1000, 50);
}

TEST(OpusEncoderElementTest, EncodesStereo) {
  EncoderPipeline p(48000, 2, "bitrate=64000");
  p.Push(Tone(48000, 2, 440, 0.4));
  const std::vector<Packet> packets = p.Pull(20);
  ASSERT_EQ(packets.size(), 20u);
  EXPECT_EQ(opus_packet_get_nb_channels(packets.back().data()), 2);
  ExpectTone(Decode(packets, 2), 440, 10);
}

TEST(OpusEncoderElementTest, TenAndSixtyMillisecondFrames) {
  for (const int ms : {10, 60}) {
    EncoderPipeline p(48000, 1, "frame-size=" + std::to_string(ms));
    p.Push(Tone(48000, 1, 1000, 0.6));
    const std::vector<Packet> packets = p.Pull(600 / ms);
    ASSERT_EQ(packets.size(), static_cast<size_t>(600 / ms)) << ms << " ms";
    EXPECT_EQ(Samples48k(packets[0]), 48 * ms);
  }
}

TEST(OpusEncoderElementTest, FollowsTheBitrateWhileRunning) {
  // White noise uses whatever bitrate it is given.
  std::mt19937 random(7);
  std::uniform_int_distribution<int> sample(-12000, 12000);
  std::vector<int16_t> noise(48000);
  for (int16_t& s : noise) s = static_cast<int16_t>(sample(random));

  EncoderPipeline p(48000, 1, "bitrate=64000");
  p.Push(noise);
  const std::vector<Packet> high = p.Pull(50);
  g_object_set(p.encoder(), "bitrate", 12000, nullptr);
  p.Push(noise);
  const std::vector<Packet> low = p.Pull(50);
  ASSERT_EQ(high.size(), 50u);
  ASSERT_EQ(low.size(), 50u);
  auto average = [](const std::vector<Packet>& packets, size_t from) {
    size_t bytes = 0;
    for (size_t i = from; i < packets.size(); ++i) bytes += packets[i].size();
    return static_cast<double>(bytes) / static_cast<double>(packets.size() - from);
  };
  // 64 kbit/s = 160 bytes per 20 ms; 12 kbit/s = 30.
  EXPECT_NEAR(average(high, 10), 160, 30);
  EXPECT_NEAR(average(low, 5), 30, 10);
  gint bitrate = 0;
  g_object_get(p.encoder(), "bitrate", &bitrate, nullptr);
  EXPECT_EQ(bitrate, 12000);
}

TEST(OpusEncoderElementTest, AFrameSizeOpusCannotCodeIsAnErrorNamingIt) {
  EncoderPipeline p(48000, 1, "frame-size=30");
  p.Push(Tone(48000, 1, 1000, 0.1));
  const std::string error = p.Error();
  EXPECT_NE(error.find("frame-size must be 10, 20, 40 or 60 ms"), std::string::npos) << error;
}

}  // namespace
}  // namespace webrtc2sip::media::coder
