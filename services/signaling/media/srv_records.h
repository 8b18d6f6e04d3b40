#pragma once

// DNS SRV answers (RFC 2782) for media-node discovery: the wire format parsed
// into records, and records mapped to "address:port" nodes. No I/O here: the
// DnsWatcher asks, these functions read.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace webrtc2sip::signaling {

struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // without the trailing dot; "." (no service) is ""
};

struct SrvParse {
  bool ok = false;                 // false: the message is not a DNS answer we can read
  std::vector<SrvRecord> records;  // the answer section's SRV records, in order
  std::string error;
};

// Reads the SRV records of the answer section of a DNS response (as
// res_query returns it). Other record types (a CNAME on the way) are skipped.
SrvParse ParseSrvAnswer(std::span<const unsigned char> message);

// Where one SRV target leads: its IP addresses (A, AAAA), without port.
struct TargetAddresses {
  bool ok = false;  // false: the lookup failed (timeout, SERVFAIL), not "no such name"
  std::vector<std::string> ips;
  std::string error;
};
using TargetResolver = std::function<TargetAddresses(const std::string& target)>;

// "ip:port", or "[ip]:port" for IPv6.
std::string JoinHostPort(const std::string& ip, uint16_t port);

struct SrvNodes {
  bool ok = false;                     // false when any target's lookup failed: keep what was known
  std::vector<std::string> addresses;  // sorted, unique
  std::string error;
};

// Every record's target resolved (once per target), with the record's port.
// Priority and weight are not used: every node is a candidate and signaling
// picks by load. A target of "." (the service is not offered) and a target
// without address add nothing.
SrvNodes MapSrvRecords(const std::vector<SrvRecord>& records, const TargetResolver& resolve);

}  // namespace webrtc2sip::signaling
