#include "services/signaling/sip/message_rewriter.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/url.h>

#include <string>

namespace webrtc2sip::signaling {
namespace {

bool IsIpv6(std::string_view host) { return host.find(':') != std::string_view::npos; }

std::string HostPort(const SideAddress& side) {
  std::string host = IsIpv6(side.host) && side.host.front() != '[' ? "[" + side.host + "]" : side.host;
  return side.port ? host + ":" + std::to_string(side.port) : host;
}

void Touch(msg_header_t* h) { msg_fragment_clear(h->sh_common); }

}  // namespace

void StampReceived(SipMessage& msg, std::string_view ip, uint16_t port) {
  sip_t* sip = msg.sip();
  if (!sip || !sip->sip_via) return;
  sip_via_t* via = sip->sip_via;
  su_home_t* home = msg.home();
  // sofia keeps the pointer to a parameter: it must live in the message's home.
  const std::string received = "received=" + std::string(ip);
  const std::string rport = "rport=" + std::to_string(port);
  msg_header_replace_param(home, via->v_common, su_strdup(home, received.c_str()));
  msg_header_replace_param(home, via->v_common, su_strdup(home, rport.c_str()));
  Touch(reinterpret_cast<msg_header_t*>(via));
}

std::optional<std::string> FlowOf(const url_t* url) {
  if (!url || !url->url_params || !url_has_param(url, kFlowParam)) return std::nullopt;
  char value[64] = {0};
  isize_t n = url_param(url->url_params, kFlowParam, value, sizeof value);
  if (n <= 0) return std::string();
  return std::string(value);
}

std::string UserOf(const url_t* url) {
  return url && url->url_user ? std::string(url->url_user) : std::string();
}

std::string GatewayUri(const SideAddress& side, std::string_view flow) {
  std::string uri = "sip:" + HostPort(side) + ";transport=" + side.transport + ";lr;r2=on;";
  uri += kFlowParam;
  if (!flow.empty()) uri += "=" + std::string(flow);
  return uri;
}

std::vector<std::pair<std::string, std::string>> RewriteContacts(SipMessage& msg,
                                                                 const SideAddress& net,
                                                                 std::string_view flow) {
  std::vector<std::pair<std::string, std::string>> originals;
  sip_t* sip = msg.sip();
  if (!sip) return originals;
  su_home_t* home = msg.home();
  for (sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (!m->m_url->url_host) continue;  // "Contact: *" of an un-REGISTER
    char* original = url_as_string(home, m->m_url);
    std::string user = UserOf(m->m_url);
    std::string uri = "sip:";
    if (!user.empty()) uri += user + "@";
    uri += HostPort(net) + ";transport=" + net.transport;
    // URI parameters travel on (rtcweb-breaker=yes must come back in the
    // Request-URI) except the browser's transport and its credentials: the
    // HA1 token never leaves the gateway.
    if (m->m_url->url_params) {
      std::string params = m->m_url->url_params;
      size_t start = 0;
      while (start <= params.size()) {
        size_t end = params.find(';', start);
        if (end == std::string::npos) end = params.size();
        const std::string p = params.substr(start, end - start);
        const std::string name = p.substr(0, p.find('='));
        if (!p.empty() && name != "transport" && name != "ha1" && name != "impi" &&
            name != kFlowParam) {
          uri += ";" + p;
        }
        start = end + 1;
      }
    }
    uri += ";" + std::string(kFlowParam) + "=" + std::string(flow);
    url_t* url = url_make(home, uri.c_str());
    if (!url) continue;
    originals.emplace_back(user, original ? original : "");
    *m->m_url = *url;
    Touch(reinterpret_cast<msg_header_t*>(m));
  }
  return originals;
}

void RestoreContact(SipMessage& msg, sip_contact_t* contact, const std::string& uri) {
  url_t* url = url_make(msg.home(), uri.c_str());
  if (!url) return;
  *contact->m_url = *url;
  Touch(reinterpret_cast<msg_header_t*>(contact));
}

void AddRecordRoutes(SipMessage& msg, const std::string& lower, const std::string& upper) {
  sip_t* sip = msg.sip();
  su_home_t* home = msg.home();
  for (const std::string* uri : {&lower, &upper}) {
    const std::string value = "<" + *uri + ">";
    sip_record_route_t* rr = sip_record_route_make(home, value.c_str());
    if (rr) msg_header_insert(msg.get(), reinterpret_cast<msg_pub_t*>(sip), reinterpret_cast<msg_header_t*>(rr));
  }
}

std::optional<std::string> PopOwnRoutes(SipMessage& msg) {
  sip_t* sip = msg.sip();
  std::optional<std::string> flow;
  while (sip && sip->sip_route) {
    auto token = FlowOf(sip->sip_route->r_url);
    if (!token) break;
    if (!token->empty()) flow = token;
    else if (!flow) flow = std::string();
    sip_route_remove(msg.get(), sip);
  }
  return flow;
}

bool DecrementMaxForwards(SipMessage& msg) {
  sip_t* sip = msg.sip();
  if (!sip->sip_max_forwards) {
    sip_add_make(msg.get(), sip, sip_max_forwards_class, "70");
    return true;
  }
  if (sip->sip_max_forwards->mf_count == 0) return false;
  --sip->sip_max_forwards->mf_count;
  Touch(reinterpret_cast<msg_header_t*>(sip->sip_max_forwards));
  return true;
}

bool PushVia(SipMessage& msg, const std::string& via) {
  sip_via_t* v = sip_via_make(msg.home(), via.c_str());
  if (!v) return false;
  return msg_header_insert(msg.get(), reinterpret_cast<msg_pub_t*>(msg.sip()),
                           reinterpret_cast<msg_header_t*>(v)) == 0;
}

void PopVia(SipMessage& msg) {
  sip_t* sip = msg.sip();
  if (sip && sip->sip_via) {
    msg_header_remove(msg.get(), reinterpret_cast<msg_pub_t*>(sip),
                      reinterpret_cast<msg_header_t*>(sip->sip_via));
  }
}

void SetRequestUri(SipMessage& msg, const std::string& uri) {
  sip_t* sip = msg.sip();
  url_t* url = url_make(msg.home(), uri.c_str());
  if (!sip || !sip->sip_request || !url) return;
  *sip->sip_request->rq_url = *url;
  Touch(reinterpret_cast<msg_header_t*>(sip->sip_request));
}

}  // namespace webrtc2sip::signaling
