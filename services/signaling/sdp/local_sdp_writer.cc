#include "services/signaling/sdp/local_sdp_writer.h"

#include <algorithm>

#include "absl/status/status.h"
#include "services/signaling/sdp/codec_catalog.h"
#include "services/signaling/sdp/sdp_writer.h"

namespace webrtc2sip::signaling::sdp {
namespace {

namespace v1 = media::v1;

Direction Mirror(Direction d) {
  if (d == Direction::kSendOnly) return Direction::kRecvOnly;
  if (d == Direction::kRecvOnly) return Direction::kSendOnly;
  return d;
}

bool Sends(Direction d) {
  return d == Direction::kSendRecv || d == Direction::kSendOnly;
}
bool Receives(Direction d) {
  return d == Direction::kSendRecv || d == Direction::kRecvOnly;
}

Direction Narrow(Direction d, Direction far) {
  const bool send = Sends(d) && Sends(far);
  const bool recv = Receives(d) && Receives(far);
  if (send && recv) return Direction::kSendRecv;
  if (send) return Direction::kSendOnly;
  if (recv) return Direction::kRecvOnly;
  return Direction::kInactive;
}

Connection ConnectionOf(const std::string& address) {
  const bool v6 = address.find(':') != std::string::npos;
  return Connection{"IN", v6 ? "IP6" : "IP4", address};
}

// Feedback the node acts on; anything else (transport-cc, goog-remb) would
// promise messages it never sends.
bool ServedFeedback(const v1::RtcpFeedback& fb) {
  return (fb.type() == "nack" && (fb.parameter().empty() || fb.parameter() == "pli")) ||
         (fb.type() == "ccm" && fb.parameter() == "fir");
}

// One section to write: the offered m= line it answers (if any) and its stream.
struct Slot {
  const MediaDescription* offered = nullptr;
  const v1::MediaStream* stream = nullptr;  // null: not a stream, rejected
  int index = -1;                           // stream index
};

absl::StatusOr<std::vector<Slot>> Slots(const v1::LocalDescription& local,
                                        const LocalSdpOptions& options) {
  if (options.far_streams && options.far_streams->size() != local.streams_size()) {
    return absl::InvalidArgumentError(
        "far_streams has " + std::to_string(options.far_streams->size()) +
        " streams, the local description " + std::to_string(local.streams_size()));
  }
  std::vector<Slot> slots;
  if (!options.answer_to) {
    for (int i = 0; i < local.streams_size(); ++i) slots.push_back({nullptr, &local.streams(i), i});
    return slots;
  }
  int next = 0;
  for (const MediaDescription& m : options.answer_to->media) {
    if (!IsStreamSection(m)) {
      slots.push_back({&m, nullptr, -1});
      continue;
    }
    if (next >= local.streams_size()) break;
    slots.push_back({&m, &local.streams(next), next});
    ++next;
  }
  if (next != local.streams_size() ||
      static_cast<size_t>(std::count_if(options.answer_to->media.begin(),
                                        options.answer_to->media.end(), IsStreamSection)) !=
          static_cast<size_t>(next)) {
    return absl::InvalidArgumentError(
        "the offer has a different number of audio/video m= lines "
        "than the local description's " +
        std::to_string(local.streams_size()) + " streams");
  }
  return slots;
}

// The codecs to write: the stream's, less those the far peer cannot take.
std::vector<const v1::Codec*> Codecs(const v1::MediaStream& s, const v1::MediaStream* far) {
  std::vector<const v1::Codec*> out;
  for (const v1::Codec& c : s.codecs()) {
    if (far && std::none_of(far->codecs().begin(), far->codecs().end(),
                            [&c](const v1::Codec& f) { return SameCodec(c, f); })) {
      continue;
    }
    out.push_back(&c);
  }
  return out;
}

bool HasMediaCodec(const std::vector<const v1::Codec*>& codecs) {
  return std::any_of(codecs.begin(), codecs.end(),
                     [](const v1::Codec* c) { return IsMediaCodec(*c); });
}

// What a section says: its direction (answer: the mirror of the offer's), its
// codecs, or that it is rejected.
struct Decision {
  bool rejected = false;
  Direction direction = Direction::kSendRecv;
  std::vector<const v1::Codec*> codecs;
};

Decision Decide(const Slot& slot, const LocalSdpOptions& options, bool offered_rejected) {
  Decision d;
  const v1::MediaStream* far = options.far_streams ? &(*options.far_streams)[slot.index] : nullptr;
  d.codecs = Codecs(*slot.stream, options.transcoding ? nullptr : far);
  if (options.answer_to) {
    // The mirror of the offer, narrowed to what the far peer sends and receives.
    d.direction = Mirror(EffectiveDirection(*options.answer_to, *slot.offered));
    if (far) d.direction = Narrow(d.direction, FromProto(far->direction()));
  } else {
    // An offer relays the far peer's wish (a re-offer carries its hold).
    d.direction = FromProto(far ? far->direction() : slot.stream->direction());
  }
  d.rejected = slot.stream->rejected() || offered_rejected || (far && far->rejected()) ||
               !HasMediaCodec(d.codecs);
  return d;
}

void AddFormats(MediaDescription& m, const std::vector<const v1::Codec*>& codecs, bool feedback) {
  for (const v1::Codec* c : codecs) {
    const std::string pt = std::to_string(c->payload_type());
    m.formats.push_back(pt);
    m.rtpmaps.push_back(
        {c->payload_type(), c->name(), c->clock_rate(), c->channels() > 1 ? c->channels() : 0});
    if (feedback) {
      for (const auto& fb : c->rtcp_feedback()) {
        if (ServedFeedback(fb)) m.rtcp_fbs.push_back({pt, fb.type(), fb.parameter()});
      }
    }
    if (!c->fmtp().empty()) m.fmtps.push_back({pt, c->fmtp()});
  }
}

// A rejected section: port 0 and formats only (those offered, when answering).
MediaDescription RejectedSection(const Slot& slot, const std::string& proto) {
  MediaDescription m;
  if (slot.offered) {
    m.media = slot.offered->media;
    m.proto = slot.offered->proto;
    m.formats = slot.offered->formats;
  } else {
    const bool video = slot.stream->kind() == v1::MEDIA_KIND_VIDEO;
    m.media = video ? "video" : "audio";
    m.proto = proto;
    for (const auto& c : slot.stream->codecs())
      m.formats.push_back(std::to_string(c.payload_type()));
  }
  if (m.formats.empty()) m.formats.push_back(m.media == "video" ? "34" : "0");
  return m;
}

SessionDescription Session(const LocalSdpOptions& options) {
  SessionDescription sdp;
  sdp.origin = options.origin;
  sdp.session_name = options.session_name;
  return sdp;
}

const char* ProfileName(v1::Profile p) {
  switch (p) {
    case v1::PROFILE_RTP_SAVP:
      return "RTP/SAVP";
    case v1::PROFILE_RTP_AVPF:
      return "RTP/AVPF";
    case v1::PROFILE_RTP_SAVPF:
      return "RTP/SAVPF";
    default:
      return "RTP/AVP";
  }
}

std::string Kind(const v1::MediaStream& s) {
  return s.kind() == v1::MEDIA_KIND_VIDEO ? "video" : "audio";
}

}  // namespace

absl::StatusOr<SessionDescription> BuildLegacySdp(const v1::LocalDescription& local,
                                                  const LocalSdpOptions& options) {
  if (local.type() != v1::LEG_TYPE_LEGACY || !local.has_legacy()) {
    return absl::InvalidArgumentError("not the legacy leg's local description");
  }
  const v1::LegacyTransport& t = local.legacy();
  if (t.endpoints_size() != local.streams_size()) {
    return absl::InvalidArgumentError(
        "legacy local description: " + std::to_string(t.endpoints_size()) + " endpoints for " +
        std::to_string(local.streams_size()) + " streams");
  }
  auto slots = Slots(local, options);
  if (!slots.ok()) return slots.status();

  SessionDescription sdp = Session(options);
  for (const v1::LegacyEndpoint& ep : t.endpoints()) {
    if (!ep.address().empty()) {
      sdp.connection = ConnectionOf(ep.address());
      break;
    }
  }
  for (const Slot& slot : *slots) {
    const std::string proto = slot.offered ? slot.offered->proto : ProfileName(t.profile());
    if (!slot.stream) {
      sdp.media.push_back(RejectedSection(slot, proto));
      continue;
    }
    const Decision d = Decide(slot, options, slot.offered && slot.offered->port == 0);
    if (d.rejected) {
      sdp.media.push_back(RejectedSection(slot, proto));
      continue;
    }
    const v1::LegacyEndpoint& ep = t.endpoints(slot.index);
    if (ep.address().empty() || ep.rtp_port() == 0 || ep.rtp_port() > 65535) {
      return absl::InvalidArgumentError("legacy local description: endpoints[" +
                                        std::to_string(slot.index) + "] has no address or port");
    }
    MediaDescription m;
    m.media = Kind(*slot.stream);
    m.port = ep.rtp_port();
    m.proto = proto;
    if (!sdp.connection || sdp.connection->address != ep.address()) {
      m.connection = ConnectionOf(ep.address());
    }
    AddFormats(m, d.codecs, proto.ends_with("AVPF"));
    if (m.media == "audio") m.ptime = 20;
    m.direction = d.direction;
    if (ep.rtcp_mux()) {
      m.rtcp_mux = true;
    } else {
      m.rtcp = RtcpAddress{ep.rtcp_port() ? ep.rtcp_port() : ep.rtp_port() + 1, std::nullopt};
    }
    for (const v1::SdesCrypto& c : ep.crypto()) {
      m.crypto.push_back({c.tag(), c.suite(), c.key_params(), ""});
    }
    sdp.media.push_back(std::move(m));
  }
  return sdp;
}

absl::StatusOr<SessionDescription> BuildWebRtcSdp(const v1::LocalDescription& local,
                                                  const LocalSdpOptions& options) {
  if (local.type() != v1::LEG_TYPE_WEBRTC || !local.has_webrtc()) {
    return absl::InvalidArgumentError("not the WebRTC leg's local description");
  }
  const v1::WebRtcTransport& t = local.webrtc();
  const bool answer = options.answer_to != nullptr;
  Setup setup = Setup::kActPass;
  if (answer) {
    if (t.dtls_role() == v1::DTLS_ROLE_SERVER)
      setup = Setup::kPassive;
    else if (t.dtls_role() == v1::DTLS_ROLE_CLIENT)
      setup = Setup::kActive;
    else
      return absl::InvalidArgumentError("WebRTC answer: the node's dtls_role is unspecified");
  }
  if (t.ice_ufrag().empty() || t.ice_pwd().empty() || t.fingerprints().empty()) {
    return absl::InvalidArgumentError(
        "WebRTC local description: no ICE credentials or fingerprint");
  }
  auto slots = Slots(local, options);
  if (!slots.ok()) return slots.status();

  // Default address: the first RTP candidate (9 / 0.0.0.0 without one, RFC 8839).
  uint32_t port = 9;
  std::string address = "0.0.0.0";
  for (const auto& c : t.candidates()) {
    if (c.component() == 1) {
      port = c.port();
      address = c.address();
      break;
    }
  }
  std::vector<Candidate> candidates;
  for (const auto& c : t.candidates()) {
    Candidate out;
    out.foundation = c.foundation();
    out.component = c.component() ? c.component() : 1;
    out.transport = c.protocol();
    out.priority = c.priority();
    out.address = c.address();
    out.port = c.port();
    out.type = c.type();
    if (!c.related_address().empty() && c.type() != "host") {
      out.related_address = c.related_address();
      out.related_port = c.related_port();
      out.has_related = true;
    }
    candidates.push_back(std::move(out));
  }

  SessionDescription sdp = Session(options);
  sdp.ice_lite = t.ice_lite();
  const Group* offered_bundle = answer ? options.answer_to->BundleGroup() : nullptr;
  Group bundle{"BUNDLE", {}};
  bool sends_any = false;
  for (size_t i = 0; i < slots->size(); ++i) {
    const Slot& slot = (*slots)[i];
    const std::string proto = slot.offered ? slot.offered->proto : "UDP/TLS/RTP/SAVPF";
    std::string mid = slot.offered ? slot.offered->mid : slot.stream->mid();
    if (mid.empty()) mid = std::to_string(i);
    if (slot.offered && slot.stream && !slot.stream->mid().empty() &&
        slot.stream->mid() != slot.offered->mid) {
      return absl::InvalidArgumentError("stream " + std::to_string(slot.index) + " has mid '" +
                                        slot.stream->mid() + "', the offer's section '" +
                                        slot.offered->mid + "'");
    }
    const bool offered_rejected =
        slot.offered && slot.offered->port == 0 && !slot.offered->bundle_only;
    Decision d;
    if (slot.stream) d = Decide(slot, options, offered_rejected);
    if (!slot.stream || d.rejected) {
      MediaDescription m = RejectedSection(slot, proto);
      m.mid = mid;
      sdp.media.push_back(std::move(m));
      continue;
    }
    MediaDescription m;
    m.media = Kind(*slot.stream);
    m.port = port;
    m.proto = proto;
    m.connection = ConnectionOf(address);
    m.ice_ufrag = t.ice_ufrag();
    m.ice_pwd = t.ice_pwd();
    for (const auto& f : t.fingerprints()) m.fingerprints.push_back({f.algorithm(), f.value()});
    m.setup = setup;
    m.mid = mid;
    m.direction = d.direction;
    m.rtcp_mux = true;
    m.rtcp_rsize = slot.stream->rtcp_rsize();
    AddFormats(m, d.codecs, true);
    m.candidates = candidates;
    m.end_of_candidates = t.end_of_candidates();
    if (Sends(d.direction)) {
      sends_any = true;
      m.msid = std::string(kGatewayStreamId) + " " + kGatewayStreamId + "-" + m.media + "-" + mid;
      for (uint32_t ssrc : slot.stream->ssrcs()) m.ssrcs.push_back({ssrc, "cname", kGatewayCname});
    }
    // An answer bundles only what the offer bundled (RFC 8843); an offer bundles all.
    if (!answer ||
        (offered_bundle && std::find(offered_bundle->mids.begin(), offered_bundle->mids.end(),
                                     mid) != offered_bundle->mids.end())) {
      bundle.mids.push_back(mid);
    }
    sdp.media.push_back(std::move(m));
  }
  if (!bundle.mids.empty() && (answer ? offered_bundle != nullptr : t.bundle())) {
    sdp.groups.push_back(bundle);
  }
  if (sends_any) sdp.msid_semantic = std::string("WMS ") + kGatewayStreamId;
  return sdp;
}

absl::StatusOr<std::string> WriteLegacySdp(const v1::LocalDescription& local,
                                           const LocalSdpOptions& options) {
  auto sdp = BuildLegacySdp(local, options);
  if (!sdp.ok()) return sdp.status();
  return WriteSdp(*sdp);
}

absl::StatusOr<std::string> WriteWebRtcSdp(const v1::LocalDescription& local,
                                           const LocalSdpOptions& options) {
  auto sdp = BuildWebRtcSdp(local, options);
  if (!sdp.ok()) return sdp.status();
  return WriteSdp(*sdp);
}

}  // namespace webrtc2sip::signaling::sdp
