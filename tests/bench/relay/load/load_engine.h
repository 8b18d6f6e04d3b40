#pragma once

// The load generator's loop: two UDP sockets (the browser end and the legacy end of every
// session, demultiplexed by the server's port), one timerfd ticking every millisecond, one
// epoll, one thread. Sends are batched with sendmmsg, receives with recvmmsg; buffers are
// allocated once. The server relays each session between its own two ports, so the 5-tuples
// it sees are distinct per session even though ours are shared.

#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "load/latency_histogram.h"
#include "load/load_session.h"
#include "services/media-relay/dtls/dtls_context.h"

namespace webrtc2sip::bench::relay {

struct LoadOptions {
  Keying keying = Keying::kDtls;
  uint32_t packets_per_second = 50;  // Per session and direction.
  size_t payload_bytes = 160;
  double warmup_seconds = 3;
  double window_seconds = 10;
  double grace_seconds = 0.5;    // Receive-only time after the window, for packets in flight.
  pid_t server_pid = 0;          // Whose CPU the window measures; 0: none.
  size_t handshake_window = 32;  // ICE + DTLS handshakes in flight at once.
  double connect_timeout_seconds = 60;
  std::vector<media::SrtpProfile> dtls_profiles;  // Offered as DTLS client; empty: the default.
  int socket_buffer_bytes = 32 << 20;
};

struct ConnectReport {
  size_t connected = 0;
  size_t failed = 0;
  double seconds = 0;
  std::map<std::string, size_t> failures;  // By reason.
  std::map<std::string, size_t> profiles;  // Negotiated SRTP profiles.
};

struct MediaReport {
  size_t sessions = 0;                 // Those that took part (connected).
  double window_seconds = 0;           // Nominal: packets count by the send time they carry.
  double cpu_interval_seconds = 0;     // Measured: between the two CPU readings.
  std::array<uint64_t, 2> sent{};      // By Direction, stamped inside the window.
  std::array<uint64_t, 2> received{};  // Of those.
  std::array<uint32_t, 2> p50_us{}, p99_us{}, p999_us{}, max_us{};
  uint32_t all_p50_us = 0, all_p90_us = 0, all_p99_us = 0, all_p999_us = 0;
  std::optional<double> server_cpu_seconds;
  double self_cpu_seconds = 0;
  std::optional<double> server_run_delay_seconds;  // Runnable but not running, all threads.
  double self_run_delay_seconds = 0;
  double machine_busy_seconds = 0;
  uint64_t own_socket_drops = 0;   // Our sockets' receive-queue overflows.
  uint64_t udp_rcvbuf_errors = 0;  // The whole machine's, same window.
  uint64_t srtp_errors = 0;        // Unprotect failures at the browser end.
  uint64_t rtcp_received = 0;      // The server's own RTCP (ignored).
  uint64_t duplicates = 0;         // Received again (not counted in `received`).
  uint64_t reordered = 0;          // Arrived after a later one of the same stream.
  uint64_t unknown_datagrams = 0;  // From a port no session knows, or not ours.
  uint64_t send_errors = 0;
  size_t silent_sessions = 0;   // Sessions that received nothing in a direction.
  int64_t max_send_lag_us = 0;  // Worst lateness of a scheduled send.
  uint64_t late_sends = 0;      // Sends more than 2 ms behind schedule.
};

class LoadEngine final : public LoadSession::Sender {
 public:
  // Binds both sockets on 127.0.0.1 (ephemeral ports); throws std::runtime_error on failure.
  explicit LoadEngine(const LoadOptions& options);
  ~LoadEngine() override;
  LoadEngine(const LoadEngine&) = delete;
  LoadEngine& operator=(const LoadEngine&) = delete;

  uint16_t browser_port() const { return browser_port_; }
  uint16_t legacy_port() const { return legacy_port_; }
  // Our DTLS certificate's sha-256 fingerprint (Keying::kDtls), for the server's SDP.
  std::string fingerprint() const;

  void AddSession(const SessionSpec& spec);

  // ICE and DTLS of every session (a few at a time), or nothing to do without DTLS.
  ConnectReport Connect();
  // Warm-up, then the measurement window, then the grace period.
  MediaReport RunMedia();

  // LoadSession::Sender
  void SendControl(const sockaddr_in& to, std::span<const uint8_t> datagram) override;

 private:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kSendSlot = 1536;
  static constexpr size_t kRecvSlot = 2048;

  struct SendBatch {
    int fd = -1;
    size_t count = 0;
    std::array<mmsghdr, kBatch> headers{};
    std::array<iovec, kBatch> iov{};
    std::array<uint8_t, kBatch> counted{};  // 0, or 1 + Direction of a send inside the window.
    std::array<std::array<uint8_t, kSendSlot>, kBatch> buffers{};
  };
  struct Window {
    int64_t start_ns = 0, end_ns = 0;
  };

  int WaitEvents(int timeout_ms);
  void ReadTimer();
  void Receive(int fd, int64_t now_ns);
  void OnBrowserDatagram(uint8_t* data, size_t len, const sockaddr_in& from, int64_t now_ns);
  void OnLegacyDatagram(uint8_t* data, size_t len, int64_t now_ns);
  void OnMedia(Direction direction, const uint8_t* rtp, size_t len, int64_t now_ns);
  void QueuePacket(SendBatch& batch, LoadSession& session, Direction direction,
                   const sockaddr_in& to, int64_t now_ns);
  void Flush(SendBatch& batch);
  LoadSession* SessionOfServerPort(uint16_t port);

  const LoadOptions options_;
  int browser_fd_ = -1, legacy_fd_ = -1, timer_fd_ = -1, epoll_fd_ = -1;
  uint16_t browser_port_ = 0, legacy_port_ = 0;
  std::shared_ptr<const media::DtlsContext> dtls_;
  std::vector<std::unique_ptr<LoadSession>> sessions_;
  std::vector<int32_t> session_of_port_;  // Server browser-side port -> session index.

  // Receive buffers.
  std::array<mmsghdr, kBatch> recv_headers_{};
  std::array<iovec, kBatch> recv_iov_{};
  std::array<sockaddr_in, kBatch> recv_from_{};
  std::vector<std::array<uint8_t, kRecvSlot>> recv_buffers_;
  std::unique_ptr<SendBatch> browser_batch_, legacy_batch_;

  // Accounting of the media phase.
  bool measuring_ = false;
  Window window_;
  MediaReport report_;
  LatencyHistogram latency_[2];
  LatencyHistogram latency_all_;
  // What each session received, by direction: a count, and the last 64 counters for
  // duplicates.
  struct Reception {
    uint64_t received = 0;
    uint32_t highest = 0;
    uint64_t seen = 0;  // Bit k: counter highest - k arrived.
    bool any = false;
  };
  std::vector<std::array<Reception, 2>> received_by_session_;
};

}  // namespace webrtc2sip::bench::relay
