#include "services/signaling/sip/sip_resolver.h"

#include <arpa/inet.h>
#include <sofia-sip/sresolv.h>
#include <sofia-sip/su_string.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/cwrap/c_ptr.h"
#include "common/log/logger.h"

namespace webrtc2sip::signaling {
namespace {

// NAPTR x SRV records could fan out to many host lookups; a next hop with
// more hosts than this is a misconfiguration or an attack.
constexpr size_t kMaxHosts = 16;

uint16_t DefaultPort(std::string_view transport) {
  return transport == "tls" ? 5061 : 5060;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "1.2.3.4", "[::1]" or "::1" -> the canonical literal; empty for a name.
std::string IpLiteral(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string text(host);
  unsigned char addr[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, text.c_str(), addr) == 1 &&
        inet_ntop(family, addr, out, sizeof(out)) != nullptr) {
      return out;
    }
  }
  return {};
}

// A DNS name as a lookup key: lower case, no trailing dot.
std::string DomainKey(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return Lower(name);
}

std::string SrvName(bool sips, std::string_view transport, std::string_view domain) {
  const bool tls = sips || transport == "tls";
  return std::string(tls                  ? "_sips._tcp."
                     : transport == "tcp" ? "_sip._tcp."
                                          : "_sip._udp.") +
         std::string(domain);
}

struct Naptr {
  uint16_t order = 0;
  uint16_t preference = 0;
  std::string transport;
  std::string replacement;
};

struct Srv {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;
};

// Priority ascending; inside a priority, RFC 2782's weighted random order.
std::vector<Srv> OrderSrv(std::vector<Srv> records, std::mt19937& rng) {
  std::stable_sort(records.begin(), records.end(),
                   [](const Srv& a, const Srv& b) { return a.priority < b.priority; });
  std::vector<Srv> out;
  out.reserve(records.size());
  for (auto begin = records.begin(); begin != records.end();) {
    auto end = std::find_if(begin, records.end(),
                            [&](const Srv& r) { return r.priority != begin->priority; });
    std::vector<Srv> group(begin, end);
    std::stable_partition(group.begin(), group.end(), [](const Srv& r) { return r.weight == 0; });
    while (!group.empty()) {
      uint32_t total = 0;
      for (const Srv& r : group) total += r.weight;
      const uint32_t pick = std::uniform_int_distribution<uint32_t>(0, total)(rng);
      uint32_t running = 0;
      size_t i = 0;
      for (; i + 1 < group.size(); ++i) {
        running += group[i].weight;
        if (running >= pick) break;
      }
      out.push_back(std::move(group[i]));
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(i));
    }
    begin = end;
  }
  return out;
}

}  // namespace

// Owned by SipResolver through a shared_ptr so Handles can hold a weak_ptr.
// sres callbacks get `this` as context: safe, because destroying the sres
// resolver (first thing in the destructor) drops every pending query without
// calling back. User callbacks run from our own timer, never from inside
// sres, so a callback may destroy the resolver.
class SipResolverCore : public std::enable_shared_from_this<SipResolverCore> {
 public:
  SipResolverCore(su_root_t* root, const std::vector<std::string>& nameservers, uint16_t dns_port);
  ~SipResolverCore();
  SipResolverCore(const SipResolverCore&) = delete;
  SipResolverCore& operator=(const SipResolverCore&) = delete;

  uint64_t Start(const url_t* uri, SipResolver::Callback callback);
  void Cancel(uint64_t id) { resolutions_.erase(id); }
  bool Pending(uint64_t id) const { return resolutions_.contains(id); }
  void set_transports(std::vector<std::string> transports) { transports_ = std::move(transports); }
  void set_dns_timeout(std::chrono::milliseconds timeout) { dns_timeout_ = timeout; }

 private:
  struct Hop {  // a transport, a host name or IP, a port
    std::string transport;
    std::string host;
    uint16_t port = 0;
  };
  struct Lookup {
    uint16_t type = 0;
    std::string name;
    std::string transport;  // SRV: the transport its targets use
    std::vector<Naptr> naptr;
    std::vector<Srv> srv;
    std::vector<std::string> addresses;
  };
  struct Resolution {
    enum class Stage { kNaptr, kSrv, kAddress };
    SipResolver::Callback callback;
    std::string domain;  // RFC 3263's TARGET when it is a name
    bool sips = false;
    std::string transport;  // from transport=, empty when absent
    Stage stage = Stage::kNaptr;
    std::vector<Lookup> lookups;  // of the current stage
    size_t pending = 0;           // lookups waiting for DNS
    std::vector<Hop> hops;        // kAddress: what the addresses are for
    std::vector<SipTarget> targets;
    // Ends a stage whose DNS answers are late; its argument is this
    // Resolution, which owns (and so outlives) the timer.
    CPtr<su_timer_t, su_timer_destroy> timer;
    SipResolverCore* core = nullptr;
    uint64_t id = 0;
  };

  bool Supported(std::string_view transport) const;
  std::string FallbackTransport(bool sips) const;

  void Query(Resolution& r, uint16_t type, std::string name, std::string transport = {});
  void StartNaptr(Resolution& r);
  void StartSrv(Resolution& r, const std::vector<std::pair<std::string, std::string>>& names);
  void StartAddresses(Resolution& r, std::vector<Hop> hops);
  void Advance(Resolution& r);
  void AdvanceOrWait(Resolution& r);
  void StageTimedOut(Resolution& r);
  void AfterNaptr(Resolution& r);
  void AfterSrv(Resolution& r);
  void AfterAddresses(Resolution& r);
  void Finish(Resolution& r, std::vector<SipTarget> targets);

  static void Fill(Lookup& lookup, sres_record_t** answers);
  static void OnAnswer(sres_context_t* context, sres_query_t* query, sres_record_t** answers);
  static void OnDeliver(su_root_magic_t* magic, su_timer_t* timer, su_timer_arg_t* arg);
  static void OnStageTimeout(su_root_magic_t* magic, su_timer_t* timer, su_timer_arg_t* arg);

  su_root_t* root_;

  std::string conf_path_;  // private resolv.conf, removed in the destructor
  CPtr<sres_resolver_t, sres_resolver_destroy> sres_;
  CPtr<su_timer_t, su_timer_destroy> deliver_timer_;
  bool deliver_armed_ = false;
  std::deque<uint64_t> ready_;
  std::vector<std::string> transports_{"udp", "tcp", "tls"};
  // sres retries a silent server for ~64 s (1+2+...+32 s, whatever the
  // options say): far beyond SIP's 32 s Timer B, so each step has a limit.
  std::chrono::milliseconds dns_timeout_{4000};
  std::unordered_map<uint64_t, std::unique_ptr<Resolution>> resolutions_;
  // Queries in flight -> (resolution id, lookup index). A cancelled
  // resolution's queries stay here until sres answers them.
  std::unordered_map<sres_query_t*, std::pair<uint64_t, size_t>> queries_;
  uint64_t next_id_ = 1;
  std::mt19937 rng_{std::random_device{}()};
};

SipResolverCore::SipResolverCore(su_root_t* root, const std::vector<std::string>& nameservers,
                                 uint16_t dns_port)
    : root_(root) {
  if (!root) throw std::invalid_argument("SipResolver needs an su_root");
  if (nameservers.size() > SRES_MAX_NAMESERVERS) {
    throw std::invalid_argument("signaling.nameservers: at most " +
                                std::to_string(SRES_MAX_NAMESERVERS) + " servers");
  }
  if (nameservers.empty() && dns_port != 53) {
    throw std::invalid_argument("a DNS port needs nameservers");
  }
  if (!nameservers.empty()) {
    std::string conf;
    for (const auto& ns : nameservers) {
      const std::string ip = IpLiteral(ns);
      if (ip.empty()) {
        throw std::invalid_argument("signaling.nameservers: '" + ns + "' is not an IP address");
      }
      conf += "nameserver " + ip + "\n";
    }
    if (dns_port != 53) conf += "port " + std::to_string(dns_port) + "\n";
    char path[] = "/tmp/webrtc2sip-resolv-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) throw std::runtime_error("cannot create a resolv.conf for signaling.nameservers");
    const bool written = write(fd, conf.data(), conf.size()) == static_cast<ssize_t>(conf.size());
    close(fd);
    conf_path_ = path;
    if (!written) {
      unlink(path);
      throw std::runtime_error("cannot write " + conf_path_);
    }
  }
  // sres re-reads the file when it changes, so it stays until the end.
  sres_.reset(
      sres_resolver_create(root, conf_path_.empty() ? nullptr : conf_path_.c_str(), TAG_END()));
  deliver_timer_.reset(su_timer_create(su_root_task(root), 0));
  if (!sres_ || !deliver_timer_) {
    if (!conf_path_.empty()) unlink(conf_path_.c_str());
    throw std::runtime_error("cannot create the DNS resolver for SIP");
  }
}

SipResolverCore::~SipResolverCore() {
  sres_.reset();  // first: no sres callback after this
  deliver_timer_.reset();
  if (!conf_path_.empty()) unlink(conf_path_.c_str());
}

bool SipResolverCore::Supported(std::string_view transport) const {
  return std::find(transports_.begin(), transports_.end(), transport) != transports_.end();
}

std::string SipResolverCore::FallbackTransport(bool sips) const {
  if (sips) return "tls";
  for (const char* t : {"udp", "tcp", "tls"}) {
    if (Supported(t)) return t;
  }
  return "udp";
}

uint64_t SipResolverCore::Start(const url_t* uri, SipResolver::Callback callback) {
  const uint64_t id = next_id_++;
  auto owned = std::make_unique<Resolution>();
  Resolution& r = *owned;
  r.callback = std::move(callback);
  r.core = this;
  r.id = id;
  resolutions_.emplace(id, std::move(owned));

  if (!uri || (uri->url_type != url_sip && uri->url_type != url_sips) || !uri->url_host) {
    Finish(r, {});
    return id;
  }
  r.sips = uri->url_type == url_sips;

  char value[256];
  std::string host = uri->url_host;
  isize_t n = url_param(uri->url_params, "maddr", value, sizeof(value));
  if (n > 1 && n <= static_cast<isize_t>(sizeof(value))) host = value;
  n = url_param(uri->url_params, "transport", value, sizeof(value));
  if (n > 1 && n <= static_cast<isize_t>(sizeof(value))) r.transport = Lower(value);
  if (r.sips && r.transport == "tcp") r.transport = "tls";  // sips over tcp is TLS
  const bool bad_transport =
      !r.transport.empty() &&
      ((r.transport != "udp" && r.transport != "tcp" && r.transport != "tls") ||
       (r.sips && r.transport != "tls") || !Supported(r.transport));

  uint16_t port = 0;
  bool bad_port = false;
  if (uri->url_port && *uri->url_port) {
    const std::string_view text = uri->url_port;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    bad_port = error != std::errc() || end != text.data() + text.size() || port == 0;
  }
  if (bad_transport || bad_port) {
    Finish(r, {});
    return id;
  }

  const std::string transport = r.transport.empty() ? FallbackTransport(r.sips) : r.transport;
  if (const std::string ip = IpLiteral(host); !ip.empty()) {
    std::vector<SipTarget> targets;
    if (Supported(transport)) {
      targets.push_back({transport, ip, port ? port : DefaultPort(transport)});
    }
    Finish(r, std::move(targets));
    return id;
  }
  r.domain = host;
  if (port) {
    StartAddresses(r, {{transport, host, port}});
  } else if (!r.transport.empty()) {
    StartSrv(r, {{r.transport, SrvName(r.sips, r.transport, host)}});
  } else {
    StartNaptr(r);
  }
  return id;
}

void SipResolverCore::Query(Resolution& r, uint16_t type, std::string name, std::string transport) {
  const size_t index = r.lookups.size();
  r.lookups.push_back({type, std::move(name), std::move(transport), {}, {}, {}});
  Lookup& lookup = r.lookups.back();
  if (sres_record_t** cached = sres_cached_answers(sres_.get(), type, lookup.name.c_str())) {
    Fill(lookup, cached);
    sres_free_answers(sres_.get(), cached);
    return;
  }
  sres_query_t* q = sres_query(sres_.get(), &SipResolverCore::OnAnswer,
                               reinterpret_cast<sres_context_t*>(this), type, lookup.name.c_str());
  if (!q) {
    log::Warn("dns query not sent", {{"name", lookup.name}, {"error", std::strerror(errno)}});
    return;  // as if nothing was found
  }
  queries_[q] = {r.id, index};
  ++r.pending;
}

void SipResolverCore::StartNaptr(Resolution& r) {
  r.stage = Resolution::Stage::kNaptr;
  r.lookups.clear();
  Query(r, sres_type_naptr, DomainKey(r.domain));
  AdvanceOrWait(r);
}

void SipResolverCore::StartSrv(Resolution& r,
                               const std::vector<std::pair<std::string, std::string>>& names) {
  r.stage = Resolution::Stage::kSrv;
  r.lookups.clear();
  for (const auto& [transport, name] : names) {
    Query(r, sres_type_srv, DomainKey(name), transport);
  }
  AdvanceOrWait(r);
}

void SipResolverCore::StartAddresses(Resolution& r, std::vector<Hop> hops) {
  r.stage = Resolution::Stage::kAddress;
  r.lookups.clear();
  std::vector<std::string> hosts;
  for (Hop& hop : hops) {
    if (!IpLiteral(hop.host).empty()) continue;
    hop.host = DomainKey(hop.host);
    if (std::find(hosts.begin(), hosts.end(), hop.host) == hosts.end()) hosts.push_back(hop.host);
  }
  if (hosts.size() > kMaxHosts) {
    log::Warn("sip next hop has too many hosts", {{"domain", r.domain}});
    hosts.resize(kMaxHosts);
  }
  r.hops = std::move(hops);
  for (const std::string& host : hosts) {
    Query(r, sres_type_a, host);
    Query(r, sres_type_aaaa, host);
  }
  AdvanceOrWait(r);
}

void SipResolverCore::Advance(Resolution& r) {
  switch (r.stage) {
    case Resolution::Stage::kNaptr:
      return AfterNaptr(r);
    case Resolution::Stage::kSrv:
      return AfterSrv(r);
    case Resolution::Stage::kAddress:
      return AfterAddresses(r);
  }
}

void SipResolverCore::AdvanceOrWait(Resolution& r) {
  if (r.pending == 0) return Advance(r);
  if (!r.timer) r.timer.reset(su_timer_create(su_root_task(root_), 0));
  su_timer_set_interval(r.timer.get(), &SipResolverCore::OnStageTimeout,
                        reinterpret_cast<su_timer_arg_t*>(&r),
                        static_cast<su_duration_t>(dns_timeout_.count()));
}

// Goes on without the missing answers: a server that drops NAPTR queries
// still leaves SRV and A/AAAA.
void SipResolverCore::StageTimedOut(Resolution& r) {
  for (auto it = queries_.begin(); it != queries_.end();) {
    if (it->second.first != r.id) {
      ++it;
      continue;
    }
    log::Warn("dns query timed out", {{"name", r.lookups[it->second.second].name}});
    it = queries_.erase(it);  // a late answer is dropped
  }
  r.pending = 0;
  Advance(r);
}

void SipResolverCore::AfterNaptr(Resolution& r) {
  std::vector<Naptr> records = r.lookups.empty() ? std::vector<Naptr>{} : r.lookups[0].naptr;
  std::stable_sort(records.begin(), records.end(), [](const Naptr& a, const Naptr& b) {
    return a.order != b.order ? a.order < b.order : a.preference < b.preference;
  });
  std::vector<std::pair<std::string, std::string>> names;
  for (const Naptr& n : records) {
    if ((r.sips && n.transport != "tls") || !Supported(n.transport)) continue;
    names.emplace_back(n.transport, n.replacement);
  }
  if (names.empty()) {  // no (usable) NAPTR: SRV of every transport we have
    for (const char* t : {"udp", "tcp", "tls"}) {
      if ((!r.sips || std::string_view(t) == "tls") && Supported(t)) {
        names.emplace_back(t, SrvName(r.sips, t, r.domain));
      }
    }
  } else {
    r.transport = names.front().first;  // used if no SRV record answers
  }
  StartSrv(r, names);
}

void SipResolverCore::AfterSrv(Resolution& r) {
  std::vector<Hop> hops;
  for (const Lookup& lookup : r.lookups) {
    for (Srv& srv : OrderSrv(lookup.srv, rng_)) {
      hops.push_back({lookup.transport, std::move(srv.target), srv.port});
    }
  }
  if (hops.empty()) {  // no SRV: A/AAAA of the domain on the default port
    const std::string t = r.transport.empty() ? FallbackTransport(r.sips) : r.transport;
    if (Supported(t)) hops.push_back({t, r.domain, DefaultPort(t)});
  }
  StartAddresses(r, std::move(hops));
}

void SipResolverCore::AfterAddresses(Resolution& r) {
  std::vector<SipTarget> targets;
  auto add = [&](const Hop& hop, const std::string& address) {
    SipTarget target{hop.transport, address, hop.port};
    if (std::find(targets.begin(), targets.end(), target) == targets.end()) {
      targets.push_back(std::move(target));
    }
  };
  for (const Hop& hop : r.hops) {
    if (const std::string ip = IpLiteral(hop.host); !ip.empty()) {
      add(hop, ip);
      continue;
    }
    for (uint16_t type : {sres_type_a, sres_type_aaaa}) {  // IPv4 first
      for (const Lookup& lookup : r.lookups) {
        if (lookup.type != type || lookup.name != hop.host) continue;
        for (const std::string& address : lookup.addresses) add(hop, address);
      }
    }
  }
  Finish(r, std::move(targets));
}

void SipResolverCore::Finish(Resolution& r, std::vector<SipTarget> targets) {
  r.targets = std::move(targets);
  r.lookups.clear();
  ready_.push_back(r.id);
  if (!deliver_armed_) {
    su_timer_set_interval(deliver_timer_.get(), &SipResolverCore::OnDeliver,
                          reinterpret_cast<su_timer_arg_t*>(this), 0);
    deliver_armed_ = true;
  }
}

void SipResolverCore::Fill(Lookup& lookup, sres_record_t** answers) {
  for (size_t i = 0; answers && answers[i]; ++i) {
    const sres_record_t* rr = answers[i];
    if (rr->sr_record->r_status != SRES_OK || rr->sr_record->r_type != lookup.type) continue;
    char text[INET6_ADDRSTRLEN];
    switch (lookup.type) {
      case sres_type_a:
        if (inet_ntop(AF_INET, &rr->sr_a->a_addr, text, sizeof(text))) {
          lookup.addresses.emplace_back(text);
        }
        break;
      case sres_type_aaaa:
        if (inet_ntop(AF_INET6, &rr->sr_aaaa->aaaa_addr, text, sizeof(text))) {
          lookup.addresses.emplace_back(text);
        }
        break;
      case sres_type_srv: {
        const sres_srv_record_t* srv = rr->sr_srv;
        // A target of "." means the service is not offered there.
        if (!srv->srv_target || DomainKey(srv->srv_target).empty() || srv->srv_port == 0) break;
        lookup.srv.push_back({srv->srv_priority, srv->srv_weight, srv->srv_port, srv->srv_target});
        break;
      }
      case sres_type_naptr: {
        const sres_naptr_record_t* na = rr->sr_naptr;
        if (!na->na_flags || !su_casematch(na->na_flags, "s") || !na->na_services ||
            !na->na_replace || DomainKey(na->na_replace).empty()) {
          break;
        }
        std::string transport;
        if (su_casematch(na->na_services, "SIP+D2U")) transport = "udp";
        if (su_casematch(na->na_services, "SIP+D2T")) transport = "tcp";
        if (su_casematch(na->na_services, "SIPS+D2T")) transport = "tls";
        if (transport.empty()) break;
        lookup.naptr.push_back({na->na_order, na->na_prefer, transport, na->na_replace});
        break;
      }
      default:
        break;
    }
  }
}

void SipResolverCore::OnAnswer(sres_context_t* context, sres_query_t* query,
                               sres_record_t** answers) {
  auto* self = reinterpret_cast<SipResolverCore*>(context);
  auto q = self->queries_.find(query);
  const auto [id, index] = q != self->queries_.end() ? q->second : std::pair<uint64_t, size_t>{};
  if (q != self->queries_.end()) self->queries_.erase(q);
  auto it = self->resolutions_.find(id);
  if (it == self->resolutions_.end() || index >= it->second->lookups.size()) {
    sres_free_answers(self->sres_.get(), answers);  // cancelled meanwhile
    return;
  }
  Resolution& r = *it->second;
  Fill(r.lookups[index], answers);
  sres_free_answers(self->sres_.get(), answers);
  if (--r.pending == 0) {
    if (r.timer) su_timer_reset(r.timer.get());
    self->Advance(r);
  }
}

void SipResolverCore::OnStageTimeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* r = reinterpret_cast<Resolution*>(arg);
  r->core->StageTimedOut(*r);
}

void SipResolverCore::OnDeliver(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* self = reinterpret_cast<SipResolverCore*>(arg);
  const std::weak_ptr<SipResolverCore> alive = self->weak_from_this();
  self->deliver_armed_ = false;
  std::deque<uint64_t> ready;
  ready.swap(self->ready_);
  for (uint64_t id : ready) {
    auto it = self->resolutions_.find(id);
    if (it == self->resolutions_.end()) continue;  // cancelled
    const std::unique_ptr<Resolution> r = std::move(it->second);
    self->resolutions_.erase(it);
    r->callback(std::move(r->targets));
    if (alive.expired()) return;  // the callback destroyed the resolver
  }
}

SipResolver::Handle::Handle(Handle&& other) noexcept
    : core_(std::move(other.core_)), id_(std::exchange(other.id_, 0)) {}

SipResolver::Handle& SipResolver::Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Cancel();
    core_ = std::move(other.core_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void SipResolver::Handle::Cancel() {
  if (auto core = core_.lock()) core->Cancel(id_);
  core_.reset();
  id_ = 0;
}

bool SipResolver::Handle::pending() const {
  auto core = core_.lock();
  return core && core->Pending(id_);
}

SipResolver::SipResolver(su_root_t* root, const std::vector<std::string>& nameservers,
                         uint16_t dns_port)
    : core_(std::make_shared<SipResolverCore>(root, nameservers, dns_port)) {}

SipResolver::~SipResolver() = default;

void SipResolver::set_dns_timeout(std::chrono::milliseconds timeout) {
  core_->set_dns_timeout(timeout);
}

void SipResolver::set_transports(std::vector<std::string> transports) {
  core_->set_transports(std::move(transports));
}

SipResolver::Handle SipResolver::Resolve(const url_t* uri, Callback callback) {
  return {core_, core_->Start(uri, std::move(callback))};
}

std::string SipResolver::ToRouteUri(const SipTarget& target) {
  const bool v6 = target.address.find(':') != std::string::npos;
  return "sip:" + (v6 ? "[" + target.address + "]" : target.address) + ":" +
         std::to_string(target.port) + ";transport=" + target.transport;
}

}  // namespace webrtc2sip::signaling
