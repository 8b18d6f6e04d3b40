#include "services/signaling/b2bua/b2bua.h"

#include <openssl/rand.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "common/cwrap/c_ptr.h"
#include "common/log/logger.h"
#include "common/metrics/registry.h"
#include "services/signaling/b2bua/digest.h"
#include "services/signaling/sdp/local_sdp_writer.h"
#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/sdp_parser.h"
#include "services/signaling/sip/local_response.h"

namespace webrtc2sip::signaling {
namespace {

namespace mv1 = media::v1;

struct B2buaMetrics {
  metrics::CounterFamily& calls = metrics::Registry::Global().AddCounter(
      "webrtc2sip_b2bua_calls_total", "B2BUA calls by direction and outcome.",
      {"direction", "outcome"});
  metrics::GaugeFamily& active = metrics::Registry::Global().AddGauge(
      "webrtc2sip_b2bua_active_calls", "B2BUA calls in progress.", {});
  metrics::HistogramFamily& setup = metrics::Registry::Global().AddHistogram(
      "webrtc2sip_b2bua_setup_seconds", "From the browser's INVITE to the 200 sent back.",
      {"direction"}, {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  metrics::HistogramFamily& media_setup = metrics::Registry::Global().AddHistogram(
      "webrtc2sip_b2bua_media_setup_seconds",
      "From the INVITE to the allocation of the media session on a node.", {"direction"},
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  metrics::CounterFamily& challenges = metrics::Registry::Global().AddCounter(
      "webrtc2sip_b2bua_challenges_answered_total",
      "401/407 challenges the B2BUA answered with a browser's HA1 token.", {});

  static B2buaMetrics& Get() {
    static B2buaMetrics m;
    return m;
  }
};

std::string RandomToken(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  std::string out;
  for (unsigned char b : raw) {
    out += "0123456789abcdef"[b >> 4];
    out += "0123456789abcdef"[b & 15];
  }
  return out;
}

std::string HeaderValue(su_home_t* home, const void* header) {
  if (!header) return {};
  char* s = sip_header_as_string(home, static_cast<const sip_header_t*>(header));
  return s ? s : "";
}

std::string UrlParam(const url_t* url, const char* name) {
  if (!url || !url->url_params) return {};
  char value[512] = {0};
  if (url_param(url->url_params, name, value, sizeof value) <= 0) return {};
  return value;
}

std::string Body(const sip_t* sip) {
  return sip && sip->sip_payload ? std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len)
                                 : std::string();
}

}  // namespace

struct B2bua::Call {
  uint64_t id = 0;
  B2bua* b2bua = nullptr;
  ConnectionId conn = 0;
  Clock::time_point start;
  // The browser's dialog (the B2BUA is its UAS).
  SipMessage invite;      // the browser's INVITE, to answer and end from
  std::string browser_call_id;
  std::string browser_tag = RandomToken(6);
  uint32_t browser_cseq = 1;  // of requests the B2BUA sends the browser
  bool answered = false;      // final response sent to the browser
  // The network's dialog (the B2BUA is its UAC).
  CPtr<su_home_t, su_home_unref> home{static_cast<su_home_t*>(su_home_new(sizeof(su_home_t)))};
  nta_leg_t* leg = nullptr;
  nta_outgoing_t* invite_orq = nullptr;
  bool confirmed = false;
  bool auth_tried = false;
  std::string impi, ha1;
  // Media.
  MediaSessionRef media;
  mv1::CreateSessionResponse local;
  mv1::RemoteDescription browser_offer;
  sdp::SessionDescription browser_offer_sdp;
  bool legacy_answered = false;
  std::string webrtc_answer;
  std::string legacy_session_id = RandomToken(4);
  std::string webrtc_session_id = RandomToken(4);
  bool ending = false;
  bool cancelled = false;
  // Incoming calls (network -> browser).
  bool incoming = false;
  nta_incoming_t* irq = nullptr;          // the network's INVITE
  SipMessage network_invite;
  sdp::SessionDescription network_offer_sdp;
  mv1::RemoteDescription network_offer;
  std::string browser_uri;                // the browser's Contact: where requests go
  std::string browser_remote_tag;         // the browser's To tag
  std::string invite_branch;              // of the INVITE sent to the browser
  std::string caller;                     // From of the network's INVITE, without tag
  std::string callee;                     // To of the network's INVITE
};

B2bua::B2bua(Host& host, SipStack& stack, const config::v1::Signaling& signaling,
             const config::v1::Media& media, std::shared_ptr<MediaNodePool> pool)
    : host_(host), stack_(stack), signaling_(signaling), media_(media), pool_(std::move(pool)) {
  B2buaMetrics::Get().active.WithLabels({}).Set(0);
}

B2bua::~B2bua() {
  if (reap_source_) g_source_remove(reap_source_);
  for (auto& [id, call] : calls_) {
    if (call->invite_orq) nta_outgoing_destroy(call->invite_orq);
    if (call->irq) nta_incoming_destroy(call->irq);
    if (call->leg) nta_leg_destroy(call->leg);
  }
}

bool B2bua::WantsBreaker(const sip_t* sip) {
  if (!sip) return false;
  for (const sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (UrlParam(m->m_url, "rtcweb-breaker") == "yes") return true;
  }
  return false;
}

bool B2bua::OnBrowserRequest(ConnectionId conn, SipMessage& msg) {
  sip_t* sip = msg.sip();
  auto known = by_browser_call_id_.find(msg.call_id());
  if (known != by_browser_call_id_.end()) {
    auto it = calls_.find(known->second);
    if (it != calls_.end() && it->second->conn == conn) {
      HandleBrowserInDialog(*it->second, msg);
      return true;
    }
  }
  if (msg.method() != sip_method_invite || sip->sip_to->a_tag) return false;
  if (!WantsBreaker(sip) && !host_.RegisteredForBreaker(conn)) return false;
  StartOutgoing(conn, std::move(msg));
  return true;
}

void B2bua::StartOutgoing(ConnectionId conn, SipMessage invite) {
  auto call = std::make_unique<Call>();
  call->id = next_id_++;
  call->b2bua = this;
  call->conn = conn;
  call->start = Clock::now();
  call->browser_call_id = invite.call_id();
  sip_t* sip = invite.sip();
  // The HA1 token answers the network's challenges; it is taken only from a
  // secure connection unless the operator allows ws.
  auto peer = host_.Peer(conn);
  for (const sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (!UrlParam(m->m_url, "ha1").empty()) {
      if (peer && (peer->secure || signaling_.allow_ha1_over_ws())) {
        call->impi = UrlDecode(UrlParam(m->m_url, "impi"));
        call->ha1 = UrlDecode(UrlParam(m->m_url, "ha1"));
      } else {
        log::Warn("ha1 token ignored: not a wss connection", {{"call_id", call->browser_call_id}});
      }
    }
  }
  call->invite = std::move(invite);
  Call& c = *call;
  by_browser_call_id_[c.browser_call_id] = c.id;
  calls_.emplace(c.id, std::move(call));
  B2buaMetrics::Get().active.WithLabels({}).Set(static_cast<double>(calls_.size()));

  ReplyBrowser(c, 100, "Trying");
  auto parsed = sdp::ParseSdp(Body(c.invite.sip()));
  absl::StatusOr<mv1::RemoteDescription> remote =
      parsed.ok() ? sdp::WebRtcSdpToRemote(*parsed) : absl::StatusOr<mv1::RemoteDescription>(parsed.status());
  if (!remote.ok()) {
    log::Warn("browser offer refused", {{"call_id", c.browser_call_id},
                                        {"error", std::string(remote.status().message())}});
    ReplyBrowser(c, 488, "Not Acceptable Here");
    return End(c, "bad_offer");
  }
  c.browser_offer_sdp = *parsed;
  c.browser_offer = *remote;
  auto legacy_streams = sdp::OfferStreamsForLegacy(remote->streams(), media_);
  if (!legacy_streams.ok()) {
    ReplyBrowser(c, 488, "Not Acceptable Here");
    return End(c, "no_common_codec");
  }
  mv1::CreateSessionRequest request;
  request.set_call_id(c.browser_call_id);
  request.mutable_webrtc_leg()->set_type(mv1::LEG_TYPE_WEBRTC);
  *request.mutable_webrtc_leg()->mutable_remote() = *remote;
  request.mutable_legacy_leg()->set_type(mv1::LEG_TYPE_LEGACY);
  request.mutable_legacy_leg()->set_srtp_mode(static_cast<mv1::SrtpMode>(
      media_.srtp_mode() == config::v1::SRTP_MODE_NONE       ? mv1::SRTP_MODE_NONE
      : media_.srtp_mode() == config::v1::SRTP_MODE_MANDATORY ? mv1::SRTP_MODE_MANDATORY
                                                              : mv1::SRTP_MODE_OPTIONAL));
  *request.mutable_legacy_leg()->mutable_offer_streams() = *legacy_streams;
  const uint64_t id = c.id;
  pool_->CreateSession(std::move(request),
                       [this, id](grpc::Status status, mv1::CreateSessionResponse response,
                                  MediaSessionRef ref) {
                         OnMediaCreated(id, std::move(status), std::move(response), std::move(ref));
                       });
}

void B2bua::OnMediaCreated(uint64_t id, grpc::Status status, mv1::CreateSessionResponse response,
                           MediaSessionRef ref) {
  auto it = calls_.find(id);
  if (it == calls_.end()) {
    if (ref) pool_->DeleteSession(std::move(ref), "call_gone");
    return;
  }
  Call& call = *it->second;
  if (call.ending) {
    if (ref) pool_->DeleteSession(std::move(ref), "call_gone");
    return;
  }
  if (!status.ok()) {
    log::Warn("no media session", {{"call_id", call.browser_call_id}, {"error", status.error_message()}});
    ReplyBrowser(call, status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ? 488 : 503,
                 status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ? "Not Acceptable Here"
                                                                             : "Service Unavailable");
    return End(call, "no_media_node");
  }
  B2buaMetrics::Get().media_setup.WithLabels({"outgoing"}).Observe(
      std::chrono::duration<double>(Clock::now() - call.start).count());
  call.media = std::move(ref);
  call.local = std::move(response);
  by_session_[call.media.session_id()] = call.id;
  if (call.cancelled) {
    ReplyBrowser(call, 487, "Request Terminated");
    return End(call, "cancelled");
  }
  SendNetworkInvite(call, "", "");
}

void B2bua::SendNetworkInvite(Call& call, const std::string& auth_name, const std::string& auth_value) {
  sip_t* bsip = call.invite.sip();
  su_home_t* home = call.home.get();
  sdp::LocalSdpOptions options;
  options.origin.session_id = call.legacy_session_id;
  options.origin.session_version = "1";
  if (call.local.legacy_leg().legacy().endpoints_size() > 0) {
    options.origin.address = call.local.legacy_leg().legacy().endpoints(0).address();
  }
  options.far_streams = &call.browser_offer.streams();
  auto sdp = sdp::WriteLegacySdp(call.local.legacy_leg(), options);
  if (!sdp.ok()) {
    ReplyBrowser(call, 500, "Server Internal Error");
    return End(call, "sdp_error");
  }
  const SideAddress& net = stack_.net_side();
  const std::string contact = "<sip:b2bua-" + std::to_string(call.id) + "@" +
                              (net.host.find(':') != std::string::npos ? "[" + net.host + "]" : net.host) +
                              ":" + std::to_string(net.port) + ";transport=" + net.transport + ">";
  if (!call.leg) {
    // A new dialog on the network side: its own Call-ID and tags.
    sip_from_t* from = sip_from_create(home, reinterpret_cast<url_string_t*>(bsip->sip_from->a_url));
    if (bsip->sip_from->a_display) from->a_display = su_strdup(home, bsip->sip_from->a_display);
    sip_to_t* to = sip_to_create(home, reinterpret_cast<url_string_t*>(bsip->sip_to->a_url));
    const std::string call_id = RandomToken(12) + "@webrtc2sip";
    call.leg = nta_leg_tcreate(stack_.agent(), &B2bua::OnNetworkDialogRequest,
                               reinterpret_cast<nta_leg_magic_t*>(&call), SIPTAG_FROM(from),
                               SIPTAG_TO(to), SIPTAG_CALL_ID_STR(call_id.c_str()), TAG_END());
    if (!call.leg) {
      ReplyBrowser(call, 500, "Server Internal Error");
      return End(call, "sip_error");
    }
    nta_leg_tag(call.leg, nullptr);
  }
  const std::string route = signaling_.outbound_proxy();
  if (call.invite_orq) nta_outgoing_destroy(call.invite_orq);
  call.invite_orq = nta_outgoing_tcreate(
      call.leg, &B2bua::OnInviteResponse, reinterpret_cast<nta_outgoing_magic_t*>(&call),
      route.empty() ? nullptr : URL_STRING_MAKE(route.c_str()), SIP_METHOD_INVITE,
      reinterpret_cast<url_string_t*>(bsip->sip_request->rq_url), SIPTAG_CONTACT_STR(contact.c_str()),
      SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp->c_str()),
      SIPTAG_ALLOW_STR("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, UPDATE"),
      TAG_IF(!auth_name.empty() && auth_name == "Authorization",
             SIPTAG_AUTHORIZATION_STR(auth_value.c_str())),
      TAG_IF(!auth_name.empty() && auth_name == "Proxy-Authorization",
             SIPTAG_PROXY_AUTHORIZATION_STR(auth_value.c_str())),
      TAG_END());
  if (!call.invite_orq) {
    ReplyBrowser(call, 503, "Service Unavailable");
    return End(call, "unroutable");
  }
  log::Info("b2bua call placed", {{"call_id", call.browser_call_id}, {"session", call.media.session_id()}});
}

int B2bua::OnInviteResponse(nta_outgoing_magic_t* magic, nta_outgoing_t*, const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  call->b2bua->HandleInviteResponse(*call, sip);
  return 0;
}

void B2bua::HandleInviteResponse(Call& call, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
  if (call.ending || status < 101) return;
  if (status < 200) {
    if (sip->sip_payload && sip->sip_payload->pl_len && !call.legacy_answered) {
      ApplyLegacyAnswer(call, sip, status);  // early media: 183 with the answer
    } else if (!call.answered) {
      ReplyBrowser(call, status, sip->sip_status->st_phrase ? sip->sip_status->st_phrase : "Ringing",
                   call.webrtc_answer);
    }
    return;
  }
  if (status < 300) {
    if (call.confirmed) return;  // a 2xx retransmission: the ACK went already
    call.confirmed = true;
    if (sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(call.leg, sip->sip_to->a_tag);
    nta_leg_client_route(call.leg, sip->sip_record_route, sip->sip_contact);
    nta_outgoing_t* ack = nta_outgoing_tcreate(call.leg, nullptr, nullptr, nullptr, SIP_METHOD_ACK,
                                               nullptr, TAG_END());
    if (ack) nta_outgoing_destroy(ack);
    if (!call.legacy_answered && sip->sip_payload && sip->sip_payload->pl_len) {
      ApplyLegacyAnswer(call, sip, 200);
    } else {
      ReplyBrowser(call, 200, "OK", call.webrtc_answer);
    }
    return;
  }
  // A challenge: answered once with the browser's HA1, never forwarding it.
  if ((status == 401 || status == 407) && !call.auth_tried && !call.ha1.empty()) {
    call.auth_tried = true;
    const sip_www_authenticate_t* www = status == 401 ? sip->sip_www_authenticate : nullptr;
    const sip_proxy_authenticate_t* proxy = status == 407 ? sip->sip_proxy_authenticate : nullptr;
    std::string header = HeaderValue(call.home.get(), www ? static_cast<const void*>(www)
                                                          : static_cast<const void*>(proxy));
    if (auto challenge = ParseDigestChallenge(header)) {
      char* uri = url_as_string(call.home.get(), call.invite.sip()->sip_request->rq_url);
      const std::string auth = DigestAuthorization(*challenge, call.impi, call.ha1, "INVITE", uri);
      B2buaMetrics::Get().challenges.WithLabels({}).Inc();
      log::Info("challenge answered with the browser's token",
                {{"call_id", call.browser_call_id}, {"realm", challenge->realm}});
      return SendNetworkInvite(call, status == 401 ? "Authorization" : "Proxy-Authorization", auth);
    }
  }
  if (!call.answered) {
    ReplyBrowser(call, status, sip && sip->sip_status && sip->sip_status->st_phrase
                                   ? sip->sip_status->st_phrase
                                   : "Request Timeout");
  }
  End(call, status == 487 ? "cancelled" : "rejected_" + std::to_string(status / 100) + "xx");
}

void B2bua::ApplyLegacyAnswer(Call& call, const sip_t* sip, int status) {
  auto parsed = sdp::ParseSdp(Body(sip));
  auto remote = parsed.ok() ? sdp::LegacySdpToRemote(*parsed)
                            : absl::StatusOr<mv1::RemoteDescription>(parsed.status());
  if (!remote.ok()) {
    log::Warn("legacy answer refused", {{"call_id", call.browser_call_id},
                                        {"error", std::string(remote.status().message())}});
    ReplyBrowser(call, 488, "Not Acceptable Here");
    SendByeToNetwork(call);
    return End(call, "bad_answer");
  }
  call.legacy_answered = true;
  mv1::UpdateLegRequest request;
  request.set_session_id(call.media.session_id());
  request.set_side(mv1::LEG_SIDE_LEGACY);
  request.set_is_offer(false);
  *request.mutable_remote() = *remote;
  const uint64_t id = call.id;
  auto far = std::make_shared<mv1::RemoteDescription>(*remote);
  pool_->UpdateLeg(call.media, std::move(request),
                   [this, id, far, status](grpc::Status st, mv1::UpdateLegResponse) {
                     auto it = calls_.find(id);
                     if (it == calls_.end() || it->second->ending) return;
                     Call& c = *it->second;
                     if (!st.ok()) {
                       ReplyBrowser(c, 488, "Not Acceptable Here");
                       SendByeToNetwork(c);
                       return End(c, "media_update_failed");
                     }
                     sdp::LocalSdpOptions options;
                     options.origin.session_id = c.webrtc_session_id;
                     options.origin.session_version = "1";
                     options.answer_to = &c.browser_offer_sdp;
                     options.far_streams = &far->streams();
                     auto answer = sdp::WriteWebRtcSdp(c.local.webrtc_leg(), options);
                     if (!answer.ok()) {
                       ReplyBrowser(c, 500, "Server Internal Error");
                       SendByeToNetwork(c);
                       return End(c, "sdp_error");
                     }
                     c.webrtc_answer = *answer;
                     ReplyBrowser(c, status, status == 200 ? "OK" : "Session Progress",
                                  c.webrtc_answer);
                   });
}

int B2bua::OnNetworkDialogRequest(nta_leg_magic_t* magic, nta_leg_t*, nta_incoming_t* irq,
                                  const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  return call->b2bua->HandleNetworkDialogRequest(*call, irq, sip);
}

int B2bua::HandleNetworkDialogRequest(Call& call, nta_incoming_t*, const sip_t* sip) {
  const sip_method_t method = sip->sip_request->rq_method;
  if (method == sip_method_bye) {
    SendByeToBrowser(call);
    End(call, "network_bye");
    return 200;
  }
  if (method == sip_method_ack) return 200;
  // In-dialog INFO, MESSAGE, UPDATE, OPTIONS and session-timer refreshes are
  // accepted here; the media stays as negotiated.
  return 200;
}

void B2bua::HandleBrowserInDialog(Call& call, SipMessage& msg) {
  const sip_method_t method = msg.method();
  sip_t* sip = msg.sip();
  if (method == sip_method_ack) return;  // the B2BUA's 2xx or non-2xx: hop by hop here
  if (method == sip_method_cancel) {
    std::string text = MakeResponse(msg, 200, "OK");
    host_.SendToBrowser(call.conn, std::move(text));
    if (call.answered) return;
    call.cancelled = true;
    if (call.invite_orq && !call.confirmed) nta_outgoing_tcancel(call.invite_orq, nullptr, nullptr, TAG_END());
    ReplyBrowser(call, 487, "Request Terminated");
    if (!call.invite_orq) End(call, "cancelled");
    return;
  }
  if (method == sip_method_bye) {
    host_.SendToBrowser(call.conn, MakeResponse(msg, 200, "OK"));
    SendByeToNetwork(call);
    return End(call, "browser_bye");
  }
  if (method == sip_method_invite && sip->sip_to && sip->sip_to->a_tag) {
    // A re-INVITE: the same media stands; answered with the current answer.
    std::string text = MakeResponse(msg, 200, "OK");
    if (!call.webrtc_answer.empty()) {
      text.resize(text.size() - std::string("Content-Length: 0\r\n\r\n").size());
      text += "Content-Type: application/sdp\r\nContent-Length: " +
              std::to_string(call.webrtc_answer.size()) + "\r\n\r\n" + call.webrtc_answer;
    }
    host_.SendToBrowser(call.conn, std::move(text));
    return;
  }
  if ((method == sip_method_info || method == sip_method_message) && call.confirmed) {
    nta_outgoing_t* orq = nta_outgoing_tcreate(
        call.leg, nullptr, nullptr, nullptr, method, sip->sip_request->rq_method_name, nullptr,
        TAG_IF(sip->sip_content_type, SIPTAG_CONTENT_TYPE(sip->sip_content_type)),
        TAG_IF(sip->sip_payload, SIPTAG_PAYLOAD(sip->sip_payload)), TAG_END());
    if (orq) nta_outgoing_destroy(orq);
  }
  host_.SendToBrowser(call.conn, MakeResponse(msg, 200, "OK"));
}

bool B2bua::OnBrowserResponse(ConnectionId conn, SipMessage& msg) {
  const sip_t* sip = msg.sip();
  if (!sip->sip_via || !sip->sip_via->v_branch ||
      std::string_view(sip->sip_via->v_branch).rfind(kBranchPrefix, 0) != 0) {
    return false;
  }
  auto known = by_browser_call_id_.find(msg.call_id());
  if (known == by_browser_call_id_.end()) return true;
  auto it = calls_.find(known->second);
  if (it == calls_.end() || it->second->conn != conn) return true;
  Call& call = *it->second;
  if (call.incoming && msg.method() == sip_method_invite && call.invite_branch == sip->sip_via->v_branch) {
    HandleBrowserAnswer(call, msg);
  }
  return true;  // other answers (to BYE, CANCEL) end here
}

void B2bua::OnNetworkInvite(ConnectionId conn, nta_incoming_t* irq, SipMessage request) {
  auto call = std::make_unique<Call>();
  call->id = next_id_++;
  call->b2bua = this;
  call->conn = conn;
  call->incoming = true;
  call->start = Clock::now();
  call->irq = irq;
  call->browser_call_id = RandomToken(12) + "@webrtc2sip";
  sip_t* sip = request.sip();
  su_home_t* home = call->home.get();
  call->browser_uri = url_as_string(home, sip->sip_request->rq_url);
  sip_from_t* from = sip_from_create(home, reinterpret_cast<url_string_t*>(sip->sip_from->a_url));
  if (sip->sip_from->a_display) from->a_display = su_strdup(home, sip->sip_from->a_display);
  call->caller = HeaderValue(home, from);
  call->callee = "<" + std::string(url_as_string(home, sip->sip_to->a_url)) + ">";
  // The network's dialog: the B2BUA is its UAS.
  call->leg = nta_leg_tcreate(stack_.agent(), &B2bua::OnNetworkDialogRequest,
                              reinterpret_cast<nta_leg_magic_t*>(call.get()),
                              SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_to),
                              SIPTAG_TO(sip->sip_from), TAG_END());
  if (!call->leg) {
    nta_incoming_treply(irq, 500, "Server Internal Error", TAG_END());
    nta_incoming_destroy(irq);
    return;
  }
  nta_leg_tag(call->leg, nullptr);
  nta_leg_server_route(call->leg, sip->sip_record_route, sip->sip_contact);
  nta_incoming_tag(irq, nta_leg_get_tag(call->leg));
  nta_incoming_bind(irq, &B2bua::OnIncomingEvent, reinterpret_cast<nta_incoming_magic_t*>(call.get()));
  call->network_invite = std::move(request);
  Call& c = *call;
  by_browser_call_id_[c.browser_call_id] = c.id;
  calls_.emplace(c.id, std::move(call));
  B2buaMetrics::Get().active.WithLabels({}).Set(static_cast<double>(calls_.size()));

  auto parsed = sdp::ParseSdp(Body(c.network_invite.sip()));
  auto remote = parsed.ok() ? sdp::LegacySdpToRemote(*parsed)
                            : absl::StatusOr<mv1::RemoteDescription>(parsed.status());
  auto streams = remote.ok() ? sdp::OfferStreamsForBrowser(remote->streams(), media_)
                             : absl::StatusOr<sdp::MediaStreams>(remote.status());
  if (!streams.ok()) {
    log::Warn("legacy offer refused", {{"call_id", c.network_invite.call_id()},
                                       {"error", std::string(streams.status().message())}});
    nta_incoming_treply(c.irq, 488, "Not Acceptable Here", TAG_END());
    return End(c, "bad_offer");
  }
  c.network_offer_sdp = *parsed;
  c.network_offer = *remote;
  mv1::CreateSessionRequest request_pb;
  request_pb.set_call_id(c.network_invite.call_id());
  request_pb.mutable_webrtc_leg()->set_type(mv1::LEG_TYPE_WEBRTC);
  *request_pb.mutable_webrtc_leg()->mutable_offer_streams() = *streams;
  request_pb.mutable_legacy_leg()->set_type(mv1::LEG_TYPE_LEGACY);
  request_pb.mutable_legacy_leg()->set_srtp_mode(
      media_.srtp_mode() == config::v1::SRTP_MODE_NONE ? mv1::SRTP_MODE_NONE
      : media_.srtp_mode() == config::v1::SRTP_MODE_MANDATORY ? mv1::SRTP_MODE_MANDATORY
                                                              : mv1::SRTP_MODE_OPTIONAL);
  *request_pb.mutable_legacy_leg()->mutable_remote() = *remote;
  const uint64_t id = c.id;
  pool_->CreateSession(std::move(request_pb),
                       [this, id](grpc::Status status, mv1::CreateSessionResponse response,
                                  MediaSessionRef ref) {
                         OnIncomingMediaCreated(id, std::move(status), std::move(response),
                                                std::move(ref));
                       });
}

void B2bua::OnIncomingMediaCreated(uint64_t id, grpc::Status status,
                                   mv1::CreateSessionResponse response, MediaSessionRef ref) {
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second->ending) {
    if (ref) pool_->DeleteSession(std::move(ref), "call_gone");
    return;
  }
  Call& call = *it->second;
  if (!status.ok()) {
    const bool codec = status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
    nta_incoming_treply(call.irq, codec ? 488 : 503,
                        codec ? "Not Acceptable Here" : "Service Unavailable", TAG_END());
    return End(call, "no_media_node");
  }
  B2buaMetrics::Get().media_setup.WithLabels({"incoming"}).Observe(
      std::chrono::duration<double>(Clock::now() - call.start).count());
  call.media = std::move(ref);
  call.local = std::move(response);
  by_session_[call.media.session_id()] = call.id;
  sdp::LocalSdpOptions options;
  options.origin.session_id = call.webrtc_session_id;
  options.origin.session_version = "1";
  options.far_streams = &call.network_offer.streams();
  auto offer = sdp::WriteWebRtcSdp(call.local.webrtc_leg(), options);
  if (!offer.ok()) {
    nta_incoming_treply(call.irq, 500, "Server Internal Error", TAG_END());
    return End(call, "sdp_error");
  }
  call.invite_branch = std::string(kBranchPrefix) + RandomToken(8);
  host_.SendToBrowser(call.conn, BrowserRequest(call, "INVITE", 1, call.invite_branch, *offer));
}

std::string B2bua::BrowserRequest(Call& call, const char* method, uint32_t cseq,
                                  const std::string& branch, const std::string& sdp) {
  auto peer = host_.Peer(call.conn);
  const std::string host = peer ? (peer->local_host.find(':') != std::string::npos
                                       ? "[" + peer->local_host + "]"
                                       : peer->local_host)
                                : "gateway.invalid";
  const std::string port = peer ? std::to_string(peer->local_port) : "0";
  const std::string transport = peer && peer->secure ? "WSS" : "WS";
  std::string text = std::string(method) + " " + call.browser_uri + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/" + transport + " " + host + ":" + port + ";branch=" + branch + "\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: " + call.caller + ";tag=" + call.browser_tag + "\r\n";
  text += "To: " + call.callee + (call.browser_remote_tag.empty() ? "" : ";tag=" + call.browser_remote_tag) + "\r\n";
  text += "Call-ID: " + call.browser_call_id + "\r\n";
  text += "CSeq: " + std::to_string(cseq) + " " + method + "\r\n";
  text += "Contact: <sip:b2bua-" + std::to_string(call.id) + "@" + host + ":" + port +
          ";transport=" + (peer && peer->secure ? "wss" : "ws") + ">\r\n";
  if (!sdp.empty()) {
    text += "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
            "\r\n\r\n" + sdp;
  } else {
    text += "Content-Length: 0\r\n\r\n";
  }
  return text;
}

void B2bua::HandleBrowserAnswer(Call& call, SipMessage& msg) {
  sip_t* sip = msg.sip();
  const int status = msg.status();
  if (call.ending || call.answered || status < 101) return;
  if (status < 200) {
    nta_incoming_treply(call.irq, status, sip->sip_status->st_phrase, TAG_END());
    return;
  }
  if (sip->sip_to && sip->sip_to->a_tag) call.browser_remote_tag = sip->sip_to->a_tag;
  if (status >= 300) {
    call.answered = true;
    // The ACK for a non-2xx completes the browser's transaction.
    host_.SendToBrowser(call.conn, BrowserRequest(call, "ACK", 1, call.invite_branch, ""));
    nta_incoming_treply(call.irq, status, sip->sip_status->st_phrase, TAG_END());
    return End(call, "rejected_" + std::to_string(status / 100) + "xx");
  }
  call.answered = true;
  if (sip->sip_contact) call.browser_uri = url_as_string(call.home.get(), sip->sip_contact->m_url);
  host_.SendToBrowser(call.conn, BrowserRequest(call, "ACK", 1, std::string(kBranchPrefix) + RandomToken(8), ""));
  auto parsed = sdp::ParseSdp(Body(sip));
  auto remote = parsed.ok() ? sdp::WebRtcSdpToRemote(*parsed)
                            : absl::StatusOr<mv1::RemoteDescription>(parsed.status());
  if (!remote.ok()) {
    nta_incoming_treply(call.irq, 488, "Not Acceptable Here", TAG_END());
    SendByeToBrowser(call);
    return End(call, "bad_answer");
  }
  mv1::UpdateLegRequest request;
  request.set_session_id(call.media.session_id());
  request.set_side(mv1::LEG_SIDE_WEBRTC);
  request.set_is_offer(false);
  *request.mutable_remote() = *remote;
  auto far = std::make_shared<mv1::RemoteDescription>(*remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request), [this, id, far](grpc::Status st, mv1::UpdateLegResponse) {
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second->ending) return;
    Call& c = *it->second;
    sdp::LocalSdpOptions options;
    options.origin.session_id = c.legacy_session_id;
    options.origin.session_version = "1";
    options.answer_to = &c.network_offer_sdp;
    options.far_streams = &far->streams();
    auto answer = st.ok() ? sdp::WriteLegacySdp(c.local.legacy_leg(), options)
                          : absl::StatusOr<std::string>(absl::InternalError(st.error_message()));
    if (!answer.ok()) {
      nta_incoming_treply(c.irq, 488, "Not Acceptable Here", TAG_END());
      SendByeToBrowser(c);
      return End(c, "media_update_failed");
    }
    const SideAddress& net = stack_.net_side();
    const std::string contact = "<sip:b2bua-" + std::to_string(c.id) + "@" +
                                (net.host.find(':') != std::string::npos ? "[" + net.host + "]" : net.host) +
                                ":" + std::to_string(net.port) + ";transport=" + net.transport + ">";
    nta_incoming_treply(c.irq, 200, "OK", SIPTAG_CONTACT_STR(contact.c_str()),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(answer->c_str()), TAG_END());
    c.confirmed = true;
    B2buaMetrics::Get().setup.WithLabels({"incoming"}).Observe(
        std::chrono::duration<double>(Clock::now() - c.start).count());
  });
}

int B2bua::OnIncomingEvent(nta_incoming_magic_t* magic, nta_incoming_t*, const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  B2bua* self = call->b2bua;
  if (!sip) {  // the transaction is gone (timer H, or our final response failed)
    call->irq = nullptr;
    return 0;
  }
  if (sip->sip_request && sip->sip_request->rq_method == sip_method_cancel && !call->ending &&
      !call->confirmed) {
    // The caller gave up: CANCEL the browser's INVITE, answer the network 487.
    if (!call->invite_branch.empty()) {
      self->host_.SendToBrowser(call->conn, self->BrowserRequest(*call, "CANCEL", 1, call->invite_branch, ""));
    }
    nta_incoming_treply(call->irq, 487, "Request Terminated", TAG_END());
    self->End(*call, "cancelled");
  }
  return 0;
}

void B2bua::ReplyBrowser(Call& call, int status, std::string_view reason, const std::string& sdp) {
  if (call.answered) return;
  auto peer = host_.Peer(call.conn);
  if (!peer) return;
  std::string text = MakeResponse(call.invite, status, reason);
  if (text.empty()) return;
  // MakeResponse puts the gateway's generic tag: this dialog has its own.
  const std::string generic = ";tag=" + std::string(LocalTag());
  if (auto pos = text.find(generic); pos != std::string::npos) {
    text.replace(pos, generic.size(), ";tag=" + call.browser_tag);
  }
  std::string extra = "Contact: <sip:b2bua-" + std::to_string(call.id) + "@" +
                      (peer->local_host.find(':') != std::string::npos ? "[" + peer->local_host + "]"
                                                                       : peer->local_host) +
                      ":" + std::to_string(peer->local_port) + ";transport=" +
                      (peer->secure ? "wss" : "ws") + ">\r\n";
  const std::string tail = "Content-Length: 0\r\n\r\n";
  text.resize(text.size() - tail.size());
  if (status > 100) text += extra;
  if (!sdp.empty()) {
    text += "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
            "\r\n\r\n" + sdp;
  } else {
    text += tail;
  }
  if (status >= 200) {
    call.answered = true;
    if (status < 300) {
      B2buaMetrics::Get().setup.WithLabels({"outgoing"}).Observe(
          std::chrono::duration<double>(Clock::now() - call.start).count());
    }
  }
  host_.SendToBrowser(call.conn, std::move(text));
}

void B2bua::SendByeToBrowser(Call& call) {
  if (!call.answered || !host_.Peer(call.conn)) return;
  if (call.incoming) {
    host_.SendToBrowser(call.conn, BrowserRequest(call, "BYE", ++call.browser_cseq,
                                                  std::string(kBranchPrefix) + RandomToken(8), ""));
    return;
  }
  auto peer = host_.Peer(call.conn);
  su_home_t* home = call.home.get();
  sip_t* sip = call.invite.sip();
  const sip_contact_t* contact = sip->sip_contact;
  if (!contact) return;
  std::string text = "BYE " + std::string(url_as_string(home, contact->m_url)) + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/" + std::string(peer->secure ? "WSS " : "WS ") + peer->local_host + ":" +
          std::to_string(peer->local_port) + ";branch=" + std::string(kBranchPrefix) +
          RandomToken(6) + "\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: " + HeaderValue(home, sip->sip_to) + ";tag=" + call.browser_tag + "\r\n";
  text += "To: " + HeaderValue(home, sip->sip_from) + "\r\n";
  text += "Call-ID: " + call.browser_call_id + "\r\n";
  text += "CSeq: " + std::to_string(call.browser_cseq++) + " BYE\r\n";
  text += "Content-Length: 0\r\n\r\n";
  host_.SendToBrowser(call.conn, std::move(text));
}

void B2bua::SendByeToNetwork(Call& call) {
  if (!call.leg) return;
  if (call.incoming && !call.confirmed) {
    if (call.irq) nta_incoming_treply(call.irq, 480, "Temporarily Unavailable", TAG_END());
    return;
  }
  if (!call.confirmed) {
    if (call.invite_orq) nta_outgoing_tcancel(call.invite_orq, nullptr, nullptr, TAG_END());
    return;
  }
  nta_outgoing_t* bye = nta_outgoing_tcreate(call.leg, nullptr, nullptr, nullptr, SIP_METHOD_BYE,
                                             nullptr, TAG_END());
  if (bye) nta_outgoing_destroy(bye);
}

void B2bua::OnBrowserGone(ConnectionId conn) {
  for (auto& [id, call] : calls_) {
    if (call->conn == conn && !call->ending) {
      SendByeToNetwork(*call);
      End(*call, "browser_gone");
    }
  }
}

void B2bua::OnMediaSessionLost(const std::string& session_id, MediaSessionLoss reason,
                               const std::string& detail) {
  auto it = by_session_.find(session_id);
  if (it == by_session_.end()) return;
  auto call = calls_.find(it->second);
  if (call == calls_.end() || call->second->ending) return;
  // Media cannot flow any more: both legs get BYE (or a final answer).
  log::Warn("media session lost", {{"call_id", call->second->browser_call_id},
                                   {"reason", std::string(MediaSessionLossName(reason))},
                                   {"detail", detail}});
  if (!call->second->answered) {
    ReplyBrowser(*call->second, 503, "Service Unavailable");
  } else {
    SendByeToBrowser(*call->second);
  }
  SendByeToNetwork(*call->second);
  End(*call->second, "media_lost");
}

void B2bua::End(Call& call, const std::string& outcome) {
  if (call.ending) return;
  call.ending = true;
  B2buaMetrics::Get().calls.WithLabels({call.incoming ? "incoming" : "outgoing", outcome}).Inc();
  log::Info("b2bua call ended", {{"call_id", call.browser_call_id}, {"outcome", outcome}});
  if (call.media) {
    by_session_.erase(call.media.session_id());
    pool_->DeleteSession(std::move(call.media), outcome);
  }
  reap_.push_back(call.id);
  if (!reap_source_) reap_source_ = g_idle_add(&B2bua::OnReap, this);
}

gboolean B2bua::OnReap(gpointer self) {
  auto* b = static_cast<B2bua*>(self);
  b->reap_source_ = 0;
  for (uint64_t id : std::exchange(b->reap_, {})) {
    auto it = b->calls_.find(id);
    if (it == b->calls_.end()) continue;
    Call& call = *it->second;
    b->by_browser_call_id_.erase(call.browser_call_id);
    // The network INVITE transaction may still absorb retransmissions: nta
    // keeps it after destroy; the leg goes with the call.
    if (call.invite_orq) nta_outgoing_destroy(call.invite_orq);
    if (call.irq) nta_incoming_destroy(call.irq);
    if (call.leg) nta_leg_destroy(call.leg);
    b->calls_.erase(it);
  }
  B2buaMetrics::Get().active.WithLabels({}).Set(static_cast<double>(b->calls_.size()));
  return G_SOURCE_REMOVE;
}

}  // namespace webrtc2sip::signaling
