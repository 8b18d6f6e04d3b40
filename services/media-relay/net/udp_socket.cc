#include "services/media-relay/net/udp_socket.h"

#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <vector>

#include "common/metrics/registry.h"
#include "services/media-relay/net/socket_address.h"

namespace webrtc2sip::media {
namespace {

// Node-wide drop counters, looked up once: the packet path only increments.
struct UdpMetrics {
  metrics::Counter& send_dropped;
  metrics::Counter& send_errors;
  metrics::Counter& truncated;
  metrics::Counter& receive_errors;

  static UdpMetrics& Get() {
    static UdpMetrics instance = [] {
      auto& family = metrics::Registry::Global().AddCounter(
          "webrtc2sip_media_udp_dropped_packets_total",
          "UDP datagrams of media sockets dropped, by reason.", {"reason"});
      return UdpMetrics{family.WithLabels({"send_buffer_full"}), family.WithLabels({"send_error"}),
                        family.WithLabels({"truncated"}), family.WithLabels({"receive_error"})};
    }();
    return instance;
  }
};

void SetBufferSizes(int fd, int size) {
  if (size <= 0) return;
  // Best effort: the kernel caps at rmem_max/wmem_max, which is not an error.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

int GetIntOption(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return -1;
  return value;
}

}  // namespace

std::unique_ptr<UdpSocket> UdpSocket::Create(UniqueFd fd, GMainContext* context, Listener& listener,
                                             const Options& options) {
  if (!fd || options.batch == 0 || options.max_datagram == 0) return nullptr;
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  int type = 0;
  socklen_t type_length = sizeof(type);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
      (local.ss_family != AF_INET && local.ss_family != AF_INET6) || GetPort(local) == 0 ||
      getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_DGRAM) {
    return nullptr;
  }
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) return nullptr;
  SetBufferSizes(fd.get(), options.buffer_size);
  UdpMetrics::Get();  // Registered before the first packet, not on it.

  std::unique_ptr<UdpSocket> socket(new UdpSocket(std::move(fd), local, listener, options));
  socket->poller_ = SocketPoller::ForContext(context);
  if (!socket->poller_) return nullptr;
  socket->token_ = socket->poller_->Add(socket->fd_.get(), *socket);
  if (socket->token_ == 0) return nullptr;
  return socket;
}

std::unique_ptr<UdpSocket> UdpSocket::Bind(const sockaddr_storage& address, GMainContext* context,
                                           Listener& listener, const Options& options) {
  UniqueFd fd(::socket(address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address),
                    SocketAddressLength(address)) != 0) {
    return nullptr;
  }
  return Create(std::move(fd), context, listener, options);
}

UdpSocket::UdpSocket(UniqueFd fd, const sockaddr_storage& local, Listener& listener,
                     const Options& options)
    : fd_(std::move(fd)),
      local_address_(local),
      listener_(listener),
      options_(options) {}

UdpSocket::~UdpSocket() {
  // Datagrams it queued go before its fd closes (and the batch's slots stop pointing here).
  if (poller_ && poller_->batcher()) poller_->batcher()->FlushBefore(*this);
  // Unregistered before the fd closes: no call reaches this socket again, and a read in progress
  // (we are inside a listener callback) stops at its next check of the token.
  if (poller_) poller_->Remove(token_);
}

uint16_t UdpSocket::local_port() const {
  return GetPort(local_address_);
}

int UdpSocket::ReceiveBufferSize() const {
  return GetIntOption(fd_.get(), SO_RCVBUF);
}
int UdpSocket::SendBufferSize() const {
  return GetIntOption(fd_.get(), SO_SNDBUF);
}

void UdpSocket::OnReadable() {
  // The poller outlives this turn (it holds itself), the socket may not.
  SocketPoller& poller = *poller_;
  const uint64_t token = token_;
  const size_t batches = options_.max_batches_per_turn;
  for (size_t i = 0; i < batches; ++i) {
    // `this` may be freed inside ReadBatch; it returns false then and is not touched again.
    if (!ReadBatch(poller, token)) break;
  }
}

int UdpSocket::batch_read_fd() const {
  // A socket that takes datagrams longer than a batch slot reads on its own.
  return options_.max_datagram <= IoBatcher::kMaxDatagram ? fd_.get() : -1;
}

void UdpSocket::OnBatchRead(const IoBatcher::Received& received) {
  if (received.result < 0) {
    const int error = -received.result;
    if (error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
      ++stats_.receive_errors;  // E.g. a pending ICMP error; reading clears it.
      UdpMetrics::Get().receive_errors.Inc();
    }
    return;
  }
  const auto length = static_cast<size_t>(received.result);
  if (length > options_.max_datagram) {
    ++stats_.truncated;
    UdpMetrics::Get().truncated.Inc();
    return;
  }
  ++stats_.received;
  sockaddr_storage from = *received.from;
  UnmapV4(from);
  listener_.OnUdpPacket(*this, received.data, length, from);  // May destroy this.
}

namespace {

// The receive side of recvmmsg for every socket read on this thread: `batch` slots of
// `datagram` bytes, grown (only) when a socket asks for more. In use during one ReadBatch.
struct ReceiveScratch {
  std::vector<uint8_t> buffers;
  std::vector<iovec> iovecs;
  std::vector<sockaddr_storage> senders;
  std::vector<mmsghdr> headers;
  size_t batch = 0;
  size_t stride = 0;
  bool busy = false;

  void Fit(size_t want_batch, size_t want_datagram) {
    if (want_batch <= batch && want_datagram <= stride) return;
    batch = std::max(batch, want_batch);
    stride = std::max(stride, want_datagram);
    buffers.assign(batch * stride, 0);
    iovecs.assign(batch, {});
    senders.assign(batch, {});
    headers.assign(batch, {});
    for (size_t i = 0; i < batch; ++i) {
      iovecs[i].iov_base = buffers.data() + i * stride;
      headers[i].msg_hdr.msg_name = &senders[i];
      headers[i].msg_hdr.msg_iov = &iovecs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
  }

  static ReceiveScratch& ForThread() {
    thread_local ReceiveScratch scratch;
    return scratch;
  }
};

}  // namespace

bool UdpSocket::ReadBatch(SocketPoller& poller, uint64_t token) {
  ReceiveScratch& scratch = ReceiveScratch::ForThread();
  if (scratch.busy) [[unlikely]] {
    return false;  // A listener read inside a read: the fd stays readable, the loop comes back.
  }
  const size_t slots = options_.batch;
  scratch.Fit(slots, options_.max_datagram);
  for (size_t i = 0; i < slots; ++i) {
    // What the kernel changes, and this socket's own datagram limit.
    scratch.iovecs[i].iov_len = options_.max_datagram;
    scratch.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    scratch.headers[i].msg_hdr.msg_flags = 0;
  }
  const int count = recvmmsg(fd_.get(), scratch.headers.data(), static_cast<unsigned>(slots),
                             MSG_DONTWAIT, nullptr);
  if (count <= 0) {
    if (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // E.g. a pending ICMP error; reading clears it.
      ++stats_.receive_errors;
      UdpMetrics::Get().receive_errors.Inc();
    }
    return false;
  }
  struct Busy {
    bool& flag;
    explicit Busy(bool& f) : flag(f) { flag = true; }
    ~Busy() { flag = false; }
  } busy(scratch.busy);
  const bool drained = static_cast<size_t>(count) < slots;
  for (int i = 0; i < count; ++i) {
    const msghdr& header = scratch.headers[i].msg_hdr;
    if ((header.msg_flags & MSG_TRUNC) != 0) {
      ++stats_.truncated;
      UdpMetrics::Get().truncated.Inc();
      continue;
    }
    ++stats_.received;
    sockaddr_storage& from = scratch.senders[i];
    UnmapV4(from);
    listener_.OnUdpPacket(*this, scratch.buffers.data() + i * scratch.stride, scratch.headers[i].msg_len,
                          from);
    if (!poller.Alive(token)) return false;  // The listener destroyed this socket.
  }
  return !drained;
}

bool UdpSocket::SendTo(const uint8_t* data, size_t len, const sockaddr_storage& to) {
  const sockaddr_storage* destination = &to;
  sockaddr_storage converted;
  if (local_address_.ss_family == AF_INET6 && to.ss_family == AF_INET) {
    converted = MapV4ToV6(to);
    destination = &converted;
  } else if (local_address_.ss_family == AF_INET && to.ss_family == AF_INET6) {
    converted = to;
    if (!UnmapV4(converted)) {
      ++stats_.send_errors;
      UdpMetrics::Get().send_errors.Inc();
      return false;
    }
    destination = &converted;
  }
  const socklen_t length = SocketAddressLength(*destination);
  if (IoBatcher* batcher = poller_->batcher_in_turn()) {
    if (batcher->Queue(*this, fd_.get(), data, len, *destination, length)) return true;
  }
  const ssize_t sent = ::sendto(fd_.get(), data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(destination), length);
  return CountSend(sent >= 0 ? 0 : errno);
}

void UdpSocket::OnBatchedSendResult(int result) {
  if (!CountSend(result >= 0 ? 0 : -result)) listener_.OnSendDropped(*this);
}

bool UdpSocket::CountSend(int error) {
  if (error == 0) {
    ++stats_.sent;
    return true;
  }
  if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
    ++stats_.send_dropped;
    UdpMetrics::Get().send_dropped.Inc();
  } else {
    ++stats_.send_errors;
    UdpMetrics::Get().send_errors.Inc();
  }
  return false;
}

}  // namespace webrtc2sip::media
