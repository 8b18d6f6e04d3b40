#include "services/signaling/media/dns_watcher.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

#include "services/signaling/media/loop_post.h"

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
    Answer answer = Resolve(options_.host, options_.port);
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
    answer.ok = true;  // the name is gone: so are its nodes
    return answer;
  }
  if (rc != 0) {
    answer.error = gai_strerror(rc);
    return answer;
  }
  answer.ok = true;
  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN] = {0};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, ip,
                sizeof ip);
      answer.addresses.push_back(std::string(ip) + ":" + std::to_string(port));
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, ip,
                sizeof ip);
      answer.addresses.push_back("[" + std::string(ip) + "]:" + std::to_string(port));
    }
  }
  std::sort(answer.addresses.begin(), answer.addresses.end());
  answer.addresses.erase(std::unique(answer.addresses.begin(), answer.addresses.end()),
                         answer.addresses.end());
  return answer;
}

}  // namespace webrtc2sip::signaling
