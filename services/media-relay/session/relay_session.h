#pragma once

// A session that relays: the browser's WebRTC leg and the SIP endpoint's
// legacy leg, bridged stream by stream (stream i to stream i) by a
// StreamBridge each. Lives on one worker thread.

#include <glib.h>

#include <array>
#include <deque>
#include <memory>
#include <vector>

#include "services/media-relay/rtp/dtmf_event.h"
#include "services/media-relay/rtp/stream_bridge.h"
#include "services/media-relay/session/legacy_leg.h"
#include "services/media-relay/session/session.h"
#include "services/media-relay/session/webrtc_leg.h"

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
  double Weight() const override { return 1.0; }

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

 private:
  struct StreamState {
    v1::MediaStream webrtc;  // this leg's streams: the peer's, or what the node offered
    v1::MediaStream legacy;
    std::unique_ptr<StreamBridge> bridge;
    bool to_webrtc = true;   // the peer of that leg wants media
    bool to_legacy = true;
  };

  // Configures each stream's bridge from the current streams of both legs;
  // an existing bridge is reconfigured (continuity across re-INVITEs).
  grpc::Status RebuildBridges();
  size_t StreamOfWebRtcPacket(const uint8_t* data, size_t len) const;
  void FillLocal(v1::LegSide side, v1::LocalDescription* local) const;
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
  std::unique_ptr<WebRtcLeg> webrtc_;
  std::unique_ptr<LegacyLeg> legacy_;
  std::vector<StreamState> streams_;
  std::array<int8_t, 128> stream_of_pt_{};  // browser payload type -> stream, -1 none
  size_t current_stream_ = 0;  // for the sink: the stream being processed
  GSource* report_timer_ = nullptr;
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
