// relay_load: drives N concurrent audio sessions through a media relay (the webrtc2sip media
// relay with ICE-lite + DTLS-SRTP, or rtpengine with SDES-SRTP) and measures what comes out:
// relayed packets/s, the server's CPU over the window, one-way latency added on the path, loss.
//
// The generator owns both ends of every session: the "browser" end (SRTP) and the "legacy" end
// (plain RTP). A controller (relay_bench.py) sets the sessions up on the server and hands
// their parameters over on stdin; see --help for the line protocol. One thread, epoll,
// sendmmsg/recvmmsg, no allocation per packet.

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "load/load_engine.h"
#include "services/media-relay/srtp/srtp_profile.h"

using namespace webrtc2sip::bench::relay;
namespace media = webrtc2sip::media;

namespace {

constexpr const char* kUsage = R"(usage: relay_load --keying dtls|sdes|none [options]

  --rate N              packets/s per session and direction (50)
  --payload N           RTP payload bytes (160)
  --warmup S            seconds of media before the window (3)
  --window S            measurement window, seconds (10)
  --grace S             receive-only seconds after the window (0.5)
  --server-pid PID      process whose CPU (utime+stime, all threads) the window measures
  --handshake-window N  ICE+DTLS handshakes in flight at once (32)
  --connect-timeout S   give up on handshakes after S seconds (60)
  --dtls-profiles LIST  SRTP profiles offered as DTLS client, comma-separated OpenSSL names
                        (SRTP_AEAD_AES_256_GCM,SRTP_AEAD_AES_128_GCM,SRTP_AES128_CM_SHA1_80);
                        default: the project's default list
  --cpu N               pin the generator to CPU N
  --sessions N          with --keying none: N sessions looping between our own sockets

Protocol: prints "ready browser_port=P legacy_port=Q fingerprint=FP", then reads one line per
session from stdin and "go":
  dtls <server_webrtc_port> <server_legacy_port> <relayUfrag:ourUfrag> <relay_ice_pwd>
       <our_ice_pwd> <fp_alg> <fp>
  sdes <server_srtp_port> <server_rtp_port> <suite> <our_key_salt_hex> <server_key_salt_hex>
then prints "connected ..." and, after the window, "result key=value ...".
)";

std::vector<uint8_t> FromHex(const std::string& hex) {
  if (hex.size() % 2) throw std::runtime_error("odd hex length: " + hex);
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

media::SrtpMasterKey SplitKey(media::SrtpProfile profile, const std::string& hex) {
  const std::vector<uint8_t> raw = FromHex(hex);
  const size_t key_len = media::SrtpMasterKeyLength(profile);
  if (raw.size() != key_len + media::SrtpMasterSaltLength(profile)) {
    throw std::runtime_error("key+salt of the wrong length for the suite: " + hex);
  }
  return {{raw.begin(), raw.begin() + static_cast<long>(key_len)},
          {raw.begin() + static_cast<long>(key_len), raw.end()}};
}

SessionSpec ParseSession(const std::string& line, Keying keying) {
  std::istringstream in(line);
  std::string kind;
  SessionSpec spec;
  unsigned browser_port = 0, legacy_port = 0;
  in >> kind >> browser_port >> legacy_port;
  spec.browser_remote_port = static_cast<uint16_t>(browser_port);
  spec.legacy_remote_port = static_cast<uint16_t>(legacy_port);
  if (kind == "dtls" && keying == Keying::kDtls) {
    in >> spec.ice_username >> spec.ice_password >> spec.ice_local_password >>
        spec.remote_fingerprint.algorithm >> spec.remote_fingerprint.value;
    if (spec.ice_username.size() > 64) throw std::runtime_error("ICE username over 64 bytes");
  } else if (kind == "sdes" && keying == Keying::kSdes) {
    std::string suite, tx, rx;
    in >> suite >> tx >> rx;
    const auto profile = media::SrtpProfileFromSdesName(suite);
    if (!profile) throw std::runtime_error("unknown SDES suite " + suite);
    spec.sdes_profile = *profile;
    spec.sdes_tx = SplitKey(*profile, tx);
    spec.sdes_rx = SplitKey(*profile, rx);
  } else {
    throw std::runtime_error("unexpected session line for this keying: " + line);
  }
  if (!in || browser_port == 0 || browser_port > 65535 || legacy_port == 0 || legacy_port > 65535) {
    throw std::runtime_error("malformed session line: " + line);
  }
  return spec;
}

std::string Join(const std::map<std::string, size_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) {
    out += (out.empty() ? "" : ",") + name + ":" + std::to_string(n);
  }
  return out.empty() ? "-" : out;
}

void PrintResult(const MediaReport& r, double machine_cpus) {
  const uint64_t sent = r.sent[0] + r.sent[1];
  const uint64_t received = r.received[0] + r.received[1];
  const double loss = sent ? 100.0 * static_cast<double>(sent - std::min(sent, received)) /
                                 static_cast<double>(sent)
                           : 0.0;
  const double pps = r.window_seconds > 0 ? static_cast<double>(received) / r.window_seconds : 0;
  std::printf(
      "result sessions=%zu window_s=%.3f sent=%llu received=%llu relayed_pps=%.1f "
      "loss_pct=%.4f sent_to_legacy=%llu recv_to_legacy=%llu sent_to_browser=%llu "
      "recv_to_browser=%llu",
      r.sessions, r.window_seconds, static_cast<unsigned long long>(sent),
      static_cast<unsigned long long>(received), pps, loss,
      static_cast<unsigned long long>(r.sent[0]), static_cast<unsigned long long>(r.received[0]),
      static_cast<unsigned long long>(r.sent[1]), static_cast<unsigned long long>(r.received[1]));
  if (r.server_cpu_seconds && r.cpu_interval_seconds > 0) {
    const double cpu = *r.server_cpu_seconds;
    std::printf(" server_cpu_s=%.3f server_cpu_pct=%.1f pps_per_core=%.0f server_wait_pct=%.1f",
                cpu, 100.0 * cpu / r.cpu_interval_seconds,
                cpu > 0 ? pps * r.cpu_interval_seconds / cpu : 0,
                100.0 * r.server_run_delay_seconds.value_or(0) / r.cpu_interval_seconds);
  }
  std::printf(
      " p50_us=%u p90_us=%u p99_us=%u p999_us=%u p50_to_legacy_us=%u "
      "p99_to_legacy_us=%u p50_to_browser_us=%u p99_to_browser_us=%u max_us=%u",
      r.all_p50_us, r.all_p90_us, r.all_p99_us, r.all_p999_us, r.p50_us[0], r.p99_us[0],
      r.p50_us[1], r.p99_us[1], std::max(r.max_us[0], r.max_us[1]));
  std::printf(
      " gen_cpu_pct=%.1f gen_wait_pct=%.1f machine_busy_pct=%.1f gen_socket_drops=%llu "
      "udp_rcvbuf_errors=%llu srtp_errors=%llu rtcp_received=%llu duplicates=%llu "
      "reordered=%llu unknown=%llu "
      "send_errors=%llu silent_sessions=%zu max_send_lag_us=%lld late_sends=%llu\n",
      r.cpu_interval_seconds > 0 ? 100.0 * r.self_cpu_seconds / r.cpu_interval_seconds : 0,
      r.cpu_interval_seconds > 0 ? 100.0 * r.self_run_delay_seconds / r.cpu_interval_seconds : 0,
      r.cpu_interval_seconds > 0
          ? 100.0 * r.machine_busy_seconds / r.cpu_interval_seconds / machine_cpus
          : 0,
      static_cast<unsigned long long>(r.own_socket_drops),
      static_cast<unsigned long long>(r.udp_rcvbuf_errors),
      static_cast<unsigned long long>(r.srtp_errors),
      static_cast<unsigned long long>(r.rtcp_received),
      static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.reordered),
      static_cast<unsigned long long>(r.unknown_datagrams),
      static_cast<unsigned long long>(r.send_errors), r.silent_sessions,
      static_cast<long long>(r.max_send_lag_us), static_cast<unsigned long long>(r.late_sends));
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  LoadOptions options;
  int cpu = -1;
  size_t plain_sessions = 0;
  bool keying_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--keying") {
      const std::string k = value();
      keying_given = true;
      if (k == "dtls")
        options.keying = Keying::kDtls;
      else if (k == "sdes")
        options.keying = Keying::kSdes;
      else if (k == "none")
        options.keying = Keying::kNone;
      else
        throw std::invalid_argument("--keying: dtls, sdes or none");
    } else if (arg == "--rate") {
      options.packets_per_second = static_cast<uint32_t>(std::stoul(value()));
    } else if (arg == "--payload") {
      options.payload_bytes = std::stoul(value());
    } else if (arg == "--warmup") {
      options.warmup_seconds = std::stod(value());
    } else if (arg == "--window") {
      options.window_seconds = std::stod(value());
    } else if (arg == "--grace") {
      options.grace_seconds = std::stod(value());
    } else if (arg == "--server-pid") {
      options.server_pid = static_cast<pid_t>(std::stol(value()));
    } else if (arg == "--handshake-window") {
      options.handshake_window = std::stoul(value());
    } else if (arg == "--connect-timeout") {
      options.connect_timeout_seconds = std::stod(value());
    } else if (arg == "--dtls-profiles") {
      std::istringstream list(value());
      std::string name;
      while (std::getline(list, name, ',')) {
        const auto p = media::SrtpProfileFromDtlsName(name);
        if (!p) throw std::invalid_argument("--dtls-profiles: unknown profile " + name);
        options.dtls_profiles.push_back(*p);
      }
    } else if (arg == "--cpu") {
      cpu = std::stoi(value());
    } else if (arg == "--sessions") {
      plain_sessions = std::stoul(value());
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  if (!keying_given) throw std::invalid_argument("--keying is required");
  if (options.packets_per_second == 0 || options.payload_bytes < sizeof(PayloadStamp) ||
      options.payload_bytes > 1400) {
    throw std::invalid_argument("--rate must be > 0 and --payload " +
                                std::to_string(sizeof(PayloadStamp)) + "..1400");
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      throw std::runtime_error("cannot pin to CPU " + std::to_string(cpu));
    }
  }
  const double machine_cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));

  LoadEngine engine(options);
  std::printf("ready browser_port=%u legacy_port=%u fingerprint=%s\n", engine.browser_port(),
              engine.legacy_port(),
              engine.fingerprint().empty() ? "-" : engine.fingerprint().c_str());
  std::fflush(stdout);

  if (options.keying == Keying::kNone) {
    for (size_t i = 0; i < plain_sessions; ++i) engine.AddSession(SessionSpec{});
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "go") break;
      if (line.empty()) continue;
      engine.AddSession(ParseSession(line, options.keying));
    }
  }

  const ConnectReport c = engine.Connect();
  std::printf("connected sessions=%zu failed=%zu seconds=%.3f profiles=%s failures=%s\n",
              c.connected, c.failed, c.seconds, Join(c.profiles).c_str(), Join(c.failures).c_str());
  std::fflush(stdout);
  PrintResult(engine.RunMedia(), machine_cpus);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "relay_load: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relay_load: %s\n", e.what());
    return 1;
  }
}
