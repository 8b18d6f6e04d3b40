#pragma once

#include <memory>
#include <vector>

#include "common/cwrap/openssl_ptr.h"
#include "services/media-relay/dtls/dtls_certificate.h"
#include "services/media-relay/srtp/srtp_profile.h"

namespace webrtc2sip::media {

// The SSL_CTX every DtlsTransport of a node starts from: DTLS 1.2 only, this node's
// certificate, ECDHE suites, use_srtp, and a peer certificate demanded but not verified
// against any CA (the transport checks the SDP fingerprint instead). Read-only once made, so
// workers share it.
class DtlsContext {
 public:
  struct Options {
    // use_srtp profiles offered (client) or accepted (server), most preferred first.
    std::vector<SrtpProfile> srtp_profiles = {
        SrtpProfile::kAeadAes256Gcm, SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAes128CmSha1_80};
  };

  // Throws std::runtime_error when OpenSSL refuses the setup (a startup error).
  static std::shared_ptr<const DtlsContext> Create(
      std::shared_ptr<const DtlsCertificate> certificate, const Options& options);
  static std::shared_ptr<const DtlsContext> Create(
      std::shared_ptr<const DtlsCertificate> certificate) {
    return Create(std::move(certificate), Options());
  }

  SSL_CTX* ssl_ctx() const { return ctx_.get(); }
  const DtlsCertificate& certificate() const { return *certificate_; }

 private:
  DtlsContext(std::shared_ptr<const DtlsCertificate> certificate, SslCtxPtr ctx);

  std::shared_ptr<const DtlsCertificate> certificate_;
  SslCtxPtr ctx_;
};

}  // namespace webrtc2sip::media
