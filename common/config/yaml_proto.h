#pragma once

// YAML <-> protobuf through reflection, for the config schema. Keys are the
// schema's field names; enums use their spellings (enum_spelling.h); the
// (min)/(max)/(required) field options are enforced here. Any problem throws
// ConfigError naming the file, line and key path.

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace webrtc2sip::config {

void YamlToMessage(const YAML::Node& node, google::protobuf::Message& message,
                   const std::string& file, const std::string& path = "");

// The fields that are set, as YAML text in schema order. Used by the
// config.xml importer; its output loads back into the same message.
std::string MessageToYaml(const google::protobuf::Message& message);

}  // namespace webrtc2sip::config
