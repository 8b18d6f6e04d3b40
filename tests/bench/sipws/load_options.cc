#include "load_options.h"

#include <arpa/inet.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace webrtc2sip::bench {
namespace {

double Number(std::string_view name, const char* value, double min, double max) {
  char* end = nullptr;
  const double v = std::strtod(value, &end);
  if (end == value || *end != '\0' || v < min || v > max) {
    throw std::invalid_argument(std::string(name) + ": '" + value + "' is not a number in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

void ParseTarget(LoadOptions& o) {
  std::string_view t = o.target;
  o.udp = t.substr(0, 6) == "udp://";
  if (t.substr(0, 5) != "ws://" && !o.udp) {
    throw std::invalid_argument("--target: only ws:// or udp:// URLs");
  }
  t.remove_prefix(o.udp ? 6 : 5);
  const size_t slash = t.find('/');
  o.path = slash == std::string_view::npos ? "/" : std::string(t.substr(slash));
  o.host = std::string(t.substr(0, slash));
  const size_t colon = o.host.rfind(':');
  const std::string ip = colon == std::string::npos ? o.host : o.host.substr(0, colon);
  const int port = colon == std::string::npos ? 80 : std::stoi(o.host.substr(colon + 1));
  o.address.sin_family = AF_INET;
  o.address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &o.address.sin_addr) != 1) {
    throw std::invalid_argument("--target: '" + ip + "' is not an IPv4 address");
  }
}

// An SDP from a file, or the body of a captured SIP message (after the blank
// line), with every line ending made CRLF.
std::string ReadSdp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(std::string("--sdp: cannot read ") + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.rfind("v=0", 0) != 0) {
    size_t blank = text.find("\r\n\r\n");
    size_t skip = 4;
    if (blank == std::string::npos) blank = text.find("\n\n"), skip = 2;
    if (blank == std::string::npos)
      throw std::invalid_argument("--sdp: no SDP in " + std::string(path));
    text.erase(0, blank + skip);
  }
  std::string sdp;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) (sdp += line) += "\r\n";
    pos = end + 1;
  }
  if (sdp.rfind("v=0", 0) != 0)
    throw std::invalid_argument("--sdp: no SDP in " + std::string(path));
  return sdp;
}

}  // namespace

const char* ScenarioName(Scenario s) {
  switch (s) {
    case Scenario::kRegister:
      return "register";
    case Scenario::kOptions:
      return "options";
    case Scenario::kInvite:
      return "invite";
    case Scenario::kIdle:
      return "idle";
  }
  return "?";
}

void PrintUsage() {
  std::fputs(
      "usage: sipws_load --target ws://IP:PORT[/path] --scenario register|options|invite|idle\n"
      "  --target udp://IP:PORT   SIP straight over UDP instead (a baseline without a proxy)\n"
      "  --domain D            SIP domain (From/To, default Request-URI sip:D)\n"
      "  --ruri URI            Request-URI (invite default: sip:uas@D)\n"
      "  --connections N       WebSocket connections (10)\n"
      "  --inflight K          transactions in flight per connection (1)\n"
      "  --rate R              offered load, transactions/s in total; 0 = max throughput (0)\n"
      "  --duration S          measured seconds (10), after --warmup S (0)\n"
      "  --count C             stop after C transactions instead of a duration\n"
      "  --timeout-ms MS       a transaction without final answer by then fails (5000)\n"
      "  --call-hold-ms MS     invite: pause between ACK and BYE (0)\n"
      "  --threads T           event loops (1)\n"
      "  --connect-concurrency handshakes in progress at once (256)\n"
      "  --source-ips M        spread connections over 127.0.0.1..127.0.0.M (1)\n"
      "  --hold S              idle: hold the connections S seconds; 0 = until SIGTERM (0)\n"
      "  --user-prefix P       user part prefix (b)\n"
      "  --contact-params P    appended to the Contact URI, e.g. ';rtcweb-breaker=yes'\n"
      "  --sdp FILE            invite: the offer, from an SDP file or a captured SIP message\n"
      "                        (default: a plain RTP/AVP PCMU/PCMA offer)\n"
      "  --check-webrtc-answer invite: a 200 whose SDP lacks a=fingerprint or a=ice-ufrag\n"
      "                        is a failure (bad_answers)\n"
      "  --json                print the result as JSON instead of key=value\n"
      "  --marks               print event=window_start/window_end lines when they happen\n"
      "idle prints 'event=ready ...' once every connection is open, then holds them.\n",
      stderr);
}

LoadOptions ParseOptions(int argc, char** argv) {
  LoadOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg == "--marks") {
      o.marks = true;
      continue;
    }
    if (arg == "--check-webrtc-answer") {
      o.check_webrtc_answer = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      PrintUsage();
      std::exit(0);
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + ": needs a value");
    const char* v = argv[++i];
    if (arg == "--target") {
      o.target = v;
    } else if (arg == "--scenario") {
      const std::string_view s = v;
      if (s == "register")
        o.scenario = Scenario::kRegister;
      else if (s == "options")
        o.scenario = Scenario::kOptions;
      else if (s == "invite")
        o.scenario = Scenario::kInvite;
      else if (s == "idle")
        o.scenario = Scenario::kIdle;
      else
        throw std::invalid_argument("--scenario: register, options, invite or idle");
    } else if (arg == "--domain") {
      o.domain = v;
    } else if (arg == "--ruri") {
      o.ruri = v;
    } else if (arg == "--connections") {
      o.connections = static_cast<uint32_t>(Number(arg, v, 1, 1000000));
    } else if (arg == "--inflight") {
      o.inflight = static_cast<uint32_t>(Number(arg, v, 1, 10000));
    } else if (arg == "--rate") {
      o.rate = Number(arg, v, 0, 1e7);
    } else if (arg == "--duration") {
      o.duration_s = Number(arg, v, 0.1, 86400);
    } else if (arg == "--warmup") {
      o.warmup_s = Number(arg, v, 0, 3600);
    } else if (arg == "--count") {
      o.count = static_cast<uint64_t>(Number(arg, v, 1, 1e12));
    } else if (arg == "--timeout-ms") {
      o.timeout_ms = static_cast<uint32_t>(Number(arg, v, 1, 600000));
    } else if (arg == "--call-hold-ms") {
      o.call_hold_ms = static_cast<uint32_t>(Number(arg, v, 0, 600000));
    } else if (arg == "--threads") {
      o.threads = static_cast<uint32_t>(Number(arg, v, 1, 64));
    } else if (arg == "--connect-concurrency") {
      o.connect_concurrency = static_cast<uint32_t>(Number(arg, v, 1, 100000));
    } else if (arg == "--source-ips") {
      o.source_ips = static_cast<uint32_t>(Number(arg, v, 1, 250));
    } else if (arg == "--hold") {
      o.hold_s = Number(arg, v, 0, 86400);
    } else if (arg == "--user-prefix") {
      o.user_prefix = v;
    } else if (arg == "--contact-params") {
      o.contact_params = v;
    } else if (arg == "--sdp") {
      o.invite_sdp = ReadSdp(v);
    } else {
      throw std::invalid_argument("unknown option " + std::string(arg));
    }
  }
  ParseTarget(o);
  if (o.domain.empty()) o.domain = o.host;
  if (o.ruri.empty()) {
    o.ruri = o.scenario == Scenario::kInvite ? "sip:uas@" + o.domain : "sip:" + o.domain;
  }
  if (o.threads > o.connections) o.threads = o.connections;
  return o;
}

}  // namespace webrtc2sip::bench
