#include "common/config/config_loader.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/config/config_error.h"
#include "common/config/enum_spelling.h"
#include "common/config/yaml_proto.h"

namespace webrtc2sip::config {
namespace {

void Check(bool ok, const std::string& file, const std::string& key, const std::string& problem) {
  if (!ok) throw ConfigError(file, 0, key, problem);
}

void CheckHostPort(const std::string& value, const std::string& file, const std::string& key) {
  try {
    ParseHostPort(value);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(file, 0, key, "'" + value + "' " + e.what());
  }
}

// "1.2.3.4:5353" or "[::1]:5353" carry a port; "::1" does not.
bool HasPort(const std::string& ns) {
  return (ns.find('.') != std::string::npos && ns.find(':') != std::string::npos) ||
         (!ns.empty() && ns.front() == '[');
}

void CheckReadable(const std::string& path, const std::string& file, const std::string& key) {
  Check(access(path.c_str(), R_OK) == 0, file, key, "cannot read '" + path + "'");
}

std::string Spelling(v1::Codec codec) {
  return EnumSpelling(v1::Codec_descriptor()->FindValueByNumber(codec));
}

void ValidateMedia(const v1::Media& media, const std::string& file) {
  std::set<int> seen;
  for (int i = 0; i < media.codecs_size(); ++i) {
    Check(seen.insert(media.codecs(i)).second, file, "media.codecs[" + std::to_string(i) + "]",
          "'" + Spelling(media.codecs(i)) + "' is listed twice");
  }
  Check(media.avpf_tail_length().min() <= media.avpf_tail_length().max(), file,
        "media.avpf_tail_length",
        "min (" + std::to_string(media.avpf_tail_length().min()) + ") is greater than max (" +
            std::to_string(media.avpf_tail_length().max()) + ")");
  std::set<int> types;
  for (int i = 0; i < media.srtp_type_size(); ++i) {
    Check(types.insert(media.srtp_type(i)).second, file,
          "media.srtp_type[" + std::to_string(i) + "]", "is listed twice");
  }
  Check(!media.enable_icestun() || media.has_stun_server(), file, "media.enable_icestun",
        "needs media.stun_server");
}

// Two listeners on the same socket type, address and port cannot both bind.
void ValidateTransports(const v1::Signaling& sig, const std::string& file) {
  std::set<std::tuple<bool, std::string, uint32_t>> bound;
  for (int i = 0; i < sig.transports_size(); ++i) {
    const auto& t = sig.transports(i);
    const std::string key = "signaling.transports[" + std::to_string(i) + "]";
    const bool secure =
        t.protocol() == v1::TRANSPORT_PROTOCOL_TLS || t.protocol() == v1::TRANSPORT_PROTOCOL_WSS;
    Check(!secure || sig.has_ssl_certificates(), file, key,
          "a " + EnumSpelling(v1::TransportProtocol_descriptor()->FindValueByNumber(t.protocol())) +
              " transport needs signaling.ssl_certificates (the default transports include "
              "wss *:10062; list signaling.transports to leave it out)");
    const bool stream = t.protocol() != v1::TRANSPORT_PROTOCOL_UDP;
    // sofia's tcp listener also listens on udp's port; ws listeners are lws'
    if (t.port() != 0) {
      Check(bound.insert({stream, t.address(), t.port()}).second, file, key,
            "port " + std::to_string(t.port()) + " is already used by another " +
                (stream ? "TCP-based" : "UDP") + " transport on the same address");
    }
  }
}

void ValidateSignaling(const v1::Signaling& sig, const std::string& file) {
  ValidateTransports(sig, file);
  bool has_ws = false;
  for (const auto& t : sig.transports()) {
    has_ws |=
        t.protocol() == v1::TRANSPORT_PROTOCOL_WS || t.protocol() == v1::TRANSPORT_PROTOCOL_WSS;
  }
  Check(has_ws, file, "signaling.transports",
        "needs at least one ws or wss transport for browsers");
  if (sig.has_ssl_certificates()) {
    const auto& ssl = sig.ssl_certificates();
    CheckReadable(ssl.private_key(), file, "signaling.ssl_certificates.private_key");
    CheckReadable(ssl.certificate(), file, "signaling.ssl_certificates.certificate");
    if (ssl.has_ca()) CheckReadable(ssl.ca(), file, "signaling.ssl_certificates.ca");
    Check(!ssl.verify() || ssl.has_ca(), file, "signaling.ssl_certificates.verify",
          "verify needs a ca file");
  }
  CheckHostPort(sig.http_listen(), file, "signaling.http_listen");
  // Nameservers: IP literals, optionally with one port shared by all (sofia's
  // resolver has a single port for its servers).
  int dns_port = -1;
  for (int i = 0; i < sig.nameservers_size(); ++i) {
    const std::string key = "signaling.nameservers[" + std::to_string(i) + "]";
    const std::string& ns = sig.nameservers(i);
    std::string host = ns;
    int port = 53;
    if (HasPort(ns)) {
      try {
        HostPort hp = ParseHostPort(ns);
        host = hp.host;
        port = hp.port;
      } catch (const std::invalid_argument& e) {
        throw ConfigError(file, 0, key, "'" + ns + "' " + e.what());
      }
    }
    unsigned char buf[16];
    Check(inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1,
          file, key, "'" + ns + "' is not an IP address (with an optional :port)");
    Check(dns_port < 0 || dns_port == port, file, key,
          "all nameservers must use the same port");
    dns_port = port;
  }
  Check(sig.nameservers_size() <= 6, file, "signaling.nameservers", "at most 6 nameservers");
  if (sig.has_outbound_proxy()) {
    const std::string& uri = sig.outbound_proxy();
    const bool scheme = uri.rfind("sip:", 0) == 0 || uri.rfind("sips:", 0) == 0;
    Check(scheme && uri.size() > uri.find(':') + 1, file, "signaling.outbound_proxy",
          "'" + uri + "' is not a SIP URI (e.g. sip:10.0.0.5:5060;transport=udp)");
  }
  const auto& nodes = sig.media_nodes();
  const int sources = (nodes.addresses_size() > 0 ? 1 : 0) + (nodes.has_dns_name() ? 1 : 0) +
                      (nodes.has_dns_srv() ? 1 : 0);
  Check(sources <= 1, file, "signaling.media_nodes",
        "give exactly one of addresses, dns_name or dns_srv");
  for (int i = 0; i < nodes.addresses_size(); ++i) {
    CheckHostPort(nodes.addresses(i), file,
                  "signaling.media_nodes.addresses[" + std::to_string(i) + "]");
  }
  if (nodes.has_dns_name()) CheckHostPort(nodes.dns_name(), file, "signaling.media_nodes.dns_name");
  if (nodes.has_dns_srv()) {
    const std::string& srv = nodes.dns_srv();
    // The SRV record gives the port; a name with one is a dns_name mistaken for it.
    Check(!srv.empty() && srv.find_first_of(": \t") == std::string::npos, file,
          "signaling.media_nodes.dns_srv",
          "'" + srv + "' is not a DNS name (e.g. _grpc._tcp.relays.ns.svc.cluster.local, no port)");
  }
}

void ValidateMediaRelay(const v1::MediaRelay& relay, const std::string& file) {
  CheckHostPort(relay.grpc_listen(), file, "media_relay.grpc_listen");
  CheckHostPort(relay.http_listen(), file, "media_relay.http_listen");
  const auto& range = relay.port_range();
  Check(range.min() < range.max(), file, "media_relay.port_range",
        "min (" + std::to_string(range.min()) + ") must be below max (" +
            std::to_string(range.max()) + ")");
  const bool wildcard = relay.bind_address() == "0.0.0.0" || relay.bind_address() == "::";
  Check(!wildcard || (relay.advertised().has_webrtc() && relay.advertised().has_legacy()), file,
        "media_relay.advertised",
        "bind_address " + relay.bind_address() +
            " is a wildcard: give advertised.webrtc and advertised.legacy, the addresses peers "
            "reach this node at");
  // Each legacy stream takes an even RTP port and the odd RTCP port after it.
  Check(range.max() - range.min() + 1 >= 2, file, "media_relay.port_range",
        "must hold at least one RTP/RTCP port pair");
}

}  // namespace

std::pair<std::vector<std::string>, uint16_t> SplitNameservers(const v1::Signaling& sig) {
  std::vector<std::string> hosts;
  uint16_t port = 53;
  for (const auto& ns : sig.nameservers()) {
    if (HasPort(ns)) {
      HostPort hp = ParseHostPort(ns);
      hosts.push_back(hp.host);
      port = hp.port;
    } else {
      hosts.push_back(ns);
    }
  }
  return {hosts, port};
}

HostPort ParseHostPort(const std::string& text) {
  HostPort hp;
  std::string port;
  if (!text.empty() && text.front() == '[') {  // [v6]:port
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("is not [address]:port");
    }
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("is not host:port");
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (hp.host.empty()) throw std::invalid_argument("has no host");
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoul(port) > 65535) {
    throw std::invalid_argument("has no valid port (0-65535)");
  }
  hp.port = static_cast<uint16_t>(std::stoul(port));
  return hp;
}

void ApplyListDefaults(Config& config) {
  auto* media = config.mutable_media();
  if (media->codecs_size() == 0) {
    for (auto c : {v1::CODEC_OPUS, v1::CODEC_PCMA, v1::CODEC_PCMU, v1::CODEC_GSM, v1::CODEC_VP8,
                   v1::CODEC_H264_BP, v1::CODEC_H264_MP, v1::CODEC_H263, v1::CODEC_H263_PLUS}) {
      media->add_codecs(c);
    }
  }
  if (media->srtp_type_size() == 0) {
    media->add_srtp_type(v1::SRTP_TYPE_SDES);
    media->add_srtp_type(v1::SRTP_TYPE_DTLS);
  }
  auto* sig = config.mutable_signaling();
  if (sig->transports_size() == 0) {
    auto add = [&](v1::TransportProtocol p, uint32_t port) {
      auto* t = sig->add_transports();
      t->set_protocol(p);
      t->set_address("*");
      t->set_port(port);
    };
    add(v1::TRANSPORT_PROTOCOL_UDP, 10060);
    add(v1::TRANSPORT_PROTOCOL_WS, 10060);
    add(v1::TRANSPORT_PROTOCOL_WSS, 10062);
  }
  auto* nodes = sig->mutable_media_nodes();
  if (nodes->addresses_size() == 0 && !nodes->has_dns_name() && !nodes->has_dns_srv()) {
    nodes->add_addresses("127.0.0.1:50051");
  }
}

void Validate(const Config& config, const std::string& name, Scope scope) {
  ValidateMedia(config.media(), name);
  if (scope != Scope::kMediaRelay) ValidateSignaling(config.signaling(), name);
  if (scope != Scope::kSignaling) ValidateMediaRelay(config.media_relay(), name);
}

namespace {

Config Parse(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(name, e.mark.is_null() ? 0 : e.mark.line + 1, "", "not valid YAML: " + e.msg);
  }
  Config config;
  YamlToMessage(root, config, name);
  ApplyListDefaults(config);
  return config;
}

// Certificate paths in a file are relative to that file, so a config and its
// keys can move together.
void ResolveRelativePaths(Config& config, const std::string& base_dir) {
  if (base_dir.empty() || !config.signaling().has_ssl_certificates()) return;
  auto* ssl = config.mutable_signaling()->mutable_ssl_certificates();
  auto resolve = [&](std::string* path) {
    if (!path->empty() && path->front() != '/') *path = base_dir + "/" + *path;
  };
  resolve(ssl->mutable_private_key());
  resolve(ssl->mutable_certificate());
  if (ssl->has_ca()) resolve(ssl->mutable_ca());
}

}  // namespace

Config LoadConfigString(const std::string& yaml, const std::string& name, Scope scope) {
  Config config = Parse(yaml, name);
  Validate(config, name, scope);
  return config;
}

Config LoadConfigFile(const std::string& path, Scope scope) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, "", "cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  Config config = Parse(text.str(), path);
  auto slash = path.rfind('/');
  ResolveRelativePaths(config, slash == std::string::npos ? "." : path.substr(0, slash));
  Validate(config, path, scope);
  return config;
}

}  // namespace webrtc2sip::config
