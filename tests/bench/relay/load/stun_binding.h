#pragma once

// Both halves of ICE connectivity checks (RFC 8445 section 7) between the generator's
// "browser" end and an ICE-lite relay, with short-term credentials:
//  - the request the browser (controlling) sends, nominating at once with USE-CANDIDATE;
//  - the success response to the relay's own checks (libnice sends triggered checks even as a
//    lite agent, and only selects the pair once they are answered).
// Messages carry MESSAGE-INTEGRITY and FINGERPRINT; the encoding is the relay's own STUN codec
// (services/media-relay/ice/stun_message.h). No socket; no allocation after construction.

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace webrtc2sip::bench::relay {

// RFC 7983: STUN has a first byte 0..3.
inline bool IsStun(std::span<const uint8_t> datagram) {
  return datagram.size() >= 20 && datagram[0] <= 3;
}

bool IsStunBindingRequest(std::span<const uint8_t> datagram);

class StunBindingRequest {
 public:
  static constexpr size_t kMaxSize = 320;
  using TransactionId = std::array<uint8_t, 12>;

  // `username` is "remoteUfrag:localUfrag"; `password` the remote (relay's) ice-pwd.
  StunBindingRequest(const std::string& username, const std::string& password, uint32_t priority,
                     uint64_t tie_breaker);

  // A new transaction id, then the encoded request (valid until the next call).
  std::span<const uint8_t> Encode();

  // True when `datagram` is a Binding success response to the last Encode(). The response's
  // MESSAGE-INTEGRITY is not checked: the peer is ours and only the transaction id matters here.
  bool IsSuccessResponse(std::span<const uint8_t> datagram) const;

 private:
  std::string username_;
  std::string password_;
  uint32_t priority_;
  uint64_t tie_breaker_;
  TransactionId transaction_{};
  std::array<uint8_t, kMaxSize> buffer_{};
};

// The Binding success response to `request` (a Binding request, see IsStunBindingRequest) seen
// from `source`, signed with our `password` (the one the checking agent was given); written to
// `out`, its length returned (0 when `out` is too small).
size_t EncodeStunBindingSuccess(std::span<const uint8_t> request, const sockaddr_in& source,
                                const std::string& password, std::span<uint8_t> out);

}  // namespace webrtc2sip::bench::relay
