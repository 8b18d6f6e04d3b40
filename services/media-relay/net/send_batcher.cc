#include "services/media-relay/net/send_batcher.h"

#include <errno.h>

#include <cstring>

namespace webrtc2sip::media {
namespace {

// A power of two above kFlushAt; the completion ring is twice that, and is emptied by every
// flush, so it never overflows.
constexpr unsigned kRingEntries = 32;

std::string Errno(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

}  // namespace

std::unique_ptr<SendBatcher> SendBatcher::Create(std::string* why) {
  static_assert(kFlushAt <= kRingEntries);
  std::unique_ptr<SendBatcher> batcher(new SendBatcher());
  if (const int r = io_uring_queue_init(kRingEntries, &batcher->ring_, 0); r < 0) {
    if (why) *why = Errno("io_uring_setup", -r);
    return nullptr;
  }
  batcher->ring_ready_ = true;
  io_uring_probe* probe = io_uring_get_probe_ring(&batcher->ring_);
  const bool supported = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_SENDMSG);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!supported) {
    if (why) *why = "io_uring has no sendmsg";
    return nullptr;
  }
  for (Slot& slot : batcher->slots_) {
    slot.iov.iov_base = slot.data.data();
    slot.header.msg_name = &slot.to;
    slot.header.msg_iov = &slot.iov;
    slot.header.msg_iovlen = 1;
  }
  return batcher;
}

SendBatcher::~SendBatcher() {
  if (queued_ > 0) Flush();
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

bool SendBatcher::Queue(Sender& sender, int fd, const uint8_t* data, size_t len,
                        const sockaddr_storage& to, socklen_t to_length) {
  if (len > kMaxDatagram || !ring_ready_) return false;
  Slot& slot = slots_[queued_++];
  slot.sender = &sender;
  slot.fd = fd;
  std::memcpy(&slot.to, &to, to_length);
  slot.header.msg_namelen = to_length;
  std::memcpy(slot.data.data(), data, len);
  slot.iov.iov_len = len;
  if (queued_ == kFlushAt) Flush();
  return true;
}

void SendBatcher::Flush() {
  const size_t count = queued_;
  if (count == 0) return;
  ++stats_.flushes;
  stats_.datagrams += count;
  if (count == 1) {
    // One sendto is cheaper than one submission (by about a microsecond here).
    SendOneByOne(0);
    queued_ = 0;
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // Never null: the ring is empty between flushes.
    io_uring_prep_sendmsg(sqe, slots_[i].fd, &slots_[i].header, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, i);
  }
  // Non-blocking sends complete during the submit; waiting for all of them costs nothing more.
  int submitted;
  do {
    submitted = io_uring_submit_and_wait(&ring_, static_cast<unsigned>(count));
  } while (submitted == -EINTR);
  const size_t consumed = submitted > 0 ? static_cast<size_t>(submitted) : 0;
  size_t reaped = 0;
  io_uring_cqe* cqe = nullptr;
  while (reaped < consumed && io_uring_peek_cqe(&ring_, &cqe) == 0) {
    const uint64_t index = io_uring_cqe_get_data64(cqe);
    if (index < count) slots_[index].sender->OnBatchedSendResult(cqe->res);
    io_uring_cqe_seen(&ring_, cqe);
    ++reaped;
  }
  stats_.submitted += consumed;
  if (consumed < count || reaped < consumed) {
    // The ring is in a state we cannot reason about (an enter that failed, a completion that
    // did not come): drop it, send what it did not take one by one, and send that way from
    // now on. Submissions are taken in order, so the first `consumed` went.
    ++stats_.submit_errors;
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
    SendOneByOne(consumed);
  }
  queued_ = 0;
}

void SendBatcher::SendOneByOne(size_t from) {
  for (size_t i = from; i < queued_; ++i) {
    const Slot& slot = slots_[i];
    const ssize_t sent = ::sendto(slot.fd, slot.data.data(), slot.iov.iov_len,
                                  MSG_DONTWAIT | MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&slot.to), slot.header.msg_namelen);
    slot.sender->OnBatchedSendResult(sent >= 0 ? static_cast<int>(sent) : -errno);
  }
}

}  // namespace webrtc2sip::media
