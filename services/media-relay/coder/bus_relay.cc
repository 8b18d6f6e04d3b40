#include "services/media-relay/coder/bus_relay.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>

#include "common/cwrap/c_ptr.h"
#include "common/cwrap/gobject_ptr.h"
#include "common/cwrap/gst_ptr.h"
#include "services/media-relay/coder/str_cat.h"
#include "services/media-relay/worker/per_context.h"

namespace webrtc2sip::media::coder {

struct BusRelay::Inbox {
  explicit Inbox(int event_fd) : fd(event_fd) {}
  ~Inbox() { close(fd); }

  void Post(uint64_t id, std::string reason) {  // Any thread.
    {
      std::lock_guard lock(mutex);
      pending.emplace_back(id, std::move(reason));
    }
    const uint64_t one = 1;
    ssize_t written = write(fd, &one, sizeof(one));
    (void)written;  // EAGAIN only when the counter is full: the worker is woken anyway.
  }

  std::vector<std::pair<uint64_t, std::string>> Take() {
    uint64_t count = 0;
    ssize_t got = read(fd, &count, sizeof(count));
    (void)got;
    std::vector<std::pair<uint64_t, std::string>> batch;
    std::lock_guard lock(mutex);
    batch.swap(pending);
    return batch;
  }

  const int fd;
  std::mutex mutex;
  std::vector<std::pair<uint64_t, std::string>> pending;  // Guarded by mutex.
};

struct BusRelay::Tap {
  std::shared_ptr<Inbox> inbox;
  uint64_t id;
  std::string prefix;
};

struct BusRelay::Source {
  GSource base;
  BusRelay* relay;
};

std::shared_ptr<BusRelay> BusRelay::For(GMainContext* context) {
  return SharedPerContext<BusRelay>(context, [](GMainContext* c) -> std::shared_ptr<BusRelay> {
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return nullptr;
    return std::shared_ptr<BusRelay>(new BusRelay(c, std::make_shared<Inbox>(fd)));
  });
}

BusRelay::BusRelay(GMainContext* context, std::shared_ptr<Inbox> inbox)
    : inbox_(std::move(inbox)) {
  static GSourceFuncs funcs = {
      nullptr, nullptr,
      [](GSource* source, GSourceFunc, gpointer) -> gboolean {
        reinterpret_cast<Source*>(source)->relay->Deliver();
        return G_SOURCE_CONTINUE;
      },
      nullptr, nullptr, nullptr};
  source_ = g_source_new(&funcs, sizeof(Source));
  reinterpret_cast<Source*>(source_)->relay = this;
  g_source_set_name(source_, "webrtc2sip coder errors");
  g_source_add_unix_fd(source_, inbox_->fd, G_IO_IN);
  g_source_attach(source_, context);
}

BusRelay::~BusRelay() {
  g_source_destroy(source_);
  g_source_unref(source_);
}

uint64_t BusRelay::Watch(GstBus* bus, std::string prefix, Target* target) {
  const uint64_t id = next_id_++;
  targets_[id] = target;
  auto* tap = new Tap{inbox_, id, std::move(prefix)};
  gst_bus_set_sync_handler(bus, &BusRelay::OnSync, tap,
                           [](gpointer data) { delete static_cast<Tap*>(data); });
  return id;
}

void BusRelay::Unwatch(uint64_t id) { targets_.erase(id); }

GstBusSyncReply BusRelay::OnSync(GstBus*, GstMessage* message, gpointer data) {
  // A sync handler that drops a message owns it (GstBusSyncHandler): unreffed here, or every
  // message, and the element it names, would leak.
  GstMessagePtr owned_message(message);
  if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ERROR) return GST_BUS_DROP;
  const Tap& tap = *static_cast<Tap*>(data);
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  GErrorPtr owned(error);
  CPtr<gchar, g_free> owned_debug(debug);
  // The debug text says why ("streaming stopped, reason not-negotiated (-4)").
  tap.inbox->Post(tap.id, StrCat(tap.prefix, GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), ": ",
                                 error != nullptr ? error->message : "unknown error", " (",
                                 debug != nullptr ? debug : "", ")"));
  return GST_BUS_DROP;
}

void BusRelay::Deliver() {
  // A target's failure may destroy the last transcoder, and with it the relay's last owner:
  // kept alive to the end of the batch.
  std::shared_ptr<BusRelay> self = shared_from_this();
  // Looked up one by one: a target may unwatch others (or itself) from its callback.
  for (auto& [id, reason] : inbox_->Take()) {
    auto it = targets_.find(id);
    if (it != targets_.end()) it->second->OnPipelineError(std::move(reason));
  }
}

}  // namespace webrtc2sip::media::coder
