// SrtpSession across implementations: what libsrtp2 protects, EvpSrtpSession unprotects and
// the reverse, for every profile, RTP and RTCP.

#include "services/media-relay/srtp/srtp_session.h"

#include <gtest/gtest.h>

#include <deque>
#include <tuple>

#include "services/media-relay/srtp/evp_srtp_session.h"
#include "tests/unit/media-relay/test_packets.h"

namespace webrtc2sip::media {
namespace {

using testing::MakeRtcp;
using testing::MakeRtp;
using testing::Packet;

SrtpMasterKey TestKey(SrtpProfile profile, uint8_t seed = 1) {
  SrtpMasterKey key;
  for (size_t i = 0; i < SrtpMasterKeyLength(profile); ++i) {
    key.key.push_back(static_cast<uint8_t>(size_t{seed} * 31 + i));
  }
  for (size_t i = 0; i < SrtpMasterSaltLength(profile); ++i) {
    key.salt.push_back(static_cast<uint8_t>(size_t{seed} * 17 + 3 * i));
  }
  return key;
}

const char* ImplName(SrtpImpl impl) {
  return impl == SrtpImpl::kEvp ? "Evp" : "LibSrtp";
}

using CrossParam = std::tuple<SrtpProfile, SrtpImpl, SrtpImpl>;  // Profile, sender, receiver.

class SrtpCrossTest : public ::testing::TestWithParam<CrossParam> {
 protected:
  void SetUp() override {
    const auto [profile, sender, receiver] = GetParam();
    tx_ = CreateSrtpSession(sender, SrtpDirection::kOutbound, profile, TestKey(profile));
    rx_ = CreateSrtpSession(receiver, SrtpDirection::kInbound, profile, TestKey(profile));
    ASSERT_NE(tx_, nullptr);
    ASSERT_NE(rx_, nullptr);
  }

  Packet ProtectRtp(const Packet& plain) {
    Packet p = plain;
    EXPECT_EQ(tx_->ProtectRtp(p.buf(), &p.len, p.data.size()), SrtpResult::kOk);
    EXPECT_EQ(p.len, plain.len + SrtpRtpOverhead(tx_->profile()));
    return p;
  }
  Packet ProtectRtcp(const Packet& plain) {
    Packet p = plain;
    EXPECT_EQ(tx_->ProtectRtcp(p.buf(), &p.len, p.data.size()), SrtpResult::kOk);
    EXPECT_EQ(p.len, plain.len + SrtpRtcpOverhead(tx_->profile()));
    return p;
  }
  // Unprotects a copy; on kOk checks it matches `plain`.
  SrtpResult UnprotectRtp(const Packet& protected_packet, const Packet& plain) {
    Packet p = protected_packet;
    const SrtpResult result = rx_->UnprotectRtp(p.buf(), &p.len);
    if (result == SrtpResult::kOk) {
      EXPECT_EQ(p.bytes(), plain.bytes());
    }
    return result;
  }
  SrtpResult UnprotectRtcp(const Packet& protected_packet, const Packet& plain) {
    Packet p = protected_packet;
    const SrtpResult result = rx_->UnprotectRtcp(p.buf(), &p.len);
    if (result == SrtpResult::kOk) {
      EXPECT_EQ(p.bytes(), plain.bytes());
    }
    return result;
  }

  std::unique_ptr<SrtpSession> tx_;
  std::unique_ptr<SrtpSession> rx_;
};

TEST_P(SrtpCrossTest, RtpOfSeveralSsrcsRoundTrips) {
  // BUNDLE: audio, video and video RTX in one session, interleaved.
  const uint32_t ssrcs[] = {0x11111111, 0x22222222, 0xcafebabe};
  const uint16_t first_seq[] = {1, 30000, 65400};
  for (uint16_t i = 0; i < 200; ++i) {
    for (int s = 0; s < 3; ++s) {
      const Packet plain = MakeRtp(ssrcs[s], static_cast<uint16_t>(first_seq[s] + i), 40 + i);
      const Packet sealed = ProtectRtp(plain);
      // The header stays in the clear, the payload does not.
      EXPECT_TRUE(std::equal(plain.data.begin(), plain.data.begin() + 12, sealed.data.begin()));
      EXPECT_FALSE(std::equal(plain.data.begin() + 12, plain.data.begin() + plain.len,
                              sealed.data.begin() + 12));
      ASSERT_EQ(UnprotectRtp(sealed, plain), SrtpResult::kOk) << "ssrc " << s << " i " << i;
    }
  }
}

TEST_P(SrtpCrossTest, RtpWithCsrcsAndExtensionRoundTrips) {
  Packet plain = MakeRtp(0x01020304, 77, 100);
  // Two CSRCs and a one-byte-header extension of one word, inserted before the payload.
  Packet p;
  const uint8_t header[] = {0x92, 111,  0,    77,   0,    1,    0x2c, 0x40,
                            1,    2,    3,    4,                             // X=1, CC=2
                            0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb,  // CSRCs
                            0xbe, 0xde, 0,    1,    0x10, 0x42, 0,    0};    // extension
  std::copy(std::begin(header), std::end(header), p.data.begin());
  std::copy(plain.data.begin() + 12, plain.data.begin() + plain.len,
            p.data.begin() + sizeof(header));
  p.len = sizeof(header) + plain.len - 12;
  const Packet sealed = ProtectRtp(p);
  EXPECT_TRUE(std::equal(std::begin(header), std::end(header), sealed.data.begin()));
  EXPECT_EQ(UnprotectRtp(sealed, p), SrtpResult::kOk);
}

TEST_P(SrtpCrossTest, SequenceWrapIncrementsRoc) {
  // 65530 .. 65535, 0 .. 9: the receiver must guess ROC 1 after the wrap. Packet 65535 is
  // held back and arrives after 3, so it needs ROC 0 again (RFC 3711 Appendix A).
  std::vector<std::pair<Packet, Packet>> packets;  // Plain, protected.
  for (uint32_t n = 65530; n < 65536 + 10; ++n) {
    const Packet plain = MakeRtp(0xabcdef01, static_cast<uint16_t>(n));
    packets.emplace_back(plain, ProtectRtp(plain));
  }
  const size_t held = 5;  // Sequence number 65535.
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i == held) continue;
    ASSERT_EQ(UnprotectRtp(packets[i].second, packets[i].first), SrtpResult::kOk) << i;
    if (i == 9) {  // Sequence number 3.
      EXPECT_EQ(UnprotectRtp(packets[held].second, packets[held].first), SrtpResult::kOk);
    }
  }
  // Replays on both sides of the wrap are refused.
  EXPECT_EQ(UnprotectRtp(packets[held].second, packets[held].first), SrtpResult::kReplay);
  EXPECT_EQ(UnprotectRtp(packets[12].second, packets[12].first), SrtpResult::kReplay);
}

TEST_P(SrtpCrossTest, ReplayedAndTooOldRtpIsRefused) {
  std::vector<std::pair<Packet, Packet>> packets;
  for (uint16_t seq = 1000; seq < 1300; ++seq) {
    const Packet plain = MakeRtp(0x5555, seq);
    packets.emplace_back(plain, ProtectRtp(plain));
  }
  // Deliver all but the first; it is then far outside any window.
  for (size_t i = 1; i < packets.size(); ++i) {
    ASSERT_EQ(UnprotectRtp(packets[i].second, packets[i].first), SrtpResult::kOk);
  }
  EXPECT_EQ(UnprotectRtp(packets.back().second, packets.back().first), SrtpResult::kReplay);
  EXPECT_EQ(UnprotectRtp(packets[250].second, packets[250].first), SrtpResult::kReplay);
  EXPECT_EQ(UnprotectRtp(packets[0].second, packets[0].first), SrtpResult::kReplay);
}

TEST_P(SrtpCrossTest, ReorderedRtpWithinWindowIsAccepted) {
  std::vector<std::pair<Packet, Packet>> packets;
  for (uint16_t seq = 0; seq < 50; ++seq) {
    const Packet plain = MakeRtp(0x7777, seq);
    packets.emplace_back(plain, ProtectRtp(plain));
  }
  for (size_t i = 0; i < packets.size(); i += 2) {
    ASSERT_EQ(UnprotectRtp(packets[i].second, packets[i].first), SrtpResult::kOk);
  }
  for (size_t i = 1; i < packets.size(); i += 2) {
    ASSERT_EQ(UnprotectRtp(packets[i].second, packets[i].first), SrtpResult::kOk);
  }
}

TEST_P(SrtpCrossTest, TamperedRtpIsRefusedAndDoesNotPoisonTheWindow) {
  const Packet plain = MakeRtp(0x1234, 500, 120);
  const Packet sealed = ProtectRtp(plain);
  for (size_t at : {size_t{3}, size_t{20}, sealed.len - 1}) {  // Header, payload, tag.
    Packet bad = sealed;
    bad.data[at] ^= 0x01;
    EXPECT_EQ(UnprotectRtp(bad, plain), SrtpResult::kAuthFail) << "byte " << at;
  }
  EXPECT_EQ(UnprotectRtp(sealed, plain), SrtpResult::kOk);
}

TEST_P(SrtpCrossTest, TruncatedRtpIsRefusedWithoutCrashing) {
  const Packet plain = MakeRtp(0x1234, 9, 60);
  const Packet sealed = ProtectRtp(plain);
  for (size_t len = 0; len < sealed.len; ++len) {
    Packet cut = sealed;
    cut.len = len;
    EXPECT_NE(UnprotectRtp(cut, plain), SrtpResult::kOk) << len;
  }
  EXPECT_EQ(UnprotectRtp(sealed, plain), SrtpResult::kOk);
}

TEST_P(SrtpCrossTest, RtcpOfSeveralSsrcsRoundTrips) {
  for (int i = 0; i < 50; ++i) {
    for (uint32_t ssrc : {0x11111111u, 0x22222222u, 0x00000001u}) {
      const Packet plain = MakeRtcp(ssrc, static_cast<uint8_t>(i));
      const Packet sealed = ProtectRtcp(plain);
      EXPECT_TRUE(std::equal(plain.data.begin(), plain.data.begin() + 8, sealed.data.begin()));
      ASSERT_EQ(UnprotectRtcp(sealed, plain), SrtpResult::kOk) << i;
    }
  }
}

TEST_P(SrtpCrossTest, ReplayedTamperedAndTruncatedRtcpIsRefused) {
  const Packet plain = MakeRtcp(0x4242);
  const Packet first = ProtectRtcp(plain);
  const Packet second = ProtectRtcp(plain);
  for (size_t at : {size_t{1}, size_t{12}, first.len - 1}) {
    Packet bad = first;
    bad.data[at] ^= 0x80;
    EXPECT_EQ(UnprotectRtcp(bad, plain), SrtpResult::kAuthFail) << "byte " << at;
  }
  for (size_t len = 0; len < first.len; ++len) {
    Packet cut = first;
    cut.len = len;
    EXPECT_NE(UnprotectRtcp(cut, plain), SrtpResult::kOk) << len;
  }
  EXPECT_EQ(UnprotectRtcp(second, plain), SrtpResult::kOk);
  EXPECT_EQ(UnprotectRtcp(first, plain), SrtpResult::kOk);  // Older but inside the window.
  EXPECT_EQ(UnprotectRtcp(first, plain), SrtpResult::kReplay);
  EXPECT_EQ(UnprotectRtcp(second, plain), SrtpResult::kReplay);
}

TEST_P(SrtpCrossTest, GarbageIsRefused) {
  Packet junk;
  for (size_t i = 0; i < 100; ++i) junk.data[i] = static_cast<uint8_t>(i * 13);
  junk.len = 100;
  Packet copy = junk;
  EXPECT_NE(rx_->UnprotectRtp(copy.buf(), &copy.len), SrtpResult::kOk);
  copy = junk;
  EXPECT_NE(rx_->UnprotectRtcp(copy.buf(), &copy.len), SrtpResult::kOk);
  junk.data[0] = 0x80;  // Looks like version 2 now.
  copy = junk;
  EXPECT_EQ(rx_->UnprotectRtp(copy.buf(), &copy.len), SrtpResult::kAuthFail);
  copy = junk;
  // libsrtp refuses an SRTCP packet whose E bit is clear before it checks the tag.
  EXPECT_NE(rx_->UnprotectRtcp(copy.buf(), &copy.len), SrtpResult::kOk);
  junk.data[86] |= 0x80;  // E bit set.
  copy = junk;
  EXPECT_EQ(rx_->UnprotectRtcp(copy.buf(), &copy.len), SrtpResult::kAuthFail);
}

std::string CrossName(const ::testing::TestParamInfo<CrossParam>& p) {
  std::string name(SrtpProfileSdesName(std::get<0>(p.param)));
  return name + "_" + ImplName(std::get<1>(p.param)) + "_to_" + ImplName(std::get<2>(p.param));
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, SrtpCrossTest,
                         ::testing::Combine(::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                                              SrtpProfile::kAes128CmSha1_32,
                                                              SrtpProfile::kAeadAes128Gcm,
                                                              SrtpProfile::kAeadAes256Gcm),
                                            ::testing::Values(SrtpImpl::kLibSrtp, SrtpImpl::kEvp),
                                            ::testing::Values(SrtpImpl::kLibSrtp, SrtpImpl::kEvp)),
                         CrossName);

class SrtpSessionTest : public ::testing::TestWithParam<SrtpImpl> {};

TEST_P(SrtpSessionTest, RefusesKeysOfTheWrongLength) {
  const SrtpMasterKey gcm_key = TestKey(SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(CreateSrtpSession(GetParam(), SrtpDirection::kInbound, SrtpProfile::kAes128CmSha1_80,
                              gcm_key),
            nullptr);
  EXPECT_EQ(
      CreateSrtpSession(GetParam(), SrtpDirection::kInbound, SrtpProfile::kAeadAes256Gcm, gcm_key),
      nullptr);
  EXPECT_NE(
      CreateSrtpSession(GetParam(), SrtpDirection::kInbound, SrtpProfile::kAeadAes128Gcm, gcm_key),
      nullptr);
}

TEST_P(SrtpSessionTest, RefusesTheWrongDirectionAndShortBuffers) {
  const SrtpProfile profile = SrtpProfile::kAes128CmSha1_80;
  auto tx = CreateSrtpSession(GetParam(), SrtpDirection::kOutbound, profile, TestKey(profile));
  auto rx = CreateSrtpSession(GetParam(), SrtpDirection::kInbound, profile, TestKey(profile));
  Packet p = MakeRtp(1, 1);
  EXPECT_EQ(rx->ProtectRtp(p.buf(), &p.len, p.data.size()), SrtpResult::kWrongDirection);
  EXPECT_EQ(tx->UnprotectRtp(p.buf(), &p.len), SrtpResult::kWrongDirection);
  EXPECT_EQ(rx->ProtectRtcp(p.buf(), &p.len, p.data.size()), SrtpResult::kWrongDirection);
  EXPECT_EQ(tx->UnprotectRtcp(p.buf(), &p.len), SrtpResult::kWrongDirection);
  const size_t len = p.len;
  EXPECT_EQ(tx->ProtectRtp(p.buf(), &p.len, len + 9), SrtpResult::kNoSpace);
  EXPECT_EQ(p.len, len);
  EXPECT_EQ(tx->ProtectRtp(p.buf(), &p.len, len + 10), SrtpResult::kOk);
  Packet rtcp = MakeRtcp(1);
  EXPECT_EQ(tx->ProtectRtcp(rtcp.buf(), &rtcp.len, rtcp.len + 13), SrtpResult::kNoSpace);
  EXPECT_EQ(tx->ProtectRtcp(rtcp.buf(), &rtcp.len, rtcp.len + 14), SrtpResult::kOk);
  Packet tiny = MakeRtp(1, 1);
  tiny.len = 11;
  EXPECT_EQ(tx->ProtectRtp(tiny.buf(), &tiny.len, tiny.data.size()), SrtpResult::kBadPacket);
}

INSTANTIATE_TEST_SUITE_P(Both, SrtpSessionTest,
                         ::testing::Values(SrtpImpl::kLibSrtp, SrtpImpl::kEvp),
                         [](const auto& p) { return std::string(ImplName(p.param)); });

// More SSRCs than the EVP session keeps: the least recently used stream gives way, and
// streams in use keep working.
TEST(EvpSrtpSessionTest, ManySsrcsEvictTheLeastRecentlyUsed) {
  const SrtpProfile profile = SrtpProfile::kAeadAes128Gcm;
  auto tx = EvpSrtpSession::Create(SrtpDirection::kOutbound, profile, TestKey(profile));
  auto rx = EvpSrtpSession::Create(SrtpDirection::kInbound, profile, TestKey(profile));
  for (uint16_t round = 0; round < 3; ++round) {
    for (uint32_t ssrc = 1; ssrc <= EvpSrtpSession::kMaxStreams + 10; ++ssrc) {
      Packet p = MakeRtp(ssrc, round);
      ASSERT_EQ(tx->ProtectRtp(p.buf(), &p.len, p.data.size()), SrtpResult::kOk);
      ASSERT_EQ(rx->UnprotectRtp(p.buf(), &p.len), SrtpResult::kOk);
    }
  }
}

}  // namespace
}  // namespace webrtc2sip::media
