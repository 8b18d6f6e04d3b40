#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace webrtc2sip {
namespace {

using namespace std::chrono_literals;

// A blocking loopback client; every call has a receive timeout so a broken server fails the
// test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }

  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until the server closes; eof() tells whether it did (rather than timing out).
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd_, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    eof_ = n == 0 || (n < 0 && errno == ECONNRESET);
    return out;
  }
  bool eof() const { return eof_; }

 private:
  int fd_;
  bool connected_ = false;
  bool eof_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(ctx_);
    server_->Handle("/metrics", [] {
      return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", "up 1\n"};
    });
    server_->Handle("/boom", []() -> HttpResponse { throw std::runtime_error("boom"); });
    server_->Listen("127.0.0.1:0");
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    server_.reset();
    while (g_main_context_iteration(ctx_, FALSE)) {
    }
    g_main_context_unref(ctx_);
  }

  // Runs `client` on a thread while this thread iterates the server's context.
  template <typename F>
  void RunClient(F client) {
    std::atomic<bool> done = false;
    std::thread thread([&] {
      client();
      done = true;
      g_main_context_wakeup(ctx_);
    });
    while (!done) g_main_context_iteration(ctx_, TRUE);
    thread.join();
  }

  std::string Fetch(const std::string& request) {
    std::string response;
    RunClient([&] {
      Client client(server_->port());
      if (client.connected() && client.Send(request)) response = client.ReadAll();
    });
    return response;
  }

  // Iterates the context until `done` or a deadline passes.
  template <typename P>
  bool IterateUntil(P done) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      g_main_context_iteration(ctx_, FALSE);
      std::this_thread::sleep_for(1ms);
    }
    return done();
  }

  GMainContext* ctx_ = g_main_context_new();  // Not the global default: proves we dispatch here.
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, GetReturnsBodyWithHeaders) {
  EXPECT_EQ(Fetch("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 5\r\n"
            "Connection: close\r\n"
            "\r\n"
            "up 1\n");
}

TEST_F(HttpServerTest, HeadHasHeadersButNoBody) {
  EXPECT_EQ(Fetch("HEAD /metrics HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 5\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST_F(HttpServerTest, QueryStringIsIgnored) {
  EXPECT_TRUE(Fetch("GET /metrics?name[]=x HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  std::string response = Fetch("GET /metricsx HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 404 Not Found\r\n")) << response;
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(HttpServerTest, OtherMethodsAre405WithAllow) {
  std::string response = Fetch("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << response;
  EXPECT_NE(response.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << response;
}

TEST_F(HttpServerTest, MalformedRequestLineIs400) {
  EXPECT_TRUE(Fetch("GET\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Fetch("GET metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Fetch("GET /metrics SIP/2.0\r\n\r\n").starts_with("HTTP/1.1 400 "));
}

TEST_F(HttpServerTest, ThrowingHandlerIs500) {
  EXPECT_TRUE(Fetch("GET /boom HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 500 "));
}

TEST_F(HttpServerTest, OversizedHeadIs431) {
  std::string big_header = "X-Pad: " + std::string(9000, 'a') + "\r\n";
  std::string response = Fetch("GET /metrics HTTP/1.1\r\n" + big_header + "\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << response;
  // Just under the cap is fine.
  std::string fits = "X-Pad: " + std::string(8000, 'a') + "\r\n";
  EXPECT_TRUE(Fetch("GET /metrics HTTP/1.1\r\n" + fits + "\r\n").starts_with("HTTP/1.1 200 "));
}

TEST_F(HttpServerTest, HeadArrivingInPieces) {
  std::string response;
  RunClient([&] {
    Client client(server_->port());
    for (const char* piece : {"GET /met", "rics HTTP/1.1\r\n", "Host: x\r\n\r", "\n"}) {
      client.Send(piece);
      std::this_thread::sleep_for(20ms);
    }
    response = client.ReadAll();
  });
  EXPECT_TRUE(response.ends_with("\r\n\r\nup 1\n")) << response;
}

TEST_F(HttpServerTest, ServesManyConnections) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Fetch("GET /metrics HTTP/1.1\r\n\r\n").ends_with("up 1\n")) << i;
  }
  std::atomic<int> ok = 0;
  RunClient([&] {
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i) {
      clients.emplace_back([&] {
        Client client(server_->port());
        client.Send("GET /metrics HTTP/1.1\r\n\r\n");
        if (client.ReadAll().ends_with("up 1\n")) ++ok;
      });
    }
    for (auto& client : clients) client.join();
  });
  EXPECT_EQ(ok, 8);
  EXPECT_TRUE(IterateUntil([&] { return server_->active_connections() == 0; }));
}

TEST_F(HttpServerTest, SlowClientIsDisconnected) {
  server_->set_timeout(200ms);
  bool eof = false;
  std::string response;
  RunClient([&] {
    Client client(server_->port());
    client.Send("GET /metrics HTTP/1.1\r\n");  // Never finishes the head.
    response = client.ReadAll();
    eof = client.eof();
  });
  EXPECT_TRUE(eof);
  EXPECT_EQ(response, "");
  EXPECT_TRUE(IterateUntil([&] { return server_->active_connections() == 0; }));
}

TEST_F(HttpServerTest, DestroyedWhileClientConnected) {
  std::atomic<bool> sent = false;
  std::atomic<bool> done = false;
  bool eof = false;
  std::thread thread([&] {
    Client client(server_->port());
    client.Send("GET /metrics HTTP/1.1\r\n");
    sent = true;
    client.ReadAll();
    eof = client.eof();
    done = true;
  });
  ASSERT_TRUE(IterateUntil([&] { return sent && server_->active_connections() == 1; }));
  server_.reset();
  // The cancelled read completes now and must find the server gone (ASan checks the "must");
  // it closes the socket, which the client sees.
  EXPECT_TRUE(IterateUntil([&] { return done.load(); }));
  thread.join();
  EXPECT_TRUE(eof);
}

TEST(HttpServerListenTest, BadAddressesThrow) {
  GMainContext* ctx = g_main_context_new();
  {
    HttpServer server(ctx);
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536",
                            "localhost:0", "999.0.0.1:0"}) {
      try {
        server.Listen(bad);
        ADD_FAILURE() << bad;
      } catch (const std::runtime_error& e) {
        EXPECT_TRUE(
            std::string(e.what()).starts_with(std::string("cannot listen on ") + bad + ": "))
            << e.what();
      }
    }
    server.Listen("127.0.0.1:0");
    HttpServer other(ctx);
    std::string taken = "127.0.0.1:" + std::to_string(server.port());
    EXPECT_THROW(other.Listen(taken), std::runtime_error);
  }
  while (g_main_context_iteration(ctx, FALSE)) {
  }
  g_main_context_unref(ctx);
}

}  // namespace
}  // namespace webrtc2sip
