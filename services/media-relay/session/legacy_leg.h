#pragma once

// The SIP endpoint's side of a session: per stream an RTP and an RTCP socket
// from the node's port range (or one when rtcp-mux is negotiated), symmetric
// RTP, and SDES-SRTP when negotiated. Lives on its session's worker thread.

#include <glib.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/media-relay/legacy/sdes.h"
#include "services/media-relay/net/udp_socket.h"
#include "services/media-relay/session/node_context.h"
#include "services/media-relay/srtp/srtp_session.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::media {

namespace v1 = webrtc2sip::media::v1;

class LegacyLeg final : public UdpSocket::Listener {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // As WebRtcLeg::Owner: a buffer of `capacity` bytes, valid during the call.
    // True when the packet was good media (symmetric RTP latches on it only).
    virtual bool OnLegacyRtp(size_t stream, uint8_t* data, size_t len, size_t capacity) = 0;
    virtual bool OnLegacyRtcp(size_t stream, uint8_t* data, size_t len, size_t capacity) = 0;
  };

  struct Counters {
    uint64_t srtp_auth_failed = 0;
    uint64_t srtp_replayed = 0;
    uint64_t srtp_other = 0;
    uint64_t unknown_source = 0;  // from an address that is not the peer's
    uint64_t no_destination = 0;  // nothing to send to yet
    uint64_t garbage = 0;
  };

  // Allocates the sockets of `streams` streams; nullptr and `error` when the
  // port range is exhausted.
  static std::unique_ptr<LegacyLeg> Create(GMainContext* context, const NodeContext& node,
                                           const std::string& log_id, size_t streams,
                                           v1::SrtpMode mode, Owner& owner, std::string* error);
  ~LegacyLeg() override;

  // The peer's description (offer or answer). Error text when unusable.
  std::optional<std::string> SetRemote(const v1::LegacyTransport& remote, bool remote_is_offer);
  void FillLocal(v1::LegacyTransport* local) const;

  bool SendRtp(size_t stream, uint8_t* data, size_t len, size_t capacity);
  bool SendRtcp(size_t stream, uint8_t* data, size_t len, size_t capacity);

  const Counters& counters() const { return counters_; }
  bool secure() const { return srtp_out_ != nullptr; }

  // UdpSocket::Listener
  void OnUdpPacket(UdpSocket& socket, const uint8_t* data, size_t len,
                   const sockaddr_storage& from) override;

 private:
  struct Stream {
    std::unique_ptr<UdpSocket> rtp, rtcp;
    uint16_t rtp_port = 0, rtcp_port = 0;
    std::optional<sockaddr_storage> rtp_to, rtcp_to;  // where to send (latched when symmetric)
    std::optional<sockaddr_storage> signalled_rtp, signalled_rtcp;
    bool rtcp_mux = false;
    bool latched_rtp = false, latched_rtcp = false;
  };

  LegacyLeg(const NodeContext& node, std::string log_id, v1::SrtpMode mode, Owner& owner);
  bool Send(Stream& s, bool rtcp, uint8_t* data, size_t len, size_t capacity);

  const NodeContext& node_;
  const std::string log_id_;
  const v1::SrtpMode mode_;
  Owner& owner_;
  std::vector<Stream> streams_;
  std::vector<SdesKey> offered_;           // the node's keys, one per offered suite
  std::optional<SdesKey> chosen_local_;    // the node's key in use
  std::unique_ptr<SrtpSession> srtp_in_, srtp_out_;
  bool remote_is_offer_ = false;
  bool remote_savp_ = false;
  std::array<uint8_t, 2048> scratch_{};
  Counters counters_;
};

}  // namespace webrtc2sip::media
