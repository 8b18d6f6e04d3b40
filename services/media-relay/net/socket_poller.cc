#include "services/media-relay/net/socket_poller.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

#include <array>

#include "services/media-relay/worker/per_context.h"

namespace webrtc2sip::media {
namespace {

// Ready sockets taken per epoll_wait.
constexpr int kEventsPerTurn = 64;
// How long one batching turn may keep the loop from its other sources.
constexpr std::chrono::microseconds kMaxBatchingTurn{2000};

uint64_t TokenOf(uint32_t index, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | index;
}

}  // namespace

// GLib holds a reference to the source while it dispatches; the poller it points to is kept
// alive for the dispatch by a shared_ptr taken at its start.
struct SocketPoller::Source {
  GSource base;
  SocketPoller* poller;
};

std::shared_ptr<SocketPoller> SocketPoller::ForContext(GMainContext* context) {
  return SharedPerContext<SocketPoller>(context, [](GMainContext* c) -> std::shared_ptr<SocketPoller> {
    std::shared_ptr<SocketPoller> poller(new SocketPoller(c));
    return poller->epoll_ ? poller : nullptr;
  });
}

SocketPoller::SocketPoller(GMainContext* context)
    : context_(context), epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) return;
  static GSourceFuncs funcs = {nullptr, nullptr, &SocketPoller::Dispatch, nullptr, nullptr, nullptr};
  GSource* source = g_source_new(&funcs, sizeof(Source));
  reinterpret_cast<Source*>(source)->poller = this;
  g_source_set_name(source, "webrtc2sip socket poller");
  g_source_add_unix_fd(source, epoll_.get(), G_IO_IN);
  g_source_attach(source, context_);
  source_.reset(source);
}

SocketPoller::~SocketPoller() {
  source_.reset();  // Destroyed first: it never dispatches again.
}

uint64_t SocketPoller::Add(int fd, Handler& handler) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.generation = slot.generation + 1 == 0 ? 1 : slot.generation + 1;
  const uint64_t token = TokenOf(index, slot.generation);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = token;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    free_.push_back(index);
    return 0;
  }
  slot.handler = &handler;
  slot.fd = fd;
  ++live_;
  return token;
}

void SocketPoller::Remove(uint64_t token) {
  const Slot* found = Find(token);
  if (!found) return;
  const auto index = static_cast<uint32_t>(token & 0xffffffffu);
  Slot& slot = slots_[index];
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, slot.fd, nullptr);
  slot.handler = nullptr;
  slot.fd = -1;
  free_.push_back(index);
  --live_;
}

bool SocketPoller::Alive(uint64_t token) const {
  return Find(token) != nullptr;
}

const SocketPoller::Slot* SocketPoller::Find(uint64_t token) const {
  const auto index = static_cast<uint32_t>(token & 0xffffffffu);
  const auto generation = static_cast<uint32_t>(token >> 32);
  if (index >= slots_.size()) return nullptr;
  const Slot& slot = slots_[index];
  if (slot.handler == nullptr || slot.generation != generation) return nullptr;
  return &slot;
}

void SocketPoller::ServeBatched(const epoll_event* events, int count) {
  uint64_t tokens[IoBatcher::kReadBatch];
  int fds[IoBatcher::kReadBatch];
  size_t pending = 0;
  size_t largest = 0;
  auto read_pending = [&] {
    // A handler called since a socket was put here (one that reads on its own) may have
    // removed it: its fd is closed, and the number may already belong to another file.
    size_t live = 0;
    for (size_t i = 0; i < pending; ++i) {
      if (Find(tokens[i]) == nullptr) continue;
      tokens[live] = tokens[i];
      fds[live] = fds[i];
      ++live;
    }
    pending = live;
    if (pending == 0) return;
    const bool read = batcher_->ReadEach(fds, pending, largest);
    for (size_t i = 0; i < pending; ++i) {
      // A handler earlier in this round may have removed this one: the token says.
      const Slot* slot = Find(tokens[i]);
      if (!slot) continue;
      if (!read) {
        slot->handler->OnReadable();  // Batching was given up: read the usual way.
        continue;
      }
      slot->handler->OnBatchRead(batcher_->received(i, 0));
      const IoBatcher::Received& second = batcher_->received(i, 1);
      if (second.result == -EAGAIN || (slot = Find(tokens[i])) == nullptr) continue;
      slot->handler->OnBatchRead(second);  // A datagram, or an error to count.
      // Two in a row: there may be more. Read them now, not one a round.
      if (second.result >= 0 && (slot = Find(tokens[i])) != nullptr) slot->handler->OnReadable();
    }
    pending = 0;
    largest = 0;
  };
  for (int i = 0; i < count; ++i) {
    const uint64_t token = events[i].data.u64;
    const Slot* slot = Find(token);
    if (!slot) continue;
    const int fd = slot->handler->batch_read_fd();
    if (fd < 0) {
      slot->handler->OnReadable();
      continue;
    }
    tokens[pending] = token;
    fds[pending] = fd;
    largest = std::max(largest, slot->handler->batch_read_size());
    if (++pending == IoBatcher::kReadBatch) read_pending();
  }
  read_pending();
}

bool SocketPoller::EnableBatchedIo(std::string* why) {
  if (!batcher_) batcher_ = IoBatcher::Create(why);
  return batcher_ != nullptr;
}

gboolean SocketPoller::Dispatch(GSource* source, GSourceFunc, gpointer) {
  // Kept alive for the whole turn: the last socket may go away from a handler.
  std::shared_ptr<SocketPoller> poller = reinterpret_cast<Source*>(source)->poller->shared_from_this();
  std::array<epoll_event, kEventsPerTurn> events;
  const auto window = poller->batch_window_;
  const auto start = std::chrono::steady_clock::now();
  IoBatcher* batcher = poller->batcher_.get();
  poller->in_turn_ = true;
  while (true) {
    const int count = epoll_wait(poller->epoll_.get(), events.data(), kEventsPerTurn, 0);
    if (batcher != nullptr) {
      poller->ServeBatched(events.data(), count);
    } else {
      for (int i = 0; i < count; ++i) {
        // A handler earlier in this turn may have removed this one: the token says.
        const Slot* slot = poller->Find(events[static_cast<size_t>(i)].data.u64);
        if (slot) slot->handler->OnReadable();
      }
    }
    // What this round's handlers sent leaves now, before any pause.
    if (batcher != nullptr) batcher->Flush();
    if (count <= 0 || window.count() == 0) break;
    if (std::chrono::steady_clock::now() - start >= kMaxBatchingTurn) break;
    if (count < kEventsPerTurn) {
      // Let the next packets gather. The worker is idle meanwhile: no CPU is spent waiting.
      const timespec pause{0, static_cast<long>(window.count()) * 1000};
      nanosleep(&pause, nullptr);
    }
  }
  poller->in_turn_ = false;
  return G_SOURCE_CONTINUE;
}

}  // namespace webrtc2sip::media
