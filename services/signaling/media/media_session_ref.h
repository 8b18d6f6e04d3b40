#pragma once

// A media session created through MediaNodePool, and why one can be lost.

#include <memory>
#include <string>
#include <string_view>

namespace webrtc2sip::signaling {

class MediaNodePool;

// Why a session the pool tracked is gone.
enum class MediaSessionLoss {
  kEnded,        // the node ended it (SESSION_EVENT_ENDED: lease, error, shutdown)
  kMediaFailed,  // ICE or DTLS failed, or consent lost (SESSION_EVENT_MEDIA_FAILED)
  kUnknown,      // KeepAlive: the node does not know it (restarted, or it ended unseen)
  kNodeFailed,   // the node was unreachable for longer than the lease
};
std::string_view MediaSessionLossName(MediaSessionLoss loss);

// One session created through the pool, tracked (kept alive) until released.
// Move-only. Dropping a held ref deletes the session on its node; release it
// on the loop thread.
class MediaSessionRef {
 public:
  MediaSessionRef() = default;
  ~MediaSessionRef() { Release(); }
  MediaSessionRef(MediaSessionRef&& other) noexcept;
  MediaSessionRef& operator=(MediaSessionRef&& other) noexcept;
  MediaSessionRef(const MediaSessionRef&) = delete;
  MediaSessionRef& operator=(const MediaSessionRef&) = delete;

  const std::string& session_id() const { return session_id_; }
  const std::string& node_address() const { return node_address_; }  // the pool's key
  const std::string& node_id() const { return node_id_; }            // the relay's own id
  explicit operator bool() const { return !session_id_.empty(); }

 private:
  friend class MediaNodePool;
  MediaSessionRef(std::weak_ptr<MediaNodePool> pool, std::string session_id,
                  std::string node_address, std::string node_id);
  void Release();

  std::weak_ptr<MediaNodePool> pool_;
  std::string session_id_;
  std::string node_address_;
  std::string node_id_;
};

}  // namespace webrtc2sip::signaling
