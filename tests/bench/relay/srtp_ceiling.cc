// srtp_ceiling: the raw CPU cost of the SRTP transform a relayed packet pays, as the ceiling
// the relay's packets/s per core can be held against. Protects and unprotects a 172-byte RTP
// packet (12-byte header + 160 bytes of PCMU) in a tight loop with the project's
// EvpSrtpSession and, for comparison, its libsrtp2 wrapper, per SRTP profile. Times are the
// thread's CPU time, so the figures are per core.
//
// A relayed packet costs one unprotect (from the browser) or one protect (to the browser), so
// a relay doing nothing but SRTP would relay 2 / (t_protect + t_unprotect) packets/s per core:
// the "relay_equivalent_pps" printed here.

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include "services/media-relay/srtp/srtp_session.h"

namespace media = webrtc2sip::media;

namespace {

constexpr size_t kPacketBytes = 172;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

media::SrtpMasterKey RandomKey(media::SrtpProfile profile) {
  media::SrtpMasterKey key;
  key.key.resize(media::SrtpMasterKeyLength(profile));
  key.salt.resize(media::SrtpMasterSaltLength(profile));
  RAND_bytes(key.key.data(), static_cast<int>(key.key.size()));
  RAND_bytes(key.salt.data(), static_cast<int>(key.salt.size()));
  return key;
}

struct Result {
  double protect_ns = 0;
  double unprotect_ns = 0;
};

// `iterations` packets protected (loop A), then as many protected and unprotected (loop B) with
// a fresh pair of sessions; unprotect = B - A. Each loop runs `repeats` times and keeps its
// fastest run: the one least disturbed by the rest of the machine. Throws when a transform
// fails.
Result Measure(media::SrtpImpl impl, media::SrtpProfile profile, uint64_t iterations, int repeats) {
  const media::SrtpMasterKey key = RandomKey(profile);
  std::array<uint8_t, kPacketBytes> plain{};
  plain[0] = 0x80;
  plain[1] = 0;  // PCMU
  plain[8] = 0x12;
  plain[9] = 0x34;
  plain[10] = 0x56;
  plain[11] = 0x78;
  for (size_t i = 12; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7);
  std::array<uint8_t, kPacketBytes + 64> buf{};

  auto loop = [&](bool unprotect) {
    auto out = media::CreateSrtpSession(impl, media::SrtpDirection::kOutbound, profile, key);
    auto in = media::CreateSrtpSession(impl, media::SrtpDirection::kInbound, profile, key);
    if (!out || !in) throw std::runtime_error("cannot create SRTP sessions");
    const double start = ThreadCpuSeconds();
    for (uint64_t i = 0; i < iterations; ++i) {
      std::memcpy(buf.data(), plain.data(), plain.size());
      const auto seq = static_cast<uint16_t>(i);
      buf[2] = static_cast<uint8_t>(seq >> 8);
      buf[3] = static_cast<uint8_t>(seq);
      const auto ts = static_cast<uint32_t>(i * 160);
      buf[4] = static_cast<uint8_t>(ts >> 24);
      buf[5] = static_cast<uint8_t>(ts >> 16);
      buf[6] = static_cast<uint8_t>(ts >> 8);
      buf[7] = static_cast<uint8_t>(ts);
      size_t len = plain.size();
      if (out->ProtectRtp(buf.data(), &len, buf.size()) != media::SrtpResult::kOk) {
        throw std::runtime_error("protect failed");
      }
      if (unprotect) {
        const media::SrtpResult r = in->UnprotectRtp(buf.data(), &len);
        if (r != media::SrtpResult::kOk || len != plain.size()) {
          throw std::runtime_error("unprotect failed: " + std::string(media::SrtpResultName(r)));
        }
      }
    }
    return (ThreadCpuSeconds() - start) * 1e9 / static_cast<double>(iterations);
  };
  loop(true);  // Warm caches and the CPU clock.
  double protect = 1e18, pair = 1e18;
  for (int i = 0; i < repeats; ++i) {
    protect = std::min(protect, loop(false));
    pair = std::min(pair, loop(true));
  }
  return {protect, std::max(0.0, pair - protect)};
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = 1'000'000;
  int repeats = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::stoull(argv[++i]);
    } else if (arg == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::stoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: srtp_ceiling [--iterations N] [--repeats N]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  const media::SrtpProfile profiles[] = {media::SrtpProfile::kAes128CmSha1_80,
                                         media::SrtpProfile::kAeadAes128Gcm,
                                         media::SrtpProfile::kAeadAes256Gcm};
  try {
    for (media::SrtpImpl impl : {media::SrtpImpl::kEvp, media::SrtpImpl::kLibSrtp}) {
      for (media::SrtpProfile profile : profiles) {
        const Result r = Measure(impl, profile, iterations, repeats);
        std::printf(
            "ceiling impl=%s profile=%s packet_bytes=%zu protect_ns=%.1f unprotect_ns=%.1f "
            "protect_pps=%.0f unprotect_pps=%.0f relay_equivalent_pps=%.0f\n",
            impl == media::SrtpImpl::kEvp ? "evp" : "libsrtp2",
            std::string(media::SrtpProfileSdesName(profile)).c_str(), kPacketBytes, r.protect_ns,
            r.unprotect_ns, 1e9 / r.protect_ns, 1e9 / r.unprotect_ns,
            2e9 / (r.protect_ns + r.unprotect_ns));
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "srtp_ceiling: %s\n", e.what());
    return 1;
  }
  return 0;
}
