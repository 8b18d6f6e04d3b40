#include "services/signaling/media/dns_watcher.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "services/signaling/media/loop_post.h"
#include "services/signaling/media/srv_records.h"

namespace webrtc2sip::signaling {

namespace {

// Points this thread's resolver (glibc keeps one per thread) at the given
// servers; glibc's getaddrinfo honours an application's changes to _res.
void UseNameservers(const std::vector<std::string>& nameservers, uint16_t port) {
  if (nameservers.empty()) return;
  if (res_init() != 0) return;
  int count = 0;
  for (const auto& ns : nameservers) {
    if (count == MAXNS) break;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, ns.c_str(), &addr.sin_addr) != 1) continue;
    _res.nsaddr_list[count++] = addr;
  }
  if (count == 0) return;
  _res.nscount = count;
  _res.options |= RES_NORELOAD;  // a changed /etc/resolv.conf must not undo this
}

// A and AAAA of one name, by getaddrinfo (which honours _res, see above).
TargetAddresses LookupAddresses(const std::string& host) {
  TargetAddresses found;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(raw, &freeaddrinfo);
  if (rc == EAI_NONAME
#ifdef EAI_NODATA
      || rc == EAI_NODATA
#endif
  ) {
    found.ok = true;  // the name is gone: so are its nodes
    return found;
  }
  if (rc != 0) {
    found.error = gai_strerror(rc);
    return found;
  }
  found.ok = true;
  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN] = {0};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, ip,
                sizeof ip);
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, ip,
                sizeof ip);
    } else {
      continue;
    }
    found.ips.emplace_back(ip);
  }
  return found;
}

}  // namespace

DnsWatcher::DnsWatcher(GMainContext* context, Options options, Callback callback)
    : context_(g_main_context_ref(context)),
      options_(std::move(options)),
      callback_(std::move(callback)),
      thread_(&DnsWatcher::Run, this) {}

DnsWatcher::~DnsWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DnsWatcher::Run() {
  UseNameservers(options_.nameservers, options_.dns_port);
  for (;;) {
    Answer answer = options_.srv_name.empty() ? Resolve(options_.host, options_.port)
                                              : ResolveSrv(options_.srv_name);
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
    }
    PostToLoop(context_.get(),
               [callback = callback_, answer = std::move(answer)] { callback(answer); });
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, options_.refresh, [this] { return stopping_; })) return;
  }
}

DnsWatcher::Answer DnsWatcher::Resolve(const std::string& host, uint16_t port) {
  Answer answer;
  TargetAddresses found = LookupAddresses(host);
  answer.ok = found.ok;
  answer.error = std::move(found.error);
  for (const auto& ip : found.ips) answer.addresses.push_back(JoinHostPort(ip, port));
  std::sort(answer.addresses.begin(), answer.addresses.end());
  answer.addresses.erase(std::unique(answer.addresses.begin(), answer.addresses.end()),
                         answer.addresses.end());
  return answer;
}

DnsWatcher::Answer DnsWatcher::ResolveSrv(const std::string& name) {
  Answer answer;
  std::vector<unsigned char> buffer(NS_MAXMSG);
  // res_query: the name as given, no search list (it must be fully qualified);
  // a truncated UDP answer is asked again over TCP.
  const int length =
      res_query(name.c_str(), ns_c_in, ns_t_srv, buffer.data(), static_cast<int>(buffer.size()));
  if (length < 0) {
    // h_errno is per thread. No such name, or no SRV record: no nodes.
    if (h_errno == HOST_NOT_FOUND || h_errno == NO_DATA) {
      answer.ok = true;
    } else {
      answer.error = hstrerror(h_errno);
    }
    return answer;
  }
  SrvParse parsed =
      ParseSrvAnswer(std::span<const unsigned char>(buffer.data(), static_cast<size_t>(length)));
  if (!parsed.ok) {
    answer.error = std::move(parsed.error);
    return answer;
  }
  SrvNodes nodes = MapSrvRecords(parsed.records, &LookupAddresses);
  answer.ok = nodes.ok;
  answer.addresses = std::move(nodes.addresses);
  answer.error = std::move(nodes.error);
  return answer;
}

}  // namespace webrtc2sip::signaling
