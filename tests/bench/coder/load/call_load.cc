#include "load/call_load.h"

#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "load/load_worker.h"
#include "services/media-relay/coder/pipeline_reaper.h"
#include "tests/bench/relay/load/process_stats.h"

namespace webrtc2sip::bench::coder {
namespace {

namespace procfs = webrtc2sip::bench::relay;

constexpr const char* kDirectionKey[2] = {"fwd", "rev"};
// A stream is behind when more than this much input waits in its pipeline at the window's end.
constexpr double kMaxBacklogMs = 200;

void Sleep(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

struct Totals {
  DirectionCounters directions[2];
  int64_t max_lag_us = 0;
  double worker_cpu_s = 0;
  std::string failure;
};

Totals SnapshotAll(std::vector<std::unique_ptr<LoadWorker>>& workers, bool measuring) {
  Totals t;
  for (auto& w : workers) {
    const WorkerSnapshot s = w->Snapshot(measuring);
    for (int d = 0; d < 2; ++d) t.directions[d].Add(s.directions[d]);
    t.max_lag_us = std::max(t.max_lag_us, s.max_lag_us);
    t.worker_cpu_s += s.thread_cpu_s;
    if (t.failure.empty()) t.failure = s.failure;
  }
  return t;
}

}  // namespace

CallMedia MakeCallMedia(const std::string& kind, double clip_seconds, const VideoClipSpec& video) {
  if (kind == "audio") {
    return {kind, {MakeOpusClip(clip_seconds), MakePcmuClip(clip_seconds)}};
  }
  if (kind == "video") {
    return {
        kind,
        {MakeVideoClip("vp8", clip_seconds, video), MakeVideoClip("h264-bp", clip_seconds, video)}};
  }
  throw std::invalid_argument("--kind is audio or video, not " + kind);
}

ResultLine RunCallLoad(const LoadOptions& options, const CallMedia& media) {
  const int calls = options.calls;
  const int nworkers = std::max(1, std::min(options.workers, calls));
  std::vector<std::unique_ptr<LoadWorker>> workers;
  workers.reserve(static_cast<size_t>(nworkers));
  for (int w = 0; w < nworkers; ++w) workers.push_back(std::make_unique<LoadWorker>(w));

  // Every stream's frames at their own phase of the frame period, so the load is even.
  const uint32_t fps = media.clips[0].frames_per_second;
  const int64_t period_us = 1'000'000 / fps;
  const int streams = 2 * calls;
  for (int c = 0; c < calls; ++c) {
    LoadWorker& worker = *workers[static_cast<size_t>(c % nworkers)];
    for (int d = 0; d < 2; ++d) {
      const int64_t offset = period_us * (2 * c + d) / streams;
      worker.AddStream(d,
                       std::make_unique<StreamDriver>(media.clips[d], media.clips[1 - d],
                                                      options.video, worker.latency(d)),
                       offset);
    }
  }
  const int64_t setup_start = g_get_monotonic_time();
  for (auto& w : workers) {
    if (absl::Status status = w->Start(); !status.ok()) {
      throw std::runtime_error("cannot create a Transcoder: " + std::string(status.message()));
    }
  }
  const double setup_s = static_cast<double>(g_get_monotonic_time() - setup_start) / 1e6;
  const int64_t start_us = g_get_monotonic_time() + 100'000;
  for (auto& w : workers) w->Go(start_us, options.flat_out);
  Sleep(options.warmup_s + 0.1);

  // The window: our run delay (time our threads waited for a CPU), the machine's busy time,
  // the counters and our CPU, in that order, and the reverse at its end. The snapshots wait
  // for the workers, so the machine's figures get their own clock.
  const double wait0 = procfs::RunDelaySeconds(0);
  const double busy0 = procfs::MachineBusySeconds();
  const int64_t busy_t0 = g_get_monotonic_time();
  const double busy_self0 = procfs::SelfCpuSeconds();
  const Totals before = SnapshotAll(workers, true);
  const double cpu0 = procfs::SelfCpuSeconds();
  const int64_t t0 = g_get_monotonic_time();
  Sleep(options.window_s);
  const double cpu1 = procfs::SelfCpuSeconds();
  const int64_t t1 = g_get_monotonic_time();
  const Totals after = SnapshotAll(workers, false);
  const double busy_self1 = procfs::SelfCpuSeconds();
  const double busy1 = procfs::MachineBusySeconds();
  const double busy_wall = static_cast<double>(g_get_monotonic_time() - busy_t0) / 1e6;
  const double wait1 = procfs::RunDelaySeconds(0);

  // The drain: no more input; wait until the outputs stop coming.
  for (auto& w : workers) w->StopPushing();
  Totals drained = SnapshotAll(workers, false);
  const int64_t drain_end = g_get_monotonic_time() + static_cast<int64_t>(options.drain_s * 1e6);
  int still = 0;
  while (g_get_monotonic_time() < drain_end && still < 3) {
    Sleep(0.1);
    const Totals now = SnapshotAll(workers, false);
    const bool same = now.directions[0].frames_out == drained.directions[0].frames_out &&
                      now.directions[1].frames_out == drained.directions[1].frames_out;
    still = same ? still + 1 : 0;
    drained = now;
  }

  LatencyHistogram latency[2];
  for (auto& w : workers) {
    for (int d = 0; d < 2; ++d) latency[d].Merge(w->latency(d));
  }
  for (auto& w : workers) w->Stop();
  workers.clear();
  media::coder::PipelineReaper::Global().WaitIdle();

  const double window = static_cast<double>(t1 - t0) / 1e6;
  const double cpu = cpu1 - cpu0;
  ResultLine r("result");
  r.Add("kind", media.kind)
      .Add("calls", calls)
      .Add("workers", nworkers)
      .Add("window_s", window)
      .Add("setup_s", setup_s)
      .Add("cpu_s", cpu)
      .Add("cpu_cores", cpu / window)
      .Add("calls_per_core", calls * window / cpu, 2)
      .Add("cpu_ms_per_call_s", cpu * 1000 / (calls * window), 4)
      .Add("worker_cpu_s", after.worker_cpu_s - before.worker_cpu_s)
      .Add("wait_s", wait1 - wait0)
      .Add("machine_busy_cores", (busy1 - busy0) / busy_wall)
      .Add("others_cores", (busy1 - busy0 - (busy_self1 - busy_self0)) / busy_wall)
      .Add("max_lag_us", after.max_lag_us);
  if (options.flat_out) {
    // Media pushed in the window rather than the window itself: frames in, both ways alike.
    const uint64_t frames = after.directions[0].frames_in - before.directions[0].frames_in;
    r.Add("flat_out", 1).Add("flat_cpu_ms_per_call_s",
                             frames ? cpu * 1000 * fps / static_cast<double>(frames) : 0, 4);
  }
  bool kept_up = true;
  for (int d = 0; d < 2; ++d) {
    const std::string k = kDirectionKey[d];
    const DirectionCounters w = after.directions[d].Since(before.directions[d]);
    const DirectionCounters& end = drained.directions[d];
    const uint64_t lost = end.frames_in > end.frames_out ? end.frames_in - end.frames_out : 0;
    const double backlog_ms = static_cast<double>(w.backlog_max) * 1000.0 / fps;
    const double out_ratio =
        w.frames_in ? static_cast<double>(w.frames_out) / static_cast<double>(w.frames_in) : 0;
    kept_up = kept_up && w.push_drops == 0 && end.output_drops == 0 && end.failures == 0 &&
              out_ratio >= 0.99 && backlog_ms <= kMaxBacklogMs &&
              lost <= 2 * static_cast<uint64_t>(calls) && w.unmatched == 0;
    r.Add(k + "_name", media.clips[d].codec + "->" + media.clips[1 - d].codec)
        .Add(k + "_frames_in", w.frames_in)
        .Add(k + "_frames_out", w.frames_out)
        .Add(k + "_packets_in", w.packets_in)
        .Add(k + "_packets_out", w.packets_out)
        .Add(k + "_push_drops", w.push_drops)
        .Add(k + "_output_drops", end.output_drops)
        .Add(k + "_failures", end.failures)
        .Add(k + "_unmatched", w.unmatched)
        .Add(k + "_backlog_ms", backlog_ms, 1)
        .Add(k + "_lost_after_drain", lost)
        .Add(k + "_latency_samples", latency[d].count())
        .Add(k + "_p50_us", latency[d].Quantile(0.5))
        .Add(k + "_p90_us", latency[d].Quantile(0.9))
        .Add(k + "_p99_us", latency[d].Quantile(0.99))
        .Add(k + "_max_us", latency[d].Quantile(1.0));
  }
  r.Add("kept_up", kept_up ? 1 : 0);
  if (!drained.failure.empty()) std::fprintf(stderr, "coder_load: %s\n", drained.failure.c_str());
  return r;
}

}  // namespace webrtc2sip::bench::coder
