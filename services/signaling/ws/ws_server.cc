#include "services/signaling/ws/ws_server.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

#include "common/log/logger.h"
#include "common/metrics/registry.h"

namespace webrtc2sip::signaling {

struct WsServer::Connection {
  WsPeer peer;
  lws* wsi = nullptr;
  std::string rx;                 // fragments of the message being received
  std::deque<std::string> tx;     // frames, each with LWS_PRE bytes of headroom
  bool closing = false;
  WsCloseReason close_reason = WsCloseReason::kPeer;
};

namespace {

// What lws keeps per connection for us: only our id.
struct SessionData {
  ConnectionId id;
};

const char* ReasonName(WsCloseReason r) {
  switch (r) {
    case WsCloseReason::kPeer: return "peer";
    case WsCloseReason::kTooBig: return "too_big";
    case WsCloseReason::kBadFrame: return "bad_frame";
    case WsCloseReason::kLimit: return "limit";
    case WsCloseReason::kIdle: return "idle";
    case WsCloseReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

lws_close_status CloseStatus(WsCloseReason r) {
  switch (r) {
    case WsCloseReason::kTooBig: return LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
    case WsCloseReason::kBadFrame: return LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE;
    case WsCloseReason::kLimit: return LWS_CLOSE_STATUS_POLICY_VIOLATION;
    case WsCloseReason::kShutdown: return LWS_CLOSE_STATUS_GOINGAWAY;
    default: return LWS_CLOSE_STATUS_NORMAL;
  }
}

struct Metrics {
  metrics::GaugeFamily& open = metrics::Registry::Global().AddGauge(
      "webrtc2sip_ws_connections", "Open SIP WebSocket connections.", {"transport"});
  metrics::CounterFamily& accepted = metrics::Registry::Global().AddCounter(
      "webrtc2sip_ws_connections_accepted_total", "SIP WebSocket connections accepted.",
      {"transport"});
  metrics::CounterFamily& rejected = metrics::Registry::Global().AddCounter(
      "webrtc2sip_ws_connections_rejected_total",
      "WebSocket connections refused before the upgrade, by reason.", {"reason"});
  metrics::CounterFamily& closed = metrics::Registry::Global().AddCounter(
      "webrtc2sip_ws_connections_closed_total", "SIP WebSocket connections closed, by reason.",
      {"reason"});

  static Metrics& Get() {
    static Metrics m;
    return m;
  }
};

// The peer's address as text; IPv4 peers of a dual-stack socket without
// their "::ffff:" prefix.
std::string PeerIp(lws* wsi) {
  char ip[64] = {0};
  lws_get_peer_simple(wsi, ip, sizeof ip);
  std::string_view s(ip);
  if (s.rfind("::ffff:", 0) == 0 && s.find('.') != std::string_view::npos) s.remove_prefix(7);
  return std::string(s);
}

const char* TransportName(bool secure) { return secure ? "wss" : "ws"; }

void LwsLog(int level, const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (level & LLL_ERR) {
    log::Error("libwebsockets", {{"detail", text}});
  } else {
    log::Warn("libwebsockets", {{"detail", text}});
  }
}

}  // namespace

WsServer::WsServer(GMainLoop* loop, Listener& listener, Options options)
    : listener_(listener), options_(options) {
  lws_set_log_level(LLL_ERR | LLL_WARN, LwsLog);
  lws_context_creation_info info{};
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_GLIB |
                 LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  foreign_loop_[0] = loop;
  info.foreign_loops = foreign_loop_;
  info.user = this;
  context_ = lws_create_context(&info);
  if (!context_) throw std::runtime_error("cannot create the WebSocket context");
}

WsServer::~WsServer() {
  // Closing callbacks may run inside lws_context_destroy: the listener must
  // still be there, so this runs before the owner goes away.
  for (auto& [id, conn] : connections_) conn->closing = true;
  lws_context_destroy(context_);
}

void WsServer::Listen(const Endpoint& endpoint) {
  static const lws_protocols kProtocols[] = {
      {"sip", &WsServer::Callback, sizeof(SessionData), 0, 0, nullptr, 0},
      {nullptr, nullptr, 0, 0, 0, nullptr, 0},
  };
  // lws keeps the pointer: the policy lives as long as the server.
  retry_.secs_since_valid_ping = options_.ping_interval_seconds;
  retry_.secs_since_valid_hangup = options_.idle_timeout_seconds;

  endpoints_.push_back(std::make_unique<Endpoint>(endpoint));
  const Endpoint& ep = *endpoints_.back();
  const std::string name = std::string(TransportName(ep.secure)) + "-" + std::to_string(vhosts_.size());

  lws_context_creation_info vi{};
  vi.vhost_name = name.c_str();
  vi.port = ep.port;
  vi.iface = ep.address == "*" || ep.address.empty() ? nullptr : ep.address.c_str();
  vi.protocols = kProtocols;
  vi.user = const_cast<Endpoint*>(&ep);
  vi.retry_and_idle_policy = &retry_;
  vi.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
  if (ep.secure) {
    // lws turns TLS on for a vhost only when its own options ask for it.
    vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    vi.ssl_cert_filepath = ep.certificate.c_str();
    vi.ssl_private_key_filepath = ep.private_key.c_str();
  }
  if (!ep.web_root.empty()) {
    // The demo phone page and its script, on the same port as the WebSocket.
    auto mount = std::make_unique<lws_http_mount>();
    *mount = {};
    mount->mountpoint = "/";
    mount->mountpoint_len = 1;
    mount->origin = ep.web_root.c_str();
    mount->def = "index.html";
    mount->origin_protocol = LWSMPRO_FILE;
    vi.mounts = mount.get();
    mounts_.push_back(std::move(mount));
  }
  lws_vhost* vh = lws_create_vhost(context_, &vi);
  if (!vh || lws_get_vhost_listen_port(vh) <= 0) {
    throw std::runtime_error(std::string("cannot listen on ") + TransportName(ep.secure) + " " +
                             ep.address + ":" + std::to_string(ep.port));
  }
  vhosts_.push_back(vh);
  log::Info("websocket listening", {{"transport", TransportName(ep.secure)},
                                    {"address", ep.address},
                                    {"port", std::to_string(lws_get_vhost_listen_port(vh))}});
}

uint16_t WsServer::port(size_t n) const {
  return static_cast<uint16_t>(lws_get_vhost_listen_port(vhosts_.at(n)));
}

bool WsServer::Send(ConnectionId id, std::string message) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second->closing) return false;
  std::string frame(LWS_PRE, '\0');
  frame += message;
  it->second->tx.push_back(std::move(frame));
  lws_callback_on_writable(it->second->wsi);
  return true;
}

void WsServer::Close(ConnectionId id, WsCloseReason reason) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second->closing) return;
  it->second->closing = true;
  it->second->close_reason = reason;
  lws_callback_on_writable(it->second->wsi);  // closes from the writeable callback
}

int WsServer::Callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  lws_context* ctx = lws_get_context(wsi);
  auto* self = ctx ? static_cast<WsServer*>(lws_context_user(ctx)) : nullptr;
  if (!self) return 0;
  return self->OnCallback(wsi, reason, user, in, len);
}

int WsServer::OnCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                         size_t len) {
  auto* session = static_cast<SessionData*>(user);
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
      // RFC 7118: the client must ask for the "sip" subprotocol.
      char proto[128] = {0};
      if (lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL) <= 0 ||
          !std::strstr(proto, "sip")) {
        Metrics::Get().rejected.WithLabels({"no_sip_subprotocol"}).Inc();
        return -1;
      }
      const std::string ip = PeerIp(wsi);
      if (connections_.size() >= options_.max_connections) {
        Metrics::Get().rejected.WithLabels({"max_connections"}).Inc();
        log::Warn("websocket refused: connection limit", {{"peer", ip}});
        return -1;
      }
      if (per_ip_[ip] >= options_.max_connections_per_ip) {
        Metrics::Get().rejected.WithLabels({"max_connections_per_ip"}).Inc();
        log::Warn("websocket refused: per-address limit", {{"peer", ip}});
        return -1;
      }
      return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
      auto conn = std::make_unique<Connection>();
      conn->wsi = wsi;
      conn->peer.id = next_id_++;
      conn->peer.ip = PeerIp(wsi);
      sockaddr_storage addr{};
      socklen_t alen = sizeof addr;
      if (getpeername(lws_get_socket_fd(wsi), reinterpret_cast<sockaddr*>(&addr), &alen) == 0) {
        conn->peer.port = ntohs(addr.ss_family == AF_INET6
                                    ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                    : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
      }
      alen = sizeof addr;
      if (getsockname(lws_get_socket_fd(wsi), reinterpret_cast<sockaddr*>(&addr), &alen) == 0) {
        char host[64] = {0};
        if (addr.ss_family == AF_INET6) {
          auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
          if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], host, sizeof host);
          } else {
            inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
          }
          conn->peer.local_port = ntohs(a6->sin6_port);
        } else {
          auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
          inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
          conn->peer.local_port = ntohs(a4->sin_port);
        }
        conn->peer.local_host = host;
      }
      auto* ep = static_cast<Endpoint*>(lws_get_vhost_user(lws_get_vhost(wsi)));
      conn->peer.secure = ep && ep->secure;
      session->id = conn->peer.id;
      ++per_ip_[conn->peer.ip];
      Metrics::Get().open.WithLabels({TransportName(conn->peer.secure)}).Inc();
      Metrics::Get().accepted.WithLabels({TransportName(conn->peer.secure)}).Inc();
      WsPeer peer = conn->peer;
      connections_.emplace(peer.id, std::move(conn));
      listener_.OnWsOpen(peer);
      return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
      auto it = connections_.find(session->id);
      if (it == connections_.end()) return -1;
      Connection& conn = *it->second;
      if (conn.closing) return 0;
      if (conn.rx.size() + len > options_.max_message_size) {
        conn.closing = true;
        conn.close_reason = WsCloseReason::kTooBig;
        lws_close_reason(wsi, CloseStatus(conn.close_reason),
                         reinterpret_cast<unsigned char*>(const_cast<char*>("message too big")),
                         15);
        return -1;
      }
      conn.rx.append(static_cast<const char*>(in), len);
      if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
      std::string message;
      message.swap(conn.rx);
      const ConnectionId id = conn.peer.id;
      listener_.OnWsMessage(id, message, lws_frame_is_binary(wsi));
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      auto it = connections_.find(session->id);
      if (it == connections_.end()) return -1;
      Connection& conn = *it->second;
      if (!conn.tx.empty()) {
        std::string& frame = conn.tx.front();
        const size_t payload = frame.size() - LWS_PRE;
        int n = lws_write(wsi, reinterpret_cast<unsigned char*>(frame.data()) + LWS_PRE, payload,
                          LWS_WRITE_TEXT);
        conn.tx.pop_front();
        if (n < static_cast<int>(payload)) return -1;
        if (!conn.tx.empty() || conn.closing) lws_callback_on_writable(wsi);
        return 0;
      }
      if (conn.closing) {
        lws_close_reason(wsi, CloseStatus(conn.close_reason), nullptr, 0);
        return -1;
      }
      return 0;
    }
    case LWS_CALLBACK_CLOSED: {
      auto it = connections_.find(session->id);
      if (it == connections_.end()) return 0;
      std::unique_ptr<Connection> conn = std::move(it->second);
      connections_.erase(it);
      if (--per_ip_[conn->peer.ip] == 0) per_ip_.erase(conn->peer.ip);
      Metrics::Get().open.WithLabels({TransportName(conn->peer.secure)}).Dec();
      Metrics::Get().closed.WithLabels({ReasonName(conn->close_reason)}).Inc();
      listener_.OnWsClose(conn->peer.id, conn->close_reason);
      return 0;
    }
    default:
      // HTTP requests for the optional web root (file mounts).
      return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

}  // namespace webrtc2sip::signaling
