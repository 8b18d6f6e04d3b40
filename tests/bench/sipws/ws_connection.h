#pragma once

// One client WebSocket (RFC 6455) carrying SIP (RFC 7118) on a non-blocking
// TCP socket registered with its owner's epoll. Sans threads: the owner calls
// OnReadable/OnWritable on readiness and Flush() once per loop turn, so many
// messages queued in one turn leave in one write().
//
// With `udp`, the same interface over a connected UDP socket instead (one SIP
// message per datagram, open at once, no handshake): the baseline of the
// breaker benchmark, where the generator talks straight to a UDP SIP peer.

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace webrtc2sip::bench {

class WsConnection {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnWsOpen(WsConnection& conn) = 0;
    // One whole message (fragments joined), text or binary.
    virtual void OnWsMessage(WsConnection& conn, std::string_view message) = 0;
    // After this the connection sends nothing more; `why` is for the report.
    virtual void OnWsClosed(WsConnection& conn, std::string_view why) = 0;
  };

  enum class State { kIdle, kConnecting, kHandshake, kOpen, kClosed };

  WsConnection(int epoll_fd, Listener& listener, uint32_t index, uint64_t seed, bool udp = false);
  ~WsConnection();
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  // Starts a non-blocking connect and the upgrade request; false when the
  // socket cannot even be created (errno is left set).
  bool Connect(const sockaddr_in& target, const sockaddr_in* source, const std::string& host,
               const std::string& path);
  void OnReadable();
  void OnWritable();
  // Queues one masked text frame; it leaves on the next Flush().
  void SendText(std::string_view payload);
  void Flush();
  // A polite close sends a Close frame first; otherwise the socket is reset
  // (SO_LINGER 0) so that thousands of closes leave no TIME_WAIT behind.
  void Close(bool polite);

  State state() const { return state_; }
  uint32_t index() const { return index_; }
  bool has_output() const { return out_.size() > out_sent_; }
  bool udp() const { return udp_; }

 private:
  bool ConnectUdp(const sockaddr_in& target);
  void ReadDatagrams();
  void QueueFrame(uint8_t opcode, std::string_view payload);
  bool ReadHandshake();
  void ReadFrames();
  void Fail(std::string_view why);
  void WatchWritable(bool on);
  uint32_t NextMask();

  int epoll_fd_;
  Listener& listener_;
  uint32_t index_;
  uint64_t rng_;
  bool udp_;
  int fd_ = -1;
  State state_ = State::kIdle;
  bool watching_out_ = false;
  std::string key_;
  std::string in_;
  size_t in_used_ = 0;  // bytes of in_ already consumed
  std::string out_;
  size_t out_sent_ = 0;
  std::string fragments_;
};

}  // namespace webrtc2sip::bench
