// Config codec names <-> SDP codecs, and the fmtp helpers.

#include <gtest/gtest.h>

#include "services/signaling/sdp/codec_catalog.h"

namespace webrtc2sip::signaling::sdp {
namespace {

namespace v1 = media::v1;

v1::Codec Codec(const std::string& name, uint32_t rate, uint32_t channels = 0,
                const std::string& fmtp = "") {
  v1::Codec c;
  c.set_payload_type(96);
  c.set_name(name);
  c.set_clock_rate(rate);
  c.set_channels(channels);
  c.set_fmtp(fmtp);
  return c;
}

TEST(CodecCatalog, EveryConfigCodecRoundTrips) {
  const auto* type = config::v1::Codec_descriptor();
  ASSERT_EQ(type->value_count(), 19);
  for (int i = 0; i < type->value_count(); ++i) {
    const auto codec = static_cast<config::v1::Codec>(type->value(i)->number());
    const CodecIdentity& id = IdentityOf(codec);
    EXPECT_EQ(id.codec, codec) << type->value(i)->name();
    EXPECT_EQ(ConfigCodecOf(MakeCodec(codec, 96)), codec) << id.config_name;
  }
}

TEST(CodecCatalog, RtpmapNamesOfTheConfig) {
  struct Case {
    v1::Codec codec;
    std::optional<config::v1::Codec> expected;
  };
  const Case cases[] = {
      {Codec("PCMA", 8000), config::v1::CODEC_PCMA},
      {Codec("pcmu", 8000), config::v1::CODEC_PCMU},
      {Codec("opus", 48000, 2), config::v1::CODEC_OPUS},
      {Codec("opus", 48000), std::nullopt},  // opus is always /2 in SDP
      {Codec("G722", 8000), config::v1::CODEC_G722},
      {Codec("GSM", 8000), config::v1::CODEC_GSM},
      {Codec("ilbc", 8000, 0, "mode=20"), config::v1::CODEC_ILBC},
      {Codec("G729", 8000), config::v1::CODEC_G729},
      {Codec("speex", 8000), config::v1::CODEC_SPEEX_NB},
      {Codec("speex", 16000), config::v1::CODEC_SPEEX_WB},
      {Codec("speex", 32000), config::v1::CODEC_SPEEX_UWB},
      {Codec("AMR", 8000), config::v1::CODEC_AMR_NB_BE},
      {Codec("AMR", 8000, 0, "octet-align=0"), config::v1::CODEC_AMR_NB_BE},
      {Codec("AMR", 8000, 0, "mode-set=7; octet-align=1"), config::v1::CODEC_AMR_NB_OA},
      {Codec("AMR-WB", 16000), std::nullopt},
      {Codec("VP8", 90000), config::v1::CODEC_VP8},
      {Codec("VP9", 90000), std::nullopt},
      {Codec("H264", 90000), config::v1::CODEC_H264_BP},  // RFC 6184 default: baseline
      {Codec("H264", 90000, 0,
             "level-asymmetry-allowed=1;packetization-mode=1;"
             "profile-level-id=42e01f"),
       config::v1::CODEC_H264_BP},
      {Codec("H264", 90000, 0, "profile-level-id=4D001F"), config::v1::CODEC_H264_MP},
      {Codec("H264", 90000, 0, "profile-level-id=64001f"), std::nullopt},
      {Codec("H263", 90000), config::v1::CODEC_H263},
      {Codec("H263-1998", 90000), config::v1::CODEC_H263_PLUS},
      {Codec("H263-2000", 90000), std::nullopt},
      {Codec("theora", 90000), config::v1::CODEC_THEORA},
      {Codec("MP4V-ES", 90000), config::v1::CODEC_MP4V_ES},
      {Codec("telephone-event", 8000), std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ConfigCodecOf(c.codec), c.expected) << c.codec.ShortDebugString();
  }
}

TEST(CodecCatalog, SameCodecLooksAtTheParametersThatMatter) {
  EXPECT_TRUE(SameCodec(Codec("PCMU", 8000), Codec("pcmu", 8000, 1)));
  EXPECT_FALSE(SameCodec(Codec("telephone-event", 48000), Codec("telephone-event", 8000)));
  EXPECT_TRUE(SameCodec(Codec("H264", 90000, 0, "profile-level-id=42e01f;packetization-mode=1"),
                        Codec("H264", 90000, 0, "packetization-mode=1;profile-level-id=42001f")));
  EXPECT_FALSE(SameCodec(Codec("H264", 90000, 0, "profile-level-id=42e01f;packetization-mode=1"),
                         Codec("H264", 90000, 0, "profile-level-id=42e01f")));
  EXPECT_FALSE(SameCodec(Codec("H264", 90000, 0, "profile-level-id=42e01f"),
                         Codec("H264", 90000, 0, "profile-level-id=4d001f")));
  EXPECT_FALSE(SameCodec(Codec("AMR", 8000, 0, "octet-align=1"), Codec("AMR", 8000)));
}

TEST(CodecCatalog, StaticPayloadTypes) {
  ASSERT_TRUE(StaticPayloadCodec(0).has_value());
  EXPECT_EQ(StaticPayloadCodec(0)->name(), "PCMU");
  EXPECT_EQ(StaticPayloadCodec(18)->name(), "G729");
  EXPECT_EQ(StaticPayloadCodec(9)->clock_rate(), 8000u);
  EXPECT_EQ(StaticPayloadCodec(34)->clock_rate(), 90000u);
  EXPECT_FALSE(StaticPayloadCodec(96).has_value());
  EXPECT_FALSE(StaticPayloadCodec(2).has_value());  // unassigned since RFC 3551
  EXPECT_EQ(IdentityOf(config::v1::CODEC_PCMA).static_payload_type, 8);
  EXPECT_EQ(IdentityOf(config::v1::CODEC_OPUS).static_payload_type, -1);
}

TEST(CodecCatalog, FmtpParameters) {
  EXPECT_EQ(FmtpParameter("minptime=10; useinbandfec=1", "UseInbandFec"), "1");
  EXPECT_EQ(FmtpParameter("minptime=10", "stereo"), std::nullopt);
  EXPECT_EQ(SetFmtpParameter("", "a", "1"), "a=1");
  EXPECT_EQ(SetFmtpParameter("a=1; b=2", "B", "3"), "a=1;b=3");
  EXPECT_EQ(SetFmtpParameter("0-15", "x", "1"), "0-15;x=1");
  EXPECT_EQ(OpusFmtpWithMaxRates("minptime=10;maxplaybackrate=48000", 16000, 24000),
            "minptime=10;maxplaybackrate=16000;sprop-maxcapturerate=24000");
}

TEST(CodecCatalog, DefaultCodecListWhenTheConfigHasNone) {
  const auto codecs = ConfiguredCodecs(config::v1::Media());
  ASSERT_EQ(codecs.size(), 9u);
  EXPECT_EQ(codecs.front(), config::v1::CODEC_OPUS);
  EXPECT_EQ(codecs.back(), config::v1::CODEC_H263_PLUS);
  config::v1::Media media;
  media.add_codecs(config::v1::CODEC_G722);
  EXPECT_EQ(ConfiguredCodecs(media), std::vector<config::v1::Codec>{config::v1::CODEC_G722});
}

}  // namespace
}  // namespace webrtc2sip::signaling::sdp
