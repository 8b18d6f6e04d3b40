#include "services/media-relay/srtp/evp_srtp_session.h"

#include <algorithm>

#include "services/media-relay/srtp/evp_aes_cm_transform.h"
#include "services/media-relay/srtp/evp_aes_gcm_transform.h"
#include "services/media-relay/srtp/srtp_index.h"
#include "services/media-relay/srtp/srtp_key_derivation.h"
#include "services/media-relay/srtp/srtp_packet.h"

namespace webrtc2sip::media {
namespace {
constexpr uint32_t kMaxSrtcpIndex = 0x7fffffffu;
}  // namespace

EvpSrtpSession::Stream EvpSrtpSession::NewStream(uint32_t ssrc) {
  Stream stream;
  stream.ssrc = ssrc;
  return stream;
}

std::unique_ptr<EvpSrtpSession> EvpSrtpSession::Create(SrtpDirection direction, SrtpProfile profile,
                                                       const SrtpMasterKey& key) {
  const std::optional<SrtpSessionKeys> keys = DeriveSrtpSessionKeys(profile, key);
  if (!keys) return nullptr;
  std::unique_ptr<SrtpTransform> transform;
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
    case SrtpProfile::kAes128CmSha1_32:
      transform = EvpAesCmTransform::Create(*keys, SrtpRtpOverhead(profile));
      break;
    case SrtpProfile::kAeadAes128Gcm:
    case SrtpProfile::kAeadAes256Gcm:
      transform = EvpAesGcmTransform::Create(*keys, direction == SrtpDirection::kOutbound);
      break;
  }
  if (!transform) return nullptr;
  return std::unique_ptr<EvpSrtpSession>(
      new EvpSrtpSession(direction, profile, std::move(transform)));
}

EvpSrtpSession::EvpSrtpSession(SrtpDirection direction, SrtpProfile profile,
                               std::unique_ptr<SrtpTransform> transform)
    : SrtpSession(direction, profile),
      transform_(std::move(transform)),
      rtp_overhead_(SrtpRtpOverhead(profile)),
      rtcp_overhead_(SrtpRtcpOverhead(profile)) {
  streams_.reserve(kMaxStreams);
}

EvpSrtpSession::Stream* EvpSrtpSession::Find(uint32_t ssrc) {
  for (Stream& stream : streams_) {
    if (stream.ssrc == ssrc) {
      stream.last_used = ++use_counter_;
      return &stream;
    }
  }
  return nullptr;
}

EvpSrtpSession::Stream& EvpSrtpSession::Insert(const Stream& stream) {
  if (streams_.size() < kMaxStreams) {
    streams_.push_back(stream);
    streams_.back().last_used = ++use_counter_;
    return streams_.back();
  }
  auto oldest =
      std::min_element(streams_.begin(), streams_.end(),
                       [](const Stream& a, const Stream& b) { return a.last_used < b.last_used; });
  *oldest = stream;
  oldest->last_used = ++use_counter_;
  return *oldest;
}

void EvpSrtpSession::AdvanceRtp(Stream& stream, int64_t roc, uint16_t seq) {
  if (!stream.rtp_started || roc > stream.roc) {
    stream.rtp_started = true;
    stream.roc = static_cast<uint32_t>(roc);
    stream.highest_seq = seq;
  } else if (roc == stream.roc && seq > stream.highest_seq) {
    stream.highest_seq = seq;
  }
}

SrtpResult EvpSrtpSession::ProtectRtp(uint8_t* buf, size_t* len, size_t capacity) {
  if (direction() != SrtpDirection::kOutbound) return SrtpResult::kWrongDirection;
  const std::optional<size_t> header_len = RtpHeaderLength(buf, *len);
  if (!header_len) return SrtpResult::kBadPacket;
  if (capacity < *len + rtp_overhead_) return SrtpResult::kNoSpace;
  const uint32_t ssrc = RtpSsrc(buf);
  const uint16_t seq = RtpSequenceNumber(buf);
  Stream* stream = Find(ssrc);
  if (stream == nullptr) stream = &Insert(NewStream(ssrc));
  const int64_t roc = stream->rtp_started ? EstimateRoc(stream->roc, stream->highest_seq, seq) : 0;
  if (roc < 0) return SrtpResult::kReplay;
  // A sender may send a sequence number again (retransmission): no replay check outbound.
  if (!transform_->ProtectRtp(buf, len, *header_len, ssrc, static_cast<uint32_t>(roc), seq)) {
    return SrtpResult::kError;
  }
  AdvanceRtp(*stream, roc, seq);
  return SrtpResult::kOk;
}

SrtpResult EvpSrtpSession::UnprotectRtp(uint8_t* buf, size_t* len) {
  if (direction() != SrtpDirection::kInbound) return SrtpResult::kWrongDirection;
  const std::optional<size_t> header_len = RtpHeaderLength(buf, *len);
  if (!header_len || *len < *header_len + rtp_overhead_) return SrtpResult::kBadPacket;
  const uint32_t ssrc = RtpSsrc(buf);
  const uint16_t seq = RtpSequenceNumber(buf);
  // A new SSRC only gets a stream once its first packet authenticates.
  Stream* stream = Find(ssrc);
  Stream fresh = NewStream(ssrc);
  Stream& state = stream != nullptr ? *stream : fresh;
  const int64_t roc = state.rtp_started ? EstimateRoc(state.roc, state.highest_seq, seq) : 0;
  if (roc < 0) return SrtpResult::kReplay;
  const uint64_t index = SrtpPacketIndex(static_cast<uint32_t>(roc), seq);
  if (state.rtp_window.IsReplay(index)) return SrtpResult::kReplay;
  const SrtpResult result =
      transform_->UnprotectRtp(buf, len, *header_len, ssrc, static_cast<uint32_t>(roc), seq);
  if (result != SrtpResult::kOk) return result;
  Stream& accepted = stream != nullptr ? *stream : Insert(fresh);
  AdvanceRtp(accepted, roc, seq);
  accepted.rtp_window.Add(index);
  return SrtpResult::kOk;
}

SrtpResult EvpSrtpSession::ProtectRtcp(uint8_t* buf, size_t* len, size_t capacity) {
  if (direction() != SrtpDirection::kOutbound) return SrtpResult::kWrongDirection;
  if (!LooksLikeRtcp(buf, *len)) return SrtpResult::kBadPacket;
  if (capacity < *len + rtcp_overhead_) return SrtpResult::kNoSpace;
  const uint32_t ssrc = RtcpSenderSsrc(buf);
  Stream* stream = Find(ssrc);
  if (stream == nullptr) stream = &Insert(NewStream(ssrc));
  // 2^31 SRTCP packets need a new master key (RFC 3711 9.2); we refuse rather than wrap.
  if (stream->next_rtcp_index > kMaxSrtcpIndex) return SrtpResult::kError;
  if (!transform_->ProtectRtcp(buf, len, ssrc, stream->next_rtcp_index)) {
    return SrtpResult::kError;
  }
  ++stream->next_rtcp_index;
  return SrtpResult::kOk;
}

SrtpResult EvpSrtpSession::UnprotectRtcp(uint8_t* buf, size_t* len) {
  if (direction() != SrtpDirection::kInbound) return SrtpResult::kWrongDirection;
  if (!LooksLikeRtcp(buf, *len) || *len < kRtcpHeaderLength + rtcp_overhead_) {
    return SrtpResult::kBadPacket;
  }
  const uint32_t ssrc = RtcpSenderSsrc(buf);
  const uint32_t index = transform_->RtcpTrailerWord(buf, *len) & kMaxSrtcpIndex;
  Stream* stream = Find(ssrc);
  if (stream != nullptr && stream->rtcp_window.IsReplay(index)) return SrtpResult::kReplay;
  const SrtpResult result = transform_->UnprotectRtcp(buf, len);
  if (result != SrtpResult::kOk) return result;
  Stream& accepted = stream != nullptr ? *stream : Insert(NewStream(ssrc));
  accepted.rtcp_window.Add(index);
  return SrtpResult::kOk;
}

}  // namespace webrtc2sip::media
