#pragma once

// RAII over GStreamer's reference-counted types. Elements, pads and buses are GObjects (use
// GObjectPtr with AdoptGObject/RefGObject from gobject_ptr.h: floating element references are
// sunk); buffers, caps, samples, events and messages are GstMiniObjects and use these.

#include <gst/gst.h>

#include <memory>

namespace webrtc2sip {

struct GstMiniObjectUnref {
  void operator()(void* object) const {
    if (object != nullptr) gst_mini_object_unref(GST_MINI_OBJECT_CAST(object));
  }
};

// Owns one reference to a GstBuffer, GstCaps, GstSample, GstEvent or GstMessage.
template <typename T>
using GstMiniPtr = std::unique_ptr<T, GstMiniObjectUnref>;

using GstCapsPtr = GstMiniPtr<GstCaps>;
using GstSamplePtr = GstMiniPtr<GstSample>;
using GstMessagePtr = GstMiniPtr<GstMessage>;

// Sets the element to NULL (stopping its streaming threads) before dropping the reference:
// a pipeline must never be finalized in another state.
struct GstElementStopUnref {
  void operator()(GstElement* element) const {
    if (element == nullptr) return;
    gst_element_set_state(element, GST_STATE_NULL);
    gst_object_unref(element);
  }
};
using GstPipelinePtr = std::unique_ptr<GstElement, GstElementStopUnref>;

}  // namespace webrtc2sip
