#include "common/config/legacy_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config_error.h"
#include "common/config/config_loader.h"
#include "common/config/yaml_proto.h"

namespace webrtc2sip::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace v1 = webrtc2sip::config::v1;

// Every option of the original, as its last release shipped them, plus the
// click-to-call ones that no longer apply.
constexpr const char* kEveryOption = R"(<?xml version="1.0" encoding="utf-8" ?>
<config>
  <debug-level>INFO</debug-level>
  <transport>udp;*;10060</transport>
  <transport>ws;*;10060</transport>
  <transport>wss;127.0.0.1;*</transport>
  <transport>tcp;*;10063</transport>
  <transport>tls;*;10064</transport>
  <enable-rtp-symetric>no</enable-rtp-symetric>
  <enable-100rel>yes</enable-100rel>
  <enable-media-coder>yes</enable-media-coder>
  <enable-videojb>no</enable-videojb>
  <video-size-pref>cif</video-size-pref>
  <rtp-buffsize>32768</rtp-buffsize>
  <avpf-tail-length>120;600</avpf-tail-length>
  <srtp-mode>mandatory</srtp-mode>
  <srtp-type>sdes;dtls</srtp-type>
  <dtmf-type>rfc2833</dtmf-type>
  <codecs>opus;pcma;pcmu;gsm;vp8;h264-bp;h264-mp;h263;h263+</codecs>
  <codec-opus-maxrates>24000;16000</codec-opus-maxrates>
  <stun-server>stun.l.google.com;19302;stun-user@doubango.org;stun-password</stun-server>
  <enable-icestun>yes</enable-icestun>
  <max-fds>2048</max-fds>
  <nameserver>66.66.66.6</nameserver>
  <nameserver>8.8.8.8</nameserver>
  <ssl-certificates>
    /etc/ssl/priv.pem;
    /etc/ssl/pub.pem;
    *;
    no
  </ssl-certificates>
  <transport>c2c;*;10070</transport>
  <database>sqlite;*</database>
  <account-mail>smtps;*;*;auth.smtp.1and1.fr;465;a@b;a@b;x</account-mail>
  <frobnicate>1</frobnicate>
</config>
)";

TEST(LegacyXmlTest, EveryOptionIsImported) {
  LegacyImport r = ImportLegacyXmlString(kEveryOption, "config.xml");
  const auto& c = r.config;
  EXPECT_EQ(c.log().level(), v1::LOG_LEVEL_INFO);
  ASSERT_EQ(c.signaling().transports_size(), 5);
  EXPECT_EQ(c.signaling().transports(0).protocol(), v1::TRANSPORT_PROTOCOL_UDP);
  EXPECT_EQ(c.signaling().transports(0).address(), "*");
  EXPECT_EQ(c.signaling().transports(0).port(), 10060u);
  EXPECT_EQ(c.signaling().transports(2).protocol(), v1::TRANSPORT_PROTOCOL_WSS);
  EXPECT_EQ(c.signaling().transports(2).address(), "127.0.0.1");
  EXPECT_EQ(c.signaling().transports(2).port(), 0u);  // '*': the system chooses
  EXPECT_EQ(c.signaling().transports(4).protocol(), v1::TRANSPORT_PROTOCOL_TLS);
  EXPECT_FALSE(c.media().enable_rtp_symetric());
  EXPECT_TRUE(c.signaling().enable_100rel());
  EXPECT_TRUE(c.media().enable_media_coder());
  EXPECT_FALSE(c.media().enable_videojb());
  EXPECT_EQ(c.media().video_size_pref(), v1::VIDEO_SIZE_CIF);
  EXPECT_EQ(c.media().rtp_buffsize(), 32768u);
  EXPECT_EQ(c.media().avpf_tail_length().min(), 120u);
  EXPECT_EQ(c.media().avpf_tail_length().max(), 600u);
  EXPECT_EQ(c.media().srtp_mode(), v1::SRTP_MODE_MANDATORY);
  EXPECT_THAT(c.media().srtp_type(), ElementsAre(v1::SRTP_TYPE_SDES, v1::SRTP_TYPE_DTLS));
  EXPECT_EQ(c.media().dtmf_type(), v1::DTMF_TYPE_RFC2833);
  EXPECT_THAT(
      c.media().codecs(),
      ElementsAre(v1::CODEC_OPUS, v1::CODEC_PCMA, v1::CODEC_PCMU, v1::CODEC_GSM, v1::CODEC_VP8,
                  v1::CODEC_H264_BP, v1::CODEC_H264_MP, v1::CODEC_H263, v1::CODEC_H263_PLUS));
  EXPECT_EQ(c.media().codec_opus_maxrates().playback(), 24000u);
  EXPECT_EQ(c.media().codec_opus_maxrates().capture(), 16000u);
  EXPECT_EQ(c.media().stun_server().host(), "stun.l.google.com");
  EXPECT_EQ(c.media().stun_server().port(), 19302u);
  EXPECT_EQ(c.media().stun_server().user(), "stun-user@doubango.org");
  EXPECT_EQ(c.media().stun_server().password(), "stun-password");
  EXPECT_TRUE(c.media().enable_icestun());
  EXPECT_EQ(c.max_fds(), 2048);
  EXPECT_THAT(c.signaling().nameservers(), ElementsAre("66.66.66.6", "8.8.8.8"));
  EXPECT_EQ(c.signaling().ssl_certificates().private_key(), "/etc/ssl/priv.pem");
  EXPECT_EQ(c.signaling().ssl_certificates().certificate(), "/etc/ssl/pub.pem");
  EXPECT_FALSE(c.signaling().ssl_certificates().has_ca());  // '*' means none
  EXPECT_FALSE(c.signaling().ssl_certificates().verify());
}

TEST(LegacyXmlTest, RetiredAndUnknownOptionsAreReportedWithTheirLines) {
  LegacyImport r = ImportLegacyXmlString(kEveryOption, "config.xml");
  std::string all;
  for (const auto& n : r.notes) all += n + "\n";
  EXPECT_THAT(all, HasSubstr("config.xml:32: <transport>: 'c2c;*;10070': the click-to-call"));
  EXPECT_THAT(all, HasSubstr("config.xml:33: <database>: the click-to-call service and its "
                             "database are not part of this gateway (not imported)"));
  EXPECT_THAT(all, HasSubstr("config.xml:34: <account-mail>:"));
  EXPECT_THAT(all, HasSubstr("config.xml:35: <frobnicate>: unknown option (not imported)"));
  EXPECT_THAT(all, HasSubstr("config.xml:14: <rtp-buffsize>: the original gateway ignored"));
  EXPECT_EQ(r.notes.size(), 5u);
}

TEST(LegacyXmlTest, TheYamlItWritesLoadsBackToTheSameConfig) {
  LegacyImport r = ImportLegacyXmlString(kEveryOption, "config.xml");
  const std::string yaml = MessageToYaml(r.config);
  v1::Config again;
  YamlToMessage(YAML::Load(yaml), again, "imported.yaml");
  EXPECT_EQ(again.SerializeAsString(), r.config.SerializeAsString()) << yaml;
  EXPECT_THAT(yaml, HasSubstr("- h263+"));
  EXPECT_THAT(yaml, HasSubstr("level: info"));
}

std::string ImportError(const std::string& body) {
  try {
    ImportLegacyXmlString("<config>\n" + body + "\n</config>\n", "config.xml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(LegacyXmlTest, BrokenValuesNameTheElementAndLine) {
  EXPECT_EQ(ImportError("<avpf-tail-length>100</avpf-tail-length>"),
            "config.xml:2: <avpf-tail-length>: '100': expected min;max, e.g. 100;400");
  EXPECT_EQ(ImportError("<avpf-tail-length>0;400</avpf-tail-length>"),
            "config.xml:2: <avpf-tail-length>: '0;400': 0 is out of range (must be between 1 "
            "and 65535)");
  EXPECT_EQ(ImportError("<srtp-mode>always</srtp-mode>"),
            "config.xml:2: <srtp-mode>: 'always': 'always' is not one of: none, optional, "
            "mandatory");
  EXPECT_EQ(ImportError("\n<transport>sctp;*;5060</transport>"),
            "config.xml:3: <transport>: 'sctp;*;5060': 'sctp' is not one of: udp, tcp, tls, ws, "
            "wss");
  EXPECT_EQ(ImportError("<transport>udp;*</transport>"),
            "config.xml:2: <transport>: 'udp;*': expected proto;ip;port, e.g. ws;*;10060");
  EXPECT_EQ(ImportError("<enable-videojb>perhaps</enable-videojb>"),
            "config.xml:2: <enable-videojb>: 'perhaps': 'perhaps' is not a boolean (use yes/no "
            "or true/false)");
  EXPECT_EQ(ImportError("<codecs>pcma;g723</codecs>"),
            "config.xml:2: <codecs>: 'pcma;g723': 'g723' is not one of: pcma, pcmu, opus, "
            "amr-nb-be, amr-nb-oa, speex-nb, speex-wb, speex-uwb, g729, gsm, g722, ilbc, "
            "h264-bp, h264-mp, vp8, h263, h263+, theora, mp4v-es");
  EXPECT_EQ(ImportError("<rtp-buffsize>lots</rtp-buffsize>"),
            "config.xml:2: <rtp-buffsize>: 'lots': 'lots' is not an integer");
}

TEST(LegacyXmlTest, MalformedXmlIsOneLine) {
  try {
    ImportLegacyXmlString("<config>\n<codecs>pcma</codec>\n</config>", "config.xml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("config.xml:2: not well-formed XML"));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
  EXPECT_THROW(ImportLegacyXmlString("<settings/>", "config.xml"), ConfigError);
}

}  // namespace
}  // namespace webrtc2sip::config
