#include "services/media-relay/ice/ice_types.h"

namespace webrtc2sip::media {

std::string_view IceStateName(IceState state) {
  switch (state) {
    case IceState::kNew:
      return "new";
    case IceState::kChecking:
      return "checking";
    case IceState::kConnected:
      return "connected";
    case IceState::kCompleted:
      return "completed";
    case IceState::kDisconnected:
      return "disconnected";
    case IceState::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace webrtc2sip::media
