#pragma once

// One event loop (epoll, one thread) driving a share of the connections:
// opens them, then runs the scenario on them until the duration or count is
// reached, or, in idle mode, holds them open until told to stop.

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "load_options.h"
#include "load_stats.h"
#include "ws_connection.h"

namespace webrtc2sip::bench {

int64_t NowNs();

// Shared by main and every worker.
struct RunControl {
  explicit RunControl(ptrdiff_t parties) : connected(parties, OnConnected{this}) {}
  struct OnConnected {
    RunControl* ctl;
    void operator()() noexcept { ctl->load_start_ns.store(NowNs()); }
  };
  std::atomic<bool> stop{false};
  std::atomic<int64_t> load_start_ns{0};
  std::barrier<OnConnected> connected;  // everyone has opened its connections
  uint32_t run_id = 0;
};

class LoadWorker final : public WsConnection::Listener {
 public:
  // `first_conn` is the global index of this worker's first connection.
  LoadWorker(const LoadOptions& options, RunControl& control, uint32_t id, uint32_t first_conn,
             uint32_t conn_count, uint64_t count);
  ~LoadWorker() override;
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;

  void Run();
  LoadStats& stats() { return stats_; }
  int64_t last_completion_ns() const { return last_completion_ns_; }

 private:
  enum class Phase : uint8_t { kFree, kRequest, kInvite, kAckHold, kBye, kDead };
  struct Slot {
    uint32_t conn = 0;    // local connection index
    uint32_t global = 0;  // global slot number, names the user
    uint32_t cseq = 0;
    uint32_t invite_cseq = 0;
    uint32_t call = 0;  // Call-ID generation (fixed for REGISTER)
    Phase phase = Phase::kFree;
    bool bad_answer = false;  // invite: the 200 was not a WebRTC answer (--check-webrtc-answer)
    int64_t sent_ns = 0;
    int64_t deadline_ns = 0;
    std::string to;      // dialog: To with the remote tag
    std::string target;  // dialog: remote target (Contact)
    std::vector<std::string> record_route;
  };

  void OnWsOpen(WsConnection& conn) override;
  void OnWsMessage(WsConnection& conn, std::string_view message) override;
  void OnWsClosed(WsConnection& conn, std::string_view why) override;

  void Poll(int64_t timeout_ns);
  void MarkDirty(uint32_t conn);
  void FlushDirty();
  void ConnectPhase();
  void LoadPhase();
  void Hold();
  void CloseAll(bool polite);

  bool StartTransaction(Slot& slot, int64_t now);
  void Complete(Slot& slot, int64_t now, bool ok, int status);
  void SendRequest(Slot& slot, const char* method, uint32_t cseq, const std::string& branch,
                   bool in_dialog, bool with_sdp);
  void SendAck(Slot& slot, bool for_2xx);
  void SendBye(Slot& slot, int64_t now);
  void CheckTimers(int64_t now);
  bool Recording(int64_t t) const { return t >= window_start_ns_ && t < window_end_ns_; }
  std::string Branch(const Slot& slot, uint32_t cseq, char kind) const;

  const LoadOptions& options_;
  RunControl& control_;
  uint32_t id_;
  uint32_t first_conn_;
  uint64_t budget_;  // transactions left to start in count mode
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<WsConnection>> conns_;
  std::vector<uint8_t> dirty_flag_;
  std::vector<uint8_t> opened_;
  std::vector<uint32_t> dirty_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // fixed rate: slots ready to send, FIFO
  size_t free_head_ = 0;
  uint32_t connecting_ = 0;
  uint32_t next_connect_ = 0;
  std::vector<int64_t> connect_deadline_ns_;
  bool stopping_ = false;
  int64_t window_start_ns_ = 0;
  int64_t window_end_ns_ = 0;
  int64_t last_completion_ns_ = 0;
  std::string text_;
  LoadStats stats_;
};

}  // namespace webrtc2sip::bench
