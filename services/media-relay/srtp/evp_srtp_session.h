#pragma once

#include <memory>
#include <vector>

#include "services/media-relay/srtp/replay_window.h"
#include "services/media-relay/srtp/srtp_session.h"
#include "services/media-relay/srtp/srtp_transform.h"

namespace webrtc2sip::media {

// SrtpSession on OpenSSL EVP: RFC 3711 (AES-CM, HMAC-SHA1) and RFC 7714 (AES-GCM). Keeps, per
// SSRC, the rollover counter (RFC 3711 Appendix A), the replay windows and the SRTCP index.
class EvpSrtpSession final : public SrtpSession {
 public:
  // Streams kept at most; the least recently used one makes room for a new SSRC.
  static constexpr size_t kMaxStreams = 64;

  static std::unique_ptr<EvpSrtpSession> Create(SrtpDirection direction, SrtpProfile profile,
                                                const SrtpMasterKey& key);

  SrtpResult ProtectRtp(uint8_t* buf, size_t* len, size_t capacity) override;
  SrtpResult UnprotectRtp(uint8_t* buf, size_t* len) override;
  SrtpResult ProtectRtcp(uint8_t* buf, size_t* len, size_t capacity) override;
  SrtpResult UnprotectRtcp(uint8_t* buf, size_t* len) override;

 private:
  struct Stream {
    uint32_t ssrc = 0;
    bool rtp_started = false;
    uint32_t roc = 0;
    uint16_t highest_seq = 0;      // s_l of RFC 3711 Appendix A.
    ReplayWindow rtp_window;       // Inbound only.
    uint32_t next_rtcp_index = 0;  // Outbound only.
    ReplayWindow rtcp_window;      // Inbound only.
    uint64_t last_used = 0;
  };

  EvpSrtpSession(SrtpDirection direction, SrtpProfile profile,
                 std::unique_ptr<SrtpTransform> transform);

  static Stream NewStream(uint32_t ssrc);
  Stream* Find(uint32_t ssrc);
  Stream& Insert(const Stream& stream);
  // Moves the RTP rollover state forward after `seq` was accepted with rollover `roc`.
  static void AdvanceRtp(Stream& stream, int64_t roc, uint16_t seq);

  const std::unique_ptr<SrtpTransform> transform_;
  const size_t rtp_overhead_;
  const size_t rtcp_overhead_;
  std::vector<Stream> streams_;
  uint64_t use_counter_ = 0;
};

}  // namespace webrtc2sip::media
