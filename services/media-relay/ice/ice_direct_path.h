#pragma once

// The media path of an ICE-lite WebRTC leg once ICE has selected its pair: the selected socket
// is read and written on the worker's socket poller as the legacy leg's sockets are (batched
// through io_uring, or recvmmsg and sendto), and the connectivity and consent checks the
// browser keeps sending are answered here.
// libnice's own path costs a GLib source per socket (the worker's loop polled every session's
// socket on every wake-up), its agent lock and its GSocket wrappers on every packet
// (docs/performance.md); a lite agent keeps no state that a check on the selected pair changes.
//
// Checks of other pairs that do not nominate are answered too (statelessly, as a lite agent
// may). What needs the agent - a nomination of another pair (libnice moves to it when its
// priority is higher), a role conflict - is handed back (Owner::OnDirectPathNeedsAgent): from
// then on the path drops STUN and still delivers the rest of what it has read; the owner gives
// the socket back to libnice on its next loop turn, and libnice sees the browser's
// retransmission of that check.

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "services/media-relay/ice/stun_message.h"
#include "services/media-relay/net/udp_socket.h"

namespace webrtc2sip::media {

class IceDirectPath final : public UdpSocket::Listener {
 public:
  class Owner {
   public:
    // A non-STUN datagram from the selected remote; `data` is valid during the call only. The
    // owner may destroy the path (and itself) from here.
    virtual void OnDirectPathData(const uint8_t* data, size_t len) = 0;
    // The datagram just read needs libnice. Called once; the owner must not destroy the path
    // from here (the rest of the batch read with it is still delivered), but soon after.
    virtual void OnDirectPathNeedsAgent(std::string_view why) = 0;
    // A datagram Send() accepted was dropped later, when the worker's batch of sends went
    // (UdpSocket::Listener::OnSendDropped).
    virtual void OnDirectPathSendDropped() {}

   protected:
    virtual ~Owner() = default;
  };

  struct Stats {
    uint64_t checks_answered = 0;
    uint64_t unknown_source = 0;   // Non-STUN from anywhere but the selected remote.
    uint64_t stun_dropped = 0;     // Malformed, unauthenticated, or not a Binding request.
  };

  // Reads and writes `fd` (libnice's socket of the selected pair; duplicated here, so libnice
  // keeps its own) on `context`'s poller. `local_ufrag` and `local_pwd` are the credentials
  // checks to us carry. nullptr when the fd cannot be used.
  static std::unique_ptr<IceDirectPath> Create(GMainContext* context, int fd,
                                               const sockaddr_storage& remote,
                                               std::string local_ufrag, std::string_view local_pwd,
                                               int buffer_size, Owner& owner);
  ~IceDirectPath() override;
  IceDirectPath(const IceDirectPath&) = delete;
  IceDirectPath& operator=(const IceDirectPath&) = delete;

  // One datagram to the selected remote; never blocks. False when dropped.
  bool Send(const uint8_t* data, size_t len);

  const sockaddr_storage& remote() const { return remote_; }
  const Stats& stats() const { return stats_; }

 private:
  IceDirectPath(const sockaddr_storage& remote, std::string local_ufrag, Owner& owner);
  void OnUdpPacket(UdpSocket& socket, const uint8_t* data, size_t len,
                   const sockaddr_storage& from) override;
  void OnSendDropped(UdpSocket&) override { owner_.OnDirectPathSendDropped(); }
  void OnStun(const uint8_t* data, size_t len, const sockaddr_storage& from);
  void HandBack(std::string_view why);

  const sockaddr_storage remote_;
  const std::string local_ufrag_;
  HmacSha1 key_;
  Owner& owner_;
  std::unique_ptr<UdpSocket> socket_;
  bool handing_back_ = false;
  Stats stats_;
};

}  // namespace webrtc2sip::media
