#pragma once

// sockaddr_storage helpers for IPv4 and IPv6. Parsing is numeric only (no DNS): these run on
// the control plane with addresses from config and SDP.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace webrtc2sip::media {

// "192.0.2.1" or "2001:db8::1" (a scope such as "fe80::1%eth0" is kept) with a port.
std::optional<sockaddr_storage> ParseSocketAddress(std::string_view ip, uint16_t port);
// "192.0.2.1:5004" or "[2001:db8::1]:5004".
std::optional<sockaddr_storage> ParseSocketAddress(std::string_view ip_port);

// "192.0.2.1" or "2001:db8::1"; empty for anything but AF_INET/AF_INET6.
std::string FormatIp(const sockaddr_storage& address);
// "192.0.2.1:5004" or "[2001:db8::1]:5004".
std::string FormatSocketAddress(const sockaddr_storage& address);

uint16_t GetPort(const sockaddr_storage& address);
void SetPort(sockaddr_storage& address, uint16_t port);
// The length bind()/sendto() want for this family; 0 when unknown.
socklen_t SocketAddressLength(const sockaddr_storage& address);
// 0.0.0.0 or ::.
bool IsAnyAddress(const sockaddr_storage& address);
// Same family, address and port (and IPv6 scope).
bool SameSocketAddress(const sockaddr_storage& a, const sockaddr_storage& b);

// ::ffff:a.b.c.d becomes a.b.c.d (AF_INET), in place, so dual-stack sockets report IPv4 peers
// the way single-stack ones do. Returns whether it changed anything.
bool UnmapV4(sockaddr_storage& address);
// a.b.c.d becomes ::ffff:a.b.c.d (AF_INET6), for sending from an AF_INET6 socket.
sockaddr_storage MapV4ToV6(const sockaddr_storage& address);

}  // namespace webrtc2sip::media
