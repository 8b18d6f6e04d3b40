// Inside an established RTCWeb Breaker call: re-INVITEs carried across with
// the media session updated on its node (hold, resume, codec change, ICE
// restart), other requests passed to the other side and their answers
// back, and RFC 4028 session timers on the network leg.

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>

#include "common/log/logger.h"
#include "services/signaling/b2bua/b2bua.h"
#include "services/signaling/b2bua/b2bua_call.h"
#include "services/signaling/b2bua/b2bua_support.h"
#include "services/signaling/b2bua/dtmf_info.h"
#include "services/signaling/sdp/local_sdp_writer.h"
#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/sdp_parser.h"
#include "services/signaling/sip/local_response.h"

namespace webrtc2sip::signaling {

using namespace b2bua_support;
namespace mv1 = media::v1;

namespace {

constexpr uint32_t kMinSessionExpires = 90;  // RFC 4028 default Min-SE
constexpr const char* kAllow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, UPDATE, PRACK, NOTIFY, REFER";

// Headers a passed-on request keeps besides its body (SUBSCRIBE/NOTIFY/REFER
// and INFO packages need them).
constexpr const char* kCarriedHeaders[] = {"Event", "Subscription-State", "Refer-To",
                                           "Referred-By", "Info-Package", "Expires"};

// The SDP for a leg: the previous one again when nothing but o= would change
// (RFC 3264 8: same version), else `written` with the next version.
template <typename Write>
absl::StatusOr<std::string> NextSdp(LegState& leg, sdp::LocalSdpOptions options, Write write) {
  options.origin.session_id = leg.session_id;
  options.origin.session_version = std::to_string(leg.version);
  auto same = write(options);
  if (!same.ok()) return same;
  if (*same == leg.sent_sdp) return same;
  options.origin.session_version = leg.NextVersion();
  return write(options);
}

std::string CarriedHeaders(const sip_t* sip) {
  std::string out;
  for (const char* name : kCarriedHeaders) {
    for (const sip_unknown_t* u = sip->sip_unknown; u; u = u->un_next) {
      if (u->un_name && strcasecmp(u->un_name, name) == 0) {
        out += std::string(name) + ": " + (u->un_value ? u->un_value : "") + "\r\n";
      }
    }
  }
  if (sip->sip_event) out += "Event: " + HeaderValue(nullptr, sip->sip_event) + "\r\n";
  if (sip->sip_subscription_state) {
    out += "Subscription-State: " + HeaderValue(nullptr, sip->sip_subscription_state) + "\r\n";
  }
  if (sip->sip_refer_to) out += "Refer-To: " + HeaderValue(nullptr, sip->sip_refer_to) + "\r\n";
  if (sip->sip_referred_by) out += "Referred-By: " + HeaderValue(nullptr, sip->sip_referred_by) + "\r\n";
  return out;
}

const char* MethodName(const sip_t* sip) {
  return sip->sip_request->rq_method_name ? sip->sip_request->rq_method_name : "UNKNOWN";
}

}  // namespace

// ---------------------------------------------------------------- from the network

int B2bua::OnNetworkDialogRequest(nta_leg_magic_t* magic, nta_leg_t*, nta_incoming_t* irq,
                                  const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  if (call->ending) return sip->sip_request->rq_method == sip_method_ack ? 0 : 481;
  return call->b2bua->HandleNetworkDialogRequest(*call, irq, sip);
}

int B2bua::HandleNetworkDialogRequest(Call& call, nta_incoming_t* irq, const sip_t* sip) {
  switch (sip->sip_request->rq_method) {
    case sip_method_bye:
      SendByeToBrowser(call);
      End(call, "network_bye");
      return 200;
    case sip_method_ack:
      return 0;  // of the B2BUA's own 2xx: hop by hop
    case sip_method_invite:
      return StartNetworkReoffer(call, irq, sip);
    case sip_method_prack:
      return 200;
    case sip_method_update:
      if (sip->sip_payload && sip->sip_payload->pl_len) {
        // An SDP offer in UPDATE would need the browser's answer at once;
        // re-INVITE is the way to change media across this gateway.
        return 488;
      }
      if (sip->sip_session_expires) {
        const std::string expires = call.session_timer.NegotiateAsUas(sip, kMinSessionExpires);
        ArmSessionTimer(call);
        Metrics::Get().session_refreshes.WithLabels({"network", "ok"}).Inc();
        nta_incoming_treply(irq, 200, "OK", SIPTAG_SESSION_EXPIRES_STR(expires.c_str()),
                            TAG_IF(call.session_timer.RequireInAnswer(sip), SIPTAG_REQUIRE_STR("timer")),
                            SIPTAG_CONTACT_STR(NetworkContact(call).c_str()), TAG_END());
        nta_incoming_destroy(irq);
        return 0;
      }
      return 200;
    case sip_method_info:
    case sip_method_message:
    case sip_method_options:
    case sip_method_notify:
    case sip_method_refer:
      ForwardToBrowser(call, irq, sip);
      return 0;
    default:
      return 501;
  }
}

void B2bua::ForwardToBrowser(Call& call, nta_incoming_t* irq, const sip_t* sip) {
  if (!host_.Peer(call.conn)) {
    nta_incoming_treply(irq, 480, "Temporarily Unavailable", TAG_END());
    nta_incoming_destroy(irq);
    return;
  }
  const std::string branch = std::string(kBranchPrefix) + RandomToken(8);
  const std::string content_type = sip->sip_content_type && sip->sip_content_type->c_type
                                       ? sip->sip_content_type->c_type
                                       : "";
  host_.SendToBrowser(call.conn, BrowserRequest(call, MethodName(sip), ++call.browser.cseq, branch,
                                                CarriedHeaders(sip), content_type, Body(sip)));
  call.to_browser.push_back({branch, irq});
  Metrics::Get().in_dialog.WithLabels({MethodName(sip), "browser"}).Inc();
}

void B2bua::HandleBrowserInDialogResponse(Call& call, SipMessage& msg) {
  const sip_t* sip = msg.sip();
  const int status = msg.status();
  const std::string_view branch = sip->sip_via->v_branch;
  if (call.reoffer && !call.reoffer->from_browser && call.reoffer->browser_branch == branch) {
    if (status >= 200) FinishNetworkReoffer(call, msg);
    return;
  }
  for (auto it = call.to_browser.begin(); it != call.to_browser.end(); ++it) {
    if (it->branch != branch) continue;
    if (status < 200) return;
    const std::string content_type = sip->sip_content_type && sip->sip_content_type->c_type
                                         ? sip->sip_content_type->c_type
                                         : "";
    const std::string body = Body(sip);
    nta_incoming_treply(it->irq, status, sip->sip_status->st_phrase,
                        TAG_IF(!body.empty(), SIPTAG_CONTENT_TYPE_STR(content_type.c_str())),
                        TAG_IF(!body.empty(), SIPTAG_PAYLOAD_STR(body.c_str())), TAG_END());
    nta_incoming_destroy(it->irq);
    call.to_browser.erase(it);
    return;
  }
  // Answers to the B2BUA's own BYE, CANCEL, ACK end here.
}

int B2bua::StartNetworkReoffer(Call& call, nta_incoming_t* irq, const sip_t* sip) {
  if (call.reoffer || !call.confirmed) return 491;
  std::string session_expires;
  if (sip->sip_session_expires) {
    session_expires = call.session_timer.NegotiateAsUas(sip, kMinSessionExpires);
    ArmSessionTimer(call);
  }
  const std::string body = Body(sip);
  const std::string origin = OriginKey(body);
  if (body.empty() || origin == call.legacy.remote_origin) {
    // A refresh (RFC 4028) or an offerless re-INVITE: the media stands and
    // the 200 carries the B2BUA's current SDP.
    Metrics::Get().session_refreshes.WithLabels({"network", "ok"}).Inc();
    nta_incoming_treply(irq, 200, "OK", SIPTAG_CONTACT_STR(NetworkContact(call).c_str()),
                        SIPTAG_ALLOW_STR(kAllow),
                        TAG_IF(!session_expires.empty(), SIPTAG_SESSION_EXPIRES_STR(session_expires.c_str())),
                        TAG_IF(call.session_timer.RequireInAnswer(sip), SIPTAG_REQUIRE_STR("timer")),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(call.legacy.sent_sdp.c_str()), TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  auto peer = ParseLegacyPeer(body);
  if (!peer.ok() || peer->remote.streams_size() != call.legacy.remote.streams_size()) {
    log::Warn("legacy re-offer refused",
              {{"call_id", call.browser.call_id},
               {"error", peer.ok() ? "number of streams changed" : std::string(peer.status().message())}});
    Metrics::Get().reoffers.WithLabels({"network", "refused"}).Inc();
    return 488;
  }
  auto& r = call.reoffer.emplace();
  r.from_browser = false;
  r.network_irq = irq;
  r.previous = call.legacy.remote;
  r.offer_sdp = peer->sdp;
  call.legacy.remote = peer->remote;
  call.legacy.remote_origin = origin;
  mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_LEGACY, true, peer->remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request), [this, id](grpc::Status st, mv1::UpdateLegResponse response) {
    Call* c = Find(id);
    if (!c || !c->reoffer) return;
    absl::StatusOr<std::string> offer = absl::InternalError(st.error_message());
    if (st.ok()) {
      *c->local.mutable_legacy_leg() = response.local();
      if (response.has_other()) *c->local.mutable_webrtc_leg() = response.other();
      sdp::LocalSdpOptions options;
      options.transcoding = media_.enable_media_coder();
      options.far_streams = &c->legacy.remote.streams();
      offer = NextSdp(c->webrtc, options, [c](const sdp::LocalSdpOptions& o) {
        return sdp::WriteWebRtcSdp(c->local.webrtc_leg(), o);
      });
    }
    if (!offer.ok() || !host_.Peer(c->conn)) {
      log::Warn("legacy re-offer failed", {{"call_id", c->browser.call_id},
                                           {"error", std::string(offer.status().message())}});
      nta_incoming_treply(c->reoffer->network_irq, 488, "Not Acceptable Here", TAG_END());
      nta_incoming_destroy(c->reoffer->network_irq);
      c->legacy.remote = c->reoffer->previous;
      c->reoffer.reset();
      Metrics::Get().reoffers.WithLabels({"network", "failed"}).Inc();
      return;
    }
    c->webrtc.sent_sdp = *offer;
    c->reoffer->browser_branch = std::string(kBranchPrefix) + RandomToken(8);
    c->reoffer->browser_cseq = ++c->browser.cseq;
    host_.SendToBrowser(c->conn, BrowserRequest(*c, "INVITE", c->reoffer->browser_cseq,
                                                c->reoffer->browser_branch, {}, "application/sdp",
                                                *offer));
  });
  return 0;
}

void B2bua::FinishNetworkReoffer(Call& call, SipMessage& browser_answer) {
  Call::Reoffer& r = *call.reoffer;
  const int status = browser_answer.status();
  const sip_t* sip = browser_answer.sip();
  if (status >= 300) {
    host_.SendToBrowser(call.conn, BrowserRequest(call, "ACK", r.browser_cseq, r.browser_branch, {}, {}, {}));
    nta_incoming_treply(r.network_irq, status, sip->sip_status->st_phrase, TAG_END());
    nta_incoming_destroy(r.network_irq);
    // The node goes back to what the SIP side had before its offer.
    mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_LEGACY, call.incoming, r.previous);
    call.legacy.remote = r.previous;
    pool_->UpdateLeg(call.media, std::move(request), [](grpc::Status, mv1::UpdateLegResponse) {});
    call.reoffer.reset();
    Metrics::Get().reoffers.WithLabels({"network", "rejected"}).Inc();
    return;
  }
  host_.SendToBrowser(call.conn, BrowserRequest(call, "ACK", r.browser_cseq,
                                                std::string(kBranchPrefix) + RandomToken(8), {}, {}, {}));
  auto peer = ParseWebRtcPeer(Body(sip));
  if (!peer.ok()) {
    nta_incoming_treply(r.network_irq, 488, "Not Acceptable Here", TAG_END());
    nta_incoming_destroy(r.network_irq);
    r.network_irq = nullptr;
    SendByeToBrowser(call);
    SendByeToNetwork(call);
    return End(call, "bad_answer");
  }
  call.webrtc.remote = peer->remote;
  call.webrtc.remote_sdp = peer->sdp;
  mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_WEBRTC, false, peer->remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request), [this, id](grpc::Status st, mv1::UpdateLegResponse response) {
    Call* c = Find(id);
    if (!c || !c->reoffer) return;
    absl::StatusOr<std::string> answer = absl::InternalError(st.error_message());
    if (st.ok()) {
      *c->local.mutable_webrtc_leg() = response.local();
      if (response.has_other()) *c->local.mutable_legacy_leg() = response.other();
      sdp::LocalSdpOptions options;
      options.transcoding = media_.enable_media_coder();
      options.answer_to = &c->reoffer->offer_sdp;
      options.far_streams = &c->webrtc.remote.streams();
      answer = NextSdp(c->legacy, options, [c](const sdp::LocalSdpOptions& o) {
        return sdp::WriteLegacySdp(c->local.legacy_leg(), o);
      });
    }
    nta_incoming_t* irq = std::exchange(c->reoffer->network_irq, nullptr);
    if (!answer.ok()) {
      nta_incoming_treply(irq, 488, "Not Acceptable Here", TAG_END());
      nta_incoming_destroy(irq);
      c->reoffer.reset();
      Metrics::Get().reoffers.WithLabels({"network", "failed"}).Inc();
      return;
    }
    c->legacy.sent_sdp = *answer;
    c->legacy.remote_sdp = c->reoffer->offer_sdp;
    nta_incoming_treply(irq, 200, "OK", SIPTAG_CONTACT_STR(NetworkContact(*c).c_str()),
                        SIPTAG_ALLOW_STR(kAllow), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(c->legacy.sent_sdp.c_str()), TAG_END());
    nta_incoming_destroy(irq);
    c->reoffer.reset();
    Metrics::Get().reoffers.WithLabels({"network", "ok"}).Inc();
  });
}

// ---------------------------------------------------------------- from the browser

void B2bua::HandleBrowserInDialog(Call& call, SipMessage& msg) {
  const sip_method_t method = msg.method();
  sip_t* sip = msg.sip();
  switch (method) {
    case sip_method_ack:
      return;  // of the B2BUA's own answers: hop by hop
    case sip_method_cancel: {
      host_.SendToBrowser(call.conn, MakeResponse(msg, 200, "OK"));
      if (call.reoffer && call.reoffer->from_browser && call.reoffer->network_orq) {
        nta_outgoing_tcancel(call.reoffer->network_orq, nullptr, nullptr, TAG_END());
        return;
      }
      if (call.incoming || call.answered) return;
      call.cancelled = true;
      if (call.invite_orq && !call.confirmed) nta_outgoing_tcancel(call.invite_orq, nullptr, nullptr, TAG_END());
      ReplyBrowser(call, 487, "Request Terminated");
      if (!call.invite_orq) End(call, "cancelled");
      return;
    }
    case sip_method_bye:
      host_.SendToBrowser(call.conn, BrowserResponse(call, msg, 200, "OK"));
      SendByeToNetwork(call);
      return End(call, "browser_bye");
    case sip_method_invite:
      if (sip->sip_to && sip->sip_to->a_tag) return StartBrowserReoffer(call, msg);
      host_.SendToBrowser(call.conn, MakeResponse(msg, 482, "Loop Detected"));
      return;
    case sip_method_prack:
      host_.SendToBrowser(call.conn, BrowserResponse(call, msg, 200, "OK"));
      return;
    case sip_method_info:
      if (RelayDtmfInfo(call, msg)) return;
      [[fallthrough]];
    default:
      if (!call.confirmed) {
        host_.SendToBrowser(call.conn, BrowserResponse(call, msg, 491, "Request Pending"));
        return;
      }
      ForwardToNetwork(call, msg);
  }
}

void B2bua::ForwardToNetwork(Call& call, SipMessage& msg) {
  const sip_t* sip = msg.sip();
  auto& entry = call.to_network.emplace_back();
  entry.call = &call;
  entry.browser_request = std::move(msg);
  const sip_t* bsip = entry.browser_request.sip();
  entry.orq = nta_outgoing_tcreate(
      call.leg, &B2bua::OnForwardedResponse, reinterpret_cast<nta_outgoing_magic_t*>(&entry), nullptr,
      bsip->sip_request->rq_method, MethodName(bsip), nullptr,
      TAG_IF(bsip->sip_content_type, SIPTAG_CONTENT_TYPE(bsip->sip_content_type)),
      TAG_IF(bsip->sip_payload, SIPTAG_PAYLOAD(bsip->sip_payload)),
      TAG_IF(bsip->sip_event, SIPTAG_EVENT(bsip->sip_event)),
      TAG_IF(bsip->sip_subscription_state, SIPTAG_SUBSCRIPTION_STATE(bsip->sip_subscription_state)),
      TAG_IF(bsip->sip_refer_to, SIPTAG_REFER_TO(bsip->sip_refer_to)),
      TAG_IF(bsip->sip_referred_by, SIPTAG_REFERRED_BY(bsip->sip_referred_by)), TAG_END());
  Metrics::Get().in_dialog.WithLabels({MethodName(bsip), "network"}).Inc();
  if (!entry.orq) {
    host_.SendToBrowser(call.conn, BrowserResponse(call, entry.browser_request, 500, "Server Internal Error"));
    call.to_network.pop_back();
  }
  (void)sip;
}

int B2bua::OnForwardedResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* entry = reinterpret_cast<Call::ToNetwork*>(magic);
  Call& call = *entry->call;
  B2bua* self = call.b2bua;
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
  if (status < 200 || call.ending) return 0;
  const std::string body = Body(sip);
  const std::string content_type = sip && sip->sip_content_type && sip->sip_content_type->c_type
                                       ? sip->sip_content_type->c_type
                                       : "";
  std::string text = self->BrowserResponse(call, entry->browser_request, status,
                                           sip && sip->sip_status && sip->sip_status->st_phrase
                                               ? sip->sip_status->st_phrase
                                               : "Request Timeout");
  if (!body.empty() && !text.empty()) {
    text.resize(text.size() - std::string("Content-Length: 0\r\n\r\n").size());
    text += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body;
  }
  self->host_.SendToBrowser(call.conn, std::move(text));
  for (auto it = call.to_network.begin(); it != call.to_network.end(); ++it) {
    if (&*it != entry) continue;
    nta_outgoing_destroy(orq);
    call.to_network.erase(it);
    break;
  }
  return 0;
}

void B2bua::StartBrowserReoffer(Call& call, SipMessage& msg) {
  if (call.reoffer || !call.confirmed) {
    host_.SendToBrowser(call.conn, BrowserResponse(call, msg, 491, "Request Pending"));
    return;
  }
  const std::string body = Body(msg.sip());
  if (body.empty()) {
    // An offerless re-INVITE: the 200 offers the current SDP again.
    host_.SendToBrowser(call.conn, BrowserResponse(call, msg, 200, "OK", {}, call.webrtc.sent_sdp));
    return;
  }
  auto peer = ParseWebRtcPeer(body);
  if (!peer.ok() || peer->remote.streams_size() != call.webrtc.remote.streams_size()) {
    log::Warn("browser re-offer refused",
              {{"call_id", call.browser.call_id},
               {"error", peer.ok() ? "number of streams changed" : std::string(peer.status().message())}});
    host_.SendToBrowser(call.conn, BrowserResponse(call, msg, 488, "Not Acceptable Here"));
    Metrics::Get().reoffers.WithLabels({"browser", "refused"}).Inc();
    return;
  }
  auto& r = call.reoffer.emplace();
  r.from_browser = true;
  r.browser_request = std::move(msg);
  r.previous = call.webrtc.remote;
  r.offer_sdp = peer->sdp;
  call.webrtc.remote = peer->remote;
  mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_WEBRTC, true, peer->remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request), [this, id](grpc::Status st, mv1::UpdateLegResponse response) {
    Call* c = Find(id);
    if (!c || !c->reoffer) return;
    absl::StatusOr<std::string> offer = absl::InternalError(st.error_message());
    if (st.ok()) {
      *c->local.mutable_webrtc_leg() = response.local();
      if (response.has_other()) *c->local.mutable_legacy_leg() = response.other();
      sdp::LocalSdpOptions options;
      options.transcoding = media_.enable_media_coder();
      options.far_streams = &c->webrtc.remote.streams();
      offer = NextSdp(c->legacy, options, [c](const sdp::LocalSdpOptions& o) {
        return sdp::WriteLegacySdp(c->local.legacy_leg(), o);
      });
    }
    if (!offer.ok()) {
      log::Warn("browser re-offer failed", {{"call_id", c->browser.call_id},
                                            {"error", std::string(offer.status().message())}});
      host_.SendToBrowser(c->conn, BrowserResponse(*c, c->reoffer->browser_request, 488, "Not Acceptable Here"));
      c->webrtc.remote = c->reoffer->previous;
      c->reoffer.reset();
      Metrics::Get().reoffers.WithLabels({"browser", "failed"}).Inc();
      return;
    }
    c->legacy.sent_sdp = *offer;
    const std::string expires = c->session_timer.interval
                                    ? std::to_string(c->session_timer.interval) + ";refresher=" +
                                          (c->session_timer.we_refresh ? "uac" : "uas")
                                    : std::string();
    c->reoffer->network_orq = nta_outgoing_tcreate(
        c->leg, &B2bua::OnReofferResponse, reinterpret_cast<nta_outgoing_magic_t*>(c), nullptr,
        SIP_METHOD_INVITE, nullptr, SIPTAG_CONTACT_STR(NetworkContact(*c).c_str()),
        SIPTAG_SUPPORTED_STR("timer"), SIPTAG_ALLOW_STR(kAllow),
        TAG_IF(!expires.empty(), SIPTAG_SESSION_EXPIRES_STR(expires.c_str())),
        SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(c->legacy.sent_sdp.c_str()),
        TAG_END());
    if (!c->reoffer->network_orq) {
      host_.SendToBrowser(c->conn, BrowserResponse(*c, c->reoffer->browser_request, 500, "Server Internal Error"));
      c->reoffer.reset();
    }
  });
}

int B2bua::OnReofferResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  if (!call->ending && call->reoffer && call->reoffer->network_orq == orq) {
    call->b2bua->FinishBrowserReoffer(*call, orq, sip);
  }
  return 0;
}

void B2bua::FinishBrowserReoffer(Call& call, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
  if (status < 200) return;
  Call::Reoffer& r = *call.reoffer;
  if (status >= 300) {
    const char* phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : "Request Timeout";
    host_.SendToBrowser(call.conn, BrowserResponse(call, r.browser_request, status, phrase));
    Metrics::Get().reoffers.WithLabels({"browser", "rejected"}).Inc();
    if (status == 481 || status == 408) {
      // RFC 5057: the dialog is gone on the SIP side.
      SendByeToBrowser(call);
      return End(call, "network_dialog_gone");
    }
    // The node goes back to what the browser had before its offer.
    mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_WEBRTC, false, r.previous);
    call.webrtc.remote = r.previous;
    pool_->UpdateLeg(call.media, std::move(request), [](grpc::Status, mv1::UpdateLegResponse) {});
    nta_outgoing_destroy(std::exchange(r.network_orq, nullptr));
    call.reoffer.reset();
    return;
  }
  SendNetworkAck(call, orq);
  call.session_timer.NegotiateAsUac(sip);
  ArmSessionTimer(call);
  auto peer = ParseLegacyPeer(Body(sip));
  if (!peer.ok() || peer->remote.streams_size() != call.legacy.remote.streams_size()) {
    host_.SendToBrowser(call.conn, BrowserResponse(call, r.browser_request, 488, "Not Acceptable Here"));
    SendByeToBrowser(call);
    SendByeToNetwork(call);
    return End(call, "bad_answer");
  }
  call.legacy.remote = peer->remote;
  call.legacy.remote_sdp = peer->sdp;
  call.legacy.remote_origin = OriginKey(Body(sip));
  mv1::UpdateLegRequest request = LegUpdate(mv1::LEG_SIDE_LEGACY, false, peer->remote);
  const uint64_t id = call.id;
  pool_->UpdateLeg(call.media, std::move(request), [this, id](grpc::Status st, mv1::UpdateLegResponse response) {
    Call* c = Find(id);
    if (!c || !c->reoffer) return;
    absl::StatusOr<std::string> answer = absl::InternalError(st.error_message());
    if (st.ok()) {
      *c->local.mutable_legacy_leg() = response.local();
      if (response.has_other()) *c->local.mutable_webrtc_leg() = response.other();
      sdp::LocalSdpOptions options;
      options.transcoding = media_.enable_media_coder();
      options.answer_to = &c->reoffer->offer_sdp;
      options.far_streams = &c->legacy.remote.streams();
      answer = NextSdp(c->webrtc, options, [c](const sdp::LocalSdpOptions& o) {
        return sdp::WriteWebRtcSdp(c->local.webrtc_leg(), o);
      });
    }
    if (!answer.ok()) {
      host_.SendToBrowser(c->conn, BrowserResponse(*c, c->reoffer->browser_request, 488, "Not Acceptable Here"));
      Metrics::Get().reoffers.WithLabels({"browser", "failed"}).Inc();
    } else {
      c->webrtc.sent_sdp = *answer;
      c->webrtc.remote_sdp = c->reoffer->offer_sdp;
      host_.SendToBrowser(c->conn, BrowserResponse(*c, c->reoffer->browser_request, 200, "OK", {}, *answer));
      Metrics::Get().reoffers.WithLabels({"browser", "ok"}).Inc();
    }
    if (c->reoffer->network_orq) nta_outgoing_destroy(c->reoffer->network_orq);
    c->reoffer.reset();
  });
}

void B2bua::SendNetworkAck(Call& call, nta_outgoing_t* invite) {
  // The ACK of a 2xx carries the INVITE's CSeq number (a PRACK or another
  // request may have moved the leg's counter on since).
  sip_cseq_t* cseq = sip_cseq_create(call.home.get(), nta_outgoing_cseq(invite), SIP_METHOD_ACK);
  nta_outgoing_t* ack = nta_outgoing_tcreate(call.leg, nullptr, nullptr, nullptr, SIP_METHOD_ACK,
                                             nullptr, SIPTAG_CSEQ(cseq), TAG_END());
  if (ack) nta_outgoing_destroy(ack);
}

// ---------------------------------------------------------------- DTMF

bool B2bua::RelayDtmfInfo(Call& call, SipMessage& msg) {
  const sip_t* sip = msg.sip();
  if (!call.confirmed || !call.media || !sip->sip_content_type || !sip->sip_content_type->c_type) {
    return false;
  }
  auto press = ParseDtmfInfo(sip->sip_content_type->c_type, Body(sip));
  if (!press) return false;
  // The SIP side hears the key as RFC 4733 events (media.dtmf_type) when it
  // negotiated telephone-event; otherwise the INFO goes on as it came.
  mv1::SendDtmfRequest request;
  request.set_side(mv1::LEG_SIDE_LEGACY);
  request.set_event(press->event);
  request.set_duration_ms(press->duration_ms);
  auto info = std::make_shared<SipMessage>(std::move(msg));
  const uint64_t id = call.id;
  pool_->SendDtmf(call.media, std::move(request), [this, id, info](grpc::Status st) {
    Call* c = Find(id);
    if (!c) return;
    if (st.ok()) {
      Metrics::Get().dtmf.WithLabels({"rfc4733"}).Inc();
      host_.SendToBrowser(c->conn, BrowserResponse(*c, *info, 200, "OK"));
    } else if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      Metrics::Get().dtmf.WithLabels({"info_forwarded"}).Inc();
      ForwardToNetwork(*c, *info);
    } else {
      Metrics::Get().dtmf.WithLabels({"failed"}).Inc();
      log::Warn("dtmf not played", {{"call_id", c->browser.call_id}, {"error", st.error_message()}});
      host_.SendToBrowser(c->conn, BrowserResponse(*c, *info, 500, "Server Internal Error"));
    }
  });
  return true;
}

// ---------------------------------------------------------------- RFC 4028

void B2bua::ArmSessionTimer(Call& call) {
  if (call.session_timer.source) {
    g_source_remove(call.session_timer.source);
    call.session_timer.source = 0;
  }
  if (call.ending || call.session_timer.interval == 0) return;
  call.session_timer.source =
      g_timeout_add_seconds(call.session_timer.DelaySeconds(), &B2bua::OnSessionTimer, &call);
}

gboolean B2bua::OnSessionTimer(gpointer data) {
  auto* call = static_cast<Call*>(data);
  call->session_timer.source = 0;
  B2bua* self = call->b2bua;
  if (call->ending) return G_SOURCE_REMOVE;
  if (call->session_timer.we_refresh) {
    self->SendSessionRefresh(*call);
    return G_SOURCE_REMOVE;
  }
  // RFC 4028 10: no refresh came in time: the SIP side is gone.
  log::Warn("session expired: no refresh from the SIP side", {{"call_id", call->browser.call_id}});
  Metrics::Get().session_refreshes.WithLabels({"network", "expired"}).Inc();
  self->SendByeToBrowser(*call);
  self->SendByeToNetwork(*call);
  self->End(*call, "session_expired");
  return G_SOURCE_REMOVE;
}

void B2bua::SendSessionRefresh(Call& call) {
  if (call.reoffer) {  // a re-INVITE in progress refreshes too; look again soon
    call.session_timer.source = g_timeout_add_seconds(2, &B2bua::OnSessionTimer, &call);
    return;
  }
  if (call.refresh_orq) nta_outgoing_destroy(std::exchange(call.refresh_orq, nullptr));
  // refresher=uac: the sender of this refresh, the B2BUA.
  const std::string expires = std::to_string(call.session_timer.interval) + ";refresher=uac";
  const bool update = call.network_allows_update;
  call.refresh_orq = nta_outgoing_tcreate(
      call.leg, &B2bua::OnRefreshResponse, reinterpret_cast<nta_outgoing_magic_t*>(&call), nullptr,
      update ? sip_method_update : sip_method_invite, update ? "UPDATE" : "INVITE", nullptr,
      SIPTAG_CONTACT_STR(NetworkContact(call).c_str()), SIPTAG_SUPPORTED_STR("timer"),
      SIPTAG_SESSION_EXPIRES_STR(expires.c_str()),
      TAG_IF(!update, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
      TAG_IF(!update, SIPTAG_PAYLOAD_STR(call.legacy.sent_sdp.c_str())), TAG_END());
}

int B2bua::OnRefreshResponse(nta_outgoing_magic_t* magic, nta_outgoing_t* orq, const sip_t* sip) {
  auto* call = reinterpret_cast<Call*>(magic);
  B2bua* self = call->b2bua;
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
  if (status < 200 || call->ending) return 0;
  const bool invite = sip && sip->sip_cseq && sip->sip_cseq->cs_method == sip_method_invite;
  if (status < 300) {
    if (invite) self->SendNetworkAck(*call, orq);
    Metrics::Get().session_refreshes.WithLabels({"gateway", "ok"}).Inc();
    // The answer may move the interval or hand the refresh over.
    if (sip->sip_session_expires) call->session_timer.NegotiateAsUac(sip);
    self->ArmSessionTimer(*call);
    return 0;
  }
  Metrics::Get().session_refreshes.WithLabels({"gateway", "failed"}).Inc();
  if (status == 481 || status == 408) {
    self->SendByeToBrowser(*call);
    self->End(*call, "network_dialog_gone");
    return 0;
  }
  self->ArmSessionTimer(*call);  // try again at the next half interval
  return 0;
}

}  // namespace webrtc2sip::signaling
