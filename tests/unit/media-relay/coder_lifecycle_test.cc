// Life cycle and bad input: pipelines are built and torn down many times without leaking
// threads or elements; garbage RTP is counted and dropped; a pipeline error ends that stream
// only, counted, and the transcoder is freed cleanly afterwards.

#include <dirent.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/metrics/registry.h"
#include "services/media-relay/coder/pipeline_reaper.h"
#include "tests/unit/media-relay/coder_test_media.h"

namespace webrtc2sip::media::coder {
namespace {

using testing::OutputCollector;
using testing::Packet;

size_t ThreadCount() {
  size_t count = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

// The value of one sample in the global registry's text ("name{labels} value").
double MetricValue(const std::string& sample) {
  const std::string text = metrics::Registry::Global().Render();
  const size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + sample.size() + 2));
}

Packet RtpPacket(uint8_t pt, uint16_t seq, uint32_t ts, bool marker,
                 const std::vector<uint8_t>& payload) {
  Packet p(12 + payload.size());
  p[0] = 0x80;
  p[1] = static_cast<uint8_t>(pt | (marker ? 0x80 : 0));
  p[2] = uint8_t(seq >> 8), p[3] = uint8_t(seq);
  p[4] = uint8_t(ts >> 24), p[5] = uint8_t(ts >> 16), p[6] = uint8_t(ts >> 8), p[7] = uint8_t(ts);
  p[8] = 0x12, p[9] = 0x34, p[10] = 0x56, p[11] = 0x78;  // SSRC.
  std::copy(payload.begin(), payload.end(), p.begin() + 12);
  return p;
}

class CoderLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { context_ = g_main_context_new(); }
  void TearDown() override { g_main_context_unref(context_); }

  std::unique_ptr<Transcoder> Make(const std::string& from, uint8_t from_pt, const std::string& to,
                                   uint8_t to_pt) {
    TranscoderConfig config;
    config.from = from;
    config.to = to;
    config.input_payload_type = from_pt;
    config.output_payload_type = to_pt;
    auto t = Transcoder::Create(config, context_, output_);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }

  GMainContext* context_ = nullptr;
  OutputCollector output_;
};

void CountFinalized(gpointer counter, GObject*) {
  ++*static_cast<int*>(counter);
}

TEST_F(CoderLifecycleTest, ManyPipelinesBuiltAndTornDownLeaveNoThreadsOrElements) {
  const std::vector<Packet> opus = testing::RunToEos(
      "audiotestsrc num-buffers=10 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! "
      "opusenc frame-size=20 ! rtpopuspay pt=111 ! appsink name=sink sync=false");
  const std::vector<Packet> vp8 = testing::RunToEos(
      "videotestsrc num-buffers=5 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "vp8enc deadline=1 ! rtpvp8pay pt=96 ! appsink name=sink sync=false");
  const std::string active_opus = "webrtc2sip_coder_streams_active{from=\"opus\",to=\"pcmu\"}";
  const double active_before = MetricValue(active_opus);

  int created = 0;
  int finalized = 0;
  auto cycle = [&](int i) {
    const bool video = i % 2 == 1;
    std::unique_ptr<Transcoder> t =
        video ? Make("vp8", 96, "h264-bp", 102) : Make("opus", 111, "pcmu", 0);
    ASSERT_TRUE(t);
    g_object_weak_ref(G_OBJECT(t->pipeline_for_test()), &CountFinalized, &finalized);
    ++created;
    // Audio runs inline (its output comes during the pushes), video on a streaming thread.
    const size_t before = output_.packets.size();
    testing::PushAll(*t, context_, video ? vp8 : opus);
    if (i % 4 < 2) {
      // Half of them: wait for some output, then drop the transcoder with more in flight.
      EXPECT_TRUE(testing::RunUntil(context_, [&] { return output_.packets.size() > before; }));
    }
    // The rest are destroyed with everything still in flight.
  };
  // Streaming threads come from GLib's shared thread pool, which keeps idle ones for reuse:
  // once every pipeline is freed, those are told to exit (they do so on their own time).
  auto settle = [] {
    PipelineReaper::Global().WaitIdle();
    g_thread_pool_stop_unused_threads();
  };
  for (int i = 0; i < 4; ++i) cycle(i);
  settle();
  const size_t threads_warm = ThreadCount();
  for (int i = 0; i < 60; ++i) cycle(i);
  settle();
  testing::RunUntil(context_, [&] { return ThreadCount() <= threads_warm; });
  const size_t threads_after = ThreadCount();
  std::cout << "  threads after warm-up " << threads_warm << ", after 60 more pipelines "
            << threads_after << "\n";
  EXPECT_EQ(finalized, created);  // Every pipeline (and so each element) was freed.
  EXPECT_LE(threads_after, threads_warm);
  EXPECT_EQ(MetricValue(active_opus), active_before);
  // Output sources are gone from the context with their transcoders: nothing left to run.
  while (g_main_context_iteration(context_, FALSE)) {
  }
}

TEST_F(CoderLifecycleTest, GarbageIsCountedAndDroppedAndTheStreamGoesOn) {
  auto t = Make("opus", 111, "pcmu", 0);
  ASSERT_TRUE(t);
  const std::string bad =
      "webrtc2sip_coder_dropped_packets_total{from=\"opus\",to=\"pcmu\","
      "reason=\"bad_packet\"}";
  const double bad_before = MetricValue(bad);

  std::mt19937 random(7);
  std::vector<uint8_t> noise(200);
  for (uint8_t& b : noise) b = static_cast<uint8_t>(random());
  EXPECT_EQ(t->Push(noise), PushResult::kBadPacket);                                  // Not RTP.
  EXPECT_EQ(t->Push(std::span<const uint8_t>()), PushResult::kBadPacket);             // Empty.
  EXPECT_EQ(t->Push(std::span(noise.data(), 5)), PushResult::kBadPacket);             // Short.
  EXPECT_EQ(t->Push(RtpPacket(96, 1, 0, false, {1, 2, 3})), PushResult::kBadPacket);  // Other PT.
  EXPECT_EQ(t->Push(RtpPacket(111, 1, 0, false, {})), PushResult::kBadPacket);        // No payload.
  EXPECT_EQ(t->Push(std::vector<uint8_t>(3000, 0x80)), PushResult::kBadPacket);       // Too long.
  EXPECT_EQ(t->stats().packets_dropped.load(), 6u);
  EXPECT_EQ(t->stats().packets_in.load(), 0u);
  EXPECT_EQ(MetricValue(bad) - bad_before, 6);

  // Well-formed RTP whose Opus payload is noise: the decoder drops it without ending the
  // stream; then a real tone comes through as a tone.
  const uint32_t base = 1000;
  for (uint16_t i = 0; i < 20; ++i) {
    std::vector<uint8_t> payload(80);
    for (uint8_t& b : payload) b = static_cast<uint8_t>(random());
    EXPECT_EQ(t->Push(RtpPacket(111, i, base + i * 960u, false, payload)), PushResult::kQueued);
  }
  const std::vector<Packet> tone = testing::RunToEos(
      "audiotestsrc wave=sine freq=1000 volume=0.316 num-buffers=50 samplesperbuffer=960 ! "
      "audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 bitrate=64000 ! "
      "rtpopuspay pt=111 ! appsink name=sink sync=false");
  std::vector<Packet> retimed;
  for (size_t i = 0; i < tone.size(); ++i) {
    Packet p = tone[i];
    const uint32_t ts = base + static_cast<uint32_t>(20 + i) * 960;
    p[4] = uint8_t(ts >> 24), p[5] = uint8_t(ts >> 16), p[6] = uint8_t(ts >> 8), p[7] = uint8_t(ts);
    retimed.push_back(std::move(p));
  }
  EXPECT_EQ(testing::PushAll(*t, context_, retimed), retimed.size());
  // The noise is concealed (opusdec warns and fills the gap), then the tone: 70 packets less
  // what the resampler and encoder still hold.
  const bool enough = testing::RunUntil(context_, [&] { return output_.packets.size() >= 45; });
  EXPECT_EQ(output_.failures, 0) << output_.failure;
  ASSERT_TRUE(enough) << output_.packets.size() << " out, in " << t->stats().packets_in.load()
                      << " decoded " << t->stats().frames_decoded.load() << " encoded "
                      << t->stats().frames_encoded.load();
  EXPECT_FALSE(t->failed());
  // Whether the noise became 20 packets of concealment or none, the last 20 are the tone.
  std::vector<int16_t> decoded;
  for (size_t i = output_.packets.size() - 20; i < output_.packets.size(); ++i) {
    for (uint8_t byte : testing::RtpPayload(output_.packets[i])) {
      decoded.push_back(testing::MulawToLinear(byte));
    }
  }
  ASSERT_EQ(decoded.size(), 3200u);
  EXPECT_DOUBLE_EQ(testing::DominantFrequency(decoded, 8000, 50), 1000);
}

// Decoders only warn about corrupt input (GStreamer 1.22's decoders have no error limit), so
// the error here is the encoder's: H.263+ goes up to 2048x1152 and FFmpeg refuses to open an
// encoder for more when the first frame comes. A real bus ERROR from a streaming thread.
TEST_F(CoderLifecycleTest, APipelineErrorEndsThatStreamOnlyCountedOnce) {
  const std::string errors = "webrtc2sip_coder_pipeline_errors_total{from=\"vp8\",to=\"h263+\"}";
  const double errors_before = MetricValue(errors);
  TranscoderConfig config;
  config.from = "vp8";
  config.to = "h263+";
  config.width = 2064;
  config.height = 1160;
  auto created = Transcoder::Create(config, context_, output_);
  ASSERT_TRUE(created.ok()) << created.status();  // Builds fine: the error comes with data.
  std::unique_ptr<Transcoder> broken = std::move(*created);
  auto healthy = Make("opus", 111, "pcmu", 0);
  ASSERT_TRUE(healthy);
  int finalized = 0;
  g_object_weak_ref(G_OBJECT(broken->pipeline_for_test()), &CountFinalized, &finalized);

  const std::vector<Packet> vp8 = testing::RunToEos(
      "videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "vp8enc deadline=1 ! rtpvp8pay pt=96 ! appsink name=sink sync=false");
  for (const Packet& p : vp8) {
    if (broken->Push(p) == PushResult::kFailed) break;
  }
  ASSERT_TRUE(testing::RunUntil(context_, [&] { return output_.failures > 0; }))
      << "in " << broken->stats().packets_in.load() << " decoded "
      << broken->stats().frames_decoded.load();
  std::cout << "  failure: " << output_.failure << "\n";
  EXPECT_EQ(output_.failures, 1);
  EXPECT_NE(output_.failure.find("vp8 -> h263+"), std::string::npos);
  EXPECT_TRUE(broken->failed());
  EXPECT_EQ(broken->Push(vp8[0]), PushResult::kFailed);
  EXPECT_EQ(broken->pipeline_for_test(), nullptr);
  EXPECT_EQ(MetricValue(errors) - errors_before, 1);
  EXPECT_TRUE(output_.packets.empty());
  PipelineReaper::Global().WaitIdle();
  EXPECT_EQ(finalized, 1);  // Stopped and freed already, before the transcoder goes.

  // The other stream is untouched.
  const std::vector<Packet> opus = testing::RunToEos(
      "audiotestsrc num-buffers=20 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! "
      "opusenc frame-size=20 ! rtpopuspay pt=111 ! appsink name=sink sync=false");
  EXPECT_EQ(testing::PushAll(*healthy, context_, opus), opus.size());
  EXPECT_TRUE(testing::RunUntil(context_, [&] { return output_.packets.size() >= 15; }));
  EXPECT_FALSE(healthy->failed());
  EXPECT_EQ(output_.failures, 1);
}

TEST_F(CoderLifecycleTest, CodecsThatCannotBeTranscodedAreRefusedWithTheReason) {
  TranscoderConfig config;
  auto refused = [&](const char* from, const char* to) {
    config.from = from;
    config.to = to;
    auto t = Transcoder::Create(config, context_, output_);
    EXPECT_FALSE(t.ok()) << from << " -> " << to;
    return t.ok() ? std::string() : std::string(t.status().message());
  };
  EXPECT_NE(refused("opus", "g729").find("cannot encode g729"), std::string::npos);
  EXPECT_NE(refused("opus", "ilbc").find("'ilbcenc'"), std::string::npos);
  EXPECT_NE(refused("amr-nb-be", "opus").find("octet-align"), std::string::npos);
  EXPECT_NE(refused("opus", "h264-bp").find("audio and video"), std::string::npos);
  EXPECT_NE(refused("opus", "g711").find("unknown codec: g711"), std::string::npos);
  // Decoding them is possible: G.729 and iLBC in, Opus out.
  config.from = "g729";
  config.to = "opus";
  config.input_payload_type = 18;
  EXPECT_TRUE(Transcoder::Create(config, context_, output_).ok());
}

}  // namespace
}  // namespace webrtc2sip::media::coder
