#include "services/media-relay/dtls/dtls_context.h"

#include <stdexcept>
#include <string>

namespace webrtc2sip::media {
namespace {

constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

// WebRTC peers use self-signed certificates: any certificate passes here, and the transport
// compares its fingerprint with the one from SDP once the handshake is done.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) {
  return 1;
}

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error("DTLS context: " + what);
}

}  // namespace

DtlsContext::DtlsContext(std::shared_ptr<const DtlsCertificate> certificate, SslCtxPtr ctx)
    : certificate_(std::move(certificate)), ctx_(std::move(ctx)) {}

std::shared_ptr<const DtlsContext> DtlsContext::Create(
    std::shared_ptr<const DtlsCertificate> certificate, const Options& options) {
  if (!certificate) Fail("no certificate");
  if (options.srtp_profiles.empty()) Fail("no SRTP profile");
  SslCtxPtr ctx(SSL_CTX_new(DTLS_method()));
  if (!ctx) Fail("SSL_CTX_new failed");
  if (SSL_CTX_set_min_proto_version(ctx.get(), DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), DTLS1_2_VERSION) != 1) {
    Fail("cannot restrict to DTLS 1.2");
  }
  if (SSL_CTX_use_certificate(ctx.get(), certificate->x509()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), certificate->private_key()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    Fail("certificate and key refused");
  }
  if (SSL_CTX_set_cipher_list(ctx.get(), kCiphers) != 1) Fail("cipher list refused");
  if (SSL_CTX_set1_groups_list(ctx.get(), "X25519:P-256:P-384") != 1) Fail("groups refused");
  std::string profiles;
  for (SrtpProfile profile : options.srtp_profiles) {
    if (!profiles.empty()) profiles += ':';
    profiles += SrtpProfileDtlsName(profile);
  }
  // Returns 0 on success, unlike most of OpenSSL.
  if (SSL_CTX_set_tlsext_use_srtp(ctx.get(), profiles.c_str()) != 0) {
    Fail("use_srtp profiles refused: " + profiles);
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     AcceptAnyCertificate);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  return std::shared_ptr<const DtlsContext>(
      new DtlsContext(std::move(certificate), std::move(ctx)));
}

}  // namespace webrtc2sip::media
