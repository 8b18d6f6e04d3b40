#pragma once

#include <glib-object.h>

#include <memory>

namespace webrtc2sip {

struct GObjectUnref {
  void operator()(gpointer object) const {
    if (object != nullptr) g_object_unref(object);
  }
};

// Owns one reference to a GObject (or any derived type).
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

// Takes ownership of a reference returned by a constructor or a "transfer full" call. A
// floating reference (GInitiallyUnowned, e.g. GstElement) is sunk, so we never own one.
template <typename T>
GObjectPtr<T> AdoptGObject(T* object) {
  if (object != nullptr && g_object_is_floating(object)) g_object_ref_sink(object);
  return GObjectPtr<T>(object);
}

// Adds a reference to a borrowed object ("transfer none", e.g. a signal argument).
template <typename T>
GObjectPtr<T> RefGObject(T* object) {
  if (object != nullptr) g_object_ref(object);
  return GObjectPtr<T>(object);
}

// The few GLib (non-GObject) types that need the same treatment.
struct GErrorFree {
  void operator()(GError* error) const { g_clear_error(&error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GMainContextUnref {
  void operator()(GMainContext* context) const { g_main_context_unref(context); }
};
using GMainContextPtr = std::unique_ptr<GMainContext, GMainContextUnref>;

// Destroys (detaches from its context) and unrefs; a destroyed source never dispatches again.
struct GSourceDestroy {
  void operator()(GSource* source) const {
    g_source_destroy(source);
    g_source_unref(source);
  }
};
using GSourcePtr = std::unique_ptr<GSource, GSourceDestroy>;

}  // namespace webrtc2sip
