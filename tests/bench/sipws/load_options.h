#pragma once

// Command-line options of sipws_load, parsed once in main.

#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace webrtc2sip::bench {

enum class Scenario { kRegister, kOptions, kInvite, kIdle };

struct LoadOptions {
  Scenario scenario = Scenario::kOptions;
  std::string target = "ws://127.0.0.1:10060";  // or udp://IP:PORT: SIP straight over UDP
  bool udp = false;
  std::string host;  // Host header: host:port of the target
  std::string path = "/";
  sockaddr_in address{};
  uint32_t source_ips = 1;  // spread connections over 127.0.0.1 .. 127.0.0.N
  uint32_t connections = 10;
  uint32_t inflight = 1;  // transactions in flight per connection
  double rate = 0;        // total transactions/s; 0 = as fast as answers come
  double duration_s = 10;
  double warmup_s = 0;
  uint64_t count = 0;  // total transactions; when set, replaces duration
  uint32_t threads = 1;
  uint32_t timeout_ms = 5000;
  uint32_t call_hold_ms = 0;  // INVITE: pause between ACK and BYE
  uint32_t connect_concurrency = 256;
  double hold_s = 0;   // idle: how long to hold; 0 = until SIGTERM/SIGINT
  std::string domain;  // SIP domain for From/To and the default Request-URI
  std::string ruri;    // overrides the Request-URI
  std::string user_prefix = "b";
  std::string contact_params;        // appended to the Contact URI, e.g. ";rtcweb-breaker=yes"
  std::string invite_sdp;            // INVITE body; empty = a plain RTP/AVP PCMU/PCMA offer
  bool check_webrtc_answer = false;  // a 200 to INVITE must carry a=fingerprint and a=ice-ufrag
  bool json = false;
  bool marks = false;  // print window start/end lines as they happen
};

// Throws std::invalid_argument with a one-line message on a bad option.
LoadOptions ParseOptions(int argc, char** argv);
const char* ScenarioName(Scenario s);
void PrintUsage();

}  // namespace webrtc2sip::bench
