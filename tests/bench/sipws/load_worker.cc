#include "load_worker.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <limits>

#include "sip_text.h"

namespace webrtc2sip::bench {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kConnectTimeoutNs = 10000 * kMs;
constexpr int kMaxEvents = 1024;

constexpr std::string_view kSdp =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";

void AppendNumber(std::string& s, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

// "W.S.C.RUN@bench" -> worker, slot, call generation.
bool ParseCallId(std::string_view id, uint32_t& worker, uint32_t& slot, uint32_t& call) {
  uint32_t parts[3];
  const char* p = id.data();
  const char* end = id.data() + id.size();
  for (uint32_t& part : parts) {
    const auto r = std::from_chars(p, end, part);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return false;
    p = r.ptr + 1;
  }
  worker = parts[0], slot = parts[1], call = parts[2];
  return true;
}

}  // namespace

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

LoadWorker::LoadWorker(const LoadOptions& options, RunControl& control, uint32_t id,
                       uint32_t first_conn, uint32_t conn_count, uint64_t count)
    : options_(options), control_(control), id_(id), first_conn_(first_conn), budget_(count) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  conns_.reserve(conn_count);
  for (uint32_t i = 0; i < conn_count; ++i) {
    conns_.push_back(std::make_unique<WsConnection>(
        epoll_fd_, *this, i,
        (uint64_t{control.run_id} << 32) ^ ((first_conn + i) * 0x9E3779B97F4A7C15ULL),
        options.udp));
  }
  dirty_flag_.assign(conn_count, 0);
  opened_.assign(conn_count, 0);
  connect_deadline_ns_.assign(conn_count, 0);
  text_.reserve(4096);
}

LoadWorker::~LoadWorker() {
  conns_.clear();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void LoadWorker::Run() {
  ConnectPhase();
  control_.connected.arrive_and_wait();
  if (options_.scenario == Scenario::kIdle) {
    Hold();
    CloseAll(false);
  } else {
    LoadPhase();
    CloseAll(true);
  }
}

// ------------------------------------------------------------------ loop

void LoadWorker::Poll(int64_t timeout_ns) {
  epoll_event events[kMaxEvents];
  timespec ts{static_cast<time_t>(timeout_ns / 1000000000),
              static_cast<long>(timeout_ns % 1000000000)};
  const int n =
      epoll_pwait2(epoll_fd_, events, kMaxEvents, timeout_ns < 0 ? nullptr : &ts, nullptr);
  for (int i = 0; i < n; ++i) {
    WsConnection& conn = *conns_[events[i].data.u64];
    const uint32_t ev = events[i].events;
    if (ev & EPOLLOUT) conn.OnWritable();
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn.OnReadable();
  }
  FlushDirty();
}

void LoadWorker::MarkDirty(uint32_t conn) {
  if (!dirty_flag_[conn]) {
    dirty_flag_[conn] = 1;
    dirty_.push_back(conn);
  }
}

void LoadWorker::FlushDirty() {
  for (uint32_t c : dirty_) {
    dirty_flag_[c] = 0;
    conns_[c]->Flush();
  }
  dirty_.clear();
}

void LoadWorker::ConnectPhase() {
  sockaddr_in source{};
  source.sin_family = AF_INET;
  const uint32_t total = static_cast<uint32_t>(conns_.size());
  while (stats_.opened + stats_.connect_failed < total && !control_.stop.load()) {
    const int64_t now = NowNs();
    while (next_connect_ < total && connecting_ < options_.connect_concurrency) {
      const uint32_t i = next_connect_++;
      ++connecting_;
      connect_deadline_ns_[i] = now + kConnectTimeoutNs;
      const sockaddr_in* src = nullptr;
      if (options_.source_ips > 1) {
        source.sin_addr.s_addr = htonl(0x7F000001 + (first_conn_ + i) % options_.source_ips);
        src = &source;
      }
      if (!conns_[i]->Connect(options_.address, src, options_.host, options_.path)) {
        OnWsClosed(*conns_[i], "socket() failed (open file limit?)");
      }
    }
    for (uint32_t i = 0; i < next_connect_; ++i) {
      const auto state = conns_[i]->state();
      if ((state == WsConnection::State::kConnecting || state == WsConnection::State::kHandshake) &&
          now > connect_deadline_ns_[i]) {
        conns_[i]->Close(false);  // reaches OnWsClosed, which counts it
      }
    }
    Poll(20 * kMs);
  }
}

void LoadWorker::Hold() {
  while (!control_.stop.load()) Poll(100 * kMs);
}

void LoadWorker::CloseAll(bool polite) {
  stopping_ = true;
  for (auto& c : conns_) c->Close(polite);
}

void LoadWorker::LoadPhase() {
  if (stats_.opened == 0) return;  // nothing to load
  const uint32_t k = options_.inflight;
  for (uint32_t c = 0; c < conns_.size(); ++c) {
    for (uint32_t j = 0; j < k; ++j) {
      Slot s;
      s.conn = c;
      s.global = (first_conn_ + c) * k + j;
      s.phase = conns_[c]->state() == WsConnection::State::kOpen ? Phase::kFree : Phase::kDead;
      slots_.push_back(std::move(s));
    }
  }
  // Interleave connections so a fixed rate spreads over all of them.
  for (uint32_t j = 0; j < k; ++j) {
    for (uint32_t c = 0; c < conns_.size(); ++c) {
      Slot& s = slots_[c * k + j];
      if (s.phase == Phase::kFree) {
        free_.push_back(c * k + j);
      }
    }
  }
  const int64_t start = control_.load_start_ns.load();
  const bool counted = options_.count > 0;
  window_start_ns_ = counted ? start : start + static_cast<int64_t>(options_.warmup_s * 1e9);
  window_end_ns_ = counted ? std::numeric_limits<int64_t>::max()
                           : window_start_ns_ + static_cast<int64_t>(options_.duration_s * 1e9);
  const double threads_rate = options_.rate / options_.threads;
  const int64_t interval_ns = threads_rate > 0 ? static_cast<int64_t>(1e9 / threads_rate) : 0;
  // Stagger the loops' schedules so their sends interleave.
  int64_t next_send = start + (interval_ns * id_) / options_.threads;
  int64_t next_timer_check = start;
  int64_t drain_deadline = std::numeric_limits<int64_t>::max();

  while (true) {
    int64_t now = NowNs();
    if (!stopping_ && (control_.stop.load() || (!counted && now >= window_end_ns_) ||
                       (counted && budget_ == 0))) {
      stopping_ = true;
      drain_deadline = now + options_.timeout_ms * kMs + 100 * kMs;
    }
    if (!stopping_) {
      if (interval_ns == 0) {
        // Max throughput: every free slot sends at once (again after each answer).
        while (free_head_ < free_.size() && budget_ > 0) {
          Slot& s = slots_[free_[free_head_++]];
          StartTransaction(s, now);
        }
      } else {
        while (next_send <= now && free_head_ < free_.size() && budget_ > 0) {
          Slot& s = slots_[free_[free_head_++]];
          const int64_t lag = now - next_send;
          if (Recording(now) && lag > kMs) ++stats_.late_sends;
          if (Recording(now)) stats_.max_lag_ns = std::max(stats_.max_lag_ns, lag);
          StartTransaction(s, now);
          next_send += interval_ns;
        }
      }
      if (free_head_ > 4096 && free_head_ * 2 > free_.size()) {
        free_.erase(free_.begin(), free_.begin() + static_cast<ptrdiff_t>(free_head_));
        free_head_ = 0;
      }
    }
    if (now >= next_timer_check) {
      CheckTimers(now);
      next_timer_check = now + 10 * kMs;
    }
    FlushDirty();
    if (stopping_) {
      bool busy = false;
      for (const Slot& s : slots_) busy |= s.phase != Phase::kFree && s.phase != Phase::kDead;
      if (!busy || now >= drain_deadline) break;
    }
    int64_t wait = next_timer_check - now;
    if (!stopping_ && interval_ns > 0 && free_head_ < free_.size()) {
      wait = std::min(wait, next_send - now);
    }
    if (!stopping_ && !counted) wait = std::min(wait, window_end_ns_ - now);
    Poll(std::max<int64_t>(wait, 0));
  }
}

// ------------------------------------------------------------ transactions

std::string LoadWorker::Branch(const Slot& slot, uint32_t cseq, char kind) const {
  std::string b = "z9hG4bK";
  AppendNumber(b, control_.run_id);
  b += kind;
  AppendNumber(b, id_);
  b += '.';
  AppendNumber(b, static_cast<uint64_t>(&slot - slots_.data()));
  b += '.';
  AppendNumber(b, cseq);
  return b;
}

void LoadWorker::SendRequest(Slot& slot, const char* method, uint32_t cseq,
                             const std::string& branch, bool in_dialog, bool with_sdp) {
  const uint32_t index = static_cast<uint32_t>(&slot - slots_.data());
  const std::string& user = options_.user_prefix;
  std::string& t = text_;
  t.clear();
  t += method;
  t += ' ';
  t += in_dialog ? slot.target : options_.ruri;
  t += options_.udp ? " SIP/2.0\r\nVia: SIP/2.0/UDP w" : " SIP/2.0\r\nVia: SIP/2.0/WS w";
  AppendNumber(t, id_);
  t += 'c';
  AppendNumber(t, slot.conn);
  t += ".invalid;branch=";
  t += branch;
  t += "\r\nMax-Forwards: 70\r\n";
  if (in_dialog) AppendRouteSet(t, slot.record_route);
  t += "From: <sip:";
  t += user;
  AppendNumber(t, slot.global);
  t += '@';
  t += options_.domain;
  t += ">;tag=f";
  AppendNumber(t, slot.call);
  t += "\r\nTo: ";
  if (in_dialog || !slot.to.empty()) {
    t += slot.to;
  } else if (options_.scenario == Scenario::kRegister) {
    t += "<sip:";
    t += user;
    AppendNumber(t, slot.global);
    t += '@';
    t += options_.domain;
    t += '>';
  } else {
    t += '<';
    t += options_.ruri;
    t += '>';
  }
  t += "\r\nCall-ID: ";
  AppendNumber(t, id_);
  t += '.';
  AppendNumber(t, index);
  t += '.';
  AppendNumber(t, slot.call);
  t += '.';
  AppendNumber(t, control_.run_id);
  t += "@bench\r\nCSeq: ";
  AppendNumber(t, cseq);
  t += ' ';
  t += method;
  t += "\r\n";
  if (options_.scenario != Scenario::kOptions) {
    t += "Contact: <sip:";
    t += user;
    AppendNumber(t, slot.global);
    t += "@w";
    AppendNumber(t, id_);
    t += 'c';
    AppendNumber(t, slot.conn);
    t += ".invalid;transport=ws";
    t += options_.contact_params;
    t += ">\r\n";
  }
  if (options_.scenario == Scenario::kRegister) t += "Expires: 600\r\n";
  if (with_sdp) {
    const std::string_view sdp = options_.invite_sdp.empty() ? kSdp : options_.invite_sdp;
    t += "Content-Type: application/sdp\r\nContent-Length: ";
    AppendNumber(t, sdp.size());
    t += "\r\n\r\n";
    t += sdp;
  } else {
    t += "Content-Length: 0\r\n\r\n";
  }
  conns_[slot.conn]->SendText(t);
  MarkDirty(slot.conn);
}

bool LoadWorker::StartTransaction(Slot& slot, int64_t now) {
  if (slot.phase != Phase::kFree) return false;
  if (budget_ != std::numeric_limits<uint64_t>::max() && budget_ > 0) --budget_;
  if (Recording(now)) ++stats_.started;
  slot.sent_ns = now;
  slot.deadline_ns = now + options_.timeout_ms * kMs;
  ++slot.cseq;
  slot.to.clear();
  slot.record_route.clear();
  slot.bad_answer = false;
  switch (options_.scenario) {
    case Scenario::kRegister:
      slot.phase = Phase::kRequest;
      SendRequest(slot, "REGISTER", slot.cseq, Branch(slot, slot.cseq, 'r'), false, false);
      break;
    case Scenario::kOptions:
      ++slot.call;
      slot.phase = Phase::kRequest;
      SendRequest(slot, "OPTIONS", slot.cseq, Branch(slot, slot.cseq, 'o'), false, false);
      break;
    case Scenario::kInvite:
      ++slot.call;
      slot.invite_cseq = slot.cseq;
      slot.phase = Phase::kInvite;
      SendRequest(slot, "INVITE", slot.cseq, Branch(slot, slot.cseq, 'i'), false, true);
      break;
    case Scenario::kIdle:
      break;
  }
  return true;
}

void LoadWorker::Complete(Slot& slot, int64_t now, bool ok, int status) {
  if (Recording(now)) {
    if (ok && slot.bad_answer) {
      ++stats_.bad_answers;
    } else if (ok) {
      ++stats_.ok;
    } else if (status == 0) {
      ++stats_.timeouts;
    } else {
      ++stats_.non2xx;
      ++stats_.codes[status];
    }
  }
  last_completion_ns_ = now;
  slot.phase = Phase::kFree;
  if (stopping_) return;
  if (options_.rate > 0) {
    free_.push_back(static_cast<uint32_t>(&slot - slots_.data()));
  } else if (budget_ > 0) {
    StartTransaction(slot, now);
  }
}

void LoadWorker::SendAck(Slot& slot, bool for_2xx) {
  // The ACK of a non-2xx answer reuses the INVITE's branch and Request-URI;
  // the ACK of a 2xx is a new request within the dialog.
  const std::string branch = Branch(slot, slot.invite_cseq, for_2xx ? 'a' : 'i');
  SendRequest(slot, "ACK", slot.invite_cseq, branch, for_2xx, false);
}

void LoadWorker::SendBye(Slot& slot, int64_t now) {
  slot.phase = Phase::kBye;
  ++slot.cseq;
  slot.sent_ns = now;
  slot.deadline_ns = now + options_.timeout_ms * kMs;
  SendRequest(slot, "BYE", slot.cseq, Branch(slot, slot.cseq, 'b'), true, false);
}

void LoadWorker::CheckTimers(int64_t now) {
  for (Slot& s : slots_) {
    if (s.phase == Phase::kFree || s.phase == Phase::kDead) continue;
    if (s.phase == Phase::kAckHold) {
      if (now >= s.deadline_ns) SendBye(s, now);
      continue;
    }
    if (now >= s.deadline_ns) Complete(s, now, false, 0);
  }
}

// --------------------------------------------------------------- callbacks

void LoadWorker::OnWsOpen(WsConnection& conn) {
  ++stats_.opened;
  --connecting_;
  opened_[conn.index()] = 1;
}

void LoadWorker::OnWsClosed(WsConnection& conn, std::string_view why) {
  if (stopping_) return;
  const uint32_t c = conn.index();
  if (!opened_[c]) {
    ++stats_.connect_failed;
    --connecting_;
  } else {
    ++stats_.lost;
    const int64_t now = NowNs();
    for (uint32_t j = 0; j < options_.inflight && !slots_.empty(); ++j) {
      Slot& s = slots_[c * options_.inflight + j];
      if (s.phase != Phase::kFree && s.phase != Phase::kDead && Recording(now)) ++stats_.closed;
      s.phase = Phase::kDead;
    }
  }
  if (stats_.first_error.empty()) stats_.first_error = std::string(why);
}

void LoadWorker::OnWsMessage(WsConnection& conn, std::string_view message) {
  SipResponse r;
  if (!ParseResponse(message, r)) return;  // a request or a keep-alive: not expected here
  if (r.status >= 300 && stats_.first_failure.empty()) stats_.first_failure.assign(message);
  uint32_t worker, index, call;
  if (!ParseCallId(r.call_id, worker, index, call) || worker != id_ || index >= slots_.size()) {
    return;
  }
  Slot& s = slots_[index];
  if (s.conn != conn.index() || call != s.call) return;
  const int64_t now = NowNs();
  switch (s.phase) {
    case Phase::kRequest:
      if (r.cseq != s.cseq || r.status < 200) return;
      if (Recording(now))
        stats_.latency_us.push_back(static_cast<uint32_t>((now - s.sent_ns) / 1000));
      Complete(s, now, r.status < 300, r.status);
      return;
    case Phase::kInvite:
      if (r.cseq != s.invite_cseq || r.cseq_method != "INVITE" || r.status < 200) return;
      if (Recording(now))
        stats_.latency_us.push_back(static_cast<uint32_t>((now - s.sent_ns) / 1000));
      if (r.status >= 300) {
        s.to.assign(r.to);
        SendAck(s, false);
        Complete(s, now, false, r.status);
        return;
      }
      if (options_.check_webrtc_answer &&
          (r.body.find("\r\na=fingerprint:") == std::string_view::npos ||
           r.body.find("\r\na=ice-ufrag:") == std::string_view::npos)) {
        s.bad_answer = true;
        if (stats_.first_failure.empty()) stats_.first_failure.assign(message);
      }
      s.to.assign(r.to);
      s.target.assign(r.contact);
      s.record_route.assign(r.record_route.begin(), r.record_route.end());
      SendAck(s, true);
      if (options_.call_hold_ms > 0) {
        s.phase = Phase::kAckHold;
        s.deadline_ns = now + options_.call_hold_ms * kMs;
      } else {
        SendBye(s, now);
      }
      return;
    case Phase::kAckHold:
    case Phase::kBye:
      if (r.cseq_method == "INVITE" && r.status >= 200 && r.status < 300) {
        SendAck(s, true);  // a retransmitted 200: our ACK was late or lost
        return;
      }
      if (s.phase != Phase::kBye || r.cseq != s.cseq || r.cseq_method != "BYE" || r.status < 200) {
        return;
      }
      if (Recording(now)) stats_.bye_us.push_back(static_cast<uint32_t>((now - s.sent_ns) / 1000));
      Complete(s, now, r.status < 300, r.status);
      return;
    case Phase::kFree:
    case Phase::kDead:
      return;
  }
}

}  // namespace webrtc2sip::bench
