#include "services/media-relay/worker/worker.h"

#include <pthread.h>

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

Worker::Worker(int index)
    : index_(index),
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
  g_main_loop_run(loop_.get());
  // Run what was posted before the quit, so nothing waits forever.
  while (g_main_context_iteration(context_.get(), FALSE)) {
  }
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
