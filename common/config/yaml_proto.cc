#include "common/config/yaml_proto.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "common/config/config_error.h"
#include "common/config/enum_spelling.h"
#include "webrtc2sip/config/v1/options.pb.h"

namespace webrtc2sip::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
namespace v1 = webrtc2sip::config::v1;

int LineOf(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

[[noreturn]] void Fail(const std::string& file, const YAML::Node& node, const std::string& path,
                       const std::string& problem) {
  throw ConfigError(file, LineOf(node), path, problem);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string UnknownKeyProblem(const Descriptor* type, const std::string& key) {
  std::string best;
  size_t best_distance = 3;
  std::vector<std::string> names;
  for (int i = 0; i < type->field_count(); ++i) {
    const std::string& name = type->field(i)->name();
    names.push_back(name);
    size_t d = EditDistance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  std::string problem = "unknown key";
  if (!best.empty()) return problem + " (did you mean '" + best + "'?)";
  return problem + " (expected one of: " + Join(names) + ")";
}

std::string Scalar(const YAML::Node& node, const std::string& file, const std::string& path,
                   const std::string& what) {
  if (!node.IsScalar()) {
    Fail(file, node, path,
         "expected " + what + ", got " +
             (node.IsMap()        ? "a mapping"
              : node.IsSequence() ? "a list"
                                  : "no value"));
  }
  return node.Scalar();
}

void CheckRange(const FieldDescriptor* field, double value, const std::string& file,
                const YAML::Node& node, const std::string& path, const std::string& text) {
  const auto& opts = field->options();
  bool has_min = opts.HasExtension(v1::range_min), has_max = opts.HasExtension(v1::range_max);
  double lo = has_min ? opts.GetExtension(v1::range_min) : -std::numeric_limits<double>::infinity();
  double hi = has_max ? opts.GetExtension(v1::range_max) : std::numeric_limits<double>::infinity();
  if (value < lo || value > hi) {
    std::ostringstream range;
    range.precision(15);
    if (has_min && has_max) {
      range << "between " << lo << " and " << hi;
    } else if (has_min) {
      range << "at least " << lo;
    } else {
      range << "at most " << hi;
    }
    Fail(file, node, path, text + " is out of range (must be " + range.str() + ")");
  }
}

// Parses an integer the way a person writes one; rejects "12abc", "1.5", "".
bool ParseInteger(const std::string& text, long long& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end && *end == '\0';
}

void SetScalar(const YAML::Node& node, Message& message, const FieldDescriptor* field,
               const std::string& file, const std::string& path) {
  const Reflection* refl = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL: {
      std::string text = Scalar(node, file, path, "yes/no (a boolean)");
      bool value = false;
      if (!YAML::convert<bool>::decode(node, value)) {
        Fail(file, node, path, "'" + text + "' is not a boolean (use yes/no or true/false)");
      }
      repeated ? refl->AddBool(&message, field, value) : refl->SetBool(&message, field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      std::string text = Scalar(node, file, path, "an integer");
      long long value = 0;
      if (!ParseInteger(text, value)) Fail(file, node, path, "'" + text + "' is not an integer");
      const auto type = field->cpp_type();
      const bool is_unsigned =
          type == FieldDescriptor::CPPTYPE_UINT32 || type == FieldDescriptor::CPPTYPE_UINT64;
      if (is_unsigned && value < 0) Fail(file, node, path, text + " is negative");
      const bool is32 =
          type == FieldDescriptor::CPPTYPE_INT32 || type == FieldDescriptor::CPPTYPE_UINT32;
      if (is32 && (value > (is_unsigned ? 0xffffffffLL : 0x7fffffffLL) || value < -0x80000000LL)) {
        Fail(file, node, path, text + " does not fit in 32 bits");
      }
      CheckRange(field, static_cast<double>(value), file, node, path, text);
      switch (type) {
        case FieldDescriptor::CPPTYPE_INT32:
          repeated ? refl->AddInt32(&message, field, static_cast<int32_t>(value))
                   : refl->SetInt32(&message, field, static_cast<int32_t>(value));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          repeated ? refl->AddInt64(&message, field, value)
                   : refl->SetInt64(&message, field, value);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          repeated ? refl->AddUInt32(&message, field, static_cast<uint32_t>(value))
                   : refl->SetUInt32(&message, field, static_cast<uint32_t>(value));
          break;
        default:
          repeated ? refl->AddUInt64(&message, field, static_cast<uint64_t>(value))
                   : refl->SetUInt64(&message, field, static_cast<uint64_t>(value));
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      std::string text = Scalar(node, file, path, "a number");
      char* end = nullptr;
      double value = std::strtod(text.c_str(), &end);
      if (text.empty() || !end || *end != '\0' || !std::isfinite(value)) {
        Fail(file, node, path, "'" + text + "' is not a number");
      }
      CheckRange(field, value, file, node, path, text);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        repeated ? refl->AddDouble(&message, field, value)
                 : refl->SetDouble(&message, field, value);
      } else {
        auto f = static_cast<float>(value);
        repeated ? refl->AddFloat(&message, field, f) : refl->SetFloat(&message, field, f);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text = Scalar(node, file, path, "a string");
      repeated ? refl->AddString(&message, field, text) : refl->SetString(&message, field, text);
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      auto spellings = EnumSpellings(field->enum_type());
      std::string text = Scalar(node, file, path, "one of: " + Join(spellings));
      const auto* value = EnumBySpelling(field->enum_type(), text);
      if (!value) {
        Fail(file, node, path, "'" + text + "' is not one of: " + Join(spellings));
      }
      repeated ? refl->AddEnum(&message, field, value) : refl->SetEnum(&message, field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

void SetField(const YAML::Node& node, Message& message, const FieldDescriptor* field,
              const std::string& file, const std::string& path) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    Message* child = field->is_repeated()
                         ? message.GetReflection()->AddMessage(&message, field)
                         : message.GetReflection()->MutableMessage(&message, field);
    YamlToMessage(node, *child, file, path);
  } else {
    SetScalar(node, message, field, file, path);
  }
}

void CheckRequired(const YAML::Node& node, const Message& message, const std::string& file,
                   const std::string& path) {
  const Descriptor* type = message.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->options().GetExtension(v1::required) && !field->is_repeated() &&
        !message.GetReflection()->HasField(message, field)) {
      Fail(file, node, path, "missing required key '" + field->name() + "'");
    }
  }
}

void EmitValue(YAML::Emitter& out, const Message& message, const FieldDescriptor* field, int index);

void EmitMessage(YAML::Emitter& out, const Message& message) {
  const Reflection* refl = message.GetReflection();
  out << YAML::BeginMap;
  for (int i = 0; i < message.GetDescriptor()->field_count(); ++i) {
    const FieldDescriptor* field = message.GetDescriptor()->field(i);
    if (field->is_repeated()) {
      int n = refl->FieldSize(message, field);
      if (n == 0) continue;
      out << YAML::Key << field->name() << YAML::Value << YAML::BeginSeq;
      for (int j = 0; j < n; ++j) EmitValue(out, message, field, j);
      out << YAML::EndSeq;
    } else if (refl->HasField(message, field)) {
      out << YAML::Key << field->name() << YAML::Value;
      EmitValue(out, message, field, -1);
    }
  }
  out << YAML::EndMap;
}

void EmitValue(YAML::Emitter& out, const Message& message, const FieldDescriptor* field,
               int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      out << ((rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                  ? "yes"
                  : "no");
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      out << (rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out << (rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << (rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out << (rep ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << (rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out << (rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      out << YAML::DoubleQuoted
          << (rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      out << EnumSpelling(rep ? r->GetRepeatedEnum(message, field, index)
                              : r->GetEnum(message, field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      EmitMessage(
          out, rep ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field));
      break;
  }
}

}  // namespace

void YamlToMessage(const YAML::Node& node, Message& message, const std::string& file,
                   const std::string& path) {
  if (node.IsNull()) {
    CheckRequired(node, message, file, path);
    return;  // "section:" with nothing under it: all defaults
  }
  if (!node.IsMap()) {
    Fail(file, node, path,
         node.IsSequence() ? "expected a mapping of keys, got a list"
                           : "expected a mapping of keys, got '" + node.Scalar() + "'");
  }
  const Descriptor* type = message.GetDescriptor();
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    const std::string key_path = path.empty() ? key : path + "." + key;
    const FieldDescriptor* field = type->FindFieldByName(key);
    if (!field) Fail(file, entry.first, key_path, UnknownKeyProblem(type, key));
    const YAML::Node& value = entry.second;
    if (field->is_repeated()) {
      if (!value.IsSequence()) {
        Fail(file, value.IsNull() ? entry.first : value, key_path,
             "expected a list (e.g. [a, b] or '- a' lines)");
      }
      int i = 0;
      for (const auto& item : value) {
        SetField(item, message, field, file, key_path + "[" + std::to_string(i++) + "]");
      }
    } else {
      if (value.IsNull() && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        Fail(file, entry.first, key_path, "has no value");
      }
      SetField(value, message, field, file, key_path);
    }
  }
  CheckRequired(node, message, file, path);
}

std::string MessageToYaml(const Message& message) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitMessage(out, message);
  return std::string(out.c_str()) + "\n";
}

}  // namespace webrtc2sip::config
