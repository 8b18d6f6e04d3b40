#include "services/media-relay/dtls/dtls_transport.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <string_view>

namespace webrtc2sip::media {
namespace {

constexpr std::string_view kExporterLabel = "EXTRACTOR-dtls_srtp";
constexpr size_t kRecordHeaderLength = 13;
// OpenSSL treats a timer with less than 15 ms left as expired (dtls1_get_timeout): a shorter
// timeout would retransmit at once.
constexpr int64_t kMinTimerUs = 20000;

// True when the datagram is a sequence of whole DTLS records (RFC 6347 4.1) of a known
// content type; anything else is dropped before OpenSSL sees it.
bool IsWellFormedDatagram(const uint8_t* data, size_t len) {
  if (!DtlsTransport::IsDtls(data, len)) return false;
  size_t at = 0;
  while (at < len) {
    if (len - at < kRecordHeaderLength) return false;
    const uint8_t type = data[at];
    if (type < 20 || type > 24 || data[at + 1] != 0xfe) return false;
    const size_t body = static_cast<size_t>(data[at + 11] << 8 | data[at + 12]);
    if (len - at - kRecordHeaderLength < body) return false;
    at += kRecordHeaderLength + body;
  }
  return true;
}

// A write-only BIO that keeps each write as one datagram. With a memory BIO, records written
// in one flight would run together and lose their datagram boundaries.
int DatagramWrite(BIO* bio, const char* data, int len) {
  auto* out = static_cast<std::vector<std::vector<uint8_t>>*>(BIO_get_data(bio));
  if (out == nullptr || len < 0) return -1;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  out->emplace_back(bytes, bytes + len);
  return len;
}

long DatagramCtrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
    default:
      return 0;
  }
}

int DatagramCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* DatagramMethod() {
  static const BioMethodPtr method = [] {
    BioMethodPtr m(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "webrtc2sip-dtls"));
    if (m) {
      BIO_meth_set_write(m.get(), DatagramWrite);
      BIO_meth_set_ctrl(m.get(), DatagramCtrl);
      BIO_meth_set_create(m.get(), DatagramCreate);
    }
    return m;
  }();
  return method.get();
}

}  // namespace

DtlsTransport::DtlsTransport(std::shared_ptr<const DtlsContext> context, Listener* listener,
                             const Options& options)
    : context_(std::move(context)), listener_(listener), options_(options) {}

DtlsTransport::~DtlsTransport() {
  ssl_.reset();  // Before outgoing_, which the write BIO points at.
}

unsigned int DtlsTransport::OnTimer(SSL* ssl, unsigned int previous_us) {
  const auto* self = static_cast<const DtlsTransport*>(SSL_get_app_data(ssl));
  const auto us = [](std::chrono::milliseconds ms) {
    return static_cast<unsigned int>(
        std::clamp<int64_t>(ms.count() * 1000, kMinTimerUs, static_cast<int64_t>(UINT_MAX / 2)));
  };
  if (previous_us == 0) return us(self->options_.initial_timeout);
  return std::min(previous_us * 2, us(self->options_.max_timeout));
}

bool DtlsTransport::CreateSsl() {
  const BIO_METHOD* method = DatagramMethod();
  if (method == nullptr || !context_) return false;
  SslPtr ssl(SSL_new(context_->ssl_ctx()));
  if (!ssl) return false;
  BIO* read_bio = BIO_new(BIO_s_mem());
  BIO* write_bio = BIO_new(method);
  if (read_bio == nullptr || write_bio == nullptr) {
    BIO_free(read_bio);
    BIO_free(write_bio);
    return false;
  }
  BIO_set_mem_eof_return(read_bio, -1);  // An empty read BIO means "wait", not EOF.
  BIO_set_data(write_bio, &outgoing_);
  SSL_set_bio(ssl.get(), read_bio, write_bio);  // The SSL owns both now.
  SSL_set_app_data(ssl.get(), this);
  SSL_set_options(ssl.get(), SSL_OP_NO_QUERY_MTU);
  if (DTLS_set_link_mtu(ssl.get(), static_cast<long>(options_.mtu)) != 1) return false;
  DTLS_set_timer_cb(ssl.get(), OnTimer);
  ssl_ = std::move(ssl);
  read_bio_ = read_bio;
  return true;
}

bool DtlsTransport::Start(DtlsRole role, const DtlsFingerprint& remote_fingerprint) {
  if (state_ != DtlsState::kNew || !IsSupportedFingerprintAlgorithm(remote_fingerprint.algorithm)) {
    return false;
  }
  if (!CreateSsl()) {
    state_ = DtlsState::kFailed;
    return false;
  }
  role_ = role;
  remote_fingerprint_ = remote_fingerprint;
  state_ = DtlsState::kConnecting;
  std::vector<std::vector<uint8_t>> early;
  early.swap(early_);
  if (role == DtlsRole::kClient) {
    SSL_set_connect_state(ssl_.get());
    ContinueHandshake();  // Sends the ClientHello.
    return true;
  }
  SSL_set_accept_state(ssl_.get());
  for (const auto& datagram : early) {
    if (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected) break;
    Feed(datagram.data(), datagram.size());
  }
  return true;
}

bool DtlsTransport::ProcessIncoming(const uint8_t* data, size_t len) {
  if (data == nullptr || !IsWellFormedDatagram(data, len) || len > INT_MAX) return false;
  switch (state_) {
    case DtlsState::kNew:
      if (early_.size() >= kMaxEarlyDatagrams) return false;
      early_.emplace_back(data, data + len);
      return true;
    case DtlsState::kConnecting:
    case DtlsState::kConnected:
      Feed(data, len);
      return true;
    case DtlsState::kFailed:
    case DtlsState::kClosed:
      return false;
  }
  return false;
}

void DtlsTransport::Feed(const uint8_t* data, size_t len) {
  (void)BIO_reset(read_bio_);  // Nothing of an earlier datagram may linger.
  if (BIO_write(read_bio_, data, static_cast<int>(len)) != static_cast<int>(len)) return;
  if (state_ == DtlsState::kConnecting) {
    ContinueHandshake();
  } else {
    ReadAfterHandshake();
  }
}

void DtlsTransport::ContinueHandshake() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_.get());
  const int error = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), ret);
  Flush();
  if (ret == 1) {
    OnHandshakeDone();
    return;
  }
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return;
    case SSL_ERROR_ZERO_RETURN:
      Fail(DtlsFailure::kClosed);
      return;
    default:
      Fail(DtlsFailure::kHandshake);
      return;
  }
}

void DtlsTransport::OnHandshakeDone() {
  X509Ptr peer(SSL_get1_peer_certificate(ssl_.get()));
  const std::optional<std::string> fingerprint =
      ComputeFingerprint(peer.get(), remote_fingerprint_.algorithm);
  if (!fingerprint || !FingerprintValuesEqual(*fingerprint, remote_fingerprint_.value)) {
    // Tell the peer too, then keep no keys.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    Flush();
    Fail(DtlsFailure::kFingerprintMismatch);
    return;
  }
  const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_.get());
  const std::optional<SrtpProfile> profile =
      selected != nullptr ? SrtpProfileFromDtlsName(selected->name) : std::nullopt;
  if (!profile) {
    Fail(DtlsFailure::kHandshake);  // No use_srtp profile in common.
    return;
  }
  // RFC 5764 4.2: client key, server key, client salt, server salt.
  const size_t key_len = SrtpMasterKeyLength(*profile);
  const size_t salt_len = SrtpMasterSaltLength(*profile);
  uint8_t material[2 * (kSrtpMaxMasterKeyLength + kSrtpMaxMasterSaltLength)];
  const size_t total = 2 * (key_len + salt_len);
  if (SSL_export_keying_material(ssl_.get(), material, total, kExporterLabel.data(),
                                 kExporterLabel.size(), nullptr, 0, 0) != 1) {
    Fail(DtlsFailure::kHandshake);
    return;
  }
  const uint8_t* client_key = material;
  const uint8_t* server_key = client_key + key_len;
  const uint8_t* client_salt = server_key + key_len;
  const uint8_t* server_salt = client_salt + salt_len;
  SrtpMasterKey client{{client_key, client_key + key_len}, {client_salt, client_salt + salt_len}};
  SrtpMasterKey server{{server_key, server_key + key_len}, {server_salt, server_salt + salt_len}};
  OPENSSL_cleanse(material, sizeof(material));
  SrtpKeyMaterial keys;
  if (role_ == DtlsRole::kClient) {
    keys.local = std::move(client);
    keys.remote = std::move(server);
  } else {
    keys.local = std::move(server);
    keys.remote = std::move(client);
  }
  state_ = DtlsState::kConnected;
  listener_->OnDtlsConnected(*profile, std::move(keys));
}

void DtlsTransport::ReadAfterHandshake() {
  // No DTLS application data is expected (no data channel): read only to let OpenSSL answer
  // retransmitted handshake flights and notice close_notify.
  uint8_t discard[2048];
  for (;;) {
    ERR_clear_error();
    const int ret = SSL_read(ssl_.get(), discard, sizeof(discard));
    const int error = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), ret);
    Flush();
    if (ret > 0) continue;
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
    // close_notify, or a fatal alert: the association is over either way.
    state_ = DtlsState::kClosed;
    listener_->OnDtlsClosed();
    return;
  }
}

std::optional<std::chrono::milliseconds> DtlsTransport::NextTimeout() const {
  if (state_ != DtlsState::kConnecting || !ssl_) return std::nullopt;
  timeval left{};
  if (DTLSv1_get_timeout(ssl_.get(), &left) != 1) return std::nullopt;
  const int64_t us = static_cast<int64_t>(left.tv_sec) * 1000000 + left.tv_usec;
  return std::chrono::milliseconds((us + 999) / 1000);
}

void DtlsTransport::HandleTimeout() {
  if (state_ != DtlsState::kConnecting || !ssl_) return;
  timeval left{};
  if (DTLSv1_get_timeout(ssl_.get(), &left) != 1 || left.tv_sec > 0 || left.tv_usec > 0) {
    return;  // No timer, or not due yet.
  }
  if (retransmissions_ >= options_.max_retransmissions) {
    Fail(DtlsFailure::kTimeout);
    return;
  }
  ERR_clear_error();
  const int ret = DTLSv1_handle_timeout(ssl_.get());
  Flush();
  if (ret < 0) {
    Fail(DtlsFailure::kTimeout);  // OpenSSL's own limit.
    return;
  }
  if (ret > 0) ++retransmissions_;
}

void DtlsTransport::Close() {
  if (state_ == DtlsState::kConnected) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    Flush();
  }
  if (state_ != DtlsState::kFailed) state_ = DtlsState::kClosed;
  early_.clear();
}

void DtlsTransport::Flush() {
  // The listener may call back into us; hand it a batch that no longer belongs to outgoing_.
  std::vector<std::vector<uint8_t>> batch;
  batch.swap(outgoing_);
  for (const auto& datagram : batch) listener_->OnDtlsSendData(datagram.data(), datagram.size());
}

void DtlsTransport::Fail(DtlsFailure reason) {
  ERR_clear_error();  // Leave nothing of ours in this thread's error queue.
  state_ = DtlsState::kFailed;
  listener_->OnDtlsFailed(reason);
}

}  // namespace webrtc2sip::media
