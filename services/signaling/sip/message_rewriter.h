#pragma once

// The edits the SIP proxy makes to messages crossing between browsers (SIP
// over WebSocket, RFC 7118) and the SIP network. Pure functions over a parsed
// message: no sockets, no state beyond what is passed in.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "services/signaling/sip/sip_message.h"

namespace webrtc2sip::signaling {

// The URI parameter that marks the gateway's own URIs; its value, when
// present, is a flow token.
inline constexpr const char* kFlowParam = "w2s";

// Where the gateway is reached: host, port and transport of one side.
struct SideAddress {
  std::string host;
  uint16_t port = 0;
  std::string transport;  // "udp", "tcp", "tls", "ws", "wss"
};

// RFC 3581/RFC 7118: the browser's Via says "*.invalid"; the top Via gets
// received= and rport= of where the message really came from.
void StampReceived(SipMessage& msg, std::string_view ip, uint16_t port);

// The flow token in a URI's w2s parameter; nullopt when the URI has no such
// parameter, "" when it has one without value.
std::optional<std::string> FlowOf(const url_t* url);

// Contacts of a message from a browser become reachable from the SIP
// network: host and port of the gateway's `net` side, the same user, and the
// flow token. Returns (user, original URI) for each rewritten contact.
std::vector<std::pair<std::string, std::string>> RewriteContacts(SipMessage& msg,
                                                                 const SideAddress& net,
                                                                 std::string_view flow);

// Contacts carrying `flow` get their original URIs back (a REGISTER response
// going to the browser). `original` maps a contact's user to its URI.
template <typename Lookup>
void RestoreContacts(SipMessage& msg, std::string_view flow, Lookup original);

// Record-Route twice when the transport changes (RFC 5658): `lower` faces
// the side the request came from, `upper` the side it goes to.
void AddRecordRoutes(SipMessage& msg, const std::string& lower, const std::string& upper);

// A Record-Route / Route URI of the gateway for one side.
std::string GatewayUri(const SideAddress& side, std::string_view flow);

// Removes the leading Route entries that are the gateway's own. Returns the
// flow token found in them, or nullopt when there was none.
std::optional<std::string> PopOwnRoutes(SipMessage& msg);

// Max-Forwards: decremented, or added as 70. False when it already was 0.
bool DecrementMaxForwards(SipMessage& msg);

// Puts a new Via on top; returns false when it does not parse.
bool PushVia(SipMessage& msg, const std::string& via);
void PopVia(SipMessage& msg);

// Replaces the Request-URI.
void SetRequestUri(SipMessage& msg, const std::string& uri);

// The user part of a URI, or "".
std::string UserOf(const url_t* url);

// --- implementation of the template

void RestoreContact(SipMessage& msg, sip_contact_t* contact, const std::string& uri);

template <typename Lookup>
void RestoreContacts(SipMessage& msg, std::string_view flow, Lookup original) {
  sip_t* sip = msg.sip();
  if (!sip) return;
  for (sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    auto token = FlowOf(m->m_url);
    if (!token || *token != flow) continue;
    if (std::optional<std::string> uri = original(UserOf(m->m_url))) {
      RestoreContact(msg, m, *uri);
    }
  }
}

}  // namespace webrtc2sip::signaling
