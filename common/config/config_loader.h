#pragma once

// Loads the YAML configuration into the protobuf schema
// (proto/webrtc2sip/config/v1/config.proto), fills the defaults that a
// proto2 default cannot express (lists), and checks what crosses fields.
// Every problem is a ConfigError naming the file, line and key.

#include <string>
#include <utility>
#include <vector>

#include "webrtc2sip/config/v1/config.pb.h"

namespace webrtc2sip::config {

using v1::Config;

// Which service reads the file: each checks the shared sections and its own.
enum class Scope { kSignaling, kMediaRelay, kAll };

Config LoadConfigFile(const std::string& path, Scope scope);
// `name` stands for the file in error messages.
Config LoadConfigString(const std::string& yaml, const std::string& name, Scope scope);

// Defaults of repeated fields, as the original config.xml shipped them.
void ApplyListDefaults(Config& config);

// Checks that involve more than one field, or the file system. `name` is the
// file the config came from, for messages.
void Validate(const Config& config, const std::string& name, Scope scope);

// "host:port" split; throws std::invalid_argument with a reason.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
HostPort ParseHostPort(const std::string& text);

// signaling.nameservers as addresses and their one port (53 unless given).
std::pair<std::vector<std::string>, uint16_t> SplitNameservers(const v1::Signaling& sig);

}  // namespace webrtc2sip::config
