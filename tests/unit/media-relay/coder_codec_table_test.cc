// The codec table against what Debian 12's GStreamer packages provide on this machine.

#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "services/media-relay/coder/codec_table.h"
#include "webrtc2sip/config/v1/config.pb.h"

namespace webrtc2sip::media::coder {
namespace {

TEST(CoderCodecTableTest, EveryConfigCodecHasAnEntry) {
  const auto* descriptor = config::v1::Codec_descriptor();
  EXPECT_EQ(CoderCodecs().size(), static_cast<size_t>(descriptor->value_count()));
  for (const std::string_view name : {"opus", "pcmu", "pcma", "g722", "gsm", "speex-nb",
                                      "speex-wb", "speex-uwb", "amr-nb-oa", "amr-nb-be", "ilbc",
                                      "g729", "vp8", "h264-bp", "h264-mp", "h263", "h263+",
                                      "theora", "mp4v-es"}) {
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
  for (const std::string_view name : {"opus", "pcmu", "pcma", "g722", "gsm", "speex-nb",
                                      "speex-wb", "speex-uwb", "amr-nb-oa", "vp8", "h264-bp",
                                      "h264-mp", "h263", "h263+", "theora", "mp4v-es"}) {
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
  // Bandwidth-efficient AMR: GStreamer's AMR (de)payloaders are octet-aligned only.
  const CodecAvailability be = CheckAvailability(*FindCoderCodec("amr-nb-be"));
  EXPECT_FALSE(be.can_decode);
  EXPECT_FALSE(be.can_encode);
  EXPECT_NE(be.missing.find("octet-align"), std::string::npos) << be.missing;
}

}  // namespace
}  // namespace webrtc2sip::media::coder
