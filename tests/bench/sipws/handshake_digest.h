#pragma once

// SHA-1 and base64, only for the WebSocket opening handshake (RFC 6455 4.1):
// Sec-WebSocket-Accept = base64(SHA-1(key + GUID)). Not for anything secret.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace webrtc2sip::bench {

std::array<uint8_t, 20> Sha1(std::string_view data);
std::string Base64(const uint8_t* data, size_t size);
// The Sec-WebSocket-Accept value a server must answer to `key`.
std::string WebSocketAccept(std::string_view key);

}  // namespace webrtc2sip::bench
