#pragma once

// The SIP Proxy module (technical guide 3.1): SIP over WebSocket from
// browsers <-> SIP over UDP/TCP/TLS toward the SIP network, transaction
// stateful on the network side (sofia nta), with flow tokens that make
// registered browsers reachable. Everything runs on the signaling thread's
// GLib loop: no locks.

#include <sofia-sip/nta.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "services/signaling/b2bua/b2bua.h"
#include "services/signaling/media/media_node_pool.h"
#include "services/signaling/sip/deadline_queue.h"
#include "services/signaling/sip/flow_table.h"
#include "services/signaling/sip/message_rewriter.h"
#include "services/signaling/sip/proxied_dialogs.h"
#include "services/signaling/sip/sip_message.h"
#include "services/signaling/sip/sip_resolver.h"
#include "services/signaling/sip/sip_stack.h"
#include "services/signaling/ws/ws_server.h"
#include "webrtc2sip/config/v1/config.pb.h"


namespace webrtc2sip::signaling {

class SipProxy final : public WsServer::Listener,
                       public B2bua::Host,
                       public MediaNodePool::Listener {
 public:
  SipProxy(GMainLoop* loop, const config::v1::Signaling& config, const config::v1::Media& media);
  ~SipProxy() override;
  SipProxy(const SipProxy&) = delete;
  SipProxy& operator=(const SipProxy&) = delete;

  const SipStack& stack() const { return *stack_; }
  const WsServer& ws() const { return *ws_; }

  // Drain (SIGTERM): new INVITEs, from browsers and from the network, get 503
  // with Retry-After; everything else (REGISTER, in-dialog requests) goes on.
  void StartDrain() { draining_ = true; }
  // B2BUA calls, proxied INVITE dialogs and INVITE transactions not yet
  // answered: what a drain waits for.
  size_t calls_in_progress() const;

  // WsServer::Listener
  void OnWsOpen(const WsPeer& peer) override;
  void OnWsMessage(ConnectionId id, std::string_view message, bool binary) override;
  void OnWsClose(ConnectionId id, WsCloseReason reason) override;

  // B2bua::Host
  void SendToBrowser(ConnectionId conn, std::string text) override;
  std::optional<WsPeer> Peer(ConnectionId conn) const override;
  bool RegisteredForBreaker(ConnectionId conn) const override;
  // MediaNodePool::Listener: media sessions belong to B2BUA calls.
  void OnMediaSessionLost(const std::string& session_id, MediaSessionLoss reason,
                          const std::string& detail) override;
  void OnMediaSessionConnected(const std::string& session_id) override;

 private:
  struct Connection;
  struct Outgoing;  // browser -> network, a client transaction of nta
  struct Incoming;  // network -> browser, a server transaction of nta
  using Clock = std::chrono::steady_clock;

  // From the browser side.
  void HandleWsRequest(Connection& conn, SipMessage msg, Clock::time_point start);
  void HandleWsResponse(Connection& conn, SipMessage msg);
  void HandleWsCancel(Connection& conn, SipMessage msg);
  void HandleWsAck(Connection& conn, SipMessage msg, Clock::time_point start);
  void ReplyWs(const Connection& conn, const SipMessage& request, int status,
               std::string_view reason, std::string_view extra = {});
  bool AllowMessage(Connection& conn);

  // From the network side (nta callbacks).
  static int OnNetRequest(nta_leg_magic_t* magic, nta_leg_t* leg, nta_incoming_t* irq,
                          const sip_t* sip);
  static int OnNetResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip);
  static int OnStrayMessage(nta_agent_magic_t* magic, nta_agent_t* agent, msg_t* msg, sip_t* sip);
  void HandleStrayResponse(SipMessage msg);
  static int OnIncomingEvent(nta_incoming_magic_t* magic, nta_incoming_t* irq, const sip_t* sip);
  int HandleNetRequest(nta_incoming_t* irq, const sip_t* sip);
  void HandleNetResponse(Outgoing& out, const sip_t* sip);
  // Sends the request of `out` to its next resolved target; false when none is left.
  bool SendToNextTarget(Outgoing& out);
  void OnTargetsResolved(uint64_t id, std::vector<SipTarget> targets);
  void FailOutgoing(Outgoing& out, int status, const char* reason);
  void HandleIncomingEvent(Incoming& in, const sip_t* sip);

  // Transaction bookkeeping; removal happens on a later loop turn, never
  // inside the callback of the object removed.
  void FinishOutgoing(uint64_t id, guint linger_ms);
  // A final response to an INVITE or a BYE passed: dialogs_ follows.
  void TrackDialog(sip_method_t method, int status, const std::string& call_id, ConnectionId conn);
  void FinishIncoming(uint64_t id);
  void ReapLater();
  static gboolean OnReap(gpointer self);
  void OnIncomingTimeout(uint64_t id);
  void OnOutgoingLinger(uint64_t id);

  std::string NewBranch();
  SideAddress WsSide(const Connection& conn) const;
  // Restores the browser's Contact in the Request-URI; the flow comes from a
  // Route or the Request-URI.
  void ToBrowserRequestUri(SipMessage& msg, const std::string& flow);

  config::v1::Signaling config_;
  std::unique_ptr<SipStack> stack_;
  std::unique_ptr<SipResolver> resolver_;  // destroyed before stack_
  std::unique_ptr<WsServer> ws_;
  std::shared_ptr<MediaNodePool> media_pool_;
  std::unique_ptr<B2bua> b2bua_;  // destroyed before the pool and the stack
  nta_leg_t* default_leg_ = nullptr;
  FlowTable flows_;
  std::unordered_map<ConnectionId, std::unique_ptr<Connection>> connections_;
  std::unordered_map<uint64_t, std::unique_ptr<Outgoing>> outgoing_;
  std::unordered_map<std::string, uint64_t> outgoing_by_branch_;  // browser's branch
  std::unordered_map<uint64_t, std::unique_ptr<Incoming>> incoming_;
  std::unordered_map<std::string, uint64_t> incoming_by_branch_;  // our WS branch
  // Timer C/F toward the browser and the linger of finished INVITEs: one
  // GLib source each, however many transactions.
  std::unique_ptr<DeadlineQueue> incoming_timeouts_;
  std::unique_ptr<DeadlineQueue> outgoing_linger_;
  std::vector<uint64_t> reap_outgoing_, reap_incoming_;
  guint reap_source_ = 0;
  uint64_t next_id_ = 1;
  std::string branch_salt_;
  ProxiedDialogs dialogs_;
  bool draining_ = false;
};

}  // namespace webrtc2sip::signaling
