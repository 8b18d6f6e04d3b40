#pragma once

// Helpers of the media-relay socket tests: a GMainContext the test drives itself, and free
// port ranges on 127.0.0.1.

#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace webrtc2sip::media::testing {

class TestLoop {
 public:
  TestLoop() : context_(g_main_context_new()) { g_main_context_push_thread_default(context_); }
  ~TestLoop() {
    RunFor(std::chrono::milliseconds(50));  // Lets asynchronous closes finish.
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
  }
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;

  GMainContext* context() const { return context_; }

  // Iterates until `done` or the timeout; returns `done()`.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Wakes the blocking iteration often enough to look at the clock and `done`.
    GSource* tick = g_timeout_source_new(5);
    g_source_set_callback(
        tick, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(tick, context_);
    bool result = done();
    while (!result && std::chrono::steady_clock::now() < deadline) {
      g_main_context_iteration(context_, TRUE);
      result = done();
    }
    g_source_destroy(tick);
    g_source_unref(tick);
    return result;
  }

  void RunFor(std::chrono::milliseconds duration) {
    RunUntil([] { return false; }, duration);
  }

 private:
  GMainContext* context_;
};

inline int BindLoopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// First port of `count` consecutive free UDP ports on 127.0.0.1, starting on an even port.
// (Free when looked at: another program may take one later, which the tests tolerate.)
inline uint16_t FindFreePorts(int count) {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(21000 / 2, 59000 / 2);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto base = static_cast<uint16_t>(pick(random) * 2);
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
      const int fd = BindLoopback(static_cast<uint16_t>(base + i));
      if (fd < 0) break;
      fds.push_back(fd);
    }
    const bool all = static_cast<int>(fds.size()) == count;
    for (int fd : fds) close(fd);
    if (all) return base;
  }
  return 0;
}

}  // namespace webrtc2sip::media::testing
