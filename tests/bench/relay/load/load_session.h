#pragma once

// One audio session of the load generator: the "browser" end (ICE + DTLS-SRTP toward the
// relay, SDES-SRTP toward rtpengine, or plain RTP in the direct calibration mode) and the
// "legacy" end (plain RTP). Sans I/O like the project's DtlsTransport: datagrams go out
// through the Sender, timers are the engine's. Media packets are built and parsed in buffers
// the engine owns; nothing here allocates on the packet path.

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "load/stun_binding.h"
#include "services/media-relay/dtls/dtls_transport.h"
#include "services/media-relay/srtp/srtp_session.h"

namespace webrtc2sip::bench::relay {

enum class Keying {
  kDtls,  // webrtc2sip media relay: ICE-lite checks, then DTLS as client.
  kSdes,  // rtpengine: keys given by the controller (a=crypto).
  kNone,  // Calibration: plain RTP straight between the generator's two sockets.
};

enum class Direction : uint8_t {
  kToLegacy = 0,   // Sent by the browser end, received by the legacy end.
  kToBrowser = 1,  // Sent by the legacy end, received by the browser end.
};

// What the controller tells about one session.
struct SessionSpec {
  uint16_t browser_remote_port = 0;  // The server's WebRTC/SRTP side; 0: our legacy socket.
  uint16_t legacy_remote_port = 0;   // The server's plain RTP side; 0: our browser socket.
  // Keying::kDtls
  std::string ice_username;        // "relayUfrag:ourUfrag"
  std::string ice_password;        // The relay's ice-pwd: signs our checks.
  std::string ice_local_password;  // Ours, as given to the relay: signs our answers to its checks.
  media::DtlsFingerprint remote_fingerprint;
  // Keying::kSdes: `tx` protects what the browser end sends, `rx` what it receives.
  media::SrtpProfile sdes_profile = media::SrtpProfile::kAes128CmSha1_80;
  media::SrtpMasterKey sdes_tx, sdes_rx;
};

// The fixed part of every payload; the rest is filler up to the payload size.
struct PayloadStamp {
  static constexpr uint32_t kMagic = 0x57325342;  // "W2SB"
  int64_t sent_ns;
  uint32_t session;
  uint32_t magic;
  uint32_t counter;  // Per session and direction, from 0: duplicates are told apart.
  uint32_t reserved;
};

class LoadSession final : public media::DtlsTransport::Listener {
 public:
  enum class State { kPending, kIce, kDtls, kMedia, kFailed };

  class Sender {
   public:
    // A control datagram (STUN, DTLS) from the browser end to `to`.
    virtual void SendControl(const sockaddr_in& to, std::span<const uint8_t> datagram) = 0;

   protected:
    virtual ~Sender() = default;
  };

  LoadSession(uint32_t index, const SessionSpec& spec, const sockaddr_in& browser_remote,
              const sockaddr_in& legacy_remote, Keying keying,
              std::shared_ptr<const media::DtlsContext> dtls, Sender& sender);
  ~LoadSession() override;
  LoadSession(const LoadSession&) = delete;
  LoadSession& operator=(const LoadSession&) = delete;

  // Control: Start() begins ICE (kDtls) or goes straight to media.
  void Start(int64_t now_ns);
  // A check from the relay is answered; the answer to ours starts DTLS.
  void OnStun(std::span<const uint8_t> datagram, int64_t now_ns);
  void OnDtls(std::span<const uint8_t> datagram, int64_t now_ns);
  void OnTimer(int64_t now_ns);
  int64_t next_timer_ns() const { return next_timer_ns_; }

  // Media: an RTP packet of `payload` bytes stamped `now_ns`, SRTP-protected on the browser
  // end when keyed, written to `buf`; its length, 0 when it cannot be built.
  size_t BuildPacket(Direction direction, uint8_t* buf, size_t capacity, size_t payload,
                     int64_t now_ns);
  // SRTP-unprotects in place what the browser end received (no-op without keys).
  media::SrtpResult UnprotectAtBrowser(uint8_t* buf, size_t* len);

  State state() const { return state_; }
  uint32_t index() const { return index_; }
  const std::string& failure() const { return failure_; }
  std::optional<media::SrtpProfile> profile() const { return profile_; }
  const sockaddr_in& browser_remote() const { return browser_remote_; }
  const sockaddr_in& legacy_remote() const { return legacy_remote_; }

  // DtlsTransport::Listener
  void OnDtlsSendData(const uint8_t* data, size_t len) override;
  void OnDtlsConnected(media::SrtpProfile profile, media::SrtpKeyMaterial keys) override;
  void OnDtlsFailed(media::DtlsFailure reason) override;
  void OnDtlsClosed() override;

 private:
  static constexpr int64_t kStunRetransmitNs = 100'000'000;
  static constexpr int kStunMaxTries = 50;
  // How long DTLS waits, after our check succeeded, for the relay's own check (see StartDtls).
  static constexpr int64_t kRelayCheckWaitNs = 50'000'000;

  void StartDtls(int64_t now_ns);
  void Fail(std::string reason);
  void ArmDtlsTimer(int64_t now_ns);
  bool StartSrtp(media::SrtpProfile profile, const media::SrtpMasterKey& tx,
                 const media::SrtpMasterKey& rx);

  const uint32_t index_;
  const SessionSpec spec_;
  const sockaddr_in browser_remote_;
  const sockaddr_in legacy_remote_;
  const Keying keying_;
  Sender& sender_;
  State state_ = State::kPending;
  std::string failure_;
  int64_t next_timer_ns_ = INT64_MAX;

  std::optional<StunBindingRequest> stun_;
  std::span<const uint8_t> stun_request_;
  int stun_tries_ = 0;
  bool check_succeeded_ = false;  // Our check was answered.
  bool relay_checked_ = false;    // We answered one of the relay's.
  std::array<uint8_t, 256> stun_response_{};
  std::unique_ptr<media::DtlsTransport> dtls_;

  std::optional<media::SrtpProfile> profile_;
  std::unique_ptr<media::SrtpSession> srtp_out_, srtp_in_;
  struct RtpState {
    uint32_t ssrc = 0;
    uint16_t seq = 0;
    uint32_t timestamp = 0;
    uint32_t counter = 0;
  };
  RtpState rtp_[2];
};

}  // namespace webrtc2sip::bench::relay
