#pragma once

// UDP ports for media sockets, from the configured range, shared by every worker of a node.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "services/media-relay/net/unique_fd.h"

namespace webrtc2sip::media {

// A bound, non-blocking UDP socket (not yet attached to any loop) and its port.
struct BoundPort {
  UniqueFd fd;
  uint16_t port = 0;
};

// RTP on an even port, RTCP on the next (odd) one.
struct PortPair {
  BoundPort rtp;
  BoundPort rtcp;
};

// Hands out ports of [min, max] on one local address. It binds the sockets itself and returns
// them bound, so a port another program holds is skipped and nothing can take a port between
// the check and its use. Ports are handed out round-robin so a port just released (where late
// packets of the previous call may still arrive) is reused as late as possible.
//
// Thread-safe: workers allocate and release concurrently. Sockets are made without
// SO_REUSEADDR so that binding really tells whether a port is free.
class PortAllocator {
 public:
  // Throws std::invalid_argument when the address is not numeric IPv4/IPv6 or the range is
  // empty or out of 1..65535 (a config error, caught at startup).
  PortAllocator(const std::string& bind_address, uint16_t min_port, uint16_t max_port);
  PortAllocator(const PortAllocator&) = delete;
  PortAllocator& operator=(const PortAllocator&) = delete;

  // An even/odd pair, both bound; nullopt when every pair of the range is taken.
  std::optional<PortPair> AllocatePair();
  // One port, even or odd; nullopt when the range is exhausted.
  std::optional<BoundPort> AllocatePort();

  // Gives ports back (the sockets are the caller's to close). Releasing a port this allocator
  // did not hand out does nothing.
  void Release(uint16_t port);
  void Release(const PortPair& pair) {
    Release(pair.rtp.port);
    Release(pair.rtcp.port);
  }

  // Ports handed out and not released.
  size_t InUse() const;
  uint16_t min_port() const { return min_port_; }
  uint16_t max_port() const { return max_port_; }
  const sockaddr_storage& bind_address() const { return address_; }

 private:
  // A bound socket on `port`, or an invalid fd when it cannot be bound (in use, or no right).
  UniqueFd TryBind(uint16_t port) const;
  bool Taken(uint16_t port) const { return taken_[port - min_port_]; }
  void SetTaken(uint16_t port, bool taken) { taken_[port - min_port_] = taken; }

  sockaddr_storage address_{};
  const uint16_t min_port_;
  const uint16_t max_port_;

  mutable std::mutex mutex_;
  std::vector<bool> taken_;  // Index: port - min_port_. Guarded by mutex_.
  uint16_t next_pair_;       // Next even port to try. Guarded by mutex_.
  uint16_t next_single_;     // Next port to try for AllocatePort(). Guarded by mutex_.
  size_t in_use_ = 0;        // Guarded by mutex_.
};

}  // namespace webrtc2sip::media
