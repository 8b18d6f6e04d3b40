// The RTCWeb Breaker's incoming calls: an INVITE from the SIP network for a
// breaker browser becomes the node's WebRTC offer on the browser's WebSocket
// flow; the browser's answer becomes a clean legacy answer.

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>

#include "common/log/logger.h"
#include "services/signaling/b2bua/b2bua.h"
#include "services/signaling/b2bua/b2bua_call.h"
#include "services/signaling/b2bua/b2bua_support.h"
#include "services/signaling/sdp/local_sdp_writer.h"
#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/sdp_parser.h"

namespace webrtc2sip::signaling {

using namespace b2bua_support;
namespace mv1 = media::v1;

void B2bua::OnNetworkInvite(ConnectionId conn, nta_incoming_t* irq, SipMessage request) {
  auto call = std::make_unique<Call>();
  call->id = next_id_++;
  call->b2bua = this;
  call->conn = conn;
  call->incoming = true;
  call->start = Clock::now();
  call->irq = irq;
  sip_t* sip = request.sip();
  su_home_t* home = call->home.get();
  BrowserDialog& d = call->browser;
  d.call_id = RandomToken(12) + "@webrtc2sip";
  d.target = url_as_string(home, sip->sip_request->rq_url);
  sip_from_t* from = sip_from_create(home, reinterpret_cast<url_string_t*>(sip->sip_from->a_url));
  if (sip->sip_from->a_display) from->a_display = su_strdup(home, sip->sip_from->a_display);
  d.local = HeaderValue(home, from);
  d.local_tag = RandomToken(6);
  d.remote = "<" + std::string(url_as_string(home, sip->sip_to->a_url)) + ">";
  call->webrtc.session_id = RandomToken(4);
  call->legacy.session_id = RandomToken(4);
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
  // 18x go reliably when the caller requires it, or supports it and the
  // operator asked for 100rel (enable_100rel).
  call->reliable_1xx = sip_has_feature(sip->sip_require, "100rel") ||
                       (signaling_.enable_100rel() && sip_has_feature(sip->sip_supported, "100rel"));
  call->network_allows_update = sip->sip_allow && sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE");
  call->network_invite = std::move(request);
  Call& c = *call;
  by_browser_call_id_[d.call_id] = c.id;
  calls_.emplace(c.id, std::move(call));
  Metrics::Get().active.WithLabels({}).Set(static_cast<double>(calls_.size()));

  auto peer = ParseLegacyPeer(Body(c.network_invite.sip()));
  auto streams = peer.ok() ? sdp::OfferStreamsForBrowser(peer->remote.streams(), media_)
                             : absl::StatusOr<sdp::MediaStreams>(peer.status());
  if (!streams.ok()) {
    log::Warn("legacy offer refused", {{"call_id", c.network_invite.call_id()},
                                       {"error", std::string(streams.status().message())}});
    nta_incoming_treply(c.irq, 488, "Not Acceptable Here", TAG_END());
    return End(c, "bad_offer");
  }
  c.legacy.remote_sdp = peer->sdp;
  c.legacy.remote = peer->remote;
  c.legacy.remote_origin = OriginKey(Body(c.network_invite.sip()));
  mv1::CreateSessionRequest request_pb;
  request_pb.set_call_id(c.network_invite.call_id());
  request_pb.set_allow_transcoding(media_.enable_media_coder());
  request_pb.mutable_webrtc_leg()->set_type(mv1::LEG_TYPE_WEBRTC);
  *request_pb.mutable_webrtc_leg()->mutable_offer_streams() = *streams;
  request_pb.mutable_legacy_leg()->set_type(mv1::LEG_TYPE_LEGACY);
  request_pb.mutable_legacy_leg()->set_srtp_mode(LegacySrtpMode(media_));
  *request_pb.mutable_legacy_leg()->mutable_remote() = peer->remote;
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
  Call* call = Find(id);
  if (!call) {
    if (ref) pool_->DeleteSession(std::move(ref), "call_gone");
    return;
  }
  if (!status.ok()) {
    const bool codec = status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
    nta_incoming_treply(call->irq, codec ? 488 : 503,
                        codec ? "Not Acceptable Here" : "Service Unavailable", TAG_END());
    return End(*call, "no_media_node");
  }
  Metrics::Get().media_setup.WithLabels({"incoming"}).Observe(
      std::chrono::duration<double>(Clock::now() - call->start).count());
  call->media = std::move(ref);
  call->local = std::move(response);
  by_session_[call->media.session_id()] = call->id;
  sdp::LocalSdpOptions options;
  options.transcoding = media_.enable_media_coder();
  options.origin.session_id = call->webrtc.session_id;
  options.origin.session_version = call->webrtc.NextVersion();
  options.far_streams = &call->legacy.remote.streams();
  auto offer = sdp::WriteWebRtcSdp(call->local.webrtc_leg(), options);
  if (!offer.ok()) {
    nta_incoming_treply(call->irq, 500, "Server Internal Error", TAG_END());
    return End(*call, "sdp_error");
  }
  call->webrtc.sent_sdp = *offer;
  call->invite_branch = std::string(kBranchPrefix) + RandomToken(8);
  host_.SendToBrowser(call->conn, BrowserRequest(*call, "INVITE", ++call->browser.cseq,
                                                 call->invite_branch, {}, "application/sdp", *offer));
}

void B2bua::ReplyNetworkProvisional(Call& call, int status, const char* phrase) {
  if (!call.irq) return;
  if (call.reliable_1xx && status > 100) {
    // nta adds RSeq and Require: 100rel, retransmits until the PRACK, and
    // holds a 2xx back until then.
    nta_reliable_t* rel = nta_reliable_treply(
        call.irq, &B2bua::OnNetworkPrack, reinterpret_cast<nta_reliable_magic_t*>(&call), status,
        phrase, SIPTAG_CONTACT_STR(NetworkContact(call).c_str()), TAG_END());
    if (rel) return;
  }
  nta_incoming_treply(call.irq, status, phrase, TAG_END());
}

int B2bua::OnNetworkPrack(nta_reliable_magic_t*, nta_reliable_t*, nta_incoming_t*, const sip_t*) {
  return 200;
}

void B2bua::HandleBrowserAnswer(Call& call, SipMessage& msg) {
  sip_t* sip = msg.sip();
  const int status = msg.status();
  if (call.confirmed || status < 101) return;
  if (status < 200) {
    ReplyNetworkProvisional(call, status, sip->sip_status->st_phrase);
    return;
  }
  if (sip->sip_to && sip->sip_to->a_tag) call.browser.remote_tag = sip->sip_to->a_tag;
  if (status >= 300) {
    // The ACK for a non-2xx completes the browser's transaction.
    host_.SendToBrowser(call.conn, BrowserRequest(call, "ACK", call.browser.cseq, call.invite_branch,
                                                  {}, {}, {}));
    call.browser.remote_tag.clear();
    nta_incoming_treply(call.irq, status, sip->sip_status->st_phrase, TAG_END());
    return End(call, "rejected_" + std::to_string(status / 100) + "xx");
  }
  if (sip->sip_contact) call.browser.target = url_as_string(call.home.get(), sip->sip_contact->m_url);
  host_.SendToBrowser(call.conn, BrowserRequest(call, "ACK", call.browser.cseq,
                                                std::string(kBranchPrefix) + RandomToken(8), {}, {}, {}));
  auto peer = ParseWebRtcPeer(Body(sip));
  if (!peer.ok()) {
    nta_incoming_treply(call.irq, 488, "Not Acceptable Here", TAG_END());
    SendByeToBrowser(call);
    return End(call, "bad_answer");
  }
  call.webrtc.remote = peer->remote;
  call.webrtc.remote_sdp = peer->sdp;
  mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_WEBRTC, false, peer->remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request), [this, id](grpc::Status st, mv1::UpdateLegResponse response) {
    Call* c = Find(id);
    if (!c) return;
    if (st.ok()) {
      *c->local.mutable_webrtc_leg() = response.local();
      if (response.has_other()) *c->local.mutable_legacy_leg() = response.other();
    }
    sdp::LocalSdpOptions options;
    options.transcoding = media_.enable_media_coder();
    options.origin.session_id = c->legacy.session_id;
    options.origin.session_version = c->legacy.NextVersion();
    options.answer_to = &c->legacy.remote_sdp;
    options.far_streams = &c->webrtc.remote.streams();
    auto answer = st.ok() ? sdp::WriteLegacySdp(c->local.legacy_leg(), options)
                          : absl::StatusOr<std::string>(absl::InternalError(st.error_message()));
    if (!answer.ok()) {
      nta_incoming_treply(c->irq, 488, "Not Acceptable Here", TAG_END());
      SendByeToBrowser(*c);
      return End(*c, "media_update_failed");
    }
    c->legacy.sent_sdp = *answer;
    // RFC 4028: the caller's session timer, if it asked for one.
    const sip_t* invite = c->network_invite.sip();
    const std::string expires = c->session_timer.NegotiateAsUas(invite, 90);
    const bool require_timer = c->session_timer.RequireInAnswer(invite);
    nta_incoming_treply(c->irq, 200, "OK", SIPTAG_CONTACT_STR(NetworkContact(*c).c_str()),
                        SIPTAG_ALLOW_STR("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, UPDATE, PRACK, NOTIFY, REFER"),
                        TAG_IF(!expires.empty(), SIPTAG_SESSION_EXPIRES_STR(expires.c_str())),
                        TAG_IF(require_timer, SIPTAG_REQUIRE_STR("timer")),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(c->legacy.sent_sdp.c_str()), TAG_END());
    c->confirmed = true;
    ArmSessionTimer(*c);
    Metrics::Get().setup.WithLabels({"incoming"}).Observe(
        std::chrono::duration<double>(Clock::now() - c->start).count());
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
      self->host_.SendToBrowser(call->conn, self->BrowserRequest(*call, "CANCEL", call->browser.cseq,
                                                                 call->invite_branch, {}, {}, {}));
    }
    nta_incoming_treply(call->irq, 487, "Request Terminated", TAG_END());
    self->End(*call, "cancelled");
  }
  return 0;
}

}  // namespace webrtc2sip::signaling
