#pragma once

// One media-relay node as signaling sees it: a gRPC channel to it, its Watch
// stream read on a thread of its own (reconnecting with backoff), and what
// that stream tells: load, capacity, draining, heartbeats. The reader thread
// posts every event to the signaling loop; the state lives there, unlocked.

#include <glib.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/cwrap/gobject_ptr.h"
#include "webrtc2sip/media/v1/media_relay.grpc.pb.h"

namespace webrtc2sip::signaling {

class MediaNode final : public std::enable_shared_from_this<MediaNode> {
 public:
  using Clock = std::chrono::steady_clock;
  using Stub = media::v1::MediaRelay::Stub;

  // What the Watch stream says, on the loop thread.
  class Listener {
   public:
    virtual ~Listener() = default;
    // load() changed (also the first NodeLoad of each new stream).
    virtual void OnNodeLoad(MediaNode& node) = 0;
    virtual void OnNodeSessionEvent(MediaNode& node, const media::v1::SessionEvent& event) = 0;
    // The stream that was up ended (the reader reconnects on its own).
    virtual void OnNodeStreamDown(MediaNode& node, const grpc::Status& status) = 0;
  };

  struct Options {
    // Healthy only while something was heard within this (the node sends a NodeLoad at
    // least every 5 s).
    std::chrono::milliseconds heartbeat_timeout{10'000};
    std::chrono::milliseconds reconnect_min{250};
    std::chrono::milliseconds reconnect_max{5'000};
  };

  // Opens the channel and starts the Watch reader. On the loop thread of `context`;
  // `listener` must outlive the node.
  static std::shared_ptr<MediaNode> Start(GMainContext* context, std::string address,
                                          const Options& options, Listener& listener);
  // Cancels the stream and joins the reader: quick, the reader never waits on the loop.
  // On the loop thread.
  ~MediaNode();
  MediaNode(const MediaNode&) = delete;
  MediaNode& operator=(const MediaNode&) = delete;

  const std::string& address() const { return address_; }
  // Thread-safe, like every gRPC stub; in-flight calls keep it alive.
  const std::shared_ptr<Stub>& stub() const { return stub_; }

  // Loop thread only from here.
  // The node's own id (from its NodeLoad); empty until the first one.
  const std::string& node_id() const { return load_.node_id(); }
  const media::v1::NodeLoad& load() const { return load_; }
  bool stream_up() const { return stream_up_; }
  Clock::time_point last_heard() const { return last_heard_; }
  // Stream up and something heard within heartbeat_timeout.
  bool Healthy(Clock::time_point now) const {
    return stream_up_ && now - last_heard_ < options_.heartbeat_timeout;
  }
  // Ends the current stream (heartbeats stopped on an open stream: a silent network);
  // the reader reconnects.
  void RestartStream();

 private:
  MediaNode(GMainContext* context, std::string address, const Options& options, Listener& listener);

  void ReadLoop(std::weak_ptr<MediaNode> self);  // the reader thread
  void HandleEvent(const media::v1::NodeEvent& event);
  void HandleStreamEnd(const grpc::Status& status);

  GMainContextPtr context_;
  const std::string address_;
  const Options options_;
  Listener& listener_;
  std::shared_ptr<Stub> stub_;

  // Shared by the loop and the reader thread.
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* watch_call_ = nullptr;  // the open Watch call, to cancel it
  std::thread reader_;

  // Loop thread only.
  media::v1::NodeLoad load_;
  bool stream_up_ = false;
  Clock::time_point last_heard_{};
};

}  // namespace webrtc2sip::signaling
