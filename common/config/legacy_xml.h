#pragma once

// Imports a legacy webrtc2sip config.xml into the YAML schema, for users who
// migrate. Each element is checked with the same rules as the YAML loader;
// options that no longer apply are reported in `notes`, never dropped silently.

#include <string>
#include <vector>

#include "webrtc2sip/config/v1/config.pb.h"

namespace webrtc2sip::config {

struct LegacyImport {
  v1::Config config;               // only what the file set
  std::vector<std::string> notes;  // "config.xml:31: <database>: ... (not imported)"
};

// Throws ConfigError naming the file, line and element on a malformed value.
LegacyImport ImportLegacyXmlFile(const std::string& path);
LegacyImport ImportLegacyXmlString(const std::string& xml, const std::string& name);

}  // namespace webrtc2sip::config
