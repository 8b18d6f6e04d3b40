#include "services/media-relay/net/io_batcher.h"

#include <errno.h>

#include <algorithm>
#include <cstring>

#include "common/log/logger.h"

namespace webrtc2sip::media {
namespace {

// A power of two, at least kBatch; the completion ring is twice that, and is emptied by every
// submission, so it never overflows.
constexpr unsigned kRingEntries = 32;

std::string Errno(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

}  // namespace

std::unique_ptr<IoBatcher> IoBatcher::Create(std::string* why) {
  static_assert(kBatch <= kRingEntries);
  std::unique_ptr<IoBatcher> batcher(new IoBatcher());
  if (const int r = io_uring_queue_init(kRingEntries, &batcher->ring_, 0); r < 0) {
    if (why) *why = Errno("io_uring_setup", -r);
    return nullptr;
  }
  batcher->ring_ready_ = true;
  io_uring_probe* probe = io_uring_get_probe_ring(&batcher->ring_);
  const bool supported = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
                         io_uring_opcode_supported(probe, IORING_OP_RECVMSG);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!supported) {
    if (why) *why = "io_uring has no sendmsg/recvmsg";
    return nullptr;
  }
  for (SendSlot& slot : batcher->send_slots_) {
    slot.iov.iov_base = slot.data.data();
    slot.header.msg_name = &slot.to;
    slot.header.msg_iov = &slot.iov;
    slot.header.msg_iovlen = 1;
  }
  for (ReceiveSlot& slot : batcher->receive_slots_) {
    slot.iov.iov_base = slot.data.data();
    slot.header.msg_name = &slot.from;
    slot.header.msg_iov = &slot.iov;
    slot.header.msg_iovlen = 1;
  }
  return batcher;
}

IoBatcher::~IoBatcher() {
  if (queued_ > 0) Flush();
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

template <typename F>
size_t IoBatcher::SubmitAndReap(size_t count, F&& on_result) {
  // Non-blocking operations complete during the submit; waiting for all costs nothing more.
  int submitted;
  do {
    submitted = io_uring_submit_and_wait(&ring_, static_cast<unsigned>(count));
  } while (submitted == -EINTR);
  const size_t consumed = submitted > 0 ? static_cast<size_t>(submitted) : 0;
  size_t reaped = 0;
  io_uring_cqe* cqe = nullptr;
  while (reaped < consumed && io_uring_peek_cqe(&ring_, &cqe) == 0) {
    const uint64_t index = io_uring_cqe_get_data64(cqe);
    if (index < count) on_result(static_cast<size_t>(index), *cqe);
    io_uring_cqe_seen(&ring_, cqe);
    ++reaped;
  }
  if (consumed < count || reaped < consumed) {
    // The ring is in a state we cannot reason about (an enter that failed, a completion that
    // did not come): drop it and do the I/O one call at a time from now on.
    ++stats_.submit_errors;
    GiveUp();
  }
  return consumed;
}

void IoBatcher::GiveUp() {
  if (!ring_ready_) return;
  io_uring_queue_exit(&ring_);
  ring_ready_ = false;
  log::Warn("media batched io given up: one system call per socket read and per packet sent",
            {{"reason", "io_uring did not take or complete a submission"}});
}

bool IoBatcher::Queue(Sender& sender, int fd, const uint8_t* data, size_t len,
                      const sockaddr_storage& to, socklen_t to_length) {
  if (len > kMaxDatagram || !ring_ready_) {
    Flush();  // What is queued goes first: the caller's own send must not overtake it.
    return false;
  }
  SendSlot& slot = send_slots_[queued_++];
  slot.sender = &sender;
  slot.fd = fd;
  std::memcpy(&slot.to, &to, to_length);
  slot.header.msg_namelen = to_length;
  std::memcpy(slot.data.data(), data, len);
  slot.iov.iov_len = len;
  if (queued_ == kBatch) Flush();
  return true;
}

void IoBatcher::Flush() {
  const size_t count = queued_;
  if (count == 0) return;
  ++stats_.flushes;
  stats_.datagrams += count;
  if (count == 1 || !ring_ready_) {
    for (size_t i = 0; i < count; ++i) SendDirect(send_slots_[i]);
    queued_ = 0;
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // Never null: the ring is empty between calls.
    io_uring_prep_sendmsg(sqe, send_slots_[i].fd, &send_slots_[i].header,
                          MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, i);
  }
  bool done[kBatch] = {};
  // Submissions are taken in order: those after `consumed` were not, and go by sendto. One that
  // was taken and never reported (batching is given up then) is counted as a send error
  // rather than sent twice.
  const size_t consumed = SubmitAndReap(count, [this, &done](size_t i, const io_uring_cqe& cqe) {
    done[i] = true;
    send_slots_[i].sender->OnBatchedSendResult(cqe.res);
  });
  stats_.submitted += consumed;
  for (size_t i = 0; i < count; ++i) {
    if (done[i]) continue;
    if (i < consumed) {
      send_slots_[i].sender->OnBatchedSendResult(-EIO);
    } else {
      SendDirect(send_slots_[i]);
    }
  }
  queued_ = 0;
}

void IoBatcher::SendDirect(const SendSlot& slot) {
  const ssize_t sent = ::sendto(slot.fd, slot.data.data(), slot.iov.iov_len,
                                MSG_DONTWAIT | MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&slot.to), slot.header.msg_namelen);
  slot.sender->OnBatchedSendResult(sent >= 0 ? static_cast<int>(sent) : -errno);
}

bool IoBatcher::ReadEach(const int* fds, size_t count, size_t max_datagram) {
  if (!ring_ready_) return false;
  count = std::min(count, kReadBatch);
  const size_t limit = std::min(max_datagram, kMaxDatagram);
  const size_t reads = count * kReadsPerSocket;
  for (size_t i = 0; i < reads; ++i) {
    ReceiveSlot& slot = receive_slots_[i];
    slot.iov.iov_len = limit;
    slot.header.msg_namelen = sizeof(slot.from);
    slot.header.msg_flags = 0;
    received_[i] = Received{-EAGAIN, slot.data.data(), &slot.from};
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    // MSG_TRUNC: a longer datagram reports its real length, so it is seen as truncated.
    io_uring_prep_recvmsg(sqe, fds[i / kReadsPerSocket], &slot.header, MSG_DONTWAIT | MSG_TRUNC);
    io_uring_sqe_set_data64(sqe, i);
  }
  ++stats_.read_batches;
  stats_.reads += reads;
  // A read that did not complete is reported as EAGAIN: the socket stays readable and the
  // poller comes back to it.
  SubmitAndReap(reads, [this](size_t i, const io_uring_cqe& cqe) { received_[i].result = cqe.res; });
  return true;
}

}  // namespace webrtc2sip::media
