#pragma once

// The INVITE dialogs the proxy carries (not the B2BUA's calls): set up by a
// 2xx to an INVITE, ended by the final response to a BYE, or by the end of
// the browser's WebSocket connection. The proxy is transaction stateful only;
// this is what a drain waits for before the process may go.

#include <cstddef>
#include <string>
#include <unordered_map>

#include "services/signaling/sip/flow_table.h"

namespace webrtc2sip::signaling {

// Also webrtc2sip_sip_dialogs_active, one gauge per process.
class ProxiedDialogs {
 public:
  ProxiedDialogs();
  ~ProxiedDialogs();
  ProxiedDialogs(const ProxiedDialogs&) = delete;
  ProxiedDialogs& operator=(const ProxiedDialogs&) = delete;

  // A 2xx to an INVITE (first or re-INVITE) passed for `call_id` on `conn`.
  void Established(const std::string& call_id, ConnectionId conn);
  // A BYE of `call_id` got its final response (any: the dialog is over).
  void Ended(const std::string& call_id);
  // The browser's connection closed: none of its dialogs can go on.
  void ConnectionClosed(ConnectionId conn);

  size_t size() const { return by_call_id_.size(); }

 private:
  void UpdateGauge() const;

  std::unordered_map<std::string, ConnectionId> by_call_id_;
};

}  // namespace webrtc2sip::signaling
