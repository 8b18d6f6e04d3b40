#pragma once

// Reading RTCP (RFC 3550, feedback RFC 4585/5104, REMB): a compound packet is walked packet by
// packet with RtcpReader, and each packet is parsed into a small struct of views into the
// caller's bytes. Nothing allocates; malformed input gives nullopt or false, never a crash.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace webrtc2sip::media {

inline constexpr uint8_t kRtcpSr = 200;
inline constexpr uint8_t kRtcpRr = 201;
inline constexpr uint8_t kRtcpSdes = 202;
inline constexpr uint8_t kRtcpBye = 203;
inline constexpr uint8_t kRtcpApp = 204;
inline constexpr uint8_t kRtcpRtpfb = 205;  // Transport-layer feedback.
inline constexpr uint8_t kRtcpPsfb = 206;   // Payload-specific feedback.
inline constexpr uint8_t kRtcpXr = 207;

inline constexpr uint8_t kRtpfbNack = 1;
inline constexpr uint8_t kRtpfbTransportCc = 15;
inline constexpr uint8_t kPsfbPli = 1;
inline constexpr uint8_t kPsfbFir = 4;
inline constexpr uint8_t kPsfbApplication = 15;  // REMB lives here.

inline constexpr uint8_t kSdesCname = 1;

// One packet of a compound RTCP packet.
struct RtcpBlock {
  uint8_t type = 0;                 // Packet type, 200 (SR) and up.
  uint8_t count = 0;                // The 5-bit RC, SC or FMT field.
  std::span<const uint8_t> packet;  // The whole packet, header and padding included.
  std::span<const uint8_t> body;    // After the 4-byte header, without padding.
};

// Walks the packets of a compound (or reduced-size, RFC 5506) RTCP packet.
class RtcpReader {
 public:
  explicit RtcpReader(std::span<const uint8_t> compound) : rest_(compound) {}
  // The next packet; false at the end or at the first malformed one (then error()).
  bool Next(RtcpBlock* block);
  bool error() const { return error_; }

 private:
  std::span<const uint8_t> rest_;
  bool error_ = false;
};

// Every packet has version 2 and a length within the datagram, and they fill it exactly.
bool IsValidRtcp(std::span<const uint8_t> compound);
// A valid packet that does not begin with SR or RR: reduced-size (RFC 5506).
bool IsReducedSizeRtcp(std::span<const uint8_t> compound);

// What a packet is, from its type and FMT (and, for REMB, its FCI tag).
enum class RtcpKind {
  kSenderReport,
  kReceiverReport,
  kSdes,
  kBye,
  kApp,
  kXr,
  kGenericNack,
  kTransportCc,
  kPli,
  kFir,
  kRemb,
  kOtherFeedback,
  kUnknown,
};
RtcpKind KindOf(const RtcpBlock& block);

struct ReportBlock {
  uint32_t ssrc = 0;  // The source reported on.
  uint8_t fraction_lost = 0;
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire.
  uint32_t extended_highest_seq = 0;
  uint32_t jitter = 0;  // In RTP timestamp units.
  uint32_t last_sr = 0;
  uint32_t delay_since_last_sr = 0;  // 1/65536 s.
};
inline constexpr size_t kReportBlockLength = 24;

// The report blocks of an SR or RR, read on demand.
struct ReportBlocks {
  std::span<const uint8_t> raw;  // size() * kReportBlockLength bytes.
  size_t size() const { return raw.size() / kReportBlockLength; }
  ReportBlock operator[](size_t index) const;
};

struct SenderInfo {
  uint64_t ntp_time = 0;  // 32.32 fixed point.
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;  // Payload octets.
};

struct SenderReport {
  uint32_t sender_ssrc = 0;
  SenderInfo info;
  ReportBlocks blocks;
};

struct ReceiverReport {
  uint32_t sender_ssrc = 0;
  ReportBlocks blocks;
};

std::optional<SenderReport> ParseSenderReport(const RtcpBlock& block);
std::optional<ReceiverReport> ParseReceiverReport(const RtcpBlock& block);

struct SdesItem {
  uint32_t ssrc = 0;  // Of the chunk the item is in.
  uint8_t type = 0;   // kSdesCname, ...
  std::string_view value;
};

// Walks the items of every chunk of an SDES packet.
class SdesReader {
 public:
  explicit SdesReader(const RtcpBlock& block) : body_(block.body), chunks_left_(block.count) {}
  // The next item; false at the end or at malformed input (then error()).
  bool Next(SdesItem* item);
  bool error() const { return error_; }

 private:
  bool Fail() {
    error_ = true;
    return false;
  }

  std::span<const uint8_t> body_;
  size_t at_ = 0;
  size_t chunks_left_;
  bool in_chunk_ = false;
  uint32_t ssrc_ = 0;
  bool error_ = false;
};

// The CNAME an SDES packet gives `ssrc`.
std::optional<std::string_view> FindSdesCname(const RtcpBlock& block, uint32_t ssrc);

struct Bye {
  std::span<const uint8_t> raw_ssrcs;  // 4 bytes each.
  std::string_view reason;
  size_t ssrc_count() const { return raw_ssrcs.size() / 4; }
  uint32_t ssrc(size_t index) const;
};
std::optional<Bye> ParseBye(const RtcpBlock& block);

// The common part of an RTPFB or PSFB packet (RFC 4585 6.1).
struct Feedback {
  uint8_t type = 0;  // kRtcpRtpfb or kRtcpPsfb.
  uint8_t fmt = 0;
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;  // 0 in FIR: its targets are in the FCI.
  std::span<const uint8_t> fci;
};
std::optional<Feedback> ParseFeedback(const RtcpBlock& block);

// FIR (RFC 5104 4.3.1): one 8-byte FCI entry per target.
struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t seq_nr = 0;
};
inline size_t FirEntryCount(const Feedback& fir) {
  return fir.fci.size() / 8;
}
FirEntry FirEntryAt(const Feedback& fir, size_t index);

// REMB (draft-alvestrand-rmcat-remb): "REMB", the SSRC count, a 6-bit exponent and an 18-bit
// mantissa, then the SSRCs.
struct Remb {
  uint64_t bitrate_bps = 0;
  std::span<const uint8_t> raw_ssrcs;
  size_t ssrc_count() const { return raw_ssrcs.size() / 4; }
};
std::optional<Remb> ParseRemb(const Feedback& feedback);

// Generic NACK: see ParseGenericNack() in relay/nack_cache.h for the FCI.

// Makes a compound packet look sent by `sender_ssrc` about `media_ssrc`, in place, to forward
// it: the sender SSRC of every packet (SDES chunks and BYE included), the media source SSRC of
// feedback (FIR: of each FCI entry) and the SSRC of report blocks. False, with nothing changed,
// when the compound is not valid.
bool RewriteRtcpSsrcs(std::span<uint8_t> compound, uint32_t sender_ssrc, uint32_t media_ssrc);

}  // namespace webrtc2sip::media
