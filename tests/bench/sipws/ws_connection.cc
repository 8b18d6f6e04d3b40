#include "ws_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "handshake_digest.h"

namespace webrtc2sip::bench {
namespace {

constexpr uint8_t kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kCloseFrame = 0x8, kPing = 0x9,
                  kPong = 0xA;
constexpr size_t kReadChunk = size_t{256} * 1024;
constexpr size_t kMaxMessage = 1 << 20;

// A header's value in an HTTP response head, case-insensitive name.
std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    const size_t end = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, end == std::string_view::npos ? end : end - pos);
    const size_t colon = line.find(':');
    if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    }
  }
  return {};
}

}  // namespace

WsConnection::WsConnection(int epoll_fd, Listener& listener, uint32_t index, uint64_t seed,
                           bool udp)
    : epoll_fd_(epoll_fd), listener_(listener), index_(index), rng_(seed | 1), udp_(udp) {}

WsConnection::~WsConnection() {
  if (fd_ >= 0) ::close(fd_);
}

uint32_t WsConnection::NextMask() {
  // xorshift64*: masking only has to keep intermediaries from reading frames
  // as HTTP; a bench needs no cryptographic strength here.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<uint32_t>((rng_ * 0x2545F4914F6CDD1DULL) >> 32);
}

bool WsConnection::Connect(const sockaddr_in& target, const sockaddr_in* source,
                           const std::string& host, const std::string& path) {
  if (udp_) return ConnectUdp(target);
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source) {
    setsockopt(fd_, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(source), sizeof *source) != 0) {
      Fail(std::string("bind: ") + std::strerror(errno));
      return true;
    }
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = index_;
  watching_out_ = true;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev) != 0) {
    Fail(std::string("epoll_ctl: ") + std::strerror(errno));
    return true;
  }
  state_ = State::kConnecting;
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 &&
      errno != EINPROGRESS) {
    Fail(std::string("connect: ") + std::strerror(errno));
    return true;
  }
  uint8_t nonce[16];
  for (int i = 0; i < 16; i += 4) {
    const uint32_t r = NextMask();
    std::memcpy(nonce + i, &r, 4);
  }
  key_ = Base64(nonce, sizeof nonce);
  out_ = "GET " + path + " HTTP/1.1\r\nHost: " + host +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
         "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
  out_sent_ = 0;
  return true;
}

bool WsConnection::ConnectUdp(const sockaddr_in& target) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  const int buf = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
    Fail(std::string("connect: ") + std::strerror(errno));
    return true;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = index_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev) != 0) {
    Fail(std::string("epoll_ctl: ") + std::strerror(errno));
    return true;
  }
  state_ = State::kOpen;
  listener_.OnWsOpen(*this);
  return true;
}

void WsConnection::ReadDatagrams() {
  thread_local char scratch[65536];
  while (state_ == State::kOpen) {
    const ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED) return;
      return Fail(std::string("recv: ") + std::strerror(errno));
    }
    if (n > 4) listener_.OnWsMessage(*this, std::string_view(scratch, static_cast<size_t>(n)));
  }
}

void WsConnection::WatchWritable(bool on) {
  if (on == watching_out_ || fd_ < 0) return;
  epoll_event ev{};
  ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u64 = index_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
  watching_out_ = on;
}

void WsConnection::Fail(std::string_view why) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    linger lin{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
    ::close(fd_);
    fd_ = -1;
  }
  out_.clear();
  out_sent_ = 0;
  listener_.OnWsClosed(*this, why);
}

void WsConnection::Close(bool polite) {
  if (state_ == State::kClosed) return;
  if (polite && state_ == State::kOpen && !udp_) {
    const char code[2] = {0x03, static_cast<char>(0xE8)};  // 1000, normal closure
    QueueFrame(kCloseFrame, std::string_view(code, 2));
    Flush();
  }
  Fail("closed by us");
}

void WsConnection::OnWritable() {
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(std::string("connect: ") + std::strerror(err));
    state_ = State::kHandshake;
  }
  Flush();
}

void WsConnection::Flush() {
  if (fd_ < 0 || state_ == State::kConnecting) return;
  while (out_sent_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      WatchWritable(true);
      return;
    }
    return Fail(std::string("send: ") + std::strerror(errno));
  }
  out_.clear();
  out_sent_ = 0;
  WatchWritable(false);
}

void WsConnection::QueueFrame(uint8_t opcode, std::string_view payload) {
  char head[14];
  size_t n = 0;
  head[n++] = static_cast<char>(0x80 | opcode);  // FIN: SIP messages go in one frame
  const uint64_t len = payload.size();
  if (len < 126) {
    head[n++] = static_cast<char>(0x80 | len);
  } else if (len <= 0xFFFF) {
    head[n++] = static_cast<char>(0x80 | 126);
    head[n++] = static_cast<char>(len >> 8);
    head[n++] = static_cast<char>(len);
  } else {
    head[n++] = static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) head[n++] = static_cast<char>(len >> (i * 8));
  }
  const uint32_t mask = NextMask();
  std::memcpy(head + n, &mask, 4);
  const auto* key = reinterpret_cast<const uint8_t*>(head + n);
  n += 4;
  const size_t at = out_.size();
  out_.append(head, n);
  out_.append(payload);
  // Client-to-server frames are masked (RFC 6455 5.3), eight bytes at a time.
  auto* p = reinterpret_cast<uint8_t*>(out_.data() + at + n);
  uint64_t mask8;
  uint8_t m[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&mask8, m, 8);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= mask8;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < len; ++i) p[i] ^= m[i & 3];
}

void WsConnection::SendText(std::string_view payload) {
  if (state_ != State::kOpen) return;
  if (udp_) {
    // A datagram at once; a full socket buffer loses it, as UDP would.
    if (::send(fd_, payload.data(), payload.size(), MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
        errno != ECONNREFUSED) {
      Fail(std::string("send: ") + std::strerror(errno));
    }
    return;
  }
  QueueFrame(kText, payload);
}

void WsConnection::OnReadable() {
  if (fd_ < 0) return;
  if (udp_) return ReadDatagrams();
  if (state_ == State::kConnecting) {
    OnWritable();
    if (fd_ < 0) return;
  }
  // One scratch buffer per thread: an idle connection holds no read buffer.
  thread_local char scratch[kReadChunk];
  const ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return Fail(n == 0 ? "closed by peer" : std::string("recv: ") + std::strerror(errno));
  }
  in_.append(scratch, static_cast<size_t>(n));
  if (state_ == State::kHandshake && !ReadHandshake()) return;
  if (state_ == State::kOpen) ReadFrames();
  // Keep the unread tail only.
  if (in_used_ > 0) {
    in_.erase(0, in_used_);
    in_used_ = 0;
  }
}

bool WsConnection::ReadHandshake() {
  const size_t end = in_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (in_.size() > 16384) Fail("handshake: response head too long");
    return false;
  }
  const std::string_view head(in_.data(), end + 2);
  if (head.substr(0, 12) != "HTTP/1.1 101") {
    Fail("handshake: " + std::string(head.substr(0, head.find("\r\n"))));
    return false;
  }
  if (HeaderValue(head, "Sec-WebSocket-Accept") != WebSocketAccept(key_)) {
    Fail("handshake: bad Sec-WebSocket-Accept");
    return false;
  }
  if (HeaderValue(head, "Sec-WebSocket-Protocol") != "sip") {
    Fail("handshake: subprotocol sip not accepted");
    return false;
  }
  in_used_ = end + 4;
  state_ = State::kOpen;
  listener_.OnWsOpen(*this);
  return state_ == State::kOpen;
}

void WsConnection::ReadFrames() {
  while (state_ == State::kOpen) {
    const auto* p = reinterpret_cast<const uint8_t*>(in_.data() + in_used_);
    const size_t avail = in_.size() - in_used_;
    if (avail < 2) return;
    const bool fin = p[0] & 0x80;
    const uint8_t opcode = p[0] & 0x0F;
    const bool masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7F;
    size_t hdr = 2;
    if (len == 126) {
      if (avail < 4) return;
      len = (uint64_t{p[2]} << 8) | p[3];
      hdr = 4;
    } else if (len == 127) {
      if (avail < 10) return;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      hdr = 10;
    }
    if (len > kMaxMessage) return Fail("frame too large");
    uint8_t mask[4] = {0, 0, 0, 0};
    if (masked) {
      if (avail < hdr + 4) return;
      std::memcpy(mask, p + hdr, 4);
      hdr += 4;
    }
    if (avail < hdr + len) return;
    char* payload = in_.data() + in_used_ + hdr;
    if (masked) {
      for (uint64_t i = 0; i < len; ++i) payload[i] ^= static_cast<char>(mask[i & 3]);
    }
    const std::string_view data(payload, len);
    in_used_ += hdr + len;
    switch (opcode) {
      case kText:
      case kBinary:
        if (fin) {
          listener_.OnWsMessage(*this, data);
        } else {
          fragments_.assign(data);
        }
        break;
      case kContinuation:
        fragments_.append(data);
        if (fragments_.size() > kMaxMessage) return Fail("message too large");
        if (fin) {
          std::string whole;
          whole.swap(fragments_);
          listener_.OnWsMessage(*this, whole);
        }
        break;
      case kPing:
        QueueFrame(kPong, data);
        break;
      case kPong:
        break;
      case kCloseFrame:
        QueueFrame(kCloseFrame, data.substr(0, 2));
        Flush();
        return Fail("close frame from server");
      default:
        return Fail("unknown opcode");
    }
  }
}

}  // namespace webrtc2sip::bench
