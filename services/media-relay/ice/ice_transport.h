#pragma once

// The ICE side of a WebRTC leg, on libnice: one agent, one stream, one component (rtcp-mux and
// BUNDLE are required on this leg, so everything shares one 5-tuple).

#include <glib.h>
#include <nice/agent.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/cwrap/gobject_ptr.h"
#include "services/media-relay/ice/ice_direct_path.h"
#include "services/media-relay/ice/ice_types.h"
#include "services/media-relay/worker/timer_queue.h"
#include "services/media-relay/ice/nice_agent_ptr.h"

namespace webrtc2sip::media {

// ICE-lite by default (RFC 8445 section 2.5: the node has a reachable address, only answers the
// browser's checks and is always controlled); full ICE as an option. Host candidates only: the
// agent binds `bind_address` on a port of the range and announces `advertised_address` (1:1
// NAT) with that port. A browser whose candidates never reach us (none sent, mDNS, NAT) is
// learned as peer-reflexive from its checks.
//
// Threading: created, used and destroyed on the thread running `context` (the worker's); the
// agent, its sockets and timers are attached to that context.
//
// Consent (RFC 7675): the browser sends consent checks to us, but libnice answers them itself
// and tells us nothing, so liveness here is "something came from the selected remote": any
// non-STUN datagram (DTLS, SRTP, SRTCP; a browser in a call normally sends RTCP every few
// seconds, muted or not). After `consent_timeout` of silence the state becomes kDisconnected; a
// datagram brings it back. The owner decides when to give up. (libnice 0.1.21's
// CONSENT_FRESHNESS option does run in lite mode, but then the node sends checks of its own, with
// a fixed timeout, and blocks sending for good on loss: not used.)
//
// The media path: in lite mode, once a pair is selected and the agent has a single UDP socket,
// the socket is read and written directly (IceDirectPath, on the worker's epoll set) and libnice's
// socket sources are parked on a context that never runs. The direct path answers the browser's
// checks itself; what needs the agent (a nomination of another pair, a role conflict, an ICE
// restart) gives the socket back to libnice, and the direct path resumes once a pair is selected
// again (or, when the selection did not change, at the next consent tick).
class IceTransport : private IceDirectPath::Owner {
 public:
  class Listener {
   public:
    // Every non-STUN datagram from the remote (libnice keeps STUN to itself); `data` is valid
    // during the call only. Called synchronously from the socket read. The listener may destroy
    // the transport from here.
    virtual void OnIceData(const uint8_t* data, size_t len) = 0;
    // State changes and selected pairs are delivered on a loop turn of their own, never inside
    // a call into the transport, in the order they happened. The listener may destroy the
    // transport from here; nothing more is delivered after that.
    virtual void OnIceStateChanged(IceState state) = 0;
    // `local` carries the announced (advertised) address.
    virtual void OnIceSelectedPair(const IceCandidate& local, const IceCandidate& remote) = 0;

   protected:
    virtual ~Listener() = default;
  };

  struct Options {
    // Numeric address the agent binds (media_relay.bind_address). A wildcard (0.0.0.0, ::)
    // with an advertised address binds the wildcard and announces the advertised address;
    // without one, libnice binds every interface and announces each.
    std::string bind_address = "0.0.0.0";
    // Put in the candidates instead of the bound address (media_relay.advertised.webrtc);
    // empty: the bound address.
    std::string advertised_address;
    uint16_t port_min = 20000;
    uint16_t port_max = 40000;
    bool lite = true;          // media_relay.ice_mode.
    bool controlling = false;  // Full ICE only (the node made the offer); lite is controlled.
    int rtp_buffsize = 65535;  // SO_RCVBUF/SO_SNDBUF of the agent's sockets; 0: system default.
    std::chrono::milliseconds consent_timeout{30000};
    std::string log_id;  // Session id, on every log line.
  };

  struct Stats {
    uint64_t received = 0;
    uint64_t sent = 0;          // Handed to the socket (a batched send may still be dropped).
    uint64_t send_dropped = 0;  // No selected pair yet, socket buffer full, or a send error,
                                // at once or when the worker's batch of sends went.
    uint64_t direct_entered = 0;   // Times the media path went direct.
    uint64_t direct_left = 0;      // Times it went back to libnice.
  };

  // nullptr (and `error`, when given, says why) when the agent cannot be made or no port of
  // the range can be bound.
  static std::unique_ptr<IceTransport> Create(GMainContext* context, const Options& options,
                                              Listener& listener, std::string* error = nullptr);
  ~IceTransport() override;
  IceTransport(const IceTransport&) = delete;
  IceTransport& operator=(const IceTransport&) = delete;

  // Credentials and host candidates to answer (or offer) with; new credentials after Restart().
  IceParameters LocalParameters() const;

  // The browser's credentials and candidates (may be empty: the browser then shows up as
  // peer-reflexive). Called again with the same credentials, it adds candidates (trickle).
  // Candidates that are not UDP, not component 1 or not a numeric address (mDNS ".local") are
  // skipped. False when the credentials are empty or libnice refuses them.
  bool SetRemote(const std::string& ufrag, const std::string& pwd,
                 const std::vector<IceCandidate>& candidates);

  // ICE restart: new local credentials (read them with LocalParameters()), remote candidates
  // forgotten; data keeps flowing on the current pair until a new one is selected. Call it
  // too when the browser restarts (its ufrag changed), then SetRemote() with its new ones.
  bool Restart();

  // One datagram to the selected pair; never blocks. False (and counted) when dropped.
  bool Send(const uint8_t* data, size_t len);

  // The latest state, which the listener may not have been told yet.
  IceState state() const { return state_; }
  const Stats& stats() const { return stats_; }
  // The media path is direct (see above); its counters, when it is.
  bool direct() const { return direct_ != nullptr; }
  const IceDirectPath::Stats* direct_stats() const { return direct_ ? &direct_->stats() : nullptr; }
  // Where the direct path sends; meaningful while direct().
  sockaddr_storage direct_remote() const { return direct_ ? direct_->remote() : sockaddr_storage{}; }
  // SO_RCVBUF the kernel applied to the agent's first socket (twice the request on Linux).
  int ReceiveBufferSize() const;

 private:
  struct Link;
  struct EventSource;
  struct Event {
    enum class Kind { kState, kSelectedPair, kLeaveDirect };  // The last is ours only.
    Kind kind = Kind::kState;
    IceState state = IceState::kNew;
    IceCandidate local;
    IceCandidate remote;
    std::string why;            // kLeaveDirect: why, and which path asked (a stale request
    uint64_t path_generation = 0;  // must not end a newer path).
  };

  IceTransport(GMainContext* context, const Options& options, Listener& listener);
  bool Init(std::string* error);

  // libnice callbacks; `data` is the agent's Link, whose owner is null once we are gone.
  static void OnNiceRecv(NiceAgent* agent, guint stream_id, guint component_id, guint len,
                         gchar* buf, gpointer data);
  static void OnNiceStateChanged(NiceAgent* agent, guint stream_id, guint component_id, guint state,
                                 gpointer data);
  static void OnNiceSelectedPair(NiceAgent* agent, guint stream_id, guint component_id,
                                 NiceCandidate* local, NiceCandidate* remote, gpointer data);
  static gboolean DispatchEvents(GSource* source, GSourceFunc, gpointer);
  static gboolean OnConsentTick(gpointer data);

  IceCandidate ToIceCandidate(const NiceCandidate& candidate, bool local) const;
  void UpdateState();
  void Queue(Event event);
  void StartConsentTimer();
  void ConsentRestored();
  void Received(const uint8_t* data, size_t len);

  // The direct media path: entered when lite, connected, a pair selected and one UDP socket;
  // left for libnice's path by the direct path's request, Restart() and destruction.
  void MaybeEnterDirect();
  void LeaveDirect(std::string_view why);
  void OnDirectPathData(const uint8_t* data, size_t len) override;
  void OnDirectPathNeedsAgent(std::string_view why) override;
  void OnDirectPathSendDropped() override;

  GMainContextPtr context_;
  const Options options_;
  Listener& listener_;
  NiceAgentPtr agent_;
  Link* link_ = nullptr;  // Owned by the agent (qdata), which outlives every callback.
  guint stream_id_ = 0;
  std::vector<gulong> signal_handlers_;
  GSourcePtr event_source_;

  guint nice_state_ = NICE_COMPONENT_STATE_DISCONNECTED;
  IceState state_ = IceState::kNew;
  std::vector<Event> events_;  // Not yet delivered.

  // Consent: the packet path only sets `received_`; the timer turns it into a time.
  QueuedTimer consent_timer_;
  bool received_ = false;
  bool consent_lost_ = false;
  gint64 last_received_us_ = 0;

  std::unique_ptr<IceDirectPath> direct_;
  uint64_t direct_generation_ = 0;  // Paths made so far.
  gint64 direct_retry_us_ = 0;   // After leaving, not before this (monotonic time).
  bool selected_since_restart_ = true;  // A restart waits for libnice to select a pair again.

  Stats stats_;
};

}  // namespace webrtc2sip::media
