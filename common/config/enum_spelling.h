#pragma once

// How enum values of the config schema are written by users: the value name
// without its enum's prefix, lower case, '_' written '-' (CODEC_AMR_NB_BE ->
// "amr-nb-be", VIDEO_SIZE_4CIF -> "4cif"), unless the value carries a
// (spelling) option (CODEC_H263_PLUS -> "h263+").

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

namespace webrtc2sip::config {

std::string EnumSpelling(const google::protobuf::EnumValueDescriptor* value);

// Case-insensitive lookup of a spelling; nullptr when none matches.
const google::protobuf::EnumValueDescriptor* EnumBySpelling(
    const google::protobuf::EnumDescriptor* type, const std::string& spelling);

std::vector<std::string> EnumSpellings(const google::protobuf::EnumDescriptor* type);

}  // namespace webrtc2sip::config
