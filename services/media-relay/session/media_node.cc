#include "services/media-relay/session/media_node.h"

#include <openssl/rand.h>

#include <algorithm>

#include "common/log/logger.h"
#include "common/metrics/registry.h"

namespace webrtc2sip::media {
namespace {

struct NodeMetrics {
  metrics::GaugeFamily& sessions = metrics::Registry::Global().AddGauge(
      "webrtc2sip_media_sessions", "Media sessions on this node.", {});
  metrics::CounterFamily& created = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_sessions_created_total", "Media sessions created.", {});
  metrics::CounterFamily& failed = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_sessions_failed_total",
      "Media sessions that could not be created, by reason.", {"reason"});
  metrics::CounterFamily& ended = metrics::Registry::Global().AddCounter(
      "webrtc2sip_media_sessions_ended_total", "Media sessions ended, by reason.", {"reason"});
  metrics::GaugeFamily& draining = metrics::Registry::Global().AddGauge(
      "webrtc2sip_media_node_draining", "1 while the node refuses new sessions.", {});
  metrics::GaugeFamily& load = metrics::Registry::Global().AddGauge(
      "webrtc2sip_media_node_load", "Weighted load of the node, 0 to 1 of its capacity.", {});
  metrics::GaugeFamily& worker_sessions = metrics::Registry::Global().AddGauge(
      "webrtc2sip_media_worker_sessions", "Media sessions per worker thread.", {"worker"});

  static NodeMetrics& Get() {
    static NodeMetrics m;
    return m;
  }
};

std::string NewSessionId() {
  unsigned char raw[8];
  RAND_bytes(raw, sizeof raw);
  std::string id;
  for (unsigned char b : raw) {
    id += "0123456789abcdef"[b >> 4];
    id += "0123456789abcdef"[b & 15];
  }
  return id;
}

const char* EventName(v1::SessionEventType type) {
  switch (type) {
    case v1::SESSION_EVENT_ENDED: return "ended";
    case v1::SESSION_EVENT_MEDIA_CONNECTED: return "media_connected";
    case v1::SESSION_EVENT_MEDIA_FAILED: return "media_failed";
    default: return "unspecified";
  }
}

}  // namespace

MediaNode::MediaNode(NodeContext context, int workers) : context_(std::move(context)) {
  for (int i = 0; i < std::max(1, workers); ++i) {
    workers_.push_back(std::make_unique<Worker>(
        i, std::chrono::microseconds(context_.relay.packet_batch_us()),
        context_.relay.batched_io()));
    NodeMetrics::Get().worker_sessions.WithLabels({std::to_string(i)}).Set(0);
  }
  NodeMetrics::Get().sessions.WithLabels({}).Set(0);
  NodeMetrics::Get().draining.WithLabels({}).Set(0);
  NodeMetrics::Get().load.WithLabels({}).Set(0);
}

MediaNode::~MediaNode() {
  std::unordered_map<std::string, std::unique_ptr<Entry>> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(sessions_);
  }
  for (auto& [id, entry] : all) EndSession(std::move(entry), id, "shutdown", nullptr);
  workers_.clear();  // joins the threads
}

Worker& MediaNode::LeastLoadedWorker() {
  return **std::min_element(workers_.begin(), workers_.end(), [](const auto& a, const auto& b) {
    return a->load.load() < b->load.load();
  });
}

grpc::Status MediaNode::CreateSession(const v1::CreateSessionRequest& request,
                                      v1::CreateSessionResponse* response) {
  {
    std::lock_guard lock(mutex_);
    if (draining_) {
      NodeMetrics::Get().failed.WithLabels({"draining"}).Inc();
      return {grpc::StatusCode::UNAVAILABLE, "node " + context_.node_id + " is draining"};
    }
    if (sessions_.size() >= context_.relay.capacity()) {
      NodeMetrics::Get().failed.WithLabels({"capacity"}).Inc();
      return {grpc::StatusCode::RESOURCE_EXHAUSTED,
              "node " + context_.node_id + " is at capacity (" +
                  std::to_string(context_.relay.capacity()) + " sessions)"};
    }
  }
  auto entry = std::make_unique<Entry>();
  entry->worker = &LeastLoadedWorker();
  entry->lease_seconds = request.lease_seconds() ? request.lease_seconds() : 30;
  const std::string id = NewSessionId();
  // One hop to the worker: the session is built there and weighed there.
  grpc::Status status = entry->worker->Invoke([&] {
    grpc::Status created = Session::Create(*entry->worker, context_, id, request, *this,
                                           &entry->session, response);
    if (created.ok()) entry->weight = entry->session->Weight();
    return created;
  });
  if (!status.ok()) {
    NodeMetrics::Get().failed.WithLabels({"bad_request"}).Inc();
    log::Warn("session refused", {{"call_id", request.call_id()}, {"error", status.error_message()}});
    return status;
  }
  response->set_session_id(id);
  response->set_node_id(context_.node_id);
  entry->worker->sessions += 1;
  entry->worker->load = entry->worker->load.load() + entry->weight;
  NodeMetrics::Get().worker_sessions.WithLabels({std::to_string(entry->worker->index())})
      .Set(entry->worker->sessions.load());
  entry->lease_expiry = Clock::now() + std::chrono::seconds(entry->lease_seconds);
  {
    std::lock_guard lock(mutex_);
    sessions_[id] = std::move(entry);
    NodeMetrics::Get().sessions.WithLabels({}).Set(static_cast<double>(sessions_.size()));
  }
  NodeMetrics::Get().created.WithLabels({}).Inc();
  log::Info("session created", {{"session", id}, {"call_id", request.call_id()}});
  PublishLoad();
  return grpc::Status::OK;
}

template <typename Fn>
grpc::Status MediaNode::OnSessionWorker(const std::string& session_id, Fn fn) {
  Worker* worker = nullptr;
  Session* session = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return {grpc::StatusCode::NOT_FOUND, "unknown session " + session_id};
    worker = it->second->worker;
    session = it->second->session.get();
  }
  // The entry can only leave the index through EndSession, which destroys the
  // session on the same worker: this call runs before or after that, whole.
  return worker->Invoke([&]() -> grpc::Status {
    {
      std::lock_guard lock(mutex_);
      auto it = sessions_.find(session_id);
      if (it == sessions_.end() || it->second->session.get() != session) {
        return {grpc::StatusCode::NOT_FOUND, "unknown session " + session_id};
      }
    }
    return fn(*session);
  });
}

grpc::Status MediaNode::UpdateLeg(const v1::UpdateLegRequest& request,
                                  v1::UpdateLegResponse* response) {
  double before = 0;
  double after = 0;
  grpc::Status status = OnSessionWorker(request.session_id(), [&](Session& session) {
    before = session.Weight();
    grpc::Status updated = session.Update(request, response);
    after = session.Weight();
    return updated;
  });
  // Transcoding starts or stops with an update: the session weighs differently.
  if (after != before) {
    {
      std::lock_guard lock(mutex_);
      auto it = sessions_.find(request.session_id());
      if (it == sessions_.end()) return status;
      Entry& entry = *it->second;
      entry.weight = after;
      entry.worker->load = std::max(0.0, entry.worker->load.load() + after - before);
    }
    PublishLoad();
  }
  return status;
}

grpc::Status MediaNode::SendDtmf(const v1::SendDtmfRequest& request) {
  return OnSessionWorker(request.session_id(),
                         [&](Session& session) { return session.SendDtmf(request); });
}

grpc::Status MediaNode::DeleteSession(const v1::DeleteSessionRequest& request,
                                      v1::DeleteSessionResponse* response) {
  std::unique_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(request.session_id());
    if (it == sessions_.end()) {
      return {grpc::StatusCode::NOT_FOUND, "unknown session " + request.session_id()};
    }
    entry = std::move(it->second);
    sessions_.erase(it);
  }
  EndSession(std::move(entry), request.session_id(),
             request.reason().empty() ? "deleted" : request.reason(), response->mutable_stats());
  return grpc::Status::OK;
}

void MediaNode::EndSession(std::unique_ptr<Entry> entry, const std::string& id,
                           const std::string& reason, v1::SessionStats* stats) {
  Worker* worker = entry->worker;
  worker->Invoke([&] {
    if (stats && entry->session) *stats = entry->session->Stats();
    entry->session.reset();
  });
  worker->sessions -= 1;
  worker->load = std::max(0.0, worker->load.load() - entry->weight);
  NodeMetrics::Get().worker_sessions.WithLabels({std::to_string(worker->index())})
      .Set(worker->sessions.load());
  NodeMetrics::Get().ended.WithLabels({reason}).Inc();
  NodeMetrics::Get().sessions.WithLabels({}).Set(static_cast<double>(session_count()));
  log::Info("session ended", {{"session", id}, {"reason", reason}});
  v1::NodeEvent event;
  event.mutable_session()->set_session_id(id);
  event.mutable_session()->set_type(v1::SESSION_EVENT_ENDED);
  event.mutable_session()->set_reason(reason);
  Publish(event);
  PublishLoad();
}

void MediaNode::KeepAlive(const v1::KeepAliveRequest& request, v1::KeepAliveResponse* response) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  for (const auto& id : request.session_ids()) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      response->add_unknown_session_ids(id);
      continue;
    }
    it->second->lease_expiry = now + std::chrono::seconds(it->second->lease_seconds);
  }
}

void MediaNode::ExpireLeases(Clock::time_point now) {
  std::vector<std::pair<std::string, std::unique_ptr<Entry>>> expired;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->lease_expiry <= now) {
        expired.emplace_back(it->first, std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [id, entry] : expired) EndSession(std::move(entry), id, "lease_expired", nullptr);
}

void MediaNode::StartDrain() {
  {
    std::lock_guard lock(mutex_);
    if (draining_) return;
    draining_ = true;
  }
  NodeMetrics::Get().draining.WithLabels({}).Set(1);
  log::Info("draining", {{"sessions", std::to_string(session_count())}});
  PublishLoad();
}

bool MediaNode::draining() const {
  std::lock_guard lock(mutex_);
  return draining_;
}

size_t MediaNode::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

v1::NodeLoad MediaNode::Load() const {
  v1::NodeLoad load;
  load.set_node_id(context_.node_id);
  load.set_capacity(context_.relay.capacity());
  double weight = 0;
  {
    std::lock_guard lock(mutex_);
    load.set_sessions(static_cast<uint32_t>(sessions_.size()));
    load.set_draining(draining_);
    for (const auto& [id, entry] : sessions_) weight += entry->weight;
  }
  load.set_load(std::min(1.0, weight / std::max(1u, context_.relay.capacity())));
  NodeMetrics::Get().load.WithLabels({}).Set(load.load());
  return load;
}

std::shared_ptr<MediaNode::Subscription> MediaNode::Subscribe() {
  auto sub = std::make_shared<Subscription>();
  v1::NodeEvent first;
  *first.mutable_load() = Load();
  sub->events_.push_back(std::move(first));
  std::lock_guard lock(subscribers_mutex_);
  subscribers_.push_back(sub);
  return sub;
}

bool MediaNode::Subscription::Next(v1::NodeEvent* event, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [this] { return !events_.empty(); })) return false;
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

void MediaNode::Publish(const v1::NodeEvent& event) {
  std::lock_guard lock(subscribers_mutex_);
  std::erase_if(subscribers_, [](const auto& w) { return w.expired(); });
  for (auto& weak : subscribers_) {
    if (auto sub = weak.lock()) {
      std::lock_guard sub_lock(sub->mutex_);
      if (sub->events_.size() < 10000) sub->events_.push_back(event);  // a stuck watcher
      sub->ready_.notify_one();
    }
  }
}

void MediaNode::PublishLoad() {
  v1::NodeEvent event;
  *event.mutable_load() = Load();
  Publish(event);
}

void MediaNode::OnSessionEvent(const std::string& session_id, v1::SessionEventType type,
                               const std::string& reason) {
  log::Info("session event", {{"session", session_id}, {"event", EventName(type)}, {"reason", reason}});
  v1::NodeEvent event;
  event.mutable_session()->set_session_id(session_id);
  event.mutable_session()->set_type(type);
  event.mutable_session()->set_reason(reason);
  Publish(event);
}

}  // namespace webrtc2sip::media
