#pragma once

// RFC 3263 section 4: where to send a request for a SIP URI (the next hop:
// outbound proxy, top Route or Request-URI). NAPTR -> SRV -> A/AAAA through
// sofia's sres resolver on the same su_root as nta, so nothing blocks the loop.
// The result is an ordered list of IP targets to try in turn; each one maps to
// an nta route_url with ToRouteUri().

#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace webrtc2sip::signaling {

class SipResolverCore;  // sip_resolver.cc

struct SipTarget {
  std::string transport;  // "udp", "tcp" or "tls"
  std::string address;    // IP literal; IPv6 without brackets
  uint16_t port = 0;

  bool operator==(const SipTarget&) const = default;
};

class SipResolver {
 public:
  // Called once, on a later turn of the su_root loop (never inside Resolve),
  // with the targets in the order to try them; empty when nothing was found.
  using Callback = std::function<void(std::vector<SipTarget>)>;

  // One resolution in progress. Destroying or cancelling it, or destroying
  // the resolver, guarantees the callback is not called afterwards.
  class Handle {
   public:
    Handle() = default;
    ~Handle() { Cancel(); }
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    void Cancel();
    // True until the callback has been called or the resolution cancelled.
    bool pending() const;

   private:
    friend class SipResolver;
    Handle(std::weak_ptr<SipResolverCore> core, uint64_t id) : core_(std::move(core)), id_(id) {}

    std::weak_ptr<SipResolverCore> core_;
    uint64_t id_ = 0;
  };

  // Uses `nameservers` (IP literals, at most 6) on `dns_port`, or
  // /etc/resolv.conf when the list is empty. Must be created, used and
  // destroyed on the thread that runs `root`. Throws std::invalid_argument for
  // a bad nameserver and std::runtime_error when the resolver cannot start.
  SipResolver(su_root_t* root, const std::vector<std::string>& nameservers, uint16_t dns_port = 53);
  ~SipResolver();
  SipResolver(const SipResolver&) = delete;
  SipResolver& operator=(const SipResolver&) = delete;

  // Transports the gateway can send on ("udp", "tcp", "tls"); targets on any
  // other are never returned. Default: all three.
  void set_transports(std::vector<std::string> transports);
  // How long each step (NAPTR, SRV, A/AAAA) waits for DNS before going on
  // without the missing answers. Default 4 s; a silent server thus costs at
  // most three of these.
  void set_dns_timeout(std::chrono::milliseconds timeout);

  // `uri` is only read during the call. A non-SIP URI, a bad port or an
  // unsupported transport= gives an empty list.
  [[nodiscard]] Handle Resolve(const url_t* uri, Callback callback);

  // "sip:192.0.2.1:5060;transport=udp", "sip:[2001:db8::1]:5061;transport=tls":
  // nta_outgoing_mcreate's route_url sending exactly to `target`, without DNS.
  static std::string ToRouteUri(const SipTarget& target);

 private:
  std::shared_ptr<SipResolverCore> core_;
};

}  // namespace webrtc2sip::signaling
