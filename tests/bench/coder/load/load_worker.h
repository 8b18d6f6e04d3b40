#pragma once

// The streams of one relay worker (services/media-relay/worker, the relay's own Worker: one
// thread running one GMainContext). Its Transcoders are created on it, deliver their output
// on it, and are pushed from its pacer: a GSource woken at the next frame due (GLib polls in
// whole milliseconds, so frames due within the same millisecond go out together). Other
// threads reach it only through Worker::Invoke().

#include <glib.h>

#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "load/stream_driver.h"
#include "services/media-relay/worker/worker.h"

namespace webrtc2sip::bench::coder {

struct WorkerSnapshot {
  DirectionCounters directions[2];
  int64_t max_lag_us = 0;   // Latest a frame was pushed after its due time, while measuring.
  double thread_cpu_s = 0;  // The worker thread's own CPU (pushes, output, pacing).
  std::string failure;      // A pipeline error, if any stream had one.
};

class LoadWorker {
 public:
  explicit LoadWorker(int index);
  ~LoadWorker();  // Stop()s.
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;

  // Before Start(): a stream of `direction` (0 or 1), pushed from `start offset` on.
  void AddStream(int direction, std::unique_ptr<StreamDriver> stream, int64_t offset_us);
  LatencyHistogram& latency(int direction) { return *latency_[direction]; }

  // Creates every stream's Transcoder on the worker thread; the first error, if any.
  absl::Status Start();
  // Frames start at `start_us` plus each stream's offset. `flat_out`: as fast as the worker
  // goes instead, still in due order (a diagnosis: the cost of a frame without the wake-ups
  // of real time).
  void Go(int64_t start_us, bool flat_out = false);
  // Counters now; latency samples are taken from now on while `measuring`.
  WorkerSnapshot Snapshot(bool measuring);
  // No more input; output still comes.
  void StopPushing();
  // Destroys the streams on the worker thread, then ends it.
  void Stop();

 private:
  struct Stream {
    int direction;
    int64_t offset_us;
    std::unique_ptr<StreamDriver> driver;
  };
  using Due = std::pair<int64_t, size_t>;  // (due time, stream index), earliest on top.

  static gboolean Pace(gpointer self);
  void StopPacer();

  std::unique_ptr<media::Worker> worker_;
  std::vector<Stream> streams_;
  std::unique_ptr<LatencyHistogram> latency_[2];
  // Worker thread only.
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  GSource* pacer_ = nullptr;
  bool measuring_ = false;
  bool flat_out_ = false;
  int64_t max_lag_us_ = 0;
};

}  // namespace webrtc2sip::bench::coder
