#include "common/http/http_server.h"

#include <gio/gio.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>
#include <string_view>

#include "common/cwrap/gobject_ptr.h"

namespace webrtc2sip {
namespace {

constexpr size_t kMaxHeadBytes = 8192;
constexpr size_t kMaxConnections = 128;  // Bounds the fds a scrape storm can take from media.
constexpr std::chrono::milliseconds kDefaultTimeout{10'000};
constexpr std::chrono::milliseconds kLingerTimeout{2'000};

// GIO dispatches an async call's callback on the thread-default context of the caller.
class ContextScope {
 public:
  explicit ContextScope(GMainContext* ctx) : ctx_(ctx) { g_main_context_push_thread_default(ctx_); }
  ~ContextScope() { g_main_context_pop_thread_default(ctx_); }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  GMainContext* ctx_;
};

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

HttpResponse Error(int status) {
  return {status, "text/plain; charset=utf-8", ReasonPhrase(status)};
}

std::string Serialize(const HttpResponse& response, bool with_body) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    ReasonPhrase(response.status) + "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    "\r\nConnection: close\r\n";
  if (response.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (with_body) out += response.body;
  return out;
}

}  // namespace

struct HttpServer::State {
  GMainContextPtr ctx;
  GObjectPtr<GSocketService> service;
  GObjectPtr<GCancellable> shutdown;  // Cancelled by ~HttpServer; every connection follows it.
  gulong incoming_id = 0;
  std::map<std::string, Handler, std::less<>> handlers;
  uint16_t port = 0;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  size_t active = 0;
};

// One accepted connection. The pending async operation owns it (released into the operation's
// user data, adopted back in its callback), so it lives exactly as long as GIO may call back.
class HttpServer::Connection {
 public:
  using Owned = std::unique_ptr<Connection>;

  static gboolean OnIncoming(GSocketService*, GSocketConnection* conn, GObject*, gpointer data) {
    auto state = static_cast<std::weak_ptr<State>*>(data)->lock();
    // Refused connections are closed when the service drops its reference.
    if (state && state->active < kMaxConnections) {
      Owned self(new Connection(state, conn));
      self->ArmTimer(state->timeout);
      Read(std::move(self));
    }
    return TRUE;
  }

  ~Connection() {
    g_cancellable_disconnect(shutdown_.get(), shutdown_handler_);
    timer_.reset();
    // No operation is pending once we own ourselves; closing a socket does not block.
    g_io_stream_close(G_IO_STREAM(conn_.get()), nullptr, nullptr);
    if (auto state = state_.lock()) --state->active;
  }

 private:
  Connection(const std::shared_ptr<State>& state, GSocketConnection* conn)
      : state_(state),
        ctx_(g_main_context_ref(state->ctx.get())),
        conn_(RefGObject(conn)),
        cancel_(AdoptGObject(g_cancellable_new())),
        shutdown_(RefGObject(state->shutdown.get())) {
    ++state->active;
    // cancel_ outlives the handler: the destructor disconnects it first.
    shutdown_handler_ =
        g_cancellable_connect(shutdown_.get(), G_CALLBACK(+[](GCancellable*, gpointer cancel) {
                                g_cancellable_cancel(G_CANCELLABLE(cancel));
                              }),
                              cancel_.get(), nullptr);
  }

  static void Read(Owned self) {
    ContextScope scope(self->ctx_.get());
    GInputStream* in = g_io_stream_get_input_stream(G_IO_STREAM(self->conn_.get()));
    Connection* c = self.release();
    g_input_stream_read_async(in, c->buf_, sizeof(c->buf_), G_PRIORITY_DEFAULT, c->cancel_.get(),
                              &OnRead, c);
  }

  static void OnRead(GObject* source, GAsyncResult* result, gpointer data) {
    Owned self(static_cast<Connection*>(data));
    GError* error = nullptr;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);
    GErrorPtr owned_error(error);
    if (n <= 0) return;  // EOF, error, timeout or shutdown: drop the connection.
    if (self->draining_) return Read(std::move(self));
    self->head_.append(self->buf_, static_cast<size_t>(n));
    size_t end = self->head_.find("\r\n\r\n");
    if (end == std::string::npos && self->head_.size() <= kMaxHeadBytes) {
      return Read(std::move(self));
    }
    std::string response;
    if (end == std::string::npos || end + 4 > kMaxHeadBytes) {
      response = Serialize(Error(431), true);
    } else if (auto state = self->state_.lock()) {
      response = Dispatch(*state, std::string_view(self->head_).substr(0, end));
    } else {
      return;  // The server is gone.
    }
    Write(std::move(self), std::move(response));
  }

  static std::string Dispatch(const State& state, std::string_view head) {
    std::string_view line = head.substr(0, head.find("\r\n"));
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == line.npos ? line.npos : line.find(' ', sp1 + 1);
    if (sp2 == line.npos || line.find(' ', sp2 + 1) != line.npos) {
      return Serialize(Error(400), true);
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!target.starts_with('/') || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
      return Serialize(Error(400), true);
    }
    bool with_body = method != "HEAD";
    if (method != "GET" && method != "HEAD") return Serialize(Error(405), true);
    auto it = state.handlers.find(target.substr(0, target.find_first_of("?#")));
    if (it == state.handlers.end()) return Serialize(Error(404), with_body);
    Handler handler = it->second;  // A copy: the handler may register handlers.
    try {
      return Serialize(handler(), with_body);
    } catch (const std::exception&) {
      return Serialize(Error(500), with_body);
    }
  }

  static void Write(Owned self, std::string response) {
    self->response_ = std::move(response);
    ContextScope scope(self->ctx_.get());
    GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(self->conn_.get()));
    Connection* c = self.release();
    g_output_stream_write_all_async(out, c->response_.data(), c->response_.size(),
                                    G_PRIORITY_DEFAULT, c->cancel_.get(), &OnWritten, c);
  }

  static void OnWritten(GObject* source, GAsyncResult* result, gpointer data) {
    Owned self(static_cast<Connection*>(data));
    GError* error = nullptr;
    bool ok = g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, nullptr, &error);
    GErrorPtr owned_error(error);
    if (!ok) return;
    // Half-close, then drain what the client still sends: closing with unread input makes the
    // kernel send a reset, which can discard the response before the client reads it.
    g_socket_shutdown(g_socket_connection_get_socket(self->conn_.get()), FALSE, TRUE, nullptr);
    self->draining_ = true;
    if (auto state = self->state_.lock()) {
      self->ArmTimer(std::min(kLingerTimeout, state->timeout));
    }
    Read(std::move(self));
  }

  void ArmTimer(std::chrono::milliseconds timeout) {
    timer_.reset(g_timeout_source_new(static_cast<guint>(timeout.count())));
    // A raw `this` is safe here: the destructor destroys the source on this same thread.
    g_source_set_callback(
        timer_.get(),
        +[](gpointer self) {
          g_cancellable_cancel(static_cast<Connection*>(self)->cancel_.get());
          return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(timer_.get(), ctx_.get());
  }

  std::weak_ptr<State> state_;
  GMainContextPtr ctx_;
  GObjectPtr<GSocketConnection> conn_;
  GObjectPtr<GCancellable> cancel_;  // Cancels the pending read or write.
  GObjectPtr<GCancellable> shutdown_;
  gulong shutdown_handler_ = 0;
  GSourcePtr timer_;
  std::string head_;
  std::string response_;
  bool draining_ = false;
  char buf_[4096];
};

HttpServer::HttpServer(GMainContext* ctx) : state_(std::make_shared<State>()) {
  state_->ctx.reset(g_main_context_ref(ctx));
  ContextScope scope(ctx);
  state_->service = AdoptGObject(g_socket_service_new());
  state_->shutdown = AdoptGObject(g_cancellable_new());
  // The signal closure owns a weak handle to the state, freed when the handler is disconnected.
  state_->incoming_id = g_signal_connect_data(
      state_->service.get(), "incoming", G_CALLBACK(&Connection::OnIncoming),
      new std::weak_ptr<State>(state_),
      +[](gpointer data, GClosure*) { delete static_cast<std::weak_ptr<State>*>(data); },
      GConnectFlags{});
}

HttpServer::~HttpServer() {
  GSocketService* service = state_->service.get();
  g_signal_handler_disconnect(service, state_->incoming_id);
  g_socket_service_stop(service);
  g_socket_listener_close(G_SOCKET_LISTENER(service));
  g_cancellable_cancel(state_->shutdown.get());
}

void HttpServer::Handle(std::string path, Handler handler) {
  state_->handlers.insert_or_assign(std::move(path), std::move(handler));
}

void HttpServer::Listen(const std::string& host_port) {
  auto fail = [&](const std::string& reason) {
    return std::runtime_error("cannot listen on " + host_port + ": " + reason);
  };
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) throw fail("expected HOST:PORT");
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const char* port_begin = host_port.data() + colon + 1;
  const char* port_end = host_port.data() + host_port.size();
  uint16_t port = 0;
  auto [ptr, ec] = std::from_chars(port_begin, port_end, port);
  if (port_begin == port_end || ec != std::errc() || ptr != port_end) {
    throw fail("invalid port");
  }
  auto address = AdoptGObject(g_inet_address_new_from_string(host.c_str()));
  if (!address) throw fail("host must be an IP address");
  auto socket_address = AdoptGObject(g_inet_socket_address_new(address.get(), port));

  // Adding a listener starts the accept, whose callbacks must run on our context.
  ContextScope scope(state_->ctx.get());
  GSocketAddress* effective = nullptr;
  GError* error = nullptr;
  if (!g_socket_listener_add_address(G_SOCKET_LISTENER(state_->service.get()), socket_address.get(),
                                     G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr,
                                     &effective, &error)) {
    GErrorPtr owned_error(error);
    throw fail(owned_error->message);
  }
  auto owned_effective = AdoptGObject(effective);
  state_->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
  g_socket_service_start(state_->service.get());
}

uint16_t HttpServer::port() const {
  return state_->port;
}

void HttpServer::set_timeout(std::chrono::milliseconds timeout) {
  state_->timeout = timeout;
}

size_t HttpServer::active_connections() const {
  return state_->active;
}

}  // namespace webrtc2sip
