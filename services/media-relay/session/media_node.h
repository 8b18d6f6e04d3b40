#pragma once

// The node: its workers, the index of its sessions, their leases, drain,
// and the events signaling watches. Thread-safe: gRPC threads call it; each
// session runs on its own worker.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "services/media-relay/session/node_context.h"
#include "services/media-relay/session/session.h"
#include "services/media-relay/worker/worker.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::media {

class MediaNode final : public Session::Listener {
 public:
  using Clock = std::chrono::steady_clock;

  explicit MediaNode(NodeContext context, int workers);
  ~MediaNode() override;
  MediaNode(const MediaNode&) = delete;
  MediaNode& operator=(const MediaNode&) = delete;

  grpc::Status CreateSession(const v1::CreateSessionRequest& request,
                             v1::CreateSessionResponse* response);
  grpc::Status UpdateLeg(const v1::UpdateLegRequest& request, v1::UpdateLegResponse* response);
  grpc::Status SendDtmf(const v1::SendDtmfRequest& request);
  grpc::Status DeleteSession(const v1::DeleteSessionRequest& request,
                             v1::DeleteSessionResponse* response);
  void KeepAlive(const v1::KeepAliveRequest& request, v1::KeepAliveResponse* response);

  // Refuse new sessions from now on; the current ones go on.
  void StartDrain();
  bool draining() const;
  size_t session_count() const;
  v1::NodeLoad Load() const;

  // Ends the sessions whose lease lapsed; call about once a second.
  void ExpireLeases(Clock::time_point now = Clock::now());

  // A queue of the node's events for one watcher (a Watch stream).
  class Subscription {
   public:
    // Waits up to `timeout` for the next event; false when none came.
    bool Next(v1::NodeEvent* event, std::chrono::milliseconds timeout);

   private:
    friend class MediaNode;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<v1::NodeEvent> events_;
  };
  std::shared_ptr<Subscription> Subscribe();

  // Session::Listener (called on workers).
  void OnSessionEvent(const std::string& session_id, v1::SessionEventType type,
                      const std::string& reason) override;

  const NodeContext& context() const { return context_; }

 private:
  struct Entry {
    Worker* worker = nullptr;
    std::unique_ptr<Session> session;  // touched on `worker` only
    Clock::time_point lease_expiry;
    uint32_t lease_seconds = 30;
    double weight = 1;
  };

  Worker& LeastLoadedWorker();
  // Runs `fn(Session&)` on the session's worker, or NOT_FOUND.
  template <typename Fn>
  grpc::Status OnSessionWorker(const std::string& session_id, Fn fn);
  // Destroys a session on its worker; the index no longer holds it.
  void EndSession(std::unique_ptr<Entry> entry, const std::string& id, const std::string& reason,
                  v1::SessionStats* stats);
  void Publish(const v1::NodeEvent& event);
  void PublishLoad();

  NodeContext context_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> sessions_;
  bool draining_ = false;
  std::mutex subscribers_mutex_;
  std::vector<std::weak_ptr<Subscription>> subscribers_;
};

}  // namespace webrtc2sip::media
