#pragma once

// The browser's side of a session: ICE (libnice) + DTLS (sans I/O) + SRTP,
// BUNDLE and rtcp-mux on one transport. Plain RTP/RTCP in and out; the
// session decides what goes where. Lives on its session's worker thread.

#include <glib.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/media-relay/dtls/dtls_transport.h"
#include "services/media-relay/ice/ice_transport.h"
#include "services/media-relay/session/node_context.h"
#include "services/media-relay/srtp/srtp_session.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::media {

namespace v1 = webrtc2sip::media::v1;

class WebRtcLeg final : public IceTransport::Listener, public DtlsTransport::Listener {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // Decrypted packets in a buffer of `capacity` bytes that may be modified in
    // place (and grown up to `capacity`); valid during the call.
    virtual void OnWebRtcRtp(uint8_t* data, size_t len, size_t capacity) = 0;
    virtual void OnWebRtcRtcp(uint8_t* data, size_t len, size_t capacity) = 0;
    virtual void OnWebRtcConnected() = 0;
    virtual void OnWebRtcFailed(const std::string& reason) = 0;
  };

  struct Counters {
    uint64_t srtp_auth_failed = 0;
    uint64_t srtp_replayed = 0;
    uint64_t srtp_other = 0;
    uint64_t not_ready = 0;  // media before DTLS finished
    uint64_t garbage = 0;
  };

  // nullptr (and `error` set) when the ICE agent cannot start.
  static std::unique_ptr<WebRtcLeg> Create(GMainContext* context, const NodeContext& node,
                                           const std::string& log_id, Owner& owner,
                                           std::string* error);
  ~WebRtcLeg() override;

  // The peer's transport: its ICE credentials and candidates, DTLS role and
  // fingerprints. Starts DTLS once the role is known. A changed ufrag is an
  // ICE restart. Returns an error text for a description that cannot work.
  std::optional<std::string> SetRemote(const v1::WebRtcTransport& remote);
  // The node's side: credentials, candidates, fingerprint, the role it takes.
  void FillLocal(v1::WebRtcTransport* local) const;

  bool SendRtp(uint8_t* data, size_t len, size_t capacity);
  bool SendRtcp(uint8_t* data, size_t len, size_t capacity);

  bool connected() const { return srtp_out_ != nullptr; }
  const Counters& counters() const { return counters_; }

  // IceTransport::Listener
  void OnIceData(const uint8_t* data, size_t len) override;
  void OnIceStateChanged(IceState state) override;
  void OnIceSelectedPair(const IceCandidate& local, const IceCandidate& remote) override;
  // DtlsTransport::Listener
  void OnDtlsSendData(const uint8_t* data, size_t len) override;
  void OnDtlsConnected(SrtpProfile profile, SrtpKeyMaterial keys) override;
  void OnDtlsFailed(DtlsFailure reason) override;
  void OnDtlsClosed() override;

 private:
  WebRtcLeg(const NodeContext& node, std::string log_id, Owner& owner);
  void ArmDtlsTimer();
  static gboolean OnDtlsTimer(gpointer self);

  const NodeContext& node_;
  const std::string log_id_;
  Owner& owner_;
  GMainContext* context_ = nullptr;
  std::unique_ptr<IceTransport> ice_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_, srtp_out_;
  v1::DtlsRole local_role_ = v1::DTLS_ROLE_UNSPECIFIED;  // actpass until known
  bool dtls_started_ = false;
  std::string remote_ufrag_;
  GSource* dtls_timer_ = nullptr;
  bool failed_ = false;
  bool ice_connected_ = false;
  gint64 created_us_ = g_get_monotonic_time();
  gint64 dtls_started_us_ = 0;
  std::array<uint8_t, 2048> scratch_{};
  // DTLS records sent before ICE selected a pair (libnice drops them): sent
  // again as soon as a pair is selected, instead of waiting for the peer's
  // retransmission.
  std::vector<std::vector<uint8_t>> unsent_dtls_;
  Counters counters_;
};

}  // namespace webrtc2sip::media
