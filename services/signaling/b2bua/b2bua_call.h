#pragma once

// One call of the RTCWeb Breaker, shared by the B2BUA's source files: the
// browser's dialog (written by hand: the WebSocket side has no nta), the
// network's dialog (a sofia nta leg), the media session on its node, and
// what each side last said, so that re-INVITEs can be carried across.

#include <glib.h>
#include <sofia-sip/nta.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "common/cwrap/c_ptr.h"
#include "services/signaling/b2bua/b2bua.h"
#include "services/signaling/b2bua/session_timer.h"
#include "services/signaling/sdp/session_description.h"
#include "services/signaling/sip/sip_message.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling {

// The browser's dialog as the B2BUA writes it: who it is on each end and
// where requests go. `local` and `remote` are name-addrs without tags.
struct BrowserDialog {
  std::string call_id;
  std::string local;
  std::string local_tag;
  std::string remote;
  std::string remote_tag;
  std::string target;  // the browser's Contact URI: the Request-URI of requests
  uint32_t cseq = 0;   // of the last request the B2BUA sent the browser
};

// What a leg's peer last said (its offer or answer) and the SDP the gateway
// last sent it; o= version bumped for every new SDP sent (RFC 3264 8).
struct LegState {
  media::v1::RemoteDescription remote;
  sdp::SessionDescription remote_sdp;
  std::string sent_sdp;
  std::string remote_origin;  // o= id and version of the peer's last SDP
  std::string session_id;
  uint64_t version = 0;
  std::string NextVersion() { return std::to_string(++version); }
};

struct B2bua::Call {
  uint64_t id = 0;
  B2bua* b2bua = nullptr;
  ConnectionId conn = 0;
  Clock::time_point start;
  bool incoming = false;  // network -> browser
  bool ending = false;
  bool cancelled = false;

  // The browser's side.
  BrowserDialog browser;
  SipMessage invite;      // outgoing: the browser's INVITE, answered from here
  bool answered = false;  // outgoing: final response sent to the browser
  std::string invite_branch;  // incoming: of the INVITE sent to the browser
  std::string impi, ha1;      // outgoing: the browser's token for challenges
  bool auth_tried = false;

  // The network's side.
  CPtr<su_home_t, su_home_unref> home{static_cast<su_home_t*>(su_home_new(sizeof(su_home_t)))};
  nta_leg_t* leg = nullptr;
  nta_outgoing_t* invite_orq = nullptr;  // outgoing: the B2BUA's INVITE
  nta_incoming_t* irq = nullptr;         // incoming: the network's INVITE
  SipMessage network_invite;             // incoming
  bool confirmed = false;                // the network's dialog is established
  bool reliable_1xx = false;             // incoming: 18x go out with 100rel
  bool network_allows_update = false;    // its Allow lists UPDATE (lighter refreshes)

  // Media.
  MediaSessionRef media;
  media::v1::CreateSessionResponse local;  // the node's side of each leg, kept current
  LegState webrtc;                         // the browser's leg
  LegState legacy;                         // the SIP endpoint's leg
  bool legacy_answered = false;            // outgoing: the network's answer applied
  bool answer_pending_final = false;       // outgoing: 2xx came before that answer was ready
  bool media_flowing = false;              // the node reported ICE + DTLS done

  SessionTimer session_timer;
  nta_outgoing_t* refresh_orq = nullptr;  // the B2BUA's last session refresh

  // A re-INVITE carried across, one at a time (a second one gets 491).
  struct Reoffer {
    bool from_browser = false;
    SipMessage browser_request;                // from the browser: answered when done
    media::v1::RemoteDescription previous;     // the offering leg's remote before it
    sdp::SessionDescription offer_sdp;         // the offer being answered
    nta_outgoing_t* network_orq = nullptr;     // from the browser: the re-INVITE sent on
    nta_incoming_t* network_irq = nullptr;     // from the network: its re-INVITE
    std::string browser_branch;                // from the network: the re-INVITE to the browser
    uint32_t browser_cseq = 0;
  };
  std::optional<Reoffer> reoffer;

  // Requests inside the dialog carried from one side to the other and not
  // yet answered (INFO, MESSAGE, UPDATE, OPTIONS, NOTIFY, REFER...).
  struct ToBrowser {
    std::string branch;
    nta_incoming_t* irq = nullptr;
  };
  std::list<ToBrowser> to_browser;
  struct ToNetwork {
    Call* call = nullptr;
    nta_outgoing_t* orq = nullptr;
    SipMessage browser_request;
  };
  std::list<ToNetwork> to_network;
};

}  // namespace webrtc2sip::signaling
