// The RTCWeb Breaker's outgoing calls: a browser's INVITE answered here, a
// new INVITE toward the SIP network, the media session between them.

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>

#include "common/log/logger.h"
#include "services/signaling/b2bua/b2bua.h"
#include "services/signaling/b2bua/b2bua_call.h"
#include "services/signaling/b2bua/b2bua_support.h"
#include "services/signaling/b2bua/digest.h"
#include "services/signaling/sdp/local_sdp_writer.h"
#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/sdp_parser.h"

namespace webrtc2sip::signaling {

using namespace b2bua_support;
namespace mv1 = media::v1;


void B2bua::StartOutgoing(ConnectionId conn, SipMessage invite) {
  auto call = std::make_unique<Call>();
  call->id = next_id_++;
  call->b2bua = this;
  call->conn = conn;
  call->start = Clock::now();
  sip_t* sip = invite.sip();
  su_home_t* home = call->home.get();
  BrowserDialog& d = call->browser;
  d.call_id = invite.call_id();
  d.local = WithoutTag(HeaderValue(home, sip->sip_to));
  d.local_tag = RandomToken(6);
  d.remote = WithoutTag(HeaderValue(home, sip->sip_from));
  d.remote_tag = sip->sip_from->a_tag ? sip->sip_from->a_tag : "";
  if (sip->sip_contact) d.target = url_as_string(home, sip->sip_contact->m_url);
  call->webrtc.session_id = RandomToken(4);
  call->legacy.session_id = RandomToken(4);
  // The HA1 token answers the network's challenges; it is taken only from a
  // secure connection unless the operator allows ws.
  auto ws_peer = host_.Peer(conn);
  for (const sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (UrlParam(m->m_url, "ha1").empty()) continue;
    if (ws_peer && (ws_peer->secure || signaling_.allow_ha1_over_ws())) {
      call->impi = UrlDecode(UrlParam(m->m_url, "impi"));
      call->ha1 = UrlDecode(UrlParam(m->m_url, "ha1"));
    } else {
      log::Warn("ha1 token ignored: not a wss connection", {{"call_id", d.call_id}});
    }
  }
  call->invite = std::move(invite);
  Call& c = *call;
  by_browser_call_id_[d.call_id] = c.id;
  calls_.emplace(c.id, std::move(call));
  Metrics::Get().active.WithLabels({}).Set(static_cast<double>(calls_.size()));

  ReplyBrowser(c, 100, "Trying");
  auto peer = ParseWebRtcPeer(Body(c.invite.sip()));
  if (!peer.ok()) {
    log::Warn("browser offer refused", {{"call_id", c.browser.call_id},
                                        {"error", std::string(peer.status().message())}});
    ReplyBrowser(c, 488, "Not Acceptable Here");
    return End(c, "bad_offer");
  }
  c.webrtc.remote_sdp = peer->sdp;
  c.webrtc.remote = peer->remote;
  auto legacy_streams = sdp::OfferStreamsForLegacy(peer->remote.streams(), media_);
  if (!legacy_streams.ok()) {
    ReplyBrowser(c, 488, "Not Acceptable Here");
    return End(c, "no_common_codec");
  }
  mv1::CreateSessionRequest request;
  request.set_call_id(c.browser.call_id);
  request.set_allow_transcoding(media_.enable_media_coder());
  request.mutable_webrtc_leg()->set_type(mv1::LEG_TYPE_WEBRTC);
  *request.mutable_webrtc_leg()->mutable_remote() = peer->remote;
  request.mutable_legacy_leg()->set_type(mv1::LEG_TYPE_LEGACY);
  request.mutable_legacy_leg()->set_srtp_mode(LegacySrtpMode(media_));
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
  Call* call = Find(id);
  if (!call) {
    if (ref) pool_->DeleteSession(std::move(ref), "call_gone");
    return;
  }
  if (!status.ok()) {
    log::Warn("no media session", {{"call_id", call->browser.call_id}, {"error", status.error_message()}});
    const bool codec = status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
    ReplyBrowser(*call, codec ? 488 : 503, codec ? "Not Acceptable Here" : "Service Unavailable");
    return End(*call, "no_media_node");
  }
  Metrics::Get().media_setup.WithLabels({"outgoing"}).Observe(
      std::chrono::duration<double>(Clock::now() - call->start).count());
  call->media = std::move(ref);
  call->local = std::move(response);
  by_session_[call->media.session_id()] = call->id;
  if (call->cancelled) {
    ReplyBrowser(*call, 487, "Request Terminated");
    return End(*call, "cancelled");
  }
  SendNetworkInvite(*call, "", "");
}

void B2bua::SendNetworkInvite(Call& call, const std::string& auth_name, const std::string& auth_value) {
  sip_t* bsip = call.invite.sip();
  su_home_t* home = call.home.get();
  if (call.legacy.sent_sdp.empty()) {
    sdp::LocalSdpOptions options;
    options.transcoding = media_.enable_media_coder();
    options.origin.session_id = call.legacy.session_id;
    options.origin.session_version = call.legacy.NextVersion();
    if (call.local.legacy_leg().legacy().endpoints_size() > 0) {
      options.origin.address = call.local.legacy_leg().legacy().endpoints(0).address();
    }
    options.far_streams = &call.webrtc.remote.streams();
    auto sdp = sdp::WriteLegacySdp(call.local.legacy_leg(), options);
    if (!sdp.ok()) {
      ReplyBrowser(call, 500, "Server Internal Error");
      return End(call, "sdp_error");
    }
    call.legacy.sent_sdp = *sdp;
  }
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
  const std::string contact = NetworkContact(call);
  const char* supported = signaling_.enable_100rel() ? "100rel, timer" : "timer";
  if (call.invite_orq) nta_outgoing_destroy(call.invite_orq);
  call.invite_orq = nta_outgoing_tcreate(
      call.leg, &B2bua::OnInviteResponse, reinterpret_cast<nta_outgoing_magic_t*>(&call),
      route.empty() ? nullptr : URL_STRING_MAKE(route.c_str()), SIP_METHOD_INVITE,
      reinterpret_cast<url_string_t*>(bsip->sip_request->rq_url), SIPTAG_CONTACT_STR(contact.c_str()),
      SIPTAG_SUPPORTED_STR(supported),
      SIPTAG_ALLOW_STR("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, UPDATE, PRACK, NOTIFY, REFER"),
      SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(call.legacy.sent_sdp.c_str()),
      TAG_IF(!auth_name.empty() && auth_name == "Authorization",
             SIPTAG_AUTHORIZATION_STR(auth_value.c_str())),
      TAG_IF(!auth_name.empty() && auth_name == "Proxy-Authorization",
             SIPTAG_PROXY_AUTHORIZATION_STR(auth_value.c_str())),
      TAG_END());
  if (!call.invite_orq) {
    ReplyBrowser(call, 503, "Service Unavailable");
    return End(call, "unroutable");
  }
  log::Info("b2bua call placed", {{"call_id", call.browser.call_id}, {"session", call.media.session_id()}});
}

int B2bua::OnInviteResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  call->b2bua->HandleInviteResponse(*call, orq, sip);
  return 0;
}

void B2bua::HandleInviteResponse(Call& call, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
  if (call.ending || status < 101) return;
  if (status < 200) {
    // A reliable provisional response (RFC 3262) is PRACKed on the network
    // side; toward the browser 18x go plain (hop by hop in a B2BUA).
    if (sip->sip_rseq && sip_has_feature(sip->sip_require, "100rel") && sip->sip_to &&
        sip->sip_to->a_tag) {
      if (!nta_leg_get_rtag(call.leg)) {
        nta_leg_rtag(call.leg, sip->sip_to->a_tag);
        nta_leg_client_route(call.leg, sip->sip_record_route, sip->sip_contact);
        // nta PRACKs on the transaction of this To tag (RFC 3261 forking).
        if (nta_outgoing_t* tagged = nta_outgoing_tagged(
                orq, &B2bua::OnInviteResponse, reinterpret_cast<nta_outgoing_magic_t*>(&call),
                sip->sip_to->a_tag, sip->sip_rseq)) {
          if (call.invite_orq) nta_outgoing_destroy(call.invite_orq);
          call.invite_orq = orq = tagged;
        }
      }
      nta_outgoing_t* prack = nta_outgoing_prack(call.leg, orq, nullptr, nullptr, nullptr, sip, TAG_END());
      if (prack) nta_outgoing_destroy(prack);
    }
    if (sip->sip_payload && sip->sip_payload->pl_len && !call.legacy_answered) {
      ApplyLegacyAnswer(call, sip, status);  // early media: 183 with the answer
    } else if (!call.answered) {
      ReplyBrowser(call, status, sip->sip_status->st_phrase ? sip->sip_status->st_phrase : "Ringing",
                   call.webrtc.sent_sdp);
    }
    return;
  }
  if (status < 300) {
    if (call.confirmed) return;  // a 2xx retransmission: the ACK went already
    call.confirmed = true;
    if (sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(call.leg, sip->sip_to->a_tag);
    nta_leg_client_route(call.leg, sip->sip_record_route, sip->sip_contact);
    SendNetworkAck(call, orq);
    call.network_allows_update = sip->sip_allow && sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE");
    call.session_timer.NegotiateAsUac(sip);
    ArmSessionTimer(call);
    if (!call.legacy_answered && sip->sip_payload && sip->sip_payload->pl_len) {
      ApplyLegacyAnswer(call, sip, 200);
    } else {
      if (call.webrtc.sent_sdp.empty()) {
        // The early answer (183) is still on its way through the node: the
        // 200 goes with the WebRTC answer once it is written.
        call.answer_pending_final = true;
      } else {
        ReplyBrowser(call, 200, "OK", call.webrtc.sent_sdp);
      }
    }
    return;
  }
  // A challenge: answered once with the browser's HA1, never forwarding it.
  if ((status == 401 || status == 407) && !call.auth_tried && !call.ha1.empty()) {
    call.auth_tried = true;
    const void* challenge_header = status == 401 ? static_cast<const void*>(sip->sip_www_authenticate)
                                                 : static_cast<const void*>(sip->sip_proxy_authenticate);
    if (auto challenge = ParseDigestChallenge(HeaderValue(call.home.get(), challenge_header))) {
      char* uri = url_as_string(call.home.get(), call.invite.sip()->sip_request->rq_url);
      const std::string auth = DigestAuthorization(*challenge, call.impi, call.ha1, "INVITE", uri);
      Metrics::Get().challenges.WithLabels({}).Inc();
      log::Info("challenge answered with the browser's token",
                {{"call_id", call.browser.call_id}, {"realm", challenge->realm}});
      return SendNetworkInvite(call, status == 401 ? "Authorization" : "Proxy-Authorization", auth);
    }
  }
  ReplyBrowser(call, status, sip && sip->sip_status && sip->sip_status->st_phrase
                                 ? sip->sip_status->st_phrase
                                 : "Request Timeout");
  End(call, status == 487 ? "cancelled" : "rejected_" + std::to_string(status / 100) + "xx");
}

void B2bua::ApplyLegacyAnswer(Call& call, const sip_t* sip, int status) {
  auto peer = ParseLegacyPeer(Body(sip));
  if (!peer.ok()) {
    log::Warn("legacy answer refused", {{"call_id", call.browser.call_id},
                                        {"error", std::string(peer.status().message())}});
    ReplyBrowser(call, 488, "Not Acceptable Here");
    SendByeToNetwork(call);
    return End(call, "bad_answer");
  }
  call.legacy_answered = true;
  call.legacy.remote = peer->remote;
  call.legacy.remote_sdp = peer->sdp;
  call.legacy.remote_origin = OriginKey(Body(sip));
  mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_LEGACY, false, peer->remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request),
                   [this, id, status](grpc::Status st, mv1::UpdateLegResponse response) {
                     Call* c = Find(id);
                     if (!c) return;
                     if (!st.ok()) {
                       ReplyBrowser(*c, 488, "Not Acceptable Here");
                       SendByeToNetwork(*c);
                       return End(*c, "media_update_failed");
                     }
                     *c->local.mutable_legacy_leg() = response.local();
                     if (response.has_other()) *c->local.mutable_webrtc_leg() = response.other();
                     sdp::LocalSdpOptions options;
                     options.transcoding = media_.enable_media_coder();
                     options.origin.session_id = c->webrtc.session_id;
                     options.origin.session_version = c->webrtc.NextVersion();
                     options.answer_to = &c->webrtc.remote_sdp;
                     options.far_streams = &c->legacy.remote.streams();
                     auto answer = sdp::WriteWebRtcSdp(c->local.webrtc_leg(), options);
                     if (!answer.ok()) {
                       ReplyBrowser(*c, 500, "Server Internal Error");
                       SendByeToNetwork(*c);
                       return End(*c, "sdp_error");
                     }
                     c->webrtc.sent_sdp = *answer;
                     const int reply = c->answer_pending_final ? 200 : status;
                     ReplyBrowser(*c, reply, reply == 200 ? "OK" : "Session Progress",
                                  c->webrtc.sent_sdp);
                   });
}

}  // namespace webrtc2sip::signaling
