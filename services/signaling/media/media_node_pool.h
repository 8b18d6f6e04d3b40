#pragma once

// The media-relay nodes signaling can use: found from the config (a static
// list, or a DNS name resolved again and again), watched for health and load,
// chosen per session (least loaded, round robin on ties), and kept honest
// with leases. Everything here runs on the signaling loop thread; gRPC,
// Watch readers and DNS run on threads of their own and post back.
//
// Threading and lifetime, for the caller:
//   - Create, call, and destroy the pool on the thread running `context`.
//   - Every callback (and Listener call) runs on a later turn of that loop,
//     never inside the call that started it, and never after the pool is
//     destroyed (in-flight results are then dropped; the relay ends orphaned
//     sessions by lease expiry).
//   - The pool may be destroyed from inside any of its callbacks.
//   - A MediaSessionRef is released on the loop thread: DeleteSession(ref),
//     or dropping it (which deletes the session on its node too).

#include <glib.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/cwrap/gobject_ptr.h"
#include "services/signaling/media/loop_post.h"
#include "services/signaling/media/media_node.h"
#include "services/signaling/media/media_session_ref.h"
#include "webrtc2sip/config/v1/config.pb.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling {

class DnsWatcher;

class MediaNodePool final : public std::enable_shared_from_this<MediaNodePool>,
                            private MediaNode::Listener {
 public:
  using Clock = std::chrono::steady_clock;

  class Listener {
   public:
    virtual ~Listener() = default;
    // A session is gone or broken: the B2BUA ends the call on both legs. The
    // pool no longer renews it; releasing its ref afterwards is still fine.
    virtual void OnMediaSessionLost(const std::string& session_id, MediaSessionLoss reason,
                                    const std::string& detail) = 0;
    // The node reported ICE + DTLS done on the session: media can flow.
    virtual void OnMediaSessionConnected(const std::string& session_id) { (void)session_id; }
  };

  struct Options {
    std::vector<std::string> addresses;  // static "host:port" list, or
    std::string dns_host;                // a name resolved every dns_refresh,
    uint16_t dns_port = 0;               // with this port for every address, or
    std::string dns_srv;                 // an SRV name resolved every dns_refresh
    std::chrono::milliseconds dns_refresh{10'000};
    std::vector<std::string> nameservers;  // for DNS; empty: /etc/resolv.conf
    uint16_t nameserver_port = 53;
    uint32_t lease_seconds = 30;  // asked of every session; renewed every lease/3
    std::chrono::milliseconds rpc_timeout{5'000};
    std::chrono::milliseconds health_check_period{1'000};
    MediaNode::Options node;

    // signaling.media_nodes, signaling.session_lease_seconds, signaling.nameservers.
    static Options FromConfig(const config::v1::Signaling& signaling);
  };

  // Starts discovery at once. `listener` (may be null) must outlive the pool.
  static std::shared_ptr<MediaNodePool> Create(GMainContext* context, Options options,
                                               Listener* listener);
  ~MediaNodePool() override;
  MediaNodePool(const MediaNodePool&) = delete;
  MediaNodePool& operator=(const MediaNodePool&) = delete;

  using CreateCallback =
      std::function<void(grpc::Status, media::v1::CreateSessionResponse, MediaSessionRef)>;
  using UpdateCallback = std::function<void(grpc::Status, media::v1::UpdateLegResponse)>;
  using DeleteCallback = std::function<void(grpc::Status, media::v1::DeleteSessionResponse)>;
  using DtmfCallback = std::function<void(grpc::Status)>;

  // Places the session on the best node (lease_seconds is the pool's); a node
  // answering UNAVAILABLE or RESOURCE_EXHAUSTED is followed by one try on the
  // next best. No usable node: UNAVAILABLE with the reason. On success the
  // ref is held and the session renewed until released or lost.
  void CreateSession(media::v1::CreateSessionRequest request, CreateCallback done);
  // `request.session_id` is taken from `session`.
  void UpdateLeg(const MediaSessionRef& session, media::v1::UpdateLegRequest request,
                 UpdateCallback done);
  // An RFC 4733 key press played by the session's node; `request.session_id`
  // is taken from `session`.
  void SendDtmf(const MediaSessionRef& session, media::v1::SendDtmfRequest request,
                DtmfCallback done);
  // Stops tracking and deletes the session on its node; `done` may be empty.
  void DeleteSession(MediaSessionRef session, std::string reason, DeleteCallback done = {});

  // What the pool knows of one node, for /readyz and tests.
  struct NodeInfo {
    std::string address;
    std::string node_id;
    bool healthy = false;
    bool draining = false;
    bool listed = false;    // in the static list or the last DNS (or SRV) answer
    uint32_t sessions = 0;  // as the node reported
    uint32_t capacity = 0;
    double load = 0;
    size_t tracked = 0;  // sessions of this pool on the node
  };
  std::vector<NodeInfo> Nodes() const;
  size_t tracked_sessions() const { return sessions_.size(); }

 private:
  friend class MediaSessionRef;  // releases through ReleaseSession

  struct NodeEntry {
    std::shared_ptr<MediaNode> node;
    bool listed = true;
    std::set<std::string> sessions;  // tracked here
    int creating = 0;                // CreateSession calls in flight
    int created_since_load = 0;      // created, and not yet counted by a NodeLoad
    uint64_t loads_heard = 0;        // NodeLoads received so far
    std::optional<Clock::time_point> unreachable_since;
  };
  struct CreateAttempt;

  MediaNodePool(GMainContext* context, Options options, Listener* listener);
  void Start();

  void SetListed(const std::vector<std::string>& addresses);
  void AddNode(const std::string& address);
  void MaybeDropNode(const std::string& address);
  NodeEntry* Choose(const std::set<std::string>& exclude, std::string* why);
  void TryCreate(std::shared_ptr<CreateAttempt> attempt);
  void OnCreateDone(std::shared_ptr<CreateAttempt> attempt, const std::string& address,
                    grpc::Status status, media::v1::CreateSessionResponse response);
  void Untrack(const std::string& session_id);
  void Lose(const std::string& session_id, MediaSessionLoss reason, std::string detail);
  void ReleaseSession(const std::string& session_id, const std::string& address, std::string reason,
                      DeleteCallback done);
  void SendKeepAlives();
  void CheckHealth();
  void UpdateGauges() const;
  template <typename Fn>
  void PostSelf(Fn fn);
  // One RPC on the node holding `session`, its failures counted as `failure`.
  template <typename Response, typename Request, typename Invoke>
  void CallOnSessionNode(const MediaSessionRef& session, Request request, const char* rpc,
                         const char* failure, Invoke invoke,
                         std::function<void(grpc::Status, Response)> done);

  // MediaNode::Listener
  void OnNodeLoad(MediaNode& node) override;
  void OnNodeSessionEvent(MediaNode& node, const media::v1::SessionEvent& event) override;
  void OnNodeStreamDown(MediaNode& node, const grpc::Status& status) override;

  GMainContextPtr context_;
  const Options options_;
  Listener* const listener_;
  std::map<std::string, NodeEntry> nodes_;                 // by address
  std::unordered_map<std::string, std::string> sessions_;  // session id -> node address
  uint64_t round_robin_ = 0;
  std::unique_ptr<DnsWatcher> dns_;
  std::unique_ptr<LoopTimer> keepalive_timer_;
  std::unique_ptr<LoopTimer> health_timer_;
};

}  // namespace webrtc2sip::signaling
