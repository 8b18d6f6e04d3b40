#include "services/media-relay/rtp/rtcp_packet.h"

#include <cstring>

#include "services/media-relay/rtp/byte_io.h"

namespace webrtc2sip::media {

using byte_io::Read16;
using byte_io::Read24;
using byte_io::Read32;
using byte_io::Write32;

bool RtcpReader::Next(RtcpBlock* block) {
  if (rest_.empty() || error_) return false;
  if (rest_.size() < 4 || (rest_[0] >> 6) != 2) {
    error_ = true;
    return false;
  }
  const size_t len = (static_cast<size_t>(Read16(rest_.data() + 2)) + 1) * 4;
  if (len > rest_.size()) {
    error_ = true;
    return false;
  }
  size_t padding = 0;
  if ((rest_[0] & 0x20) != 0) {
    padding = rest_[len - 1];  // Counts itself.
    if (padding == 0 || padding > len - 4) {
      error_ = true;
      return false;
    }
  }
  block->type = rest_[1];
  block->count = rest_[0] & 0x1f;
  block->packet = rest_.first(len);
  block->body = rest_.subspan(4, len - 4 - padding);
  rest_ = rest_.subspan(len);
  return true;
}

bool IsValidRtcp(std::span<const uint8_t> compound) {
  if (compound.empty()) return false;
  RtcpReader reader(compound);
  RtcpBlock block;
  while (reader.Next(&block)) {
  }
  return !reader.error();
}

bool IsReducedSizeRtcp(std::span<const uint8_t> compound) {
  return IsValidRtcp(compound) && compound[1] != kRtcpSr && compound[1] != kRtcpRr;
}

RtcpKind KindOf(const RtcpBlock& block) {
  switch (block.type) {
    case kRtcpSr:
      return RtcpKind::kSenderReport;
    case kRtcpRr:
      return RtcpKind::kReceiverReport;
    case kRtcpSdes:
      return RtcpKind::kSdes;
    case kRtcpBye:
      return RtcpKind::kBye;
    case kRtcpApp:
      return RtcpKind::kApp;
    case kRtcpXr:
      return RtcpKind::kXr;
    case kRtcpRtpfb:
      if (block.count == kRtpfbNack) return RtcpKind::kGenericNack;
      if (block.count == kRtpfbTransportCc) return RtcpKind::kTransportCc;
      return RtcpKind::kOtherFeedback;
    case kRtcpPsfb:
      if (block.count == kPsfbPli) return RtcpKind::kPli;
      if (block.count == kPsfbFir) return RtcpKind::kFir;
      if (block.count == kPsfbApplication && block.body.size() >= 12 &&
          std::memcmp(block.body.data() + 8, "REMB", 4) == 0) {
        return RtcpKind::kRemb;
      }
      return RtcpKind::kOtherFeedback;
    default:
      return RtcpKind::kUnknown;
  }
}

ReportBlock ReportBlocks::operator[](size_t index) const {
  const uint8_t* p = raw.data() + index * kReportBlockLength;
  ReportBlock b;
  b.ssrc = Read32(p);
  b.fraction_lost = p[4];
  const uint32_t lost = Read24(p + 5);
  b.cumulative_lost =
      (lost & 0x800000) != 0 ? static_cast<int32_t>(lost) - 0x1000000 : static_cast<int32_t>(lost);
  b.extended_highest_seq = Read32(p + 8);
  b.jitter = Read32(p + 12);
  b.last_sr = Read32(p + 16);
  b.delay_since_last_sr = Read32(p + 20);
  return b;
}

std::optional<SenderReport> ParseSenderReport(const RtcpBlock& block) {
  const size_t blocks = block.count * kReportBlockLength;
  if (block.type != kRtcpSr || block.body.size() < 24 + blocks) return std::nullopt;
  const uint8_t* p = block.body.data();
  SenderReport sr;
  sr.sender_ssrc = Read32(p);
  sr.info.ntp_time = byte_io::Read64(p + 4);
  sr.info.rtp_timestamp = Read32(p + 12);
  sr.info.packet_count = Read32(p + 16);
  sr.info.octet_count = Read32(p + 20);
  sr.blocks.raw = block.body.subspan(24, blocks);
  return sr;
}

std::optional<ReceiverReport> ParseReceiverReport(const RtcpBlock& block) {
  const size_t blocks = block.count * kReportBlockLength;
  if (block.type != kRtcpRr || block.body.size() < 4 + blocks) return std::nullopt;
  ReceiverReport rr;
  rr.sender_ssrc = Read32(block.body.data());
  rr.blocks.raw = block.body.subspan(4, blocks);
  return rr;
}

bool SdesReader::Next(SdesItem* item) {
  while (true) {
    if (!in_chunk_) {
      if (chunks_left_ == 0) return false;
      if (at_ + 4 > body_.size()) return Fail();
      ssrc_ = Read32(body_.data() + at_);
      at_ += 4;
      --chunks_left_;
      in_chunk_ = true;
    }
    if (at_ >= body_.size()) return Fail();
    if (body_[at_] == 0) {
      // End of the chunk: null octets up to the next 32-bit boundary.
      at_ = (at_ + 4) & ~size_t{3};
      if (at_ > body_.size()) return Fail();
      in_chunk_ = false;
      continue;
    }
    if (at_ + 2 > body_.size()) return Fail();
    const size_t len = body_[at_ + 1];
    if (at_ + 2 + len > body_.size()) return Fail();
    item->ssrc = ssrc_;
    item->type = body_[at_];
    item->value = {reinterpret_cast<const char*>(body_.data() + at_ + 2), len};
    at_ += 2 + len;
    return true;
  }
}

std::optional<std::string_view> FindSdesCname(const RtcpBlock& block, uint32_t ssrc) {
  if (block.type != kRtcpSdes) return std::nullopt;
  SdesReader reader(block);
  SdesItem item;
  while (reader.Next(&item)) {
    if (item.ssrc == ssrc && item.type == kSdesCname) return item.value;
  }
  return std::nullopt;
}

uint32_t Bye::ssrc(size_t index) const {
  return Read32(raw_ssrcs.data() + 4 * index);
}

std::optional<Bye> ParseBye(const RtcpBlock& block) {
  const size_t ssrcs = 4 * static_cast<size_t>(block.count);
  if (block.type != kRtcpBye || block.body.size() < ssrcs) return std::nullopt;
  Bye bye;
  bye.raw_ssrcs = block.body.first(ssrcs);
  if (block.body.size() > ssrcs) {
    const size_t len = block.body[ssrcs];
    if (ssrcs + 1 + len > block.body.size()) return std::nullopt;
    bye.reason = {reinterpret_cast<const char*>(block.body.data() + ssrcs + 1), len};
  }
  return bye;
}

std::optional<Feedback> ParseFeedback(const RtcpBlock& block) {
  if ((block.type != kRtcpRtpfb && block.type != kRtcpPsfb) || block.body.size() < 8) {
    return std::nullopt;
  }
  Feedback fb;
  fb.type = block.type;
  fb.fmt = block.count;
  fb.sender_ssrc = Read32(block.body.data());
  fb.media_ssrc = Read32(block.body.data() + 4);
  fb.fci = block.body.subspan(8);
  return fb;
}

FirEntry FirEntryAt(const Feedback& fir, size_t index) {
  const uint8_t* p = fir.fci.data() + 8 * index;
  return {Read32(p), p[4]};
}

std::optional<Remb> ParseRemb(const Feedback& feedback) {
  const auto fci = feedback.fci;
  if (feedback.type != kRtcpPsfb || feedback.fmt != kPsfbApplication || fci.size() < 8 ||
      std::memcmp(fci.data(), "REMB", 4) != 0) {
    return std::nullopt;
  }
  const size_t ssrcs = 4 * static_cast<size_t>(fci[4]);
  if (fci.size() < 8 + ssrcs) return std::nullopt;
  const unsigned exponent = fci[5] >> 2;
  const uint64_t mantissa = static_cast<uint64_t>(fci[5] & 0x03) << 16 | Read16(fci.data() + 6);
  Remb remb;
  // An 18-bit mantissa shifted by up to 63 would overflow: saturate.
  remb.bitrate_bps = exponent > 46 ? UINT64_MAX : mantissa << exponent;
  remb.raw_ssrcs = fci.subspan(8, ssrcs);
  return remb;
}

namespace {

void RewriteSdes(uint8_t* body, size_t size, size_t chunks, uint32_t ssrc) {
  size_t at = 0;
  for (; chunks > 0 && at + 4 <= size; --chunks) {
    Write32(body + at, ssrc);
    at += 4;
    while (at < size && body[at] != 0) at += 2 + (at + 1 < size ? body[at + 1] : 0);
    at = (at + 4) & ~size_t{3};
  }
}

}  // namespace

bool RewriteRtcpSsrcs(std::span<uint8_t> compound, uint32_t sender_ssrc, uint32_t media_ssrc) {
  if (!IsValidRtcp(compound)) return false;
  RtcpReader reader(compound);
  RtcpBlock block;
  while (reader.Next(&block)) {
    // Valid, hence inside `compound`: the same bytes, writable.
    uint8_t* body = compound.data() + (block.body.data() - compound.data());
    const size_t size = block.body.size();
    switch (KindOf(block)) {
      case RtcpKind::kSenderReport:
        if (auto sr = ParseSenderReport(block)) {
          Write32(body, sender_ssrc);
          for (size_t i = 0; i < sr->blocks.size(); ++i) Write32(body + 24 + 24 * i, media_ssrc);
        }
        break;
      case RtcpKind::kReceiverReport:
        if (auto rr = ParseReceiverReport(block)) {
          Write32(body, sender_ssrc);
          for (size_t i = 0; i < rr->blocks.size(); ++i) Write32(body + 4 + 24 * i, media_ssrc);
        }
        break;
      case RtcpKind::kSdes:
        RewriteSdes(body, size, block.count, sender_ssrc);
        break;
      case RtcpKind::kBye:
        for (size_t i = 0; i < block.count && 4 * i + 4 <= size; ++i) {
          Write32(body + 4 * i, sender_ssrc);
        }
        break;
      case RtcpKind::kFir:
        if (size >= 8) Write32(body, sender_ssrc);
        for (size_t at = 8; at + 8 <= size; at += 8) Write32(body + at, media_ssrc);
        break;
      case RtcpKind::kRemb:
        if (auto fb = ParseFeedback(block)) {
          Write32(body, sender_ssrc);
          if (auto remb = ParseRemb(*fb)) {
            for (size_t i = 0; i < remb->ssrc_count(); ++i) Write32(body + 16 + 4 * i, media_ssrc);
          }
        }
        break;
      case RtcpKind::kGenericNack:
      case RtcpKind::kTransportCc:
      case RtcpKind::kPli:
      case RtcpKind::kOtherFeedback:
        if (size >= 8) {
          Write32(body, sender_ssrc);
          Write32(body + 4, media_ssrc);
        }
        break;
      case RtcpKind::kApp:
      case RtcpKind::kXr:
        if (size >= 4) Write32(body, sender_ssrc);
        break;
      case RtcpKind::kUnknown:
        break;
    }
  }
  return true;
}

}  // namespace webrtc2sip::media
