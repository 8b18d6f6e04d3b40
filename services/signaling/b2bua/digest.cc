#include "services/signaling/b2bua/digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdio>

#include "common/text/ascii.h"

namespace webrtc2sip::signaling {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Md5Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_md5(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", digest[i]);
    hex += b;
  }
  return hex;
}

std::string UrlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<DigestChallenge> ParseDigestChallenge(std::string_view value) {
  value = Trim(value);
  if (value.size() < 7 || !EqualsIgnoreCase(value.substr(0, 6), "Digest")) return std::nullopt;
  value.remove_prefix(6);
  DigestChallenge c;
  // name=value or name="value", comma separated; quoted values may hold commas.
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() &&
           (value[i] == ',' || std::isspace(static_cast<unsigned char>(value[i]))))
      ++i;
    size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string_view name = Trim(value.substr(i, eq - i));
    i = eq + 1;
    std::string v;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        v += value[i++];
      }
      ++i;
    } else {
      size_t end = value.find(',', i);
      if (end == std::string_view::npos) end = value.size();
      v = std::string(Trim(value.substr(i, end - i)));
      i = end;
    }
    if (EqualsIgnoreCase(name, "realm"))
      c.realm = v;
    else if (EqualsIgnoreCase(name, "nonce"))
      c.nonce = v;
    else if (EqualsIgnoreCase(name, "opaque"))
      c.opaque = v;
    else if (EqualsIgnoreCase(name, "algorithm"))
      c.algorithm = v;
    else if (EqualsIgnoreCase(name, "qop")) {
      // "auth", "auth,auth-int": auth is what we do.
      for (size_t p = 0; p < v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        if (EqualsIgnoreCase(Trim(std::string_view(v).substr(p, q - p)), "auth")) c.qop_auth = true;
        p = q + 1;
      }
    }
  }
  if (c.nonce.empty()) return std::nullopt;
  if (!c.algorithm.empty() && !EqualsIgnoreCase(c.algorithm, "MD5")) return std::nullopt;
  return c;
}

std::string DigestResponse(std::string_view ha1, std::string_view nonce, std::string_view method,
                           std::string_view uri, bool qop_auth, std::string_view cnonce,
                           std::string_view nonce_count) {
  const std::string ha2 = Md5Hex(std::string(method) + ":" + std::string(uri));
  if (qop_auth) {
    return Md5Hex(std::string(ha1) + ":" + std::string(nonce) + ":" + std::string(nonce_count) +
                  ":" + std::string(cnonce) + ":auth:" + ha2);
  }
  return Md5Hex(std::string(ha1) + ":" + std::string(nonce) + ":" + ha2);
}

std::string DigestAuthorization(const DigestChallenge& c, std::string_view username,
                                std::string_view ha1, std::string_view method, std::string_view uri,
                                std::string cnonce, unsigned nonce_count) {
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", nonce_count);
  if (c.qop_auth && cnonce.empty()) {
    unsigned char raw[8];
    RAND_bytes(raw, sizeof raw);
    for (unsigned char b : raw) {
      char h[3];
      std::snprintf(h, sizeof h, "%02x", b);
      cnonce += h;
    }
  }
  std::string out = "Digest username=\"" + std::string(username) + "\", realm=\"" + c.realm +
                    "\", nonce=\"" + c.nonce + "\", uri=\"" + std::string(uri) + "\", response=\"" +
                    DigestResponse(ha1, c.nonce, method, uri, c.qop_auth, cnonce, nc) +
                    "\", algorithm=MD5";
  if (c.qop_auth) out += ", qop=auth, nc=" + std::string(nc) + ", cnonce=\"" + cnonce + "\"";
  if (!c.opaque.empty()) out += ", opaque=\"" + c.opaque + "\"";
  return out;
}

}  // namespace webrtc2sip::signaling
