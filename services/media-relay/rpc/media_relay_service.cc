#include "services/media-relay/rpc/media_relay_service.h"

namespace webrtc2sip::media {

grpc::Status MediaRelayService::CreateSession(grpc::ServerContext*,
                                              const v1::CreateSessionRequest* request,
                                              v1::CreateSessionResponse* response) {
  return node_.CreateSession(*request, response);
}

grpc::Status MediaRelayService::SendDtmf(grpc::ServerContext*, const v1::SendDtmfRequest* request,
                                         v1::SendDtmfResponse*) {
  return node_.SendDtmf(*request);
}

grpc::Status MediaRelayService::UpdateLeg(grpc::ServerContext*,
                                          const v1::UpdateLegRequest* request,
                                          v1::UpdateLegResponse* response) {
  return node_.UpdateLeg(*request, response);
}

grpc::Status MediaRelayService::DeleteSession(grpc::ServerContext*,
                                              const v1::DeleteSessionRequest* request,
                                              v1::DeleteSessionResponse* response) {
  return node_.DeleteSession(*request, response);
}

grpc::Status MediaRelayService::KeepAlive(grpc::ServerContext*,
                                          const v1::KeepAliveRequest* request,
                                          v1::KeepAliveResponse* response) {
  node_.KeepAlive(*request, response);
  return grpc::Status::OK;
}

grpc::Status MediaRelayService::Watch(grpc::ServerContext* context, const v1::WatchRequest*,
                                      grpc::ServerWriter<v1::NodeEvent>* writer) {
  auto subscription = node_.Subscribe();
  auto last_write = std::chrono::steady_clock::now();
  while (!context->IsCancelled() && !shutdown_) {
    v1::NodeEvent event;
    if (subscription->Next(&event, std::chrono::milliseconds(500))) {
      if (!writer->Write(event)) break;
      last_write = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_write > std::chrono::seconds(5)) {
      // A heartbeat: watchers learn the node is alive and how loaded it is.
      *event.mutable_load() = node_.Load();
      if (!writer->Write(event)) break;
      last_write = std::chrono::steady_clock::now();
    }
  }
  return grpc::Status::OK;
}

grpc::Status MediaRelayService::Drain(grpc::ServerContext*, const v1::DrainRequest*,
                                      v1::DrainResponse* response) {
  node_.StartDrain();
  response->set_sessions(static_cast<uint32_t>(node_.session_count()));
  return grpc::Status::OK;
}

}  // namespace webrtc2sip::media
