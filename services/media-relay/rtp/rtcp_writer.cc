#include "services/media-relay/rtp/rtcp_writer.h"

#include <cstring>

#include "services/media-relay/rtp/byte_io.h"

namespace webrtc2sip::media {

using byte_io::Write16;
using byte_io::Write32;

namespace {

void WriteReportBlock(uint8_t* p, const ReportBlock& block) {
  Write32(p, block.ssrc);
  p[4] = block.fraction_lost;
  // 24-bit two's complement, clamped (RFC 3550 6.4.1).
  const int32_t lost = block.cumulative_lost > 0x7fffff    ? 0x7fffff
                       : block.cumulative_lost < -0x800000 ? -0x800000
                                                           : block.cumulative_lost;
  byte_io::Write24(p + 5, static_cast<uint32_t>(lost) & 0xffffff);
  Write32(p + 8, block.extended_highest_seq);
  Write32(p + 12, block.jitter);
  Write32(p + 16, block.last_sr);
  Write32(p + 20, block.delay_since_last_sr);
}

// One PID+BLP entry after another; returns how many, writing them when `out` is not null.
size_t PackNack(std::span<const uint16_t> seqs, uint8_t* out) {
  size_t entries = 0;
  uint16_t pid = 0;
  uint16_t blp = 0;
  for (const uint16_t seq : seqs) {
    const auto distance = static_cast<uint16_t>(seq - pid);
    if (entries > 0 && distance == 0) continue;
    if (entries > 0 && distance <= 16) {
      blp = static_cast<uint16_t>(blp | 1u << (distance - 1));
      if (out != nullptr) Write16(out + 4 * (entries - 1) + 2, blp);
      continue;
    }
    pid = seq;
    blp = 0;
    if (out != nullptr) {
      Write16(out + 4 * entries, pid);
      Write16(out + 4 * entries + 2, 0);
    }
    ++entries;
  }
  return entries;
}

}  // namespace

uint8_t* RtcpWriter::Begin(size_t len, uint8_t count, uint8_t type) {
  if (len > out_.size() - size_ || len / 4 - 1 > 0xffff) return nullptr;
  uint8_t* p = out_.data() + size_;
  p[0] = static_cast<uint8_t>(0x80 | count);
  p[1] = type;
  Write16(p + 2, static_cast<uint16_t>(len / 4 - 1));
  size_ += len;
  return p;
}

bool RtcpWriter::AddSenderReport(uint32_t ssrc, const SenderInfo& info,
                                 std::span<const ReportBlock> blocks) {
  if (blocks.size() > kMaxReportBlocks) return false;
  uint8_t* p =
      Begin(28 + kReportBlockLength * blocks.size(), static_cast<uint8_t>(blocks.size()), kRtcpSr);
  if (p == nullptr) return false;
  Write32(p + 4, ssrc);
  byte_io::Write64(p + 8, info.ntp_time);
  Write32(p + 16, info.rtp_timestamp);
  Write32(p + 20, info.packet_count);
  Write32(p + 24, info.octet_count);
  for (size_t i = 0; i < blocks.size(); ++i) {
    WriteReportBlock(p + 28 + kReportBlockLength * i, blocks[i]);
  }
  return true;
}

bool RtcpWriter::AddReceiverReport(uint32_t ssrc, std::span<const ReportBlock> blocks) {
  if (blocks.size() > kMaxReportBlocks) return false;
  uint8_t* p =
      Begin(8 + kReportBlockLength * blocks.size(), static_cast<uint8_t>(blocks.size()), kRtcpRr);
  if (p == nullptr) return false;
  Write32(p + 4, ssrc);
  for (size_t i = 0; i < blocks.size(); ++i) {
    WriteReportBlock(p + 8 + kReportBlockLength * i, blocks[i]);
  }
  return true;
}

bool RtcpWriter::AddSdesCname(uint32_t ssrc, std::string_view cname) {
  if (cname.empty() || cname.size() > 255) return false;
  // SSRC, type, length, text, then 1-4 null octets up to a 32-bit boundary.
  const size_t chunk = (4 + 2 + cname.size() + 1 + 3) & ~size_t{3};
  uint8_t* p = Begin(4 + chunk, 1, kRtcpSdes);
  if (p == nullptr) return false;
  Write32(p + 4, ssrc);
  p[8] = kSdesCname;
  p[9] = static_cast<uint8_t>(cname.size());
  std::memcpy(p + 10, cname.data(), cname.size());
  std::memset(p + 10 + cname.size(), 0, chunk - 6 - cname.size());
  return true;
}

bool RtcpWriter::AddPli(uint32_t sender_ssrc, uint32_t media_ssrc) {
  uint8_t* p = Begin(12, kPsfbPli, kRtcpPsfb);
  if (p == nullptr) return false;
  Write32(p + 4, sender_ssrc);
  Write32(p + 8, media_ssrc);
  return true;
}

bool RtcpWriter::AddFir(uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq_nr) {
  uint8_t* p = Begin(20, kPsfbFir, kRtcpPsfb);
  if (p == nullptr) return false;
  Write32(p + 4, sender_ssrc);
  Write32(p + 8, 0);  // RFC 5104 4.3.1.2: the media source SSRC field is not used.
  Write32(p + 12, media_ssrc);
  p[16] = seq_nr;
  p[17] = p[18] = p[19] = 0;
  return true;
}

bool RtcpWriter::AddGenericNack(uint32_t sender_ssrc, uint32_t media_ssrc,
                                std::span<const uint16_t> seqs) {
  const size_t entries = PackNack(seqs, nullptr);
  if (entries == 0) return false;
  uint8_t* p = Begin(12 + 4 * entries, kRtpfbNack, kRtcpRtpfb);
  if (p == nullptr) return false;
  Write32(p + 4, sender_ssrc);
  Write32(p + 8, media_ssrc);
  PackNack(seqs, p + 12);
  return true;
}

bool RtcpWriter::AddBye(std::span<const uint32_t> ssrcs, std::string_view reason) {
  if (ssrcs.size() > 31 || reason.size() > 255) return false;
  const size_t reason_len = reason.empty() ? 0 : (1 + reason.size() + 3) & ~size_t{3};
  uint8_t* p =
      Begin(4 + 4 * ssrcs.size() + reason_len, static_cast<uint8_t>(ssrcs.size()), kRtcpBye);
  if (p == nullptr) return false;
  for (size_t i = 0; i < ssrcs.size(); ++i) Write32(p + 4 + 4 * i, ssrcs[i]);
  if (!reason.empty()) {
    uint8_t* r = p + 4 + 4 * ssrcs.size();
    r[0] = static_cast<uint8_t>(reason.size());
    std::memcpy(r + 1, reason.data(), reason.size());
    std::memset(r + 1 + reason.size(), 0, reason_len - 1 - reason.size());
  }
  return true;
}

}  // namespace webrtc2sip::media
