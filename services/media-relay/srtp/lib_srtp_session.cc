#include "services/media-relay/srtp/lib_srtp_session.h"

#include <algorithm>
#include <climits>
#include <vector>

#include "services/media-relay/srtp/dep_lib_srtp.h"
#include "services/media-relay/srtp/srtp_packet.h"

namespace webrtc2sip::media {
namespace {

void SetCryptoPolicies(SrtpProfile profile, srtp_policy_t& policy) {
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAes128CmSha1_32:
      // SRTCP keeps the 80-bit tag (RFC 4568 6.2.1).
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
}

SrtpResult ToResult(srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_ok:
      return SrtpResult::kOk;
    case srtp_err_status_auth_fail:
      return SrtpResult::kAuthFail;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return SrtpResult::kReplay;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_cant_check:  // SRTCP without the E bit where encryption is on.
      return SrtpResult::kBadPacket;
    default:
      return SrtpResult::kError;
  }
}

// libsrtp takes an int length; RTP over UDP is far below INT_MAX anyway.
bool FitsInt(size_t len) {
  return len <= static_cast<size_t>(INT_MAX);
}

}  // namespace

std::unique_ptr<LibSrtpSession> LibSrtpSession::Create(SrtpDirection direction, SrtpProfile profile,
                                                       const SrtpMasterKey& key) {
  if (!SrtpMasterKeyFits(profile, key) || !DepLibSrtp::ClassInit()) return nullptr;
  // libsrtp wants the master key and salt back to back.
  std::vector<uint8_t> key_and_salt(key.key);
  key_and_salt.insert(key_and_salt.end(), key.salt.begin(), key.salt.end());
  srtp_policy_t policy{};
  SetCryptoPolicies(profile, policy);
  policy.ssrc.type = direction == SrtpDirection::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = key_and_salt.data();
  policy.window_size = 128;
  // We may send a packet again (NACK); the receiver's window is what stops replays.
  policy.allow_repeat_tx = direction == SrtpDirection::kOutbound ? 1 : 0;
  srtp_t srtp = nullptr;
  const srtp_err_status_t status = srtp_create(&srtp, &policy);
  std::fill(key_and_salt.begin(), key_and_salt.end(), 0);
  if (status != srtp_err_status_ok) return nullptr;
  return std::unique_ptr<LibSrtpSession>(new LibSrtpSession(direction, profile, SrtpPtr(srtp)));
}

LibSrtpSession::LibSrtpSession(SrtpDirection direction, SrtpProfile profile, SrtpPtr srtp)
    : SrtpSession(direction, profile), srtp_(std::move(srtp)) {}

SrtpResult LibSrtpSession::ProtectRtp(uint8_t* buf, size_t* len, size_t capacity) {
  if (direction() != SrtpDirection::kOutbound) return SrtpResult::kWrongDirection;
  if (!RtpHeaderLength(buf, *len)) return SrtpResult::kBadPacket;
  if (capacity < *len + SrtpRtpOverhead(profile()) || !FitsInt(capacity)) {
    return SrtpResult::kNoSpace;
  }
  int n = static_cast<int>(*len);
  const SrtpResult result = ToResult(srtp_protect(srtp_.get(), buf, &n));
  if (result == SrtpResult::kOk) *len = static_cast<size_t>(n);
  return result;
}

SrtpResult LibSrtpSession::UnprotectRtp(uint8_t* buf, size_t* len) {
  if (direction() != SrtpDirection::kInbound) return SrtpResult::kWrongDirection;
  const std::optional<size_t> header_len = RtpHeaderLength(buf, *len);
  if (!header_len || *len < *header_len + SrtpRtpOverhead(profile()) || !FitsInt(*len)) {
    return SrtpResult::kBadPacket;
  }
  int n = static_cast<int>(*len);
  const SrtpResult result = ToResult(srtp_unprotect(srtp_.get(), buf, &n));
  if (result == SrtpResult::kOk) *len = static_cast<size_t>(n);
  return result;
}

SrtpResult LibSrtpSession::ProtectRtcp(uint8_t* buf, size_t* len, size_t capacity) {
  if (direction() != SrtpDirection::kOutbound) return SrtpResult::kWrongDirection;
  if (!LooksLikeRtcp(buf, *len)) return SrtpResult::kBadPacket;
  if (capacity < *len + SrtpRtcpOverhead(profile()) || !FitsInt(capacity)) {
    return SrtpResult::kNoSpace;
  }
  int n = static_cast<int>(*len);
  const SrtpResult result = ToResult(srtp_protect_rtcp(srtp_.get(), buf, &n));
  if (result == SrtpResult::kOk) *len = static_cast<size_t>(n);
  return result;
}

SrtpResult LibSrtpSession::UnprotectRtcp(uint8_t* buf, size_t* len) {
  if (direction() != SrtpDirection::kInbound) return SrtpResult::kWrongDirection;
  if (!LooksLikeRtcp(buf, *len) || *len < kRtcpHeaderLength + SrtpRtcpOverhead(profile()) ||
      !FitsInt(*len)) {
    return SrtpResult::kBadPacket;
  }
  int n = static_cast<int>(*len);
  const SrtpResult result = ToResult(srtp_unprotect_rtcp(srtp_.get(), buf, &n));
  if (result == SrtpResult::kOk) *len = static_cast<size_t>(n);
  return result;
}

}  // namespace webrtc2sip::media
