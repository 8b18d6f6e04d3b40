#include "services/media-relay/session/legacy_leg.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/log/logger.h"
#include "services/media-relay/net/port_allocator.h"
#include "services/media-relay/rtp/rtp_packet.h"

namespace webrtc2sip::media {
namespace {

std::optional<sockaddr_storage> ToAddress(const std::string& ip, uint32_t port) {
  if (port == 0 || port > 65535) return std::nullopt;
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return ss;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return ss;
  }
  return std::nullopt;
}

bool SameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
  auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
  return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&b)->sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(&b)->sin6_addr, 16) == 0;
}

}  // namespace

std::unique_ptr<LegacyLeg> LegacyLeg::Create(GMainContext* context, const NodeContext& node,
                                             const std::string& log_id, size_t streams,
                                             v1::SrtpMode mode, Owner& owner,
                                             std::string* error) {
  std::unique_ptr<LegacyLeg> leg(new LegacyLeg(node, log_id, mode, owner));
  UdpSocket::Options options;
  options.buffer_size = static_cast<int>(node.media.rtp_buffsize());
  for (size_t i = 0; i < streams; ++i) {
    auto pair = node.ports->AllocatePair();
    if (!pair) {
      if (error) *error = "no free port pair left in media_relay.port_range";
      return nullptr;
    }
    Stream s;
    s.rtp_port = pair->rtp.port;
    s.rtcp_port = pair->rtcp.port;
    s.rtp = UdpSocket::Create(std::move(pair->rtp.fd), context, *leg, options);
    s.rtcp = UdpSocket::Create(std::move(pair->rtcp.fd), context, *leg, options);
    if (!s.rtp || !s.rtcp) {
      node.ports->Release(s.rtp_port);
      node.ports->Release(s.rtcp_port);
      if (error) *error = "cannot open the legacy leg's sockets";
      return nullptr;
    }
    leg->streams_.push_back(std::move(s));
  }
  if (mode != v1::SRTP_MODE_NONE) {
    uint32_t tag = 1;
    for (SrtpProfile p : OfferedSdesProfiles()) leg->offered_.push_back(GenerateSdesKey(tag++, p));
  }
  return leg;
}

LegacyLeg::LegacyLeg(const NodeContext& node, std::string log_id, v1::SrtpMode mode, Owner& owner)
    : node_(node), log_id_(std::move(log_id)), mode_(mode), owner_(owner) {}

LegacyLeg::~LegacyLeg() {
  for (auto& s : streams_) {
    s.rtp.reset();
    s.rtcp.reset();
    node_.ports->Release(s.rtp_port);
    node_.ports->Release(s.rtcp_port);
  }
}

std::optional<std::string> LegacyLeg::SetRemote(const v1::LegacyTransport& remote,
                                                bool remote_is_offer) {
  remote_is_offer_ = remote_is_offer;
  if (static_cast<size_t>(remote.endpoints_size()) != streams_.size()) {
    return "legacy transport: " + std::to_string(remote.endpoints_size()) +
           " endpoints for " + std::to_string(streams_.size()) + " streams";
  }
  for (size_t i = 0; i < streams_.size(); ++i) {
    const auto& ep = remote.endpoints(static_cast<int>(i));
    Stream& s = streams_[i];
    s.rtcp_mux = ep.rtcp_mux();
    s.signalled_rtp = ToAddress(ep.address(), ep.rtp_port());
    s.signalled_rtcp = s.rtcp_mux ? s.signalled_rtp
                                  : ToAddress(ep.address(), ep.rtcp_port() ? ep.rtcp_port()
                                                                           : ep.rtp_port() + 1);
    if (ep.rtp_port() != 0 && !s.signalled_rtp) {
      return "legacy transport: endpoints[" + std::to_string(i) + "].address '" + ep.address() +
             "' is not an IP address";
    }
    // A new description restarts latching from the signalled address.
    if (!s.latched_rtp) s.rtp_to = s.signalled_rtp;
    if (!s.latched_rtcp) s.rtcp_to = s.signalled_rtcp;
  }

  // SDES: the peer's key comes on the first endpoint's crypto lines.
  const auto& crypto = remote.endpoints_size() ? remote.endpoints(0).crypto()
                                               : google::protobuf::RepeatedPtrField<v1::SdesCrypto>();
  const bool savp = remote.profile() == v1::PROFILE_RTP_SAVP ||
                    remote.profile() == v1::PROFILE_RTP_SAVPF;
  remote_savp_ = savp;
  std::optional<SdesKey> remote_key;
  for (const auto& c : crypto) {
    remote_key = ParseSdesKey(c.tag(), c.suite(), c.key_params());
    if (remote_key) break;
  }
  if (savp && !remote_key) return "legacy transport: RTP/SAVP without a usable crypto line";
  const bool use_srtp = remote_key && (savp || mode_ != v1::SRTP_MODE_NONE);
  if (!use_srtp) {
    if (mode_ == v1::SRTP_MODE_MANDATORY) {
      return "legacy transport: srtp-mode is mandatory and the peer did not take SRTP";
    }
    srtp_in_.reset();
    srtp_out_.reset();
    chosen_local_.reset();
    return std::nullopt;
  }
  if (remote_is_offer) {
    // Answer with a key of our own for the suite the peer offered first.
    chosen_local_ = GenerateSdesKey(remote_key->tag, remote_key->profile);
  } else {
    chosen_local_.reset();
    for (const auto& k : offered_) {
      if (k.tag == remote_key->tag && k.profile == remote_key->profile) chosen_local_ = k;
    }
    if (!chosen_local_) return "legacy transport: the answer's crypto tag was not offered";
  }
  srtp_in_ = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kInbound, remote_key->profile,
                               remote_key->key);
  srtp_out_ = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kOutbound, chosen_local_->profile,
                                chosen_local_->key);
  if (!srtp_in_ || !srtp_out_) return "legacy transport: unusable SDES key";
  return std::nullopt;
}

void LegacyLeg::FillLocal(v1::LegacyTransport* local) const {
  const bool answering_srtp = remote_is_offer_ && chosen_local_;
  // An answer keeps the offer's profile; an offer says what srtp-mode wants.
  const bool savp = remote_is_offer_ ? remote_savp_ : mode_ == v1::SRTP_MODE_MANDATORY;
  local->set_profile(savp ? v1::PROFILE_RTP_SAVP : v1::PROFILE_RTP_AVP);
  for (const auto& s : streams_) {
    auto* ep = local->add_endpoints();
    ep->set_address(node_.legacy_address);
    ep->set_rtp_port(s.rtp_port);
    ep->set_rtcp_port(s.rtcp_mux ? s.rtp_port : s.rtcp_port);
    ep->set_rtcp_mux(s.rtcp_mux);
    if (answering_srtp) {
      auto* c = ep->add_crypto();
      c->set_tag(chosen_local_->tag);
      c->set_suite(std::string(SrtpProfileSdesName(chosen_local_->profile)));
      c->set_key_params(SdesKeyParams(*chosen_local_));
    } else if (!remote_is_offer_) {
      for (const auto& k : offered_) {
        auto* c = ep->add_crypto();
        c->set_tag(k.tag);
        c->set_suite(std::string(SrtpProfileSdesName(k.profile)));
        c->set_key_params(SdesKeyParams(k));
      }
    }
  }
}

void LegacyLeg::OnUdpPacket(UdpSocket& socket, const uint8_t* data, size_t len,
                            const sockaddr_storage& from) {
  for (size_t i = 0; i < streams_.size(); ++i) {
    Stream& s = streams_[i];
    const bool on_rtcp_socket = &socket == s.rtcp.get();
    if (&socket != s.rtp.get() && !on_rtcp_socket) continue;
    std::span<const uint8_t> datagram(data, len);
    const DatagramKind kind = ClassifyDatagram(datagram);
    const bool rtcp = on_rtcp_socket || kind == DatagramKind::kRtcp;
    if ((kind != DatagramKind::kRtp && kind != DatagramKind::kRtcp) || len > scratch_.size()) {
      ++counters_.garbage;
      return;
    }
    // Only the signalled peer's host may send (any port: NATs move it).
    const auto& expected = rtcp ? s.signalled_rtcp : s.signalled_rtp;
    if (expected && !SameHost(*expected, from)) {
      ++counters_.unknown_source;
      return;
    }
    std::copy(data, data + len, scratch_.begin());
    size_t n = len;
    if (srtp_in_) {
      SrtpResult r = rtcp ? srtp_in_->UnprotectRtcp(scratch_.data(), &n)
                          : srtp_in_->UnprotectRtp(scratch_.data(), &n);
      if (r != SrtpResult::kOk) {
        if (r == SrtpResult::kAuthFail) ++counters_.srtp_auth_failed;
        else if (r == SrtpResult::kReplay) ++counters_.srtp_replayed;
        else ++counters_.srtp_other;
        return;
      }
    }
    const bool good = rtcp ? owner_.OnLegacyRtcp(i, scratch_.data(), n, scratch_.size())
                           : owner_.OnLegacyRtp(i, scratch_.data(), n, scratch_.size());
    // Symmetric RTP: send to where the peer's media really comes from, once a
    // packet from there proved to be the peer's media (not any datagram).
    if (good && node_.media.enable_rtp_symetric()) {
      auto& to = rtcp ? s.rtcp_to : s.rtp_to;
      bool& latched = rtcp ? s.latched_rtcp : s.latched_rtp;
      if (!to || !SameAddress(*to, from)) {
        to = from;
        latched = true;
      }
    }
    return;
  }
}

bool LegacyLeg::Send(Stream& s, bool rtcp, uint8_t* data, size_t len, size_t capacity) {
  const auto& to = rtcp && !s.rtcp_mux ? s.rtcp_to : s.rtp_to;
  if (!to) {
    ++counters_.no_destination;
    return false;
  }
  if (srtp_out_) {
    SrtpResult r = rtcp ? srtp_out_->ProtectRtcp(data, &len, capacity)
                        : srtp_out_->ProtectRtp(data, &len, capacity);
    if (r != SrtpResult::kOk) return false;
  }
  UdpSocket& socket = rtcp && !s.rtcp_mux ? *s.rtcp : *s.rtp;
  return socket.SendTo(data, len, *to);
}

bool LegacyLeg::SendRtp(size_t stream, uint8_t* data, size_t len, size_t capacity) {
  return stream < streams_.size() && Send(streams_[stream], false, data, len, capacity);
}

bool LegacyLeg::SendRtcp(size_t stream, uint8_t* data, size_t len, size_t capacity) {
  return stream < streams_.size() && Send(streams_[stream], true, data, len, capacity);
}

}  // namespace webrtc2sip::media
