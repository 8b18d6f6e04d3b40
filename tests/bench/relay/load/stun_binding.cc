#include "load/stun_binding.h"

#include <openssl/rand.h>

#include <cstring>

#include "services/media-relay/ice/stun_message.h"

namespace webrtc2sip::bench::relay {
namespace stun = media::stun;

bool IsStunBindingRequest(std::span<const uint8_t> datagram) {
  stun::Message message;
  return stun::Parse(datagram, message) == stun::ParseResult::kOk &&
         message.method == stun::kBindingMethod &&
         message.message_class == stun::MessageClass::kRequest;
}

StunBindingRequest::StunBindingRequest(const std::string& username, const std::string& password,
                                       uint32_t priority, uint64_t tie_breaker)
    : username_(username), password_(password), priority_(priority), tie_breaker_(tie_breaker) {}

std::span<const uint8_t> StunBindingRequest::Encode() {
  RAND_bytes(transaction_.data(), static_cast<int>(transaction_.size()));
  media::HmacSha1 key;
  stun::SetPassword(key, password_);
  stun::BindingRequest request;
  request.username = username_;
  request.priority = priority_;
  request.controlling = true;
  request.tie_breaker = tie_breaker_;
  request.use_candidate = true;  // Nominating at once.
  return {buffer_.data(), stun::EncodeBindingRequest(transaction_, request, key, buffer_)};
}

bool StunBindingRequest::IsSuccessResponse(std::span<const uint8_t> datagram) const {
  stun::Message message;
  return stun::Parse(datagram, message) == stun::ParseResult::kOk &&
         message.message_class == stun::MessageClass::kSuccess &&
         message.transaction == transaction_;
}

size_t EncodeStunBindingSuccess(std::span<const uint8_t> request, const sockaddr_in& source,
                                const std::string& password, std::span<uint8_t> out) {
  stun::Message message;
  if (stun::Parse(request, message) != stun::ParseResult::kOk) return 0;
  media::HmacSha1 key;
  stun::SetPassword(key, password);
  sockaddr_storage mapped{};
  std::memcpy(&mapped, &source, sizeof(source));
  return stun::EncodeBindingSuccess(message.transaction, mapped, key, out);
}

}  // namespace webrtc2sip::bench::relay
