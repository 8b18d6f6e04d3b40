// docs/configuration.md must name every key of the schema with its default
// and every config.xml option it comes from, so the reference cannot drift.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/config/enum_spelling.h"
#include "webrtc2sip/config/v1/config.pb.h"
#include "webrtc2sip/config/v1/options.pb.h"

namespace webrtc2sip::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::string ReadDoc() {
  std::ifstream in(std::string(WEBRTC2SIP_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The table row of a key: the line that starts with "| `path` |".
std::string RowOf(const std::string& doc, const std::string& path) {
  const std::string start = "| `" + path + "` |";
  auto pos = doc.find(start);
  if (pos == std::string::npos) return "";
  return doc.substr(pos, doc.find('\n', pos) - pos);
}

std::string DefaultText(const FieldDescriptor* f) {
  if (!f->has_default_value()) return "";
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return f->default_value_bool() ? "yes" : "no";
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(f->default_value_int32());
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(f->default_value_uint32());
    case FieldDescriptor::CPPTYPE_STRING:
      return f->default_value_string();
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumSpelling(f->default_value_enum());
    default:
      return "";
  }
}

void CheckMessage(const std::string& doc, const Descriptor* type, const std::string& prefix) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    const std::string path = prefix + f->name();
    const std::string row = RowOf(doc, path);
    EXPECT_NE(row, "") << "docs/configuration.md has no row for `" << path << "`";
    if (row.empty()) continue;
    if (std::string def = DefaultText(f); !def.empty()) {
      EXPECT_NE(row.find("`" + def + "`"), std::string::npos)
          << "row of `" << path << "` does not give its default `" << def << "`: " << row;
    }
    if (f->options().HasExtension(v1::legacy)) {
      const std::string legacy = "`<" + f->options().GetExtension(v1::legacy) + ">`";
      EXPECT_NE(row.find(legacy), std::string::npos)
          << "row of `" << path << "` does not name " << legacy;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      for (const auto& s : EnumSpellings(f->enum_type())) {
        EXPECT_NE(row.find(s), std::string::npos) << "row of `" << path << "` lacks " << s;
      }
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      CheckMessage(doc, f->message_type(), path + (f->is_repeated() ? "[]." : "."));
    }
  }
}

TEST(DocsTest, ConfigurationReferenceCoversTheSchema) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty());
  CheckMessage(doc, v1::Config::descriptor(), "");
}

}  // namespace
}  // namespace webrtc2sip::config
