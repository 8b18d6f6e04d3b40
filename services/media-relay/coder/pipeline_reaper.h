#pragma once

// Stops and frees pipelines on a thread of its own: setting a pipeline to NULL joins its
// streaming threads, which a worker must not wait for. What the pipeline's callbacks use is
// kept alive (`keepalive`) until the pipeline is gone.

#include <gst/gst.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace webrtc2sip::media::coder {

class PipelineReaper {
 public:
  // The process-wide reaper; its thread starts on first use and runs until exit.
  static PipelineReaper& Global();

  // Takes the caller's reference to `pipeline`.
  void Reap(GstElement* pipeline, std::shared_ptr<void> keepalive);

  // Waits until every pipeline handed over so far is freed (tests, shutdown).
  void WaitIdle();

 private:
  struct Item {
    GstElement* pipeline;
    std::shared_ptr<void> keepalive;
  };

  PipelineReaper();
  void Run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Item> items_;
  size_t busy_ = 0;
  std::thread thread_;
};

}  // namespace webrtc2sip::media::coder
