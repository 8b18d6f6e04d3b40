#include "services/signaling/media/media_node_pool.h"

#include <algorithm>
#include <cmath>

#include "common/config/config_loader.h"
#include "common/log/logger.h"
#include "services/signaling/media/dns_watcher.h"
#include "services/signaling/media/media_pool_metrics.h"
#include "services/signaling/media/media_rpc.h"

namespace webrtc2sip::signaling {

namespace v1 = media::v1;

// ------------------------------------------------------------------ options

MediaNodePool::Options MediaNodePool::Options::FromConfig(const config::v1::Signaling& signaling) {
  Options options;
  const auto& nodes = signaling.media_nodes();
  options.addresses.assign(nodes.addresses().begin(), nodes.addresses().end());
  if (nodes.has_dns_name()) {
    const config::HostPort hp = config::ParseHostPort(nodes.dns_name());
    options.dns_host = hp.host;
    options.dns_port = hp.port;
  }
  if (nodes.has_dns_srv()) options.dns_srv = nodes.dns_srv();
  options.dns_refresh = std::chrono::seconds(nodes.dns_refresh_seconds());
  auto [nameservers, port] = config::SplitNameservers(signaling);
  options.nameservers = std::move(nameservers);
  options.nameserver_port = port;
  options.lease_seconds = signaling.session_lease_seconds();
  return options;
}

// ------------------------------------------------------------------ life

struct MediaNodePool::CreateAttempt {
  v1::CreateSessionRequest request;
  CreateCallback done;
  std::set<std::string> tried;
  grpc::Status first_error;
  // The node's last NodeLoad when the request left, to tell whether a NodeLoad
  // heard before the answer already counts this session.
  uint64_t loads_at_send = 0;
  uint32_t sessions_at_send = 0;
};

std::shared_ptr<MediaNodePool> MediaNodePool::Create(GMainContext* context, Options options,
                                                     Listener* listener) {
  std::shared_ptr<MediaNodePool> pool(new MediaNodePool(context, std::move(options), listener));
  pool->Start();
  return pool;
}

MediaNodePool::MediaNodePool(GMainContext* context, Options options, Listener* listener)
    : context_(g_main_context_ref(context)), options_(std::move(options)), listener_(listener) {}

MediaNodePool::~MediaNodePool() {
  health_timer_.reset();
  keepalive_timer_.reset();
  dns_.reset();
  nodes_.clear();
  UpdateGauges();
}

void MediaNodePool::Start() {
  if (!options_.dns_host.empty() || !options_.dns_srv.empty()) {
    DnsWatcher::Options dns{options_.dns_host,    options_.dns_port,    options_.dns_srv,
                            options_.dns_refresh, options_.nameservers, options_.nameserver_port};
    dns_ = std::make_unique<DnsWatcher>(
        context_.get(), std::move(dns),
        [weak = weak_from_this()](const DnsWatcher::Answer& answer) {
          auto self = weak.lock();
          if (!self) return;
          if (!answer.ok) {
            MediaPoolMetrics::Get().Failure("dns_failed");
            log::Warn("media nodes: DNS failed, keeping the known nodes",
                      {{"name", self->options_.dns_srv.empty() ? self->options_.dns_host
                                                                : self->options_.dns_srv},
                       {"error", answer.error}});
            return;
          }
          self->SetListed(answer.addresses);
        });
  } else {
    SetListed(options_.addresses);
  }
  const auto lease = std::chrono::milliseconds(options_.lease_seconds * 1000);
  keepalive_timer_ = std::make_unique<LoopTimer>(
      context_.get(), std::max(lease / 3, std::chrono::milliseconds(500)),
      [this] { SendKeepAlives(); });
  health_timer_ = std::make_unique<LoopTimer>(context_.get(), options_.health_check_period,
                                              [this] { CheckHealth(); });
  UpdateGauges();
}

template <typename Fn>
void MediaNodePool::PostSelf(Fn fn) {
  PostToLoop(context_.get(), [weak = weak_from_this(), fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

// ------------------------------------------------------------------ discovery

void MediaNodePool::SetListed(const std::vector<std::string>& addresses) {
  const std::set<std::string> listed(addresses.begin(), addresses.end());
  for (const auto& address : listed) {
    auto it = nodes_.find(address);
    if (it == nodes_.end()) {
      AddNode(address);
    } else if (!it->second.listed) {
      it->second.listed = true;
      log::Info("media node listed again", {{"node", address}});
    }
  }
  std::vector<std::string> gone;
  for (auto& [address, entry] : nodes_) {
    if (entry.listed && !listed.count(address)) {
      entry.listed = false;
      gone.push_back(address);
      log::Info("media node no longer listed: no new sessions",
                {{"node", address}, {"sessions", std::to_string(entry.sessions.size())}});
    }
  }
  for (const auto& address : gone) MaybeDropNode(address);
  UpdateGauges();
}

void MediaNodePool::AddNode(const std::string& address) {
  NodeEntry entry;
  entry.node = MediaNode::Start(context_.get(), address, options_.node, *this);
  entry.unreachable_since = Clock::now();
  nodes_.emplace(address, std::move(entry));
  log::Info("media node added", {{"node", address}});
}

void MediaNodePool::MaybeDropNode(const std::string& address) {
  auto it = nodes_.find(address);
  if (it == nodes_.end()) return;
  const NodeEntry& entry = it->second;
  if (entry.listed || !entry.sessions.empty() || entry.creating > 0) return;
  log::Info("media node dropped", {{"node", address}});
  nodes_.erase(it);  // joins its Watch reader
  UpdateGauges();
}

// ------------------------------------------------------------------ choice

MediaNodePool::NodeEntry* MediaNodePool::Choose(const std::set<std::string>& exclude,
                                                std::string* why) {
  const auto now = Clock::now();
  int known = 0, down = 0, draining = 0, full = 0, unlisted = 0;
  std::vector<std::pair<double, NodeEntry*>> usable;
  for (auto& [address, entry] : nodes_) {
    if (exclude.count(address)) continue;
    ++known;
    if (!entry.listed) {
      ++unlisted;
      continue;
    }
    const MediaNode& node = *entry.node;
    if (!node.Healthy(now)) {
      ++down;
      continue;
    }
    if (node.load().draining()) {
      ++draining;
      continue;
    }
    // Sessions placed here that its last NodeLoad may not count yet.
    const int pending = entry.creating + entry.created_since_load;
    const uint32_t capacity = node.load().capacity();
    if (node.load().sessions() + static_cast<uint32_t>(pending) >= capacity) {
      ++full;
      continue;
    }
    usable.emplace_back(node.load().load() + static_cast<double>(pending) / capacity, &entry);
  }
  if (usable.empty()) {
    *why = "no media node available (" + std::to_string(known) + " known: " + std::to_string(down) +
           " down, " + std::to_string(draining) + " draining, " + std::to_string(full) + " full, " +
           std::to_string(unlisted) + " no longer listed)";
    return nullptr;
  }
  const double best = std::min_element(usable.begin(), usable.end())->first;  // pairs: load first
  std::vector<NodeEntry*> ties;
  for (const auto& [load, entry] : usable) {
    if (load - best < 1e-9) ties.push_back(entry);
  }
  return ties[round_robin_++ % ties.size()];
}

// ------------------------------------------------------------------ calls

void MediaNodePool::CreateSession(v1::CreateSessionRequest request, CreateCallback done) {
  auto attempt = std::make_shared<CreateAttempt>();
  request.set_lease_seconds(options_.lease_seconds);
  attempt->request = std::move(request);
  attempt->done = std::move(done);
  TryCreate(std::move(attempt));
}

void MediaNodePool::TryCreate(std::shared_ptr<CreateAttempt> attempt) {
  std::string why;
  NodeEntry* entry = Choose(attempt->tried, &why);
  if (!entry) {
    // A retry that finds no other node reports the first node's answer.
    grpc::Status status = attempt->tried.empty() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, why)
                                                 : attempt->first_error;
    if (attempt->tried.empty()) MediaPoolMetrics::Get().Failure("no_node");
    log::Warn("media session not placed",
              {{"call_id", attempt->request.call_id()}, {"error", status.error_message()}});
    PostSelf([attempt, status](MediaNodePool&) {
      if (attempt->done) attempt->done(status, {}, {});
    });
    return;
  }
  const std::string address = entry->node->address();
  attempt->tried.insert(address);
  entry->creating += 1;
  attempt->loads_at_send = entry->loads_heard;
  attempt->sessions_at_send = entry->node->load().sessions();
  MediaPoolMetrics::Get().choices.WithLabels({address}).Inc();
  log::Debug("media session placed", {{"call_id", attempt->request.call_id()}, {"node", address}});
  CallMediaRelay<v1::CreateSessionResponse>(
      context_.get(), entry->node->stub(), "CreateSession", options_.rpc_timeout, attempt->request,
      [](auto& async, auto* context, auto* req, auto* resp, auto on_done) {
        async.CreateSession(context, req, resp, std::move(on_done));
      },
      [weak = weak_from_this(), attempt, address](grpc::Status status,
                                                  v1::CreateSessionResponse response) {
        if (auto self = weak.lock()) {
          self->OnCreateDone(attempt, address, std::move(status), std::move(response));
        }
      });
}

void MediaNodePool::OnCreateDone(std::shared_ptr<CreateAttempt> attempt, const std::string& address,
                                 grpc::Status status, v1::CreateSessionResponse response) {
  auto it = nodes_.find(address);  // still there: a node is never dropped while creating
  if (it != nodes_.end()) it->second.creating -= 1;
  if (!status.ok()) {
    MediaPoolMetrics::Get().Failure("create_failed");
    log::Warn("media session refused", {{"call_id", attempt->request.call_id()},
                                        {"node", address},
                                        {"error", status.error_message()}});
    const bool retry = (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                        status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) &&
                       attempt->tried.size() < 2;
    MaybeDropNode(address);
    if (retry) {
      attempt->first_error = status;
      TryCreate(std::move(attempt));
      return;
    }
    if (attempt->done) attempt->done(std::move(status), {}, {});
    return;
  }
  const std::string& id = response.session_id();
  if (it != nodes_.end()) {
    // The node publishes its load before it answers, but the two travel apart:
    // a NodeLoad heard meanwhile with more sessions already counts this one.
    NodeEntry& entry = it->second;
    const bool counted = entry.loads_heard != attempt->loads_at_send &&
                         entry.node->load().sessions() > attempt->sessions_at_send;
    if (!counted) entry.created_since_load += 1;
    it->second.sessions.insert(id);
  }
  sessions_[id] = address;
  log::Info("media session created",
            {{"call_id", attempt->request.call_id()}, {"session", id}, {"node", address}});
  MediaSessionRef ref(weak_from_this(), id, address, response.node_id());
  if (attempt->done) {
    attempt->done(grpc::Status::OK, std::move(response), std::move(ref));
  }
  // Not taken by `done`: the ref dies here and the session is deleted.
}

void MediaNodePool::UpdateLeg(const MediaSessionRef& session, v1::UpdateLegRequest request,
                              UpdateCallback done) {
  CallOnSessionNode<v1::UpdateLegResponse>(
      session, std::move(request), "UpdateLeg", "update_failed",
      [](auto& async, auto* context, auto* req, auto* resp, auto on_done) {
        async.UpdateLeg(context, req, resp, std::move(on_done));
      },
      std::move(done));
}

void MediaNodePool::SendDtmf(const MediaSessionRef& session, v1::SendDtmfRequest request,
                             DtmfCallback done) {
  CallOnSessionNode<v1::SendDtmfResponse>(
      session, std::move(request), "SendDtmf", "dtmf_failed",
      [](auto& async, auto* context, auto* req, auto* resp, auto on_done) {
        async.SendDtmf(context, req, resp, std::move(on_done));
      },
      [done = std::move(done)](grpc::Status status, v1::SendDtmfResponse) {
        if (done) done(std::move(status));
      });
}

template <typename Response, typename Request, typename Invoke>
void MediaNodePool::CallOnSessionNode(const MediaSessionRef& session, Request request,
                                      const char* rpc, const char* failure, Invoke invoke,
                                      std::function<void(grpc::Status, Response)> done) {
  auto it = nodes_.find(session.node_address());
  if (!session || it == nodes_.end()) {
    PostSelf([done = std::move(done), id = session.session_id()](MediaNodePool&) {
      if (done) done({grpc::StatusCode::NOT_FOUND, "no media node for session " + id}, {});
    });
    return;
  }
  request.set_session_id(session.session_id());
  CallMediaRelay<Response>(context_.get(), it->second.node->stub(), rpc, options_.rpc_timeout,
                           std::move(request), std::move(invoke),
                           [weak = weak_from_this(), done = std::move(done), failure](
                               grpc::Status status, Response response) {
                             if (!weak.lock()) return;
                             if (!status.ok()) MediaPoolMetrics::Get().Failure(failure);
                             if (done) done(std::move(status), std::move(response));
                           });
}

void MediaNodePool::DeleteSession(MediaSessionRef session, std::string reason,
                                  DeleteCallback done) {
  session.pool_.reset();  // released here, not again by its destructor
  if (!session) {
    PostSelf([done = std::move(done)](MediaNodePool&) {
      if (done) done({grpc::StatusCode::INVALID_ARGUMENT, "no media session"}, {});
    });
    return;
  }
  ReleaseSession(session.session_id(), session.node_address(), std::move(reason), std::move(done));
}

void MediaNodePool::ReleaseSession(const std::string& session_id, const std::string& address,
                                   std::string reason, DeleteCallback done) {
  Untrack(session_id);
  auto it = nodes_.find(address);
  if (it == nodes_.end()) {
    PostSelf([done = std::move(done), session_id](MediaNodePool&) {
      if (done) done({grpc::StatusCode::NOT_FOUND, "no media node for session " + session_id}, {});
    });
    return;
  }
  v1::DeleteSessionRequest request;
  request.set_session_id(session_id);
  request.set_reason(std::move(reason));
  CallMediaRelay<v1::DeleteSessionResponse>(
      context_.get(), it->second.node->stub(), "DeleteSession", options_.rpc_timeout,
      std::move(request),
      [](auto& async, auto* context, auto* req, auto* resp, auto on_done) {
        async.DeleteSession(context, req, resp, std::move(on_done));
      },
      [weak = weak_from_this(), done = std::move(done)](grpc::Status status,
                                                        v1::DeleteSessionResponse response) {
        if (!weak.lock()) return;
        if (done) done(std::move(status), std::move(response));
      });
  MaybeDropNode(address);  // the call holds the stub: dropping the node now is fine
}

// ------------------------------------------------------------------ tracking

void MediaNodePool::Untrack(const std::string& session_id) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  auto node = nodes_.find(it->second);
  if (node != nodes_.end()) node->second.sessions.erase(session_id);
  sessions_.erase(it);
}

void MediaNodePool::Lose(const std::string& session_id, MediaSessionLoss reason,
                         std::string detail) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  const std::string address = it->second;
  Untrack(session_id);
  MediaPoolMetrics::Get().Failure(std::string(MediaSessionLossName(reason)));
  log::Warn("media session lost", {{"session", session_id},
                                   {"node", address},
                                   {"reason", MediaSessionLossName(reason)},
                                   {"detail", detail}});
  // Told on a turn of its own: the listener may destroy the pool.
  PostSelf([session_id, reason, detail = std::move(detail)](MediaNodePool& self) {
    if (self.listener_) self.listener_->OnMediaSessionLost(session_id, reason, detail);
  });
}

void MediaNodePool::SendKeepAlives() {
  for (auto& [address, entry] : nodes_) {
    if (entry.sessions.empty()) continue;
    v1::KeepAliveRequest request;
    for (const auto& id : entry.sessions) request.add_session_ids(id);
    const auto timeout = std::min(options_.rpc_timeout,
                                  std::chrono::milliseconds(options_.lease_seconds * 1000 / 3));
    CallMediaRelay<v1::KeepAliveResponse>(
        context_.get(), entry.node->stub(), "KeepAlive", timeout, std::move(request),
        [](auto& async, auto* context, auto* req, auto* resp, auto on_done) {
          async.KeepAlive(context, req, resp, std::move(on_done));
        },
        [weak = weak_from_this(), address = address](grpc::Status status,
                                                     v1::KeepAliveResponse response) {
          auto self = weak.lock();
          if (!self) return;
          if (!status.ok()) {
            MediaPoolMetrics::Get().Failure("keepalive_failed");
            log::Warn("media keepalive failed",
                      {{"node", address}, {"error", status.error_message()}});
            return;
          }
          for (const auto& id : response.unknown_session_ids()) {
            // Only if still ours on that node (not released meanwhile).
            auto it = self->sessions_.find(id);
            if (it != self->sessions_.end() && it->second == address) {
              self->Lose(id, MediaSessionLoss::kUnknown, "node " + address + " does not know it");
            }
          }
        });
  }
}

// ------------------------------------------------------------------ health

void MediaNodePool::CheckHealth() {
  const auto now = Clock::now();
  const auto lease = std::chrono::seconds(options_.lease_seconds);
  std::vector<std::string> failed, unlisted;
  for (auto& [address, entry] : nodes_) {
    if (!entry.listed) unlisted.push_back(address);
    MediaNode& node = *entry.node;
    if (node.Healthy(now)) {
      entry.unreachable_since.reset();
      continue;
    }
    if (!entry.unreachable_since) {
      entry.unreachable_since = now;
      if (node.stream_up()) {
        // Open but silent: the network or the node hangs. Reconnect.
        MediaPoolMetrics::Get().Failure("heartbeat_timeout");
        log::Warn("media node silent: reconnecting", {{"node", address}});
        node.RestartStream();
      }
    }
    if (now - *entry.unreachable_since >= lease && !entry.sessions.empty()) {
      failed.push_back(address);
    }
  }
  for (const auto& address : failed) {
    auto it = nodes_.find(address);
    const std::vector<std::string> ids(it->second.sessions.begin(), it->second.sessions.end());
    log::Error("media node failed: its sessions are lost",
               {{"node", address}, {"sessions", std::to_string(ids.size())}});
    MediaPoolMetrics::Get().Failure("node_failed");
    for (const auto& id : ids) {
      Lose(id, MediaSessionLoss::kNodeFailed, "node " + address + " unreachable for the lease");
    }
  }
  for (const auto& address : failed) MaybeDropNode(address);
  for (const auto& address : unlisted) MaybeDropNode(address);  // whose last session ended
  UpdateGauges();
}

void MediaNodePool::UpdateGauges() const {
  const auto now = Clock::now();
  int healthy = 0, draining = 0, down = 0, listed = 0;
  for (const auto& [address, entry] : nodes_) {
    if (entry.listed) ++listed;
    if (!entry.node->Healthy(now)) {
      ++down;
    } else if (entry.node->load().draining()) {
      ++draining;
    } else {
      ++healthy;
    }
  }
  auto& m = MediaPoolMetrics::Get();
  m.healthy.Set(healthy);
  m.draining.Set(draining);
  m.down.Set(down);
  m.listed.Set(listed);
}

std::vector<MediaNodePool::NodeInfo> MediaNodePool::Nodes() const {
  const auto now = Clock::now();
  std::vector<NodeInfo> out;
  for (const auto& [address, entry] : nodes_) {
    const MediaNode& node = *entry.node;
    NodeInfo info;
    info.address = address;
    info.node_id = node.node_id();
    info.healthy = node.Healthy(now);
    info.draining = node.load().draining();
    info.listed = entry.listed;
    info.sessions = node.load().sessions();
    info.capacity = node.load().capacity();
    info.load = node.load().load();
    info.tracked = entry.sessions.size();
    out.push_back(std::move(info));
  }
  return out;
}

// ------------------------------------------------------------------ Watch events

void MediaNodePool::OnNodeLoad(MediaNode& node) {
  auto it = nodes_.find(node.address());
  if (it == nodes_.end()) return;
  it->second.created_since_load = 0;
  it->second.loads_heard += 1;
  it->second.unreachable_since.reset();
  UpdateGauges();
}

void MediaNodePool::OnNodeSessionEvent(MediaNode& node, const v1::SessionEvent& event) {
  MediaSessionLoss reason;
  switch (event.type()) {
    case v1::SESSION_EVENT_ENDED:
      reason = MediaSessionLoss::kEnded;
      break;
    case v1::SESSION_EVENT_MEDIA_FAILED:
      reason = MediaSessionLoss::kMediaFailed;
      break;
    case v1::SESSION_EVENT_MEDIA_CONNECTED:
      if (sessions_.count(event.session_id()) && listener_) {
        PostSelf([id = event.session_id()](MediaNodePool& self) {
          if (self.listener_) self.listener_->OnMediaSessionConnected(id);
        });
      }
      return;
    default:
      return;
  }
  auto it = sessions_.find(event.session_id());
  if (it == sessions_.end() || it->second != node.address()) return;
  Lose(event.session_id(), reason, event.reason());
}

void MediaNodePool::OnNodeStreamDown(MediaNode& node, const grpc::Status& status) {
  (void)status;  // logged by the node
  MediaPoolMetrics::Get().Failure("watch_down");
  auto it = nodes_.find(node.address());
  if (it != nodes_.end() && !it->second.unreachable_since) {
    it->second.unreachable_since = Clock::now();
  }
  UpdateGauges();
}

}  // namespace webrtc2sip::signaling
