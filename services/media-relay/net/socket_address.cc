#include "services/media-relay/net/socket_address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace webrtc2sip::media {

std::optional<sockaddr_storage> ParseSocketAddress(std::string_view ip, uint16_t port) {
  if (ip.empty() || ip.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) return std::nullopt;
  const std::string host(ip);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST;  // Never a DNS lookup.
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0 || result == nullptr) {
    return std::nullopt;
  }
  sockaddr_storage address{};
  std::optional<sockaddr_storage> parsed;
  if ((result->ai_family == AF_INET || result->ai_family == AF_INET6) &&
      result->ai_addrlen <= sizeof(address)) {
    std::memcpy(&address, result->ai_addr, result->ai_addrlen);
    SetPort(address, port);
    parsed = address;
  }
  freeaddrinfo(result);
  return parsed;
}

std::optional<sockaddr_storage> ParseSocketAddress(std::string_view ip_port) {
  std::string_view ip;
  std::string_view port;
  if (!ip_port.empty() && ip_port.front() == '[') {
    const size_t close = ip_port.find(']');
    if (close == std::string_view::npos || close + 1 >= ip_port.size() ||
        ip_port[close + 1] != ':') {
      return std::nullopt;
    }
    ip = ip_port.substr(1, close - 1);
    port = ip_port.substr(close + 2);
  } else {
    const size_t colon = ip_port.rfind(':');
    // An unbracketed IPv6 address is ambiguous: refuse it.
    if (colon == std::string_view::npos || ip_port.find(':') != colon) return std::nullopt;
    ip = ip_port.substr(0, colon);
    port = ip_port.substr(colon + 1);
  }
  uint16_t port_number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (error != std::errc() || end != port.data() + port.size() || port.empty()) {
    return std::nullopt;
  }
  return ParseSocketAddress(ip, port_number);
}

std::string FormatIp(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 1] = {};
  const socklen_t length = SocketAddressLength(address);
  if (length == 0 || getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, text,
                                 sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) {
    return {};
  }
  return text;
}

std::string FormatSocketAddress(const sockaddr_storage& address) {
  const std::string ip = FormatIp(address);
  if (ip.empty()) return {};
  const std::string port = std::to_string(GetPort(address));
  return address.ss_family == AF_INET6 ? "[" + ip + "]:" + port : ip + ":" + port;
}

uint16_t GetPort(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return 0;
}

void SetPort(sockaddr_storage& address, uint16_t port) {
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in&>(address).sin_port = htons(port);
  } else if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(port);
  }
}

socklen_t SocketAddressLength(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) return sizeof(sockaddr_in);
  if (address.ss_family == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

bool IsAnyAddress(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(address).sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (address.ss_family == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6&>(address).sin6_addr);
  }
  return false;
}

bool SameSocketAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto& a4 = reinterpret_cast<const sockaddr_in&>(a);
    const auto& b4 = reinterpret_cast<const sockaddr_in&>(b);
    return a4.sin_port == b4.sin_port && a4.sin_addr.s_addr == b4.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(a);
    const auto& b6 = reinterpret_cast<const sockaddr_in6&>(b);
    return a6.sin6_port == b6.sin6_port && a6.sin6_scope_id == b6.sin6_scope_id &&
           IN6_ARE_ADDR_EQUAL(&a6.sin6_addr, &b6.sin6_addr);
  }
  return false;
}

bool UnmapV4(sockaddr_storage& address) {
  if (address.ss_family != AF_INET6) return false;
  const auto six = reinterpret_cast<const sockaddr_in6&>(address);
  if (!IN6_IS_ADDR_V4MAPPED(&six.sin6_addr)) return false;
  sockaddr_in four{};
  four.sin_family = AF_INET;
  four.sin_port = six.sin6_port;
  std::memcpy(&four.sin_addr, &six.sin6_addr.s6_addr[12], 4);
  address = {};
  std::memcpy(&address, &four, sizeof(four));
  return true;
}

sockaddr_storage MapV4ToV6(const sockaddr_storage& address) {
  if (address.ss_family != AF_INET) return address;
  const auto& four = reinterpret_cast<const sockaddr_in&>(address);
  sockaddr_in6 six{};
  six.sin6_family = AF_INET6;
  six.sin6_port = four.sin_port;
  six.sin6_addr.s6_addr[10] = 0xff;
  six.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&six.sin6_addr.s6_addr[12], &four.sin_addr, 4);
  sockaddr_storage mapped{};
  std::memcpy(&mapped, &six, sizeof(six));
  return mapped;
}

}  // namespace webrtc2sip::media
