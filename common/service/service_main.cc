#include "common/service/service_main.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "common/config/config_error.h"
#include "common/log/logger.h"

#ifndef WEBRTC2SIP_VERSION
#define WEBRTC2SIP_VERSION "dev"
#endif

namespace webrtc2sip::service {
namespace {

void Usage(const ServiceInfo& info, std::ostream& out) {
  out << "usage: " << info.binary << " [--config FILE]\n"
      << "       " << info.binary << " --check-config FILE\n"
      << "       " << info.binary << " --version\n"
      << "Runs the webrtc2sip " << info.name << " service. Default config: " << info.default_config
      << "\n";
}

log::Level ToLevel(config::v1::LogLevel level) {
  switch (level) {
    case config::v1::LOG_LEVEL_DEBUG:
      return log::Level::kDebug;
    case config::v1::LOG_LEVEL_INFO:
      return log::Level::kInfo;
    case config::v1::LOG_LEVEL_WARN:
      return log::Level::kWarn;
    case config::v1::LOG_LEVEL_ERROR:
      return log::Level::kError;
    case config::v1::LOG_LEVEL_FATAL:
      return log::Level::kFatal;
  }
  return log::Level::kError;
}

// max-fds: raise the soft (and if needed hard) open-file limit.
void ApplyMaxFds(int32_t max_fds) {
  if (max_fds < 0) return;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = static_cast<rlim_t>(max_fds);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < lim.rlim_cur) lim.rlim_max = lim.rlim_cur;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    throw std::runtime_error("max_fds: cannot set the open file limit to " +
                             std::to_string(max_fds) + ": " + std::strerror(errno));
  }
}

}  // namespace

int ServiceMain(int argc, char** argv, const ServiceInfo& info, const RunFunction& run) {
  // Debian's Abseil is built without NDEBUG, so absl::Mutex (gRPC's locks) records every lock
  // order in a global graph to find deadlock cycles: about 2% of both services' CPU at a few
  // hundred call setups a second (perf). A debugging aid, not for production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string config_path = info.default_config;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(info, std::cout);
      return kExitOk;
    }
    if (arg == "--version") {
      std::cout << info.binary << " " << WEBRTC2SIP_VERSION << "\n";
      return kExitOk;
    }
    if ((arg == "--config" || arg == "--check-config" || arg == "-c") && i + 1 < argc) {
      check_only = arg == "--check-config";
      config_path = argv[++i];
      continue;
    }
    std::cerr << info.binary << ": unknown or incomplete argument '" << arg << "'\n";
    Usage(info, std::cerr);
    return kExitConfig;
  }

  config::Config cfg;
  try {
    cfg = config::LoadConfigFile(config_path, info.scope);
    if (info.check) info.check(cfg, config_path);
  } catch (const config::ConfigError& e) {
    std::cerr << "config error: " << e.what() << "\n";
    return kExitConfig;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return kExitOk;
  }

  log::Logger::Get().Configure(
      ToLevel(cfg.log().level()),
      cfg.log().format() == config::v1::LOG_FORMAT_KV ? log::Format::kKeyValue : log::Format::kJson,
      info.name);
  try {
    ApplyMaxFds(cfg.max_fds());
    log::Info("starting", {{"version", WEBRTC2SIP_VERSION}, {"config", config_path}});
    int status = run(cfg);
    log::Info("stopped", {{"status", std::to_string(status)}});
    return status;
  } catch (const std::exception& e) {
    // Startup failures (a port in use, a missing library) end here as one line.
    log::Fatal("cannot run", {{"error", e.what()}});
    std::cerr << info.binary << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace webrtc2sip::service
