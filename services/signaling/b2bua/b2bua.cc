#include "services/signaling/b2bua/b2bua.h"

#include <openssl/rand.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>

#include "common/log/logger.h"
#include "services/signaling/b2bua/b2bua_call.h"
#include "services/signaling/b2bua/b2bua_support.h"
#include "services/signaling/sdp/media_translator.h"
#include "services/signaling/sdp/sdp_parser.h"
#include "services/signaling/sip/local_response.h"

namespace webrtc2sip::signaling {

namespace b2bua_support {

Metrics& Metrics::Get() {
  auto& r = metrics::Registry::Global();
  static Metrics m{
      r.AddCounter("webrtc2sip_b2bua_calls_total", "B2BUA calls by direction and outcome.",
                   {"direction", "outcome"}),
      r.AddGauge("webrtc2sip_b2bua_active_calls", "B2BUA calls in progress.", {}),
      r.AddHistogram("webrtc2sip_b2bua_setup_seconds",
                     "From the first INVITE to the 200 that answers it, by direction.",
                     {"direction"}, {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      r.AddHistogram("webrtc2sip_b2bua_media_setup_seconds",
                     "From the INVITE to the allocation of the media session on a node.",
                     {"direction"}, {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      r.AddHistogram("webrtc2sip_b2bua_media_flowing_seconds",
                     "From the first INVITE to the node's report that ICE and DTLS are done "
                     "on the browser leg (media can flow), by direction.",
                     {"direction"}, {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      r.AddCounter("webrtc2sip_b2bua_challenges_answered_total",
                   "401/407 challenges the B2BUA answered with a browser's HA1 token.", {}),
      r.AddCounter("webrtc2sip_b2bua_reoffers_total",
                   "re-INVITEs carried across a B2BUA call, by the side that sent them and outcome.",
                   {"from", "outcome"}),
      r.AddCounter("webrtc2sip_b2bua_in_dialog_requests_total",
                   "Requests inside B2BUA calls carried to the other side, by method and direction.",
                   {"method", "to"}),
      r.AddCounter("webrtc2sip_b2bua_dtmf_total",
                   "SIP INFO DTMF (application/dtmf-relay) turned into RFC 4733 events, by outcome.",
                   {"outcome"}),
      r.AddCounter("webrtc2sip_b2bua_session_refreshes_total",
                   "RFC 4028 session refreshes on the network leg, by who refreshed and outcome.",
                   {"by", "outcome"}),
  };
  return m;
}

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
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

std::string WithoutTag(std::string value) {
  for (size_t pos = value.find(';'); pos != std::string::npos; pos = value.find(';', pos + 1)) {
    if (value.compare(pos, 5, ";tag=") != 0 && value.compare(pos, 5, ";TAG=") != 0) continue;
    // Only outside <...>: a tag is a header parameter.
    if (value.rfind('>', pos) == std::string::npos && value.find('<') != std::string::npos) continue;
    size_t end = value.find(';', pos + 1);
    value.erase(pos, end == std::string::npos ? std::string::npos : end - pos);
    break;
  }
  return value;
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

std::string OriginKey(std::string_view sdp) {
  size_t pos = sdp.rfind("\no=", 0) == 0 ? 0 : sdp.find("\no=");
  if (sdp.substr(0, 2) == "o=") pos = 0;
  else if (pos == std::string_view::npos) return {};
  else pos += 1;
  size_t end = sdp.find_first_of("\r\n", pos);
  std::string_view line = sdp.substr(pos + 2, end == std::string_view::npos ? std::string_view::npos : end - pos - 2);
  // o=<username> <sess-id> <sess-version> ...: the id and the version.
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return {};
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return {};
  size_t c = line.find(' ', b + 1);
  return std::string(line.substr(a + 1, (c == std::string_view::npos ? line.size() : c) - a - 1));
}

std::string BracketHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

namespace {

template <typename ToRemote>
absl::StatusOr<PeerSdp> ParsePeer(std::string_view body, ToRemote to_remote) {
  auto parsed = sdp::ParseSdp(body);
  if (!parsed.ok()) return parsed.status();
  auto remote = to_remote(*parsed);
  if (!remote.ok()) return remote.status();
  return PeerSdp{std::move(*parsed), std::move(*remote)};
}

}  // namespace

absl::StatusOr<PeerSdp> ParseWebRtcPeer(std::string_view body) {
  return ParsePeer(body, [](const sdp::SessionDescription& d) { return sdp::WebRtcSdpToRemote(d); });
}

absl::StatusOr<PeerSdp> ParseLegacyPeer(std::string_view body) {
  return ParsePeer(body, [](const sdp::SessionDescription& d) { return sdp::LegacySdpToRemote(d); });
}

media::v1::SrtpMode LegacySrtpMode(const config::v1::Media& media) {
  switch (media.srtp_mode()) {
    case config::v1::SRTP_MODE_NONE: return media::v1::SRTP_MODE_NONE;
    case config::v1::SRTP_MODE_MANDATORY: return media::v1::SRTP_MODE_MANDATORY;
    default: return media::v1::SRTP_MODE_OPTIONAL;
  }
}

media::v1::UpdateLegRequest LegUpdate(media::v1::LegSide side, bool is_offer,
                                      const media::v1::RemoteDescription& remote) {
  media::v1::UpdateLegRequest request;
  request.set_side(side);
  request.set_is_offer(is_offer);
  *request.mutable_remote() = remote;
  return request;
}

}  // namespace b2bua_support

using namespace b2bua_support;

B2bua::B2bua(Host& host, SipStack& stack, const config::v1::Signaling& signaling,
             const config::v1::Media& media, std::shared_ptr<MediaNodePool> pool)
    : host_(host), stack_(stack), signaling_(signaling), media_(media), pool_(std::move(pool)) {
  Metrics::Get().active.WithLabels({}).Set(0);
}

B2bua::~B2bua() {
  if (reap_source_) g_source_remove(reap_source_);
  for (auto& [id, call] : calls_) {
    if (call->session_timer.source) g_source_remove(call->session_timer.source);
    ReleaseTransactions(*call);
  }
}

void B2bua::ReleaseTransactions(Call& call) {
  // nta keeps a destroyed transaction to absorb retransmissions; no callback
  // reaches the call after this.
  for (auto& f : call.to_network) nta_outgoing_destroy(f.orq);
  for (auto& t : call.to_browser) nta_incoming_destroy(t.irq);
  if (call.reoffer) {
    if (call.reoffer->network_orq) nta_outgoing_destroy(call.reoffer->network_orq);
    if (call.reoffer->network_irq) nta_incoming_destroy(call.reoffer->network_irq);
  }
  if (call.refresh_orq) nta_outgoing_destroy(call.refresh_orq);
  if (call.invite_orq) nta_outgoing_destroy(call.invite_orq);
  if (call.irq) nta_incoming_destroy(call.irq);
  if (call.leg) nta_leg_destroy(call.leg);
}

bool B2bua::WantsBreaker(const sip_t* sip) {
  if (!sip) return false;
  for (const sip_contact_t* m = sip->sip_contact; m; m = m->m_next) {
    if (UrlParam(m->m_url, "rtcweb-breaker") == "yes") return true;
  }
  return false;
}

B2bua::Call* B2bua::Find(uint64_t id) {
  auto it = calls_.find(id);
  return it == calls_.end() || it->second->ending ? nullptr : it->second.get();
}

bool B2bua::OnBrowserRequest(ConnectionId conn, SipMessage& msg) {
  sip_t* sip = msg.sip();
  auto known = by_browser_call_id_.find(msg.call_id());
  if (known != by_browser_call_id_.end()) {
    auto it = calls_.find(known->second);
    if (it != calls_.end() && it->second->conn == conn) {
      if (it->second->ending) {
        if (msg.method() != sip_method_ack) {
          host_.SendToBrowser(conn, MakeResponse(msg, 481, "Call/Transaction Does Not Exist"));
        }
      } else {
        HandleBrowserInDialog(*it->second, msg);
      }
      return true;
    }
  }
  if (msg.method() != sip_method_invite || sip->sip_to->a_tag) return false;
  if (!WantsBreaker(sip) && !host_.RegisteredForBreaker(conn)) return false;
  StartOutgoing(conn, std::move(msg));
  return true;
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
  if (it == calls_.end() || it->second->conn != conn || it->second->ending) return true;
  Call& call = *it->second;
  if (call.incoming && msg.method() == sip_method_invite && call.invite_branch == sip->sip_via->v_branch) {
    HandleBrowserAnswer(call, msg);
  } else {
    HandleBrowserInDialogResponse(call, msg);
  }
  return true;
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
  Call* call = Find(it->second);
  if (!call) return;
  // Media cannot flow any more: both legs get BYE (or a final answer).
  log::Warn("media session lost", {{"call_id", call->browser.call_id},
                                   {"reason", std::string(MediaSessionLossName(reason))},
                                   {"detail", detail}});
  if (!call->incoming && !call->answered) {
    ReplyBrowser(*call, 503, "Service Unavailable");
  } else {
    SendByeToBrowser(*call);
  }
  SendByeToNetwork(*call);
  End(*call, "media_lost");
}

void B2bua::OnMediaSessionConnected(const std::string& session_id) {
  auto it = by_session_.find(session_id);
  if (it == by_session_.end()) return;
  Call* call = Find(it->second);
  if (!call || call->media_flowing) return;
  call->media_flowing = true;
  Metrics::Get().media_flowing.WithLabels({call->incoming ? "incoming" : "outgoing"}).Observe(
      std::chrono::duration<double>(Clock::now() - call->start).count());
}

std::string B2bua::BrowserContact(const Call& call) const {
  auto peer = host_.Peer(call.conn);
  if (!peer) return "<sip:b2bua-" + std::to_string(call.id) + "@gateway.invalid;transport=ws>";
  return "<sip:b2bua-" + std::to_string(call.id) + "@" + BracketHost(peer->local_host) + ":" +
         std::to_string(peer->local_port) + ";transport=" + (peer->secure ? "wss" : "ws") + ">";
}

std::string B2bua::NetworkContact(const Call& call) const {
  const SideAddress& net = stack_.net_side();
  return "<sip:b2bua-" + std::to_string(call.id) + "@" + BracketHost(net.host) + ":" +
         std::to_string(net.port) + ";transport=" + net.transport + ">";
}

std::string B2bua::BrowserRequest(Call& call, const char* method, uint32_t cseq,
                                  const std::string& branch, std::string_view extra_headers,
                                  std::string_view content_type, std::string_view body) {
  auto peer = host_.Peer(call.conn);
  const std::string host = peer ? BracketHost(peer->local_host) : "gateway.invalid";
  const std::string port = peer ? std::to_string(peer->local_port) : "0";
  const BrowserDialog& d = call.browser;
  std::string text = std::string(method) + " " + d.target + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/" + std::string(peer && peer->secure ? "WSS " : "WS ") + host + ":" + port +
          ";branch=" + branch + "\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: " + d.local + ";tag=" + d.local_tag + "\r\n";
  text += "To: " + d.remote + (d.remote_tag.empty() ? "" : ";tag=" + d.remote_tag) + "\r\n";
  text += "Call-ID: " + d.call_id + "\r\n";
  text += "CSeq: " + std::to_string(cseq) + " " + method + "\r\n";
  text += "Contact: " + BrowserContact(call) + "\r\n";
  text += extra_headers;
  if (!body.empty()) {
    text += "Content-Type: " + std::string(content_type) + "\r\n";
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    text += body;
  } else {
    text += "Content-Length: 0\r\n\r\n";
  }
  return text;
}

std::string B2bua::BrowserResponse(Call& call, const SipMessage& request, int status,
                                   std::string_view reason, std::string_view extra_headers,
                                   std::string_view sdp) {
  std::string text = MakeResponse(request, status, reason, extra_headers);
  if (text.empty()) return text;
  // MakeResponse puts the gateway's generic tag: this dialog has its own.
  const std::string generic = ";tag=" + std::string(LocalTag());
  if (auto pos = text.find(generic); pos != std::string::npos) {
    text.replace(pos, generic.size(), ";tag=" + call.browser.local_tag);
  }
  const std::string tail = "Content-Length: 0\r\n\r\n";
  text.resize(text.size() - tail.size());
  if (status > 100 && status < 300 && request.method() == sip_method_invite) {
    text += "Contact: " + BrowserContact(call) + "\r\n";
  }
  if (!sdp.empty()) {
    text += "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
            "\r\n\r\n";
    text += sdp;
  } else {
    text += tail;
  }
  return text;
}

void B2bua::ReplyBrowser(Call& call, int status, std::string_view reason, const std::string& sdp) {
  if (call.answered || call.incoming || !host_.Peer(call.conn)) return;
  std::string text = BrowserResponse(call, call.invite, status, reason, {}, sdp);
  if (text.empty()) return;
  if (status >= 200) {
    call.answered = true;
    if (status < 300) {
      Metrics::Get().setup.WithLabels({"outgoing"}).Observe(
          std::chrono::duration<double>(Clock::now() - call.start).count());
    }
  }
  host_.SendToBrowser(call.conn, std::move(text));
}

void B2bua::SendByeToBrowser(Call& call) {
  if (!host_.Peer(call.conn)) return;
  if (call.incoming && call.browser.remote_tag.empty()) {
    // Not answered yet: the browser's INVITE is cancelled instead.
    if (!call.invite_branch.empty()) {
      host_.SendToBrowser(call.conn, BrowserRequest(call, "CANCEL", call.browser.cseq,
                                                    call.invite_branch, {}, {}, {}));
    }
    return;
  }
  if (!call.incoming && !call.answered) return;
  host_.SendToBrowser(call.conn, BrowserRequest(call, "BYE", ++call.browser.cseq,
                                                std::string(kBranchPrefix) + RandomToken(8), {},
                                                {}, {}));
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

void B2bua::End(Call& call, const std::string& outcome) {
  if (call.ending) return;
  call.ending = true;
  Metrics::Get().calls.WithLabels({call.incoming ? "incoming" : "outgoing", outcome}).Inc();
  log::Info("b2bua call ended", {{"call_id", call.browser.call_id}, {"outcome", outcome}});
  if (call.session_timer.source) {
    g_source_remove(call.session_timer.source);
    call.session_timer.source = 0;
  }
  // What is still waiting for the other side gets its answer now.
  if (call.reoffer) {
    if (call.reoffer->network_irq) {
      nta_incoming_treply(call.reoffer->network_irq, 481, "Call/Transaction Does Not Exist", TAG_END());
    }
    if (call.reoffer->browser_request && host_.Peer(call.conn)) {
      host_.SendToBrowser(call.conn, BrowserResponse(call, call.reoffer->browser_request, 481,
                                                     "Call/Transaction Does Not Exist"));
    }
  }
  for (auto& t : call.to_browser) {
    nta_incoming_treply(t.irq, 481, "Call/Transaction Does Not Exist", TAG_END());
  }
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
    b->by_browser_call_id_.erase(call.browser.call_id);
    ReleaseTransactions(call);
    b->calls_.erase(it);
  }
  Metrics::Get().active.WithLabels({}).Set(static_cast<double>(b->calls_.size()));
  return G_SOURCE_REMOVE;
}

}  // namespace webrtc2sip::signaling
