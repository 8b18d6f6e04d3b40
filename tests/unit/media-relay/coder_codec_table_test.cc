// The codec table against what Debian 12's GStreamer packages provide on this machine.

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "services/media-relay/coder/codec_table.h"
#include "services/media-relay/coder/gst_runtime.h"
#include "services/media-relay/coder/pipeline_builder.h"
#include "webrtc2sip/config/v1/config.pb.h"

namespace webrtc2sip::media::coder {
namespace {

TEST(CoderCodecTableTest, EveryConfigCodecHasAnEntry) {
  const auto* descriptor = config::v1::Codec_descriptor();
  EXPECT_EQ(CoderCodecs().size(), static_cast<size_t>(descriptor->value_count()));
  for (const std::string_view name : {"opus", "pcmu", "pcma", "g722", "gsm", "speex-nb", "speex-wb",
                                      "speex-uwb", "amr-nb-oa", "amr-nb-be", "ilbc", "g729", "vp8",
                                      "h264-bp", "h264-mp", "h263", "h263+", "theora", "mp4v-es"}) {
    EXPECT_NE(FindCoderCodec(name), nullptr) << name;
  }
  EXPECT_EQ(FindCoderCodec("PCMU"), nullptr);  // Config spellings only.
  EXPECT_EQ(FindCoderCodec("h264"), nullptr);
}

// Prints the availability table (the report's source) and pins what Debian 12 can do.
TEST(CoderCodecTableTest, AvailabilityOnDebian12) {
  for (const CoderCodec& codec : CoderCodecs()) {
    const CodecAvailability a = CheckAvailability(codec);
    std::cout << "  " << codec.name << ": decode " << (a.can_decode ? "yes" : "no") << ", encode "
              << (a.can_encode ? "yes" : "no") << (a.missing.empty() ? "" : " -- ") << a.missing
              << "\n";
  }
  for (const std::string_view name :
       {"opus", "pcmu", "pcma", "g722", "gsm", "speex-nb", "speex-wb", "speex-uwb", "amr-nb-oa",
        "vp8", "h264-bp", "h264-mp", "h263+", "theora", "mp4v-es"}) {
    const CodecAvailability a = CheckAvailability(*FindCoderCodec(name));
    EXPECT_TRUE(a.both()) << name << ": " << a.missing;
    EXPECT_TRUE(a.missing.empty()) << name;
  }
  // iLBC and G.729 decode only: no encoder anywhere in Debian's GStreamer/FFmpeg.
  for (const std::string_view name : {"ilbc", "g729"}) {
    const CodecAvailability a = CheckAvailability(*FindCoderCodec(name));
    EXPECT_TRUE(a.can_decode) << name;
    EXPECT_FALSE(a.can_encode) << name;
    EXPECT_NE(a.missing.find("encoder"), std::string::npos) << a.missing;
  }
  // RFC 2190 H.263: flagged until its round trip decodes (CoderVideoChainTest).
  EXPECT_FALSE(CheckAvailability(*FindCoderCodec("h263")).both());
  // Bandwidth-efficient AMR: GStreamer's AMR (de)payloaders are octet-aligned only.
  const CodecAvailability be = CheckAvailability(*FindCoderCodec("amr-nb-be"));
  EXPECT_FALSE(be.can_decode);
  EXPECT_FALSE(be.can_encode);
  EXPECT_NE(be.missing.find("octet-align"), std::string::npos) << be.missing;
}

// Every element the table names takes the options the table gives it (a typo or a property
// an element lacks would otherwise only show when a call needs that codec).
TEST(CoderCodecTableTest, EveryElementTakesItsOptions) {
  EnsureGstreamer();
  auto check = [](std::string_view factory, std::string_view options) {
    if (factory.empty()) return;
    GstElement* element = gst_element_factory_make(std::string(factory).c_str(), nullptr);
    if (element == nullptr) return;  // Not installed: AvailabilityOnDebian12 pins which.
    gst_object_ref_sink(element);
    EXPECT_TRUE(ApplyOptions(element, options)) << factory << ": " << options;
    gst_object_unref(element);
  };
  for (const CoderCodec& codec : CoderCodecs()) {
    check(codec.decoder, codec.decoder_options);
    check(codec.encoder, codec.encoder_options);
    check(codec.payloader, codec.payloader_options);
    if (!codec.encoded_caps.empty()) {
      GstCaps* caps = gst_caps_from_string(std::string(codec.encoded_caps).c_str());
      EXPECT_NE(caps, nullptr) << codec.encoded_caps;
      if (caps != nullptr) gst_caps_unref(caps);
    }
  }
  GstElement* x264 = gst_element_factory_make("x264enc", nullptr);
  gst_object_ref_sink(x264);
  EXPECT_FALSE(ApplyOptions(x264, "no-such-property=1"));
  gst_object_unref(x264);
}

// SDP's spellings (rtpmap name, clock rate, fmtp) to the coder's codecs.
TEST(CoderCodecTableTest, CoderCodecOfSdpCodecs) {
  auto name = [](std::string_view encoding, uint32_t rate, std::string_view fmtp = "") {
    const CoderCodec* codec = CoderCodecOf(encoding, rate, fmtp);
    return codec ? std::string(codec->name) : std::string("none");
  };
  EXPECT_EQ(name("opus", 48000, "minptime=10;useinbandfec=1"), "opus");
  EXPECT_EQ(name("PCMU", 8000), "pcmu");
  EXPECT_EQ(name("pcma", 8000), "pcma");
  EXPECT_EQ(name("G722", 8000), "g722");
  EXPECT_EQ(name("GSM", 8000), "gsm");
  EXPECT_EQ(name("speex", 16000), "speex-wb");
  EXPECT_EQ(name("AMR", 8000, "mode-set=7; octet-align=1"), "amr-nb-oa");
  EXPECT_EQ(name("AMR", 8000), "amr-nb-be");
  EXPECT_EQ(name("H264", 90000, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"), "h264-bp");
  EXPECT_EQ(name("H264", 90000, "profile-level-id=4d001f"), "h264-mp");
  EXPECT_EQ(name("H264", 90000), "h264-bp");
  EXPECT_EQ(name("H263-1998", 90000), "h263+");
  EXPECT_EQ(name("VP8", 90000), "vp8");
  EXPECT_EQ(name("telephone-event", 8000), "none");
  EXPECT_EQ(name("opus", 8000), "none");
  EXPECT_EQ(name("VP9", 90000), "none");
}

TEST(CoderCodecTableTest, CanTranscodeFollowsAvailability) {
  for (const CoderCodec& codec : CoderCodecs()) {
    EXPECT_EQ(CanTranscode(codec), CheckAvailability(codec).both()) << codec.name;
  }
  EXPECT_TRUE(CanTranscode(*FindCoderCodec("opus")));
  EXPECT_FALSE(CanTranscode(*FindCoderCodec("g729")));
}

}  // namespace
}  // namespace webrtc2sip::media::coder
