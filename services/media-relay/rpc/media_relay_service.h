#pragma once

// The gRPC face of a media node: each call is handed to MediaNode, which
// runs it on the session's worker.

#include <atomic>

#include "services/media-relay/session/media_node.h"
#include "webrtc2sip/media/v1/media_relay.grpc.pb.h"

namespace webrtc2sip::media {

class MediaRelayService final : public v1::MediaRelay::Service {
 public:
  explicit MediaRelayService(MediaNode& node) : node_(node) {}

  // Ends open Watch streams (at shutdown).
  void Shutdown() { shutdown_ = true; }

  grpc::Status CreateSession(grpc::ServerContext*, const v1::CreateSessionRequest* request,
                             v1::CreateSessionResponse* response) override;
  grpc::Status UpdateLeg(grpc::ServerContext*, const v1::UpdateLegRequest* request,
                         v1::UpdateLegResponse* response) override;
  grpc::Status SendDtmf(grpc::ServerContext*, const v1::SendDtmfRequest* request,
                        v1::SendDtmfResponse* response) override;
  grpc::Status DeleteSession(grpc::ServerContext*, const v1::DeleteSessionRequest* request,
                             v1::DeleteSessionResponse* response) override;
  grpc::Status KeepAlive(grpc::ServerContext*, const v1::KeepAliveRequest* request,
                         v1::KeepAliveResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::NodeEvent>* writer) override;
  grpc::Status Drain(grpc::ServerContext*, const v1::DrainRequest* request,
                     v1::DrainResponse* response) override;

 private:
  MediaNode& node_;
  std::atomic<bool> shutdown_{false};
};

}  // namespace webrtc2sip::media
