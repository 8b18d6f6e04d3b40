#include "load/load_session.h"

#include <openssl/rand.h>

#include <cstring>

namespace webrtc2sip::bench::relay {
namespace {

constexpr uint8_t kPayloadTypePcmu = 0;
constexpr uint32_t kSamplesPerPacket = 160;  // 20 ms of PCMU

uint32_t RandomU32() {
  uint32_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

uint64_t RandomU64() {
  uint64_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

}  // namespace

LoadSession::LoadSession(uint32_t index, const SessionSpec& spec, const sockaddr_in& browser_remote,
                         const sockaddr_in& legacy_remote, Keying keying,
                         std::shared_ptr<const media::DtlsContext> dtls, Sender& sender)
    : index_(index),
      spec_(spec),
      browser_remote_(browser_remote),
      legacy_remote_(legacy_remote),
      keying_(keying),
      sender_(sender) {
  for (RtpState& r : rtp_) {
    r.ssrc = RandomU32();
    r.seq = static_cast<uint16_t>(RandomU32());
    r.timestamp = RandomU32();
  }
  if (keying_ == Keying::kDtls) {
    // Host candidate priority of RFC 8445 5.1.2.1 (type preference 126), as a browser sends.
    stun_.emplace(spec_.ice_username, spec_.ice_password, (126u << 24) | (65535u << 8) | 255u,
                  RandomU64());
    dtls_ = std::make_unique<media::DtlsTransport>(std::move(dtls), this);
  }
}

LoadSession::~LoadSession() = default;

void LoadSession::Start(int64_t now_ns) {
  switch (keying_) {
    case Keying::kDtls:
      state_ = State::kIce;
      stun_request_ = stun_->Encode();
      stun_tries_ = 1;
      sender_.SendControl(browser_remote_, stun_request_);
      next_timer_ns_ = now_ns + kStunRetransmitNs;
      return;
    case Keying::kSdes:
      if (StartSrtp(spec_.sdes_profile, spec_.sdes_tx, spec_.sdes_rx)) state_ = State::kMedia;
      return;
    case Keying::kNone:
      state_ = State::kMedia;
      return;
  }
}

void LoadSession::OnStun(std::span<const uint8_t> datagram, int64_t now_ns) {
  if (keying_ != Keying::kDtls) return;
  if (IsStunBindingRequest(datagram)) {
    const size_t n = EncodeStunBindingSuccess(datagram, browser_remote_, spec_.ice_local_password,
                                              stun_response_);
    if (n) sender_.SendControl(browser_remote_, {stun_response_.data(), n});
    relay_checked_ = true;
    if (state_ == State::kIce && check_succeeded_) StartDtls(now_ns);
    return;
  }
  if (state_ != State::kIce || check_succeeded_ || !stun_->IsSuccessResponse(datagram)) return;
  check_succeeded_ = true;
  if (relay_checked_) {
    StartDtls(now_ns);
  } else {
    next_timer_ns_ = now_ns + kRelayCheckWaitNs;
  }
}

// libnice, even as a lite agent, sends a triggered check back and selects the pair only once it
// is answered; until then the relay cannot send, so a ClientHello sent right after our own
// check succeeded is answered into the void and costs a DTLS retransmission (200 ms here).
// Hence DTLS starts once the relay's check was answered too, or after a short wait.
void LoadSession::StartDtls(int64_t now_ns) {
  state_ = State::kDtls;
  next_timer_ns_ = INT64_MAX;
  if (!dtls_->Start(media::DtlsRole::kClient, spec_.remote_fingerprint)) {
    Fail("dtls_start");
    return;
  }
  ArmDtlsTimer(now_ns);
}

void LoadSession::OnDtls(std::span<const uint8_t> datagram, int64_t now_ns) {
  if (!dtls_ || (state_ != State::kDtls && state_ != State::kMedia)) return;
  dtls_->ProcessIncoming(datagram.data(), datagram.size());
  if (state_ == State::kDtls) ArmDtlsTimer(now_ns);
}

void LoadSession::OnTimer(int64_t now_ns) {
  if (now_ns < next_timer_ns_) return;
  if (state_ == State::kIce) {
    if (check_succeeded_) {
      StartDtls(now_ns);  // The relay never checked back: try anyway.
      return;
    }
    if (stun_tries_ >= kStunMaxTries) {
      Fail("ice_timeout");
      return;
    }
    ++stun_tries_;
    sender_.SendControl(browser_remote_, stun_request_);
    next_timer_ns_ = now_ns + kStunRetransmitNs;
  } else if (state_ == State::kDtls) {
    dtls_->HandleTimeout();
    if (state_ == State::kDtls) ArmDtlsTimer(now_ns);
  } else {
    next_timer_ns_ = INT64_MAX;
  }
}

void LoadSession::ArmDtlsTimer(int64_t now_ns) {
  const auto next = dtls_->NextTimeout();
  next_timer_ns_ = next ? now_ns + std::chrono::nanoseconds(*next).count() : INT64_MAX;
}

size_t LoadSession::BuildPacket(Direction direction, uint8_t* buf, size_t capacity, size_t payload,
                                int64_t now_ns) {
  const size_t len = 12 + payload;
  if (payload < sizeof(PayloadStamp) || len > capacity) return 0;
  RtpState& r = rtp_[static_cast<size_t>(direction)];
  buf[0] = 0x80;
  buf[1] = kPayloadTypePcmu;
  buf[2] = static_cast<uint8_t>(r.seq >> 8);
  buf[3] = static_cast<uint8_t>(r.seq);
  for (int i = 0; i < 4; ++i) {
    buf[4 + i] = static_cast<uint8_t>(r.timestamp >> (24 - 8 * i));
    buf[8 + i] = static_cast<uint8_t>(r.ssrc >> (24 - 8 * i));
  }
  ++r.seq;
  r.timestamp += kSamplesPerPacket;
  const PayloadStamp stamp{now_ns, index_, PayloadStamp::kMagic, r.counter++, 0};
  std::memcpy(buf + 12, &stamp, sizeof stamp);
  // The filler is whatever the buffer held: its content is never looked at.
  size_t n = len;
  if (direction == Direction::kToLegacy && srtp_out_ &&
      srtp_out_->ProtectRtp(buf, &n, capacity) != media::SrtpResult::kOk) {
    return 0;
  }
  return n;
}

media::SrtpResult LoadSession::UnprotectAtBrowser(uint8_t* buf, size_t* len) {
  if (!srtp_in_) return media::SrtpResult::kOk;
  return srtp_in_->UnprotectRtp(buf, len);
}

void LoadSession::OnDtlsSendData(const uint8_t* data, size_t len) {
  sender_.SendControl(browser_remote_, {data, len});
}

void LoadSession::OnDtlsConnected(media::SrtpProfile profile, media::SrtpKeyMaterial keys) {
  if (!StartSrtp(profile, keys.local, keys.remote)) return;
  state_ = State::kMedia;
  next_timer_ns_ = INT64_MAX;
}

void LoadSession::OnDtlsFailed(media::DtlsFailure reason) {
  switch (reason) {
    case media::DtlsFailure::kHandshake:
      return Fail("dtls_handshake");
    case media::DtlsFailure::kFingerprintMismatch:
      return Fail("dtls_fingerprint_mismatch");
    case media::DtlsFailure::kTimeout:
      return Fail("dtls_timeout");
    case media::DtlsFailure::kClosed:
      return Fail("dtls_closed");
  }
}

void LoadSession::OnDtlsClosed() {}

bool LoadSession::StartSrtp(media::SrtpProfile profile, const media::SrtpMasterKey& tx,
                            const media::SrtpMasterKey& rx) {
  srtp_out_ =
      media::CreateSrtpSession(media::SrtpImpl::kEvp, media::SrtpDirection::kOutbound, profile, tx);
  srtp_in_ =
      media::CreateSrtpSession(media::SrtpImpl::kEvp, media::SrtpDirection::kInbound, profile, rx);
  if (!srtp_out_ || !srtp_in_) {
    Fail("srtp_keys");
    return false;
  }
  profile_ = profile;
  return true;
}

void LoadSession::Fail(std::string reason) {
  if (state_ == State::kFailed) return;
  state_ = State::kFailed;
  failure_ = std::move(reason);
  next_timer_ns_ = INT64_MAX;
}

}  // namespace webrtc2sip::bench::relay
