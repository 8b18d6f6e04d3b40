// Video through the Media Coder: a test pattern encoded by an independent pipeline,
// transcoded, decoded again: frame count, size and the pattern's bars are checked; a keyframe
// request makes the encoder send an IDR; the bitrate setter reaches the encoder.

#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "common/cwrap/gobject_ptr.h"
#include "tests/unit/media-relay/coder_test_media.h"

namespace webrtc2sip::media::coder {
namespace {

using testing::OutputCollector;
using testing::Packet;

constexpr const char* kH264Caps =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=102";
constexpr const char* kVp8Caps =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96";

std::string Pattern(int frames, int width, int height) {
  return "videotestsrc pattern=smpte num-buffers=" + std::to_string(frames) +
         " ! video/x-raw,format=I420,framerate=30/1,width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + " ! ";
}

std::vector<Packet> Vp8Pattern(int frames, int width, int height) {
  return testing::RunToEos(Pattern(frames, width, height) +
                           "vp8enc deadline=1 keyframe-max-dist=1000 ! "
                           "rtpvp8pay pt=96 mtu=1200 ! appsink name=sink sync=false");
}

// Complete frames among packets: the marker bit ends a frame (RFC 6184, RFC 7741).
size_t CountFrames(const std::vector<Packet>& packets) {
  size_t frames = 0;
  for (const Packet& p : packets) frames += (p[1] & 0x80) != 0;
  return frames;
}

// Whether an H.264 RTP packet (RFC 6184) carries (the start of) an IDR slice.
bool HasIdr(const Packet& packet) {
  const std::span<const uint8_t> payload = testing::RtpPayload(packet);
  if (payload.empty()) return false;
  const int type = payload[0] & 0x1f;
  if (type == 5) return true;
  if (type == 28) return payload.size() > 1 && (payload[1] & 0x80) && (payload[1] & 0x1f) == 5;
  if (type == 24) {  // STAP-A: 16-bit sizes, then units.
    for (size_t i = 1; i + 2 < payload.size();) {
      const size_t size = (size_t{payload[i]} << 8) | payload[i + 1];
      if ((payload[i + 2] & 0x1f) == 5) return true;
      i += 2 + size;
    }
  }
  return false;
}

// Indexes (in frame order) of the frames that carry an IDR.
std::vector<size_t> IdrFrames(const std::vector<Packet>& packets) {
  std::vector<size_t> out;
  size_t frame = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i > 0 && testing::RtpTimestamp(packets[i]) != testing::RtpTimestamp(packets[i - 1]))
      ++frame;
    if (HasIdr(packets[i]) && (out.empty() || out.back() != frame)) out.push_back(frame);
  }
  return out;
}

// The SMPTE bars: yellow (2nd of 7) is bright, blue (7th) is dark, in the top half.
void ExpectBars(const testing::DecodedVideo& video) {
  ASSERT_EQ(video.last_luma.size(), static_cast<size_t>(video.width) * video.height);
  auto luma = [&video](double x_share, double y_share) {
    const int x = static_cast<int>(x_share * video.width);
    const int y = static_cast<int>(y_share * video.height);
    return video.last_luma[static_cast<size_t>(y) * video.width + x];
  };
  const int yellow = luma(1.5 / 7, 0.3);
  const int blue = luma(6.5 / 7, 0.3);
  std::cout << "  luma: yellow bar " << yellow << ", blue bar " << blue << "\n";
  EXPECT_GT(yellow, 130);
  EXPECT_LT(blue, 70);
}

class CoderVideoTest : public ::testing::Test {
 protected:
  void SetUp() override { context_ = g_main_context_new(); }
  void TearDown() override {
    transcoder_.reset();
    g_main_context_unref(context_);
  }

  void Make(const std::string& from, uint8_t from_pt, const std::string& to, uint8_t to_pt,
            uint32_t jitter_buffer_ms = 0) {
    TranscoderConfig config;
    config.from = from;
    config.to = to;
    config.input_payload_type = from_pt;
    config.output_payload_type = to_pt;
    config.width = 640;
    config.height = 480;
    config.jitter_buffer_ms = jitter_buffer_ms;
    auto t = Transcoder::Create(config, context_, output_);
    ASSERT_TRUE(t.ok()) << t.status();
    transcoder_ = std::move(*t);
  }

  void PushAndWait(const std::vector<Packet>& input, size_t frames) {
    EXPECT_EQ(testing::PushAll(*transcoder_, context_, input), input.size());
    EXPECT_TRUE(testing::RunUntil(context_, [&] { return CountFrames(output_.packets) >= frames; }))
        << "frames out: " << CountFrames(output_.packets) << " of " << frames;
    EXPECT_EQ(output_.failures, 0) << output_.failure;
  }

  GMainContext* context_ = nullptr;
  OutputCollector output_;
  std::unique_ptr<Transcoder> transcoder_;
};

TEST_F(CoderVideoTest, Vp8PatternArrivesAsDecodableH264OfTheSameSize) {
  const std::vector<Packet> vp8 = Vp8Pattern(60, 640, 480);
  ASSERT_EQ(CountFrames(vp8), 60u);
  Make("vp8", 96, "h264-bp", 102);
  PushAndWait(vp8, 60);
  for (const Packet& p : output_.packets) ASSERT_EQ(p[1] & 0x7f, 102);

  const testing::DecodedVideo video =
      testing::DecodeVideoRtp(output_.packets, kH264Caps, "rtph264depay ! avdec_h264");
  EXPECT_EQ(video.frames, 60);
  EXPECT_EQ(video.width, 640);
  EXPECT_EQ(video.height, 480);
  ExpectBars(video);
  EXPECT_EQ(transcoder_->stats().frames_decoded.load(), 60u);
  EXPECT_EQ(transcoder_->stats().frames_encoded.load(), 60u);
  EXPECT_EQ(IdrFrames(output_.packets), std::vector<size_t>{0});
}

TEST_F(CoderVideoTest, H264ArrivesAsVp8ScaledToTheConfiguredSizeThroughTheJitterBuffer) {
  const std::vector<Packet> h264 = testing::RunToEos(
      Pattern(30, 320, 240) +
      "x264enc tune=zerolatency speed-preset=ultrafast ! video/x-h264,profile=constrained-baseline"
      " ! rtph264pay pt=102 config-interval=-1 ! appsink name=sink sync=false");
  Make("h264-bp", 102, "vp8", 96, /*jitter_buffer_ms=*/50);
  PushAndWait(h264, 30);
  const testing::DecodedVideo video =
      testing::DecodeVideoRtp(output_.packets, kVp8Caps, "rtpvp8depay ! vp8dec");
  EXPECT_EQ(video.frames, 30);
  EXPECT_EQ(video.width, 640);  // Scaled from 320x240.
  EXPECT_EQ(video.height, 480);
  ExpectBars(video);
}

TEST_F(CoderVideoTest, KeyframeRequestMakesTheEncoderSendAnIdr) {
  const std::vector<Packet> vp8 = Vp8Pattern(60, 640, 480);
  std::vector<Packet> first_half, second_half;
  for (const Packet& p : vp8) {
    (testing::RtpTimestamp(p) - testing::RtpTimestamp(vp8[0]) < 30 * 3000 ? first_half
                                                                          : second_half)
        .push_back(p);
  }
  Make("vp8", 96, "h264-bp", 102);
  PushAndWait(first_half, 30);
  EXPECT_EQ(IdrFrames(output_.packets), std::vector<size_t>{0});  // None but the first.

  transcoder_->RequestKeyframe();
  PushAndWait(second_half, 60);
  const std::vector<size_t> idr = IdrFrames(output_.packets);
  ASSERT_EQ(idr.size(), 2u);
  EXPECT_EQ(CountFrames(output_.packets), 60u);  // One marker per frame: no header-only ones.
  EXPECT_GE(idr[1], 30u);                        // On the next frame the encoder got.
  // The decoder takes the stream from the requested IDR on (SPS/PPS in front of it).
  std::vector<Packet> from_idr;
  size_t frame = 0;
  for (size_t i = 0; i < output_.packets.size(); ++i) {
    if (i > 0 && testing::RtpTimestamp(output_.packets[i]) !=
                     testing::RtpTimestamp(output_.packets[i - 1])) {
      ++frame;
    }
    if (frame >= idr[1]) from_idr.push_back(output_.packets[i]);
  }
  const testing::DecodedVideo video =
      testing::DecodeVideoRtp(from_idr, kH264Caps, "rtph264depay ! avdec_h264");
  EXPECT_EQ(video.frames, static_cast<int>(60 - idr[1]))
      << "idr at " << idr[1] << ", frames out " << CountFrames(output_.packets) << ", packets "
      << from_idr.size() << ", first " << testing::RtpTimestamp(from_idr.front()) << " payload0 "
      << int(testing::RtpPayload(from_idr.front())[0] & 0x1f);
}

GObjectPtr<GstElement> FindElement(GstElement* pipeline, const char* factory) {
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  GObjectPtr<GstElement> found;
  while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* element = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(element);
    if (f != nullptr && std::string(GST_OBJECT_NAME(f)) == factory) found = RefGObject(element);
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return found;
}

TEST_F(CoderVideoTest, BitrateSetterReachesTheEncoderInItsUnits) {
  Make("vp8", 96, "h264-bp", 102);
  GObjectPtr<GstElement> x264 = FindElement(transcoder_->pipeline_for_test(), "x264enc");
  ASSERT_TRUE(x264);
  EXPECT_TRUE(transcoder_->SetBitrate(300000));
  guint kbps = 0;
  g_object_get(x264.get(), "bitrate", &kbps, nullptr);
  EXPECT_EQ(kbps, 300u);  // x264enc counts kbit/s.
  transcoder_.reset();

  Make("h264-bp", 102, "vp8", 96);
  GObjectPtr<GstElement> vp8 = FindElement(transcoder_->pipeline_for_test(), "vp8enc");
  ASSERT_TRUE(vp8);
  EXPECT_TRUE(transcoder_->SetBitrate(450000));
  gint bps = 0;
  g_object_get(vp8.get(), "target-bitrate", &bps, nullptr);
  EXPECT_EQ(bps, 450000);
  // Out of the encoder's range: refused, the setting stays.
  EXPECT_FALSE(transcoder_->SetBitrate(4'000'000'000u));
  g_object_get(vp8.get(), "target-bitrate", &bps, nullptr);
  EXPECT_EQ(bps, 450000);
}

}  // namespace
}  // namespace webrtc2sip::media::coder
