#pragma once

// STUN Binding messages of ICE (RFC 8489 with the ICE attributes of RFC 8445 section 16),
// short-term credentials only: enough for the relay to answer a browser's connectivity and
// consent checks on the packet path (ice_transport.h) and for the load generator to make them.
// No socket, no allocation, no exception: a datagram in, a verdict or a message out.

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "services/media-relay/srtp/hmac_sha1.h"

namespace webrtc2sip::media::stun {

constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr size_t kHeaderSize = 20;
// Room for every message made here (username up to 128 bytes, a SOFTWARE of up to 64).
constexpr size_t kMaxMessageSize = 320;

using TransactionId = std::array<uint8_t, 12>;

enum class MessageClass : uint8_t { kRequest, kIndication, kSuccess, kError };
constexpr uint16_t kBindingMethod = 0x001;

// RFC 7983 demultiplexing (first byte 0..3) plus the fixed header: the length fits the datagram
// and is a multiple of 4, and the magic cookie is there.
bool LooksLikeStun(std::span<const uint8_t> datagram);

// What a parsed message holds. Views point into the datagram.
struct Message {
  uint16_t method = 0;
  MessageClass message_class = MessageClass::kRequest;
  TransactionId transaction{};
  std::string_view username;
  std::optional<uint32_t> priority;
  bool use_candidate = false;
  std::optional<uint64_t> ice_controlling;  // The tie-breakers.
  std::optional<uint64_t> ice_controlled;
  std::optional<sockaddr_storage> xor_mapped_address;
  // Offset of the MESSAGE-INTEGRITY attribute; 0 when there is none. Attributes after it,
  // other than FINGERPRINT, are ignored (RFC 8489 section 14.5).
  size_t integrity_offset = 0;
  bool has_fingerprint = false;  // Present, and checked.
};

enum class ParseResult { kOk, kNotStun, kMalformed, kBadFingerprint };

// Walks the attributes and checks FINGERPRINT when there is one (it must then be last).
// MESSAGE-INTEGRITY is found, not checked: see IntegrityMatches.
ParseResult Parse(std::span<const uint8_t> datagram, Message& message);

// The message's MESSAGE-INTEGRITY is HMAC-SHA1 of it under `key` (short-term credentials: the
// key is the password as is). False when it has none.
bool IntegrityMatches(std::span<const uint8_t> datagram, const Message& message,
                      const HmacSha1& key);

// A short-term key: HMAC-SHA1 keyed with `password`.
void SetPassword(HmacSha1& key, std::string_view password);

// "<ours>:<theirs>" in a check sent to us starts with our ufrag and a colon.
bool UsernameIsFor(std::string_view username, std::string_view local_ufrag);

// The Binding success response to the request `transaction`, telling the requester the address
// it was seen from, signed with `key` (our password), with FINGERPRINT; `software`, when not
// empty, goes first as SOFTWARE. Returns its length, 0 when `out` is too small.
size_t EncodeBindingSuccess(const TransactionId& transaction, const sockaddr_storage& mapped,
                            const HmacSha1& key, std::span<uint8_t> out,
                            std::string_view software = {});

// A connectivity check: USERNAME "<their ufrag>:<ours>", PRIORITY, ICE-CONTROLLING or
// ICE-CONTROLLED with `tie_breaker`, USE-CANDIDATE when nominating; signed with `key` (their
// password), with FINGERPRINT. Returns its length, 0 when `out` is too small.
struct BindingRequest {
  std::string_view username;
  uint32_t priority = 0;
  bool controlling = true;
  uint64_t tie_breaker = 0;
  bool use_candidate = false;
};
size_t EncodeBindingRequest(const TransactionId& transaction, const BindingRequest& request,
                            const HmacSha1& key, std::span<uint8_t> out);

}  // namespace webrtc2sip::media::stun
