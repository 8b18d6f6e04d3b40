// IceTransport (the node) against a plain libnice full agent playing the browser (controlling),
// both on 127.0.0.1 and driven by one GMainContext. The browser is given the node's candidate;
// the node is given none of the browser's, so it learns the browser as peer-reflexive, as it
// does with a real Chromium on loopback.

#include "services/media-relay/ice/ice_transport.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include <optional>
#include <random>

#include "services/media-relay/net/socket_address.h"
#include "tests/unit/media-relay/net_test_util.h"

namespace webrtc2sip::media {
namespace {

using namespace std::chrono_literals;
using testing::BindLoopback;
using testing::FindFreePorts;
using testing::TestLoop;
using Bytes = std::vector<uint8_t>;

// The browser: a full agent, controlling, bound to 127.0.0.1. Test code, so it may keep `this`
// in libnice's callbacks: the destructor disconnects them before the agent closes.
class BrowserPeer {
 public:
  explicit BrowserPeer(GMainContext* context)
      : agent_(nice_agent_new_full(context, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE),
               NiceAgentClose{context}) {
    // No UPnP: nothing but 127.0.0.1 in tests.
    g_object_set(agent_.get(), "controlling-mode", TRUE, "ice-tcp", FALSE, "upnp", FALSE, nullptr);
    NiceAddress address;
    nice_address_init(&address);
    nice_address_set_from_string(&address, "127.0.0.1");
    nice_agent_add_local_address(agent_.get(), &address);
    stream_ = nice_agent_add_stream(agent_.get(), 1);
    g_signal_connect(agent_.get(), "component-state-changed", G_CALLBACK(&OnState), this);
    nice_agent_attach_recv(agent_.get(), stream_, 1, context, &OnRecv, this);
    nice_agent_gather_candidates(agent_.get(), stream_);
  }
  ~BrowserPeer() {
    g_signal_handlers_disconnect_by_data(agent_.get(), this);
    nice_agent_attach_recv(agent_.get(), stream_, 1, nullptr, nullptr, nullptr);
  }

  std::pair<std::string, std::string> Credentials() const {
    gchar* ufrag = nullptr;
    gchar* pwd = nullptr;
    nice_agent_get_local_credentials(agent_.get(), stream_, &ufrag, &pwd);
    std::pair<std::string, std::string> credentials(ufrag, pwd);
    g_free(ufrag);
    g_free(pwd);
    return credentials;
  }

  // What the browser does with the node's answer.
  void SetRemote(const IceParameters& node) {
    nice_agent_set_remote_credentials(agent_.get(), stream_, node.ufrag.c_str(), node.pwd.c_str());
    GSList* list = nullptr;
    for (const IceCandidate& candidate : node.candidates) {
      NiceCandidate* nice = nice_candidate_new(NICE_CANDIDATE_TYPE_HOST);
      nice_address_set_from_string(&nice->addr, candidate.address.c_str());
      nice_address_set_port(&nice->addr, candidate.port);
      nice->priority = candidate.priority;
      nice->stream_id = stream_;
      nice->component_id = candidate.component;
      nice->transport = NICE_CANDIDATE_TRANSPORT_UDP;
      g_strlcpy(nice->foundation, candidate.foundation.c_str(), NICE_CANDIDATE_MAX_FOUNDATION);
      list = g_slist_append(list, nice);
    }
    nice_agent_set_remote_candidates(agent_.get(), stream_, 1, list);
    g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
  }

  bool Send(const Bytes& bytes) {
    return nice_agent_send(agent_.get(), stream_, 1, bytes.size(),
                           reinterpret_cast<const gchar*>(bytes.data())) ==
           static_cast<gint>(bytes.size());
  }
  void Restart() { nice_agent_restart_stream(agent_.get(), stream_); }

  bool ready() const { return state == NICE_COMPONENT_STATE_READY; }

  guint state = NICE_COMPONENT_STATE_DISCONNECTED;
  int times_ready = 0;
  std::vector<Bytes> received;

 private:
  static void OnState(NiceAgent*, guint, guint, guint state, gpointer data) {
    auto* self = static_cast<BrowserPeer*>(data);
    self->state = state;
    if (state == NICE_COMPONENT_STATE_READY) ++self->times_ready;
  }
  static void OnRecv(NiceAgent*, guint, guint, guint len, gchar* buf, gpointer data) {
    auto* bytes = reinterpret_cast<const uint8_t*>(buf);
    static_cast<BrowserPeer*>(data)->received.emplace_back(bytes, bytes + len);
  }

  NiceAgentPtr agent_;
  guint stream_ = 0;
};

struct NodeEvents final : IceTransport::Listener {
  void OnIceData(const uint8_t* data, size_t len) override {
    received.emplace_back(data, data + len);
    if (on_data) on_data();
  }
  void OnIceStateChanged(IceState state) override {
    states.push_back(state);
    if (on_state) on_state(state);
  }
  void OnIceSelectedPair(const IceCandidate& local, const IceCandidate& remote) override {
    pairs.emplace_back(local, remote);
    if (on_pair) on_pair();
  }

  IceState last() const { return states.empty() ? IceState::kNew : states.back(); }
  size_t count(IceState state) const { return std::count(states.begin(), states.end(), state); }

  std::vector<Bytes> received;
  std::vector<IceState> states;
  std::vector<std::pair<IceCandidate, IceCandidate>> pairs;
  std::function<void()> on_data;
  std::function<void(IceState)> on_state;
  std::function<void()> on_pair;
};

// RTP-, RTCP- and DTLS-looking datagrams (never STUN-looking) of many sizes.
std::vector<Bytes> MediaLikeDatagrams(int count, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<Bytes> datagrams;
  for (int i = 0; i < count; ++i) {
    Bytes bytes(1 + random() % 1200);
    for (auto& byte : bytes) byte = static_cast<uint8_t>(random());
    const uint8_t first[] = {0x80, 0x90, 0x16, 0x17};
    bytes[0] = first[i % 4];
    datagrams.push_back(std::move(bytes));
  }
  return datagrams;
}

class IceTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_port_ = FindFreePorts(kPorts);
    ASSERT_NE(base_port_, 0);
  }

  IceTransport::Options NodeOptions() const {
    IceTransport::Options options;
    options.bind_address = "127.0.0.1";
    options.advertised_address = "127.0.0.1";
    options.port_min = base_port_;
    options.port_max = static_cast<uint16_t>(base_port_ + kPorts - 1);
    options.log_id = "ice-test";
    return options;
  }

  std::unique_ptr<IceTransport> MakeNode(const IceTransport::Options& options) {
    std::string error;
    auto node = IceTransport::Create(loop_.context(), options, events_, &error);
    EXPECT_TRUE(node) << error;
    return node;
  }

  // The browser gets the node's parameters; the node gets the browser's credentials only.
  bool Connect(IceTransport& node, BrowserPeer& browser) {
    browser.SetRemote(node.LocalParameters());
    const auto [ufrag, pwd] = browser.Credentials();
    EXPECT_TRUE(node.SetRemote(ufrag, pwd, {}));
    return loop_.RunUntil([&] { return browser.ready() && events_.last() == IceState::kCompleted; },
                          5s);
  }

  // A lite node connected to a browser (the fixture's browser_) and on its direct path; null
  // (the failure reported) when it did not get there.
  std::unique_ptr<IceTransport> MakeDirectNode() {
    auto node = MakeNode(NodeOptions());
    if (!node) return nullptr;
    browser_ = std::make_unique<BrowserPeer>(loop_.context());
    if (!Connect(*node, *browser_) || !loop_.RunUntil([&] { return node->direct(); }, 2s)) {
      ADD_FAILURE() << "the node did not connect and go direct";
      return nullptr;
    }
    return node;
  }

  static constexpr int kPorts = 10;
  TestLoop loop_;  // First: destroyed after everything that runs on it.
  NodeEvents events_;
  uint16_t base_port_ = 0;
  std::unique_ptr<BrowserPeer> browser_;  // MakeDirectNode's.
};

TEST_F(IceTransportTest, LiteNodeConnectsToAPeerReflexiveBrowserAndCarriesDataBothWays) {
  auto node = MakeNode(NodeOptions());
  ASSERT_TRUE(node);
  BrowserPeer browser(loop_.context());
  ASSERT_TRUE(Connect(*node, browser));

  // Checking first, completed last, delivered in order.
  ASSERT_FALSE(events_.states.empty());
  EXPECT_EQ(events_.states.front(), IceState::kChecking);
  EXPECT_EQ(node->state(), IceState::kCompleted);

  // The browser was never announced to the node: it was learned from its checks.
  ASSERT_FALSE(events_.pairs.empty());
  const auto& [local, remote] = events_.pairs.back();
  EXPECT_EQ(remote.type, "prflx");
  EXPECT_EQ(remote.address, "127.0.0.1");
  EXPECT_EQ(local.address, "127.0.0.1");
  EXPECT_EQ(local.port, node->LocalParameters().candidates.at(0).port);

  const auto up = MediaLikeDatagrams(60, 1);
  for (const auto& datagram : up) ASSERT_TRUE(browser.Send(datagram));
  const auto down = MediaLikeDatagrams(60, 2);
  for (const auto& datagram : down) ASSERT_TRUE(node->Send(datagram.data(), datagram.size()));
  ASSERT_TRUE(loop_.RunUntil(
      [&] {
        return events_.received.size() == up.size() && browser.received.size() == down.size();
      },
      3s));
  EXPECT_EQ(events_.received, up);
  EXPECT_EQ(browser.received, down);
  EXPECT_EQ(node->stats().received, up.size());
  EXPECT_EQ(node->stats().sent, down.size());
  EXPECT_EQ(node->stats().send_dropped, 0u);
  // That was the direct media path: libnice selected the pair, then let go of the socket.
  EXPECT_TRUE(node->direct());
  EXPECT_EQ(node->stats().direct_entered, 1u);
  EXPECT_EQ(node->stats().direct_left, 0u);
}

TEST_F(IceTransportTest, LocalParametersAnnounceTheAdvertisedAddressWithTheBoundPort) {
  IceTransport::Options options = NodeOptions();
  options.advertised_address = "192.0.2.1";  // Documentation address: never connected to.
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  const IceParameters local = node->LocalParameters();
  EXPECT_TRUE(local.lite);
  EXPECT_GE(local.ufrag.size(), 4u);  // RFC 8445 section 5.3.
  EXPECT_GE(local.pwd.size(), 22u);
  ASSERT_EQ(local.candidates.size(), 1u);
  const IceCandidate& candidate = local.candidates[0];
  EXPECT_EQ(candidate.address, "192.0.2.1");
  EXPECT_EQ(candidate.type, "host");
  EXPECT_EQ(candidate.protocol, "udp");
  EXPECT_EQ(candidate.component, 1u);
  EXPECT_FALSE(candidate.foundation.empty());
  EXPECT_GT(candidate.priority, 0u);
  EXPECT_GE(candidate.port, options.port_min);
  EXPECT_LE(candidate.port, options.port_max);
  // The port is really bound, on the bind address.
  EXPECT_LT(BindLoopback(candidate.port), 0);
}

TEST_F(IceTransportTest, PortRangeIsRespectedAndExhaustionIsAnError) {
  IceTransport::Options options = NodeOptions();
  options.port_max = static_cast<uint16_t>(options.port_min + 2);
  std::vector<std::unique_ptr<IceTransport>> nodes;
  std::set<uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(MakeNode(options));
    ASSERT_TRUE(nodes.back());
    const uint16_t port = nodes.back()->LocalParameters().candidates.at(0).port;
    EXPECT_GE(port, options.port_min);
    EXPECT_LE(port, options.port_max);
    EXPECT_TRUE(ports.insert(port).second);
  }
  std::string error;
  EXPECT_FALSE(IceTransport::Create(loop_.context(), options, events_, &error));
  EXPECT_NE(error.find("could be bound"), std::string::npos) << error;

  // A destroyed transport gives its port back (once its asynchronous close ran).
  const uint16_t freed = nodes[1]->LocalParameters().candidates.at(0).port;
  nodes[1].reset();
  loop_.RunFor(100ms);
  auto again = MakeNode(options);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->LocalParameters().candidates.at(0).port, freed);
}

TEST_F(IceTransportTest, PortHeldByAnotherProgramIsSkipped) {
  IceTransport::Options options = NodeOptions();
  options.port_max = static_cast<uint16_t>(options.port_min + 1);
  const int foreign = BindLoopback(options.port_min);
  ASSERT_GE(foreign, 0);
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->LocalParameters().candidates.at(0).port, options.port_min + 1);
  close(foreign);
}

TEST_F(IceTransportTest, RestartGivesNewCredentialsAndConnectsAgain) {
  auto node = MakeNode(NodeOptions());
  ASSERT_TRUE(node);
  BrowserPeer browser(loop_.context());
  ASSERT_TRUE(Connect(*node, browser));
  const IceParameters before = node->LocalParameters();
  const auto browser_before = browser.Credentials();

  ASSERT_TRUE(node->Restart());
  const IceParameters after = node->LocalParameters();
  EXPECT_NE(after.ufrag, before.ufrag);
  EXPECT_NE(after.pwd, before.pwd);
  ASSERT_EQ(after.candidates.size(), 1u);
  EXPECT_EQ(after.candidates[0].port, before.candidates[0].port);  // Same socket.

  // The browser restarts too (new offer/answer), checks with the new credentials only.
  browser.Restart();
  EXPECT_NE(browser.Credentials(), browser_before);
  const int ready_before = browser.times_ready;
  const size_t pairs_before = events_.pairs.size();
  browser.SetRemote(after);
  const auto [ufrag, pwd] = browser.Credentials();
  ASSERT_TRUE(node->SetRemote(ufrag, pwd, {}));
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return browser.times_ready > ready_before && events_.pairs.size() > pairs_before; },
      5s));
  EXPECT_EQ(events_.pairs.back().second.type, "prflx");

  const auto up = MediaLikeDatagrams(10, 3);
  for (const auto& datagram : up) ASSERT_TRUE(browser.Send(datagram));
  const Bytes down = {0x80, 0x00, 0x00, 0x01};
  ASSERT_TRUE(node->Send(down.data(), down.size()));
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return events_.received.size() == up.size() && browser.received.size() == 1; }, 3s));
  EXPECT_EQ(events_.received, up);
  EXPECT_EQ(browser.received.back(), down);
  EXPECT_EQ(node->state(), IceState::kCompleted);
}

TEST_F(IceTransportTest, SilentBrowserIsReportedDisconnectedAndComesBack) {
  IceTransport::Options options = NodeOptions();
  options.consent_timeout = 1s;
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  BrowserPeer browser(loop_.context());
  ASSERT_TRUE(Connect(*node, browser));

  // Traffic every 100 ms for 2.5 timeouts: never disconnected.
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(browser.Send({0x80, 0x01}));
    loop_.RunFor(100ms);
  }
  EXPECT_EQ(events_.count(IceState::kDisconnected), 0u);

  // Silence (the browser is still there): disconnected after about one timeout.
  const auto silent_since = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop_.RunUntil([&] { return events_.last() == IceState::kDisconnected; }, 3s));
  const auto noticed = std::chrono::steady_clock::now() - silent_since;
  EXPECT_GE(noticed, 900ms);
  EXPECT_LE(noticed, 2s);
  EXPECT_EQ(node->state(), IceState::kDisconnected);

  // A datagram brings it back.
  ASSERT_TRUE(browser.Send({0x80, 0x02}));
  ASSERT_TRUE(loop_.RunUntil([&] { return events_.last() == IceState::kCompleted; }, 2s));
}

TEST_F(IceTransportTest, BrowserThatGoesAwayIsNoticedWithinTheConsentTimeout) {
  IceTransport::Options options = NodeOptions();
  options.consent_timeout = 1s;
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  auto browser = std::make_unique<BrowserPeer>(loop_.context());
  ASSERT_TRUE(Connect(*node, *browser));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(browser->Send({0x80, 0x01}));
    loop_.RunFor(100ms);
  }
  browser.reset();  // Closed: no more checks, no more media.
  const auto gone_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop_.RunUntil(
      [&] {
        return events_.last() == IceState::kDisconnected || events_.last() == IceState::kFailed;
      },
      3s));
  EXPECT_LE(std::chrono::steady_clock::now() - gone_at, 2s);
  // Sending into the void never blocks or throws.
  const Bytes bytes = {0x80, 0x03};
  for (int i = 0; i < 10; ++i) node->Send(bytes.data(), bytes.size());
}

TEST_F(IceTransportTest, FullIceControlledNodeConnectsToo) {
  IceTransport::Options options = NodeOptions();
  options.lite = false;
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  EXPECT_FALSE(node->LocalParameters().lite);
  BrowserPeer browser(loop_.context());
  ASSERT_TRUE(Connect(*node, browser));
  ASSERT_TRUE(browser.Send({0x16, 0xfe, 0xfd}));
  const Bytes down = {0x17, 0xfe, 0xfd};
  ASSERT_TRUE(node->Send(down.data(), down.size()));
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return events_.received.size() == 1 && browser.received.size() == 1; }, 3s));
  EXPECT_EQ(events_.received[0], (Bytes{0x16, 0xfe, 0xfd}));
  EXPECT_EQ(browser.received[0], down);
}

TEST_F(IceTransportTest, RemoteCandidatesAreAcceptedWhenGivenAndBadOnesSkipped) {
  auto node = MakeNode(NodeOptions());
  ASSERT_TRUE(node);
  BrowserPeer browser(loop_.context());
  browser.SetRemote(node->LocalParameters());
  const auto [ufrag, pwd] = browser.Credentials();
  IceCandidate mdns{"1", 1, "udp", 2122260223, "0f4e-11.local", 50000, "host", "", 0};
  IceCandidate tcp{"2", 1, "tcp", 1518280447, "127.0.0.1", 9, "host", "", 0};
  IceCandidate rtcp{"3", 2, "udp", 2122260222, "127.0.0.1", 50001, "host", "", 0};
  EXPECT_TRUE(node->SetRemote(ufrag, pwd, {mdns, tcp, rtcp}));
  EXPECT_FALSE(node->SetRemote("", pwd, {}));
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return browser.ready() && events_.last() == IceState::kCompleted; }, 5s));
}

TEST_F(IceTransportTest, SendBeforeAPairIsSelectedIsDroppedAndCounted) {
  auto node = MakeNode(NodeOptions());
  ASSERT_TRUE(node);
  const Bytes bytes = {0x80, 0x00};
  EXPECT_FALSE(node->Send(bytes.data(), bytes.size()));
  EXPECT_EQ(node->stats().send_dropped, 1u);
  EXPECT_EQ(node->state(), IceState::kNew);
}

TEST_F(IceTransportTest, SocketBuffersFollowRtpBuffsize) {
  IceTransport::Options options = NodeOptions();
  options.rtp_buffsize = 8192;
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->ReceiveBufferSize(), 2 * 8192);  // Linux doubles what it is given.
}

TEST_F(IceTransportTest, GarbageDatagramsDoNotCrashOrReachTheListener) {
  auto node = MakeNode(NodeOptions());
  ASSERT_TRUE(node);
  const sockaddr_storage to =
      *ParseSocketAddress("127.0.0.1", node->LocalParameters().candidates.at(0).port);
  const int raw = socket(AF_INET, SOCK_DGRAM, 0);
  std::mt19937 random(11);
  auto spray = [&] {
    std::vector<Bytes> garbage = {{}, {0x00}, {0x00, 0x01, 0x00}};
    // STUN-looking: Binding request, magic cookie, lengths that lie, bogus attributes.
    Bytes stun = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
    for (int i = 0; i < 12; ++i) stun.push_back(static_cast<uint8_t>(random()));
    stun.insert(stun.end(), {0x00, 0x06, 0x00, 0xff, 'a', 'b', 'c', 'd'});
    garbage.push_back(stun);
    stun[3] = 0xf0;
    garbage.push_back(stun);
    for (int i = 0; i < 30; ++i) {
      Bytes junk(random() % 1500);
      for (auto& byte : junk) byte = static_cast<uint8_t>(random());
      garbage.push_back(junk);
    }
    for (const auto& bytes : garbage) {
      sendto(raw, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
             sizeof(sockaddr_in));
    }
    loop_.RunFor(100ms);
  };
  spray();  // Before anything is known.
  BrowserPeer browser(loop_.context());
  ASSERT_TRUE(Connect(*node, browser));
  spray();  // With a selected pair: an unknown source is not the browser.
  EXPECT_TRUE(events_.received.empty());
  // Still working.
  ASSERT_TRUE(browser.Send({0x80, 0x7f}));
  ASSERT_TRUE(loop_.RunUntil([&] { return events_.received.size() == 1; }, 2s));
  EXPECT_EQ(events_.received[0], (Bytes{0x80, 0x7f}));
  close(raw);
}

// Another "browser" address: a plain UDP socket on 127.0.0.1 whose STUN is libnice's own STUN
// library (not the node's codec), with the browser's credentials.
class StunPeer {
 public:
  // RFC 8445 section 5.1.2: type preference 110 (peer-reflexive), or 126 (host).
  static constexpr uint32_t kPeerReflexivePriority = (110u << 24) | (65535u << 8) | 255u;
  static constexpr uint32_t kHostPriority = (126u << 24) | (65535u << 8) | 255u;

  StunPeer(const IceParameters& node, std::pair<std::string, std::string> browser)
      : node_ufrag_(node.ufrag), node_pwd_(node.pwd), browser_(std::move(browser)),
        fd_(BindLoopback(0)) {
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    socklen_t length = sizeof(address_);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &length);
    stun_agent_init(&agent_, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    static_cast<StunAgentUsageFlags>(STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                                                     STUN_AGENT_USAGE_USE_FINGERPRINT));
  }
  ~StunPeer() { close(fd_); }

  // A check as a controlling browser makes it, signed with `password` (the node's, normally).
  Bytes Check(bool nominate, const std::string& password, bool controlling = true,
              uint32_t priority = kPeerReflexivePriority) {
    const std::string username = node_ufrag_ + ":" + browser_.first;
    uint8_t buffer[1024];
    StunMessage message;
    const size_t len = stun_usage_ice_conncheck_create(
        &agent_, &message, buffer, sizeof(buffer),
        reinterpret_cast<const uint8_t*>(username.data()), username.size(),
        reinterpret_cast<const uint8_t*>(password.data()), password.size(), nominate,
        controlling, priority, 0x5eed, nullptr, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    return Bytes(buffer, buffer + len);
  }

  void SendTo(const Bytes& bytes, uint16_t port) const {  // NOLINT: test helper.
    const sockaddr_storage to = *ParseSocketAddress("127.0.0.1", port);
    sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
           sizeof(sockaddr_in));
  }

  // Reads everything waiting: success responses to our checks (validated by libnice's STUN,
  // their mapped address kept), checks from the node (answered as the browser would), and
  // anything else.
  void Poll() {
    uint8_t buffer[2048];
    sockaddr_storage from{};
    socklen_t length = sizeof(from);
    ssize_t n;
    while ((n = recvfrom(fd_, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from),
                         &length)) > 0) {
      const Bytes bytes(buffer, buffer + n);
      length = sizeof(from);
      const std::string username = browser_.first + ":" + node_ufrag_;
      StunDefaultValidaterData keys[2] = {
          {reinterpret_cast<uint8_t*>(const_cast<char*>(username.data())), username.size(),
           reinterpret_cast<uint8_t*>(const_cast<char*>(browser_.second.data())),
           browser_.second.size()},
          {nullptr, 0, nullptr, 0}};
      StunMessage message;
      if (stun_agent_validate(&agent_, &message, bytes.data(), bytes.size(),
                              stun_agent_default_validater, keys) != STUN_VALIDATION_SUCCESS) {
        other.push_back(bytes);
        continue;
      }
      if (stun_message_get_class(&message) == STUN_RESPONSE) {
        sockaddr_storage mapped{};
        socklen_t mapped_length = sizeof(mapped);
        if (stun_usage_ice_conncheck_process(&message, &mapped, &mapped_length,
                                             STUN_USAGE_ICE_COMPATIBILITY_RFC5245) ==
            STUN_USAGE_ICE_RETURN_SUCCESS) {
          responses.push_back(mapped);
        }
        continue;
      }
      if (stun_message_get_class(&message) == STUN_REQUEST) {
        uint8_t reply[1024];
        size_t reply_length = sizeof(reply);
        StunMessage response;
        bool control = true;
        if (stun_usage_ice_conncheck_create_reply(&agent_, &message, &response, reply,
                                                  &reply_length, &from, sizeof(sockaddr_in),
                                                  &control, 0x5eed,
                                                  STUN_USAGE_ICE_COMPATIBILITY_RFC5245) ==
            STUN_USAGE_ICE_RETURN_SUCCESS) {
          sendto(fd_, reply, reply_length, 0, reinterpret_cast<const sockaddr*>(&from),
                 sizeof(sockaddr_in));
          ++checks_answered;
        }
        continue;
      }
      other.push_back(bytes);
    }
  }

  uint16_t port() const { return GetPort(address_); }
  const sockaddr_storage& address() const { return address_; }

  std::vector<sockaddr_storage> responses;
  int checks_answered = 0;
  std::vector<Bytes> other;

 private:
  std::string node_ufrag_;
  std::string node_pwd_;
  std::pair<std::string, std::string> browser_;  // ufrag, pwd
  int fd_;
  sockaddr_storage address_{};
  StunAgent agent_{};
};

TEST_F(IceTransportTest, DirectPathAnswersChecksAndHandsANominationToLibnice) {
  auto node = MakeDirectNode();
  ASSERT_TRUE(node);
  BrowserPeer& browser = *browser_;
  const IceParameters local = node->LocalParameters();
  const uint16_t node_port = local.candidates.at(0).port;
  StunPeer peer(local, browser.Credentials());

  // A check from another address: answered on the direct path, and libnice's STUN finds the
  // answer sound, with the address it was sent from in it.
  peer.SendTo(peer.Check(false, local.pwd), node_port);
  ASSERT_TRUE(loop_.RunUntil([&] { peer.Poll(); return !peer.responses.empty(); }, 2s));
  EXPECT_TRUE(SameSocketAddress(peer.responses.at(0), peer.address()));
  ASSERT_TRUE(node->direct());
  EXPECT_EQ(node->direct_stats()->checks_answered, 1u);

  // The wrong password, or a username for someone else: no answer, counted, still direct.
  peer.SendTo(peer.Check(false, local.pwd + "x"), node_port);
  StunPeer stranger(IceParameters{"other", local.pwd, {}, false}, browser.Credentials());
  stranger.SendTo(stranger.Check(false, local.pwd), node_port);
  loop_.RunFor(200ms);
  peer.Poll();
  stranger.Poll();
  EXPECT_EQ(peer.responses.size(), 1u);
  EXPECT_TRUE(stranger.responses.empty());
  ASSERT_TRUE(node->direct());
  EXPECT_EQ(node->direct_stats()->stun_dropped, 2u);
  EXPECT_EQ(node->direct_stats()->checks_answered, 1u);

  // A nomination of the other pair, of a higher priority, is libnice's: the socket goes back
  // to it, it answers the browser's retransmission and moves to the new pair; then the direct
  // path is back, toward the new address.
  const size_t pairs_before = events_.pairs.size();
  const Bytes nomination = peer.Check(true, local.pwd, true, StunPeer::kHostPriority);
  peer.SendTo(nomination, node_port);
  ASSERT_TRUE(loop_.RunUntil([&] { return !node->direct(); }, 2s));
  EXPECT_EQ(node->stats().direct_left, 1u);
  ASSERT_TRUE(loop_.RunUntil(
      [&] {
        peer.SendTo(nomination, node_port);  // Retransmitted until it is taken.
        loop_.RunFor(20ms);
        peer.Poll();
        return events_.pairs.size() > pairs_before && node->direct();
      },
      5s));
  EXPECT_EQ(events_.pairs.back().second.port, peer.port());
  EXPECT_EQ(node->stats().direct_entered, 2u);
  EXPECT_TRUE(SameSocketAddress(node->direct_remote(), peer.address()));

  // Media now goes to the new address, and only its media is taken.
  const Bytes down = {0x80, 0x11, 0x22};
  ASSERT_TRUE(node->Send(down.data(), down.size()));
  ASSERT_TRUE(loop_.RunUntil([&] { peer.Poll(); return !peer.other.empty(); }, 2s));
  EXPECT_EQ(peer.other.back(), down);
  const size_t received_before = events_.received.size();
  ASSERT_TRUE(browser.Send({0x80, 0x33}));
  peer.SendTo({0x80, 0x44}, node_port);
  ASSERT_TRUE(loop_.RunUntil([&] { return events_.received.size() > received_before; }, 2s));
  loop_.RunFor(100ms);
  ASSERT_EQ(events_.received.size(), received_before + 1);
  EXPECT_EQ(events_.received.back(), (Bytes{0x80, 0x44}));
  EXPECT_EQ(node->direct_stats()->unknown_source, 1u);

  // A consent check on the selected pair (nominating again, as browsers may) is answered on the
  // direct path, which stays.
  const size_t responses_before = peer.responses.size();
  peer.SendTo(peer.Check(true, local.pwd, true, StunPeer::kHostPriority), node_port);
  ASSERT_TRUE(
      loop_.RunUntil([&] { peer.Poll(); return peer.responses.size() > responses_before; }, 2s));
  EXPECT_TRUE(node->direct());
  EXPECT_EQ(node->direct_stats()->checks_answered, 1u);
}

TEST_F(IceTransportTest, RoleConflictGoesBackToLibniceThenDirectAgain) {
  auto node = MakeDirectNode();
  ASSERT_TRUE(node);
  BrowserPeer& browser = *browser_;
  const IceParameters local = node->LocalParameters();
  StunPeer peer(local, browser.Credentials());
  // A check from an agent that thinks it is controlled too: libnice's to resolve.
  peer.SendTo(peer.Check(false, local.pwd, /*controlling=*/false), local.candidates.at(0).port);
  ASSERT_TRUE(loop_.RunUntil([&] { return !node->direct(); }, 2s));
  EXPECT_EQ(node->stats().direct_left, 1u);
  // Media flows through libnice meanwhile.
  ASSERT_TRUE(browser.Send({0x80, 0x01}));
  ASSERT_TRUE(loop_.RunUntil([&] { return !events_.received.empty(); }, 2s));
  // The selection did not change: direct again at a consent tick after a second.
  ASSERT_TRUE(loop_.RunUntil([&] { return node->direct(); }, 3s));
  EXPECT_EQ(node->stats().direct_entered, 2u);
  ASSERT_TRUE(browser.Send({0x80, 0x02}));
  ASSERT_TRUE(loop_.RunUntil([&] { return events_.received.size() == 2; }, 2s));
}

TEST_F(IceTransportTest, RestartLeavesTheDirectPathUntilAPairIsSelectedAgain) {
  auto node = MakeDirectNode();
  ASSERT_TRUE(node);
  BrowserPeer& browser = *browser_;
  ASSERT_TRUE(node->Restart());
  EXPECT_FALSE(node->direct());
  // Consent ticks pass: the old pair is not taken back while the restart is pending.
  loop_.RunFor(1500ms);
  EXPECT_FALSE(node->direct());
  browser.Restart();
  const size_t pairs_before = events_.pairs.size();
  browser.SetRemote(node->LocalParameters());
  const auto [ufrag, pwd] = browser.Credentials();
  ASSERT_TRUE(node->SetRemote(ufrag, pwd, {}));
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return events_.pairs.size() > pairs_before && node->direct(); }, 5s));
  EXPECT_EQ(node->stats().direct_entered, 2u);
}

TEST_F(IceTransportTest, FullIceKeepsLibnicesPath) {
  IceTransport::Options options = NodeOptions();
  options.lite = false;
  auto node = MakeNode(options);
  ASSERT_TRUE(node);
  BrowserPeer browser(loop_.context());
  ASSERT_TRUE(Connect(*node, browser));
  loop_.RunFor(1200ms);
  EXPECT_FALSE(node->direct());
  EXPECT_EQ(node->stats().direct_entered, 0u);
}

// Destroying the transport from each of its callbacks: no crash, nothing delivered after.
enum class DestroyIn { kData, kState, kSelectedPair };

class IceTransportDestroyTest : public IceTransportTest,
                                public ::testing::WithParamInterface<DestroyIn> {};

TEST_P(IceTransportDestroyTest, ListenerMayDestroyTheTransportFromACallback) {
  auto node = MakeNode(NodeOptions());
  ASSERT_TRUE(node);
  BrowserPeer browser(loop_.context());
  size_t calls_at_destruction = 0;
  auto destroy = [&] {
    if (!node) return;
    node.reset();
    calls_at_destruction = events_.states.size() + events_.pairs.size() + events_.received.size();
  };
  switch (GetParam()) {
    case DestroyIn::kData:
      events_.on_data = destroy;
      break;
    case DestroyIn::kState:
      events_.on_state = [&](IceState state) {
        if (state == IceState::kConnected || state == IceState::kCompleted) destroy();
      };
      break;
    case DestroyIn::kSelectedPair:
      events_.on_pair = destroy;
      break;
  }
  browser.SetRemote(node->LocalParameters());
  const auto [ufrag, pwd] = browser.Credentials();
  ASSERT_TRUE(node->SetRemote(ufrag, pwd, {}));
  ASSERT_TRUE(loop_.RunUntil([&] { return browser.ready(); }, 5s));
  // When the data destroys it, the transport is on its direct path by then.
  if (GetParam() == DestroyIn::kData) {
    ASSERT_TRUE(loop_.RunUntil([&] { return node->direct(); }, 2s));
  }
  // Several datagrams, so the one that destroys is followed by more in the same read.
  for (int i = 0; i < 20; ++i) browser.Send({0x80, static_cast<uint8_t>(i)});
  ASSERT_TRUE(loop_.RunUntil([&] { return node == nullptr; }, 3s));
  loop_.RunFor(200ms);
  for (int i = 0; i < 5; ++i) browser.Send({0x80, 0x55});
  loop_.RunFor(200ms);
  EXPECT_EQ(events_.states.size() + events_.pairs.size() + events_.received.size(),
            calls_at_destruction);
}

INSTANTIATE_TEST_SUITE_P(EveryCallback, IceTransportDestroyTest,
                         ::testing::Values(DestroyIn::kData, DestroyIn::kState,
                                           DestroyIn::kSelectedPair));

}  // namespace
}  // namespace webrtc2sip::media
