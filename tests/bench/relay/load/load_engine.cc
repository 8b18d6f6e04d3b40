#include "load/load_engine.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "load/process_stats.h"
#include "services/media-relay/dtls/dtls_certificate.h"

namespace webrtc2sip::bench::relay {
namespace {

constexpr int64_t kMillisecond = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;

std::runtime_error SystemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

int OpenUdpSocket(int buffer_bytes, uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError("socket");
  // Root may exceed net.core.{r,w}mem_max; others get what the limit allows.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw SystemError("bind");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

bool IsRtcp(const uint8_t* data, size_t len) {
  return len >= 2 && data[1] >= 192 && data[1] <= 223;
}

}  // namespace

LoadEngine::LoadEngine(const LoadOptions& options)
    : options_(options),
      session_of_port_(65536, -1),
      recv_buffers_(kBatch),
      browser_batch_(std::make_unique<SendBatch>()),
      legacy_batch_(std::make_unique<SendBatch>()) {
  browser_fd_ = OpenUdpSocket(options_.socket_buffer_bytes, &browser_port_);
  legacy_fd_ = OpenUdpSocket(options_.socket_buffer_bytes, &legacy_port_);
  browser_batch_->fd = browser_fd_;
  legacy_batch_->fd = legacy_fd_;
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) throw SystemError("timerfd_create");
  itimerspec tick{};
  tick.it_interval.tv_nsec = kMillisecond;
  tick.it_value.tv_nsec = kMillisecond;
  timerfd_settime(timer_fd_, 0, &tick, nullptr);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw SystemError("epoll_create1");
  for (int fd : {browser_fd_, legacy_fd_, timer_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) throw SystemError("epoll_ctl");
  }
  for (size_t i = 0; i < kBatch; ++i) {
    recv_iov_[i] = {recv_buffers_[i].data(), kRecvSlot};
    recv_headers_[i].msg_hdr.msg_iov = &recv_iov_[i];
    recv_headers_[i].msg_hdr.msg_iovlen = 1;
    recv_headers_[i].msg_hdr.msg_name = &recv_from_[i];
  }
  if (options_.keying == Keying::kDtls) {
    media::DtlsContext::Options dtls_options;
    if (!options_.dtls_profiles.empty()) dtls_options.srtp_profiles = options_.dtls_profiles;
    dtls_ =
        media::DtlsContext::Create(media::DtlsCertificate::Generate("relay-load"), dtls_options);
  }
}

LoadEngine::~LoadEngine() {
  sessions_.clear();
  for (int fd : {epoll_fd_, timer_fd_, browser_fd_, legacy_fd_}) {
    if (fd >= 0) close(fd);
  }
}

std::string LoadEngine::fingerprint() const {
  return dtls_ ? dtls_->certificate().fingerprint() : std::string();
}

void LoadEngine::AddSession(const SessionSpec& spec) {
  const auto index = static_cast<uint32_t>(sessions_.size());
  // Port 0: the calibration path, straight to our other socket.
  const sockaddr_in browser_remote =
      Loopback(spec.browser_remote_port ? spec.browser_remote_port : legacy_port_);
  const sockaddr_in legacy_remote =
      Loopback(spec.legacy_remote_port ? spec.legacy_remote_port : browser_port_);
  if (spec.browser_remote_port != 0) {
    if (session_of_port_[spec.browser_remote_port] >= 0) {
      throw std::runtime_error("two sessions with server port " +
                               std::to_string(spec.browser_remote_port));
    }
    session_of_port_[spec.browser_remote_port] = static_cast<int32_t>(index);
  }
  sessions_.push_back(std::make_unique<LoadSession>(index, spec, browser_remote, legacy_remote,
                                                    options_.keying, dtls_, *this));
}

LoadSession* LoadEngine::SessionOfServerPort(uint16_t port) {
  const int32_t i = session_of_port_[port];
  return i < 0 ? nullptr : sessions_[static_cast<size_t>(i)].get();
}

void LoadEngine::SendControl(const sockaddr_in& to, std::span<const uint8_t> datagram) {
  if (sendto(browser_fd_, datagram.data(), datagram.size(), 0,
             reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
    ++report_.send_errors;
  }
}

int LoadEngine::WaitEvents(int timeout_ms) {
  std::array<epoll_event, 4> events{};
  const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
  const int64_t now = MonotonicNanos();
  for (int i = 0; i < n; ++i) {
    const int fd = events[static_cast<size_t>(i)].data.fd;
    if (fd == timer_fd_) {
      ReadTimer();
    } else {
      Receive(fd, now);
    }
  }
  return n;
}

void LoadEngine::ReadTimer() {
  uint64_t expirations = 0;
  [[maybe_unused]] const ssize_t r = read(timer_fd_, &expirations, sizeof expirations);
}

void LoadEngine::Receive(int fd, int64_t now_ns) {
  // Everything queued: a receiver that falls behind reads stale packets while fresh ones
  // overflow the queue. The send loop is bounded instead (RunMedia).
  while (true) {
    for (size_t i = 0; i < kBatch; ++i) recv_headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    const int n = recvmmsg(fd, recv_headers_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    now_ns = MonotonicNanos();
    for (int i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(i);
      uint8_t* data = recv_buffers_[k].data();
      const size_t len = recv_headers_[k].msg_len;
      if (fd == browser_fd_) {
        OnBrowserDatagram(data, len, recv_from_[k], now_ns);
      } else {
        OnLegacyDatagram(data, len, now_ns);
      }
    }
    if (static_cast<size_t>(n) < kBatch) return;
  }
}

void LoadEngine::OnBrowserDatagram(uint8_t* data, size_t len, const sockaddr_in& from,
                                   int64_t now_ns) {
  LoadSession* session = SessionOfServerPort(ntohs(from.sin_port));
  const std::span<const uint8_t> datagram(data, len);
  if (IsStun(datagram)) {
    if (session) session->OnStun(datagram, now_ns);
    return;
  }
  if (media::DtlsTransport::IsDtls(data, len)) {
    if (session) session->OnDtls(datagram, now_ns);
    return;
  }
  if (len < 12 || data[0] < 128 || data[0] > 191) {
    ++report_.unknown_datagrams;
    return;
  }
  if (IsRtcp(data, len)) {
    ++report_.rtcp_received;
    return;
  }
  if (options_.keying != Keying::kNone) {
    if (!session || session->state() != LoadSession::State::kMedia) {
      ++report_.unknown_datagrams;
      return;
    }
    size_t n = len;
    if (session->UnprotectAtBrowser(data, &n) != media::SrtpResult::kOk) {
      ++report_.srtp_errors;
      return;
    }
    len = n;
  }
  OnMedia(Direction::kToBrowser, data, len, now_ns);
}

void LoadEngine::OnLegacyDatagram(uint8_t* data, size_t len, int64_t now_ns) {
  if (len < 12 || data[0] < 128 || data[0] > 191) {
    ++report_.unknown_datagrams;
    return;
  }
  if (IsRtcp(data, len)) {
    ++report_.rtcp_received;
    return;
  }
  OnMedia(Direction::kToLegacy, data, len, now_ns);
}

void LoadEngine::OnMedia(Direction direction, const uint8_t* rtp, size_t len, int64_t now_ns) {
  size_t header = 12 + 4 * static_cast<size_t>(rtp[0] & 0x0f);
  if ((rtp[0] & 0x10) && len >= header + 4) {
    header += 4 + 4 * static_cast<size_t>(rtp[header + 2] << 8 | rtp[header + 3]);
  }
  PayloadStamp stamp{};
  if (len < header + sizeof stamp) {
    ++report_.unknown_datagrams;
    return;
  }
  std::memcpy(&stamp, rtp + header, sizeof stamp);
  if (stamp.magic != PayloadStamp::kMagic || stamp.session >= sessions_.size()) {
    ++report_.unknown_datagrams;
    return;
  }
  if (!measuring_ || stamp.sent_ns < window_.start_ns || stamp.sent_ns >= window_.end_ns) return;
  const auto d = static_cast<size_t>(direction);
  Reception& r = received_by_session_[stamp.session][d];
  if (!r.any || stamp.counter > r.highest) {
    const uint32_t shift = r.any ? stamp.counter - r.highest : 64;
    r.seen = (shift >= 64 ? 0 : r.seen << shift) | 1;
    r.highest = stamp.counter;
    r.any = true;
  } else {
    const uint32_t age = r.highest - stamp.counter;
    if (age < 64 && (r.seen >> age) & 1) {
      ++report_.duplicates;
      return;
    }
    if (age < 64) r.seen |= uint64_t{1} << age;
    ++report_.reordered;
  }
  ++r.received;
  ++report_.received[d];
  latency_[d].Add(now_ns - stamp.sent_ns);
  latency_all_.Add(now_ns - stamp.sent_ns);
}

ConnectReport LoadEngine::Connect() {
  ConnectReport report;
  const int64_t start = MonotonicNanos();
  if (options_.keying != Keying::kDtls) {
    for (auto& s : sessions_) s->Start(start);
  } else {
    const int64_t deadline =
        start + static_cast<int64_t>(options_.connect_timeout_seconds * kSecond);
    size_t next = 0;
    std::vector<LoadSession*> in_flight;
    int64_t now = start;
    while ((next < sessions_.size() || !in_flight.empty()) && now < deadline) {
      while (in_flight.size() < options_.handshake_window && next < sessions_.size()) {
        sessions_[next]->Start(now);
        in_flight.push_back(sessions_[next++].get());
      }
      WaitEvents(1);
      now = MonotonicNanos();
      std::erase_if(in_flight, [now](LoadSession* s) {
        s->OnTimer(now);
        return s->state() == LoadSession::State::kMedia ||
               s->state() == LoadSession::State::kFailed;
      });
    }
  }
  for (auto& s : sessions_) {
    if (s->state() == LoadSession::State::kMedia) {
      ++report.connected;
      if (s->profile()) ++report.profiles[std::string(media::SrtpProfileSdesName(*s->profile()))];
    } else {
      ++report.failed;
      ++report
            .failures[s->state() == LoadSession::State::kFailed ? s->failure() : "connect_timeout"];
    }
  }
  report.seconds = static_cast<double>(MonotonicNanos() - start) / kSecond;
  return report;
}

void LoadEngine::QueuePacket(SendBatch& batch, LoadSession& session, Direction direction,
                             const sockaddr_in& to, int64_t now_ns) {
  const size_t slot = batch.count;
  uint8_t* buf = batch.buffers[slot].data();
  const size_t n = session.BuildPacket(direction, buf, kSendSlot, options_.payload_bytes, now_ns);
  if (n == 0) {
    ++report_.send_errors;
    return;
  }
  batch.iov[slot] = {buf, n};
  msghdr& h = batch.headers[slot].msg_hdr;
  h = {};
  h.msg_name = const_cast<sockaddr_in*>(&to);
  h.msg_namelen = sizeof to;
  h.msg_iov = &batch.iov[slot];
  h.msg_iovlen = 1;
  // Which sends count is decided once they really left: see Flush().
  batch.counted[slot] = measuring_ && now_ns >= window_.start_ns && now_ns < window_.end_ns
                            ? static_cast<uint8_t>(static_cast<uint8_t>(direction) + 1)
                            : 0;
  if (++batch.count == kBatch) Flush(batch);
}

void LoadEngine::Flush(SendBatch& batch) {
  size_t done = 0;
  while (done < batch.count) {
    const int n = sendmmsg(batch.fd, batch.headers.data() + done,
                           static_cast<unsigned>(batch.count - done), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      report_.send_errors += batch.count - done;
      break;
    }
    for (size_t i = done; i < done + static_cast<size_t>(n); ++i) {
      if (batch.counted[i]) ++report_.sent[batch.counted[i] - 1u];
    }
    done += static_cast<size_t>(n);
  }
  batch.count = 0;
}

MediaReport LoadEngine::RunMedia() {
  std::vector<LoadSession*> active;
  for (auto& s : sessions_) {
    if (s->state() == LoadSession::State::kMedia) active.push_back(s.get());
  }
  report_ = MediaReport();
  report_.sessions = active.size();
  received_by_session_.assign(sessions_.size(), {});
  if (active.empty()) return report_;

  // Session k of n sends at t0 + c * period + k * period / n, for c = 0, 1, ...
  const int64_t period = kSecond / options_.packets_per_second;
  std::vector<int64_t> offset(active.size());
  for (size_t k = 0; k < active.size(); ++k) {
    offset[k] = period * static_cast<int64_t>(k) / static_cast<int64_t>(active.size());
  }
  const int64_t t0 = MonotonicNanos() + 2 * kMillisecond;
  window_.start_ns = t0 + static_cast<int64_t>(options_.warmup_seconds * kSecond);
  window_.end_ns = window_.start_ns + static_cast<int64_t>(options_.window_seconds * kSecond);
  const int64_t stop_ns = window_.end_ns + static_cast<int64_t>(options_.grace_seconds * kSecond);
  measuring_ = true;

  const std::vector<uint16_t> own_ports = {browser_port_, legacy_port_};
  bool started = false, ended = false;
  int64_t started_at = 0;
  std::optional<double> server_cpu0;
  double self_cpu0 = 0, busy0 = 0, server_delay0 = 0, self_delay0 = 0;
  uint64_t drops0 = 0, rcvbuf0 = 0;

  const size_t max_sends_per_turn =
      std::max<size_t>(64, 2 * active.size() * options_.packets_per_second / 1000);
  int64_t cycle = 0;
  size_t cursor = 0;
  int64_t now = MonotonicNanos();
  while (now < stop_ns) {
    WaitEvents(1);
    now = MonotonicNanos();
    if (!started && now >= window_.start_ns) {
      started = true;
      started_at = now;
      if (options_.server_pid) {
        server_cpu0 = ProcessCpuSeconds(options_.server_pid);
        server_delay0 = RunDelaySeconds(options_.server_pid);
      }
      self_cpu0 = SelfCpuSeconds();
      self_delay0 = RunDelaySeconds(0);
      busy0 = MachineBusySeconds();
      drops0 = UdpSocketDrops(own_ports);
      rcvbuf0 = UdpReceiveBufferErrors();
    }
    if (started && !ended && now >= window_.end_ns) {
      ended = true;
      report_.cpu_interval_seconds = static_cast<double>(now - started_at) / kSecond;
      if (server_cpu0) {
        if (auto cpu = ProcessCpuSeconds(options_.server_pid)) {
          report_.server_cpu_seconds = *cpu - *server_cpu0;
          report_.server_run_delay_seconds = RunDelaySeconds(options_.server_pid) - server_delay0;
        }
      }
      report_.self_cpu_seconds = SelfCpuSeconds() - self_cpu0;
      report_.self_run_delay_seconds = RunDelaySeconds(0) - self_delay0;
      report_.machine_busy_seconds = MachineBusySeconds() - busy0;
    }
    if (now >= window_.end_ns) continue;  // Grace: receive only.
    // At most two milliseconds' worth of sends per turn: a generator that fell behind catches
    // up gradually, reading its sockets in between, and says so (late_sends).
    size_t budget = max_sends_per_turn;
    while (budget-- > 0) {
      const int64_t due = t0 + cycle * period + offset[cursor];
      if (due > now) break;
      const int64_t lag = now - due;
      report_.max_send_lag_us = std::max(report_.max_send_lag_us, lag / 1000);
      if (lag > 2 * kMillisecond) ++report_.late_sends;
      LoadSession& s = *active[cursor];
      QueuePacket(*browser_batch_, s, Direction::kToLegacy, s.browser_remote(), MonotonicNanos());
      QueuePacket(*legacy_batch_, s, Direction::kToBrowser, s.legacy_remote(), MonotonicNanos());
      if (++cursor == active.size()) {
        cursor = 0;
        ++cycle;
      }
    }
    Flush(*browser_batch_);
    Flush(*legacy_batch_);
  }
  measuring_ = false;
  report_.own_socket_drops = UdpSocketDrops(own_ports) - drops0;
  report_.udp_rcvbuf_errors = UdpReceiveBufferErrors() - rcvbuf0;
  // The nominal window: packets are counted by their stamps, inside it.
  report_.window_seconds = static_cast<double>(window_.end_ns - window_.start_ns) / kSecond;
  for (size_t d = 0; d < 2; ++d) {
    report_.p50_us[d] = latency_[d].Quantile(0.50);
    report_.p99_us[d] = latency_[d].Quantile(0.99);
    report_.p999_us[d] = latency_[d].Quantile(0.999);
    report_.max_us[d] = latency_[d].Quantile(1.0);
  }
  report_.all_p50_us = latency_all_.Quantile(0.50);
  report_.all_p90_us = latency_all_.Quantile(0.90);
  report_.all_p99_us = latency_all_.Quantile(0.99);
  report_.all_p999_us = latency_all_.Quantile(0.999);
  for (LoadSession* s : active) {
    const auto& r = received_by_session_[s->index()];
    if (r[0].received == 0 || r[1].received == 0) ++report_.silent_sessions;
  }
  return report_;
}

}  // namespace webrtc2sip::bench::relay
