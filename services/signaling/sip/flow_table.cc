#include "services/signaling/sip/flow_table.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace webrtc2sip::signaling {
namespace {

// 96 random bits in a URI-safe alphabet (lower case letters and digits).
std::string NewToken() {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string token;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char byte : raw) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      token += kAlphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) token += kAlphabet[(acc << (5 - bits)) & 31];
  return token;
}

}  // namespace

std::string FlowTable::Open(ConnectionId conn) {
  std::string token = NewToken();
  while (by_token_.count(token)) token = NewToken();
  by_token_[token].conn = conn;
  token_of_[conn] = token;
  return token;
}

void FlowTable::Close(ConnectionId conn) {
  auto it = token_of_.find(conn);
  if (it == token_of_.end()) return;
  by_token_.erase(it->second);
  token_of_.erase(it);
}

std::optional<ConnectionId> FlowTable::Find(std::string_view token) const {
  auto it = by_token_.find(std::string(token));
  if (it == by_token_.end()) return std::nullopt;
  return it->second.conn;
}

std::string FlowTable::TokenOf(ConnectionId conn) const {
  auto it = token_of_.find(conn);
  return it == token_of_.end() ? std::string() : it->second;
}

void FlowTable::RememberContact(std::string_view token, std::string_view user, std::string uri) {
  auto it = by_token_.find(std::string(token));
  if (it == by_token_.end()) return;
  // A browser uses one or two contact users; cap what a client can make us keep.
  if (it->second.contacts.size() >= 16 && !it->second.contacts.count(std::string(user))) return;
  it->second.contacts[std::string(user)] = std::move(uri);
}

std::optional<std::string> FlowTable::ContactOf(std::string_view token,
                                                std::string_view user) const {
  auto it = by_token_.find(std::string(token));
  if (it == by_token_.end()) return std::nullopt;
  auto c = it->second.contacts.find(std::string(user));
  if (c == it->second.contacts.end()) return std::nullopt;
  return c->second;
}

}  // namespace webrtc2sip::signaling
