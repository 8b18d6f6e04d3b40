#pragma once

// A media worker: one thread running one GMainContext. A session lives on
// one worker for life; its ICE agent, DTLS, SRTP and sockets run there
// without locks. Other threads reach it only through Post()/Invoke().

#include <glib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/cwrap/c_ptr.h"

namespace webrtc2sip::media {

class Worker {
 public:
  // `batch_window`: media_relay.packet_batch_us, for the worker's socket poller.
  // `batched_io`: media_relay.batched_io (SocketPoller::EnableBatchedIo).
  explicit Worker(int index, std::chrono::microseconds batch_window = {}, bool batched_io = false);
  ~Worker();  // stops the loop and joins the thread
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int index() const { return index_; }
  GMainContext* context() const { return context_.get(); }
  bool InWorkerThread() const { return std::this_thread::get_id() == thread_.get_id(); }

  // Runs `fn` on the worker thread, soon; never blocks.
  void Post(std::function<void()> fn);

  // Runs `fn` on the worker thread and waits for its result.
  template <typename F>
  auto Invoke(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    if (InWorkerThread()) return fn();
    std::packaged_task<R()> task(std::move(fn));
    std::future<R> result = task.get_future();
    Post([&task] { task(); });
    return result.get();
  }

  // Sessions on this worker, kept by the session code for load balancing.
  std::atomic<int> sessions{0};
  // Load units (a transcoding session weighs more than a relayed one).
  std::atomic<double> load{0};

 private:
  void Run();

  const int index_;
  const std::chrono::microseconds batch_window_;
  const bool batched_io_;
  CPtr<GMainContext, g_main_context_unref> context_;
  CPtr<GMainLoop, g_main_loop_unref> loop_;
  std::thread thread_;
};

}  // namespace webrtc2sip::media
