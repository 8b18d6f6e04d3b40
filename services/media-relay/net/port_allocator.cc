#include "services/media-relay/net/port_allocator.h"

#include <netinet/in.h>

#include <stdexcept>

#include "services/media-relay/net/socket_address.h"

namespace webrtc2sip::media {
namespace {

uint16_t FirstEven(uint16_t min_port) {
  return min_port % 2 == 0 ? min_port : min_port + 1;
}

}  // namespace

PortAllocator::PortAllocator(const std::string& bind_address, uint16_t min_port, uint16_t max_port)
    : min_port_(min_port), max_port_(max_port) {
  const auto address = ParseSocketAddress(bind_address, 0);
  if (!address) {
    throw std::invalid_argument("media port allocator: bind address '" + bind_address +
                                "' is not a numeric IPv4 or IPv6 address");
  }
  if (min_port == 0 || min_port > max_port) {
    throw std::invalid_argument("media port allocator: port range " + std::to_string(min_port) +
                                "-" + std::to_string(max_port) + " is empty");
  }
  address_ = *address;
  taken_.assign(static_cast<size_t>(max_port - min_port) + 1, false);
  next_pair_ = FirstEven(min_port);
  next_single_ = min_port;
}

UniqueFd PortAllocator::TryBind(uint16_t port) const {
  UniqueFd fd(::socket(address_.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  sockaddr_storage address = address_;
  SetPort(address, port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), SocketAddressLength(address)) !=
      0) {
    return {};
  }
  return fd;
}

std::optional<PortPair> PortAllocator::AllocatePair() {
  const uint16_t first = FirstEven(min_port_);
  if (first >= max_port_) return std::nullopt;  // No room for port + 1.
  const size_t pairs = (max_port_ - first + 1) / 2;

  std::lock_guard lock(mutex_);
  for (size_t tried = 0; tried < pairs; ++tried) {
    const uint16_t rtp = next_pair_;
    next_pair_ = (rtp + 3 > max_port_) ? first : static_cast<uint16_t>(rtp + 2);
    if (Taken(rtp) || Taken(rtp + 1)) continue;
    // Another program may hold either port: then this pair is skipped, not marked.
    UniqueFd rtp_fd = TryBind(rtp);
    if (!rtp_fd) continue;
    UniqueFd rtcp_fd = TryBind(rtp + 1);
    if (!rtcp_fd) continue;
    SetTaken(rtp, true);
    SetTaken(rtp + 1, true);
    in_use_ += 2;
    return PortPair{BoundPort{std::move(rtp_fd), rtp},
                    BoundPort{std::move(rtcp_fd), static_cast<uint16_t>(rtp + 1)}};
  }
  return std::nullopt;
}

std::optional<BoundPort> PortAllocator::AllocatePort() {
  const size_t ports = taken_.size();
  std::lock_guard lock(mutex_);
  for (size_t tried = 0; tried < ports; ++tried) {
    const uint16_t port = next_single_;
    next_single_ = port == max_port_ ? min_port_ : static_cast<uint16_t>(port + 1);
    if (Taken(port)) continue;
    UniqueFd fd = TryBind(port);
    if (!fd) continue;
    SetTaken(port, true);
    ++in_use_;
    return BoundPort{std::move(fd), port};
  }
  return std::nullopt;
}

void PortAllocator::Release(uint16_t port) {
  if (port < min_port_ || port > max_port_) return;
  std::lock_guard lock(mutex_);
  if (!Taken(port)) return;
  SetTaken(port, false);
  --in_use_;
}

size_t PortAllocator::InUse() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

}  // namespace webrtc2sip::media
