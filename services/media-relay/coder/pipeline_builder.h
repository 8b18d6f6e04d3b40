#pragma once

// Builds (without starting) the transcoding pipeline of one codec pair:
//   appsrc ! [rtpjitterbuffer] ! depay ! decoder ! audioconvert ! audioresample ! caps
//          ! encoder ! [caps] ! payloader ! appsink
// (capssetter ! videoconvert ! videoscale ! caps for video). With TranscoderConfig::inline_input
// there is neither appsrc nor appsink: the caller pushes on a pad of its own linked to `input`
// (the depayloader's sink), on its own thread, and takes the payloader's packets on a sink pad
// of its own linked to `output`. Control plane.

#include <gst/gst.h>

#include "absl/status/statusor.h"
#include "common/cwrap/gobject_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "services/media-relay/coder/codec_table.h"

namespace webrtc2sip::media::coder {

struct TranscoderConfig;

struct BuiltPipeline {
  GObjectPtr<GstElement> pipeline;
  GObjectPtr<GstElement> appsrc;  // Null with inline_input.
  GObjectPtr<GstPad> input;       // inline_input: the first element's sink pad.
  GstCapsPtr input_caps;          // The RTP caps of the input.
  GObjectPtr<GstElement> appsink;  // Null with inline_input.
  GObjectPtr<GstPad> output;       // inline_input: the payloader's source pad.
  GObjectPtr<GstElement> decoder;
  GObjectPtr<GstElement> encoder;
};

// An error when an element is missing or the elements do not link (caps that cannot meet).
absl::StatusOr<BuiltPipeline> BuildPipeline(const CoderCodec& from, const CoderCodec& to,
                                            const TranscoderConfig& config);

// Applies "name=value name=value" to an element's properties (gst_util_set_object_arg
// spellings: enum nicks, flags, numbers). False when a property is unknown.
bool ApplyOptions(GstElement* element, std::string_view options);

}  // namespace webrtc2sip::media::coder
