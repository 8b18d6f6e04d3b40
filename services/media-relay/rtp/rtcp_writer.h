#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "services/media-relay/rtp/rtcp_packet.h"

namespace webrtc2sip::media {

// Appends RTCP packets to a caller's buffer, making one compound packet (or a reduced-size one
// when the first is not SR/RR). Each Add*() writes a whole packet or, when it does not fit or
// its arguments cannot be encoded, nothing and returns false. Never allocates.
class RtcpWriter {
 public:
  static constexpr size_t kMaxReportBlocks = 31;

  explicit RtcpWriter(std::span<uint8_t> out) : out_(out) {}

  bool AddSenderReport(uint32_t ssrc, const SenderInfo& info, std::span<const ReportBlock> blocks);
  bool AddReceiverReport(uint32_t ssrc, std::span<const ReportBlock> blocks);
  bool AddSdesCname(uint32_t ssrc, std::string_view cname);  // 1-255 bytes.
  bool AddPli(uint32_t sender_ssrc, uint32_t media_ssrc);
  // RFC 5104 4.3.1: the request is identified by `seq_nr`: a new one increments it, a
  // repetition of the same request keeps it.
  bool AddFir(uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq_nr);
  // Packs `seqs` into PID+BLP entries; ascending order (modulo 2^16) packs best.
  bool AddGenericNack(uint32_t sender_ssrc, uint32_t media_ssrc, std::span<const uint16_t> seqs);
  bool AddBye(std::span<const uint32_t> ssrcs, std::string_view reason = {});  // <= 31 SSRCs.

  size_t size() const { return size_; }
  std::span<const uint8_t> data() const { return out_.first(size_); }

 private:
  // Room for a packet of `len` bytes (a multiple of 4) with its header written, or nullptr.
  uint8_t* Begin(size_t len, uint8_t count, uint8_t type);

  std::span<uint8_t> out_;
  size_t size_ = 0;
};

}  // namespace webrtc2sip::media
