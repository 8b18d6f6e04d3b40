#include "services/media-relay/rpc/media_relay_service.h"

#include <algorithm>
#include <chrono>
#include <optional>

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
  using Clock = std::chrono::steady_clock;
  // Load changes with every session created or ended; watchers get it at most every
  // kLoadInterval (the newest one), session events and a change of draining at once. At a few
  // hundred setups a second this keeps the stream from costing a write per setup (signaling
  // counts what it created since the last load it saw).
  constexpr auto kLoadInterval = std::chrono::milliseconds(50);
  auto last_write = Clock::now();
  auto last_load = Clock::now() - kLoadInterval;
  bool draining_sent = false;
  std::optional<v1::NodeEvent> pending_load;
  auto write = [&](const v1::NodeEvent& event) {
    if (!writer->Write(event)) return false;
    last_write = Clock::now();
    if (event.has_load()) {
      last_load = last_write;
      draining_sent = event.load().draining();
    }
    return true;
  };
  while (!context->IsCancelled() && !shutdown_) {
    auto wait = std::chrono::milliseconds(500);
    if (pending_load) {
      wait = std::max(std::chrono::milliseconds(0),
                      std::chrono::duration_cast<std::chrono::milliseconds>(last_load + kLoadInterval - Clock::now()));
    }
    v1::NodeEvent event;
    if (subscription->Next(&event, wait)) {
      if (event.has_load() && event.load().draining() == draining_sent &&
          Clock::now() - last_load < kLoadInterval) {
        pending_load = std::move(event);  // The newest wins.
        continue;
      }
      if (event.has_load()) pending_load.reset();
      if (!write(event)) break;
    } else if (pending_load) {
      if (!write(*pending_load)) break;
      pending_load.reset();
    } else if (Clock::now() - last_write > std::chrono::seconds(5)) {
      // A heartbeat: watchers learn the node is alive and how loaded it is.
      *event.mutable_load() = node_.Load();
      if (!write(event)) break;
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
