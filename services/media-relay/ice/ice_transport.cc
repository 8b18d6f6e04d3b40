#include "services/media-relay/ice/ice_transport.h"

#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>

#include "common/cwrap/c_ptr.h"
#include "common/log/logger.h"
#include "common/metrics/registry.h"
#include "services/media-relay/net/socket_address.h"

namespace webrtc2sip::media {
namespace {

constexpr guint kComponent = 1;

struct IceMetrics {
  metrics::Counter& send_dropped;
  metrics::Counter& consent_lost;

  static IceMetrics& Get() {
    static IceMetrics instance{
        metrics::Registry::Global()
            .AddCounter("webrtc2sip_media_ice_dropped_packets_total",
                        "Datagrams the ICE transport of a WebRTC leg could not send or would not take.",
                        {"reason"})
            .WithLabels({"send"}),
        metrics::Registry::Global()
            .AddCounter("webrtc2sip_media_ice_consent_lost_total",
                        "WebRTC legs whose selected pair went silent for the consent timeout.")
            .WithLabels({})};
    return instance;
  }
};

std::string_view TypeName(NiceCandidateType type) {
  switch (type) {
    case NICE_CANDIDATE_TYPE_HOST:
      return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED:
      return "relay";
  }
  return "host";
}

std::optional<NiceCandidateType> ParseType(const std::string& type) {
  if (type == "host") return NICE_CANDIDATE_TYPE_HOST;
  if (type == "srflx") return NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
  if (type == "prflx") return NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
  if (type == "relay") return NICE_CANDIDATE_TYPE_RELAYED;
  return std::nullopt;
}

std::string AddressText(const NiceAddress& address) {
  if (!nice_address_is_valid(&address)) return {};
  char text[NICE_ADDRESS_STRING_LEN] = {};
  nice_address_to_string(&address, text);
  return text;
}

using NiceCandidatePtr = CPtr<NiceCandidate, nice_candidate_free>;

// A remote candidate libnice can use, or null (skipped) when it is not one.
NiceCandidatePtr ToNiceCandidate(const IceCandidate& candidate, guint stream_id) {
  const auto type = ParseType(candidate.type);
  if (!type || candidate.component != kComponent || candidate.port == 0 ||
      strcasecmp(candidate.protocol.c_str(), "udp") != 0) {
    return nullptr;
  }
  NiceCandidatePtr nice(nice_candidate_new(*type));
  if (!nice_address_set_from_string(&nice->addr, candidate.address.c_str())) return nullptr;
  nice_address_set_port(&nice->addr, candidate.port);
  if (!candidate.related_address.empty() &&
      nice_address_set_from_string(&nice->base_addr, candidate.related_address.c_str())) {
    nice_address_set_port(&nice->base_addr, candidate.related_port);
  }
  nice->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  nice->priority = candidate.priority;
  nice->stream_id = stream_id;
  nice->component_id = kComponent;
  g_strlcpy(nice->foundation, candidate.foundation.c_str(), NICE_CANDIDATE_MAX_FOUNDATION);
  return nice;
}

IceState FromNiceState(guint state) {
  switch (state) {
    case NICE_COMPONENT_STATE_CONNECTING:
      return IceState::kChecking;
    case NICE_COMPONENT_STATE_CONNECTED:
      return IceState::kConnected;
    case NICE_COMPONENT_STATE_READY:
      return IceState::kCompleted;
    case NICE_COMPONENT_STATE_FAILED:
      return IceState::kFailed;
    default:  // Disconnected (never started) and gathering.
      return IceState::kNew;
  }
}

// libnice's socket sources while the media path is direct: a context nobody runs, so the agent
// reads nothing and costs the worker's loop nothing. (Attaching a source to a context without
// an owner wakes nobody.)
GMainContext* ParkingContext() {
  static GMainContext* const context = g_main_context_new();
  return context;
}

// After going back to libnice, how long before the direct path may resume on the same pair.
constexpr gint64 kDirectRetryUs = 1'000'000;

bool Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

}  // namespace

// What libnice's callbacks get instead of `this`. The agent owns it (object data), so it lives
// as long as any callback can run; the destructor clears `owner`.
struct IceTransport::Link {
  IceTransport* owner;
};

// Delivers queued events on their own loop turn (attached only while there are some). GLib holds a
// reference while it dispatches, so g_source_is_destroyed() tells whether a listener destroyed
// the transport.
struct IceTransport::EventSource {
  GSource base;
  IceTransport* owner;  // Valid while the source is not destroyed.
};

std::unique_ptr<IceTransport> IceTransport::Create(GMainContext* context, const Options& options,
                                                   Listener& listener, std::string* error) {
  IceMetrics::Get();  // Registered now, not on the first packet.
  std::unique_ptr<IceTransport> transport(new IceTransport(context, options, listener));
  if (!transport->Init(error)) return nullptr;
  return transport;
}

IceTransport::IceTransport(GMainContext* context, const Options& options, Listener& listener)
    : context_(g_main_context_ref(context)), options_(options), listener_(listener) {}

bool IceTransport::Init(std::string* error) {
  const auto bind = ParseSocketAddress(options_.bind_address, 0);
  if (!bind) return Fail(error, "ice: bind address '" + options_.bind_address + "' is not numeric");
  if (!options_.advertised_address.empty() && !ParseSocketAddress(options_.advertised_address, 0)) {
    return Fail(error,
                "ice: advertised address '" + options_.advertised_address + "' is not numeric");
  }
  if (options_.port_min == 0 || options_.port_min > options_.port_max) {
    return Fail(error, "ice: empty port range");
  }

  NiceAgent* agent =
      nice_agent_new_full(context_.get(), NICE_COMPATIBILITY_RFC5245,
                          options_.lite ? NICE_AGENT_OPTION_LITE_MODE : NICE_AGENT_OPTION_NONE);
  if (agent == nullptr) return Fail(error, "ice: libnice could not make an agent");
  agent_ = NiceAgentPtr(agent, NiceAgentClose{context_.get()});
  // RFC 8445 section 6.1.1: the lite side is always controlled.
  const gboolean controlling = !options_.lite && options_.controlling;
  g_object_set(agent, "controlling-mode", controlling, "ice-udp", TRUE, "ice-tcp", FALSE, nullptr);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp") != nullptr) {
    g_object_set(agent, "upnp", FALSE, nullptr);
  }

  // A wildcard is bound as such only when an advertised address stands for it; otherwise
  // libnice binds each interface, so each candidate carries a real address.
  if (!IsAnyAddress(*bind) || !options_.advertised_address.empty()) {
    NiceAddress address;
    nice_address_init(&address);
    if (!nice_address_set_from_string(&address, options_.bind_address.c_str()) ||
        !nice_agent_add_local_address(agent, &address)) {
      return Fail(error, "ice: libnice refused bind address " + options_.bind_address);
    }
  }

  stream_id_ = nice_agent_add_stream(agent, 1);
  if (stream_id_ == 0) return Fail(error, "ice: libnice could not add a stream");
  nice_agent_set_port_range(agent, stream_id_, kComponent, options_.port_min, options_.port_max);

  auto link = std::make_unique<Link>(Link{this});
  link_ = link.get();
  g_object_set_data_full(
      G_OBJECT(agent), "webrtc2sip-ice-link", link.release(),
      [](gpointer owned) { std::unique_ptr<Link> adopted(static_cast<Link*>(owned)); });
  signal_handlers_.push_back(
      g_signal_connect(agent, "component-state-changed", G_CALLBACK(&OnNiceStateChanged), link_));
  signal_handlers_.push_back(
      g_signal_connect(agent, "new-selected-pair-full", G_CALLBACK(&OnNiceSelectedPair), link_));
  nice_agent_attach_recv(agent, stream_id_, kComponent, context_.get(), &OnNiceRecv, link_);

  // Host candidates are gathered synchronously: the sockets exist when this returns.
  if (!nice_agent_gather_candidates(agent, stream_id_)) {
    return Fail(error, "ice: no port of " + std::to_string(options_.port_min) + "-" +
                           std::to_string(options_.port_max) + " could be bound on " +
                           options_.bind_address);
  }
  if (LocalParameters().candidates.empty()) {
    return Fail(error, "ice: no UDP host candidate on " + options_.bind_address);
  }
  if (options_.rtp_buffsize > 0) {
    GPtrArray* sockets = nice_agent_get_sockets(agent, stream_id_, kComponent);
    for (guint i = 0; sockets != nullptr && i < sockets->len; ++i) {
      GSocket* socket = G_SOCKET(g_ptr_array_index(sockets, i));
      if (g_socket_get_socket_type(socket) != G_SOCKET_TYPE_DATAGRAM) continue;
      const int fd = g_socket_get_fd(socket);
      const int size = options_.rtp_buffsize;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    if (sockets != nullptr) g_ptr_array_unref(sockets);
  }
  return true;
}

IceTransport::~IceTransport() {
  // Whatever libnice still runs (this may be inside one of its callbacks, and close_async
  // finishes later) finds no owner.
  if (link_ != nullptr) link_->owner = nullptr;
  direct_.reset();  // Its duplicate of the socket closes before libnice's.
  if (agent_ != nullptr) {
    for (gulong handler : signal_handlers_) g_signal_handler_disconnect(agent_.get(), handler);
    if (stream_id_ != 0) {
      nice_agent_attach_recv(agent_.get(), stream_id_, kComponent, context_.get(), nullptr,
                             nullptr);
    }
  }
  consent_timer_.Stop();
  event_source_.reset();
  agent_.reset();
}

IceParameters IceTransport::LocalParameters() const {
  IceParameters parameters;
  parameters.lite = options_.lite;
  gchar* ufrag = nullptr;
  gchar* pwd = nullptr;
  if (nice_agent_get_local_credentials(agent_.get(), stream_id_, &ufrag, &pwd)) {
    parameters.ufrag = ufrag;
    parameters.pwd = pwd;
  }
  g_free(ufrag);
  g_free(pwd);
  GSList* candidates = nice_agent_get_local_candidates(agent_.get(), stream_id_, kComponent);
  for (GSList* item = candidates; item != nullptr; item = item->next) {
    const auto* candidate = static_cast<const NiceCandidate*>(item->data);
    if (candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP) continue;
    parameters.candidates.push_back(ToIceCandidate(*candidate, /*local=*/true));
  }
  g_slist_free_full(candidates, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
  return parameters;
}

IceCandidate IceTransport::ToIceCandidate(const NiceCandidate& candidate, bool local) const {
  IceCandidate ice;
  ice.foundation = candidate.foundation;
  ice.component = candidate.component_id;
  ice.protocol = "udp";
  ice.priority = candidate.priority;
  ice.address = AddressText(candidate.addr);
  ice.port = static_cast<uint16_t>(nice_address_get_port(&candidate.addr));
  ice.type = TypeName(candidate.type);
  if (candidate.type != NICE_CANDIDATE_TYPE_HOST && nice_address_is_valid(&candidate.base_addr)) {
    ice.related_address = AddressText(candidate.base_addr);
    ice.related_port = static_cast<uint16_t>(nice_address_get_port(&candidate.base_addr));
  }
  // 1:1 NAT: the browser reaches the bound port through the advertised address.
  if (local && candidate.type == NICE_CANDIDATE_TYPE_HOST && !options_.advertised_address.empty()) {
    ice.address = options_.advertised_address;
  }
  return ice;
}

bool IceTransport::SetRemote(const std::string& ufrag, const std::string& pwd,
                             const std::vector<IceCandidate>& candidates) {
  if (ufrag.empty() || pwd.empty()) return false;
  if (!nice_agent_set_remote_credentials(agent_.get(), stream_id_, ufrag.c_str(), pwd.c_str())) {
    return false;
  }
  GSList* list = nullptr;
  size_t skipped = 0;
  for (const IceCandidate& candidate : candidates) {
    NiceCandidatePtr nice = ToNiceCandidate(candidate, stream_id_);
    if (nice == nullptr) {
      ++skipped;
      continue;
    }
    list = g_slist_prepend(list, nice.release());
  }
  if (list != nullptr) {
    list = g_slist_reverse(list);
    nice_agent_set_remote_candidates(agent_.get(), stream_id_, kComponent, list);
    g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
  }
  if (skipped > 0) {
    log::Debug("ice remote candidates skipped",
               {{"session", options_.log_id}, {"skipped", std::to_string(skipped)}});
  }
  return true;
}

bool IceTransport::Restart() {
  LeaveDirect("restart");
  if (!nice_agent_restart_stream(agent_.get(), stream_id_)) return false;
  selected_since_restart_ = false;
  log::Info("ice restart", {{"session", options_.log_id}});
  return true;
}

void IceTransport::OnDirectPathSendDropped() {
  // Send() counted it as sent when the batch took it: `sent` counts what was handed over.
  ++stats_.send_dropped;
  IceMetrics::Get().send_dropped.Inc();
}

bool IceTransport::Send(const uint8_t* data, size_t len) {
  if (direct_) [[likely]] {
    if (!direct_->Send(data, len)) {
      ++stats_.send_dropped;
      IceMetrics::Get().send_dropped.Inc();
      return false;
    }
    ++stats_.sent;
    return true;
  }
  const gint sent = nice_agent_send(agent_.get(), stream_id_, kComponent, static_cast<guint>(len),
                                    reinterpret_cast<const gchar*>(data));
  if (sent < 0 || static_cast<size_t>(sent) != len) {
    ++stats_.send_dropped;
    IceMetrics::Get().send_dropped.Inc();
    return false;
  }
  ++stats_.sent;
  return true;
}

int IceTransport::ReceiveBufferSize() const {
  int size = -1;
  GPtrArray* sockets = nice_agent_get_sockets(agent_.get(), stream_id_, kComponent);
  for (guint i = 0; sockets != nullptr && i < sockets->len; ++i) {
    GSocket* socket = G_SOCKET(g_ptr_array_index(sockets, i));
    if (g_socket_get_socket_type(socket) != G_SOCKET_TYPE_DATAGRAM) continue;
    socklen_t length = sizeof(size);
    getsockopt(g_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUF, &size, &length);
    break;
  }
  if (sockets != nullptr) g_ptr_array_unref(sockets);
  return size;
}

void IceTransport::OnNiceRecv(NiceAgent*, guint, guint, guint len, gchar* buf, gpointer data) {
  IceTransport* self = static_cast<Link*>(data)->owner;
  if (self == nullptr) return;
  self->Received(reinterpret_cast<const uint8_t*>(buf), len);
}

void IceTransport::OnDirectPathData(const uint8_t* data, size_t len) {
  Received(data, len);
}

void IceTransport::Received(const uint8_t* data, size_t len) {
  received_ = true;
  ++stats_.received;
  if (consent_lost_) [[unlikely]] {
    ConsentRestored();
  }
  // Last: the listener may destroy the transport.
  listener_.OnIceData(data, len);
}

void IceTransport::OnDirectPathNeedsAgent(std::string_view why) {
  // Inside the path's read: it goes on the next loop turn, so the rest of its batch is not lost.
  Event event;
  event.kind = Event::Kind::kLeaveDirect;
  event.why = std::string(why);
  event.path_generation = direct_generation_;
  Queue(std::move(event));
}

void IceTransport::MaybeEnterDirect() {
  if (direct_ || !options_.lite || !selected_since_restart_) return;
  if (nice_state_ != NICE_COMPONENT_STATE_READY && nice_state_ != NICE_COMPONENT_STATE_CONNECTED) {
    return;
  }
  if (g_get_monotonic_time() < direct_retry_us_) return;
  NiceCandidate* local = nullptr;
  NiceCandidate* remote = nullptr;
  if (!nice_agent_get_selected_pair(agent_.get(), stream_id_, kComponent, &local, &remote) ||
      remote == nullptr || remote->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
    return;
  }
  sockaddr_storage remote_address{};
  nice_address_copy_to_sockaddr(&remote->addr, reinterpret_cast<sockaddr*>(&remote_address));
  UnmapV4(remote_address);

  // One UDP socket only: with several (a wildcard bind without an advertised address binds
  // each interface) a check may come on any of them, and libnice keeps reading.
  guint datagram_sockets = 0;
  GPtrArray* sockets = nice_agent_get_sockets(agent_.get(), stream_id_, kComponent);
  for (guint i = 0; sockets != nullptr && i < sockets->len; ++i) {
    if (g_socket_get_socket_type(G_SOCKET(g_ptr_array_index(sockets, i))) ==
        G_SOCKET_TYPE_DATAGRAM) {
      ++datagram_sockets;
    }
  }
  if (sockets != nullptr) g_ptr_array_unref(sockets);
  GSocket* selected = nice_agent_get_selected_socket(agent_.get(), stream_id_, kComponent);
  if (datagram_sockets != 1 || selected == nullptr) {
    if (selected != nullptr) g_object_unref(selected);
    direct_retry_us_ = G_MAXINT64;  // The sockets do not change.
    return;
  }
  const int fd = g_socket_get_fd(selected);

  gchar* ufrag = nullptr;
  gchar* pwd = nullptr;
  if (nice_agent_get_local_credentials(agent_.get(), stream_id_, &ufrag, &pwd)) {
    direct_ = IceDirectPath::Create(context_.get(), fd, remote_address, ufrag, pwd,
                                    options_.rtp_buffsize, *this);
  }
  g_free(ufrag);
  if (pwd != nullptr) memset(pwd, 0, strlen(pwd));
  g_free(pwd);
  g_object_unref(selected);
  if (!direct_) {
    direct_retry_us_ = g_get_monotonic_time() + kDirectRetryUs;
    return;
  }
  // From here libnice reads nothing: its sources wait on a context that never runs.
  if (!nice_agent_attach_recv(agent_.get(), stream_id_, kComponent, ParkingContext(), &OnNiceRecv,
                              link_)) {
    direct_.reset();  // Both would read the socket: libnice keeps it.
    direct_retry_us_ = G_MAXINT64;
    return;
  }
  ++stats_.direct_entered;
  ++direct_generation_;
  log::Debug("ice media path direct", {{"session", options_.log_id},
                                       {"remote", FormatSocketAddress(remote_address)}});
}

void IceTransport::LeaveDirect(std::string_view why) {
  if (!direct_) return;
  direct_.reset();
  nice_agent_attach_recv(agent_.get(), stream_id_, kComponent, context_.get(), &OnNiceRecv,
                         link_);
  direct_retry_us_ = g_get_monotonic_time() + kDirectRetryUs;
  ++stats_.direct_left;
  log::Info("ice media path back to libnice",
            {{"session", options_.log_id}, {"why", std::string(why)}});
}

void IceTransport::OnNiceStateChanged(NiceAgent*, guint, guint component_id, guint state,
                                      gpointer data) {
  IceTransport* self = static_cast<Link*>(data)->owner;
  if (self == nullptr || component_id != kComponent) return;
  self->nice_state_ = state;
  if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
    self->StartConsentTimer();
  }
  self->UpdateState();
}

void IceTransport::OnNiceSelectedPair(NiceAgent*, guint, guint component_id, NiceCandidate* local,
                                      NiceCandidate* remote, gpointer data) {
  IceTransport* self = static_cast<Link*>(data)->owner;
  if (self == nullptr || component_id != kComponent) return;
  self->selected_since_restart_ = true;
  // A new selection: the direct path may start at once (DispatchEvents), unless it never can.
  if (self->direct_retry_us_ != G_MAXINT64) self->direct_retry_us_ = 0;
  Event event;
  event.kind = Event::Kind::kSelectedPair;
  event.local = self->ToIceCandidate(*local, /*local=*/true);
  event.remote = self->ToIceCandidate(*remote, /*local=*/false);
  log::Info("ice selected pair",
            {{"session", self->options_.log_id},
             {"local", event.local.address + ":" + std::to_string(event.local.port)},
             {"remote", event.remote.address + ":" + std::to_string(event.remote.port)},
             {"remote_type", event.remote.type}});
  self->Queue(std::move(event));
}

void IceTransport::UpdateState() {
  IceState state = FromNiceState(nice_state_);
  if (consent_lost_ && (state == IceState::kConnected || state == IceState::kCompleted)) {
    state = IceState::kDisconnected;
  }
  if (state == state_) return;
  state_ = state;
  log::Info("ice state", {{"session", options_.log_id}, {"state", IceStateName(state)}});
  Event event;
  event.kind = Event::Kind::kState;
  event.state = state;
  Queue(std::move(event));
}

void IceTransport::Queue(Event event) {
  events_.push_back(std::move(event));
  if (event_source_) return;
  // Attached only while events wait: GLib walks every source of the worker's context on each
  // wake-up, so an idle one per session costs every packet of the worker.
  static GSourceFuncs funcs = {nullptr, nullptr, &IceTransport::DispatchEvents,
                               nullptr, nullptr, nullptr};
  GSource* source = g_source_new(&funcs, sizeof(EventSource));
  reinterpret_cast<EventSource*>(source)->owner = this;
  g_source_set_name(source, "webrtc2sip ice events");
  g_source_set_ready_time(source, 0);
  g_source_attach(source, context_.get());
  event_source_.reset(source);
}

gboolean IceTransport::DispatchEvents(GSource* source, GSourceFunc, gpointer) {
  IceTransport* self = reinterpret_cast<EventSource*>(source)->owner;
  g_source_set_ready_time(source, -1);
  // Events queued by the listener's reactions wait for the next turn.
  std::vector<Event> events;
  events.swap(self->events_);
  for (const Event& event : events) {
    if (event.kind == Event::Kind::kLeaveDirect) {
      if (event.path_generation == self->direct_generation_) self->LeaveDirect(event.why);
      continue;
    }
    if (event.kind == Event::Kind::kState) {
      self->listener_.OnIceStateChanged(event.state);
    } else {
      self->listener_.OnIceSelectedPair(event.local, event.remote);
    }
    if (g_source_is_destroyed(source)) return G_SOURCE_REMOVE;  // The listener destroyed it.
  }
  self->MaybeEnterDirect();
  if (!self->events_.empty()) {
    g_source_set_ready_time(source, 0);  // Queued by the listener: next turn.
    return G_SOURCE_CONTINUE;
  }
  self->event_source_.reset();  // GLib holds the source until this dispatch returns.
  return G_SOURCE_REMOVE;
}

void IceTransport::StartConsentTimer() {
  if (consent_timer_.running()) return;
  last_received_us_ = g_get_monotonic_time();
  // A quarter of the timeout: silence is noticed between 1 and 1.5 timeouts.
  const auto interval = std::clamp(options_.consent_timeout / 4, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(1000));
  // `this` is safe here: the destructor stops the timer, and a stopped timer never runs. One
  // queue per worker carries every session's timers (timer_queue.h).
  consent_timer_.Start(context_.get(), interval, [this] { return OnConsentTick(this) == G_SOURCE_CONTINUE; });
}

gboolean IceTransport::OnConsentTick(gpointer data) {
  auto* self = static_cast<IceTransport*>(data);
  const gint64 now = g_get_monotonic_time();
  if (!self->direct_ && now >= self->direct_retry_us_) self->MaybeEnterDirect();
  if (self->received_) {
    self->received_ = false;
    self->last_received_us_ = now;
    return G_SOURCE_CONTINUE;
  }
  const gint64 timeout_us =
      std::chrono::duration_cast<std::chrono::microseconds>(self->options_.consent_timeout).count();
  if (!self->consent_lost_ && now - self->last_received_us_ >= timeout_us) {
    self->consent_lost_ = true;
    IceMetrics::Get().consent_lost.Inc();
    log::Info("ice consent lost",
              {{"session", self->options_.log_id},
               {"silent_ms", std::to_string((now - self->last_received_us_) / 1000)}});
    self->UpdateState();
  }
  return G_SOURCE_CONTINUE;
}

void IceTransport::ConsentRestored() {
  consent_lost_ = false;
  last_received_us_ = g_get_monotonic_time();
  UpdateState();
}

}  // namespace webrtc2sip::media
