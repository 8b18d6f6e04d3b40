#pragma once

// Media nodes found by DNS: one name (a Kubernetes headless Service, say)
// resolved again every refresh period, on a thread of its own so the
// signaling loop never blocks on DNS. Each answer is posted to the loop.
// Either an address name (A/AAAA by getaddrinfo, one port for all) or an SRV
// name (res_query; each record's target:port is a node).

#include <glib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/cwrap/gobject_ptr.h"

namespace webrtc2sip::signaling {

class DnsWatcher {
 public:
  struct Answer {
    // False when DNS could not answer (timeout, SERVFAIL): keep what was known.
    // A name that does not exist (or has no address) is an answer: no nodes.
    bool ok = false;
    std::vector<std::string> addresses;  // "ip:port" ("[ip]:port" for IPv6), sorted, unique
    std::string error;
  };
  // Called on the loop thread of the context; it must guard its own target
  // (capture weak handles): it may run after the watcher is gone.
  using Callback = std::function<void(const Answer&)>;

  struct Options {
    std::string host;  // with `port`, or
    uint16_t port = 0;
    std::string srv_name;  // when set, instead of host and port
    std::chrono::milliseconds refresh{10'000};
    // IPv4 nameservers to ask instead of /etc/resolv.conf's, on `dns_port`
    // (signaling.nameservers); IPv6 ones are ignored.
    std::vector<std::string> nameservers;
    uint16_t dns_port = 53;
  };

  // Resolves at once, then every refresh period.
  DnsWatcher(GMainContext* context, Options options, Callback callback);
  // Stops and joins the thread; waits for a lookup in progress, if any
  // (bounded by the resolver's timeout).
  ~DnsWatcher();
  DnsWatcher(const DnsWatcher&) = delete;
  DnsWatcher& operator=(const DnsWatcher&) = delete;

  // One blocking lookup, on the calling thread's resolver state.
  static Answer Resolve(const std::string& host, uint16_t port);
  static Answer ResolveSrv(const std::string& name);

 private:
  void Run();

  GMainContextPtr context_;
  const Options options_;
  const Callback callback_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace webrtc2sip::signaling
