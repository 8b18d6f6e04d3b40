#include "services/signaling/sip/sip_proxy.h"

#include <openssl/rand.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "common/config/config_loader.h"
#include "common/log/logger.h"
#include "services/signaling/sip/local_response.h"
#include "services/signaling/sip/proxy_metrics.h"

namespace webrtc2sip::signaling {
namespace {

constexpr std::string_view kBranchPrefix = "z9hG4bK-w2s-";
constexpr guint kInviteLingerMs = 32000;     // absorb ACKs, pass 2xx retransmissions
constexpr guint kBrowserInviteTimeoutMs = 180000;  // Timer C
constexpr guint kBrowserRequestTimeoutMs = 32000;  // Timer F
constexpr const char* kDrainRetryAfter = "5";  // seconds, in 503s while draining

std::string StatusClass(int status) {
  if (status <= 0) return "timeout";
  return std::to_string(status / 100) + "xx";
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string BranchOf(const sip_t* sip) {
  return sip && sip->sip_via && sip->sip_via->v_branch ? sip->sip_via->v_branch : "";
}

bool CreatesDialog(sip_method_t m) {
  return m == sip_method_invite || m == sip_method_subscribe || m == sip_method_refer;
}

// RFC 3263 4.1/4.2 for a next hop whose host is an IP address: no DNS.
std::optional<SipTarget> NumericTarget(const url_t* url) {
  if (!url || !url->url_host) return std::nullopt;
  std::string host = url->url_host;
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
    return std::nullopt;
  }
  if (url_has_param(url, "maddr")) return std::nullopt;  // the resolver knows maddr
  const bool sips = url->url_type == url_sips;
  char transport[16] = {0};
  std::string t = sips ? "tls" : "udp";
  if (url->url_params && url_param(url->url_params, "transport", transport, sizeof transport) > 0) {
    t = transport;
    for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (sips && t == "tcp") t = "tls";
  }
  if (t != "udp" && t != "tcp" && t != "tls") return std::nullopt;
  const uint16_t port = url->url_port ? static_cast<uint16_t>(std::atoi(url->url_port))
                                      : static_cast<uint16_t>(t == "tls" ? 5061 : 5060);
  return SipTarget{t, host, port};
}

bool IsOwnVia(const sip_via_t* via) {
  return via && via->v_branch && std::string_view(via->v_branch).rfind(kBranchPrefix, 0) == 0;
}

}  // namespace

struct SipProxy::Connection {
  WsPeer peer;
  std::string flow;
  bool breaker = false;  // registered with rtcweb-breaker=yes
  double tokens = 0;  // rate limit bucket
  Clock::time_point refilled = Clock::now();
};

struct SipProxy::Outgoing {
  SipProxy* proxy = nullptr;
  uint64_t id = 0;
  ConnectionId conn = 0;
  std::string flow;
  std::string browser_branch;
  sip_method_t method = sip_method_invalid;
  std::string method_name;
  std::string call_id;
  nta_outgoing_t* orq = nullptr;
  int final_status = 0;
  DeadlineQueue::Handle linger_timer;
  bool finishing = false;
  // RFC 3263: where the request may go, tried in order on 503 or timeout.
  SipMessage request;  // as it leaves for the network, before nta's Via
  SipResolver::Handle resolving;
  std::vector<SipTarget> targets;
  size_t next_target = 0;
  bool cancelled = false;  // the browser cancelled before anything was sent
  Clock::time_point start;
};

struct SipProxy::Incoming {
  SipProxy* proxy = nullptr;
  uint64_t id = 0;
  ConnectionId conn = 0;
  std::string flow;
  std::string branch;  // our Via branch toward the browser
  SipMessage request;  // as sent to the browser, to build a CANCEL from
  sip_method_t method = sip_method_invalid;
  std::string method_name;
  nta_incoming_t* irq = nullptr;
  DeadlineQueue::Handle timer;
  bool finishing = false;
};

SipProxy::SipProxy(GMainLoop* loop, const config::v1::Signaling& config,
                   const config::v1::Media& media)
    : config_(config) {
  GMainContext* context = g_main_loop_get_context(loop);
  incoming_timeouts_ =
      std::make_unique<DeadlineQueue>(context, [this](uint64_t id) { OnIncomingTimeout(id); });
  outgoing_linger_ =
      std::make_unique<DeadlineQueue>(context, [this](uint64_t id) { OnOutgoingLinger(id); });
  unsigned char salt[6];
  RAND_bytes(salt, sizeof salt);
  for (unsigned char b : salt) branch_salt_ += "0123456789abcdef"[b & 15];

  stack_ = std::make_unique<SipStack>(g_main_loop_get_context(loop), config_,
                                      &SipProxy::OnStrayMessage,
                                      reinterpret_cast<nta_agent_magic_t*>(this));
  auto [nameservers, dns_port] = config::SplitNameservers(config_);
  resolver_ = std::make_unique<SipResolver>(stack_->root(), nameservers, dns_port);
  std::vector<std::string> transports;
  for (const char* t : {"udp", "tcp", "tls"}) {
    if (stack_->port(t) != 0) transports.emplace_back(t);
  }
  resolver_->set_transports(std::move(transports));
  default_leg_ = nta_leg_tcreate(stack_->agent(), &SipProxy::OnNetRequest,
                                 reinterpret_cast<nta_leg_magic_t*>(this), NTATAG_NO_DIALOG(1),
                                 TAG_END());
  if (!default_leg_) throw std::runtime_error("cannot create the SIP default leg");

  media_pool_ = MediaNodePool::Create(g_main_loop_get_context(loop),
                                      MediaNodePool::Options::FromConfig(config_), this);
  b2bua_ = std::make_unique<B2bua>(*this, *stack_, config_, media, media_pool_);

  WsServer::Options options;
  options.max_message_size = config_.limits().max_sip_message_size();
  options.max_connections = config_.limits().max_ws_connections();
  options.max_connections_per_ip = config_.limits().max_ws_connections_per_ip();
  options.ping_interval_seconds = static_cast<uint16_t>(config_.limits().ws_keepalive_seconds());
  options.idle_timeout_seconds =
      static_cast<uint16_t>(config_.limits().ws_keepalive_seconds() * 5 / 2);
  ws_ = std::make_unique<WsServer>(loop, *this, options);
  for (const auto& t : config_.transports()) {
    const bool secure = t.protocol() == config::v1::TRANSPORT_PROTOCOL_WSS;
    if (!secure && t.protocol() != config::v1::TRANSPORT_PROTOCOL_WS) continue;
    WsServer::Endpoint ep;
    ep.address = t.address();
    ep.port = static_cast<uint16_t>(t.port());
    ep.secure = secure;
    ep.web_root = config_.web_root();
    if (secure) {
      ep.certificate = config_.ssl_certificates().certificate();
      ep.private_key = config_.ssl_certificates().private_key();
    }
    ws_->Listen(ep);
  }
  ProxyMetrics::Get().active_flows.Set(0);
}

SipProxy::~SipProxy() {
  if (reap_source_) g_source_remove(reap_source_);
  // WebSocket connections close first (their callbacks reach us), then the
  // B2BUA's calls and the media pool, then nta.
  ws_.reset();
  b2bua_.reset();
  media_pool_.reset();
  for (auto& [id, in] : incoming_) {
    if (in->irq) nta_incoming_destroy(in->irq);
  }
  for (auto& [id, out] : outgoing_) {
    if (out->orq) nta_outgoing_destroy(out->orq);
  }
  if (default_leg_) nta_leg_destroy(default_leg_);
  outgoing_.clear();  // their resolver handles go before the resolver
  resolver_.reset();
  stack_.reset();
}

// ------------------------------------------------------------ browser side

void SipProxy::OnWsOpen(const WsPeer& peer) {
  auto conn = std::make_unique<Connection>();
  conn->peer = peer;
  conn->flow = flows_.Open(peer.id);
  conn->tokens = config_.limits().max_messages_per_second();
  connections_[peer.id] = std::move(conn);
  ProxyMetrics::Get().active_flows.Set(static_cast<double>(flows_.size()));
  log::Debug("flow opened", {{"conn", std::to_string(peer.id)}, {"peer", peer.ip}});
}

void SipProxy::SendToBrowser(ConnectionId conn, std::string text) {
  ws_->Send(conn, std::move(text));
}

bool SipProxy::RegisteredForBreaker(ConnectionId conn) const {
  auto it = connections_.find(conn);
  return it != connections_.end() && it->second->breaker;
}

std::optional<WsPeer> SipProxy::Peer(ConnectionId conn) const {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return std::nullopt;
  return it->second->peer;
}

void SipProxy::OnMediaSessionLost(const std::string& session_id, MediaSessionLoss reason,
                                  const std::string& detail) {
  if (b2bua_) b2bua_->OnMediaSessionLost(session_id, reason, detail);
}

void SipProxy::OnMediaSessionConnected(const std::string& session_id) {
  if (b2bua_) b2bua_->OnMediaSessionConnected(session_id);
}

size_t SipProxy::calls_in_progress() const {
  size_t count = (b2bua_ ? b2bua_->active_calls() : 0) + dialogs_.size();
  for (const auto& [id, out] : outgoing_) {
    if (out->method == sip_method_invite && out->final_status == 0) ++count;
  }
  for (const auto& [id, in] : incoming_) {
    if (in->method == sip_method_invite && !in->finishing) ++count;
  }
  return count;
}

void SipProxy::OnWsClose(ConnectionId id, WsCloseReason) {
  if (b2bua_) b2bua_->OnBrowserGone(id);
  dialogs_.ConnectionClosed(id);
  flows_.Close(id);
  connections_.erase(id);
  ProxyMetrics::Get().active_flows.Set(static_cast<double>(flows_.size()));
  // Requests still waiting for this browser will never be answered by it.
  for (auto& [tid, in] : incoming_) {
    if (in->conn == id && !in->finishing && in->irq) {
      nta_incoming_treply(in->irq, 480, "Temporarily Unavailable", TAG_END());
      ProxyMetrics::Get()
          .transactions.WithLabels({"net_to_ws", in->method_name, "4xx"})
          .Inc();
      FinishIncoming(tid);
    }
  }
}

bool SipProxy::AllowMessage(Connection& conn) {
  const double rate = config_.limits().max_messages_per_second();
  const auto now = Clock::now();
  conn.tokens = std::min(2 * rate, conn.tokens + rate * Seconds(now - conn.refilled));
  conn.refilled = now;
  if (conn.tokens < 1) return false;
  conn.tokens -= 1;
  return true;
}

void SipProxy::OnWsMessage(ConnectionId id, std::string_view message, bool binary) {
  const auto start = Clock::now();
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& conn = *it->second;

  // RFC 5626 keep-alive ping: a CRLF pair, answered with one CRLF.
  if (message.find_first_not_of("\r\n") == std::string_view::npos) {
    if (message.size() >= 4) ws_->Send(id, "\r\n");
    return;
  }
  SipMessage msg;
  switch (SipMessage::Parse(message, msg)) {
    case SipMessage::ParseResult::kGarbage:
      ProxyMetrics::Get().Drop(binary ? "binary_garbage" : "garbage");
      log::Warn("not SIP: connection closed", {{"conn", std::to_string(id)}, {"peer", conn.peer.ip}});
      ws_->Close(id, WsCloseReason::kBadFrame);
      return;
    case SipMessage::ParseResult::kMalformed:
      ProxyMetrics::Get().Drop("malformed");
      if (msg.is_request() && msg.method() != sip_method_ack) {
        ReplyWs(conn, msg, 400, "Bad Request");
      }
      return;
    case SipMessage::ParseResult::kOk:
      break;
  }
  (msg.is_request() ? ProxyMetrics::Get().ws_requests : ProxyMetrics::Get().ws_responses).Inc();
  if (msg.is_request()) {
    if (!AllowMessage(conn)) {
      ProxyMetrics::Get().Drop("rate_limited");
      if (msg.method() != sip_method_ack) ReplyWs(conn, msg, 503, "Service Unavailable", "Retry-After: 1");
      return;
    }
    HandleWsRequest(conn, std::move(msg), start);
  } else {
    HandleWsResponse(conn, std::move(msg));
  }
}

void SipProxy::ReplyWs(const Connection& conn, const SipMessage& request, int status,
                       std::string_view reason, std::string_view extra) {
  std::string text = MakeResponse(request, status, reason, extra);
  if (!text.empty()) ws_->Send(conn.peer.id, std::move(text));
}

SideAddress SipProxy::WsSide(const Connection& conn) const {
  return SideAddress{conn.peer.local_host, conn.peer.local_port, conn.peer.secure ? "wss" : "ws"};
}

void SipProxy::HandleWsRequest(Connection& conn, SipMessage msg, Clock::time_point start) {
  // Calls of RTCWeb Breaker clients are the B2BUA's, not the proxy's.
  if (msg.method() == sip_method_register && B2bua::WantsBreaker(msg.sip())) conn.breaker = true;
  if (draining_ && msg.method() == sip_method_invite && !msg.sip()->sip_to->a_tag) {
    ProxyMetrics::Get().Drop("draining");
    return ReplyWs(conn, msg, 503, "Service Unavailable",
                   "Retry-After: " + std::string(kDrainRetryAfter));
  }
  if (b2bua_->OnBrowserRequest(conn.peer.id, msg)) return;
  const sip_method_t method = msg.method();
  if (method == sip_method_cancel) return HandleWsCancel(conn, std::move(msg));
  if (method == sip_method_ack) return HandleWsAck(conn, std::move(msg), start);

  if (!DecrementMaxForwards(msg)) {
    ProxyMetrics::Get().Drop("too_many_hops");
    return ReplyWs(conn, msg, 483, "Too Many Hops");
  }
  const std::string browser_branch = BranchOf(msg.sip());
  if (browser_branch.empty()) {
    ProxyMetrics::Get().Drop("malformed");
    return ReplyWs(conn, msg, 400, "Bad Request", "Warning: 399 webrtc2sip \"Via without branch\"");
  }
  if (outgoing_by_branch_.count(browser_branch)) return;  // a retransmission: already proxied

  StampReceived(msg, conn.peer.ip, conn.peer.port);
  PopOwnRoutes(msg);
  const SideAddress net = stack_->net_side();
  for (auto& [user, uri] : RewriteContacts(msg, net, conn.flow)) {
    flows_.RememberContact(conn.flow, user, std::move(uri));
  }
  sip_t* sip = msg.sip();
  if (CreatesDialog(method) && !sip->sip_to->a_tag) {
    AddRecordRoutes(msg, GatewayUri(WsSide(conn), conn.flow), GatewayUri(net, ""));
  }

  auto out = std::make_unique<Outgoing>();
  out->proxy = this;
  out->id = next_id_++;
  out->conn = conn.peer.id;
  out->flow = conn.flow;
  out->browser_branch = browser_branch;
  out->method = method;
  out->method_name = std::string(msg.method_name());
  out->call_id = msg.call_id();

  out->start = start;
  // The next hop: the outbound proxy, else the first Route, else the
  // Request-URI, resolved by RFC 3263.
  sip_t* fwd = msg.sip();
  url_t* hop = nullptr;
  if (config_.has_outbound_proxy()) {
    hop = url_make(msg.home(), config_.outbound_proxy().c_str());
  } else if (fwd->sip_route && url_has_param(fwd->sip_route->r_url, "lr")) {
    hop = fwd->sip_route->r_url;
  } else {
    hop = fwd->sip_request->rq_url;
  }
  std::optional<SipTarget> numeric = NumericTarget(hop);
  out->request = std::move(msg);
  const uint64_t id = out->id;
  Outgoing& placed = *out;
  outgoing_by_branch_[browser_branch] = out->id;
  outgoing_.emplace(out->id, std::move(out));
  if (numeric) {
    // An IP address needs no DNS (RFC 3263 4.1): sent now, nothing to fail over to.
    placed.targets.push_back(std::move(*numeric));
    if (!SendToNextTarget(placed)) FailOutgoing(placed, 503, "Service Unavailable");
    return;
  }
  placed.resolving = resolver_->Resolve(hop, [this, id](std::vector<SipTarget> targets) {
    OnTargetsResolved(id, std::move(targets));
  });
}

void SipProxy::OnTargetsResolved(uint64_t id, std::vector<SipTarget> targets) {
  auto it = outgoing_.find(id);
  if (it == outgoing_.end()) return;
  Outgoing& out = *it->second;
  out.targets = std::move(targets);
  if (out.cancelled) return FailOutgoing(out, 487, "Request Terminated");
  if (out.targets.empty()) {
    ProxyMetrics::Get().Drop("unresolvable");
    log::Warn("no target for request", {{"call_id", out.call_id}, {"method", out.method_name}});
    return FailOutgoing(out, 503, "Service Unavailable");
  }
  if (!SendToNextTarget(out)) FailOutgoing(out, 503, "Service Unavailable");
}

bool SipProxy::SendToNextTarget(Outgoing& out) {
  while (out.next_target < out.targets.size()) {
    const std::string route = SipResolver::ToRouteUri(out.targets[out.next_target++]);
    // Each attempt is a new client transaction on a copy: nta adds its Via.
    // The last target takes the request itself; earlier ones a copy, kept
    // for the next attempt.
    const bool last = out.next_target == out.targets.size();
    SipMessage attempt = last ? std::move(out.request) : out.request.Clone();
    SipMessage keep = last ? SipMessage::Ref(attempt.get()) : SipMessage();
    msg_t* raw = attempt.release();
    if (out.orq) nta_outgoing_destroy(out.orq);
    out.orq = nta_outgoing_mcreate(stack_->agent(), &SipProxy::OnNetResponse,
                                   reinterpret_cast<nta_outgoing_magic_t*>(&out),
                                   URL_STRING_MAKE(route.c_str()), raw, TAG_END());
    if (out.orq) {
      ProxyMetrics::Get().ws_to_net_latency.Observe(Seconds(Clock::now() - out.start));
      log::Debug("request to network", {{"call_id", out.call_id}, {"method", out.method_name},
                                        {"target", route}});
      return true;
    }
    msg_destroy(raw);
    if (last) out.request = std::move(keep);  // to answer the browser with
  }
  return false;
}

void SipProxy::FailOutgoing(Outgoing& out, int status, const char* reason) {
  out.final_status = status;
  TrackDialog(out.method, status, out.call_id, out.conn);
  ProxyMetrics::Get().transactions.WithLabels({"ws_to_net", out.method_name, StatusClass(status)}).Inc();
  auto conn = connections_.find(out.conn);
  if (conn != connections_.end() && out.request) {
    SipMessage copy = out.request.Clone();
    ReplyWs(*conn->second, copy, status, reason);
  }
  FinishOutgoing(out.id, out.method == sip_method_invite ? kInviteLingerMs : 0);
}

void SipProxy::HandleWsAck(Connection& conn, SipMessage msg, Clock::time_point start) {
  // The ACK of a non-2xx final response has the INVITE's branch and is
  // hop-by-hop: nta already acknowledged that response toward the network.
  auto known = outgoing_by_branch_.find(BranchOf(msg.sip()));
  if (known != outgoing_by_branch_.end()) return;
  if (!DecrementMaxForwards(msg)) return ProxyMetrics::Get().Drop("too_many_hops");
  StampReceived(msg, conn.peer.ip, conn.peer.port);
  PopOwnRoutes(msg);
  url_string_t* route = config_.has_outbound_proxy()
                            ? URL_STRING_MAKE(config_.outbound_proxy().c_str())
                            : nullptr;
  // An ACK for 2xx is its own transaction-less request: sent once, statelessly.
  msg_t* raw = msg.release();
  nta_outgoing_t* orq = nta_outgoing_mcreate(stack_->agent(), nullptr, nullptr, route, raw,
                                             NTATAG_STATELESS(1), TAG_END());
  if (!orq) {
    msg_destroy(raw);
    ProxyMetrics::Get().Drop("unroutable");
    return;
  }
  ProxyMetrics::Get().ws_to_net_latency.Observe(Seconds(Clock::now() - start));
}

void SipProxy::HandleWsCancel(Connection& conn, SipMessage msg) {
  auto known = outgoing_by_branch_.find(BranchOf(msg.sip()));
  Outgoing* out = known == outgoing_by_branch_.end() ? nullptr : outgoing_[known->second].get();
  if (!out || out->method != sip_method_invite || out->conn != conn.peer.id) {
    return ReplyWs(conn, msg, 481, "Call/Transaction Does Not Exist");
  }
  // CANCEL is hop by hop: answered here, and sent on by nta when it may be.
  ReplyWs(conn, msg, 200, "OK");
  if (out->final_status != 0) return;
  if (out->orq) {
    nta_outgoing_tcancel(out->orq, nullptr, nullptr, TAG_END());
  } else {
    out->cancelled = true;  // still resolving: it will never be sent
  }
}

void SipProxy::HandleWsResponse(Connection& conn, SipMessage msg) {
  if (b2bua_->OnBrowserResponse(conn.peer.id, msg)) return;
  sip_t* sip = msg.sip();
  if (!IsOwnVia(sip->sip_via)) return ProxyMetrics::Get().Drop("response_not_ours");
  auto known = incoming_by_branch_.find(sip->sip_via->v_branch);
  if (known == incoming_by_branch_.end()) return ProxyMetrics::Get().Drop("no_transaction");
  Incoming& in = *incoming_[known->second];
  if (in.conn != conn.peer.id) return ProxyMetrics::Get().Drop("response_wrong_flow");
  const int status = msg.status();
  if (msg.method() != in.method) return;  // the 200 to a CANCEL we sent: hop by hop
  if (status == 100 || in.finishing || !in.irq) return;

  PopVia(msg);
  for (auto& [user, uri] : RewriteContacts(msg, stack_->net_side(), conn.flow)) {
    flows_.RememberContact(conn.flow, user, std::move(uri));
  }
  // nta answers a CANCEL itself; its 200 must carry the browser's To tag.
  if (sip->sip_to && sip->sip_to->a_tag) nta_incoming_tag(in.irq, sip->sip_to->a_tag);
  if (nta_incoming_mreply(in.irq, msg.release()) < 0) {
    ProxyMetrics::Get().Drop("reply_refused");
  }
  if (status >= 200) {
    ProxyMetrics::Get().transactions.WithLabels({"net_to_ws", in.method_name, StatusClass(status)}).Inc();
    TrackDialog(in.method, status, in.request.call_id(), in.conn);
    FinishIncoming(in.id);
  }
}

// ------------------------------------------------------------ network side

int SipProxy::OnNetRequest(nta_leg_magic_t* magic, nta_leg_t*, nta_incoming_t* irq,
                           const sip_t* sip) {
  return reinterpret_cast<SipProxy*>(magic)->HandleNetRequest(irq, sip);
}

int SipProxy::HandleNetRequest(nta_incoming_t* irq, const sip_t* sip) {
  const auto start = Clock::now();
  ProxyMetrics::Get().net_requests.Inc();
  const sip_method_t method = sip->sip_request->rq_method;
  if (draining_ && method == sip_method_invite && sip->sip_to && !sip->sip_to->a_tag) {
    ProxyMetrics::Get().Drop("draining");
    nta_incoming_treply(irq, 503, "Service Unavailable",
                        SIPTAG_RETRY_AFTER_STR(kDrainRetryAfter), TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  // nta's get*() functions return a reference of their own: taken over, not
  // referenced again (a second reference leaked every message).
  SipMessage msg = SipMessage(nta_incoming_getrequest(irq)).Clone();
  if (!msg) return 500;

  std::optional<std::string> flow = PopOwnRoutes(msg);
  if (!flow || flow->empty()) flow = FlowOf(msg.sip()->sip_request->rq_url);
  if (!flow || flow->empty()) {
    for (const sip_via_t* v = msg.sip()->sip_via; v; v = v->v_next) {
      if (v->v_branch && std::string_view(v->v_branch).find(branch_salt_) != std::string_view::npos) {
        ProxyMetrics::Get().Drop("loop");
        return method == sip_method_ack ? (nta_incoming_destroy(irq), 0) : 482;
      }
    }
    ProxyMetrics::Get().Drop("no_flow");
    if (method == sip_method_ack) {
      nta_incoming_destroy(irq);
      return 0;
    }
    return 404;
  }
  auto conn_id = flows_.Find(*flow);
  auto conn_it = conn_id ? connections_.find(*conn_id) : connections_.end();
  if (conn_it == connections_.end()) {
    ProxyMetrics::Get().Drop("flow_failed");
    if (method == sip_method_ack) {
      nta_incoming_destroy(irq);
      return 0;
    }
    nta_incoming_treply(irq, 430, "Flow Failed", TAG_END());
    ProxyMetrics::Get().transactions.WithLabels({"net_to_ws", sip->sip_request->rq_method_name, "4xx"}).Inc();
    nta_incoming_destroy(irq);
    return 0;
  }
  Connection& conn = *conn_it->second;
  if (!DecrementMaxForwards(msg)) {
    ProxyMetrics::Get().Drop("too_many_hops");
    if (method == sip_method_ack) {
      nta_incoming_destroy(irq);
      return 0;
    }
    return 483;
  }
  // A new call for a browser that asked for the RTCWeb Breaker (the flag came
  // back in the Request-URI, or its connection registered with it).
  const bool breaker_uri = url_has_param(sip->sip_request->rq_url, "rtcweb-breaker");
  ToBrowserRequestUri(msg, *flow);
  if (method == sip_method_invite && !msg.sip()->sip_to->a_tag && (breaker_uri || conn.breaker)) {
    b2bua_->OnNetworkInvite(conn.peer.id, irq, std::move(msg));
    return 0;
  }
  const std::string branch = NewBranch();
  const SideAddress ws_side = WsSide(conn);
  std::string via = "SIP/2.0/" + std::string(conn.peer.secure ? "WSS " : "WS ") +
                    (ws_side.host.find(':') != std::string::npos ? "[" + ws_side.host + "]"
                                                                  : ws_side.host) +
                    ":" + std::to_string(ws_side.port) + ";branch=" + branch;
  PushVia(msg, via);
  if (CreatesDialog(method) && !msg.sip()->sip_to->a_tag) {
    AddRecordRoutes(msg, GatewayUri(stack_->net_side(), ""), GatewayUri(ws_side, conn.flow));
  }
  if (method == sip_method_ack) {
    ws_->Send(conn.peer.id, msg.ToString());
    nta_incoming_destroy(irq);
    ProxyMetrics::Get().net_to_ws_latency.Observe(Seconds(Clock::now() - start));
    return 0;
  }
  // A stateful proxy answers an INVITE with 100 at once: the UDP side stops
  // retransmitting (RFC 3261 16.2).
  if (method == sip_method_invite) nta_incoming_treply(irq, 100, "Trying", TAG_END());

  auto in = std::make_unique<Incoming>();
  in->proxy = this;
  in->id = next_id_++;
  in->conn = conn.peer.id;
  in->flow = *flow;
  in->branch = branch;
  in->method = method;
  in->method_name = sip->sip_request->rq_method_name;
  in->irq = irq;
  ws_->Send(conn.peer.id, msg.ToString());
  in->request = std::move(msg);
  nta_incoming_bind(irq, &SipProxy::OnIncomingEvent, reinterpret_cast<nta_incoming_magic_t*>(in.get()));
  in->timer = incoming_timeouts_->Add(
      method == sip_method_invite ? kBrowserInviteTimeoutMs : kBrowserRequestTimeoutMs, in->id);
  ProxyMetrics::Get().net_to_ws_latency.Observe(Seconds(Clock::now() - start));
  incoming_by_branch_[branch] = in->id;
  incoming_.emplace(in->id, std::move(in));
  return 0;
}

void SipProxy::ToBrowserRequestUri(SipMessage& msg, const std::string& flow) {
  const url_t* ruri = msg.sip()->sip_request->rq_url;
  if (!FlowOf(ruri)) return;  // already the browser's own URI (in-dialog, routed)
  const std::string user = UserOf(ruri);
  std::optional<std::string> contact = flows_.ContactOf(flow, user);
  SetRequestUri(msg, contact ? *contact : "sip:" + user + "@" + flow + ".invalid;transport=ws");
}

int SipProxy::OnNetResponse(nta_outgoing_magic_t* magic, nta_outgoing_t*, const sip_t* sip) {
  auto* out = reinterpret_cast<Outgoing*>(magic);
  out->proxy->HandleNetResponse(*out, sip);
  return 0;
}

void SipProxy::HandleNetResponse(Outgoing& out, const sip_t* sip) {
  const auto start = Clock::now();
  const int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
  ProxyMetrics::Get().net_responses.Inc();
  if (out.final_status >= 200 && !(status >= 200 && status < 300)) return;

  // RFC 3263 4.3: a 503 or a timeout (nta's own 408, or a transport error)
  // moves the request to the next target, unless the browser cancelled it.
  if (out.final_status == 0 && out.next_target < out.targets.size()) {
    msg_t* resp = nta_outgoing_getresponse(out.orq);
    const bool internal = resp && nta_msg_is_internal(resp);
    if (resp) msg_destroy(resp);
    if ((status == 503 || (status == 408 && internal)) && !out.cancelled) {
      ProxyMetrics::Get().Drop(status == 503 ? "failover_503" : "failover_timeout");
      log::Info("trying next target", {{"call_id", out.call_id}, {"status", std::to_string(status)}});
      if (SendToNextTarget(out)) return;
    }
  }

  if (out.final_status == 0 && status >= 200) {
    out.final_status = status;
    TrackDialog(out.method, status, out.call_id, out.conn);
    ProxyMetrics::Get().transactions.WithLabels({"ws_to_net", out.method_name, StatusClass(status)}).Inc();
  }
  auto conn = connections_.find(out.conn);
  if (conn != connections_.end()) {
    SipMessage msg(nta_outgoing_getresponse(out.orq));
    if (msg) {
      if (msg.sip()->sip_via && !msg.sip()->sip_via->v_next) {
        // nta's own 408/503 carries only our Via: build the browser's from its request
        msg = SipMessage();
      } else {
        PopVia(msg);
      }
    }
    if (msg) {
      if (out.method == sip_method_register) {
        RestoreContacts(msg, out.flow, [&](const std::string& user) {
          return flows_.ContactOf(out.flow, user);
        });
      }
      log::Debug("response to browser", {{"call_id", out.call_id}, {"status", std::to_string(status)}});
      ws_->Send(out.conn, msg.ToString());
    } else if (status >= 200) {
      SipMessage request(nta_outgoing_getrequest(out.orq));
      if (request) {
        SipMessage copy = request.Clone();
        PopVia(copy);
        std::string text = MakeResponse(copy, status, sip && sip->sip_status && sip->sip_status->st_phrase
                                                          ? sip->sip_status->st_phrase
                                                          : "Request Timeout");
        if (!text.empty()) ws_->Send(out.conn, std::move(text));
      }
    }
    ProxyMetrics::Get().net_to_ws_latency.Observe(Seconds(Clock::now() - start));
  }
  if (status >= 200) {
    FinishOutgoing(out.id, out.method == sip_method_invite ? kInviteLingerMs : 0);
  }
}

int SipProxy::OnStrayMessage(nta_agent_magic_t* magic, nta_agent_t*, msg_t* msg, sip_t* sip) {
  SipMessage owned(msg);
  auto* self = reinterpret_cast<SipProxy*>(magic);
  if (sip && sip->sip_status) {
    self->HandleStrayResponse(std::move(owned));
  } else {
    ProxyMetrics::Get().Drop("stray_request");
  }
  return 0;
}

// A response no transaction waits for any more (a 2xx fork after the INVITE
// transaction ended over TCP, a late retransmission) goes on statelessly to
// the browser the next Via names: its received/rport are the connection's.
void SipProxy::HandleStrayResponse(SipMessage msg) {
  const sip_via_t* top = msg.sip()->sip_via;
  if (!top || !top->v_host || stack_->net_side().host != top->v_host) {
    return ProxyMetrics::Get().Drop("stray_response");
  }
  PopVia(msg);
  const sip_via_t* via = msg.sip()->sip_via;
  if (!via || !via->v_received || !via->v_rport) return ProxyMetrics::Get().Drop("stray_response");
  const std::string ip = via->v_received;
  const auto port = static_cast<uint16_t>(std::atoi(via->v_rport));
  for (const auto& [id, conn] : connections_) {
    if (conn->peer.ip == ip && conn->peer.port == port) {
      ws_->Send(id, msg.ToString());
      return;
    }
  }
  ProxyMetrics::Get().Drop("stray_response");
}

int SipProxy::OnIncomingEvent(nta_incoming_magic_t* magic, nta_incoming_t*, const sip_t* sip) {
  auto* in = reinterpret_cast<Incoming*>(magic);
  in->proxy->HandleIncomingEvent(*in, sip);
  return 0;
}

void SipProxy::HandleIncomingEvent(Incoming& in, const sip_t* sip) {
  if (!sip) {  // nta gave up on the transaction
    FinishIncoming(in.id);
    return;
  }
  if (sip->sip_request && sip->sip_request->rq_method == sip_method_cancel && !in.finishing) {
    // Tell the browser; its 487 comes back as the INVITE's final response.
    auto conn = connections_.find(in.conn);
    if (conn == connections_.end() || !in.request) return;
    sip_t* req = in.request.sip();
    std::string cancel = "CANCEL " + std::string(url_as_string(in.request.home(), req->sip_request->rq_url)) +
                         " SIP/2.0\r\n";
    cancel += "Via: " + std::string(sip_header_as_string(in.request.home(), reinterpret_cast<sip_header_t*>(req->sip_via))) + "\r\n";
    cancel += "Max-Forwards: 70\r\n";
    for (sip_route_t* r = req->sip_route; r; r = r->r_next) {
      cancel += "Route: " + std::string(sip_header_as_string(in.request.home(), reinterpret_cast<sip_header_t*>(r))) + "\r\n";
    }
    cancel += "From: " + std::string(sip_header_as_string(in.request.home(), reinterpret_cast<sip_header_t*>(req->sip_from))) + "\r\n";
    cancel += "To: " + std::string(sip_header_as_string(in.request.home(), reinterpret_cast<sip_header_t*>(req->sip_to))) + "\r\n";
    cancel += "Call-ID: " + in.request.call_id() + "\r\n";
    cancel += "CSeq: " + std::to_string(req->sip_cseq->cs_seq) + " CANCEL\r\n";
    cancel += "Content-Length: 0\r\n\r\n";
    ws_->Send(in.conn, std::move(cancel));
  }
}

void SipProxy::OnIncomingTimeout(uint64_t id) {
  auto it = incoming_.find(id);
  if (it == incoming_.end()) return;
  Incoming& in = *it->second;
  in.timer = {};
  if (!in.finishing && in.irq) {
    nta_incoming_treply(in.irq, 408, "Request Timeout", TAG_END());
    ProxyMetrics::Get().transactions.WithLabels({"net_to_ws", in.method_name, "timeout"}).Inc();
    TrackDialog(in.method, 408, in.request.call_id(), in.conn);  // a BYE: over
    FinishIncoming(in.id);
  }
}

// ------------------------------------------------------------ bookkeeping

void SipProxy::TrackDialog(sip_method_t method, int status, const std::string& call_id,
                           ConnectionId conn) {
  if (method == sip_method_invite && status >= 200 && status < 300) {
    dialogs_.Established(call_id, conn);
  } else if (method == sip_method_bye && status >= 200) {
    dialogs_.Ended(call_id);
  }
}

std::string SipProxy::NewBranch() {
  return std::string(kBranchPrefix) + branch_salt_ + "-" + std::to_string(next_id_++);
}

void SipProxy::FinishOutgoing(uint64_t id, guint linger_ms) {
  auto it = outgoing_.find(id);
  // Once only: a retransmitted 2xx must not arm a second timer.
  if (it == outgoing_.end() || it->second->finishing || it->second->linger_timer) return;
  it->second->finishing = linger_ms == 0;
  if (linger_ms == 0) {
    reap_outgoing_.push_back(id);
    ReapLater();
    return;
  }
  // An INVITE stays a while: its branch absorbs the browser's ACK for a
  // non-2xx, and retransmitted 2xx keep reaching the browser.
  it->second->linger_timer = outgoing_linger_->Add(linger_ms, id);
}

void SipProxy::OnOutgoingLinger(uint64_t id) {
  auto it = outgoing_.find(id);
  if (it == outgoing_.end()) return;
  it->second->linger_timer = {};
  it->second->finishing = true;
  reap_outgoing_.push_back(id);
  ReapLater();
}

void SipProxy::FinishIncoming(uint64_t id) {
  auto it = incoming_.find(id);
  if (it == incoming_.end() || it->second->finishing) return;
  it->second->finishing = true;
  incoming_timeouts_->Cancel(std::exchange(it->second->timer, {}));
  reap_incoming_.push_back(id);
  ReapLater();
}

void SipProxy::ReapLater() {
  if (!reap_source_) reap_source_ = g_idle_add(&SipProxy::OnReap, this);
}

gboolean SipProxy::OnReap(gpointer data) {
  auto* self = static_cast<SipProxy*>(data);
  self->reap_source_ = 0;
  for (uint64_t id : std::exchange(self->reap_outgoing_, {})) {
    auto it = self->outgoing_.find(id);
    if (it == self->outgoing_.end()) continue;
    self->outgoing_by_branch_.erase(it->second->browser_branch);
    self->outgoing_linger_->Cancel(it->second->linger_timer);
    if (it->second->orq) nta_outgoing_destroy(it->second->orq);
    self->outgoing_.erase(it);
  }
  for (uint64_t id : std::exchange(self->reap_incoming_, {})) {
    auto it = self->incoming_.find(id);
    if (it == self->incoming_.end()) continue;
    self->incoming_by_branch_.erase(it->second->branch);
    if (it->second->irq) nta_incoming_destroy(it->second->irq);
    self->incoming_.erase(it);
  }
  return G_SOURCE_REMOVE;
}

}  // namespace webrtc2sip::signaling
