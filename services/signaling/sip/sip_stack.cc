#include "services/signaling/sip/sip_stack.h"

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "common/log/logger.h"
#include "services/signaling/sip/sofia_gsource.h"

namespace webrtc2sip::signaling {
namespace {

namespace v1 = config::v1;

const char* ProtocolName(v1::TransportProtocol p) {
  switch (p) {
    case v1::TRANSPORT_PROTOCOL_UDP: return "udp";
    case v1::TRANSPORT_PROTOCOL_TCP: return "tcp";
    case v1::TRANSPORT_PROTOCOL_TLS: return "tls";
    case v1::TRANSPORT_PROTOCOL_WS: return "ws";
    case v1::TRANSPORT_PROTOCOL_WSS: return "wss";
  }
  return "?";
}

std::string HostOf(const v1::Transport& t) {
  if (t.address().empty() || t.address() == "*") return "*";
  return t.address().find(':') != std::string::npos ? "[" + t.address() + "]" : t.address();
}

std::string TransportUrl(const v1::Transport& t) {
  const std::string port = t.port() ? std::to_string(t.port()) : "*";
  if (t.protocol() == v1::TRANSPORT_PROTOCOL_TLS) return "sips:" + HostOf(t) + ":" + port;
  return "sip:" + HostOf(t) + ":" + port + ";transport=" + ProtocolName(t.protocol());
}

// sofia's TLS wants a directory with agent.pem (key and certificate) and
// cafile.pem; make one, readable by this process only.
std::string MakeTlsDir(const v1::SslCertificates& ssl) {
  char tmpl[] = "/tmp/webrtc2sip-tls-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a directory for TLS files");
  std::string dir = tmpl;
  auto copy = [](const std::string& from, std::ofstream& to) {
    std::ifstream in(from);
    if (!in) throw std::runtime_error("cannot read '" + from + "'");
    to << in.rdbuf() << "\n";
  };
  {
    std::ofstream agent(dir + "/agent.pem");
    chmod((dir + "/agent.pem").c_str(), 0600);
    copy(ssl.private_key(), agent);
    copy(ssl.certificate(), agent);
  }
  std::ofstream ca(dir + "/cafile.pem");
  copy(ssl.has_ca() ? ssl.ca() : ssl.certificate(), ca);
  return dir;
}

}  // namespace

SipStack::SipStack(GMainContext* context, const v1::Signaling& config, nta_message_f* stray,
                   nta_agent_magic_t* magic) {
  std::vector<v1::Transport> net;
  for (const auto& t : config.transports()) {
    if (t.protocol() != v1::TRANSPORT_PROTOCOL_WS && t.protocol() != v1::TRANSPORT_PROTOCOL_WSS) {
      net.push_back(t);
    }
  }
  if (net.empty()) {
    throw std::runtime_error("signaling.transports has no udp, tcp or tls transport toward the "
                             "SIP network");
  }

  root_ = su_glib_root_create(nullptr);
  if (!root_) throw std::runtime_error("cannot create the SIP event root");
  source_ = SofiaRootGSource(root_);
  // GLib blocks a source that may not recurse while it dispatches: it takes
  // the source's sockets out of the poll set and puts them back after, and
  // each change writes the loop's wakeup eventfd, so every dispatch cost an
  // extra turn of the loop (poll, read the eventfd). Sofia never runs the
  // loop from inside its callbacks, so blocking protects nothing here.
  g_source_set_can_recurse(source_, TRUE);
  g_source_attach(source_, context);

  bool has_tls = false;
  for (const auto& t : net) has_tls |= t.protocol() == v1::TRANSPORT_PROTOCOL_TLS;
  if (has_tls) tls_dir_ = MakeTlsDir(config.ssl_certificates());

  const std::string first = TransportUrl(net[0]);
  agent_ = nta_agent_create(root_, URL_STRING_MAKE(first.c_str()), stray, magic,
                            NTATAG_UA(0), NTATAG_SERVER_RPORT(1), NTATAG_CLIENT_RPORT(1),
                            NTATAG_CANCEL_487(0), NTATAG_PASS_100(0),
                            NTATAG_MAXSIZE(config.limits().max_sip_message_size()),
                            // Bursts of UDP must not overflow the default socket buffer.
                            TPTAG_UDP_RMEM(4 * 1024 * 1024), TPTAG_UDP_WMEM(1024 * 1024),
                            TAG_IF(!tls_dir_.empty(), TPTAG_CERTIFICATE(tls_dir_.c_str())),
                            TAG_END());
  if (!agent_) throw std::runtime_error("cannot listen on SIP transport " + first);
  for (size_t i = 1; i < net.size(); ++i) {
    const std::string url = TransportUrl(net[i]);
    if (nta_agent_add_tport(agent_, URL_STRING_MAKE(url.c_str()),
                            TAG_IF(!tls_dir_.empty(), TPTAG_CERTIFICATE(tls_dir_.c_str())),
                            TAG_END()) < 0) {
      throw std::runtime_error("cannot listen on SIP transport " + url);
    }
  }

  net_side_.transport = ProtocolName(net[0].protocol());
  net_side_.port = port(net_side_.transport);
  if (config.has_advertised_host()) {
    net_side_.host = config.advertised_host();
  } else if (HostOf(net[0]) != "*") {
    net_side_.host = net[0].address();
  } else if (const sip_via_t* via = nta_agent_via(agent_)) {
    net_side_.host = via->v_host;  // sofia's choice of the host's address
  }
  for (const auto& t : net) {
    log::Info("sip transport listening", {{"transport", ProtocolName(t.protocol())},
                                          {"address", t.address()},
                                          {"port", std::to_string(port(ProtocolName(t.protocol())))}});
  }
}

SipStack::~SipStack() {
  if (agent_) nta_agent_destroy(agent_);
  if (source_) g_source_destroy(source_);
  if (root_) su_root_destroy(root_);
  if (!tls_dir_.empty()) {
    unlink((tls_dir_ + "/agent.pem").c_str());
    unlink((tls_dir_ + "/cafile.pem").c_str());
    rmdir(tls_dir_.c_str());
  }
}

uint16_t SipStack::port(const std::string& transport) const {
  for (tport_t* tp = tport_primaries(nta_agent_tports(agent_)); tp; tp = tport_next(tp)) {
    const tp_name_t* name = tport_name(tp);
    if (name && name->tpn_proto && transport == name->tpn_proto && name->tpn_port) {
      return static_cast<uint16_t>(std::stoi(name->tpn_port));
    }
  }
  return 0;
}

}  // namespace webrtc2sip::signaling
