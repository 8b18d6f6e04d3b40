#pragma once

// sofia-sip's transaction layer (nta) on the service's GLib main loop, with
// the udp/tcp/tls transports toward the SIP network from the config.

#include <glib.h>
#include <sofia-sip/nta.h>

#include <memory>
#include <string>
#include <vector>

#include "services/signaling/sip/message_rewriter.h"
#include "webrtc2sip/config/v1/config.pb.h"


namespace webrtc2sip::signaling {

class SipStack {
 public:
  // Binds every udp/tcp/tls transport of `config`; throws std::runtime_error
  // naming the transport that cannot listen.
  // `stray` receives what matches no transaction (2xx forks over TCP, late
  // retransmissions); it owns the msg it is given.
  SipStack(GMainContext* context, const config::v1::Signaling& config, nta_message_f* stray,
           nta_agent_magic_t* magic);
  ~SipStack();
  SipStack(const SipStack&) = delete;
  SipStack& operator=(const SipStack&) = delete;

  nta_agent_t* agent() const { return agent_; }
  su_root_t* root() const { return root_; }
  // Where the SIP network reaches the gateway: Via, Contact, Record-Route.
  const SideAddress& net_side() const { return net_side_; }
  // Bound port of a transport ("udp", "tcp", "tls"), 0 when none.
  uint16_t port(const std::string& transport) const;

 private:
  su_root_t* root_ = nullptr;
  GSource* source_ = nullptr;
  nta_agent_t* agent_ = nullptr;
  std::string tls_dir_;  // agent.pem + cafile.pem made from ssl_certificates
  SideAddress net_side_;
};

}  // namespace webrtc2sip::signaling
