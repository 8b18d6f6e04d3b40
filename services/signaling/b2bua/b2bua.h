#pragma once

// The RTCWeb Breaker (technical guide 3.2): for a browser that opts in with
// rtcweb-breaker=yes in its Contact, the gateway is a back-to-back user agent.
// It answers the browser's INVITE itself (over the WebSocket) and places a new
// INVITE toward the SIP network (sofia nta dialog), with a media-relay session
// bridging ICE + DTLS-SRTP on the browser's side to RTP/AVP or SDES-SRTP on
// the other. Runs on the signaling loop thread, beside the SIP proxy.

#include <sofia-sip/nta.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "services/signaling/media/media_node_pool.h"
#include "services/signaling/sdp/session_description.h"
#include "services/signaling/sip/message_rewriter.h"
#include "services/signaling/sip/sip_message.h"
#include "services/signaling/sip/sip_stack.h"
#include "services/signaling/ws/ws_server.h"
#include "webrtc2sip/config/v1/config.pb.h"

namespace webrtc2sip::signaling {

class B2bua final : public MediaNodePool::Listener {
 public:
  // What the B2BUA needs of the SIP proxy that owns the WebSocket flows.
  class Host {
   public:
    virtual void SendToBrowser(ConnectionId conn, std::string text) = 0;
    // The connection's peer and where it reached the gateway; nullopt once gone.
    virtual std::optional<WsPeer> Peer(ConnectionId conn) const = 0;
    // True when the connection registered a Contact with rtcweb-breaker=yes: its
    // INVITEs may carry another Contact (a GRUU the registrar gave it).
    virtual bool RegisteredForBreaker(ConnectionId conn) const = 0;

   protected:
    ~Host() = default;
  };

  B2bua(Host& host, SipStack& stack, const config::v1::Signaling& signaling,
        const config::v1::Media& media, std::shared_ptr<MediaNodePool> pool);
  ~B2bua();
  B2bua(const B2bua&) = delete;
  B2bua& operator=(const B2bua&) = delete;

  // True when `msg` (from a browser) is the B2BUA's: a new INVITE of a
  // breaker client, or a request inside one of its calls.
  bool OnBrowserRequest(ConnectionId conn, SipMessage& msg);
  // True when `msg` answers a request the B2BUA sent to a browser.
  bool OnBrowserResponse(ConnectionId conn, SipMessage& msg);
  void OnBrowserGone(ConnectionId conn);

  // A new INVITE from the SIP network for a breaker browser on `conn`
  // (`request` has the browser's own Request-URI back). Takes the server
  // transaction; the B2BUA answers it.
  void OnNetworkInvite(ConnectionId conn, nta_incoming_t* irq, SipMessage request);

  static bool WantsBreaker(const sip_t* sip);
  static constexpr std::string_view kBranchPrefix = "z9hG4bK-w2sb-";

  size_t active_calls() const { return calls_.size(); }

  // MediaNodePool::Listener
  void OnMediaSessionLost(const std::string& session_id, MediaSessionLoss reason,
                          const std::string& detail) override;
  void OnMediaSessionConnected(const std::string& session_id) override;

 private:
  struct Call;
  using Clock = std::chrono::steady_clock;

  // b2bua_outgoing.cc: browser -> SIP network.
  void StartOutgoing(ConnectionId conn, SipMessage invite);
  void OnMediaCreated(uint64_t id, grpc::Status status, media::v1::CreateSessionResponse response,
                      MediaSessionRef ref);
  void SendNetworkInvite(Call& call, const std::string& authorization_header,
                         const std::string& authorization_value);
  static int OnInviteResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip);
  void HandleInviteResponse(Call& call, nta_outgoing_t* orq, const sip_t* sip);
  void ApplyLegacyAnswer(Call& call, const sip_t* sip, int status);

  // b2bua_incoming.cc: SIP network -> browser.
  void OnIncomingMediaCreated(uint64_t id, grpc::Status status,
                              media::v1::CreateSessionResponse response, MediaSessionRef ref);
  void HandleBrowserAnswer(Call& call, SipMessage& msg);
  void ReplyNetworkProvisional(Call& call, int status, const char* phrase);
  static int OnIncomingEvent(nta_incoming_magic_t* magic, nta_incoming_t* irq, const sip_t* sip);
  static int OnNetworkPrack(nta_reliable_magic_t* magic, nta_reliable_t* rel, nta_incoming_t* prack,
                            const sip_t* sip);

  // b2bua_in_dialog.cc: requests inside an established call, both ways.
  static int OnNetworkDialogRequest(nta_leg_magic_t* magic, nta_leg_t* leg, nta_incoming_t* irq,
                                    const sip_t* sip);
  int HandleNetworkDialogRequest(Call& call, nta_incoming_t* irq, const sip_t* sip);
  void HandleBrowserInDialog(Call& call, SipMessage& msg);
  void HandleBrowserInDialogResponse(Call& call, SipMessage& msg);
  void StartBrowserReoffer(Call& call, SipMessage& msg);
  static int OnReofferResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip);
  void FinishBrowserReoffer(Call& call, nta_outgoing_t* orq, const sip_t* sip);
  int StartNetworkReoffer(Call& call, nta_incoming_t* irq, const sip_t* sip);
  void FinishNetworkReoffer(Call& call, SipMessage& answer);
  void ForwardToBrowser(Call& call, nta_incoming_t* irq, const sip_t* sip);
  void ForwardToNetwork(Call& call, SipMessage& msg);
  static int OnForwardedResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip);
  bool RelayDtmfInfo(Call& call, SipMessage& msg);
  // RFC 4028 on the network leg.
  void ArmSessionTimer(Call& call);
  static gboolean OnSessionTimer(gpointer call);
  void SendSessionRefresh(Call& call);
  void SendNetworkAck(Call& call, nta_outgoing_t* invite);
  static int OnRefreshResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip);

  // b2bua.cc: the browser's dialog by hand, endings.
  std::string BrowserRequest(Call& call, const char* method, uint32_t cseq, const std::string& branch,
                             std::string_view extra_headers, std::string_view content_type,
                             std::string_view body);
  std::string BrowserResponse(Call& call, const SipMessage& request, int status,
                              std::string_view reason, std::string_view extra_headers = {},
                              std::string_view sdp = {});
  void ReplyBrowser(Call& call, int status, std::string_view reason, const std::string& sdp = {});
  void SendByeToBrowser(Call& call);
  void SendByeToNetwork(Call& call);
  std::string NetworkContact(const Call& call) const;
  std::string BrowserContact(const Call& call) const;
  // Ends the call: media released, both dialogs forgotten (later loop turn).
  void End(Call& call, const std::string& outcome);
  static gboolean OnReap(gpointer self);
  static void ReleaseTransactions(Call& call);
  Call* Find(uint64_t id);

  Host& host_;
  SipStack& stack_;
  config::v1::Signaling signaling_;
  config::v1::Media media_;
  std::shared_ptr<MediaNodePool> pool_;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;
  std::unordered_map<std::string, uint64_t> by_browser_call_id_;
  std::unordered_map<std::string, uint64_t> by_session_;
  std::vector<uint64_t> reap_;
  guint reap_source_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace webrtc2sip::signaling
