// sipws_load: a SIP-over-WebSocket (RFC 7118) load generator for the SIP
// proxy benchmark. Scenarios: REGISTER, OPTIONS, INVITE dialogs (INVITE,
// ACK, BYE), and idle connections held open for memory measurements.
// Prints one line of key=value (or JSON) with throughput, latency
// percentiles, failures and its own CPU time; with --marks, after
// "event=window_start" and "event=window_end" lines marking the measurement
// window as it happens. See --help.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sipws/load_options.h"
#include "sipws/load_stats.h"
#include "sipws/load_worker.h"

using namespace webrtc2sip::bench;

namespace {

struct Cpu {
  double user = 0, sys = 0;
};

Cpu CpuNow() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
          ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6};
}

void RaiseFileLimit(uint32_t connections) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  const rlim_t need = connections + 64;
  if (lim.rlim_cur >= need) return;
  lim.rlim_cur = need;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) lim.rlim_max = need;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    throw std::runtime_error("cannot raise the open file limit to " + std::to_string(need) + ": " +
                             std::strerror(errno));
  }
}

// Waits up to `seconds` for SIGINT/SIGTERM; true when one came.
bool WaitSignal(double seconds, const sigset_t& set) {
  timespec ts{static_cast<time_t>(seconds),
              static_cast<long>((seconds - static_cast<time_t>(seconds)) * 1e9)};
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

class Report {
 public:
  explicit Report(bool json) : json_(json) {}
  void Add(const char* key, const std::string& value, bool quote = false) {
    if (!out_.empty()) out_ += json_ ? ", " : " ";
    if (json_) {
      out_ += "\"" + std::string(key) + "\": " + (quote ? "\"" + value + "\"" : value);
    } else {
      std::string v = value;
      std::replace(v.begin(), v.end(), ' ', '_');
      out_ += std::string(key) + "=" + (v.empty() ? "-" : v);
    }
  }
  void Add(const char* key, double v, int precision = 3) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", precision, v);
    Add(key, std::string(buf));
  }
  void Add(const char* key, uint64_t v) { Add(key, std::to_string(v)); }
  void Print() const {
    std::printf(json_ ? "{%s}\n" : "%s\n", out_.c_str());
    std::fflush(stdout);
  }

 private:
  bool json_;
  std::string out_;
};

}  // namespace

int main(int argc, char** argv) {
  LoadOptions options;
  try {
    options = ParseOptions(argc, argv);
    RaiseFileLimit(options.connections);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sipws_load: %s\n", e.what());
    PrintUsage();
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // threads inherit it
  std::signal(SIGPIPE, SIG_IGN);

  RunControl control(static_cast<ptrdiff_t>(options.threads) + 1);
  control.run_id = static_cast<uint32_t>(getpid() ^ (NowNs() / 1000));
  std::vector<std::unique_ptr<LoadWorker>> workers;
  uint32_t first = 0;
  for (uint32_t t = 0; t < options.threads; ++t) {
    const uint32_t n =
        options.connections / options.threads + (t < options.connections % options.threads);
    uint64_t count = std::numeric_limits<uint64_t>::max();
    if (options.count > 0)
      count = options.count / options.threads + (t < options.count % options.threads);
    workers.push_back(std::make_unique<LoadWorker>(options, control, t, first, n, count));
    first += n;
  }
  const int64_t begin = NowNs();
  const Cpu cpu_begin = CpuNow();
  std::atomic<uint32_t> running{options.threads};
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (auto& w : workers) {
    threads.emplace_back([&w, &running] {
      w->Run();
      running.fetch_sub(1);
    });
  }
  control.connected.arrive_and_wait();
  const int64_t start = control.load_start_ns.load();
  uint32_t opened = 0, failed = 0;
  for (auto& w : workers) opened += w->stats().opened, failed += w->stats().connect_failed;
  const double connect_s = (start - begin) / 1e9;

  if (options.scenario == Scenario::kIdle) {
    Report ready(options.json);
    ready.Add("event", "ready", true);
    ready.Add("opened", uint64_t{opened});
    ready.Add("connect_failed", uint64_t{failed});
    ready.Add("connect_s", connect_s);
    ready.Print();
    if (options.hold_s > 0) {
      WaitSignal(options.hold_s, signals);
    } else {
      while (!WaitSignal(3600, signals)) {
      }
    }
    const int64_t held = NowNs() - start;
    control.stop.store(true);
    for (auto& t : threads) t.join();
    LoadStats total;
    for (auto& w : workers) total.Merge(std::move(w->stats()));
    const Cpu cpu = CpuNow();
    Report r(options.json);
    r.Add("event", "done", true);
    r.Add("scenario", "idle", true);
    r.Add("connections", uint64_t{options.connections});
    r.Add("opened", uint64_t{total.opened});
    r.Add("connect_failed", uint64_t{total.connect_failed});
    r.Add("lost", uint64_t{total.lost});
    r.Add("connect_s", connect_s);
    r.Add("held_s", held / 1e9);
    r.Add("cpu_s", cpu.user + cpu.sys - cpu_begin.user - cpu_begin.sys);
    r.Add("first_error", total.first_error, true);
    r.Print();
    return total.opened == options.connections ? 0 : 1;
  }

  // The measurement window: after the warm-up, for the duration (or, with
  // --count, until every transaction is done).
  const bool counted = options.count > 0;
  const int64_t window_start =
      counted ? start : start + static_cast<int64_t>(options.warmup_s * 1e9);
  const int64_t window_end = window_start + static_cast<int64_t>(options.duration_s * 1e9);
  Cpu cpu_start{}, cpu_end{};
  bool have_start = false, have_end = false;
  bool interrupted = false;
  while (running.load() > 0) {
    const int64_t now = NowNs();
    // The marks let a caller sample the server's CPU over the same window.
    if (!have_start && now >= window_start) {
      cpu_start = CpuNow(), have_start = true;
      if (options.marks) std::printf("event=window_start\n");
      std::fflush(stdout);
    }
    if (!counted && !have_end && now >= window_end) {
      cpu_end = CpuNow(), have_end = true;
      if (options.marks) std::printf("event=window_end\n");
      std::fflush(stdout);
    }
    int64_t wait = 50000000;
    if (!have_start) wait = std::min(wait, window_start - now);
    if (!counted && !have_end) wait = std::min(wait, window_end - now);
    if (WaitSignal(std::max<int64_t>(wait, 0) / 1e9, signals)) {
      interrupted = true;
      control.stop.store(true);
    }
  }
  for (auto& t : threads) t.join();
  const int64_t finished = NowNs();
  if (!have_start) cpu_start = cpu_begin;
  if (!have_end) {
    cpu_end = CpuNow();
    if (options.marks) std::printf("event=window_end\n");
  }

  LoadStats total;
  int64_t last = 0;
  for (auto& w : workers) {
    last = std::max(last, w->last_completion_ns());
    total.Merge(std::move(w->stats()));
  }
  double window_s = options.duration_s;
  if (counted || interrupted)
    window_s = (std::min(counted ? last : finished, finished) - window_start) / 1e9;
  window_s = std::max(window_s, 1e-6);
  std::sort(total.latency_us.begin(), total.latency_us.end());
  std::sort(total.bye_us.begin(), total.bye_us.end());
  const double cpu_user = cpu_end.user - cpu_start.user, cpu_sys = cpu_end.sys - cpu_start.sys;

  Report r(options.json);
  r.Add("scenario", ScenarioName(options.scenario), true);
  r.Add("mode", options.rate > 0 ? "rate" : "max", true);
  r.Add("offered_tps", options.rate, 1);
  r.Add("connections", uint64_t{options.connections});
  r.Add("opened", uint64_t{total.opened});
  r.Add("connect_failed", uint64_t{total.connect_failed});
  r.Add("lost", uint64_t{total.lost});
  r.Add("inflight", uint64_t{options.inflight});
  r.Add("threads", uint64_t{options.threads});
  r.Add("window_s", window_s);
  r.Add("started", total.started);
  r.Add("ok", total.ok);
  r.Add("non2xx", total.non2xx);
  r.Add("timeouts", total.timeouts);
  r.Add("closed", total.closed);
  r.Add("bad_answers", total.bad_answers);
  r.Add("failures", total.non2xx + total.timeouts + total.closed + total.bad_answers);
  r.Add("tps", total.ok / window_s, 1);
  r.Add("lat_p50_ms", QuantileMs(total.latency_us, 0.50));
  r.Add("lat_p90_ms", QuantileMs(total.latency_us, 0.90));
  r.Add("lat_p99_ms", QuantileMs(total.latency_us, 0.99));
  r.Add("lat_max_ms", QuantileMs(total.latency_us, 1.0));
  if (options.scenario == Scenario::kInvite) {
    r.Add("bye_p50_ms", QuantileMs(total.bye_us, 0.50));
    r.Add("bye_p99_ms", QuantileMs(total.bye_us, 0.99));
  }
  std::string codes;
  for (auto [code, n] : total.codes) {
    if (!codes.empty()) codes += ',';
    codes += std::to_string(code);
    codes += ':';
    codes += std::to_string(n);
  }
  r.Add("codes", codes, true);
  if (options.rate > 0) {
    r.Add("late_sends", total.late_sends);
    r.Add("max_lag_ms", total.max_lag_ns / 1e6);
  }
  r.Add("cpu_user_s", cpu_user);
  r.Add("cpu_sys_s", cpu_sys);
  r.Add("cpu_share", (cpu_user + cpu_sys) / window_s);
  r.Add("connect_s", connect_s);
  r.Add("first_error", total.first_error, true);
  r.Print();
  // For diagnosis, off the result line: the first failure as received.
  if (!total.first_failure.empty()) {
    std::fprintf(stderr, "first failed response (non-2xx, or a 200 without a WebRTC answer):\n%s\n",
                 total.first_failure.c_str());
  }
  return total.opened > 0 ? 0 : 1;
}
