#pragma once

// Which WebSocket connection a request from the SIP network belongs to.
// Each connection gets an unguessable flow token (RFC 5626 style) carried in
// the Contact and Record-Route URIs the gateway writes; the token also keeps
// the browser's own Contact URIs so the Request-URI can be given back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace webrtc2sip::signaling {

using ConnectionId = uint64_t;

class FlowTable {
 public:
  // A new flow for a connection that just opened; returns its token.
  std::string Open(ConnectionId conn);
  // The connection closed: its token now fails (430) instead of routing.
  void Close(ConnectionId conn);

  std::optional<ConnectionId> Find(std::string_view token) const;
  std::string TokenOf(ConnectionId conn) const;

  // The browser's Contact URI for `user`, as it wrote it on this flow.
  void RememberContact(std::string_view token, std::string_view user, std::string uri);
  std::optional<std::string> ContactOf(std::string_view token, std::string_view user) const;

  size_t size() const { return by_token_.size(); }

 private:
  struct Flow {
    ConnectionId conn = 0;
    std::unordered_map<std::string, std::string> contacts;  // user -> URI
  };
  std::unordered_map<std::string, Flow> by_token_;
  std::unordered_map<ConnectionId, std::string> token_of_;
};

}  // namespace webrtc2sip::signaling
