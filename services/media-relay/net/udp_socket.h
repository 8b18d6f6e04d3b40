#pragma once

// A non-blocking UDP socket on a worker's GMainContext: the legacy leg's RTP and RTCP. The
// sockets of one context share one epoll set (SocketPoller), so the loop polls one fd for all.

#include <glib.h>
#include <sys/socket.h>  // mmsghdr (g++ defines _GNU_SOURCE)
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "services/media-relay/net/socket_poller.h"
#include "services/media-relay/net/unique_fd.h"

namespace webrtc2sip::media {

// Reads every datagram as soon as it arrives (recvmmsg, in batches, or with its poller's other
// ready sockets through io_uring: SocketPoller::EnableBatchedIo) and hands it to its Listener;
// sends without ever blocking (queued for the poller's batch inside a turn). The receive buffers belong to the thread, not the
// socket: every socket of a worker reads into the same few kilobytes, which stay in cache (a
// datagram is the listener's during its call only), instead of each holding a batch of its own. Created, used and destroyed on the
// thread that runs its GMainContext. Nothing on the packet path allocates, logs or throws.
class UdpSocket final : public SocketPoller::Handler, private IoBatcher::Sender {
 public:
  class Listener {
   public:
    // One datagram; `data` is valid during the call only. IPv4 peers of a dual-stack socket
    // come as AF_INET. The listener may destroy the socket from here: no more datagrams are
    // delivered after that.
    virtual void OnUdpPacket(UdpSocket& socket, const uint8_t* data, size_t len,
                             const sockaddr_storage& from) = 0;
    // A datagram SendTo() queued in a batch (it returned true) was dropped when the batch went:
    // socket buffer full, or an error. Already counted in stats() and the UDP metrics. Must not
    // destroy the socket.
    virtual void OnSendDropped(UdpSocket& /*socket*/) {}

   protected:
    virtual ~Listener() = default;
  };

  struct Options {
    // SO_RCVBUF and SO_SNDBUF (config: media.rtp_buffsize); the kernel may cap it
    // (net.core.rmem_max / wmem_max). 0 keeps the system default.
    int buffer_size = 65535;
    // Largest datagram read; longer ones are dropped and counted as truncated.
    size_t max_datagram = 2048;
    // Datagrams read per recvmmsg call, and calls per loop turn before yielding to other
    // sources (the fd stays readable, so the loop comes back).
    size_t batch = 16;
    size_t max_batches_per_turn = 4;
  };

  struct Stats {
    uint64_t received = 0;
    uint64_t sent = 0;
    uint64_t send_dropped = 0;  // Socket buffer full (EAGAIN/ENOBUFS): the packet is dropped.
    uint64_t send_errors = 0;   // Any other send error.
    uint64_t truncated = 0;     // Longer than Options::max_datagram.
    uint64_t receive_errors = 0;
  };

  // Takes a bound UDP socket (e.g. from PortAllocator), makes it non-blocking, sets the buffer
  // sizes and starts reading on `context`. nullptr when the fd is not a bound socket.
  static std::unique_ptr<UdpSocket> Create(UniqueFd fd, GMainContext* context, Listener& listener,
                                           const Options& options);
  // Opens and binds a socket on `address` (port 0 picks one), then as above.
  static std::unique_ptr<UdpSocket> Bind(const sockaddr_storage& address, GMainContext* context,
                                         Listener& listener, const Options& options);

  ~UdpSocket() override;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // False when dropped: buffer full, or an error; never blocks. An IPv4 destination works on a
  // dual-stack IPv6 socket. Inside a turn of a poller with send batching, the datagram is
  // queued (true) and a drop is counted in stats() and the metrics when the batch is flushed,
  // by the end of the turn.
  bool SendTo(const uint8_t* data, size_t len, const sockaddr_storage& to);

  const sockaddr_storage& local_address() const { return local_address_; }
  uint16_t local_port() const;
  int fd() const { return fd_.get(); }
  const Stats& stats() const { return stats_; }
  // What the kernel applied (Linux reports twice the requested size).
  int ReceiveBufferSize() const;
  int SendBufferSize() const;

 private:
  UdpSocket(UniqueFd fd, const sockaddr_storage& local, Listener& listener, const Options& options);
  void OnReadable() override;
  int batch_read_fd() const override;
  size_t batch_read_size() const override { return options_.max_datagram; }
  void OnBatchRead(const IoBatcher::Received& received) override;
  // Reads up to one batch; returns false when the socket is drained or the socket was destroyed
  // by a listener during the batch (`poller` and `token` outlive it, `this` may not).
  bool ReadBatch(SocketPoller& poller, uint64_t token);
  void OnBatchedSendResult(int result) override;
  // Counts one send: `error` 0 when it went.
  bool CountSend(int error);

  UniqueFd fd_;
  sockaddr_storage local_address_{};
  Listener& listener_;
  const Options options_;
  Stats stats_;

  std::shared_ptr<SocketPoller> poller_;
  uint64_t token_ = 0;
};

}  // namespace webrtc2sip::media
