#include "services/signaling/media/srv_records.h"

#include <arpa/nameser.h>
#include <resolv.h>

#include <algorithm>
#include <map>

namespace webrtc2sip::signaling {

SrvParse ParseSrvAnswer(std::span<const unsigned char> message) {
  SrvParse result;
  ns_msg handle;
  if (ns_initparse(message.data(), static_cast<int>(message.size()), &handle) != 0) {
    result.error = "malformed DNS message";
    return result;
  }
  const int count = ns_msg_count(handle, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&handle, ns_s_an, i, &rr) != 0) {
      result.error = "malformed answer record " + std::to_string(i);
      return result;
    }
    if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in) continue;
    // RDATA: priority, weight, port (16 bits each), then the target name,
    // which may point back into the message (compression).
    const unsigned char* rdata = ns_rr_rdata(rr);
    if (ns_rr_rdlen(rr) < 7) {
      result.error = "SRV record " + std::to_string(i) + " is too short";
      return result;
    }
    SrvRecord record;
    record.priority = ns_get16(rdata);
    record.weight = ns_get16(rdata + 2);
    record.port = ns_get16(rdata + 4);
    char target[NS_MAXDNAME];
    const int used =
        dn_expand(ns_msg_base(handle), ns_msg_end(handle), rdata + 6, target, sizeof target);
    if (used < 0 || used > ns_rr_rdlen(rr) - 6) {
      result.error = "SRV record " + std::to_string(i) + " has a bad target name";
      return result;
    }
    record.target = target;  // dn_expand writes the root as "" and no trailing dot
    if (record.target == ".") record.target.clear();
    result.records.push_back(std::move(record));
  }
  result.ok = true;
  return result;
}

std::string JoinHostPort(const std::string& ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

SrvNodes MapSrvRecords(const std::vector<SrvRecord>& records, const TargetResolver& resolve) {
  SrvNodes nodes;
  std::map<std::string, TargetAddresses> known;  // several records may share a target
  for (const auto& record : records) {
    if (record.target.empty()) continue;  // "." : decidedly not available here
    auto it = known.find(record.target);
    if (it == known.end()) it = known.emplace(record.target, resolve(record.target)).first;
    const TargetAddresses& found = it->second;
    if (!found.ok) {
      nodes.error = record.target + ": " + found.error;
      nodes.addresses.clear();
      return nodes;
    }
    for (const auto& ip : found.ips) nodes.addresses.push_back(JoinHostPort(ip, record.port));
  }
  std::sort(nodes.addresses.begin(), nodes.addresses.end());
  nodes.addresses.erase(std::unique(nodes.addresses.begin(), nodes.addresses.end()),
                        nodes.addresses.end());
  nodes.ok = true;
  return nodes;
}

}  // namespace webrtc2sip::signaling
