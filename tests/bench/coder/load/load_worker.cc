#include "load/load_worker.h"

#include <ctime>

namespace webrtc2sip::bench::coder {
namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A source that is dispatched at its ready time (g_source_set_ready_time) and calls its
// callback.
GSourceFuncs pacer_funcs = {
    nullptr,
    nullptr,
    [](GSource*, GSourceFunc callback, gpointer data) -> gboolean { return callback(data); },
    nullptr,
    nullptr,
    nullptr};

}  // namespace

LoadWorker::LoadWorker(int index) : worker_(std::make_unique<media::Worker>(index)) {
  for (auto& h : latency_) h = std::make_unique<LatencyHistogram>();
}

LoadWorker::~LoadWorker() {
  Stop();
}

void LoadWorker::AddStream(int direction, std::unique_ptr<StreamDriver> stream, int64_t offset_us) {
  streams_.push_back({direction, offset_us, std::move(stream)});
}

absl::Status LoadWorker::Start() {
  return worker_->Invoke([this] {
    for (Stream& s : streams_) {
      if (absl::Status status = s.driver->Start(worker_->context()); !status.ok()) return status;
    }
    return absl::OkStatus();
  });
}

void LoadWorker::Go(int64_t start_us, bool flat_out) {
  worker_->Invoke([this, start_us, flat_out] {
    flat_out_ = flat_out;
    for (size_t i = 0; i < streams_.size(); ++i) {
      streams_[i].driver->Go(start_us + streams_[i].offset_us);
      due_.push({streams_[i].driver->next_due_us(), i});
    }
    pacer_ = g_source_new(&pacer_funcs, sizeof(GSource));
    g_source_set_callback(pacer_, &LoadWorker::Pace, this, nullptr);
    // Not above the worker's other sources: Invoke() (snapshots, stop) must get its turn even
    // when the pacer is always due.
    g_source_set_priority(pacer_, G_PRIORITY_DEFAULT);
    g_source_set_ready_time(pacer_, due_.empty() ? -1 : due_.top().first);
    g_source_attach(pacer_, worker_->context());
  });
}

gboolean LoadWorker::Pace(gpointer data) {
  auto* self = static_cast<LoadWorker*>(data);
  const int64_t now = g_get_monotonic_time();
  // Flat out: a batch of frames per turn whatever their due times, then the next turn at once
  // (the worker's other sources still get theirs).
  int batch = self->flat_out_ ? 256 : 0;
  while (!self->due_.empty() && (self->due_.top().first <= now || batch-- > 0)) {
    const auto [due, index] = self->due_.top();
    self->due_.pop();
    if (self->measuring_) self->max_lag_us_ = std::max(self->max_lag_us_, now - due);
    self->due_.push({self->streams_[index].driver->PushFrame(now), index});
  }
  g_source_set_ready_time(self->pacer_, self->due_.empty() ? -1
                                        : self->flat_out_  ? 0
                                                           : self->due_.top().first);
  return G_SOURCE_CONTINUE;
}

WorkerSnapshot LoadWorker::Snapshot(bool measuring) {
  return worker_->Invoke([this, measuring] {
    WorkerSnapshot snap;
    for (Stream& s : streams_) {
      snap.directions[s.direction].Add(s.driver->Counters());
      if (snap.failure.empty()) snap.failure = s.driver->failure();
      s.driver->set_measuring(measuring);
    }
    snap.max_lag_us = max_lag_us_;
    snap.thread_cpu_s = ThreadCpuSeconds();
    if (measuring && !measuring_) max_lag_us_ = 0;
    measuring_ = measuring;
    return snap;
  });
}

void LoadWorker::StopPushing() {
  worker_->Invoke([this] { StopPacer(); });
}

void LoadWorker::StopPacer() {
  if (pacer_ == nullptr) return;
  g_source_destroy(pacer_);
  g_source_unref(pacer_);
  pacer_ = nullptr;
  due_ = {};
}

void LoadWorker::Stop() {
  if (!worker_) return;
  // Transcoders are destroyed on their worker; their pipelines stop on the reaper thread.
  worker_->Invoke([this] {
    StopPacer();
    streams_.clear();
  });
  worker_.reset();
}

}  // namespace webrtc2sip::bench::coder
