#include "common/config/enum_spelling.h"

#include <algorithm>
#include <cctype>

#include "webrtc2sip/config/v1/options.pb.h"

namespace webrtc2sip::config {
namespace {

// "VideoSize" -> "VIDEO_SIZE_"
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) prefix += '_';
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return prefix + "_";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string EnumSpelling(const google::protobuf::EnumValueDescriptor* value) {
  const auto& opts = value->options();
  if (opts.HasExtension(webrtc2sip::config::v1::spelling)) {
    return opts.GetExtension(webrtc2sip::config::v1::spelling);
  }
  std::string name = value->name();
  std::string prefix = EnumPrefix(value->type());
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  name = Lower(name);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

const google::protobuf::EnumValueDescriptor* EnumBySpelling(
    const google::protobuf::EnumDescriptor* type, const std::string& spelling) {
  std::string wanted = Lower(spelling);
  for (int i = 0; i < type->value_count(); ++i) {
    if (EnumSpelling(type->value(i)) == wanted) return type->value(i);
  }
  return nullptr;
}

std::vector<std::string> EnumSpellings(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> out;
  for (int i = 0; i < type->value_count(); ++i) out.push_back(EnumSpelling(type->value(i)));
  return out;
}

}  // namespace webrtc2sip::config
