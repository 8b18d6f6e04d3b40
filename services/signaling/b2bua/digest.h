#pragma once

// HTTP digest (RFC 2617, MD5) answers computed from an HA1 token: the
// RTCWeb Breaker answers a 401/407 on the SIP network side with the HA1 the
// browser put in its Contact (impi=, ha1=), without ever sending the HA1.

#include <optional>
#include <string>
#include <string_view>

namespace webrtc2sip::signaling {

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  std::string algorithm;  // "" or "MD5"
  bool qop_auth = false;  // the server offered qop=auth
};

// Parses the value of a WWW-Authenticate / Proxy-Authenticate header
// ("Digest realm=..., nonce=..."); nullopt when it is not a usable MD5 digest.
std::optional<DigestChallenge> ParseDigestChallenge(std::string_view header_value);

// The Authorization / Proxy-Authorization header value answering `challenge`
// for `method` and `uri`. `cnonce` is used when qop=auth (a fresh random one
// when empty).
std::string DigestAuthorization(const DigestChallenge& challenge, std::string_view username,
                                std::string_view ha1, std::string_view method,
                                std::string_view uri, std::string cnonce = {},
                                unsigned nonce_count = 1);

// The response hash alone, for tests against RFC 2617's example.
std::string DigestResponse(std::string_view ha1, std::string_view nonce, std::string_view method,
                           std::string_view uri, bool qop_auth, std::string_view cnonce,
                           std::string_view nonce_count);

std::string Md5Hex(std::string_view text);

// "%41lice" -> "Alice"; the Contact's impi and ha1 parameters are URL-encoded.
std::string UrlDecode(std::string_view text);

}  // namespace webrtc2sip::signaling
