// The SRTP packet path must not touch the heap: every operator new and every OpenSSL
// allocation is counted while packets flow through EvpSrtpSession. A binary of its own, as
// OpenSSL's allocator can only be replaced before its first allocation.

#include <openssl/crypto.h>

// The replaced operator new and delete pair malloc with free on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "services/media-relay/relay/nack_cache.h"
#include "services/media-relay/srtp/srtp_session.h"
#include "tests/unit/media-relay/test_packets.h"

namespace {

std::atomic<long> g_allocations{0};

void* CountedMalloc(size_t n, const char*, int) {
  ++g_allocations;
  return std::malloc(n);
}
void* CountedRealloc(void* p, size_t n, const char*, int) {
  ++g_allocations;
  return std::realloc(p, n);
}
void CountedFree(void* p, const char*, int) {
  std::free(p);
}

// Runs before main(), hence before OpenSSL's first allocation.
const bool g_openssl_counted =
    CRYPTO_set_mem_functions(CountedMalloc, CountedRealloc, CountedFree) == 1;

}  // namespace

void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace webrtc2sip::media {
namespace {

using testing::MakeRtcp;
using testing::MakeRtp;
using testing::Packet;

class SrtpAllocationTest : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpAllocationTest, EvpPacketPathDoesNotAllocate) {
  ASSERT_TRUE(g_openssl_counted);
  const SrtpProfile profile = GetParam();
  const SrtpMasterKey key{std::vector<uint8_t>(SrtpMasterKeyLength(profile), 7),
                          std::vector<uint8_t>(SrtpMasterSaltLength(profile), 9)};
  const long at_start = g_allocations.load();
  auto tx = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kOutbound, profile, key);
  EXPECT_GT(g_allocations.load(), at_start);  // The counters do count.
  auto rx = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kInbound, profile, key);
  ASSERT_NE(tx, nullptr);
  ASSERT_NE(rx, nullptr);
  std::vector<Packet> rtp;
  std::vector<Packet> rtcp;
  for (uint32_t ssrc : {1u, 2u, 3u}) {
    for (uint16_t seq = 65000; seq != 1000; ++seq) rtp.push_back(MakeRtp(ssrc, seq));
    for (int i = 0; i < 100; ++i) rtcp.push_back(MakeRtcp(ssrc));
  }
  // First packets create the streams; that may allocate.
  for (uint32_t ssrc : {1u, 2u, 3u}) {
    Packet a = MakeRtp(ssrc, 64999);
    ASSERT_EQ(tx->ProtectRtp(a.buf(), &a.len, a.data.size()), SrtpResult::kOk);
    ASSERT_EQ(rx->UnprotectRtp(a.buf(), &a.len), SrtpResult::kOk);
    Packet b = MakeRtcp(ssrc);
    ASSERT_EQ(tx->ProtectRtcp(b.buf(), &b.len, b.data.size()), SrtpResult::kOk);
    ASSERT_EQ(rx->UnprotectRtcp(b.buf(), &b.len), SrtpResult::kOk);
  }

  const long before = g_allocations.load();
  int ok = 0;
  for (Packet& p : rtp) {
    ok += tx->ProtectRtp(p.buf(), &p.len, p.data.size()) == SrtpResult::kOk;
    ok += rx->UnprotectRtp(p.buf(), &p.len) == SrtpResult::kOk;
    p.data[20] ^= 1;  // Failures must not allocate either.
    ok += rx->UnprotectRtp(p.buf(), &p.len) == SrtpResult::kOk;
  }
  for (Packet& p : rtcp) {
    ok += tx->ProtectRtcp(p.buf(), &p.len, p.data.size()) == SrtpResult::kOk;
    ok += rx->UnprotectRtcp(p.buf(), &p.len) == SrtpResult::kOk;
  }
  const long during = g_allocations.load() - before;
  EXPECT_EQ(during, 0);
  EXPECT_EQ(static_cast<size_t>(ok), 2 * (rtp.size() + rtcp.size()));
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, SrtpAllocationTest,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAes128CmSha1_32,
                                           SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAeadAes256Gcm),
                         [](const auto& p) { return std::string(SrtpProfileSdesName(p.param)); });

void StoreAll(NackCache& cache, const std::vector<uint8_t>& packet, uint16_t count) {
  for (uint16_t n = 0; n < count; ++n) cache.Store(n, packet.data(), packet.size());
}

TEST(NackCacheAllocationTest, StoreAndLookupDoNotAllocate) {
  NackCache cache(100, 100);
  const std::vector<uint8_t> packet(1200, 0x42);
  const long before = g_allocations.load();
  size_t served = 0;
  for (uint32_t n = 0; n < 100000; ++n) {
    cache.Store(static_cast<uint16_t>(n), packet.data(), packet.size());
    served += cache.Lookup(static_cast<uint16_t>(n - 50)).size() > 0;
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(served, 100000u - 50);
  NackCache growing(100, 200);
  StoreAll(growing, packet, 300);
  const long before_growth = g_allocations.load();
  EXPECT_TRUE(growing.Lookup(150).empty());  // Evicted: the tail grows, and that allocates.
  EXPECT_EQ(growing.tail_length(), 200u);
  EXPECT_GT(g_allocations.load(), before_growth);
}

}  // namespace
}  // namespace webrtc2sip::media
