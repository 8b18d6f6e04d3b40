#include "services/signaling/media/media_node.h"

#include "common/log/logger.h"
#include "services/signaling/media/loop_post.h"

namespace webrtc2sip::signaling {

namespace v1 = media::v1;

namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const MediaNode::Options& options) {
  grpc::ChannelArguments args;
  // gRPC's own reconnection must not back off for minutes: a node that comes
  // (back) up is to be seen within about reconnect_max.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(options.reconnect_min.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(options.reconnect_min.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options.reconnect_max.count()));
  // One connection per node and per pool, shared with no other channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

std::shared_ptr<MediaNode> MediaNode::Start(GMainContext* context, std::string address,
                                            const Options& options, Listener& listener) {
  std::shared_ptr<MediaNode> node(new MediaNode(context, std::move(address), options, listener));
  node->reader_ = std::thread(&MediaNode::ReadLoop, node.get(), node->weak_from_this());
  return node;
}

MediaNode::MediaNode(GMainContext* context, std::string address, const Options& options,
                     Listener& listener)
    : context_(g_main_context_ref(context)),
      address_(std::move(address)),
      options_(options),
      listener_(listener),
      stub_(v1::MediaRelay::NewStub(MakeChannel(address_, options_))) {}

MediaNode::~MediaNode() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (watch_call_) watch_call_->TryCancel();
  }
  wake_.notify_all();
  if (reader_.joinable()) reader_.join();
}

void MediaNode::RestartStream() {
  std::lock_guard lock(mutex_);
  if (watch_call_) watch_call_->TryCancel();
}

void MediaNode::ReadLoop(std::weak_ptr<MediaNode> self) {
  // Members are safe to use here: the destructor joins this thread first. The
  // node itself is reached again only on the loop, through `self`.
  GMainContext* const context = context_.get();
  auto backoff = options_.reconnect_min;
  for (;;) {
    grpc::ClientContext call;
    // Waits for the channel to connect (gRPC reconnects with its backoff, bounded
    // by reconnect_max) instead of failing at once while the node is down.
    call.set_wait_for_ready(true);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      watch_call_ = &call;
    }
    std::unique_ptr<grpc::ClientReader<v1::NodeEvent>> reader =
        stub_->Watch(&call, v1::WatchRequest());
    v1::NodeEvent event;
    bool heard = false;
    while (reader->Read(&event)) {
      heard = true;
      PostToLoop(context, [self, event = std::move(event)] {
        if (auto node = self.lock()) node->HandleEvent(event);
      });
      event = v1::NodeEvent();
    }
    grpc::Status status = reader->Finish();
    {
      std::lock_guard lock(mutex_);
      watch_call_ = nullptr;
    }
    PostToLoop(context, [self, status] {
      if (auto node = self.lock()) node->HandleStreamEnd(status);
    });
    if (heard) backoff = options_.reconnect_min;
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) return;
    backoff = std::min(backoff * 2, options_.reconnect_max);
  }
}

void MediaNode::HandleEvent(const v1::NodeEvent& event) {
  last_heard_ = Clock::now();
  const bool was_up = stream_up_;
  stream_up_ = true;
  if (!was_up) log::Info("media node up", {{"node", address_}});
  if (event.has_load()) {
    load_ = event.load();
    listener_.OnNodeLoad(*this);
  } else if (event.has_session()) {
    listener_.OnNodeSessionEvent(*this, event.session());
  }
}

void MediaNode::HandleStreamEnd(const grpc::Status& status) {
  if (!stream_up_) return;  // a failed connection attempt: nothing changes
  stream_up_ = false;
  log::Warn("media node watch stream ended",
            {{"node", address_}, {"error", status.error_message()}});
  listener_.OnNodeStreamDown(*this, status);
}

}  // namespace webrtc2sip::signaling
