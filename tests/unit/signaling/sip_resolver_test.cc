#include "services/signaling/sip/sip_resolver.h"

#include <arpa/inet.h>
#include <glib.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/url.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace webrtc2sip::signaling {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Targets = std::vector<SipTarget>;

// The fake zone served by dnsmasq on 127.0.0.1. Every address is 127.0.0.1:
// targets differ by port and transport.
const std::vector<std::string> kZone = {
    "--host-record=a.example.test,127.0.0.1",
    // A record, SRV and NAPTR on one name: an explicit port must use the A only.
    "--host-record=both.example.test,127.0.0.1",
    "--srv-host=_sip._udp.both.example.test,a.example.test,5070,10,0",
    "--naptr-record=both.example.test,10,10,s,SIP+D2U,,_sip._udp.both.example.test",
    // No NAPTR; SRV for udp (two priorities) and tcp.
    "--srv-host=_sip._udp.prio.example.test,a.example.test,5072,20,0",
    "--srv-host=_sip._udp.prio.example.test,a.example.test,5071,10,0",
    "--srv-host=_sip._tcp.prio.example.test,a.example.test,5073,5,0",
    // One priority, weights 90 and 10.
    "--srv-host=_sip._udp.weight.example.test,a.example.test,5081,10,90",
    "--srv-host=_sip._udp.weight.example.test,a.example.test,5082,10,10",
    // NAPTR: udp listed first but with a higher order than tcp; tls last.
    "--naptr-record=naptr.example.test,20,10,s,SIP+D2U,,_sip._udp.naptr.example.test",
    "--naptr-record=naptr.example.test,10,10,s,SIP+D2T,,_sip._tcp.naptr.example.test",
    "--naptr-record=naptr.example.test,30,10,s,SIPS+D2T,,_sips._tcp.naptr.example.test",
    "--naptr-record=naptr.example.test,5,10,s,E2U+sip,,ignored.example.test",
    "--srv-host=_sip._udp.naptr.example.test,a.example.test,5091,10,0",
    "--srv-host=_sip._tcp.naptr.example.test,a.example.test,5090,10,0",
    "--srv-host=_sips._tcp.naptr.example.test,a.example.test,5092,10,0",
    // NAPTR to tcp whose SRV name has no record: A of the domain, tcp, 5060.
    "--host-record=lonely.example.test,127.0.0.1",
    "--naptr-record=lonely.example.test,10,10,s,SIP+D2T,,_sip._tcp.lonely.example.test",
    // The name exists but has none of the records we ask for.
    "--txt-record=empty.example.test,nothing here",
};

uint16_t FreeLoopbackPort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(udp);
      continue;
    }
    int tcp = socket(AF_INET, SOCK_STREAM, 0);  // dnsmasq listens on both
    const bool tcp_free = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(tcp);
    close(udp);
    if (tcp_free) return ntohs(addr.sin_port);
  }
  throw std::runtime_error("no free loopback port");
}

// True once something answers a DNS query for a.example.test on the port.
bool DnsAnswers(uint16_t port) {
  const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                 0,    1,    'a',  7,    'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                 4,    't',  'e',  's',  't', 0,   0,   1,   0,   1};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  unsigned char reply[512];
  const bool answered = recv(fd, reply, sizeof(reply), 0) > 0;
  close(fd);
  return answered;
}

class SipResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    su_init();
    for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"}) {
      if (access(path, X_OK) == 0) dnsmasq_path_ = path;
    }
    if (dnsmasq_path_.empty()) return;
    // The port is free when picked but could be taken before dnsmasq binds it.
    for (int attempt = 0; attempt < 3 && dnsmasq_pid_ < 0; ++attempt) StartDnsmasq();
  }

  static void StartDnsmasq() {
    dns_port_ = FreeLoopbackPort();
    std::vector<std::string> args = {dnsmasq_path_,
                                     "--no-daemon",
                                     "--conf-file=/dev/null",
                                     "--pid-file=",
                                     "--port=" + std::to_string(dns_port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--local=/test/",  // NXDOMAIN, not REFUSED, for other names
                                     "--log-facility=/dev/null"};
    args.insert(args.end(), kZone.begin(), kZone.end());
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      if (DnsAnswers(dns_port_)) {
        dnsmasq_pid_ = pid;
        return;
      }
      if (waitpid(pid, nullptr, WNOHANG) == pid) return;  // exited, e.g. port taken
    }
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }

  static void TearDownTestSuite() {
    if (dnsmasq_pid_ > 0) {
      kill(dnsmasq_pid_, SIGTERM);
      waitpid(dnsmasq_pid_, nullptr, 0);
      dnsmasq_pid_ = -1;
    }
    su_deinit();
  }

  void SetUp() override {
    ASSERT_FALSE(dnsmasq_path_.empty()) << "dnsmasq is not installed (Debian package dnsmasq-base)";
    ASSERT_GT(dnsmasq_pid_, 0) << "dnsmasq did not start";
    context_ = g_main_context_new();
    root_ = su_glib_root_create(nullptr);
    ASSERT_NE(root_, nullptr);
    source_ = su_glib_root_gsource(root_);
    g_source_attach(source_, context_);
    resolver_ =
        std::make_unique<SipResolver>(root_, std::vector<std::string>{"127.0.0.1"}, dns_port_);
  }

  void TearDown() override {
    resolver_.reset();
    if (source_) g_source_destroy(source_);
    if (root_) su_root_destroy(root_);
    if (context_) g_main_context_unref(context_);
  }

  // Runs the loop until `done` or `timeout`.
  template <typename Pred>
  void RunUntil(Pred done, std::chrono::milliseconds timeout = 3s) {
    const auto deadline = Clock::now() + timeout;
    GSource* tick = g_timeout_source_new(5);  // so an idle loop still returns
    g_source_set_callback(
        tick, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(tick, context_);
    while (!done() && Clock::now() < deadline) g_main_context_iteration(context_, TRUE);
    g_source_destroy(tick);
    g_source_unref(tick);
  }

  // Starts resolving `uri`; the parsed URI is freed on return, as Resolve allows.
  SipResolver::Handle Start(const std::string& uri, SipResolver::Callback callback) {
    su_home_t home[1] = {SU_HOME_INIT(home)};
    auto handle = resolver_->Resolve(url_make(home, uri.c_str()), std::move(callback));
    su_home_deinit(home);
    return handle;
  }

  // Resolves `uri` and waits for the callback; nullopt if it never came.
  std::optional<Targets> Resolve(const std::string& uri, std::chrono::milliseconds timeout = 3s) {
    std::optional<Targets> result;
    auto handle = Start(uri, [&](Targets t) { result = std::move(t); });
    RunUntil([&] { return result.has_value(); }, timeout);
    EXPECT_FALSE(handle.pending());
    return result;
  }

  static inline std::string dnsmasq_path_;
  static inline uint16_t dns_port_ = 0;
  static inline pid_t dnsmasq_pid_ = -1;

  GMainContext* context_ = nullptr;
  su_root_t* root_ = nullptr;
  GSource* source_ = nullptr;
  std::unique_ptr<SipResolver> resolver_;
};

SipTarget T(const char* transport, uint16_t port) {
  return {transport, "127.0.0.1", port};
}

TEST_F(SipResolverTest, NumericAddressNeedsNoDns) {
  EXPECT_EQ(Resolve("sip:127.0.0.1"), Targets{T("udp", 5060)});
  EXPECT_EQ(Resolve("sip:bob@127.0.0.1:5070;transport=TCP"), Targets{T("tcp", 5070)});
  EXPECT_EQ(Resolve("sips:127.0.0.1"), Targets{T("tls", 5061)});
  EXPECT_EQ(Resolve("sips:127.0.0.1:5070;transport=tcp"), Targets{T("tls", 5070)});
  EXPECT_EQ(Resolve("sip:bob@nosuch.example.test;maddr=127.0.0.1;transport=tcp"),
            Targets{T("tcp", 5060)});
}

TEST_F(SipResolverTest, CallbackNeverRunsInsideResolve) {
  bool called = false;
  auto handle = Start("sip:127.0.0.1", [&](const Targets&) { called = true; });
  EXPECT_FALSE(called);
  EXPECT_TRUE(handle.pending());
  RunUntil([&] { return called; });
  EXPECT_TRUE(called);
}

TEST_F(SipResolverTest, ExplicitPortUsesAddressRecordsOnly) {
  // both.example.test also has NAPTR and SRV (port 5070): not used.
  EXPECT_EQ(Resolve("sip:both.example.test:5099"), Targets{T("udp", 5099)});
  EXPECT_EQ(Resolve("sip:both.example.test:5099;transport=tcp"), Targets{T("tcp", 5099)});
  EXPECT_EQ(Resolve("sip:both.example.test"), Targets{T("udp", 5070)});
}

TEST_F(SipResolverTest, NoNaptrUsesSrvByPriorityThenTransport) {
  EXPECT_EQ(Resolve("sip:alice@prio.example.test"),
            (Targets{T("udp", 5071), T("udp", 5072), T("tcp", 5073)}));
  EXPECT_EQ(Resolve("sip:prio.example.test;transport=tcp"), Targets{T("tcp", 5073)});
}

TEST_F(SipResolverTest, SrvWeightsShuffleInsidePriority) {
  int heavy_first = 0, light_first = 0;
  for (int i = 0; i < 200; ++i) {
    auto targets = Resolve("sip:weight.example.test");
    ASSERT_TRUE(targets.has_value());
    ASSERT_EQ(targets->size(), 2u);
    (targets->front().port == 5081 ? heavy_first : light_first)++;
  }
  // P(light first) = 11/101 per RFC 2782's selection: both bounds hold
  // except with odds below 1e-9.
  EXPECT_GT(light_first, 0);
  EXPECT_GT(heavy_first, 120);
}

TEST_F(SipResolverTest, NaptrOrderPicksTcpBeforeUdp) {
  EXPECT_EQ(Resolve("sip:naptr.example.test"),
            (Targets{T("tcp", 5090), T("udp", 5091), T("tls", 5092)}));
}

TEST_F(SipResolverTest, OnlySupportedTransports) {
  resolver_->set_transports({"udp"});
  EXPECT_EQ(Resolve("sip:naptr.example.test"), Targets{T("udp", 5091)});
  EXPECT_EQ(Resolve("sip:127.0.0.1;transport=tcp"), Targets{});
  EXPECT_EQ(Resolve("sips:naptr.example.test"), Targets{});
}

TEST_F(SipResolverTest, SipsUsesTlsOnly) {
  EXPECT_EQ(Resolve("sips:naptr.example.test"), Targets{T("tls", 5092)});
  EXPECT_EQ(Resolve("sips:a.example.test"), Targets{T("tls", 5061)});
  EXPECT_EQ(Resolve("sip:naptr.example.test;transport=tls"), Targets{T("tls", 5092)});
}

TEST_F(SipResolverTest, AddressRecordOnDefaultPortWithoutSrv) {
  EXPECT_EQ(Resolve("sip:a.example.test"), Targets{T("udp", 5060)});
  EXPECT_EQ(Resolve("sip:lonely.example.test"), Targets{T("tcp", 5060)});
}

TEST_F(SipResolverTest, NoRecordsGiveEmptyList) {
  EXPECT_EQ(Resolve("sip:empty.example.test"), Targets{});
}

TEST_F(SipResolverTest, UnknownNameGivesEmptyListQuickly) {
  const auto start = Clock::now();
  EXPECT_EQ(Resolve("sip:bob@nosuch.example.test"), Targets{});
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(SipResolverTest, UnusableUrisGiveEmptyList) {
  EXPECT_EQ(Resolve("sip:127.0.0.1;transport=ws"), Targets{});
  EXPECT_EQ(Resolve("sips:127.0.0.1;transport=udp"), Targets{});
  EXPECT_EQ(Resolve("sip:127.0.0.1:99999"), Targets{});
  EXPECT_EQ(Resolve("tel:+15551234"), Targets{});
  std::optional<Targets> result;
  auto handle = resolver_->Resolve(nullptr, [&](Targets t) { result = std::move(t); });
  RunUntil([&] { return result.has_value(); });
  EXPECT_EQ(result, Targets{});
}

TEST_F(SipResolverTest, CancelledHandleNeverCallsBack) {
  int calls = 0;
  auto cancelled = Start("sip:naptr.example.test", [&](const Targets&) { ++calls; });
  cancelled.Cancel();
  EXPECT_FALSE(cancelled.pending());
  {
    auto dropped = Start("sip:prio.example.test", [&](const Targets&) { ++calls; });
  }
  auto numeric = Start("sip:127.0.0.1", [&](const Targets&) { ++calls; });
  numeric = SipResolver::Handle();  // move-assigning over a handle cancels it
  // A live resolution shows the loop ran long enough for the cancelled ones' answers.
  std::optional<Targets> witness;
  auto live = Start("sip:naptr.example.test", [&](Targets t) { witness = std::move(t); });
  RunUntil([&] { return witness.has_value(); });
  RunUntil([] { return false; }, 300ms);
  EXPECT_TRUE(witness.has_value());
  EXPECT_EQ(calls, 0);
}

TEST_F(SipResolverTest, DestroyingResolverDropsPendingCallbacks) {
  int calls = 0;
  auto pending = Start("sip:naptr.example.test", [&](const Targets&) { ++calls; });
  auto numeric = Start("sip:127.0.0.1", [&](const Targets&) { ++calls; });
  // The NAPTR query is on the wire and the numeric result queued: both dropped.
  resolver_.reset();
  EXPECT_FALSE(pending.pending());
  RunUntil([] { return false; }, 300ms);
  EXPECT_EQ(calls, 0);
  pending.Cancel();  // after the resolver: a no-op
}

TEST_F(SipResolverTest, CallbackMayDestroyResolver) {
  int calls = 0;
  auto first = Start("sip:127.0.0.1", [&](const Targets&) {
    ++calls;
    resolver_.reset();
  });
  auto second = Start("sip:127.0.0.1:5070", [&](const Targets&) { ++calls; });
  RunUntil([&] { return !resolver_; });
  RunUntil([] { return false; }, 50ms);
  EXPECT_EQ(calls, 1);
}

TEST_F(SipResolverTest, SilentNameserverCostsOneTimeoutPerStep) {
  // A bound socket that never answers; sres alone would retry for ~64 s.
  const int silent = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  resolver_ = std::make_unique<SipResolver>(root_, std::vector<std::string>{"127.0.0.1"},
                                            ntohs(addr.sin_port));
  resolver_->set_dns_timeout(200ms);

  auto start = Clock::now();
  EXPECT_EQ(Resolve("sip:a.example.test:5070"), Targets{});  // A/AAAA only
  auto took = Clock::now() - start;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 500ms);

  start = Clock::now();
  EXPECT_EQ(Resolve("sip:a.example.test"), Targets{});  // NAPTR, SRV, A/AAAA
  took = Clock::now() - start;
  EXPECT_GE(took, 590ms);
  EXPECT_LT(took, 1000ms);

  char query[512];
  EXPECT_GT(recv(silent, query, sizeof(query), MSG_DONTWAIT), 0);  // it was asked
  close(silent);
}

TEST_F(SipResolverTest, RejectsBadNameservers) {
  EXPECT_THROW(SipResolver(root_, {"dns.example.test"}), std::invalid_argument);
  EXPECT_THROW(SipResolver(root_, {"1", "2", "3", "4", "5", "6", "7"}), std::invalid_argument);
  EXPECT_NO_THROW(SipResolver(root_, {}));  // /etc/resolv.conf
}

TEST(SipResolverRouteUri, FormatsForNta) {
  EXPECT_EQ(SipResolver::ToRouteUri({"tcp", "127.0.0.1", 5062}),
            "sip:127.0.0.1:5062;transport=tcp");
  EXPECT_EQ(SipResolver::ToRouteUri({"udp", "127.0.0.1", 5060}),
            "sip:127.0.0.1:5060;transport=udp");
  EXPECT_EQ(SipResolver::ToRouteUri({"tls", "2001:db8::1", 5061}),
            "sip:[2001:db8::1]:5061;transport=tls");
}

}  // namespace
}  // namespace webrtc2sip::signaling
