// MediaNodePool against real webrtc2sip-media-relay processes on 127.0.0.1:
// placement by load, drain, a node killed, a node started late, leases, and
// DNS discovery through a local dnsmasq. The test thread runs the loop.

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "services/signaling/media/media_node_pool.h"
#include "services/signaling/media/media_pool_metrics.h"
#include "webrtc2sip/media/v1/media_relay.grpc.pb.h"

namespace webrtc2sip::signaling {
namespace {

namespace v1 = media::v1;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kLeaseSeconds = 5;  // the smallest signaling.session_lease_seconds allowed

std::string RelayBinary() {
  if (const char* env = std::getenv("W2S_MEDIA_RELAY")) return env;
  return WEBRTC2SIP_MEDIA_RELAY_BIN;
}

uint16_t FreePort(int type) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string TempDir() {
  char dir[] = "/tmp/w2s-media-pool-XXXXXX";
  if (!mkdtemp(dir)) ADD_FAILURE() << "mkdtemp";
  return dir;
}

// The full path of a program, from PATH when it has no slash; empty if none.
std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  dirs += ":/usr/sbin:/sbin";
  size_t begin = 0;
  while (begin <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', begin), dirs.size());
    const std::string candidate = dirs.substr(begin, end - begin) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return {};
}

// A child process with its output in a log file, stopped by its PID; it dies
// with the test too (PR_SET_PDEATHSIG), even when the test is killed.
class Child {
 public:
  Child() = default;
  ~Child() { Kill(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void Spawn(const std::vector<std::string>& argv, const std::string& log) {
    const std::string program = FindProgram(argv[0]);
    ASSERT_FALSE(program.empty()) << argv[0] << " not found";
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(out, 0) << log;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
      execv(program.c_str(), args.data());
      _exit(127);
    }
    close(out);
    ASSERT_GT(pid_, 0) << "fork";
  }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// One media relay: its own gRPC and HTTP ports, capacity, and log.
class Relay {
 public:
  explicit Relay(uint32_t capacity = 10)
      : grpc_port_(FreePort(SOCK_STREAM)), capacity_(capacity), dir_(TempDir()) {}

  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  uint16_t port() const { return grpc_port_; }

  void Start() {
    const std::string config = dir_ + "/relay.yaml";
    std::ofstream(config) << "log: {level: info, format: kv}\n"
                          << "media_relay:\n"
                          << "  grpc_listen: " << address() << "\n"
                          << "  http_listen: 127.0.0.1:" << FreePort(SOCK_STREAM) << "\n"
                          << "  bind_address: 127.0.0.1\n"
                          << "  port_range: {min: 42000, max: 44999}\n"
                          << "  workers: 1\n"
                          << "  capacity: " << capacity_ << "\n";
    child_.Spawn({RelayBinary(), "--config", config}, dir_ + "/relay.log");
  }
  void Kill() { child_.Kill(SIGKILL); }

  void Drain() {
    auto stub =
        v1::MediaRelay::NewStub(grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::DrainResponse response;
    ASSERT_TRUE(stub->Drain(&context, v1::DrainRequest(), &response).ok());
  }

 private:
  const uint16_t grpc_port_;
  const uint32_t capacity_;
  const std::string dir_;
  Child child_;
};

// A GMainContext the test thread runs, with a short tick so waits wake up.
class Loop {
 public:
  Loop() : context_(g_main_context_new()), tick_(g_timeout_source_new(10)) {
    g_source_set_callback(
        tick_, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(tick_, context_);
  }
  ~Loop() {
    g_source_destroy(tick_);
    g_source_unref(tick_);
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_unref(context_);
  }
  GMainContext* context() const { return context_; }

  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      g_main_context_iteration(context_, TRUE);
    }
    return true;
  }
  void RunFor(std::chrono::milliseconds duration) {
    RunUntil([] { return false; }, duration);
  }

 private:
  GMainContext* context_;
  GSource* tick_;
};

struct Lost {
  std::string session_id;
  MediaSessionLoss reason;
  Clock::time_point at;
};

class RecordingListener : public MediaNodePool::Listener {
 public:
  void OnMediaSessionLost(const std::string& session_id, MediaSessionLoss reason,
                          const std::string&) override {
    lost.push_back({session_id, reason, Clock::now()});
  }
  std::vector<Lost> lost;
};

v1::CreateSessionRequest MakeRequest(const std::string& call_id) {
  v1::CreateSessionRequest request;
  request.set_call_id(call_id);
  auto* webrtc = request.mutable_webrtc_leg();
  webrtc->set_type(v1::LEG_TYPE_WEBRTC);
  auto* stream = webrtc->mutable_remote()->add_streams();
  stream->set_mid("0");
  stream->set_kind(v1::MEDIA_KIND_AUDIO);
  auto* opus = stream->add_codecs();
  opus->set_payload_type(111);
  opus->set_name("opus");
  opus->set_clock_rate(48000);
  opus->set_channels(2);
  auto* pcmu_in = stream->add_codecs();
  pcmu_in->set_payload_type(0);
  pcmu_in->set_name("PCMU");
  pcmu_in->set_clock_rate(8000);
  auto* transport = webrtc->mutable_remote()->mutable_webrtc();
  transport->set_ice_ufrag("abcd");
  transport->set_ice_pwd("0123456789012345678901");
  transport->set_rtcp_mux(true);
  transport->set_bundle(true);
  auto* fingerprint = transport->add_fingerprints();
  fingerprint->set_algorithm("sha-256");
  std::string value = "AB";
  for (int i = 1; i < 32; ++i) value += ":AB";
  fingerprint->set_value(value);
  auto* legacy = request.mutable_legacy_leg();
  legacy->set_type(v1::LEG_TYPE_LEGACY);
  legacy->set_srtp_mode(v1::SRTP_MODE_NONE);
  auto* offer = legacy->add_offer_streams();
  offer->set_kind(v1::MEDIA_KIND_AUDIO);
  auto* pcmu = offer->add_codecs();
  pcmu->set_payload_type(0);
  pcmu->set_name("PCMU");
  pcmu->set_clock_rate(8000);
  return request;
}

struct Created {
  grpc::Status status;
  v1::CreateSessionResponse response;
  MediaSessionRef ref;
  bool done = false;
};

class MediaPoolTest : public ::testing::Test {
 protected:
  void StartPool(const std::vector<std::string>& addresses) {
    config::v1::Signaling config;
    for (const auto& a : addresses) config.mutable_media_nodes()->add_addresses(a);
    config.set_session_lease_seconds(kLeaseSeconds);
    MediaNodePool::Options options = MediaNodePool::Options::FromConfig(config);
    options.node.reconnect_max = 1s;
    pool_ = MediaNodePool::Create(loop_.context(), options, &listener_);
  }

  const MediaNodePool::NodeInfo* Node(const std::string& address) {
    nodes_ = pool_->Nodes();
    for (const auto& n : nodes_) {
      if (n.address == address) return &n;
    }
    return nullptr;
  }
  bool Healthy(const std::string& address) {
    const auto* n = Node(address);
    return n && n->healthy;
  }
  void WaitHealthy(const std::vector<std::string>& addresses,
                   std::chrono::milliseconds timeout = 15s) {
    ASSERT_TRUE(loop_.RunUntil(
        [&] {
          for (const auto& a : addresses) {
            if (!Healthy(a)) return false;
          }
          return true;
        },
        timeout))
        << "media nodes did not become healthy";
  }

  // Starts a creation; the result lands in the returned slot.
  std::shared_ptr<Created> StartCreate(const std::string& call_id) {
    auto slot = std::make_shared<Created>();
    pool_->CreateSession(
        MakeRequest(call_id),
        [slot](grpc::Status status, v1::CreateSessionResponse response, MediaSessionRef ref) {
          slot->status = std::move(status);
          slot->response = std::move(response);
          slot->ref = std::move(ref);
          slot->done = true;
        });
    return slot;
  }
  std::shared_ptr<Created> Create(const std::string& call_id) {
    auto slot = StartCreate(call_id);
    EXPECT_TRUE(loop_.RunUntil([&] { return slot->done; }, 10s)) << "no answer to CreateSession";
    return slot;
  }
  // Creates `n` sessions one after the other; all must succeed.
  std::vector<MediaSessionRef> CreateMany(int n, const std::string& prefix) {
    std::vector<MediaSessionRef> refs;
    for (int i = 0; i < n; ++i) {
      auto created = Create(prefix + std::to_string(i));
      EXPECT_TRUE(created->status.ok()) << created->status.error_message();
      if (created->ref) refs.push_back(std::move(created->ref));
    }
    return refs;
  }
  static std::map<std::string, int> CountByNode(const std::vector<MediaSessionRef>& refs) {
    std::map<std::string, int> count;
    for (const auto& r : refs) count[r.node_address()] += 1;
    return count;
  }
  void DeleteAll(std::vector<MediaSessionRef>& refs) {
    int pending = 0;
    for (auto& r : refs) {
      ++pending;
      pool_->DeleteSession(std::move(r), "test",
                           [&pending](grpc::Status, v1::DeleteSessionResponse) { --pending; });
    }
    refs.clear();
    EXPECT_TRUE(loop_.RunUntil([&] { return pending == 0; }, 10s));
  }

  // Declared first: destroyed last, after the pool.
  Loop loop_;
  RecordingListener listener_;
  std::shared_ptr<MediaNodePool> pool_;
  std::vector<MediaNodePool::NodeInfo> nodes_;
};

TEST_F(MediaPoolTest, SpreadsSessionsByLoad) {
  Relay a, b;
  a.Start();
  b.Start();
  StartPool({a.address(), b.address()});
  WaitHealthy({a.address(), b.address()});
  EXPECT_EQ(MediaPoolMetrics::Get().healthy.Value(), 2);
  const double choices_a = MediaPoolMetrics::Get().choices.WithLabels({a.address()}).Value();

  // One after the other: each node's reported load steers the next choice.
  auto refs = CreateMany(6, "seq-");
  ASSERT_EQ(refs.size(), 6u);
  auto count = CountByNode(refs);
  EXPECT_NEAR(count[a.address()], 3, 1);
  EXPECT_NEAR(count[b.address()], 3, 1);
  EXPECT_EQ(MediaPoolMetrics::Get().choices.WithLabels({a.address()}).Value() - choices_a,
            count[a.address()]);
  for (const auto& r : refs) EXPECT_FALSE(r.node_id().empty());
  ASSERT_TRUE(loop_.RunUntil(
      [&] {
        const auto* na = Node(a.address());
        return na && na->sessions == static_cast<uint32_t>(count[a.address()]);
      },
      5s))
      << "node A does not report its sessions";
  EXPECT_EQ(pool_->tracked_sessions(), 6u);
  DeleteAll(refs);
  EXPECT_EQ(pool_->tracked_sessions(), 0u);

  // All at once: sessions in flight count toward a node's load.
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return Node(a.address())->sessions == 0 && Node(b.address())->sessions == 0; }, 5s));
  std::vector<std::shared_ptr<Created>> slots;
  for (int i = 0; i < 6; ++i) slots.push_back(StartCreate("burst-" + std::to_string(i)));
  ASSERT_TRUE(loop_.RunUntil(
      [&] {
        for (const auto& s : slots) {
          if (!s->done) return false;
        }
        return true;
      },
      10s));
  for (auto& s : slots) {
    ASSERT_TRUE(s->status.ok()) << s->status.error_message();
    refs.push_back(std::move(s->ref));
  }
  count = CountByNode(refs);
  EXPECT_NEAR(count[a.address()], 3, 1);
  EXPECT_NEAR(count[b.address()], 3, 1);
  DeleteAll(refs);
  EXPECT_TRUE(listener_.lost.empty());
}

TEST_F(MediaPoolTest, DrainingNodeGetsNoNewSessions) {
  Relay a, b;
  a.Start();
  b.Start();
  StartPool({a.address(), b.address()});
  WaitHealthy({a.address(), b.address()});

  a.Drain();
  ASSERT_TRUE(loop_.RunUntil([&] { return Node(a.address())->draining; }, 5s));
  EXPECT_EQ(MediaPoolMetrics::Get().draining.Value(), 1);
  EXPECT_EQ(MediaPoolMetrics::Get().healthy.Value(), 1);

  auto refs = CreateMany(4, "drain-");
  EXPECT_EQ(CountByNode(refs)[b.address()], 4);

  // Both draining: a clear error, not a hang.
  b.Drain();
  ASSERT_TRUE(loop_.RunUntil([&] { return Node(b.address())->draining; }, 5s));
  auto refused = Create("refused");
  EXPECT_EQ(refused->status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused->status.error_message().find("2 draining"), std::string::npos)
      << refused->status.error_message();
  EXPECT_FALSE(refused->ref);
  DeleteAll(refs);
}

TEST_F(MediaPoolTest, KilledNodeLosesItsSessionsWithinTheLease) {
  Relay a, b;
  a.Start();
  b.Start();
  StartPool({a.address(), b.address()});
  WaitHealthy({a.address(), b.address()});
  auto refs = CreateMany(4, "kill-");
  auto count = CountByNode(refs);
  ASSERT_GE(count[a.address()], 1);
  std::set<std::string> on_a;
  for (const auto& r : refs) {
    if (r.node_address() == a.address()) on_a.insert(r.session_id());
  }

  a.Kill();
  const auto killed = Clock::now();
  ASSERT_TRUE(loop_.RunUntil([&] { return listener_.lost.size() >= on_a.size(); },
                             std::chrono::seconds(kLeaseSeconds + 5)))
      << "sessions of the killed node were not reported lost";
  for (const auto& lost : listener_.lost) {
    EXPECT_TRUE(on_a.count(lost.session_id)) << lost.session_id << " was not on the killed node";
    EXPECT_EQ(lost.reason, MediaSessionLoss::kNodeFailed);
    EXPECT_LE(lost.at - killed, std::chrono::seconds(kLeaseSeconds + 3));
  }
  EXPECT_FALSE(Healthy(a.address()));
  EXPECT_EQ(MediaPoolMetrics::Get().down.Value(), 1);
  EXPECT_EQ(pool_->tracked_sessions(), refs.size() - on_a.size());

  auto more = CreateMany(3, "after-kill-");
  EXPECT_EQ(CountByNode(more)[b.address()], 3);
  loop_.RunFor(1s);
  EXPECT_EQ(listener_.lost.size(), on_a.size());  // the survivor's sessions live on
  DeleteAll(more);
  DeleteAll(refs);
}

TEST_F(MediaPoolTest, NodeStartedLaterIsPickedUp) {
  Relay a, b;
  b.Start();  // a's port is in the list, but nobody listens there yet
  StartPool({a.address(), b.address()});
  WaitHealthy({b.address()});
  EXPECT_FALSE(Healthy(a.address()));
  auto refs = CreateMany(2, "before-");
  EXPECT_EQ(CountByNode(refs)[b.address()], 2);

  a.Start();
  WaitHealthy({a.address()});
  auto more = CreateMany(2, "after-");
  EXPECT_EQ(CountByNode(more)[a.address()], 2);  // b has 2, a none: a takes the next two
  DeleteAll(more);
  DeleteAll(refs);
}

TEST_F(MediaPoolTest, LeasesAreRenewedWhileThePoolLives) {
  Relay a;
  a.Start();
  StartPool({a.address()});
  WaitHealthy({a.address()});
  auto refs = CreateMany(2, "lease-");
  ASSERT_EQ(refs.size(), 2u);

  loop_.RunFor(std::chrono::seconds(3 * kLeaseSeconds + 1));
  EXPECT_TRUE(listener_.lost.empty());
  EXPECT_EQ(Node(a.address())->sessions, 2u);

  // Without the pool nobody renews them: the relay ends both by lease expiry.
  auto stub =
      v1::MediaRelay::NewStub(grpc::CreateChannel(a.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext watch;
  watch.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kLeaseSeconds + 5));
  auto reader = stub->Watch(&watch, v1::WatchRequest());
  v1::NodeEvent event;
  ASSERT_TRUE(reader->Read(&event));  // the first NodeLoad: the stream is open
  pool_.reset();
  refs.clear();  // the pool is gone: dropping them deletes nothing
  const auto destroyed = Clock::now();
  std::set<std::string> expired;
  while (expired.size() < 2 && reader->Read(&event)) {
    if (event.has_session() && event.session().type() == v1::SESSION_EVENT_ENDED) {
      EXPECT_EQ(event.session().reason(), "lease_expired");
      expired.insert(event.session().session_id());
    }
  }
  EXPECT_EQ(expired.size(), 2u);
  EXPECT_GE(Clock::now() - destroyed, 2s);  // renewed at most lease/3 before
  watch.TryCancel();
  reader->Finish();
}

TEST_F(MediaPoolTest, DroppedRefDeletesItsSession) {
  Relay a;
  a.Start();
  StartPool({a.address()});
  WaitHealthy({a.address()});
  {
    auto refs = CreateMany(1, "dropped-");
    ASSERT_TRUE(loop_.RunUntil([&] { return Node(a.address())->sessions == 1; }, 5s));
  }
  EXPECT_EQ(pool_->tracked_sessions(), 0u);
  EXPECT_TRUE(loop_.RunUntil([&] { return Node(a.address())->sessions == 0; }, 5s));
  EXPECT_TRUE(listener_.lost.empty());
}

TEST_F(MediaPoolTest, SessionEndedByTheNodeIsReported) {
  Relay a;
  a.Start();
  StartPool({a.address()});
  WaitHealthy({a.address()});
  auto refs = CreateMany(2, "ended-");
  ASSERT_EQ(refs.size(), 2u);

  // Someone else ends it on the node: the Watch stream tells the pool.
  auto stub =
      v1::MediaRelay::NewStub(grpc::CreateChannel(a.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::DeleteSessionRequest request;
  request.set_session_id(refs[0].session_id());
  request.set_reason("operator");
  v1::DeleteSessionResponse response;
  ASSERT_TRUE(stub->DeleteSession(&context, request, &response).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return !listener_.lost.empty(); }, 5s));
  ASSERT_EQ(listener_.lost.size(), 1u);
  EXPECT_EQ(listener_.lost[0].session_id, refs[0].session_id());
  EXPECT_EQ(listener_.lost[0].reason, MediaSessionLoss::kEnded);
  EXPECT_EQ(pool_->tracked_sessions(), 1u);
  DeleteAll(refs);  // the lost one too: harmless
  EXPECT_EQ(listener_.lost.size(), 1u);
}

TEST_F(MediaPoolTest, RestartedNodeForgetsItsSessions) {
  Relay a;
  a.Start();
  StartPool({a.address()});
  WaitHealthy({a.address()});
  auto refs = CreateMany(2, "restart-");
  ASSERT_EQ(refs.size(), 2u);

  a.Kill();
  a.Start();  // same port, no sessions: KeepAlive reports them unknown
  const auto restarted = Clock::now();
  ASSERT_TRUE(loop_.RunUntil([&] { return listener_.lost.size() == 2; },
                             std::chrono::seconds(kLeaseSeconds)));
  for (const auto& lost : listener_.lost) {
    EXPECT_EQ(lost.reason, MediaSessionLoss::kUnknown);
    EXPECT_LE(lost.at - restarted, std::chrono::seconds(kLeaseSeconds) / 3 + 2s);
  }
  EXPECT_EQ(pool_->tracked_sessions(), 0u);
  WaitHealthy({a.address()});
  auto more = CreateMany(1, "after-restart-");
  EXPECT_EQ(more.size(), 1u);
  DeleteAll(more);
}

// The name is re-resolved: a record that appears adds the node, one that goes
// away stops new sessions there and drops the node once its sessions end.
TEST_F(MediaPoolTest, DnsNameIsResolvedAgain) {
  if (FindProgram("dnsmasq").empty()) GTEST_SKIP() << "no dnsmasq (Debian dnsmasq-base)";
  Relay a;
  a.Start();
  const std::string dir = TempDir();
  const std::string hosts = dir + "/hosts";
  std::ofstream(hosts) << "";
  const uint16_t dns_port = FreePort(SOCK_DGRAM);
  Child dnsmasq;
  dnsmasq.Spawn(
      {"dnsmasq", "--no-daemon", "--port=" + std::to_string(dns_port), "--listen-address=127.0.0.1",
       "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--local=/test/",
       "--addn-hosts=" + hosts, "--pid-file=" + dir + "/dnsmasq.pid", "--user=root"},
      dir + "/dnsmasq.log");
  std::this_thread::sleep_for(300ms);

  config::v1::Signaling config;
  config.mutable_media_nodes()->set_dns_name("relays.test:" + std::to_string(a.port()));
  config.mutable_media_nodes()->set_dns_refresh_seconds(1);
  config.add_nameservers("127.0.0.1:" + std::to_string(dns_port));
  config.set_session_lease_seconds(kLeaseSeconds);
  pool_ = MediaNodePool::Create(loop_.context(), MediaNodePool::Options::FromConfig(config),
                                &listener_);
  loop_.RunFor(1500ms);
  EXPECT_TRUE(pool_->Nodes().empty());
  EXPECT_EQ(Create("no-record")->status.error_code(), grpc::StatusCode::UNAVAILABLE);

  std::ofstream(hosts) << "127.0.0.1 relays.test\n";
  dnsmasq.Signal(SIGHUP);  // re-reads the hosts file
  WaitHealthy({a.address()}, 10s);
  auto refs = CreateMany(1, "dns-");
  ASSERT_EQ(refs.size(), 1u);

  std::ofstream(hosts) << "";
  dnsmasq.Signal(SIGHUP);
  ASSERT_TRUE(loop_.RunUntil([&] { return !Node(a.address())->listed; }, 10s));
  EXPECT_EQ(Create("unlisted")->status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(pool_->tracked_sessions(), 1u);  // kept until it ends
  loop_.RunFor(std::chrono::seconds(kLeaseSeconds));
  EXPECT_TRUE(listener_.lost.empty());  // still renewed
  DeleteAll(refs);
  EXPECT_TRUE(pool_->Nodes().empty());
}

// SRV records give each node its own port: two nodes on 127.0.0.1, found
// through one SRV name; one leaves the records (dnsmasq reloads --srv-host only
// on a restart) and is dropped, the other stays.
TEST_F(MediaPoolTest, DnsSrvRecordsGiveEachNodeItsPort) {
  if (FindProgram("dnsmasq").empty()) GTEST_SKIP() << "no dnsmasq (Debian dnsmasq-base)";
  Relay a, b;
  a.Start();
  b.Start();
  const std::string dir = TempDir();
  const uint16_t dns_port = FreePort(SOCK_DGRAM);
  auto dnsmasq = std::make_unique<Child>();
  auto serve = [&](const std::vector<const Relay*>& relays) {
    std::vector<std::string> argv = {"dnsmasq",
                                     "--no-daemon",
                                     "--port=" + std::to_string(dns_port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--conf-file=/dev/null",
                                     "--local=/test/",
                                     "--pid-file=" + dir + "/dnsmasq.pid",
                                     "--user=root",
                                     "--host-record=relay.test,127.0.0.1"};
    for (const Relay* r : relays) {
      argv.push_back("--srv-host=_grpc._tcp.relays.test,relay.test," + std::to_string(r->port()));
    }
    dnsmasq = std::make_unique<Child>();  // the old one is killed and reaped first
    dnsmasq->Spawn(argv, dir + "/dnsmasq.log");
  };
  serve({&a, &b});
  std::this_thread::sleep_for(300ms);

  config::v1::Signaling config;
  config.mutable_media_nodes()->set_dns_srv("_grpc._tcp.relays.test");
  config.mutable_media_nodes()->set_dns_refresh_seconds(1);
  config.add_nameservers("127.0.0.1:" + std::to_string(dns_port));
  config.set_session_lease_seconds(kLeaseSeconds);
  pool_ = MediaNodePool::Create(loop_.context(), MediaNodePool::Options::FromConfig(config),
                                &listener_);
  WaitHealthy({a.address(), b.address()}, 10s);
  EXPECT_EQ(pool_->Nodes().size(), 2u);
  EXPECT_EQ(MediaPoolMetrics::Get().listed.Value(), 2);
  auto refs = CreateMany(2, "srv-");
  auto count = CountByNode(refs);
  EXPECT_EQ(count[a.address()], 1);
  EXPECT_EQ(count[b.address()], 1);

  serve({&a});
  ASSERT_TRUE(loop_.RunUntil([&] { return !Node(b.address())->listed; }, 10s));
  EXPECT_EQ(MediaPoolMetrics::Get().listed.Value(), 1);
  auto more = CreateMany(2, "srv-after-");
  EXPECT_EQ(CountByNode(more)[a.address()], 2);
  DeleteAll(refs);  // b's last session ends: b is dropped
  EXPECT_EQ(Node(b.address()), nullptr);
  EXPECT_TRUE(Healthy(a.address()));
  DeleteAll(more);
  EXPECT_TRUE(listener_.lost.empty());
}

}  // namespace
}  // namespace webrtc2sip::signaling
