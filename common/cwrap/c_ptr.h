#pragma once

// unique_ptr over a C library object freed by a plain function:
//   CPtr<GMainLoop, g_main_loop_unref> loop(g_main_loop_new(nullptr, FALSE));

#include <memory>

namespace webrtc2sip {

template <auto Free>
struct CFree {
  template <typename T>
  void operator()(T* p) const {
    if (p) Free(p);
  }
};

template <typename T, auto Free>
using CPtr = std::unique_ptr<T, CFree<Free>>;

}  // namespace webrtc2sip
