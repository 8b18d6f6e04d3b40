// webrtc2sip-config-import: turns a legacy webrtc2sip config.xml into the
// YAML configuration. YAML goes to stdout (or --output FILE); what could not
// be carried over goes to stderr, one line each.

#include <fstream>
#include <iostream>

#include "common/config/config_error.h"
#include "common/config/config_loader.h"
#include "common/config/legacy_xml.h"
#include "common/config/yaml_proto.h"

namespace {

constexpr const char* kHeader =
    "# Imported from a webrtc2sip config.xml by webrtc2sip-config-import.\n"
    "# Keys not listed keep their defaults: see docs/configuration.md.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace webrtc2sip::config;
  std::string input, output;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--output" && i + 1 < argc) {
      output = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "usage: webrtc2sip-config-import [--output FILE] config.xml\n";
      return 0;
    } else if (input.empty() && arg.rfind("-", 0) != 0) {
      input = arg;
    } else {
      std::cerr << "webrtc2sip-config-import: unexpected argument '" << arg << "'\n";
      return 2;
    }
  }
  if (input.empty()) {
    std::cerr << "usage: webrtc2sip-config-import [--output FILE] config.xml\n";
    return 2;
  }

  LegacyImport imported;
  try {
    imported = ImportLegacyXmlFile(input);
  } catch (const ConfigError& e) {
    std::cerr << "config error: " << e.what() << "\n";
    return 2;
  }
  for (const auto& note : imported.notes) std::cerr << "note: " << note << "\n";

  const std::string yaml = std::string(kHeader) + MessageToYaml(imported.config);
  // Say now, rather than at the service's start, what still needs a hand.
  try {
    LoadConfigString(yaml, output.empty() ? "(imported)" : output, Scope::kAll);
  } catch (const ConfigError& e) {
    std::cerr << "warning: the imported file does not pass --check-config yet: " << e.what()
              << "\n";
  }
  if (output.empty()) {
    std::cout << yaml;
  } else {
    std::ofstream out(output);
    if (!(out << yaml)) {
      std::cerr << "webrtc2sip-config-import: cannot write '" << output << "'\n";
      return 1;
    }
  }
  return 0;
}
