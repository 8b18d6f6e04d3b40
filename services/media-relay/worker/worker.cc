#include "services/media-relay/worker/worker.h"

#include <pthread.h>
#include <sys/prctl.h>

#include "common/log/logger.h"
#include "services/media-relay/net/socket_poller.h"

namespace webrtc2sip::media {
namespace {

struct Task {
  std::function<void()> fn;
};

gboolean RunTask(gpointer data) {
  static_cast<Task*>(data)->fn();
  return G_SOURCE_REMOVE;
}

void FreeTask(gpointer data) { delete static_cast<Task*>(data); }

}  // namespace

Worker::Worker(int index, std::chrono::microseconds batch_window, bool batched_io)
    : index_(index),
      batch_window_(batch_window),
      batched_io_(batched_io),
      context_(g_main_context_new()),
      loop_(g_main_loop_new(context_.get(), FALSE)),
      thread_([this] { Run(); }) {}

Worker::~Worker() {
  Post([this] { g_main_loop_quit(loop_.get()); });
  thread_.join();
}

void Worker::Run() {
  const std::string name = "media-worker-" + std::to_string(index_);
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  g_main_context_push_thread_default(context_.get());
  // The poller lives as long as the loop runs; the batching pause is short, so the thread's
  // timer slack (50 us by default) is brought down to keep it close to what was asked.
  std::shared_ptr<SocketPoller> poller = SocketPoller::ForContext(context_.get());
  if (poller && batch_window_.count() > 0) {
    poller->SetBatchWindow(batch_window_);
    prctl(PR_SET_TIMERSLACK, 5000UL, 0UL, 0UL, 0UL);
  }
  if (poller && batched_io_) {
    std::string why;
    if (!poller->EnableBatchedIo(&why)) {
      log::Warn("media batched io off: one system call per socket read and per packet sent",
                {{"worker", std::to_string(index_)}, {"reason", why}});
    }
  }
  g_main_loop_run(loop_.get());
  // Run what was posted before the quit, so nothing waits forever.
  while (g_main_context_iteration(context_.get(), FALSE)) {
  }
  poller.reset();
  g_main_context_pop_thread_default(context_.get());
}

void Worker::Post(std::function<void()> fn) {
  // The GSource owns the task; it is freed after running, or with the context.
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, &RunTask, new Task{std::move(fn)}, &FreeTask);
  g_source_attach(source, context_.get());
  g_source_unref(source);
}

}  // namespace webrtc2sip::media
