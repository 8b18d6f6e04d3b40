#pragma once

// SIP over WebSocket (RFC 7118) listeners on libwebsockets, driven by the
// service's GLib main loop. Knows nothing of SIP beyond the "sip"
// subprotocol: whole messages in, whole messages out, one connection id each.

#include <glib.h>
#include <libwebsockets.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace webrtc2sip::signaling {

using ConnectionId = uint64_t;

struct WsPeer {
  ConnectionId id = 0;
  std::string ip;
  uint16_t port = 0;
  bool secure = false;  // wss
  std::string local_host;  // the listener's address as the client reached it
  uint16_t local_port = 0;
};

enum class WsCloseReason { kPeer, kTooBig, kBadFrame, kLimit, kIdle, kShutdown };

class WsServer {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnWsOpen(const WsPeer& peer) = 0;
    // One complete message (all fragments joined).
    virtual void OnWsMessage(ConnectionId id, std::string_view message, bool binary) = 0;
    virtual void OnWsClose(ConnectionId id, WsCloseReason reason) = 0;
  };

  struct Options {
    size_t max_message_size = 65535;
    uint32_t max_connections = 10000;
    uint32_t max_connections_per_ip = 1000;
    uint16_t ping_interval_seconds = 30;  // WebSocket ping after this much silence
    uint16_t idle_timeout_seconds = 75;   // hang up when even pings get no answer
  };

  struct Endpoint {
    std::string address;  // "*" or an IP
    uint16_t port = 0;
    bool secure = false;
    std::string certificate, private_key;  // for wss
    std::string web_root;  // when set, plain HTTP GETs get files from here
  };

  WsServer(GMainLoop* loop, Listener& listener, Options options);
  ~WsServer();
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  // Throws std::runtime_error when the endpoint cannot listen.
  void Listen(const Endpoint& endpoint);
  // Bound port of the n-th Listen()ed endpoint.
  uint16_t port(size_t n) const;

  // Queues a text frame; false when the connection is unknown or closing.
  bool Send(ConnectionId id, std::string message);
  void Close(ConnectionId id, WsCloseReason reason);
  size_t connection_count() const { return connections_.size(); }

 private:
  struct Connection;
  static int Callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
  int OnCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);

  Listener& listener_;
  Options options_;
  lws_context* context_ = nullptr;
  std::vector<lws_vhost*> vhosts_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::unordered_map<ConnectionId, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, uint32_t> per_ip_;
  ConnectionId next_id_ = 1;
  void* foreign_loop_[1];
  std::vector<std::unique_ptr<lws_http_mount>> mounts_;
  lws_retry_bo_t retry_{};
};

}  // namespace webrtc2sip::signaling
