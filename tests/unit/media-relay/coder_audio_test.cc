// Audio through the Media Coder, checked by content: a 1 kHz tone at -10 dBFS is encoded by an
// independent GStreamer pipeline, transcoded, and what comes out is decoded (G.711 by table)
// and must still be a 1 kHz tone at about -10 dBFS, in 20 ms packets with the right payload
// type and timestamps.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <string>

#include "common/cwrap/gobject_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "common/metrics/registry.h"
#include "services/media-relay/coder/gst_runtime.h"
#include "services/media-relay/coder/pipeline_builder.h"
#include "tests/unit/media-relay/coder_test_media.h"

namespace webrtc2sip::media::coder {
namespace {

using testing::OutputCollector;
using testing::Packet;

constexpr double kToneHz = 1000;
constexpr double kToneDbfs = -10;
constexpr int kSeconds = 2;
constexpr int kPackets = kSeconds * 50;  // 20 ms each.
// A -10 dBFS sine has a peak of 10^(-10/20) of full scale.
constexpr const char* kVolume = "0.316227766";

std::string ToneSource(int rate) {
  return std::string("audiotestsrc wave=sine freq=1000 volume=") + kVolume +
         " samplesperbuffer=" + std::to_string(rate / 50) +
         " num-buffers=" + std::to_string(kPackets) +
         " ! audio/x-raw,format=S16LE,channels=1,rate=" + std::to_string(rate) + " ! ";
}

// The tone as Opus RTP, as a browser would send it (timestamps about to wrap).
std::vector<Packet> OpusTone() {
  return testing::RunToEos(ToneSource(48000) +
                           "opusenc audio-type=voice frame-size=20 bitrate=64000 ! "
                           "rtpopuspay pt=111 timestamp-offset=4294960000 ! "
                           "appsink name=sink sync=false");
}

// One sample of the global registry ("name{labels} value"); 0 when absent.
double MetricValue(const std::string& sample) {
  const std::string text = metrics::Registry::Global().Render();
  const size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + sample.size() + 2));
}

void ExpectTone(const std::vector<int16_t>& decoded, int rate, const std::string& what) {
  // Leave out the codecs' start-up (200 ms) and the tail; analyse whole milliseconds.
  const size_t skip = static_cast<size_t>(rate) / 5;
  ASSERT_GT(decoded.size(), 2 * skip + static_cast<size_t>(rate) / 2) << what;
  size_t count = decoded.size() - 2 * skip;
  count -= count % static_cast<size_t>(rate / 1000);
  std::span<const int16_t> steady(decoded.data() + skip, count);
  const double dominant = testing::DominantFrequency(steady, rate, 50);
  const double share = testing::ToneShare(steady, rate, kToneHz);
  const double level = testing::LevelDbfs(steady);
  std::cout << "  " << what << ": dominant " << dominant << " Hz, " << share * 100
            << "% of the power at 1 kHz, level " << level << " dBFS\n";
  EXPECT_DOUBLE_EQ(dominant, kToneHz) << what;
  EXPECT_GT(share, 0.9) << what;
  EXPECT_NEAR(level, kToneDbfs, 2.0) << what;
}

struct LegacyCodec {
  const char* name;  // media.codecs spelling.
  uint8_t payload_type;
  int rate;                   // Audio sample rate.
  uint32_t ticks_per_packet;  // RTP timestamp step of a 20 ms packet.
  const char* encode;         // "encoder ! payloader" making its RTP, for the reverse direction.
  const char* rtp_caps;
  const char* decode;  // "depay ! decoder" for what the coder sent; empty: G.711 by table.
};

const LegacyCodec kLegacyCodecs[] = {
    {"pcmu", 0, 8000, 160, "mulawenc ! rtppcmupay pt=0 min-ptime=20000000 max-ptime=20000000",
     "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0", ""},
    {"pcma", 8, 8000, 160, "alawenc ! rtppcmapay pt=8 min-ptime=20000000 max-ptime=20000000",
     "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMA,payload=8", ""},
    {"g722", 9, 16000, 160, "avenc_g722 ! rtpg722pay pt=9 min-ptime=20000000 max-ptime=20000000",
     "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
     "rtpg722depay ! avdec_g722"},
    {"gsm", 3, 8000, 160, "gsmenc ! rtpgsmpay pt=3",
     "application/x-rtp,media=audio,clock-rate=8000,encoding-name=GSM,payload=3",
     "rtpgsmdepay ! gsmdec"},
};

class CoderAudioTest : public ::testing::TestWithParam<LegacyCodec> {
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
    auto transcoder = Transcoder::Create(config, context_, output_);
    EXPECT_TRUE(transcoder.ok()) << transcoder.status();
    return transcoder.ok() ? std::move(*transcoder) : nullptr;
  }

  // Pushes `input`, then runs the context until `expected` packets came out.
  void Transcode(Transcoder& t, const std::vector<Packet>& input, size_t expected) {
    EXPECT_EQ(testing::PushAll(t, context_, input), input.size());
    EXPECT_TRUE(testing::RunUntil(context_, [&] { return output_.packets.size() >= expected; }))
        << "output packets: " << output_.packets.size() << " of " << expected;
    EXPECT_EQ(output_.failures, 0) << output_.failure;
  }

  GMainContext* context_ = nullptr;
  OutputCollector output_;
};

TEST_P(CoderAudioTest, OpusToneArrivesAsTheSameToneInTheLegacyCodec) {
  const LegacyCodec& codec = GetParam();
  const std::vector<Packet> opus = OpusTone();
  ASSERT_GE(opus.size(), static_cast<size_t>(kPackets));  // opusenc flushes one more.
  const std::string latency_labels = std::string("{from=\"opus\",to=\"") + codec.name + "\"}";
  const double latency_before =
      MetricValue("webrtc2sip_coder_added_latency_seconds_count" + latency_labels);
  auto t = Make("opus", 111, codec.name, codec.payload_type);
  ASSERT_TRUE(t);
  // All but the last few packets (held by the resampler and encoders until more comes).
  Transcode(*t, opus, kPackets - 5);

  const std::vector<Packet>& out = output_.packets;
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i][1] & 0x7f, codec.payload_type) << i;
    if (i > 0) {
      EXPECT_EQ(testing::RtpTimestamp(out[i]) - testing::RtpTimestamp(out[i - 1]),
                codec.ticks_per_packet)
          << i;
      EXPECT_EQ(
          static_cast<uint16_t>(testing::RtpSequence(out[i]) - testing::RtpSequence(out[i - 1])), 1)
          << i;
    }
  }
  std::vector<int16_t> decoded;
  if (std::string(codec.decode).empty()) {
    for (const Packet& p : out) {
      for (uint8_t byte : testing::RtpPayload(p)) {
        decoded.push_back(codec.payload_type == 0 ? testing::MulawToLinear(byte)
                                                  : testing::AlawToLinear(byte));
      }
    }
  } else {
    decoded = testing::DecodeAudioRtp(out, codec.rtp_caps, codec.decode, codec.rate);
  }
  ExpectTone(decoded, codec.rate, std::string("opus -> ") + codec.name);

  EXPECT_EQ(t->stats().packets_in.load(), opus.size());
  // Every output packet's added latency was measured (its pts matches an input's).
  const std::string labels = std::string("{from=\"opus\",to=\"") + codec.name + "\"}";
  EXPECT_GE(MetricValue("webrtc2sip_coder_added_latency_seconds_count" + labels) - latency_before,
            static_cast<double>(out.size() - 2));
  std::cout << "  added latency (all opus -> " << codec.name << " so far): mean "
            << 1000 * MetricValue("webrtc2sip_coder_added_latency_seconds_sum" + labels) /
                   MetricValue("webrtc2sip_coder_added_latency_seconds_count" + labels)
            << " ms\n";
  EXPECT_EQ(t->stats().packets_out.load(), out.size());
  EXPECT_GE(t->stats().frames_decoded.load(), static_cast<uint64_t>(kPackets - 5));
  EXPECT_GE(t->stats().frames_encoded.load(), out.size());
}

// The coder decodes Opus to mono (every legacy codec is mono): a browser that sends stereo
// (sprop-stereo=1) is downmixed by the decoder, the tone at its level.
TEST_F(CoderAudioTest, StereoOpusIsDownmixedToTheLegacyCodec) {
  std::string stereo = ToneSource(48000);
  stereo.replace(stereo.find("channels=1"), 10, "channels=2");
  const std::vector<Packet> opus = testing::RunToEos(
      stereo + "opusenc audio-type=voice frame-size=20 bitrate=64000 ! rtpopuspay pt=111 ! "
               "appsink name=sink sync=false");
  ASSERT_GE(opus.size(), static_cast<size_t>(kPackets));
  auto t = Make("opus", 111, "pcmu", 0);
  ASSERT_TRUE(t);
  Transcode(*t, opus, kPackets - 5);
  std::vector<int16_t> decoded;
  for (const Packet& p : output_.packets) {
    for (uint8_t byte : testing::RtpPayload(p)) decoded.push_back(testing::MulawToLinear(byte));
  }
  ExpectTone(decoded, 8000, "stereo opus -> pcmu");
}

// The Opus decoder is asked for mono (sprop-stereo=0 in the input caps), not stereo float that
// audioconvert would then mix down: its output caps say one channel, even for a stereo sender.
TEST(CoderAudioPipeline, OpusIsDecodedToMono) {
  EnsureGstreamer();
  std::string stereo = ToneSource(48000);
  stereo.replace(stereo.find("channels=1"), 10, "channels=2");
  const std::vector<Packet> opus = testing::RunToEos(
      stereo + "opusenc audio-type=voice frame-size=20 ! rtpopuspay pt=111 ! "
               "appsink name=sink sync=false");
  ASSERT_FALSE(opus.empty());
  TranscoderConfig config;
  config.from = "opus";
  config.to = "pcmu";
  config.input_payload_type = 111;
  config.output_payload_type = 0;
  auto built = BuildPipeline(*FindCoderCodec("opus"), *FindCoderCodec("pcmu"), config);
  ASSERT_TRUE(built.ok()) << built.status();
  GObjectPtr<GstPad> in = AdoptGObject(GST_PAD(gst_object_ref_sink(gst_pad_new("in", GST_PAD_SRC))));
  ASSERT_TRUE(gst_pad_set_active(in.get(), TRUE));
  ASSERT_EQ(gst_pad_link(in.get(), built->input.get()), GST_PAD_LINK_OK);
  GObjectPtr<GstPad> out = AdoptGObject(GST_PAD(gst_object_ref_sink(gst_pad_new("out", GST_PAD_SINK))));
  gst_pad_set_chain_function(out.get(), [](GstPad*, GstObject*, GstBuffer* b) {
    gst_buffer_unref(b);
    return GST_FLOW_OK;
  });
  ASSERT_TRUE(gst_pad_set_active(out.get(), TRUE));
  ASSERT_EQ(gst_pad_link(built->output.get(), out.get()), GST_PAD_LINK_OK);
  ASSERT_NE(gst_element_set_state(built->pipeline.get(), GST_STATE_PLAYING),
            GST_STATE_CHANGE_FAILURE);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_pad_push_event(in.get(), gst_event_new_stream_start("mono-test")));
  ASSERT_TRUE(gst_pad_push_event(in.get(), gst_event_new_caps(built->input_caps.get())));
  ASSERT_TRUE(gst_pad_push_event(in.get(), gst_event_new_segment(&segment)));
  for (size_t i = 0; i < 5 && i < opus.size(); ++i) {
    GstBuffer* buffer = gst_buffer_new_memdup(opus[i].data(), opus[i].size());
    GST_BUFFER_PTS(buffer) = i * 20 * GST_MSECOND;
    ASSERT_EQ(gst_pad_push(in.get(), buffer), GST_FLOW_OK) << i;
  }
  GObjectPtr<GstPad> decoded(gst_element_get_static_pad(built->decoder.get(), "src"));
  GstCapsPtr caps(gst_pad_get_current_caps(decoded.get()));
  ASSERT_TRUE(caps);
  int channels = 0;
  EXPECT_TRUE(gst_structure_get_int(gst_caps_get_structure(caps.get(), 0), "channels", &channels));
  gchar* text = gst_caps_to_string(caps.get());
  EXPECT_EQ(channels, 1) << text;
  g_free(text);
  gst_element_set_state(built->pipeline.get(), GST_STATE_NULL);
}

TEST_P(CoderAudioTest, LegacyToneArrivesAsTheSameToneInOpus) {
  const LegacyCodec& codec = GetParam();
  const std::vector<Packet> legacy =
      testing::RunToEos(ToneSource(codec.rate) + codec.encode + " ! appsink name=sink sync=false");
  ASSERT_EQ(legacy.size(), static_cast<size_t>(kPackets));
  auto t = Make(codec.name, codec.payload_type, "opus", 111);
  ASSERT_TRUE(t);
  Transcode(*t, legacy, kPackets - 5);

  for (size_t i = 1; i < output_.packets.size(); ++i) {
    ASSERT_EQ(output_.packets[i][1] & 0x7f, 111);
    // opusenc's first packet is short by its look-ahead (312 samples); 20 ms after that.
    if (i == 1) continue;
    EXPECT_EQ(
        testing::RtpTimestamp(output_.packets[i]) - testing::RtpTimestamp(output_.packets[i - 1]),
        960u)
        << i;
  }
  const std::vector<int16_t> decoded = testing::DecodeAudioRtp(
      output_.packets,
      "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111",
      "rtpopusdepay ! opusdec", 48000);
  ExpectTone(decoded, 48000, std::string(codec.name) + " -> opus");
}

INSTANTIATE_TEST_SUITE_P(LegacyCodecs, CoderAudioTest, ::testing::ValuesIn(kLegacyCodecs),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A telephone-event packet goes around the pipeline: MapTimestamp() must give it the output
// timestamp at which the audio of the same instant plays. Checked on content: the input is
// silence, then the tone from 0.5 s on; the tone's onset in the decoded PCMU must sit at the
// mapped timestamp of the input instant 0.5 s (within the codecs' few ms of delay).
TEST_F(CoderAudioTest, TelephoneEventTimestampsMapOntoTheTranscodedAudio) {
  constexpr int kRate = 48000;
  std::vector<int16_t> input(static_cast<size_t>(kRate) * 3 / 2, 0);
  for (size_t i = kRate / 2; i < input.size(); ++i) {
    input[i] =
        static_cast<int16_t>(10362 * std::sin(2 * M_PI * kToneHz * static_cast<double>(i) / kRate));
  }
  constexpr uint32_t kOffset = 4294960000u;  // Input timestamps wrap 0.15 s in.
  const std::vector<Packet> opus = testing::EncodeAudio(
      input, kRate,
      "opusenc audio-type=voice frame-size=20 bitrate=64000 ! rtpopuspay pt=111 "
      "timestamp-offset=" +
          std::to_string(kOffset));
  ASSERT_GE(opus.size(), 75u);
  ASSERT_EQ(testing::RtpTimestamp(opus[0]), kOffset);
  auto t = Make("opus", 111, "pcmu", 0);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->MapTimestamp(kOffset));
  Transcode(*t, opus, 70);
  EXPECT_EQ(*t->MapTimestamp(kOffset), 0u);
  EXPECT_EQ(*t->MapTimestamp(kOffset + 48000), 8000u);  // Across the wrap.

  // The decoded output, on its own timeline: sample k plays at first_ts + k.
  const std::vector<Packet>& out = output_.packets;
  std::vector<int16_t> decoded;
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(testing::RtpTimestamp(out[i]), testing::RtpTimestamp(out[0]) + decoded.size());
    for (uint8_t byte : testing::RtpPayload(out[i]))
      decoded.push_back(testing::MulawToLinear(byte));
  }
  size_t onset = 0;
  while (onset < decoded.size() && std::abs(decoded[onset]) < 3000) ++onset;
  ASSERT_LT(onset, decoded.size());
  const uint32_t onset_ts = testing::RtpTimestamp(out[0]) + static_cast<uint32_t>(onset);
  const uint32_t event_ts = *t->MapTimestamp(kOffset + kRate / 2);
  EXPECT_EQ(event_ts, 4000u);
  std::cout << "  tone onset at output timestamp " << onset_ts << ", event mapped to " << event_ts
            << "\n";
  EXPECT_LE(std::abs(static_cast<int32_t>(onset_ts - event_ts)), 80)  // 10 ms at 8 kHz.
      << "tone onset at " << onset_ts << ", event mapped to " << event_ts;

  // The event packet itself (RFC 4733: event 5, end bit, volume 10, duration 800), prepared
  // to go out between the transcoded packets: their SSRC, the next sequence number, PCMU's
  // telephone-event payload type 101; the output packets so far were numbered one by one.
  for (size_t i = 1; i < out.size(); ++i) {
    ASSERT_EQ(
        static_cast<uint16_t>(testing::RtpSequence(out[i]) - testing::RtpSequence(out[i - 1])), 1);
    ASSERT_EQ(std::memcmp(out[i].data() + 8, out[0].data() + 8, 4), 0);  // One SSRC.
  }
  Packet event = {0x80, 0x80 | 96, 0x12, 0x34, 0, 0,         0,    0,
                  0xde, 0xad,      0xbe, 0xef, 5, 0x80 | 10, 0x03, 0x20};
  const uint32_t input_event_ts = kOffset + kRate / 2;
  for (int i = 0; i < 4; ++i) event[4 + i] = static_cast<uint8_t>(input_event_ts >> (24 - 8 * i));
  ASSERT_TRUE(t->PrepareTelephoneEvent(event, 101));
  EXPECT_EQ(event[1], 0x80 | 101);  // Marker kept, payload type mapped.
  EXPECT_EQ(testing::RtpTimestamp(event), 4000u);
  EXPECT_EQ(std::memcmp(event.data() + 8, out[0].data() + 8, 4), 0);
  const uint32_t event_ssrc = (uint32_t{event[8]} << 24) | (uint32_t{event[9]} << 16) |
                              (uint32_t{event[10]} << 8) | event[11];
  EXPECT_EQ(event_ssrc, t->output_ssrc());
  EXPECT_EQ(static_cast<uint16_t>(testing::RtpSequence(event) - testing::RtpSequence(out.back())),
            1);
  EXPECT_EQ(event[12], 5);  // The event itself untouched.
  // Packets transcoded after it continue the same sequence.
  const size_t before = out.size();
  std::vector<Packet> more(opus.begin() + 40, opus.begin() + 50);  // 200 ms of the tone...
  for (size_t i = 0; i < more.size(); ++i) {  // ...re-sent after the last, 20 ms apart.
    const uint32_t ts = testing::RtpTimestamp(opus.back()) + 960 * static_cast<uint32_t>(i + 1);
    for (int b = 0; b < 4; ++b) more[i][4 + b] = static_cast<uint8_t>(ts >> (24 - 8 * b));
    const auto seq = static_cast<uint16_t>(testing::RtpSequence(opus.back()) + 1 + i);
    more[i][2] = static_cast<uint8_t>(seq >> 8);
    more[i][3] = static_cast<uint8_t>(seq);
  }
  EXPECT_EQ(testing::PushAll(*t, context_, more), more.size());
  // Output packets of the new input (all that came before ends before its timestamps).
  const uint32_t first_new_ts = *t->MapTimestamp(testing::RtpTimestamp(more[0]));
  auto first_new = [&]() -> const Packet* {
    for (size_t i = before; i < out.size(); ++i) {
      if (testing::RtpTimestamp(out[i]) >= first_new_ts) return &out[i];
    }
    return nullptr;
  };
  ASSERT_TRUE(testing::RunUntil(context_, [&] { return first_new() != nullptr; }))
      << "in " << t->stats().packets_in.load() << " decoded " << t->stats().frames_decoded.load()
      << " encoded " << t->stats().frames_encoded.load() << " out " << out.size() << " dropped "
      << t->stats().output_dropped.load() << " first ts " << testing::RtpTimestamp(more[0])
      << " last input ts " << testing::RtpTimestamp(opus.back());
  // Outputs numbered after the event: the first after it is the event's + 1.
  EXPECT_EQ(static_cast<uint16_t>(testing::RtpSequence(out[before]) - testing::RtpSequence(event)),
            1);
  EXPECT_GT(static_cast<uint16_t>(testing::RtpSequence(*first_new()) - testing::RtpSequence(event)),
            0);
  uint8_t empty[3] = {0x80, 0, 0};
  EXPECT_FALSE(t->PrepareTelephoneEvent(empty, 101));  // Not RTP.
}

}  // namespace
}  // namespace webrtc2sip::media::coder
