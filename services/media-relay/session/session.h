#pragma once

// One call's media on a node: a WebRTC leg (ICE + DTLS-SRTP) and a legacy
// leg (RTP or SDES-SRTP), bridged stream by stream. Created, used and
// destroyed on its worker's thread only.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "services/media-relay/session/node_context.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::media {

class Worker;
namespace v1 = webrtc2sip::media::v1;

class Session {
 public:
  // What a session tells its owner; called on the session's worker thread.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnSessionEvent(const std::string& session_id, v1::SessionEventType type,
                                const std::string& reason) = 0;
  };

  virtual ~Session() = default;

  // Builds both legs from the request and fills the node's side of them.
  static grpc::Status Create(Worker& worker, const NodeContext& node, std::string id,
                             const v1::CreateSessionRequest& request, Listener& listener,
                             std::unique_ptr<Session>* session,
                             v1::CreateSessionResponse* response);

  virtual grpc::Status Update(const v1::UpdateLegRequest& request,
                              v1::UpdateLegResponse* response) = 0;
  // Queues an RFC 4733 key press on one leg.
  virtual grpc::Status SendDtmf(const v1::SendDtmfRequest& request) = 0;
  virtual v1::SessionStats Stats() const = 0;
  // Load units this session weighs on its node (transcoding weighs more).
  virtual double Weight() const = 0;
  const std::string& id() const { return id_; }

 protected:
  explicit Session(std::string id) : id_(std::move(id)) {}

 private:
  const std::string id_;
};

}  // namespace webrtc2sip::media
