#include "common/config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/config/config_error.h"

namespace webrtc2sip::config {
namespace {

using ::testing::HasSubstr;
namespace v1 = webrtc2sip::config::v1;

// A key and certificate file that exist, for the wss default transport.
class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/w2s-config-test-XXXXXX";
    dir_ = mkdtemp(dir_template);
    key_ = dir_ + "/key.pem";
    cert_ = dir_ + "/cert.pem";
    std::ofstream(key_) << "key";
    std::ofstream(cert_) << "cert";
  }
  void TearDown() override {
    std::remove(key_.c_str());
    std::remove(cert_.c_str());
    std::remove(dir_.c_str());
  }
  std::string Ssl() const {
    return "signaling:\n  ssl_certificates:\n    private_key: " + key_ +
           "\n    certificate: " + cert_ + "\n";
  }
  // The error message LoadConfigString gives for `yaml`, or "" if it loads.
  static std::string ErrorOf(const std::string& yaml, Scope scope = Scope::kAll) {
    try {
      LoadConfigString(yaml, "test.yaml", scope);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_, key_, cert_;
};

TEST_F(ConfigLoaderTest, DefaultsAreTheOriginalOnes) {
  // Signaling's checks: the relay's wildcard bind address would need advertised addresses.
  Config c = LoadConfigString(Ssl(), "test.yaml", Scope::kSignaling);
  EXPECT_EQ(c.log().level(), v1::LOG_LEVEL_ERROR);  // debug-level ERROR
  EXPECT_EQ(c.log().format(), v1::LOG_FORMAT_JSON);
  EXPECT_EQ(c.max_fds(), -1);

  const auto& m = c.media();
  EXPECT_TRUE(m.enable_rtp_symetric());
  EXPECT_FALSE(m.enable_media_coder());
  EXPECT_TRUE(m.enable_videojb());
  EXPECT_EQ(m.video_size_pref(), v1::VIDEO_SIZE_VGA);
  EXPECT_EQ(m.rtp_buffsize(), 65535u);
  EXPECT_EQ(m.avpf_tail_length().min(), 100u);
  EXPECT_EQ(m.avpf_tail_length().max(), 400u);
  EXPECT_EQ(m.srtp_mode(), v1::SRTP_MODE_OPTIONAL);
  EXPECT_THAT(m.srtp_type(), ::testing::ElementsAre(v1::SRTP_TYPE_SDES, v1::SRTP_TYPE_DTLS));
  EXPECT_EQ(m.dtmf_type(), v1::DTMF_TYPE_RFC4733);
  EXPECT_THAT(m.codecs(),
              ::testing::ElementsAre(v1::CODEC_OPUS, v1::CODEC_PCMA, v1::CODEC_PCMU, v1::CODEC_GSM,
                                     v1::CODEC_VP8, v1::CODEC_H264_BP, v1::CODEC_H264_MP,
                                     v1::CODEC_H263, v1::CODEC_H263_PLUS));
  EXPECT_EQ(m.codec_opus_maxrates().playback(), 48000u);
  EXPECT_EQ(m.codec_opus_maxrates().capture(), 48000u);
  EXPECT_FALSE(m.has_stun_server());
  EXPECT_FALSE(m.enable_icestun());

  const auto& s = c.signaling();
  ASSERT_EQ(s.transports_size(), 3);
  EXPECT_EQ(s.transports(0).protocol(), v1::TRANSPORT_PROTOCOL_UDP);
  EXPECT_EQ(s.transports(0).address(), "*");
  EXPECT_EQ(s.transports(0).port(), 10060u);
  EXPECT_EQ(s.transports(1).protocol(), v1::TRANSPORT_PROTOCOL_WS);
  EXPECT_EQ(s.transports(1).port(), 10060u);
  EXPECT_EQ(s.transports(2).protocol(), v1::TRANSPORT_PROTOCOL_WSS);
  EXPECT_EQ(s.transports(2).port(), 10062u);
  EXPECT_FALSE(s.enable_100rel());
  EXPECT_EQ(s.nameservers_size(), 0);
  EXPECT_FALSE(s.ssl_certificates().verify());
  EXPECT_FALSE(s.ssl_certificates().has_ca());
  EXPECT_EQ(s.http_listen(), "0.0.0.0:9090");
  EXPECT_THAT(s.media_nodes().addresses(), ::testing::ElementsAre("127.0.0.1:50051"));
  EXPECT_EQ(s.media_nodes().dns_refresh_seconds(), 10u);
  EXPECT_FALSE(s.media_nodes().has_dns_srv());
  EXPECT_EQ(s.drain_deadline_seconds(), 3600u);
  EXPECT_EQ(s.session_lease_seconds(), 30u);
  EXPECT_FALSE(s.has_outbound_proxy());
  EXPECT_FALSE(s.has_advertised_host());
  EXPECT_EQ(s.limits().max_ws_connections(), 10000u);
  EXPECT_EQ(s.limits().max_ws_connections_per_ip(), 1000u);
  EXPECT_EQ(s.limits().max_sip_message_size(), 65535u);
  EXPECT_EQ(s.limits().max_messages_per_second(), 200u);

  const auto& r = c.media_relay();
  EXPECT_EQ(r.grpc_listen(), "0.0.0.0:50051");
  EXPECT_EQ(r.http_listen(), "0.0.0.0:9091");
  EXPECT_EQ(r.bind_address(), "0.0.0.0");
  EXPECT_FALSE(r.advertised().has_webrtc());
  EXPECT_EQ(r.port_range().min(), 20000u);
  EXPECT_EQ(r.port_range().max(), 40000u);
  EXPECT_EQ(r.capacity(), 1000u);
  EXPECT_EQ(r.workers(), 0u);
  EXPECT_EQ(r.ice_mode(), v1::ICE_MODE_LITE);
  EXPECT_EQ(r.drain_deadline_seconds(), 7200u);
}

TEST_F(ConfigLoaderTest, EveryOptionIsRead) {
  const std::string yaml = R"(
max_fds: 4096
log: {level: info, format: kv}
media:
  codecs: [pcmu, "h263+", amr-nb-oa, mp4v-es, speex-uwb]
  enable_rtp_symetric: no
  enable_media_coder: yes
  enable_videojb: false
  video_size_pref: 720p
  rtp_buffsize: 131072
  avpf_tail_length: {min: 50, max: 800}
  srtp_mode: mandatory
  srtp_type: [dtls]
  dtmf_type: rfc2833
  codec_opus_maxrates: {playback: 16000, capture: 24000}
  stun_server: {host: stun.example.org, port: 19302, user: u, password: p}
  enable_icestun: yes
signaling:
  transports:
    - {protocol: tcp, address: 127.0.0.1, port: 5062}
    - {protocol: tls, port: 5063}
    - {protocol: wss, address: "::1", port: 443}
  enable_100rel: yes
  nameservers: [10.0.0.53, "2001:db8::53"]
  ssl_certificates: {private_key: KEY, certificate: CERT, ca: CERT, verify: yes}
  http_listen: 127.0.0.1:19090
  outbound_proxy: "sip:10.0.0.5:5060;transport=udp"
  advertised_host: sip.example.org
  media_nodes: {dns_name: media.default.svc.cluster.local:50051, dns_refresh_seconds: 5}
  session_lease_seconds: 60
  drain_deadline_seconds: 120
  limits: {max_ws_connections: 20, max_ws_connections_per_ip: 5, max_sip_message_size: 8192,
           max_messages_per_second: 50}
media_relay:
  grpc_listen: 127.0.0.1:50052
  http_listen: "[::1]:9092"
  bind_address: 127.0.0.1
  advertised: {webrtc: 203.0.113.7, legacy: 10.1.2.3}
  port_range: {min: 30000, max: 30999}
  capacity: 250
  workers: 4
  ice_mode: full
  drain_deadline_seconds: 600
)";
  std::string text = yaml;
  text.replace(text.find("KEY"), 3, key_);
  text.replace(text.find("CERT"), 4, cert_);
  text.replace(text.find("CERT"), 4, cert_);
  Config c = LoadConfigString(text, "test.yaml", Scope::kAll);
  EXPECT_EQ(c.max_fds(), 4096);
  EXPECT_EQ(c.log().level(), v1::LOG_LEVEL_INFO);
  EXPECT_EQ(c.log().format(), v1::LOG_FORMAT_KV);
  const auto& m = c.media();
  EXPECT_THAT(m.codecs(),
              ::testing::ElementsAre(v1::CODEC_PCMU, v1::CODEC_H263_PLUS, v1::CODEC_AMR_NB_OA,
                                     v1::CODEC_MP4V_ES, v1::CODEC_SPEEX_UWB));
  EXPECT_FALSE(m.enable_rtp_symetric());
  EXPECT_TRUE(m.enable_media_coder());
  EXPECT_FALSE(m.enable_videojb());
  EXPECT_EQ(m.video_size_pref(), v1::VIDEO_SIZE_720P);
  EXPECT_EQ(m.rtp_buffsize(), 131072u);
  EXPECT_EQ(m.avpf_tail_length().min(), 50u);
  EXPECT_EQ(m.avpf_tail_length().max(), 800u);
  EXPECT_EQ(m.srtp_mode(), v1::SRTP_MODE_MANDATORY);
  EXPECT_THAT(m.srtp_type(), ::testing::ElementsAre(v1::SRTP_TYPE_DTLS));
  EXPECT_EQ(m.dtmf_type(), v1::DTMF_TYPE_RFC2833);
  EXPECT_EQ(m.codec_opus_maxrates().playback(), 16000u);
  EXPECT_EQ(m.codec_opus_maxrates().capture(), 24000u);
  EXPECT_EQ(m.stun_server().host(), "stun.example.org");
  EXPECT_EQ(m.stun_server().port(), 19302u);
  EXPECT_EQ(m.stun_server().user(), "u");
  EXPECT_EQ(m.stun_server().password(), "p");
  EXPECT_TRUE(m.enable_icestun());

  const auto& s = c.signaling();
  ASSERT_EQ(s.transports_size(), 3);
  EXPECT_EQ(s.transports(0).protocol(), v1::TRANSPORT_PROTOCOL_TCP);
  EXPECT_EQ(s.transports(0).address(), "127.0.0.1");
  EXPECT_EQ(s.transports(1).protocol(), v1::TRANSPORT_PROTOCOL_TLS);
  EXPECT_EQ(s.transports(1).address(), "*");
  EXPECT_EQ(s.transports(2).address(), "::1");
  EXPECT_EQ(s.transports(2).port(), 443u);
  EXPECT_TRUE(s.enable_100rel());
  EXPECT_THAT(s.nameservers(), ::testing::ElementsAre("10.0.0.53", "2001:db8::53"));
  EXPECT_EQ(s.ssl_certificates().private_key(), key_);
  EXPECT_EQ(s.ssl_certificates().certificate(), cert_);
  EXPECT_EQ(s.ssl_certificates().ca(), cert_);
  EXPECT_TRUE(s.ssl_certificates().verify());
  EXPECT_EQ(s.http_listen(), "127.0.0.1:19090");
  EXPECT_EQ(s.outbound_proxy(), "sip:10.0.0.5:5060;transport=udp");
  EXPECT_EQ(s.advertised_host(), "sip.example.org");
  EXPECT_EQ(s.media_nodes().addresses_size(), 0);  // dns_name given: no default list
  EXPECT_EQ(s.media_nodes().dns_name(), "media.default.svc.cluster.local:50051");
  EXPECT_EQ(s.media_nodes().dns_refresh_seconds(), 5u);
  EXPECT_EQ(s.session_lease_seconds(), 60u);
  EXPECT_EQ(s.limits().max_ws_connections(), 20u);
  EXPECT_EQ(s.limits().max_ws_connections_per_ip(), 5u);
  EXPECT_EQ(s.limits().max_sip_message_size(), 8192u);
  EXPECT_EQ(s.limits().max_messages_per_second(), 50u);
  EXPECT_EQ(s.drain_deadline_seconds(), 120u);

  const auto& r = c.media_relay();
  EXPECT_EQ(r.grpc_listen(), "127.0.0.1:50052");
  EXPECT_EQ(r.http_listen(), "[::1]:9092");
  EXPECT_EQ(r.bind_address(), "127.0.0.1");
  EXPECT_EQ(r.advertised().webrtc(), "203.0.113.7");
  EXPECT_EQ(r.advertised().legacy(), "10.1.2.3");
  EXPECT_EQ(r.port_range().min(), 30000u);
  EXPECT_EQ(r.port_range().max(), 30999u);
  EXPECT_EQ(r.capacity(), 250u);
  EXPECT_EQ(r.workers(), 4u);
  EXPECT_EQ(r.ice_mode(), v1::ICE_MODE_FULL);
  EXPECT_EQ(r.drain_deadline_seconds(), 600u);
}

TEST_F(ConfigLoaderTest, DnsSrvReplacesTheDefaultNodeList) {
  Config c = LoadConfigString(
      "signaling:\n  transports: [{protocol: ws}]\n"
      "  media_nodes: {dns_srv: _grpc._tcp.relays.ns.svc.cluster.local}\n",
      "t", Scope::kSignaling);
  EXPECT_EQ(c.signaling().media_nodes().dns_srv(), "_grpc._tcp.relays.ns.svc.cluster.local");
  EXPECT_EQ(c.signaling().media_nodes().addresses_size(), 0);
  EXPECT_FALSE(c.signaling().media_nodes().has_dns_name());
}

TEST_F(ConfigLoaderTest, EnumSpellingsAreCaseInsensitive) {
  Config c = LoadConfigString(
      "log: {level: WARN}\nmedia: {codecs: [H264-BP, PCMA]}\nmedia_relay: {bind_address: 127.0.0.1}\n",
      "t", Scope::kMediaRelay);
  EXPECT_EQ(c.log().level(), v1::LOG_LEVEL_WARN);
  EXPECT_EQ(c.media().codecs(0), v1::CODEC_H264_BP);
}

TEST_F(ConfigLoaderTest, UnknownKeysAreNamedWithASuggestion) {
  EXPECT_EQ(ErrorOf("media:\n  enable_videojbb: yes\n"),
            "test.yaml:2: media.enable_videojbb: unknown key (did you mean 'enable_videojb'?)");
  EXPECT_THAT(ErrorOf("frobnicate: 1\n"),
              HasSubstr("test.yaml:1: frobnicate: unknown key (expected one of: log, media"));
}

TEST_F(ConfigLoaderTest, WrongTypesAreNamed) {
  EXPECT_EQ(ErrorOf("media:\n  rtp_buffsize: big\n"),
            "test.yaml:2: media.rtp_buffsize: 'big' is not an integer");
  EXPECT_EQ(
      ErrorOf("media:\n  enable_videojb: maybe\n"),
      "test.yaml:2: media.enable_videojb: 'maybe' is not a boolean (use yes/no or true/false)");
  EXPECT_EQ(ErrorOf("media:\n  codecs: pcma\n"),
            "test.yaml:2: media.codecs: expected a list (e.g. [a, b] or '- a' lines)");
  EXPECT_EQ(ErrorOf("media:\n  rtp_buffsize: [1, 2]\n"),
            "test.yaml:2: media.rtp_buffsize: expected an integer, got a list");
  EXPECT_EQ(ErrorOf("media: 3\n"), "test.yaml:1: media: expected a mapping of keys, got '3'");
  EXPECT_EQ(ErrorOf("max_fds:\n"), "test.yaml:1: max_fds: has no value");
  EXPECT_EQ(ErrorOf("media:\n  rtp_buffsize: -5\n"),
            "test.yaml:2: media.rtp_buffsize: -5 is negative");
}

TEST_F(ConfigLoaderTest, OutOfRangeValuesAreNamed) {
  EXPECT_EQ(ErrorOf("media:\n  avpf_tail_length: {min: 0, max: 10}\n"),
            "test.yaml:2: media.avpf_tail_length.min: 0 is out of range (must be between 1 and "
            "65535)");
  EXPECT_EQ(ErrorOf("signaling:\n  transports:\n    - {protocol: ws, port: 70000}\n"),
            "test.yaml:3: signaling.transports[0].port: 70000 is out of range (must be between 0 "
            "and 65535)");
  EXPECT_EQ(ErrorOf("media:\n  rtp_buffsize: 99999999999\n"),
            "test.yaml:2: media.rtp_buffsize: 99999999999 does not fit in 32 bits");
  EXPECT_EQ(ErrorOf("max_fds: -2\n"),
            "test.yaml:1: max_fds: -2 is out of range (must be between -1 and 1048576)");
}

TEST_F(ConfigLoaderTest, BadEnumValuesListTheAllowedOnes) {
  EXPECT_EQ(ErrorOf("media:\n  srtp_mode: sometimes\n"),
            "test.yaml:2: media.srtp_mode: 'sometimes' is not one of: none, optional, mandatory");
  EXPECT_EQ(ErrorOf("media:\n  video_size_pref: 4k\n"),
            "test.yaml:2: media.video_size_pref: '4k' is not one of: sqcif, qcif, qvga, cif, "
            "hvga, vga, 4cif, svga, 480p, 720p, 16cif, 1080p");
  EXPECT_THAT(ErrorOf("media:\n  codecs: [opus, g723]\n"),
              HasSubstr("test.yaml:2: media.codecs[1]: 'g723' is not one of: pcma, pcmu, opus, "
                        "amr-nb-be, amr-nb-oa, speex-nb, speex-wb, speex-uwb, g729, gsm, g722, "
                        "ilbc, h264-bp, h264-mp, vp8, h263, h263+, theora, mp4v-es"));
  EXPECT_EQ(ErrorOf("log: {level: verbose}\n"),
            "test.yaml:1: log.level: 'verbose' is not one of: debug, info, warn, error, fatal");
}

TEST_F(ConfigLoaderTest, MissingRequiredKeysAreNamed) {
  EXPECT_EQ(ErrorOf("media:\n  stun_server: {port: 3478}\n"),
            "test.yaml:2: media.stun_server: missing required key 'host'");
  EXPECT_EQ(ErrorOf("signaling:\n  transports:\n    - {port: 5060}\n"),
            "test.yaml:3: signaling.transports[0]: missing required key 'protocol'");
}

TEST_F(ConfigLoaderTest, CrossFieldProblemsAreNamed) {
  EXPECT_EQ(ErrorOf("media:\n  avpf_tail_length: {min: 500, max: 400}\n"),
            "test.yaml: media.avpf_tail_length: min (500) is greater than max (400)");
  EXPECT_EQ(ErrorOf("media:\n  codecs: [pcma, pcmu, pcma]\n"),
            "test.yaml: media.codecs[2]: 'pcma' is listed twice");
  EXPECT_EQ(ErrorOf("media:\n  enable_icestun: yes\n"),
            "test.yaml: media.enable_icestun: needs media.stun_server");
  EXPECT_THAT(ErrorOf(""), HasSubstr("test.yaml: signaling.transports[2]: a wss transport needs "
                                     "signaling.ssl_certificates"));
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: udp, port: 5060}]\n"),
            "test.yaml: signaling.transports: needs at least one ws or wss transport for browsers");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws, port: 80}, {protocol: tcp, port: "
                    "80}]\n"),
            "test.yaml: signaling.transports[1]: port 80 is already used by another TCP-based "
            "transport on the same address");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  ssl_certificates: "
                    "{private_key: /nonexistent/k.pem, certificate: /nonexistent/c.pem}\n"),
            "test.yaml: signaling.ssl_certificates.private_key: cannot read '/nonexistent/k.pem'");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  http_listen: localhost\n"),
            "test.yaml: signaling.http_listen: 'localhost' is not host:port");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  media_nodes: {addresses: "
                    "[a:1], dns_name: b:2}\n"),
            "test.yaml: signaling.media_nodes: give exactly one of addresses, dns_name or dns_srv");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  media_nodes: {dns_name: b:2, "
                    "dns_srv: _grpc._tcp.b}\n"),
            "test.yaml: signaling.media_nodes: give exactly one of addresses, dns_name or dns_srv");
  EXPECT_EQ(
      ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  media_nodes: {dns_srv: "
              "\"_grpc._tcp.b:50051\"}\n"),
      "test.yaml: signaling.media_nodes.dns_srv: '_grpc._tcp.b:50051' is not a DNS name (e.g. "
      "_grpc._tcp.relays.ns.svc.cluster.local, no port)");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  outbound_proxy: 10.0.0.5\n"),
            "test.yaml: signaling.outbound_proxy: '10.0.0.5' is not a SIP URI (e.g. "
            "sip:10.0.0.5:5060;transport=udp)");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  nameservers: [dns.example]\n"),
            "test.yaml: signaling.nameservers[0]: 'dns.example' is not an IP address (with an "
            "optional :port)");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\n  nameservers: [127.0.0.1:5353, "
                    "127.0.0.2]\n"),
            "test.yaml: signaling.nameservers[1]: all nameservers must use the same port");
  EXPECT_EQ(ErrorOf("media_relay:\n  port_range: {min: 30000, max: 20000}\n", Scope::kMediaRelay),
            "test.yaml: media_relay.port_range: min (30000) must be below max (20000)");
  EXPECT_EQ(ErrorOf("media_relay:\n  grpc_listen: 127.0.0.1:99999\n", Scope::kMediaRelay),
            "test.yaml: media_relay.grpc_listen: '127.0.0.1:99999' has no valid port (0-65535)");
}

TEST_F(ConfigLoaderTest, EachServiceChecksItsOwnSections) {
  // The media relay does not need signaling's certificates, and the other way round.
  EXPECT_EQ(ErrorOf("media_relay: {bind_address: 127.0.0.1}\n", Scope::kMediaRelay), "");
  EXPECT_EQ(ErrorOf("signaling:\n  transports: [{protocol: ws}]\nmedia_relay:\n  port_range: "
                    "{min: 5000, max: 4000}\n",
                    Scope::kSignaling),
            "");
  // Shared sections are checked by both.
  EXPECT_NE(ErrorOf("media: {codecs: [pcma, pcma]}\n", Scope::kMediaRelay), "");
  // A wildcard bind address needs the addresses peers reach the node at.
  EXPECT_EQ(ErrorOf("", Scope::kMediaRelay),
            "test.yaml: media_relay.advertised: bind_address 0.0.0.0 is a wildcard: give "
            "advertised.webrtc and advertised.legacy, the addresses peers reach this node at");
}

TEST_F(ConfigLoaderTest, SyntaxErrorsAndMissingFilesAreOneLine) {
  EXPECT_THAT(ErrorOf("media:\n  codecs: [pcma\n"), HasSubstr("test.yaml:"));
  EXPECT_THAT(ErrorOf("media:\n  codecs: [pcma\n"), HasSubstr("not valid YAML"));
  try {
    LoadConfigFile("/nonexistent/webrtc2sip.yaml", Scope::kAll);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/webrtc2sip.yaml: cannot open the file");
  }
  for (const char* bad : {"media:\n  codecs: [pcma\n", "media: {rtp_buffsize: x}\n"}) {
    EXPECT_EQ(ErrorOf(bad).find('\n'), std::string::npos) << bad;
  }
}

TEST(ParseHostPortTest, AcceptsV4V6AndNames) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:80").host, "127.0.0.1");
  EXPECT_EQ(ParseHostPort("127.0.0.1:80").port, 80);
  EXPECT_EQ(ParseHostPort("[::1]:5060").host, "::1");
  EXPECT_EQ(ParseHostPort("media.svc:50051").port, 50051);
  EXPECT_THROW(ParseHostPort(":80"), std::invalid_argument);
  EXPECT_THROW(ParseHostPort("host:"), std::invalid_argument);
  EXPECT_THROW(ParseHostPort("host:8o"), std::invalid_argument);
  EXPECT_THROW(ParseHostPort("[::1]5060"), std::invalid_argument);
}

}  // namespace
}  // namespace webrtc2sip::config
