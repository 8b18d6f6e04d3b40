#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace webrtc2sip {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// A minimal HTTP/1.1 server for /metrics and health probes: GET and HEAD on exact paths,
// one request per connection. Everything runs on `ctx`: create, use and destroy the server on
// the thread that iterates `ctx` (or while nothing iterates it). Handlers run there too.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;

  explicit HttpServer(GMainContext* ctx);
  // Stops listening and cancels open connections; their callbacks find the server gone.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `path` is matched exactly, ignoring any query string. A handler that throws yields a 500.
  void Handle(std::string path, Handler handler);

  // "0.0.0.0:9090", "127.0.0.1:0", "[::]:9090". Throws std::runtime_error on failure.
  void Listen(const std::string& host_port);

  // The port bound by the last Listen() (useful with port 0).
  uint16_t port() const;

  // Deadline for a whole connection (read, respond, close); defends against slowloris.
  void set_timeout(std::chrono::milliseconds timeout);

  size_t active_connections() const;

 private:
  struct State;
  class Connection;
  // Shared with in-flight callbacks through weak handles, so none touches a freed server.
  std::shared_ptr<State> state_;
};

}  // namespace webrtc2sip
