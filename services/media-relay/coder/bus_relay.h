#pragma once

// Pipeline errors brought to the worker that owns the transcoders, through one GSource per
// GMainContext instead of a bus watch per pipeline. A bus watch is a GSource with a socket of
// its own: with 150 pipelines on a worker (75 two-way calls) every wake-up of the worker polled
// 150 sockets and GLib walked 150 more sources, for messages that almost never come. Each
// pipeline's bus gets a sync handler instead: it drops every message (nothing else reads these
// buses) and queues the errors here, and one eventfd wakes the worker to deliver them.

#include <glib.h>
#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace webrtc2sip::media::coder {

class BusRelay : public std::enable_shared_from_this<BusRelay> {
 public:
  class Target {
   public:
    virtual ~Target() = default;
    // On the context's thread, from the loop (never inside a push): the pipeline posted an
    // error. The target may unwatch and destroy itself from here.
    virtual void OnPipelineError(std::string reason) = 0;
  };

  // The relay of `context` (made on first use; kept while a transcoder holds it); null when no
  // eventfd can be made.
  static std::shared_ptr<BusRelay> For(GMainContext* context);
  ~BusRelay();
  BusRelay(const BusRelay&) = delete;
  BusRelay& operator=(const BusRelay&) = delete;

  // On the context's thread. Installs `bus`'s sync handler: its errors, as "<prefix><element>:
  // <message> (<debug>)", go to `target` until Unwatch(). The handler holds only the relay's
  // inbox (never the relay, which is made and destroyed on the context's thread): a bus that
  // outlives its transcoder or the relay (a pipeline being torn down) posts into nothing.
  uint64_t Watch(GstBus* bus, std::string prefix, Target* target);
  // On the context's thread. Nothing reaches the target after this.
  void Unwatch(uint64_t id);

 private:
  struct Source;
  struct Inbox;  // The errors posted from any thread, and the eventfd that announces them.
  struct Tap;    // What a bus's sync handler holds; freed with the bus.
  BusRelay(GMainContext* context, std::shared_ptr<Inbox> inbox);
  void Deliver();  // The context's thread.
  static GstBusSyncReply OnSync(GstBus* bus, GstMessage* message, gpointer data);

  std::shared_ptr<Inbox> inbox_;
  GSource* source_ = nullptr;
  std::unordered_map<uint64_t, Target*> targets_;  // The context's thread only.
  uint64_t next_id_ = 1;
};

}  // namespace webrtc2sip::media::coder
