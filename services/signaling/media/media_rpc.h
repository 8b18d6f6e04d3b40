#pragma once

// One unary MediaRelay call off the loop: gRPC's callback API runs it on
// gRPC's threads, and its result is posted back to the loop. Its latency is
// observed in webrtc2sip_media_rpc_duration_seconds{method}.

#include <glib.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/metrics/registry.h"
#include "services/signaling/media/loop_post.h"
#include "webrtc2sip/media/v1/media_relay.grpc.pb.h"

namespace webrtc2sip::signaling {

metrics::Histogram& MediaRpcLatency(const std::string& method);

// `start(async, context, request, response, on_done)` starts the call, e.g.
//   [](auto& a, auto* c, auto* q, auto* r, auto f) { a.KeepAlive(c, q, r, std::move(f)); }
// `done(status, response)` runs on a later turn of `loop` (never inline); it
// must guard its own target with a weak handle. The call state (context,
// request, response, stub) is owned by the call until it completes, and is
// freed on `loop`.
template <typename Response, typename Request, typename Start>
void CallMediaRelay(GMainContext* loop, std::shared_ptr<media::v1::MediaRelay::Stub> stub,
                    const char* method, std::chrono::milliseconds timeout, Request request,
                    Start start, std::function<void(grpc::Status, Response)> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    std::shared_ptr<media::v1::MediaRelay::Stub> stub;
    std::chrono::steady_clock::time_point started;
    metrics::Histogram* latency = nullptr;
  };
  // The call state is freed on the loop, whichever thread lets go of it last. Its stub, and
  // its context (which holds the channel too once the call has started), may be the channel's
  // last owners once the node has left the pool; gRPC drops its copy of `on_done` on one of
  // its own threads after running it, and a channel must not be destroyed on its own thread
  // (gRPC's 'prior > 0' refcount abort, seen in MediaPoolTest.DnsNameIsResolvedAgain).
  GMainContext* const held = g_main_context_ref(loop);
  std::shared_ptr<Call> call(new Call, [held](Call* state) {
    PostToLoop(held, [owner = std::shared_ptr<Call>(state)] {});
    g_main_context_unref(held);
  });
  call->request = std::move(request);
  call->stub = std::move(stub);
  call->started = std::chrono::steady_clock::now();
  call->latency = &MediaRpcLatency(method);
  call->context.set_deadline(std::chrono::system_clock::now() + timeout);
  auto on_done = [call, loop, done = std::move(done)](grpc::Status status) mutable {
    call->latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - call->started).count());
    PostToLoop(loop, [call, status = std::move(status), done = std::move(done)]() mutable {
      if (done) done(std::move(status), std::move(call->response));
    });
  };
  Call& c = *call;
  start(*c.stub->async(), &c.context, &c.request, &c.response, std::move(on_done));
}

}  // namespace webrtc2sip::signaling
