#include "services/signaling/media/media_session_ref.h"

#include <utility>

#include "services/signaling/media/media_node_pool.h"

namespace webrtc2sip::signaling {

std::string_view MediaSessionLossName(MediaSessionLoss loss) {
  switch (loss) {
    case MediaSessionLoss::kEnded:
      return "ended";
    case MediaSessionLoss::kMediaFailed:
      return "media_failed";
    case MediaSessionLoss::kUnknown:
      return "unknown_session";
    case MediaSessionLoss::kNodeFailed:
      return "node_failed";
  }
  return "unknown";
}

// ------------------------------------------------------------------ MediaSessionRef

MediaSessionRef::MediaSessionRef(std::weak_ptr<MediaNodePool> pool, std::string session_id,
                                 std::string node_address, std::string node_id)
    : pool_(std::move(pool)),
      session_id_(std::move(session_id)),
      node_address_(std::move(node_address)),
      node_id_(std::move(node_id)) {}

MediaSessionRef::MediaSessionRef(MediaSessionRef&& other) noexcept
    : pool_(std::move(other.pool_)),
      session_id_(std::exchange(other.session_id_, {})),
      node_address_(std::exchange(other.node_address_, {})),
      node_id_(std::exchange(other.node_id_, {})) {}

MediaSessionRef& MediaSessionRef::operator=(MediaSessionRef&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::move(other.pool_);
    session_id_ = std::exchange(other.session_id_, {});
    node_address_ = std::exchange(other.node_address_, {});
    node_id_ = std::exchange(other.node_id_, {});
  }
  return *this;
}

void MediaSessionRef::Release() {
  auto pool = pool_.lock();
  pool_.reset();
  if (pool && !session_id_.empty()) {
    pool->ReleaseSession(session_id_, node_address_, "released", {});
  }
}

}  // namespace webrtc2sip::signaling
