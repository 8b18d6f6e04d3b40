#include "load/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace webrtc2sip::bench::relay {

std::optional<double> ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = data.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(data.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ')': state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double RunDelaySeconds(pid_t pid) {
  const std::string dir = pid ? "/proc/" + std::to_string(pid) + "/task" : "/proc/self/task";
  double total = 0;
  for (const auto& task : std::filesystem::directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied)) {
    std::ifstream in(task.path() / "schedstat");
    unsigned long long on_cpu = 0, waiting = 0;
    if (in >> on_cpu >> waiting) total += static_cast<double>(waiting) / 1e9;
  }
  return total;
}

double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  unsigned long long v[8] = {};
  for (auto& x : v) in >> x;
  unsigned long long total = 0;
  for (auto x : v) total += x;
  return static_cast<double>(total - v[3] - v[4]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uint64_t UdpReceiveBufferErrors() {
  std::ifstream in("/proc/net/snmp");
  std::string header, values, line;
  while (std::getline(in, line)) {
    if (line.rfind("Udp:", 0) != 0) continue;
    if (header.empty()) {
      header = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream h(header), v(values);
  std::string name, value;
  while (h >> name && v >> value) {
    if (name == "RcvbufErrors") return std::stoull(value);
  }
  return 0;
}

uint64_t UdpSocketDrops(const std::vector<uint16_t>& local_ports) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // header
  uint64_t drops = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, field, last;
    f >> slot >> local;
    const auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    const auto port = static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    if (std::find(local_ports.begin(), local_ports.end(), port) == local_ports.end()) continue;
    while (f >> field) last = field;  // drops is the last column
    drops += std::stoull(last);
  }
  return drops;
}

int64_t MonotonicNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace webrtc2sip::bench::relay
