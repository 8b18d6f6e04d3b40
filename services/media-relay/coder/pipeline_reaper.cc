#include "services/media-relay/coder/pipeline_reaper.h"

#include <pthread.h>

namespace webrtc2sip::media::coder {

PipelineReaper& PipelineReaper::Global() {
  // Never destroyed: pipelines may still be handed over while the process exits.
  static PipelineReaper* reaper = new PipelineReaper();
  return *reaper;
}

PipelineReaper::PipelineReaper() : thread_([this] { Run(); }) {
  thread_.detach();
}

void PipelineReaper::Reap(GstElement* pipeline, std::shared_ptr<void> keepalive) {
  {
    std::lock_guard lock(mu_);
    items_.push_back(Item{pipeline, std::move(keepalive)});
  }
  wake_.notify_one();
}

void PipelineReaper::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return items_.empty() && busy_ == 0; });
}

void PipelineReaper::Run() {
  pthread_setname_np(pthread_self(), "coder-reaper");
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return !items_.empty(); });
    Item item = std::move(items_.front());
    items_.pop_front();
    ++busy_;
    lock.unlock();
    gst_element_set_state(item.pipeline, GST_STATE_NULL);
    gst_object_unref(item.pipeline);
    item.keepalive.reset();
    lock.lock();
    --busy_;
    if (items_.empty() && busy_ == 0) idle_.notify_all();
  }
}

}  // namespace webrtc2sip::media::coder
