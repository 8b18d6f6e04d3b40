#include "services/media-relay/ice/ice_direct_path.h"

#include <fcntl.h>

#include <array>

#include "common/metrics/registry.h"
#include "services/media-relay/net/socket_address.h"

namespace webrtc2sip::media {
namespace {

struct DirectPathMetrics {
  metrics::Counter& checks_answered;
  metrics::Counter& unknown_source;
  metrics::Counter& stun_malformed;
  metrics::Counter& stun_unauthenticated;
  metrics::Counter& stun_other;

  static DirectPathMetrics& Get() {
    static DirectPathMetrics instance = [] {
      auto& registry = metrics::Registry::Global();
      auto& dropped = registry.AddCounter(
          "webrtc2sip_media_ice_dropped_packets_total",
          "Datagrams the ICE transport of a WebRTC leg could not send or would not take.",
          {"reason"});
      return DirectPathMetrics{
          registry
              .AddCounter("webrtc2sip_media_ice_checks_answered_total",
                          "Connectivity and consent checks of browsers answered on the media "
                          "path (the selected pair of an ICE-lite leg), without libnice.")
              .WithLabels({}),
          dropped.WithLabels({"unknown_source"}), dropped.WithLabels({"stun_malformed"}),
          dropped.WithLabels({"stun_unauthenticated"}), dropped.WithLabels({"stun_other"})};
    }();
    return instance;
  }
};

}  // namespace

std::unique_ptr<IceDirectPath> IceDirectPath::Create(GMainContext* context, int fd,
                                                     const sockaddr_storage& remote,
                                                     std::string local_ufrag,
                                                     std::string_view local_pwd, int buffer_size,
                                                     Owner& owner) {
  DirectPathMetrics::Get();
  if (local_ufrag.empty() || local_pwd.empty()) return nullptr;
  UniqueFd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) return nullptr;
  std::unique_ptr<IceDirectPath> path(new IceDirectPath(remote, std::move(local_ufrag), owner));
  stun::SetPassword(path->key_, local_pwd);
  UdpSocket::Options options;
  options.buffer_size = buffer_size;
  path->socket_ = UdpSocket::Create(std::move(copy), context, *path, options);
  if (!path->socket_) return nullptr;
  return path;
}

IceDirectPath::IceDirectPath(const sockaddr_storage& remote, std::string local_ufrag,
                             Owner& owner)
    : remote_(remote), local_ufrag_(std::move(local_ufrag)), owner_(owner) {}

IceDirectPath::~IceDirectPath() = default;

bool IceDirectPath::Send(const uint8_t* data, size_t len) {
  return socket_->SendTo(data, len, remote_);
}

void IceDirectPath::OnUdpPacket(UdpSocket&, const uint8_t* data, size_t len,
                                const sockaddr_storage& from) {
  // RFC 7983: 0..3 is STUN; DTLS, RTP and RTCP go up as libnice would hand them.
  if (len > 0 && data[0] <= 3) {
    OnStun(data, len, from);
    return;
  }
  if (!SameSocketAddress(from, remote_)) [[unlikely]] {
    ++stats_.unknown_source;
    DirectPathMetrics::Get().unknown_source.Inc();
    return;
  }
  owner_.OnDirectPathData(data, len);  // Last: the owner may destroy this path.
}

void IceDirectPath::HandBack(std::string_view why) {
  if (handing_back_) return;
  handing_back_ = true;
  owner_.OnDirectPathNeedsAgent(why);
}

void IceDirectPath::OnStun(const uint8_t* data, size_t len, const sockaddr_storage& from) {
  auto& metrics = DirectPathMetrics::Get();
  if (handing_back_) {
    ++stats_.stun_dropped;  // libnice's now: the browser retransmits.
    metrics.stun_other.Inc();
    return;
  }
  const std::span<const uint8_t> datagram(data, len);
  stun::Message message;
  if (stun::Parse(datagram, message) != stun::ParseResult::kOk) {
    ++stats_.stun_dropped;
    metrics.stun_malformed.Inc();
    return;
  }
  if (message.method != stun::kBindingMethod ||
      message.message_class != stun::MessageClass::kRequest) {
    // Indications need no answer; responses answer nothing libnice still waits for.
    ++stats_.stun_dropped;
    metrics.stun_other.Inc();
    return;
  }
  if (!stun::UsernameIsFor(message.username, local_ufrag_) ||
      !stun::IntegrityMatches(datagram, message, key_)) {
    // Not for these credentials (a stray check, or one of a restart not made yet), or forged.
    ++stats_.stun_dropped;
    metrics.stun_unauthenticated.Inc();
    return;
  }
  if (message.ice_controlled) {
    HandBack("role conflict");  // Both controlled: libnice resolves it.
    return;
  }
  if (message.use_candidate && !SameSocketAddress(from, remote_)) {
    HandBack("nomination");  // Another pair: libnice moves to it if its priority is higher.
    return;
  }
  // A check on the selected pair (consent, RFC 7675), or one of another pair that does not
  // nominate it: answered with where it came from.
  std::array<uint8_t, stun::kMaxMessageSize> response;
  const size_t n = stun::EncodeBindingSuccess(message.transaction, from, key_, response);
  if (n == 0 || !socket_->SendTo(response.data(), n, from)) return;
  ++stats_.checks_answered;
  metrics.checks_answered.Inc();
}

}  // namespace webrtc2sip::media
