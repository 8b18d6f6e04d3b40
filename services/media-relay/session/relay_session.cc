#include "services/media-relay/session/relay_session.h"

#include <openssl/rand.h>

#include <strings.h>

#include <algorithm>

#include "common/log/logger.h"
#include "services/media-relay/coder/codec_table.h"
#include "common/metrics/registry.h"
#include "services/media-relay/rtp/ntp_time.h"
#include "services/media-relay/rtp/rtp_packet.h"
#include "services/media-relay/worker/worker.h"

namespace webrtc2sip::media {
namespace {

constexpr guint kReportIntervalMs = 2000;

struct RelayMetrics {
  metrics::CounterFamily& packets = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_packets_total", "RTP packets relayed, by leg and direction.",
      {"leg", "direction"});
  metrics::CounterFamily& bytes = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_bytes_total", "RTP payload bytes relayed, by leg and direction.",
      {"leg", "direction"});
  metrics::CounterFamily& dropped = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_packets_dropped_total", "Packets dropped, by leg and reason.",
      {"leg", "reason"});
  metrics::CounterFamily& nacks = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_nack_packets_total",
      "Packets the browser asked again by NACK: served from the cache or unrecoverable.",
      {"outcome"});
  metrics::CounterFamily& media_events = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_webrtc_outcomes_total", "ICE and DTLS outcomes of WebRTC legs.",
      {"outcome"});

  static RelayMetrics& Get() {
    static RelayMetrics m;
    return m;
  }
};

uint32_t RandomSsrc() {
  uint32_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

std::vector<CodecSpec> ToSpecs(const v1::MediaStream& stream) {
  std::vector<CodecSpec> specs;
  for (const auto& c : stream.codecs()) {
    CodecSpec spec;
    spec.payload_type = static_cast<uint8_t>(c.payload_type() & 0x7f);
    spec.name = c.name();
    spec.clock_rate = c.clock_rate();
    spec.channels = c.channels() ? c.channels() : 1;
    for (const auto& fb : c.rtcp_feedback()) spec.feedback.push_back({fb.type(), fb.parameter()});
    specs.push_back(std::move(spec));
  }
  return specs;
}

bool Receives(const v1::MediaStream& stream) {
  return !stream.rejected() && (stream.direction() == v1::DIRECTION_SENDRECV ||
                                stream.direction() == v1::DIRECTION_RECVONLY);
}

grpc::Status Invalid(const std::string& what) {
  return {grpc::StatusCode::INVALID_ARGUMENT, what};
}

bool IsTelephoneEvent(const v1::Codec& c) {
  return strcasecmp(c.name().c_str(), "telephone-event") == 0;
}

// Codecs that carry no media of their own: never chosen, never transcoded.
bool IsMediaCodec(const v1::Codec& c) {
  for (const char* aux : {"telephone-event", "CN", "red", "rtx", "ulpfec", "flexfec-03"}) {
    if (strcasecmp(c.name().c_str(), aux) == 0) return false;
  }
  return true;
}

const coder::CoderCodec* TranscodableCodec(const v1::Codec& c, v1::MediaKind kind) {
  if (!IsMediaCodec(c)) return nullptr;
  const coder::CoderCodec* codec = coder::CoderCodecOf(c.name(), c.clock_rate(), c.fmtp());
  if (codec == nullptr || !coder::CanTranscode(*codec)) return nullptr;
  const bool video = codec->media == coder::MediaType::kVideo;
  if (kind != v1::MEDIA_KIND_UNSPECIFIED && video != (kind == v1::MEDIA_KIND_VIDEO)) return nullptr;
  return codec;
}

// "opus/48000, PCMU/8000": how errors name a stream's codecs.
std::string CodecNames(const v1::MediaStream& stream) {
  std::string out;
  for (const auto& c : stream.codecs()) {
    if (!out.empty()) out += ", ";
    out += c.name() + "/" + std::to_string(c.clock_rate());
  }
  return out.empty() ? "none" : out;
}

// The leg shares a media codec with the other (by name, clock rate and channels).
bool SharesMediaCodec(const v1::MediaStream& a, const v1::MediaStream& b) {
  PayloadTypeMap map(ToSpecs(a), ToSpecs(b));
  for (const auto& c : a.codecs()) {
    if (IsMediaCodec(c) && map.Map(static_cast<uint8_t>(c.payload_type() & 0x7f))) return true;
  }
  return false;
}

int TelephoneEventAt(const v1::MediaStream& stream, uint32_t clock_rate) {
  for (const auto& c : stream.codecs()) {
    if (IsTelephoneEvent(c) && c.clock_rate() == clock_rate) return static_cast<int>(c.payload_type() & 0x7f);
  }
  return -1;
}

std::pair<uint32_t, uint32_t> VideoSize(config::v1::VideoSize size) {
  switch (size) {
    case config::v1::VIDEO_SIZE_SQCIF: return {128, 96};
    case config::v1::VIDEO_SIZE_QCIF: return {176, 144};
    case config::v1::VIDEO_SIZE_QVGA: return {320, 240};
    case config::v1::VIDEO_SIZE_CIF: return {352, 288};
    case config::v1::VIDEO_SIZE_HVGA: return {480, 320};
    case config::v1::VIDEO_SIZE_VGA: return {640, 480};
    case config::v1::VIDEO_SIZE_4CIF: return {704, 576};
    case config::v1::VIDEO_SIZE_SVGA: return {800, 600};
    case config::v1::VIDEO_SIZE_480P: return {852, 480};
    case config::v1::VIDEO_SIZE_720P: return {1280, 720};
    case config::v1::VIDEO_SIZE_16CIF: return {1408, 1152};
    case config::v1::VIDEO_SIZE_1080P: return {1920, 1080};
  }
  return {640, 480};
}

// Reordering before the decoder of video from the browser (media.enable_videojb).
constexpr uint32_t kVideoJitterBufferMs = 100;

}  // namespace

grpc::Status Session::Create(Worker& worker, const NodeContext& node, std::string id,
                             const v1::CreateSessionRequest& request, Listener& listener,
                             std::unique_ptr<Session>* session,
                             v1::CreateSessionResponse* response) {
  auto relay = std::make_unique<RelaySession>(worker, node, std::move(id), listener);
  grpc::Status status = relay->Init(request, response);
  if (status.ok()) *session = std::move(relay);
  return status;
}

RelaySession::RelaySession(Worker& worker, const NodeContext& node, std::string id,
                           Session::Listener& listener)
    : Session(std::move(id)), worker_(worker), node_(node), listener_(listener) {
  stream_of_pt_.fill(-1);
}

RelaySession::~RelaySession() {
  // Transcoders first: they detach from the worker at once and their pipelines stop elsewhere.
  for (auto& st : streams_) {
    st.coder[0].reset();
    st.coder[1].reset();
  }
  report_timer_.Stop();
  if (dtmf_timer_) {
    g_source_destroy(dtmf_timer_);
    g_source_unref(dtmf_timer_);
  }
  PublishCounters();
  // Legs close their sockets and agents; no callback reaches us after this.
  webrtc_.reset();
  legacy_.reset();
}

grpc::Status RelaySession::Init(const v1::CreateSessionRequest& request,
                                v1::CreateSessionResponse* response) {
  call_id_ = request.call_id();
  allow_transcoding_ = request.allow_transcoding();
  const auto& w = request.webrtc_leg();
  const auto& l = request.legacy_leg();
  if (w.type() != v1::LEG_TYPE_WEBRTC) return Invalid("webrtc_leg.type must be LEG_TYPE_WEBRTC");
  if (l.type() != v1::LEG_TYPE_LEGACY) return Invalid("legacy_leg.type must be LEG_TYPE_LEGACY");
  const auto& w_streams = w.has_remote() ? w.remote().streams() : w.offer_streams();
  const auto& l_streams = l.has_remote() ? l.remote().streams() : l.offer_streams();
  if (w_streams.empty()) return Invalid("webrtc_leg: no media streams (remote.streams or offer_streams)");
  if (w_streams.size() != l_streams.size()) {
    return Invalid("webrtc_leg has " + std::to_string(w_streams.size()) +
                   " streams but legacy_leg has " + std::to_string(l_streams.size()));
  }
  if (w.has_remote() && !w.remote().has_webrtc()) return Invalid("webrtc_leg.remote.webrtc is missing");
  if (l.has_remote() && !l.remote().has_legacy()) return Invalid("legacy_leg.remote.legacy is missing");
  for (int i = 0; i < w_streams.size(); ++i) {
    StreamState st;
    st.webrtc = w_streams[i];
    st.legacy = l_streams[i];
    // Until a peer says otherwise (offers the node makes), media flows both ways.
    st.to_webrtc = !w.has_remote() || Receives(st.webrtc);
    st.to_legacy = !l.has_remote() || Receives(st.legacy);
    streams_.push_back(std::move(st));
  }

  std::string error;
  webrtc_ = WebRtcLeg::Create(worker_.context(), node_, id(), *this, &error);
  if (!webrtc_) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "webrtc leg: " + error};
  legacy_ = LegacyLeg::Create(worker_.context(), node_, id(), streams_.size(), l.srtp_mode(), *this,
                              &error);
  if (!legacy_) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "legacy leg: " + error};
  if (w.has_remote()) {
    if (auto e = webrtc_->SetRemote(w.remote().webrtc())) return Invalid("webrtc_leg.remote." + *e);
  }
  if (l.has_remote()) {
    if (auto e = legacy_->SetRemote(l.remote().legacy(), true)) return Invalid("legacy_leg.remote." + *e);
  }
  webrtc_negotiated_ = w.has_remote();
  legacy_negotiated_ = l.has_remote();
  if (grpc::Status s = RebuildBridges(); !s.ok()) return s;

  FillLocal(v1::LEG_SIDE_WEBRTC, response->mutable_webrtc_leg());
  FillLocal(v1::LEG_SIDE_LEGACY, response->mutable_legacy_leg());
  FillCoding(response->mutable_coding());

  // On the worker's timer queue: one GLib source for every session's reports.
  report_timer_.Start(worker_.context(), std::chrono::milliseconds(kReportIntervalMs),
                      [this] { return OnReportTimer(this) == G_SOURCE_CONTINUE; });
  return grpc::Status::OK;
}

grpc::Status RelaySession::Update(const v1::UpdateLegRequest& request,
                                  v1::UpdateLegResponse* response) {
  const auto& remote = request.remote();
  if (static_cast<size_t>(remote.streams_size()) != streams_.size()) {
    return Invalid("remote.streams: " + std::to_string(remote.streams_size()) +
                   " streams, the session has " + std::to_string(streams_.size()));
  }
  if (request.side() == v1::LEG_SIDE_WEBRTC) {
    if (!remote.has_webrtc()) return Invalid("remote.webrtc is missing");
    if (auto e = webrtc_->SetRemote(remote.webrtc())) return Invalid("remote." + *e);
    for (size_t i = 0; i < streams_.size(); ++i) {
      streams_[i].webrtc = remote.streams(static_cast<int>(i));
      streams_[i].to_webrtc = Receives(streams_[i].webrtc);
    }
    webrtc_negotiated_ = true;
  } else if (request.side() == v1::LEG_SIDE_LEGACY) {
    if (!remote.has_legacy()) return Invalid("remote.legacy is missing");
    if (auto e = legacy_->SetRemote(remote.legacy(), request.is_offer())) return Invalid("remote." + *e);
    for (size_t i = 0; i < streams_.size(); ++i) {
      streams_[i].legacy = remote.streams(static_cast<int>(i));
      streams_[i].to_legacy = Receives(streams_[i].legacy);
    }
    legacy_negotiated_ = true;
  } else {
    return Invalid("side must be LEG_SIDE_WEBRTC or LEG_SIDE_LEGACY");
  }
  if (grpc::Status s = RebuildBridges(); !s.ok()) return s;
  FillLocal(request.side(), response->mutable_local());
  FillLocal(request.side() == v1::LEG_SIDE_WEBRTC ? v1::LEG_SIDE_LEGACY : v1::LEG_SIDE_WEBRTC,
            response->mutable_other());
  FillCoding(response->mutable_coding());
  return grpc::Status::OK;
}

grpc::Status RelaySession::RebuildBridges() {
  stream_of_pt_.fill(-1);
  for (size_t i = 0; i < streams_.size(); ++i) {
    StreamState& st = streams_[i];
    for (const auto& c : st.webrtc.codecs()) {
      auto& slot = stream_of_pt_[c.payload_type() & 0x7f];
      if (slot < 0) slot = static_cast<int8_t>(i);
    }
    BridgeConfig config;
    config.a.codecs = ToSpecs(st.webrtc);
    config.b.codecs = ToSpecs(st.legacy);
    config.a.rtcp_rsize = st.webrtc.rtcp_rsize();
    config.cname = "webrtc2sip-" + id();
    config.nack_tail_min = node_.media.avpf_tail_length().min();
    config.nack_tail_max = node_.media.avpf_tail_length().max();
    // Keep the SSRCs the peers already know: a re-INVITE is not a new source.
    config.a.ssrc = st.bridge ? st.bridge->ssrc(Side::kA) : RandomSsrc();
    config.b.ssrc = st.bridge ? st.bridge->ssrc(Side::kB) : RandomSsrc();
    bool transcode = false;
    CoderChoice choice;
    if (!st.webrtc.rejected() && !st.legacy.rejected() && !SharesMediaCodec(st.webrtc, st.legacy)) {
      if (!transcoding()) {
        std::string why = "stream " + std::to_string(i) + ": the two legs share no codec (webrtc leg: " +
                          CodecNames(st.webrtc) + "; legacy leg: " + CodecNames(st.legacy) + ")";
        if (allow_transcoding_) why += " and media.enable_media_coder is off on node " + node_.node_id;
        return {grpc::StatusCode::FAILED_PRECONDITION, why};
      }
      if (grpc::Status s = ChooseCoderCodecs(i, &choice); !s.ok()) return s;
      transcode = webrtc_negotiated_ && legacy_negotiated_;
    }
    // Reconfiguring keeps sequence/timestamp continuity, statistics and the
    // NACK cache across a re-INVITE; a new stream gets a new bridge.
    if (st.bridge) {
      st.bridge->Reconfigure(config);
    } else {
      st.bridge = std::make_unique<StreamBridge>(config);
    }
    if (transcode) {
      if (grpc::Status s = BuildCoders(i, choice); !s.ok()) return s;
    } else {
      st.coder[0].reset();
      st.coder[1].reset();
    }
  }
  return grpc::Status::OK;
}

grpc::Status RelaySession::ChooseCoderCodecs(size_t i, CoderChoice* choice) const {
  const StreamState& st = streams_[i];
  for (const auto& c : st.webrtc.codecs()) {
    if (TranscodableCodec(c, st.webrtc.kind())) {
      choice->webrtc = &c;
      break;
    }
  }
  for (const auto& c : st.legacy.codecs()) {
    if (TranscodableCodec(c, st.webrtc.kind())) {
      choice->legacy = &c;
      break;
    }
  }
  if (choice->webrtc && choice->legacy) return grpc::Status::OK;
  const bool webrtc = choice->webrtc == nullptr;
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "stream " + std::to_string(i) + ": the two legs share no codec and the Media Coder " +
              "cannot transcode any codec of the " + (webrtc ? "webrtc" : "legacy") + " leg (" +
              CodecNames(webrtc ? st.webrtc : st.legacy) + ")"};
}

grpc::Status RelaySession::BuildCoders(size_t i, const CoderChoice& choice) {
  StreamState& st = streams_[i];
  // A path is kept while its codecs and payload types stay: a re-INVITE that changes nothing
  // for it must not restart the encoder.
  auto same = [](const CoderPath* path, const v1::Codec& in, const v1::Codec& out) {
    if (!path || !path->transcoder || path->transcoder->failed()) return false;
    const coder::CoderCodec* from = coder::CoderCodecOf(in.name(), in.clock_rate(), in.fmtp());
    const coder::CoderCodec* to = coder::CoderCodecOf(out.name(), out.clock_rate(), out.fmtp());
    return path->input_pt == (in.payload_type() & 0x7f) && path->output_pt == (out.payload_type() & 0x7f) &&
           &path->transcoder->input_codec() == from && &path->transcoder->output_codec() == to;
  };
  struct Direction {
    Side to;
    const v1::Codec& in;
    const v1::MediaStream& in_stream;
    const v1::Codec& out;
    const v1::MediaStream& out_stream;
  };
  for (const Direction& d : {Direction{Side::kB, *choice.webrtc, st.webrtc, *choice.legacy, st.legacy},
                             Direction{Side::kA, *choice.legacy, st.legacy, *choice.webrtc, st.webrtc}}) {
    auto& slot = st.coder[static_cast<size_t>(d.to)];
    if (same(slot.get(), d.in, d.out)) {
      // Telephone events may come or go with a re-INVITE on their own.
      slot->input_event_pt = TelephoneEventAt(d.in_stream, d.in.clock_rate());
      slot->output_event_pt = TelephoneEventAt(d.out_stream, d.out.clock_rate());
      continue;
    }
    slot.reset();
    std::string error;
    slot = MakeCoderPath(i, d.to, d.in, d.in_stream, d.out, d.out_stream, &error);
    if (!slot) {
      return {grpc::StatusCode::RESOURCE_EXHAUSTED,
              "stream " + std::to_string(i) + ": the Media Coder cannot transcode " + d.in.name() +
                  " to " + d.out.name() + ": " + error};
    }
  }
  log::Info("stream transcoded", {{"session", id()},
                                  {"stream", std::to_string(i)},
                                  {"webrtc", choice.webrtc->name()},
                                  {"legacy", choice.legacy->name()}});
  return grpc::Status::OK;
}

std::unique_ptr<RelaySession::CoderPath> RelaySession::MakeCoderPath(
    size_t i, Side to, const v1::Codec& in, const v1::MediaStream& in_stream, const v1::Codec& out,
    const v1::MediaStream& out_stream, std::string* error) {
  const coder::CoderCodec* from = coder::CoderCodecOf(in.name(), in.clock_rate(), in.fmtp());
  const coder::CoderCodec* into = coder::CoderCodecOf(out.name(), out.clock_rate(), out.fmtp());
  if (!from || !into) {
    *error = "no coder codec";
    return nullptr;
  }
  coder::TranscoderConfig config;
  config.from = std::string(from->name);
  config.to = std::string(into->name);
  config.input_payload_type = static_cast<uint8_t>(in.payload_type() & 0x7f);
  config.output_payload_type = static_cast<uint8_t>(out.payload_type() & 0x7f);
  const bool video = into->media == coder::MediaType::kVideo;
  if (video) {
    std::tie(config.width, config.height) = VideoSize(node_.media.video_size_pref());
    // Video from the browser goes through a reordering buffer when media.enable_videojb is on.
    if (to == Side::kB && node_.media.enable_videojb()) config.jitter_buffer_ms = kVideoJitterBufferMs;
  }
  auto path = std::make_unique<CoderPath>(*this, i, to);
  path->input_pt = config.input_payload_type;
  path->output_pt = config.output_payload_type;
  path->input_clock = in.clock_rate();
  path->output_clock = out.clock_rate();
  path->input_event_pt = TelephoneEventAt(in_stream, in.clock_rate());
  path->output_event_pt = TelephoneEventAt(out_stream, out.clock_rate());
  path->video = video;
  auto transcoder = coder::Transcoder::Create(config, worker_.context(), *path);
  if (!transcoder.ok()) {
    *error = std::string(transcoder.status().message());
    return nullptr;
  }
  path->transcoder = std::move(*transcoder);
  return path;
}

bool RelaySession::ToCoder(StreamState& st, CoderPath& path, uint8_t* data, size_t len,
                           size_t capacity) {
  if (len < 12) return false;
  const uint8_t pt = data[1] & 0x7f;
  const Side from = Other(path.to);
  const int64_t now = NtpMicrosNow();
  if (pt == path.input_pt) {
    if (!st.bridge->ReceiveForCoder(from, data, len, path.input_clock, now)) return true;
    // Drops (late, pipeline behind, failed) are counted by the coder's metrics.
    path.transcoder->Push({data, len});
    if (path.video && !path.started) {
      // The decoder may start in the middle of the stream: ask for a keyframe once.
      current_stream_ = path.stream;
      st.bridge->RequestKeyframeFrom(from, now, *this);
    }
    path.started = true;
    return true;
  }
  if (path.input_event_pt < 0 || pt != path.input_event_pt) return false;
  // A telephone event goes around the pipeline, put in line with the transcoded audio.
  if (!st.bridge->ReceiveForCoder(from, data, len, path.input_clock, now)) return true;
  if (path.output_event_pt < 0 ||
      !path.transcoder->PrepareTelephoneEvent({data, len}, static_cast<uint8_t>(path.output_event_pt))) {
    return true;
  }
  if (!(path.to == Side::kA ? st.to_webrtc : st.to_legacy)) return true;
  if (auto rtp = RtpPacket::Parse(data, len)) {
    st.bridge->SendMade(path.to, *rtp, path.output_clock, now);
    SendTo(path.to, path.stream, data, len, capacity);
  }
  return true;
}

void RelaySession::OnCoderOutput(CoderPath& path, std::span<uint8_t> packet) {
  StreamState& st = streams_[path.stream];
  if (!(path.to == Side::kA ? st.to_webrtc : st.to_legacy)) return;
  // Room after the packet for the SRTP tag.
  if (packet.size() + 64 > send_buffer_.size()) return;
  std::copy(packet.begin(), packet.end(), send_buffer_.begin());
  auto rtp = RtpPacket::Parse(send_buffer_.data(), packet.size());
  if (!rtp) return;
  st.bridge->SendMade(path.to, *rtp, path.output_clock, NtpMicrosNow());
  SendTo(path.to, path.stream, send_buffer_.data(), packet.size(), send_buffer_.size());
}

void RelaySession::OnCoderFailed(CoderPath& path, std::string_view reason) {
  // The transcoder counted it and drops from now on; the other streams and direction go on.
  log::Warn("transcoding stopped", {{"session", id()},
                                    {"call_id", call_id_},
                                    {"stream", std::to_string(path.stream)},
                                    {"to", path.to == Side::kA ? "webrtc" : "legacy"},
                                    {"reason", std::string(reason)}});
}

void RelaySession::SendTo(Side to, size_t stream, uint8_t* data, size_t len, size_t capacity) {
  if (to == Side::kA) {
    webrtc_->SendRtp(data, len, capacity);
  } else {
    legacy_->SendRtp(stream, data, len, capacity);
  }
}

bool RelaySession::OnKeyframeRequest(Side from) {
  CoderPath* path = streams_[current_stream_].coder[static_cast<size_t>(from)].get();
  if (!path) return false;
  // The encoder that feeds the asking leg makes the keyframe; the source is not asked.
  if (path->video) path->transcoder->RequestKeyframe();
  return true;
}

void RelaySession::OnRemb(Side from, uint64_t bits_per_second) {
  CoderPath* path = streams_[current_stream_].coder[static_cast<size_t>(from)].get();
  if (!path || !path->video || bits_per_second == 0) return;
  path->transcoder->SetBitrate(static_cast<uint32_t>(std::min<uint64_t>(bits_per_second, UINT32_MAX)));
}

double RelaySession::Weight() const {
  double weight = 1;
  for (const auto& st : streams_) {
    const CoderPath* path = st.coder[0] ? st.coder[0].get() : st.coder[1].get();
    if (path) weight += path->video ? kVideoCoderWeight : kAudioCoderWeight;
  }
  return weight;
}

void RelaySession::FillCoding(google::protobuf::RepeatedPtrField<v1::StreamCoding>* coding) const {
  for (size_t i = 0; i < streams_.size(); ++i) {
    const StreamState& st = streams_[i];
    v1::StreamCoding* out = coding->Add();
    out->set_stream(static_cast<uint32_t>(i));
    if (!webrtc_negotiated_ || !legacy_negotiated_ || st.webrtc.rejected() || st.legacy.rejected()) continue;
    if (const CoderPath* to_legacy = st.coder[static_cast<size_t>(Side::kB)].get()) {
      out->set_transcoded(true);
      for (const auto& c : st.webrtc.codecs()) {
        if ((c.payload_type() & 0x7f) == to_legacy->input_pt) out->set_webrtc_codec(c.name());
      }
      for (const auto& c : st.legacy.codecs()) {
        if ((c.payload_type() & 0x7f) == to_legacy->output_pt) out->set_legacy_codec(c.name());
      }
      continue;
    }
    // Relayed: the first media codec of the WebRTC leg the legacy leg has too.
    PayloadTypeMap map(ToSpecs(st.webrtc), ToSpecs(st.legacy));
    for (const auto& c : st.webrtc.codecs()) {
      if (!IsMediaCodec(c) || !map.Map(static_cast<uint8_t>(c.payload_type() & 0x7f))) continue;
      out->set_webrtc_codec(c.name());
      out->set_legacy_codec(c.name());
      break;
    }
  }
}

grpc::Status RelaySession::SendDtmf(const v1::SendDtmfRequest& request) {
  if (request.event() > 15) return Invalid("event: " + std::to_string(request.event()) + " is not 0-15");
  if (request.volume() > 63) return Invalid("volume: " + std::to_string(request.volume()) + " is not 0-63");
  const bool legacy = request.side() == v1::LEG_SIDE_LEGACY;
  if (!legacy && request.side() != v1::LEG_SIDE_WEBRTC) {
    return Invalid("side must be LEG_SIDE_WEBRTC or LEG_SIDE_LEGACY");
  }
  for (size_t i = 0; i < streams_.size(); ++i) {
    const v1::MediaStream& stream = legacy ? streams_[i].legacy : streams_[i].webrtc;
    if (stream.rejected()) continue;
    for (const auto& c : stream.codecs()) {
      if (strcasecmp(c.name().c_str(), "telephone-event") != 0 || c.clock_rate() < 1000) continue;
      const uint32_t duration = request.duration_ms() ? request.duration_ms() : 100;
      const uint32_t volume = request.volume() ? request.volume() : 10;
      dtmf_.push_back({i, legacy ? Side::kB : Side::kA, static_cast<uint8_t>(c.payload_type() & 0x7f),
                       c.clock_rate(),
                       DtmfEvent(static_cast<uint8_t>(request.event()), static_cast<uint8_t>(volume),
                                 duration, c.clock_rate())});
      if (!dtmf_timer_) {
        SendDtmfPacket();
        dtmf_timer_ = g_timeout_source_new(DtmfEvent::kIntervalMs);
        g_source_set_callback(dtmf_timer_, &RelaySession::OnDtmfTimer, this, nullptr);
        g_source_attach(dtmf_timer_, worker_.context());
      }
      return grpc::Status::OK;
    }
  }
  return {grpc::StatusCode::FAILED_PRECONDITION,
          std::string(legacy ? "legacy" : "webrtc") + " leg negotiated no telephone-event"};
}

gboolean RelaySession::OnDtmfTimer(gpointer self) {
  auto* s = static_cast<RelaySession*>(self);
  if (s->SendDtmfPacket()) return G_SOURCE_CONTINUE;
  g_source_unref(s->dtmf_timer_);
  s->dtmf_timer_ = nullptr;
  return G_SOURCE_REMOVE;
}

bool RelaySession::SendDtmfPacket() {
  if (dtmf_.empty()) return false;
  DtmfPlay& play = dtmf_.front();
  StreamBridge& bridge = *streams_[play.stream].bridge;
  const int64_t now = NtpMicrosNow();
  if (!play.started) {
    play.started = true;
    play.timestamp = bridge.TimestampNow(play.side, play.clock_rate, now);
  }
  std::array<uint8_t, 4> payload{};
  bool marker = false;
  if (play.event.Next(&payload, &marker)) {
    uint8_t* p = send_buffer_.data();
    std::fill(p, p + 12, 0);
    p[0] = 0x80;
    p[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | play.payload_type);
    std::copy(payload.begin(), payload.end(), p + 12);
    if (auto rtp = RtpPacket::Parse(p, 16)) {
      bridge.StampGenerated(play.side, *rtp, play.timestamp, play.clock_rate, now);
      if (play.side == Side::kB) {
        legacy_->SendRtp(play.stream, p, 16, send_buffer_.size());
      } else {
        webrtc_->SendRtp(p, 16, send_buffer_.size());
      }
    }
  }
  if (play.event.done()) dtmf_.pop_front();
  return !dtmf_.empty();
}

void RelaySession::FillLocal(v1::LegSide side, v1::LocalDescription* local) const {
  const bool webrtc = side == v1::LEG_SIDE_WEBRTC;
  local->set_type(webrtc ? v1::LEG_TYPE_WEBRTC : v1::LEG_TYPE_LEGACY);
  for (size_t i = 0; i < streams_.size(); ++i) {
    const StreamState& st = streams_[i];
    const v1::MediaStream& mine = webrtc ? st.webrtc : st.legacy;
    const v1::MediaStream& other = webrtc ? st.legacy : st.webrtc;
    // This leg's codecs that the other leg can carry, with this leg's numbers.
    v1::MediaStream* out = local->add_streams();
    *out = mine;
    out->clear_codecs();
    out->clear_ssrcs();
    const CoderPath* from_mine = st.coder[static_cast<size_t>(webrtc ? Side::kB : Side::kA)].get();
    const CoderPath* into_mine = st.coder[static_cast<size_t>(webrtc ? Side::kA : Side::kB)].get();
    if (from_mine && into_mine) {
      // Transcoded: the codec the coder takes from and gives to this leg, and its events.
      for (const auto& c : mine.codecs()) {
        const int pt = static_cast<int>(c.payload_type() & 0x7f);
        if (pt == from_mine->input_pt || pt == from_mine->input_event_pt || pt == into_mine->output_event_pt) {
          *out->add_codecs() = c;
        }
      }
    } else {
      // This leg's codecs the other leg has; while a leg is not negotiated yet and the coder
      // may be used, also those the coder can carry, with the telephone events at their clock
      // rates. Toward the browser they come after the shared ones (it picks a shared one
      // first: passthrough); toward the SIP side the order stays (media.codecs order).
      PayloadTypeMap map(ToSpecs(mine), ToSpecs(other));
      const bool open = transcoding() && !(webrtc_negotiated_ && legacy_negotiated_);
      std::vector<const v1::Codec*> extra;
      std::vector<uint32_t> transcoded_rates;
      for (const auto& c : mine.codecs()) {
        const bool shared = map.Map(static_cast<uint8_t>(c.payload_type() & 0x7f)).has_value();
        const bool transcodable = open && !shared && TranscodableCodec(c, mine.kind());
        if (transcodable) transcoded_rates.push_back(c.clock_rate());
        if (shared || (transcodable && !webrtc)) {
          *out->add_codecs() = c;
        } else if (transcodable) {
          extra.push_back(&c);
        }
      }
      for (const v1::Codec* c : extra) *out->add_codecs() = *c;
      if (open) {
        for (const auto& c : mine.codecs()) {
          if (!IsTelephoneEvent(c)) continue;
          const bool listed = std::any_of(out->codecs().begin(), out->codecs().end(), [&](const v1::Codec& o) {
            return o.payload_type() == c.payload_type();
          });
          const bool matches = std::find(transcoded_rates.begin(), transcoded_rates.end(),
                                         c.clock_rate()) != transcoded_rates.end();
          if (!listed && matches) *out->add_codecs() = c;
        }
      }
    }
    if (st.bridge) out->add_ssrcs(st.bridge->ssrc(webrtc ? Side::kA : Side::kB));
  }
  if (webrtc) {
    webrtc_->FillLocal(local->mutable_webrtc());
  } else {
    legacy_->FillLocal(local->mutable_legacy());
  }
}

size_t RelaySession::StreamOfWebRtcPacket(const uint8_t* data, size_t len) const {
  if (streams_.size() == 1 || len < 2) return 0;
  const int8_t s = stream_of_pt_[data[1] & 0x7f];
  return s < 0 ? 0 : static_cast<size_t>(s);
}

void RelaySession::OnWebRtcRtp(uint8_t* data, size_t len, size_t capacity) {
  const size_t i = StreamOfWebRtcPacket(data, len);
  StreamState& st = streams_[i];
  if (CoderPath* path = st.coder[static_cast<size_t>(Side::kB)].get()) {
    if (ToCoder(st, *path, data, len, capacity)) return;
  }
  if (st.bridge->ForwardRtp(Side::kA, data, len, NtpMicrosNow()) != RtpResult::kForward) return;
  if (st.to_legacy) legacy_->SendRtp(i, data, len, capacity);
}

bool RelaySession::OnLegacyRtp(size_t stream, uint8_t* data, size_t len, size_t capacity) {
  StreamState& st = streams_[stream];
  if (CoderPath* path = st.coder[static_cast<size_t>(Side::kA)].get()) {
    if (ToCoder(st, *path, data, len, capacity)) return true;
  }
  if (st.bridge->ForwardRtp(Side::kB, data, len, NtpMicrosNow()) != RtpResult::kForward) return false;
  if (st.to_webrtc) webrtc_->SendRtp(data, len, capacity);
  return true;
}

void RelaySession::OnWebRtcRtcp(uint8_t* data, size_t len, size_t) {
  // With BUNDLE one compound packet may concern any stream: each bridge takes
  // what names its own sources.
  for (size_t i = 0; i < streams_.size(); ++i) {
    current_stream_ = i;
    streams_[i].bridge->OnRtcp(Side::kA, {data, len}, NtpMicrosNow(), *this);
  }
}

bool RelaySession::OnLegacyRtcp(size_t stream, uint8_t* data, size_t len, size_t) {
  current_stream_ = stream;
  return streams_[stream].bridge->OnRtcp(Side::kB, {data, len}, NtpMicrosNow(), *this);
}

void RelaySession::SendRtp(Side to, std::span<const uint8_t> packet) {
  if (packet.size() > send_buffer_.size()) return;
  std::copy(packet.begin(), packet.end(), send_buffer_.begin());
  if (to == Side::kA) {
    webrtc_->SendRtp(send_buffer_.data(), packet.size(), send_buffer_.size());
  } else {
    legacy_->SendRtp(current_stream_, send_buffer_.data(), packet.size(), send_buffer_.size());
  }
}

void RelaySession::SendRtcp(Side to, std::span<const uint8_t> packet) {
  if (packet.size() > send_buffer_.size()) return;
  std::copy(packet.begin(), packet.end(), send_buffer_.begin());
  if (to == Side::kA) {
    webrtc_->SendRtcp(send_buffer_.data(), packet.size(), send_buffer_.size());
  } else {
    legacy_->SendRtcp(current_stream_, send_buffer_.data(), packet.size(), send_buffer_.size());
  }
}

void RelaySession::OnWebRtcConnected() {
  if (connected_reported_) return;
  connected_reported_ = true;
  RelayMetrics::Get().media_events.WithLabels({"connected"}).Inc();
  listener_.OnSessionEvent(id(), v1::SESSION_EVENT_MEDIA_CONNECTED, "dtls_connected");
}

void RelaySession::OnWebRtcFailed(const std::string& reason) {
  RelayMetrics::Get().media_events.WithLabels({reason}).Inc();
  listener_.OnSessionEvent(id(), v1::SESSION_EVENT_MEDIA_FAILED, reason);
}

gboolean RelaySession::OnReportTimer(gpointer self) {
  auto* s = static_cast<RelaySession*>(self);
  const int64_t now = NtpMicrosNow();
  for (size_t i = 0; i < s->streams_.size(); ++i) {
    s->current_stream_ = i;
    StreamBridge& bridge = *s->streams_[i].bridge;
    if (s->webrtc_->connected()) {
      size_t n = bridge.BuildReport(Side::kA, now, s->send_buffer_);
      if (n) s->webrtc_->SendRtcp(s->send_buffer_.data(), n, s->send_buffer_.size());
    }
    size_t n = bridge.BuildReport(Side::kB, now, s->send_buffer_);
    if (n) s->legacy_->SendRtcp(i, s->send_buffer_.data(), n, s->send_buffer_.size());
  }
  s->PublishCounters();
  return G_SOURCE_CONTINUE;
}

v1::SessionStats RelaySession::Stats() const {
  v1::SessionStats stats;
  for (const auto& st : streams_) {
    const LegStats& a = st.bridge->stats(Side::kA);
    const LegStats& b = st.bridge->stats(Side::kB);
    stats.set_packets_from_webrtc(stats.packets_from_webrtc() + a.rtp_packets_received);
    stats.set_packets_to_webrtc(stats.packets_to_webrtc() + a.rtp_packets_sent);
    stats.set_packets_from_legacy(stats.packets_from_legacy() + b.rtp_packets_received);
    stats.set_packets_to_legacy(stats.packets_to_legacy() + b.rtp_packets_sent);
    stats.set_bytes_from_webrtc(stats.bytes_from_webrtc() + a.rtp_bytes_received);
    stats.set_bytes_from_legacy(stats.bytes_from_legacy() + b.rtp_bytes_received);
  }
  return stats;
}

// Counters go to the registry every report interval, as deltas: the packet
// path itself touches no shared state.
void RelaySession::PublishCounters() {
  if (streams_.empty() || !streams_[0].bridge) return;
  auto& m = RelayMetrics::Get();
  v1::SessionStats now = Stats();
  auto add = [](metrics::Counter& c, uint64_t total, uint64_t published) {
    if (total > published) c.Inc(static_cast<double>(total - published));
  };
  add(m.packets.WithLabels({"webrtc", "in"}), now.packets_from_webrtc(), published_.packets_from_webrtc());
  add(m.packets.WithLabels({"webrtc", "out"}), now.packets_to_webrtc(), published_.packets_to_webrtc());
  add(m.packets.WithLabels({"legacy", "in"}), now.packets_from_legacy(), published_.packets_from_legacy());
  add(m.packets.WithLabels({"legacy", "out"}), now.packets_to_legacy(), published_.packets_to_legacy());
  add(m.bytes.WithLabels({"webrtc", "in"}), now.bytes_from_webrtc(), published_.bytes_from_webrtc());
  add(m.bytes.WithLabels({"legacy", "in"}), now.bytes_from_legacy(), published_.bytes_from_legacy());
  published_ = now;

  // Drops: the legs' and the bridges' own counters, as totals per session.
  auto publish_drop = [&](const char* leg, const char* reason, uint64_t total, uint64_t& seen) {
    if (total > seen) m.dropped.WithLabels({leg, reason}).Inc(static_cast<double>(total - seen));
    seen = total;
  };
  const auto& wc = webrtc_->counters();
  const auto& lc = legacy_->counters();
  publish_drop("webrtc", "srtp_auth_failed", wc.srtp_auth_failed, seen_.webrtc_auth);
  publish_drop("webrtc", "srtp_replay", wc.srtp_replayed, seen_.webrtc_replay);
  publish_drop("webrtc", "before_dtls", wc.not_ready, seen_.webrtc_not_ready);
  publish_drop("webrtc", "garbage", wc.garbage, seen_.webrtc_garbage);
  publish_drop("legacy", "srtp_auth_failed", lc.srtp_auth_failed, seen_.legacy_auth);
  publish_drop("legacy", "srtp_replay", lc.srtp_replayed, seen_.legacy_replay);
  publish_drop("legacy", "unknown_source", lc.unknown_source, seen_.legacy_unknown);
  publish_drop("legacy", "no_destination", lc.no_destination, seen_.legacy_no_dest);
  publish_drop("legacy", "garbage", lc.garbage, seen_.legacy_garbage);
  publish_drop("webrtc", "srtp_bad_packet", wc.srtp_other, seen_.webrtc_srtp_other);
  publish_drop("legacy", "srtp_bad_packet", lc.srtp_other, seen_.legacy_srtp_other);
  uint64_t unknown_pt = 0, served = 0, unrecoverable = 0;
  for (const auto& st : streams_) {
    for (Side side : {Side::kA, Side::kB}) {
      unknown_pt += st.bridge->stats(side).rtp_dropped[static_cast<size_t>(RtpResult::kUnknownPayloadType)];
    }
    served += st.bridge->stats(Side::kA).retransmitted;
    unrecoverable += st.bridge->stats(Side::kA).unrecoverable;
  }
  publish_drop("any", "unknown_payload_type", unknown_pt, seen_.unknown_pt);
  if (served > seen_.nack_served) m.nacks.WithLabels({"served"}).Inc(static_cast<double>(served - seen_.nack_served));
  if (unrecoverable > seen_.nack_lost) m.nacks.WithLabels({"unrecoverable"}).Inc(static_cast<double>(unrecoverable - seen_.nack_lost));
  seen_.nack_served = served;
  seen_.nack_lost = unrecoverable;
}

}  // namespace webrtc2sip::media
