#include "services/signaling/sdp/media_translator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "services/signaling/sdp/codec_catalog.h"

namespace webrtc2sip::signaling::sdp {
namespace {

namespace v1 = media::v1;

// "m=audio #0 (mid 0)": how errors name a section.
std::string SectionName(const MediaDescription& m, size_t index) {
  std::string s = "m=" + m.media + " #" + std::to_string(index);
  if (!m.mid.empty()) s += " (mid " + m.mid + ")";
  return s;
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::optional<uint32_t> PayloadType(const std::string& format) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(format.data(), format.data() + format.size(), v);
  if (ec != std::errc() || end != format.data() + format.size() || v > 127) return std::nullopt;
  return v;
}

bool Rejected(const MediaDescription& m) {
  return m.port == 0 && !m.bundle_only;
}

v1::MediaKind KindOf(const MediaDescription& m) {
  if (m.media == "audio") return v1::MEDIA_KIND_AUDIO;
  if (m.media == "video") return v1::MEDIA_KIND_VIDEO;
  return v1::MEDIA_KIND_UNSPECIFIED;
}

// The codecs of an m= line in its order: a=rtpmap, else RFC 3551's static
// table; a dynamic number without rtpmap says nothing usable and is skipped.
void AddCodecs(const MediaDescription& m, bool feedback, v1::MediaStream* s) {
  for (const std::string& format : m.formats) {
    auto pt = PayloadType(format);
    if (!pt) continue;
    v1::Codec c;
    if (const RtpMap* map = m.FindRtpMap(*pt)) {
      c.set_payload_type(*pt);
      c.set_name(map->encoding);
      c.set_clock_rate(map->clock_rate);
      c.set_channels(map->channels);
    } else if (auto fixed = StaticPayloadCodec(*pt)) {
      c = *fixed;
    } else {
      continue;
    }
    c.set_fmtp(m.FmtpOf(format));
    if (feedback) {
      for (const RtcpFb& fb : m.RtcpFbOf(format)) {
        auto* out = c.add_rtcp_feedback();
        out->set_type(fb.type);
        out->set_parameter(fb.parameter);
      }
    }
    *s->add_codecs() = std::move(c);
  }
}

v1::MediaStream StreamOf(const SessionDescription& sdp, const MediaDescription& m, bool feedback) {
  v1::MediaStream s;
  s.set_mid(m.mid);
  s.set_kind(KindOf(m));
  s.set_direction(ToProto(EffectiveDirection(sdp, m)));
  s.set_rejected(Rejected(m));
  s.set_rtcp_rsize(m.rtcp_rsize);
  AddCodecs(m, feedback, &s);
  std::set<uint32_t> seen;
  for (const SsrcAttribute& a : m.ssrcs) {
    if (seen.insert(a.ssrc).second) s.add_ssrcs(a.ssrc);
  }
  for (const auto* list : {&sdp.extmaps, &m.extmaps}) {
    for (const ExtMap& e : *list) {
      auto* h = s.add_header_extensions();
      h->set_id(e.id);
      h->set_uri(e.uri);
    }
  }
  return s;
}

std::string StripTtl(const std::string& address) {
  return address.substr(0, address.find('/'));
}

std::string CodecList(const MediaStreams& streams) {
  std::string out;
  for (const auto& s : streams) {
    for (const auto& c : s.codecs()) {
      if (!out.empty()) out += ", ";
      out += c.name() + "/" + std::to_string(c.clock_rate());
    }
  }
  return out.empty() ? "none" : out;
}

std::string ConfigList(const std::vector<config::v1::Codec>& codecs) {
  std::string out;
  for (auto c : codecs) out += (out.empty() ? "" : ", ") + std::string(IdentityOf(c).config_name);
  return out;
}

// telephone-event of `from` that suit the kept codecs: those of a kept clock
// rate, else all of them (RFC 4733 events follow the audio clock when they can).
void AddTelephoneEvents(const v1::MediaStream& from, v1::MediaStream* out) {
  std::set<uint32_t> rates;
  for (const auto& c : out->codecs()) rates.insert(c.clock_rate());
  bool any_match = false;
  for (const auto& c : from.codecs()) {
    any_match |= IsTelephoneEvent(c) && rates.count(c.clock_rate());
  }
  for (const auto& c : from.codecs()) {
    if (IsTelephoneEvent(c) && (!any_match || rates.count(c.clock_rate()))) {
      *out->add_codecs() = c;
    }
  }
}

// Media Coder on: a telephone-event at each clock rate of the stream's media
// codecs that has none yet, so DTMF can cross a transcoded call whichever codec
// the peer picks (the node re-times events from one codec's clock to the other's).
void AddMissingTelephoneEvents(v1::MediaStream* s, const std::set<uint32_t>& taken) {
  std::set<uint32_t> rates;
  std::set<uint32_t> with_event;
  std::set<uint32_t> used = taken;
  for (const auto& c : s->codecs()) {
    used.insert(c.payload_type());
    if (IsTelephoneEvent(c)) with_event.insert(c.clock_rate());
    else if (IsMediaCodec(c)) rates.insert(c.clock_rate());
  }
  for (uint32_t rate : rates) {
    if (with_event.count(rate)) continue;
    uint32_t pt = 96;
    while (pt <= 127 && used.count(pt)) ++pt;
    if (pt > 127) return;
    used.insert(pt);
    v1::Codec* te = s->add_codecs();
    te->set_payload_type(pt);
    te->set_name("telephone-event");
    te->set_clock_rate(rate);
    te->set_fmtp("0-15");
  }
}

// The codecs browsers take (JSEP's mandatory Opus/G.711/VP8/H.264, plus G.722):
// what the gateway adds to a browser offer when the Media Coder can bridge them.
bool BrowserCodec(config::v1::Codec c) {
  switch (c) {
    case config::v1::CODEC_OPUS:
    case config::v1::CODEC_PCMA:
    case config::v1::CODEC_PCMU:
    case config::v1::CODEC_G722:
    case config::v1::CODEC_VP8:
    case config::v1::CODEC_H264_BP:
    case config::v1::CODEC_H264_MP:
      return true;
    default:
      return false;
  }
}

void ApplyOpusMaxRates(const config::v1::Media& media, v1::MediaStream* s) {
  for (auto& c : *s->mutable_codecs()) {
    if (ConfigCodecOf(c) == config::v1::CODEC_OPUS) {
      c.set_fmtp(OpusFmtpWithMaxRates(c.fmtp(), media.codec_opus_maxrates().playback(),
                                      media.codec_opus_maxrates().capture()));
    }
  }
}

bool HasCodec(const v1::MediaStream& s) {
  return std::any_of(s.codecs().begin(), s.codecs().end(), IsMediaCodec);
}

// RFC 3551's dynamic range, then RFC 5761's 35-63 (safe with rtcp-mux).
std::vector<uint32_t> DynamicPayloadTypes() {
  std::vector<uint32_t> out;
  for (uint32_t pt = 96; pt <= 127; ++pt) out.push_back(pt);
  for (uint32_t pt = 35; pt <= 63; ++pt) out.push_back(pt);
  return out;
}

void Reject(v1::MediaStream* s) {
  s->set_rejected(true);
  s->clear_codecs();
}

}  // namespace

bool IsStreamSection(const MediaDescription& m) {
  return KindOf(m) != v1::MEDIA_KIND_UNSPECIFIED;
}

Direction EffectiveDirection(const SessionDescription& sdp, const MediaDescription& m) {
  Direction d = m.direction.value_or(sdp.direction.value_or(Direction::kSendRecv));
  // With ICE, 0.0.0.0 is only the default address before candidates (RFC 8839).
  const bool ice = !m.ice_ufrag.empty() || !sdp.ice_ufrag.empty();
  const auto& c = m.connection ? m.connection : sdp.connection;
  if (!ice && c && StripTtl(c->address) == "0.0.0.0") {
    if (d == Direction::kSendRecv) return Direction::kSendOnly;
    if (d == Direction::kRecvOnly) return Direction::kInactive;
  }
  return d;
}

v1::Direction ToProto(Direction d) {
  switch (d) {
    case Direction::kSendRecv:
      return v1::DIRECTION_SENDRECV;
    case Direction::kSendOnly:
      return v1::DIRECTION_SENDONLY;
    case Direction::kRecvOnly:
      return v1::DIRECTION_RECVONLY;
    case Direction::kInactive:
      return v1::DIRECTION_INACTIVE;
  }
  return v1::DIRECTION_SENDRECV;
}

Direction FromProto(v1::Direction d) {
  switch (d) {
    case v1::DIRECTION_SENDONLY:
      return Direction::kSendOnly;
    case v1::DIRECTION_RECVONLY:
      return Direction::kRecvOnly;
    case v1::DIRECTION_INACTIVE:
      return Direction::kInactive;
    default:
      return Direction::kSendRecv;
  }
}

absl::StatusOr<v1::RemoteDescription> WebRtcSdpToRemote(const SessionDescription& sdp) {
  v1::RemoteDescription remote;
  const Group* bundle = sdp.BundleGroup();
  const std::string tag = bundle && !bundle->mids.empty() ? bundle->mids[0] : "";
  const MediaDescription* transport = nullptr;
  size_t transport_index = 0;
  std::vector<size_t> accepted;
  for (size_t i = 0; i < sdp.media.size(); ++i) {
    const MediaDescription& m = sdp.media[i];
    if (!IsStreamSection(m)) continue;
    *remote.add_streams() = StreamOf(sdp, m, true);
    if (Rejected(m)) continue;
    accepted.push_back(i);
    // The BUNDLE-tagged section (first mid of the group) carries the transport.
    if (!transport || (!tag.empty() && m.mid == tag)) {
      transport = &m;
      transport_index = i;
    }
  }
  if (!transport) return absl::InvalidArgumentError("SDP has no accepted audio or video m= line");
  const std::string where = SectionName(*transport, transport_index);

  auto in_bundle = [bundle](const MediaDescription& m) {
    return bundle && !m.mid.empty() &&
           std::find(bundle->mids.begin(), bundle->mids.end(), m.mid) != bundle->mids.end();
  };
  if (accepted.size() > 1) {
    for (size_t i : accepted) {
      if (!in_bundle(sdp.media[i])) {
        return absl::InvalidArgumentError(
            SectionName(sdp.media[i], i) +
            " is not in the a=group:BUNDLE: the gateway takes all streams on one transport");
      }
    }
  }
  if (!transport->rtcp_mux) {
    return absl::InvalidArgumentError(where + ": no a=rtcp-mux; the WebRTC leg requires it");
  }

  v1::WebRtcTransport* t = remote.mutable_webrtc();
  t->set_ice_ufrag(transport->ice_ufrag.empty() ? sdp.ice_ufrag : transport->ice_ufrag);
  t->set_ice_pwd(transport->ice_pwd.empty() ? sdp.ice_pwd : transport->ice_pwd);
  if (t->ice_ufrag().empty() || t->ice_pwd().empty()) {
    return absl::InvalidArgumentError(where + ": no a=ice-ufrag/a=ice-pwd (section or session)");
  }
  t->set_ice_lite(sdp.ice_lite);
  for (const Candidate& c : transport->candidates) {
    std::string proto = c.transport;
    std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
    // The node speaks ICE over UDP; mDNS names (x.local) cannot be reached.
    if (proto != "udp" || c.component != 1 || !IsIpAddress(c.address)) continue;
    auto* out = t->add_candidates();
    out->set_foundation(c.foundation);
    out->set_component(c.component);
    out->set_protocol(proto);
    out->set_priority(c.priority);
    out->set_address(c.address);
    out->set_port(c.port);
    out->set_type(c.type);
    out->set_related_address(c.related_address);
    out->set_related_port(c.related_port);
  }
  t->set_end_of_candidates(transport->end_of_candidates);

  const auto& fps = transport->fingerprints.empty() ? sdp.fingerprints : transport->fingerprints;
  if (fps.empty()) return absl::InvalidArgumentError(where + ": no a=fingerprint (DTLS-SRTP)");
  for (const Fingerprint& f : fps) {
    auto* out = t->add_fingerprints();
    out->set_algorithm(f.algorithm);
    out->set_value(f.value);
  }
  // RFC 4145: no a=setup means active.
  switch (transport->setup.value_or(sdp.setup.value_or(Setup::kActive))) {
    case Setup::kActPass:
      t->set_dtls_role(v1::DTLS_ROLE_UNSPECIFIED);
      break;
    case Setup::kActive:
      t->set_dtls_role(v1::DTLS_ROLE_CLIENT);
      break;
    case Setup::kPassive:
      t->set_dtls_role(v1::DTLS_ROLE_SERVER);
      break;
    case Setup::kHoldConn:
      return absl::InvalidArgumentError(where + ": a=setup:holdconn is not supported");
  }
  t->set_bundle(in_bundle(*transport));
  t->set_rtcp_mux(true);
  return remote;
}

absl::StatusOr<v1::RemoteDescription> LegacySdpToRemote(const SessionDescription& sdp) {
  static const std::set<std::string> kProfiles = {"RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF"};
  v1::RemoteDescription remote;
  v1::LegacyTransport* t = remote.mutable_legacy();
  std::string profile;
  for (size_t i = 0; i < sdp.media.size(); ++i) {
    const MediaDescription& m = sdp.media[i];
    if (!IsStreamSection(m)) continue;
    const std::string where = SectionName(m, i);
    const bool rejected = m.port == 0;
    if (!rejected && !kProfiles.count(m.proto)) {
      return absl::InvalidArgumentError(where + ": proto '" + m.proto +
                                        "' is not RTP/AVP, RTP/SAVP, RTP/AVPF or RTP/SAVPF");
    }
    const bool avpf = m.proto.ends_with("AVPF");
    const bool savp = m.proto.starts_with("RTP/SAVP");
    if (!rejected) {
      if (profile.empty()) {
        profile = m.proto;
      } else if (profile.starts_with("RTP/SAVP") != savp) {
        return absl::InvalidArgumentError(where + ": '" + m.proto + "' mixed with '" + profile +
                                          "': one leg is either SRTP or RTP");
      }
    }
    v1::MediaStream s = StreamOf(sdp, m, avpf);
    s.set_rejected(rejected);
    *remote.add_streams() = std::move(s);

    v1::LegacyEndpoint* ep = t->add_endpoints();
    const auto& c = m.connection ? m.connection : sdp.connection;
    if (c) ep->set_address(StripTtl(c->address));
    if (!rejected && !c) {
      return absl::InvalidArgumentError(where + ": no c= line in the section or the session");
    }
    ep->set_rtp_port(m.port);
    if (m.rtcp) ep->set_rtcp_port(m.rtcp->port);
    ep->set_rtcp_mux(m.rtcp_mux);
    for (const Crypto& k : m.crypto) {
      // Session parameters (UNENCRYPTED_SRTP, KDR, ...) ask for what the node does not do.
      if (!k.session_params.empty()) continue;
      auto* out = ep->add_crypto();
      out->set_tag(k.tag);
      out->set_suite(k.suite);
      out->set_key_params(k.key_params);
    }
    if (!rejected && savp && ep->crypto().empty()) {
      return absl::InvalidArgumentError(where + ": " + m.proto +
                                        " without a usable a=crypto line (SDES)");
    }
  }
  if (remote.streams().empty())
    return absl::InvalidArgumentError("SDP has no audio or video m= line");
  if (profile == "RTP/SAVP")
    t->set_profile(v1::PROFILE_RTP_SAVP);
  else if (profile == "RTP/AVPF")
    t->set_profile(v1::PROFILE_RTP_AVPF);
  else if (profile == "RTP/SAVPF")
    t->set_profile(v1::PROFILE_RTP_SAVPF);
  else
    t->set_profile(v1::PROFILE_RTP_AVP);
  return remote;
}

absl::StatusOr<MediaStreams> OfferStreamsForLegacy(const MediaStreams& browser,
                                                   const config::v1::Media& media) {
  const std::vector<config::v1::Codec> config = ConfiguredCodecs(media);
  MediaStreams out;
  bool any = false;
  for (const v1::MediaStream& in : browser) {
    v1::MediaStream* s = out.Add();
    s->set_kind(in.kind());
    s->set_direction(in.direction());
    if (in.rejected() || in.kind() == v1::MEDIA_KIND_UNSPECIFIED) {
      s->set_rejected(true);
      continue;
    }
    // The browser's codecs that media.codecs lists, by media.codecs rank
    // (stable: several H.264 variants keep the browser's order).
    std::vector<std::pair<size_t, v1::Codec>> ranked;
    std::set<config::v1::Codec> offered;
    for (const v1::Codec& c : in.codecs()) {
      auto id = ConfigCodecOf(c);
      if (!id) continue;
      auto it = std::find(config.begin(), config.end(), *id);
      if (it == config.end()) continue;
      ranked.emplace_back(it - config.begin(), c);
      offered.insert(*id);
    }
    // With the Media Coder on, media.codecs as a whole, in its order: a codec
    // the browser lacks is transcoded if the SIP side picks it.
    if (media.enable_media_coder()) {
      for (size_t rank = 0; rank < config.size(); ++rank) {
        const CodecIdentity& id = IdentityOf(config[rank]);
        if (id.kind != in.kind() || offered.count(config[rank])) continue;
        // Dynamic numbers are placeholders here: renumbered into 96-127 below.
        ranked.emplace_back(rank, MakeCodec(config[rank], id.static_payload_type >= 0
                                                              ? static_cast<uint32_t>(id.static_payload_type)
                                                              : 128));
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [rank, c] : ranked) *s->add_codecs() = c;
    if (in.kind() == v1::MEDIA_KIND_AUDIO && s->codecs_size()) {
      AddTelephoneEvents(in, s);
      if (media.enable_media_coder()) AddMissingTelephoneEvents(s, {});
    }
    if (!HasCodec(*s)) {
      Reject(s);
      continue;
    }
    // Legacy peers expect dynamic payload types in 96-127 (RFC 3551); the
    // node maps numbers per leg, so renumbering is free.
    std::set<uint32_t> used;
    for (const auto& c : s->codecs()) used.insert(c.payload_type());
    for (auto& c : *s->mutable_codecs()) {
      c.clear_rtcp_feedback();  // plain RTP/AVP: no feedback the node would then send
      const auto static_codec = StaticPayloadCodec(c.payload_type());
      const bool fixed = static_codec && SameCodec(*static_codec, c);
      if (fixed || (c.payload_type() >= 96 && c.payload_type() <= 127)) continue;
      uint32_t pt = 96;
      while (pt <= 127 && used.count(pt)) ++pt;
      if (pt > 127) continue;
      used.insert(pt);
      c.set_payload_type(pt);
    }
    ApplyOpusMaxRates(media, s);
    any = true;
  }
  if (!any) {
    return absl::FailedPreconditionError(
        "no stream of the browser's offer has a codec in "
        "media.codecs (offer: " +
        CodecList(browser) + "; media.codecs: " + ConfigList(config) + ")");
  }
  return out;
}

absl::StatusOr<MediaStreams> OfferStreamsForBrowser(const MediaStreams& legacy,
                                                    const config::v1::Media& media) {
  const std::vector<config::v1::Codec> config = ConfiguredCodecs(media);
  MediaStreams out;
  bool any = false;
  std::map<uint32_t, v1::Codec> bundled;
  for (int i = 0; i < legacy.size(); ++i) {
    const v1::MediaStream& in = legacy[i];
    v1::MediaStream* s = out.Add();
    s->set_mid(std::to_string(i));
    s->set_kind(in.kind());
    s->set_direction(in.direction());
    s->set_rtcp_rsize(true);
    if (in.rejected() || in.kind() == v1::MEDIA_KIND_UNSPECIFIED) {
      s->set_rejected(true);
      continue;
    }
    for (const v1::Codec& c : in.codecs()) {
      auto id = ConfigCodecOf(c);
      if (!id || std::find(config.begin(), config.end(), *id) == config.end()) continue;
      v1::Codec* added = s->add_codecs();
      *added = c;
      added->clear_rtcp_feedback();
      if (in.kind() == v1::MEDIA_KIND_VIDEO) {
        for (auto [type, param] : {std::pair{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}}) {
          auto* fb = added->add_rtcp_feedback();
          fb->set_type(type);
          fb->set_parameter(param);
        }
      }
    }
    if (media.enable_media_coder() && s->codecs_size()) {
      // After the SIP offer's own codecs (a browser that has one of them picks
      // it: passthrough), those the Media Coder would bridge.
      std::set<uint32_t> used;
      for (const auto& c : s->codecs()) used.insert(c.payload_type());
      for (const auto& [pt, c] : bundled) used.insert(pt);
      for (config::v1::Codec id : config) {
        const CodecIdentity& identity = IdentityOf(id);
        if (identity.kind != in.kind() || !BrowserCodec(id)) continue;
        if (std::any_of(s->codecs().begin(), s->codecs().end(),
                        [id](const v1::Codec& c) { return ConfigCodecOf(c) == id; })) {
          continue;
        }
        uint32_t pt = identity.static_payload_type >= 0 ? static_cast<uint32_t>(identity.static_payload_type) : 0;
        if (identity.static_payload_type < 0 || used.count(pt)) {
          const std::vector<uint32_t> dynamic = DynamicPayloadTypes();
          auto free = std::find_if(dynamic.begin(), dynamic.end(), [&used](uint32_t p) { return !used.count(p); });
          if (free == dynamic.end()) break;
          pt = *free;
        }
        used.insert(pt);
        v1::Codec* added = s->add_codecs();
        *added = MakeCodec(id, pt);
        if (in.kind() == v1::MEDIA_KIND_VIDEO) {
          for (auto [type, param] : {std::pair{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}}) {
            auto* fb = added->add_rtcp_feedback();
            fb->set_type(type);
            fb->set_parameter(param);
          }
        }
      }
    }
    if (in.kind() == v1::MEDIA_KIND_AUDIO && s->codecs_size()) {
      AddTelephoneEvents(in, s);
      if (media.enable_media_coder()) {
        std::set<uint32_t> taken;
        for (const auto& [pt, c] : bundled) taken.insert(pt);
        AddMissingTelephoneEvents(s, taken);
      }
    }
    if (!HasCodec(*s)) {
      Reject(s);
      continue;
    }
    // One BUNDLE transport: a payload type names one codec across all sections.
    for (auto& c : *s->mutable_codecs()) {
      auto it = bundled.find(c.payload_type());
      if (it == bundled.end() || SameCodec(it->second, c)) {
        bundled.emplace(c.payload_type(), c);
        continue;
      }
      std::optional<uint32_t> free;
      for (uint32_t pt : DynamicPayloadTypes()) {
        if (!bundled.count(pt)) {
          free = pt;
          break;
        }
      }
      if (!free) return absl::ResourceExhaustedError("no free payload type left for the browser");
      c.set_payload_type(*free);
      bundled.emplace(*free, c);
    }
    ApplyOpusMaxRates(media, s);
    any = true;
  }
  if (!any) {
    return absl::FailedPreconditionError(
        "no stream of the SIP offer has a codec in media.codecs "
        "(offer: " +
        CodecList(legacy) + "; media.codecs: " + ConfigList(config) + ")");
  }
  return out;
}

}  // namespace webrtc2sip::signaling::sdp
