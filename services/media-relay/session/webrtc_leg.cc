#include "services/media-relay/session/webrtc_leg.h"

#include "common/log/logger.h"
#include "common/metrics/registry.h"
#include "services/media-relay/dtls/dtls_context.h"
#include "services/media-relay/dtls/dtls_fingerprint.h"
#include "services/media-relay/rtp/rtp_packet.h"

namespace webrtc2sip::media {
namespace {

struct LegMetrics {
  metrics::HistogramFamily& ice = metrics::Registry::Global().AddHistogram(
      "webrtc2sip_media_ice_seconds",
      "From the WebRTC leg's creation to ICE connected or failed, by outcome.", {"outcome"},
      {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  metrics::HistogramFamily& dtls = metrics::Registry::Global().AddHistogram(
      "webrtc2sip_media_dtls_seconds", "DTLS handshake duration, by outcome.", {"outcome"},
      {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});

  static LegMetrics& Get() {
    static LegMetrics m;
    return m;
  }
};

double SecondsSince(gint64 start_us) {
  return static_cast<double>(g_get_monotonic_time() - start_us) / 1e6;
}

}  // namespace

std::unique_ptr<WebRtcLeg> WebRtcLeg::Create(GMainContext* context, const NodeContext& node,
                                             const std::string& log_id, Owner& owner,
                                             std::string* error) {
  std::unique_ptr<WebRtcLeg> leg(new WebRtcLeg(node, log_id, owner));
  leg->context_ = context;
  IceTransport::Options options;
  options.bind_address = node.relay.bind_address();
  options.advertised_address = node.webrtc_address;
  options.port_min = static_cast<uint16_t>(node.relay.port_range().min());
  options.port_max = static_cast<uint16_t>(node.relay.port_range().max());
  options.lite = node.relay.ice_mode() != config::v1::ICE_MODE_FULL;
  options.rtp_buffsize = static_cast<int>(node.media.rtp_buffsize());
  options.log_id = log_id;
  leg->ice_ = IceTransport::Create(context, options, *leg, error);
  if (!leg->ice_) return nullptr;
  leg->dtls_ = std::make_unique<DtlsTransport>(node.dtls, leg.get());
  return leg;
}

WebRtcLeg::WebRtcLeg(const NodeContext& node, std::string log_id, Owner& owner)
    : node_(node), log_id_(std::move(log_id)), owner_(owner) {}

WebRtcLeg::~WebRtcLeg() {
  if (dtls_timer_) {
    g_source_destroy(dtls_timer_);
    g_source_unref(dtls_timer_);
  }
  dtls_.reset();
  ice_.reset();
}

std::optional<std::string> WebRtcLeg::SetRemote(const v1::WebRtcTransport& remote) {
  if (remote.ice_ufrag().empty() || remote.ice_pwd().empty()) {
    return "webrtc transport: ice_ufrag and ice_pwd are required";
  }
  if (!remote.rtcp_mux()) return "webrtc transport: rtcp_mux is required on the browser leg";
  const DtlsFingerprint* chosen = nullptr;
  DtlsFingerprint fp;
  for (const auto& f : remote.fingerprints()) {
    if (IsSupportedFingerprintAlgorithm(f.algorithm())) {
      fp = {f.algorithm(), f.value()};
      chosen = &fp;
      break;
    }
  }
  if (!chosen) return "webrtc transport: no fingerprint with a supported algorithm";

  std::vector<IceCandidate> candidates;
  for (const auto& c : remote.candidates()) {
    if (c.protocol() != "udp" && c.protocol() != "UDP") continue;  // no ICE-TCP here
    IceCandidate ic;
    ic.foundation = c.foundation();
    ic.component = c.component() ? c.component() : 1;
    ic.priority = c.priority();
    ic.address = c.address();
    ic.port = static_cast<uint16_t>(c.port());
    ic.type = c.type().empty() ? "host" : c.type();
    ic.related_address = c.related_address();
    ic.related_port = static_cast<uint16_t>(c.related_port());
    candidates.push_back(std::move(ic));
  }
  // An ICE-lite node only answers checks: libnice 0.1.21 in lite mode still
  // sends checks to candidates it is given, which confuses full-ICE peers
  // (aioice fails the pair). The browser is learned as peer-reflexive.
  if (node_.relay.ice_mode() != config::v1::ICE_MODE_FULL) candidates.clear();
  const bool restart = !remote_ufrag_.empty() && remote_ufrag_ != remote.ice_ufrag();
  if (restart && !ice_->Restart()) return "webrtc transport: ICE restart failed";
  if (!ice_->SetRemote(remote.ice_ufrag(), remote.ice_pwd(), candidates)) {
    return "webrtc transport: the ICE agent refused the remote credentials";
  }
  remote_ufrag_ = remote.ice_ufrag();

  if (dtls_started_) return std::nullopt;  // DTLS is per transport: an ICE restart keeps it
  // The role the node answers is the role it takes (never a client before the
  // answer is known): the browser's actpass or active makes the node passive.
  switch (remote.dtls_role()) {
    case v1::DTLS_ROLE_UNSPECIFIED:
    case v1::DTLS_ROLE_CLIENT: local_role_ = v1::DTLS_ROLE_SERVER; break;
    case v1::DTLS_ROLE_SERVER: local_role_ = v1::DTLS_ROLE_CLIENT; break;
    default: return "webrtc transport: unknown dtls_role";
  }
  const DtlsRole role = local_role_ == v1::DTLS_ROLE_CLIENT ? DtlsRole::kClient : DtlsRole::kServer;
  if (!dtls_->Start(role, *chosen)) return "webrtc transport: DTLS cannot start";
  dtls_started_ = true;
  dtls_started_us_ = g_get_monotonic_time();
  ArmDtlsTimer();
  return std::nullopt;
}

void WebRtcLeg::FillLocal(v1::WebRtcTransport* local) const {
  IceParameters ice = ice_->LocalParameters();
  local->set_ice_ufrag(ice.ufrag);
  local->set_ice_pwd(ice.pwd);
  local->set_ice_lite(ice.lite);
  local->set_end_of_candidates(true);
  for (const auto& c : ice.candidates) {
    auto* out = local->add_candidates();
    out->set_foundation(c.foundation);
    out->set_component(c.component);
    out->set_protocol(c.protocol);
    out->set_priority(c.priority);
    out->set_address(c.address);
    out->set_port(c.port);
    out->set_type(c.type);
    out->set_related_address(c.related_address);
    out->set_related_port(c.related_port);
  }
  auto* fp = local->add_fingerprints();
  fp->set_algorithm("sha-256");
  fp->set_value(node_.dtls->certificate().fingerprint());
  local->set_dtls_role(local_role_);
  local->set_bundle(true);
  local->set_rtcp_mux(true);
}

void WebRtcLeg::OnIceData(const uint8_t* data, size_t len) {
  std::span<const uint8_t> datagram(data, len);
  switch (ClassifyDatagram(datagram)) {
    case DatagramKind::kDtls:
      dtls_->ProcessIncoming(data, len);
      ArmDtlsTimer();
      return;
    case DatagramKind::kRtp:
    case DatagramKind::kRtcp: {
      if (!srtp_in_) {
        ++counters_.not_ready;
        return;
      }
      if (len > scratch_.size()) {
        ++counters_.garbage;
        return;
      }
      std::copy(data, data + len, scratch_.begin());
      size_t n = len;
      const bool rtcp = ClassifyDatagram(datagram) == DatagramKind::kRtcp;
      SrtpResult r = rtcp ? srtp_in_->UnprotectRtcp(scratch_.data(), &n)
                          : srtp_in_->UnprotectRtp(scratch_.data(), &n);
      if (r != SrtpResult::kOk) {
        if (r == SrtpResult::kAuthFail) ++counters_.srtp_auth_failed;
        else if (r == SrtpResult::kReplay) ++counters_.srtp_replayed;
        else ++counters_.srtp_other;
        return;
      }
      if (rtcp) {
        owner_.OnWebRtcRtcp(scratch_.data(), n, scratch_.size());
      } else {
        owner_.OnWebRtcRtp(scratch_.data(), n, scratch_.size());
      }
      return;
    }
    default:
      ++counters_.garbage;  // libnice handles STUN itself
      return;
  }
}

bool WebRtcLeg::SendRtp(uint8_t* data, size_t len, size_t capacity) {
  if (!srtp_out_) return false;
  if (srtp_out_->ProtectRtp(data, &len, capacity) != SrtpResult::kOk) return false;
  return ice_->Send(data, len);
}

bool WebRtcLeg::SendRtcp(uint8_t* data, size_t len, size_t capacity) {
  if (!srtp_out_) return false;
  if (srtp_out_->ProtectRtcp(data, &len, capacity) != SrtpResult::kOk) return false;
  return ice_->Send(data, len);
}

void WebRtcLeg::OnIceStateChanged(IceState state) {
  log::Debug("ice state", {{"session", log_id_}, {"state", IceStateName(state)}});
  if ((state == IceState::kConnected || state == IceState::kCompleted) && !ice_connected_) {
    ice_connected_ = true;
    LegMetrics::Get().ice.WithLabels({"connected"}).Observe(SecondsSince(created_us_));
    for (const auto& record : std::exchange(unsent_dtls_, {})) ice_->Send(record.data(), record.size());
  } else if (state == IceState::kFailed && !ice_connected_ && !failed_) {
    LegMetrics::Get().ice.WithLabels({"failed"}).Observe(SecondsSince(created_us_));
  }
  if (state == IceState::kFailed && !failed_) {
    failed_ = true;
    owner_.OnWebRtcFailed("ice_failed");  // may destroy nothing: the owner defers
  } else if (state == IceState::kDisconnected) {
    owner_.OnWebRtcFailed("consent_lost");
  }
}

void WebRtcLeg::OnIceSelectedPair(const IceCandidate& local, const IceCandidate& remote) {
  log::Debug("ice pair", {{"session", log_id_},
                          {"local", local.address + ":" + std::to_string(local.port)},
                          {"remote", remote.address + ":" + std::to_string(remote.port)},
                          {"remote_type", remote.type}});
}

void WebRtcLeg::OnDtlsSendData(const uint8_t* data, size_t len) {
  if (ice_->Send(data, len) || ice_connected_) return;
  if (unsent_dtls_.size() < DtlsTransport::kMaxEarlyDatagrams) unsent_dtls_.emplace_back(data, data + len);
}

void WebRtcLeg::OnDtlsConnected(SrtpProfile profile, SrtpKeyMaterial keys) {
  srtp_in_ = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kInbound, profile, keys.remote);
  srtp_out_ = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kOutbound, profile, keys.local);
  if (!srtp_in_ || !srtp_out_) {
    srtp_in_.reset();
    srtp_out_.reset();
    failed_ = true;
    owner_.OnWebRtcFailed("srtp_keys");
    return;
  }
  LegMetrics::Get().dtls.WithLabels({"connected"}).Observe(SecondsSince(dtls_started_us_));
  log::Info("dtls connected", {{"session", log_id_}, {"profile", SrtpProfileDtlsName(profile)}});
  owner_.OnWebRtcConnected();
}

void WebRtcLeg::OnDtlsFailed(DtlsFailure reason) {
  if (failed_) return;
  failed_ = true;
  LegMetrics::Get().dtls.WithLabels({"failed"}).Observe(SecondsSince(dtls_started_us_));
  owner_.OnWebRtcFailed(reason == DtlsFailure::kFingerprintMismatch ? "dtls_fingerprint_mismatch"
                        : reason == DtlsFailure::kTimeout          ? "dtls_timeout"
                                                                   : "dtls_failed");
}

void WebRtcLeg::OnDtlsClosed() { log::Debug("dtls closed", {{"session", log_id_}}); }

void WebRtcLeg::ArmDtlsTimer() {
  if (dtls_timer_) {
    g_source_destroy(dtls_timer_);
    g_source_unref(dtls_timer_);
    dtls_timer_ = nullptr;
  }
  auto next = dtls_->NextTimeout();
  if (!next) return;
  // Removed in the destructor: `this` cannot dangle.
  dtls_timer_ = g_timeout_source_new(static_cast<guint>(std::max<int64_t>(1, next->count())));
  g_source_set_callback(dtls_timer_, &WebRtcLeg::OnDtlsTimer, this, nullptr);
  g_source_attach(dtls_timer_, context_);
}

gboolean WebRtcLeg::OnDtlsTimer(gpointer self) {
  auto* leg = static_cast<WebRtcLeg*>(self);
  leg->dtls_->HandleTimeout();
  // Re-armed for the next retransmission, if any; this source is done.
  GSource* current = leg->dtls_timer_;
  leg->dtls_timer_ = nullptr;
  leg->ArmDtlsTimer();
  if (current) g_source_unref(current);
  return G_SOURCE_REMOVE;
}

}  // namespace webrtc2sip::media
