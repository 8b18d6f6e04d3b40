#pragma once

// A session that relays: the browser's WebRTC leg and the SIP endpoint's
// legacy leg, bridged stream by stream (stream i to stream i) by a
// StreamBridge each. Lives on one worker thread.
//
// Media Coder: when the request allows it (allow_transcoding), the node's
// media.enable_media_coder is on and the two legs of a stream share no media
// codec, the stream is transcoded: a Transcoder per direction between the
// first codec of each leg the coder can carry. Built once both legs are
// negotiated, rebuilt only when a leg's chosen codec or payload type changes;
// a shared codec always means passthrough.

#include <glib.h>

#include <array>
#include <deque>
#include <memory>
#include <vector>

#include "services/media-relay/coder/transcoder.h"
#include "services/media-relay/rtp/dtmf_event.h"
#include "services/media-relay/rtp/stream_bridge.h"
#include "services/media-relay/session/legacy_leg.h"
#include "services/media-relay/session/session.h"
#include "services/media-relay/session/webrtc_leg.h"
#include "services/media-relay/worker/timer_queue.h"

namespace webrtc2sip::media {

class RelaySession final : public Session,
                           public WebRtcLeg::Owner,
                           public LegacyLeg::Owner,
                           public StreamBridge::Sink {
 public:
  RelaySession(Worker& worker, const NodeContext& node, std::string id, Session::Listener& listener);
  ~RelaySession() override;

  grpc::Status Init(const v1::CreateSessionRequest& request, v1::CreateSessionResponse* response);

  grpc::Status Update(const v1::UpdateLegRequest& request, v1::UpdateLegResponse* response) override;
  grpc::Status SendDtmf(const v1::SendDtmfRequest& request) override;
  v1::SessionStats Stats() const override;
  // 1 for a relayed session, plus kAudioCoderWeight or kVideoCoderWeight per transcoded
  // stream (both directions).
  double Weight() const override;
  // From docs/performance.md: a relayed session costs ~5 ms of CPU a second, a two-way
  // opus <-> pcmu transcoding ~10 ms more, VGA vp8 <-> h264 ~170-200 ms more.
  static constexpr double kAudioCoderWeight = 2;
  static constexpr double kVideoCoderWeight = 36;

  // WebRtcLeg::Owner
  void OnWebRtcRtp(uint8_t* data, size_t len, size_t capacity) override;
  void OnWebRtcRtcp(uint8_t* data, size_t len, size_t capacity) override;
  void OnWebRtcConnected() override;
  void OnWebRtcFailed(const std::string& reason) override;
  // LegacyLeg::Owner
  bool OnLegacyRtp(size_t stream, uint8_t* data, size_t len, size_t capacity) override;
  bool OnLegacyRtcp(size_t stream, uint8_t* data, size_t len, size_t capacity) override;
  // StreamBridge::Sink (retransmissions, keyframe requests, reports)
  void SendRtp(Side to, std::span<const uint8_t> packet) override;
  void SendRtcp(Side to, std::span<const uint8_t> packet) override;
  bool OnKeyframeRequest(Side from) override;
  void OnRemb(Side from, uint64_t bits_per_second) override;

 private:
  // One direction of a transcoded stream: from leg Other(to) into leg `to`.
  struct CoderPath final : coder::Transcoder::Listener {
    CoderPath(RelaySession& owner, size_t index, Side into) : session(owner), stream(index), to(into) {}
    void OnTranscodedRtp(std::span<uint8_t> packet) override { session.OnCoderOutput(*this, packet); }
    void OnTranscoderFailed(std::string_view reason) override { session.OnCoderFailed(*this, reason); }

    RelaySession& session;
    const size_t stream;
    const Side to;
    uint8_t input_pt = 0;
    uint8_t output_pt = 0;
    uint32_t input_clock = 0;
    uint32_t output_clock = 0;
    int input_event_pt = -1;   // telephone-event of the input leg at the input codec's clock
    int output_event_pt = -1;  // and of the output leg at the output codec's clock
    bool video = false;
    bool started = false;  // a packet was pushed
    std::unique_ptr<coder::Transcoder> transcoder;
  };
  // What a transcoded stream uses on each leg.
  struct CoderChoice {
    const v1::Codec* webrtc = nullptr;
    const v1::Codec* legacy = nullptr;
  };

  struct StreamState {
    v1::MediaStream webrtc;  // this leg's streams: the peer's, or what the node offered
    v1::MediaStream legacy;
    std::unique_ptr<StreamBridge> bridge;
    bool to_webrtc = true;   // the peer of that leg wants media
    bool to_legacy = true;
    // Transcoding, by the leg the path sends to (index: Side); null when relayed.
    std::array<std::unique_ptr<CoderPath>, 2> coder;
    v1::StreamCoding coding;
  };

  // Configures each stream's bridge from the current streams of both legs;
  // an existing bridge is reconfigured (continuity across re-INVITEs).
  grpc::Status RebuildBridges();
  size_t StreamOfWebRtcPacket(const uint8_t* data, size_t len) const;
  void FillLocal(v1::LegSide side, v1::LocalDescription* local) const;
  void FillCoding(google::protobuf::RepeatedPtrField<v1::StreamCoding>* coding) const;
  // The Media Coder may be used: the request allows it and the node has it on.
  bool transcoding() const { return allow_transcoding_ && node_.media.enable_media_coder(); }
  // Stream i's codec choice for transcoding, or an error saying why there is none.
  grpc::Status ChooseCoderCodecs(size_t i, CoderChoice* choice) const;
  grpc::Status BuildCoders(size_t i, const CoderChoice& choice);
  std::unique_ptr<CoderPath> MakeCoderPath(size_t i, Side to, const v1::Codec& in,
                                           const v1::MediaStream& in_stream, const v1::Codec& out,
                                           const v1::MediaStream& out_stream, std::string* error);
  // An RTP packet for a transcoded stream: true when the coder took it (or dropped it).
  bool ToCoder(StreamState& st, CoderPath& path, uint8_t* data, size_t len, size_t capacity);
  void OnCoderOutput(CoderPath& path, std::span<uint8_t> packet);
  void OnCoderFailed(CoderPath& path, std::string_view reason);
  void SendTo(Side to, size_t stream, uint8_t* data, size_t len, size_t capacity);
  static gboolean OnReportTimer(gpointer self);
  void PublishCounters();
  // RFC 4733 key presses being played, oldest first, one packet per tick.
  struct DtmfPlay {
    size_t stream;
    Side side;
    uint8_t payload_type;
    uint32_t clock_rate;
    DtmfEvent event;
    uint32_t timestamp = 0;
    bool started = false;
  };
  static gboolean OnDtmfTimer(gpointer self);
  bool SendDtmfPacket();  // false once nothing is left to play

  Worker& worker_;
  const NodeContext& node_;
  Session::Listener& listener_;
  std::string call_id_;
  bool allow_transcoding_ = false;
  bool webrtc_negotiated_ = false;  // each leg's peer has described it (offer or answer)
  bool legacy_negotiated_ = false;
  std::unique_ptr<WebRtcLeg> webrtc_;
  std::unique_ptr<LegacyLeg> legacy_;
  std::vector<StreamState> streams_;
  std::array<int8_t, 128> stream_of_pt_{};  // browser payload type -> stream, -1 none
  size_t current_stream_ = 0;  // for the sink: the stream being processed
  QueuedTimer report_timer_;
  std::deque<DtmfPlay> dtmf_;
  GSource* dtmf_timer_ = nullptr;
  std::array<uint8_t, 2048> send_buffer_{};
  bool connected_reported_ = false;
  v1::SessionStats published_;  // counters already added to the registry
  struct Seen {
    uint64_t webrtc_auth = 0, webrtc_replay = 0, webrtc_not_ready = 0, webrtc_garbage = 0;
    uint64_t legacy_auth = 0, legacy_replay = 0, legacy_unknown = 0, legacy_no_dest = 0;
    uint64_t legacy_garbage = 0, unknown_pt = 0, nack_served = 0, nack_lost = 0;
    uint64_t webrtc_srtp_other = 0, legacy_srtp_other = 0;
  } seen_;
};

}  // namespace webrtc2sip::media
