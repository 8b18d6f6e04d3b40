#pragma once

// What both binaries do before their real work: parse the command line, load
// and check the configuration, set up logging and the file limit. A config or
// usage problem is printed as one line on stderr and exits with status 2.

#include <functional>
#include <string>

#include "common/config/config_loader.h"

namespace webrtc2sip::service {

struct ServiceInfo {
  std::string binary;          // "webrtc2sip-signaling"
  std::string name;            // "signaling", the log lines' service field
  config::Scope scope;         // which sections the service checks
  std::string default_config;  // used when --config is not given
  // What only this service can judge of a loaded config (what the machine
  // can do, say); throws config::ConfigError. May be empty.
  std::function<void(const config::Config&, const std::string& path)> check;
};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 2;

using RunFunction = std::function<int(const config::Config&)>;

int ServiceMain(int argc, char** argv, const ServiceInfo& info, const RunFunction& run);

}  // namespace webrtc2sip::service
