#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/cwrap/openssl_ptr.h"
#include "services/media-relay/dtls/dtls_context.h"
#include "services/media-relay/dtls/dtls_fingerprint.h"
#include "services/media-relay/srtp/srtp_profile.h"

namespace webrtc2sip::media {

enum class DtlsRole { kClient, kServer };

enum class DtlsFailure {
  kHandshake,            // Handshake error, fatal alert, or no SRTP profile in common.
  kFingerprintMismatch,  // The peer's certificate is not the one SDP announced.
  kTimeout,              // Retransmissions exhausted.
  kClosed,               // The peer closed before the handshake finished.
};

enum class DtlsState { kNew, kConnecting, kConnected, kFailed, kClosed };

// DTLS-SRTP (RFC 5764) for one ICE component, "sans I/O": received records go in through
// ProcessIncoming(), records to send come out through Listener::OnDtlsSendData(), one
// datagram per call. Timers are the owner's: it asks NextTimeout() after every call and calls
// HandleTimeout() when that time has passed. No socket, no clock, no thread of its own; one
// transport belongs to one thread. Untrusted input never throws or asserts.
//
// The role comes from the SDP answer, so the transport can exist before it is known: records
// that arrive before Start() are kept (a few) and processed when it starts as server.
class DtlsTransport {
 public:
  // Callbacks run synchronously inside the transport's calls. A listener must not destroy the
  // transport from inside a callback (defer it to the next loop turn).
  class Listener {
   public:
    virtual void OnDtlsSendData(const uint8_t* data, size_t len) = 0;
    // `keys.local` protects what we send, `keys.remote` unprotects what we receive.
    virtual void OnDtlsConnected(SrtpProfile profile, SrtpKeyMaterial keys) = 0;
    virtual void OnDtlsFailed(DtlsFailure reason) = 0;
    // close_notify after the handshake, or Close() was not ours: the association is over.
    virtual void OnDtlsClosed() = 0;

   protected:
    virtual ~Listener() = default;
  };

  struct Options {
    size_t mtu = 1200;  // Largest datagram sent.
    // Retransmission timer: starts at `initial_timeout`, doubles up to `max_timeout`. Values
    // under 20 ms are raised to 20 ms (OpenSSL sees under 15 ms as already expired).
    std::chrono::milliseconds initial_timeout{200};
    std::chrono::milliseconds max_timeout{3000};
    // Retransmissions before kTimeout: 200+400+800+1600+3000*6 ms, about 21 s, by default.
    int max_retransmissions = 10;
  };

  static constexpr size_t kMaxEarlyDatagrams = 8;

  DtlsTransport(std::shared_ptr<const DtlsContext> context, Listener* listener,
                const Options& options);
  DtlsTransport(std::shared_ptr<const DtlsContext> context, Listener* listener)
      : DtlsTransport(std::move(context), listener, Options()) {}
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Starts the handshake once; a client sends its ClientHello at once. False when already
  // started, the fingerprint algorithm is unknown, or OpenSSL cannot make the connection.
  bool Start(DtlsRole role, const DtlsFingerprint& remote_fingerprint);

  // One received datagram. False when it is not DTLS (RFC 7983: first byte 20..63, whole
  // records) or the transport is failed or closed; the owner counts those drops.
  bool ProcessIncoming(const uint8_t* data, size_t len);

  // Time left before HandleTimeout() is due, while the handshake runs; nullopt otherwise.
  std::optional<std::chrono::milliseconds> NextTimeout() const;
  // Retransmits the last flight if its timer expired; gives up with kTimeout.
  void HandleTimeout();

  // Sends close_notify when connected. No callback follows.
  void Close();

  DtlsState state() const { return state_; }
  DtlsRole role() const { return role_; }

  // RFC 7983 demultiplexing: a datagram whose first byte is 20..63 is DTLS.
  static bool IsDtls(const uint8_t* data, size_t len) {
    return len >= 13 && data[0] >= 20 && data[0] <= 63;
  }

 private:
  // DTLS_set_timer_cb: the next retransmission timeout, from Options.
  static unsigned int OnTimer(SSL* ssl, unsigned int previous_us);

  bool CreateSsl();
  void Feed(const uint8_t* data, size_t len);
  void ContinueHandshake();
  void OnHandshakeDone();
  void ReadAfterHandshake();
  void Flush();
  void Fail(DtlsFailure reason);

  const std::shared_ptr<const DtlsContext> context_;
  Listener* const listener_;
  const Options options_;
  DtlsState state_ = DtlsState::kNew;
  DtlsRole role_ = DtlsRole::kServer;
  DtlsFingerprint remote_fingerprint_;
  SslPtr ssl_;
  BIO* read_bio_ = nullptr;  // Owned by ssl_.
  // Datagrams OpenSSL wrote during the current call, handed to the listener after it.
  std::vector<std::vector<uint8_t>> outgoing_;
  std::vector<std::vector<uint8_t>> early_;
  int retransmissions_ = 0;
};

}  // namespace webrtc2sip::media
