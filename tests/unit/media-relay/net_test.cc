// Address helpers, PortAllocator and UdpSocket on 127.0.0.1 with real sockets, driven by one
// GMainContext in the test.

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "services/media-relay/net/port_allocator.h"
#include "services/media-relay/net/socket_address.h"
#include "services/media-relay/net/udp_socket.h"
#include "services/media-relay/worker/timer_queue.h"
#include "services/media-relay/worker/worker.h"
#include "tests/unit/media-relay/net_test_util.h"

namespace webrtc2sip::media {
namespace {

using namespace std::chrono_literals;
using testing::BindLoopback;
using testing::FindFreePorts;
using testing::TestLoop;
using Bytes = std::vector<uint8_t>;

uint16_t BoundPortOf(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  return GetPort(local);
}

sockaddr_storage Loopback(uint16_t port) {
  return *ParseSocketAddress("127.0.0.1", port);
}

// ---------------------------------------------------------------- addresses

TEST(SocketAddressTest, ParsesAndFormatsIpv4AndIpv6) {
  auto v4 = ParseSocketAddress("192.0.2.1:5004");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->ss_family, AF_INET);
  EXPECT_EQ(GetPort(*v4), 5004);
  EXPECT_EQ(FormatSocketAddress(*v4), "192.0.2.1:5004");
  EXPECT_EQ(FormatIp(*v4), "192.0.2.1");

  auto v6 = ParseSocketAddress("[2001:db8::1]:40000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->ss_family, AF_INET6);
  EXPECT_EQ(GetPort(*v6), 40000);
  EXPECT_EQ(FormatSocketAddress(*v6), "[2001:db8::1]:40000");

  auto with_port = ParseSocketAddress("2001:db8::2", 7);
  ASSERT_TRUE(with_port);
  EXPECT_EQ(FormatSocketAddress(*with_port), "[2001:db8::2]:7");
  EXPECT_EQ(SocketAddressLength(*with_port), sizeof(sockaddr_in6));
  EXPECT_EQ(SocketAddressLength(*v4), sizeof(sockaddr_in));
}

TEST(SocketAddressTest, RejectsWhatIsNotANumericAddress) {
  EXPECT_FALSE(ParseSocketAddress("example.com:5060"));  // Never DNS.
  EXPECT_FALSE(ParseSocketAddress("192.0.2.1"));         // No port.
  EXPECT_FALSE(ParseSocketAddress("192.0.2.1:"));
  EXPECT_FALSE(ParseSocketAddress("192.0.2.1:70000"));
  EXPECT_FALSE(ParseSocketAddress("192.0.2.1:12x"));
  EXPECT_FALSE(ParseSocketAddress("2001:db8::1:5004"));  // Ambiguous without brackets.
  EXPECT_FALSE(ParseSocketAddress("[2001:db8::1]5004"));
  EXPECT_FALSE(ParseSocketAddress("[2001:db8::1"));
  EXPECT_FALSE(ParseSocketAddress(""));
  EXPECT_FALSE(ParseSocketAddress("", 1));
  EXPECT_FALSE(ParseSocketAddress("999.1.1.1", 1));
}

TEST(SocketAddressTest, ComparesMapsAndRecognizesWildcards) {
  EXPECT_TRUE(SameSocketAddress(*ParseSocketAddress("127.0.0.1:1"), Loopback(1)));
  EXPECT_FALSE(SameSocketAddress(Loopback(1), Loopback(2)));
  EXPECT_FALSE(SameSocketAddress(Loopback(1), *ParseSocketAddress("127.0.0.2:1")));
  EXPECT_TRUE(IsAnyAddress(*ParseSocketAddress("0.0.0.0", 0)));
  EXPECT_TRUE(IsAnyAddress(*ParseSocketAddress("::", 0)));
  EXPECT_FALSE(IsAnyAddress(Loopback(0)));

  sockaddr_storage mapped = MapV4ToV6(*ParseSocketAddress("192.0.2.9:99"));
  EXPECT_EQ(mapped.ss_family, AF_INET6);
  EXPECT_EQ(FormatSocketAddress(mapped), "[::ffff:192.0.2.9]:99");
  EXPECT_TRUE(UnmapV4(mapped));
  EXPECT_EQ(FormatSocketAddress(mapped), "192.0.2.9:99");
  EXPECT_FALSE(UnmapV4(mapped));
  sockaddr_storage v6 = *ParseSocketAddress("[2001:db8::1]:1");
  EXPECT_FALSE(UnmapV4(v6));
}

// ---------------------------------------------------------------- port allocator

TEST(PortAllocatorTest, HandsOutBoundEvenOddPairsInTheRange) {
  const uint16_t base = FindFreePorts(8);
  ASSERT_NE(base, 0);
  PortAllocator allocator("127.0.0.1", base, base + 7);
  std::set<uint16_t> seen;
  std::vector<PortPair> pairs;
  for (int i = 0; i < 4; ++i) {
    auto pair = allocator.AllocatePair();
    ASSERT_TRUE(pair) << i;
    EXPECT_EQ(pair->rtp.port % 2, 0);
    EXPECT_EQ(pair->rtcp.port, pair->rtp.port + 1);
    EXPECT_GE(pair->rtp.port, base);
    EXPECT_LE(pair->rtcp.port, base + 7);
    // The sockets are really bound where the allocator says.
    EXPECT_EQ(BoundPortOf(pair->rtp.fd.get()), pair->rtp.port);
    EXPECT_EQ(BoundPortOf(pair->rtcp.fd.get()), pair->rtcp.port);
    EXPECT_TRUE(seen.insert(pair->rtp.port).second);
    pairs.push_back(std::move(*pair));
  }
  EXPECT_EQ(allocator.InUse(), 8u);
  EXPECT_FALSE(allocator.AllocatePair());  // Exhausted.
  EXPECT_FALSE(allocator.AllocatePort());

  // A released pair comes back (its sockets closed by the caller first).
  const uint16_t released = pairs[1].rtp.port;
  pairs[1] = PortPair{};
  allocator.Release(PortPair{BoundPort{{}, released}, BoundPort{{}, uint16_t(released + 1)}});
  EXPECT_EQ(allocator.InUse(), 6u);
  auto again = allocator.AllocatePair();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rtp.port, released);
}

TEST(PortAllocatorTest, SkipsPortsHeldByAnotherProgram) {
  const uint16_t base = FindFreePorts(6);
  ASSERT_NE(base, 0);
  // Someone else holds the first pair's RTP port and the second pair's RTCP port.
  const int foreign_rtp = BindLoopback(base);
  const int foreign_rtcp = BindLoopback(base + 3);
  ASSERT_GE(foreign_rtp, 0);
  ASSERT_GE(foreign_rtcp, 0);

  PortAllocator allocator("127.0.0.1", base, base + 5);
  auto pair = allocator.AllocatePair();
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->rtp.port, base + 4);
  EXPECT_FALSE(allocator.AllocatePair());
  // Skipped ports are not marked taken: once freed, they are handed out.
  close(foreign_rtp);
  close(foreign_rtcp);
  auto freed = allocator.AllocatePair();
  ASSERT_TRUE(freed);
  EXPECT_TRUE(freed->rtp.port == base || freed->rtp.port == base + 2);
}

TEST(PortAllocatorTest, SinglePortsSkipHeldPortsToo) {
  const uint16_t base = FindFreePorts(3);
  ASSERT_NE(base, 0);
  const int foreign = BindLoopback(base + 1);
  ASSERT_GE(foreign, 0);
  PortAllocator allocator("127.0.0.1", base, base + 2);
  auto first = allocator.AllocatePort();
  auto second = allocator.AllocatePort();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->port, base);
  EXPECT_EQ(second->port, base + 2);
  EXPECT_FALSE(allocator.AllocatePort());
  close(foreign);
}

TEST(PortAllocatorTest, ConcurrentWorkersNeverGetTheSamePort) {
  const uint16_t base = FindFreePorts(64);
  ASSERT_NE(base, 0);
  PortAllocator allocator("127.0.0.1", base, base + 63);
  std::vector<std::vector<PortPair>> got(4);
  std::vector<std::thread> threads;
  for (auto& mine : got) {
    threads.emplace_back([&allocator, &mine] {
      for (int i = 0; i < 200; ++i) {
        if (auto pair = allocator.AllocatePair()) {
          mine.push_back(std::move(*pair));
        }
        if (mine.size() > 4) {  // Churn: give one back now and then.
          const uint16_t port = mine.front().rtp.port;
          mine.erase(mine.begin());
          allocator.Release(port);
          allocator.Release(static_cast<uint16_t>(port + 1));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<uint16_t> ports;
  size_t total = 0;
  for (const auto& mine : got) {
    for (const auto& pair : mine) {
      EXPECT_TRUE(ports.insert(pair.rtp.port).second) << pair.rtp.port;
      ++total;
    }
  }
  EXPECT_EQ(allocator.InUse(), total * 2);
}

TEST(PortAllocatorTest, RejectsBadConfiguration) {
  EXPECT_THROW(PortAllocator("localhost", 20000, 20010), std::invalid_argument);
  EXPECT_THROW(PortAllocator("127.0.0.1", 20010, 20000), std::invalid_argument);
  EXPECT_THROW(PortAllocator("127.0.0.1", 0, 10), std::invalid_argument);
  // A single-port range has no pair, but is valid.
  PortAllocator single("127.0.0.1", 30001, 30001);
  EXPECT_FALSE(single.AllocatePair());
  single.Release(12);  // Not ours: ignored.
  EXPECT_EQ(single.InUse(), 0u);
}

// ---------------------------------------------------------------- UDP socket

struct Receiver final : UdpSocket::Listener {
  void OnUdpPacket(UdpSocket& socket, const uint8_t* data, size_t len,
                   const sockaddr_storage& from) override {
    packets.emplace_back(data, data + len);
    senders.push_back(from);
    if (echo) socket.SendTo(data, len, from);
    if (on_packet) on_packet();
  }
  std::vector<Bytes> packets;
  std::vector<sockaddr_storage> senders;
  bool echo = false;
  std::function<void()> on_packet;
};

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7);
  return bytes;
}

TEST(UdpSocketTest, RoundTripKeepsEveryByteAndTheSender) {
  TestLoop loop;
  Receiver a_events;
  Receiver b_events;
  b_events.echo = true;
  auto a = UdpSocket::Bind(Loopback(0), loop.context(), a_events, {});
  auto b = UdpSocket::Bind(Loopback(0), loop.context(), b_events, {});
  ASSERT_TRUE(a && b);
  ASSERT_NE(a->local_port(), 0);
  EXPECT_EQ(FormatIp(a->local_address()), "127.0.0.1");

  std::vector<Bytes> sent;
  for (size_t size : {1u, 12u, 172u, 1200u, 1500u, 2048u}) {
    sent.push_back(Pattern(size, static_cast<uint8_t>(size)));
    ASSERT_TRUE(a->SendTo(sent.back().data(), sent.back().size(), b->local_address()));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return a_events.packets.size() == sent.size(); }, 2s));
  EXPECT_EQ(b_events.packets, sent);
  EXPECT_EQ(a_events.packets, sent);
  for (const auto& from : b_events.senders) {
    EXPECT_TRUE(SameSocketAddress(from, a->local_address())) << FormatSocketAddress(from);
  }
  EXPECT_EQ(a->stats().sent, sent.size());
  EXPECT_EQ(b->stats().received, sent.size());
  EXPECT_EQ(b->stats().sent, sent.size());
}

TEST(UdpSocketTest, BurstLargerThanOneBatchArrivesInOrder) {
  TestLoop loop;
  Receiver events;
  UdpSocket::Options options;
  options.batch = 4;
  options.max_batches_per_turn = 2;
  auto receiver = UdpSocket::Bind(Loopback(0), loop.context(), events, options);
  auto sender = UdpSocket::Bind(Loopback(0), loop.context(), events, {});
  ASSERT_TRUE(receiver && sender);
  for (uint16_t i = 0; i < 100; ++i) {
    const uint8_t bytes[2] = {static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    ASSERT_TRUE(sender->SendTo(bytes, sizeof(bytes), receiver->local_address()));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return events.packets.size() == 100; }, 2s));
  for (uint16_t i = 0; i < 100; ++i) {
    EXPECT_EQ(events.packets[i], (Bytes{static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}));
  }
}

TEST(UdpSocketTest, BufferSizesAreApplied) {
  TestLoop loop;
  Receiver events;
  UdpSocket::Options small;
  small.buffer_size = 8192;
  auto socket = UdpSocket::Bind(Loopback(0), loop.context(), events, small);
  ASSERT_TRUE(socket);
  // Linux doubles the value for its bookkeeping.
  EXPECT_EQ(socket->ReceiveBufferSize(), 2 * 8192);
  EXPECT_EQ(socket->SendBufferSize(), 2 * 8192);

  UdpSocket::Options config_default;  // media.rtp_buffsize's default, 65535.
  auto other = UdpSocket::Bind(Loopback(0), loop.context(), events, config_default);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->ReceiveBufferSize(), 2 * 65535);

  // A socket from the allocator gets the same treatment.
  const uint16_t base = FindFreePorts(2);
  PortAllocator allocator("127.0.0.1", base, base + 1);
  auto pair = allocator.AllocatePair();
  ASSERT_TRUE(pair);
  auto rtp = UdpSocket::Create(std::move(pair->rtp.fd), loop.context(), events, small);
  ASSERT_TRUE(rtp);
  EXPECT_EQ(rtp->local_port(), base);
  EXPECT_EQ(rtp->ReceiveBufferSize(), 2 * 8192);
}

TEST(UdpSocketTest, GarbageAndOversizedDatagramsAreHandled) {
  TestLoop loop;
  Receiver events;
  UdpSocket::Options options;
  options.max_datagram = 1500;
  auto receiver = UdpSocket::Bind(Loopback(0), loop.context(), events, options);
  ASSERT_TRUE(receiver);
  const int raw = socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_storage to = receiver->local_address();
  auto send_raw = [&](const Bytes& bytes) {
    sendto(raw, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
           sizeof(sockaddr_in));
  };
  std::mt19937 random(7);
  send_raw({});                 // Empty datagram.
  send_raw(Bytes(3000, 0xff));  // Longer than max_datagram: dropped, counted.
  for (int i = 0; i < 20; ++i) {
    Bytes junk(random() % 1500);
    for (auto& byte : junk) byte = static_cast<uint8_t>(random());
    send_raw(junk);
  }
  send_raw({1, 2, 3});
  ASSERT_TRUE(loop.RunUntil([&] { return events.packets.size() == 22; }, 2s));
  EXPECT_TRUE(events.packets.front().empty());
  EXPECT_EQ(events.packets.back(), (Bytes{1, 2, 3}));
  EXPECT_EQ(receiver->stats().truncated, 1u);
  EXPECT_EQ(receiver->stats().received, 22u);
  close(raw);
}

TEST(UdpSocketTest, ListenerMayDestroyTheSocketFromItsCallback) {
  TestLoop loop;
  Receiver events;
  std::unique_ptr<UdpSocket> receiver = UdpSocket::Bind(Loopback(0), loop.context(), events, {});
  auto sender = UdpSocket::Bind(Loopback(0), loop.context(), events, {});
  ASSERT_TRUE(receiver && sender);
  const sockaddr_storage to = receiver->local_address();
  events.on_packet = [&] { receiver.reset(); };
  // Several datagrams wait in one batch; the first one destroys the socket.
  for (uint8_t i = 0; i < 10; ++i) ASSERT_TRUE(sender->SendTo(&i, 1, to));
  ASSERT_TRUE(loop.RunUntil([&] { return receiver == nullptr; }, 2s));
  loop.RunFor(100ms);
  EXPECT_EQ(events.packets.size(), 1u);
}

// Every socket of a context shares one epoll set: one fd in GLib's poll array for all.
TEST(UdpSocketTest, SocketsOfOneContextShareOnePoller) {
  TestLoop loop;
  TestLoop other;
  Receiver events;
  auto poller = SocketPoller::ForContext(loop.context());
  ASSERT_TRUE(poller);
  std::vector<std::unique_ptr<UdpSocket>> sockets;
  for (int i = 0; i < 20; ++i) sockets.push_back(UdpSocket::Bind(Loopback(0), loop.context(), events, {}));
  auto elsewhere = UdpSocket::Bind(Loopback(0), other.context(), events, {});
  EXPECT_EQ(poller->size(), 20u);
  EXPECT_EQ(SocketPoller::ForContext(loop.context()), poller);
  EXPECT_NE(SocketPoller::ForContext(other.context()), poller);
  // Every one still reads its own datagrams.
  for (auto& s : sockets) {
    const uint8_t byte = static_cast<uint8_t>(s->local_port());
    ASSERT_TRUE(sockets[0]->SendTo(&byte, 1, s->local_address()));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return events.packets.size() == sockets.size(); }, 2s));
  sockets.clear();
  EXPECT_EQ(poller->size(), 0u);
}

// The receive buffers belong to the thread: sockets of different datagram limits read into the
// same area, each keeps its own limit, and every datagram is intact.
TEST(UdpSocketTest, SocketsOfOneThreadShareReceiveBuffersSafely) {
  TestLoop loop;
  Receiver small_events;
  Receiver large_events;
  UdpSocket::Options small_options;
  small_options.max_datagram = 1500;
  small_options.batch = 4;
  UdpSocket::Options large_options;
  large_options.max_datagram = 4000;
  auto small = UdpSocket::Bind(Loopback(0), loop.context(), small_events, small_options);
  auto large = UdpSocket::Bind(Loopback(0), loop.context(), large_events, large_options);
  auto sender = UdpSocket::Bind(Loopback(0), loop.context(), small_events, {});
  ASSERT_TRUE(small && large && sender);
  std::vector<Bytes> to_small;
  std::vector<Bytes> to_large;
  for (uint8_t i = 0; i < 20; ++i) {
    to_small.push_back(Pattern(100 + i * 60u, i));
    to_large.push_back(Pattern(1400 + i * 120u, static_cast<uint8_t>(i + 100)));
    ASSERT_TRUE(sender->SendTo(to_small.back().data(), to_small.back().size(), small->local_address()));
    ASSERT_TRUE(sender->SendTo(to_large.back().data(), to_large.back().size(), large->local_address()));
  }
  ASSERT_TRUE(loop.RunUntil(
      [&] { return small_events.packets.size() == 20 && large_events.packets.size() == 20; }, 2s));
  EXPECT_EQ(small_events.packets, to_small);  // All under 1500 bytes.
  EXPECT_EQ(large_events.packets, to_large);  // Up to 3680 bytes.
  const Bytes too_long = Pattern(1600, 9);
  ASSERT_TRUE(sender->SendTo(too_long.data(), too_long.size(), small->local_address()));
  ASSERT_TRUE(sender->SendTo(too_long.data(), too_long.size(), large->local_address()));
  ASSERT_TRUE(loop.RunUntil([&] { return large_events.packets.size() == 21; }, 2s));
  loop.RunFor(50ms);
  EXPECT_EQ(small->stats().truncated, 1u);  // Its own limit, not the larger socket's.
  EXPECT_EQ(small_events.packets.size(), 20u);
  EXPECT_EQ(large_events.packets.back(), too_long);
}

// A GSource that is ready on every loop iteration and counts them.
struct IterationCounter {
  explicit IterationCounter(GMainContext* context) {
    static GSourceFuncs funcs = {
        [](GSource*, gint* timeout) -> gboolean {
          *timeout = 0;
          return TRUE;
        },
        nullptr,
        [](GSource* counted, GSourceFunc, gpointer) -> gboolean {
          ++reinterpret_cast<Source*>(counted)->count;
          return G_SOURCE_CONTINUE;
        },
        nullptr, nullptr, nullptr};
    source = reinterpret_cast<Source*>(g_source_new(&funcs, sizeof(Source)));
    source->count = 0;
    g_source_attach(&source->base, context);
  }
  ~IterationCounter() {
    g_source_destroy(&source->base);
    g_source_unref(&source->base);
  }
  int count() const { return source->count; }
  struct Source {
    GSource base;
    int count;
  };
  Source* source;
};

// With a batch window, a datagram that arrives while the poller pauses after serving one is
// served in the same turn of the loop; without, in the next one.
TEST(SocketPollerTest, BatchWindowServesWhatArrivesDuringThePauseInTheSameTurn) {
  for (const auto window : {std::chrono::microseconds(0), std::chrono::microseconds(20000)}) {
    TestLoop loop;
    auto poller = SocketPoller::ForContext(loop.context());
    poller->SetBatchWindow(window);
    IterationCounter iterations(loop.context());
    Receiver first_events;
    Receiver second_events;
    auto first = UdpSocket::Bind(Loopback(0), loop.context(), first_events, {});
    auto second = UdpSocket::Bind(Loopback(0), loop.context(), second_events, {});
    auto sender = UdpSocket::Bind(Loopback(0), loop.context(), first_events, {});
    ASSERT_TRUE(first && second && sender);
    int first_at = -1;
    int second_at = -1;
    // Serving the first sends the second's datagram: it is ready once this listener returns.
    first_events.on_packet = [&] {
      first_at = iterations.count();
      const uint8_t byte = 2;
      sender->SendTo(&byte, 1, second->local_address());
    };
    second_events.on_packet = [&] { second_at = iterations.count(); };
    const uint8_t byte = 1;
    ASSERT_TRUE(sender->SendTo(&byte, 1, first->local_address()));
    ASSERT_TRUE(loop.RunUntil([&] { return second_at >= 0; }, 2s));
    if (window.count() > 0) {
      EXPECT_EQ(second_at, first_at);
    } else {
      EXPECT_GT(second_at, first_at);
    }
  }
}

// Sockets that never go quiet (two echoing each other) do not keep a batching poller from
// returning to the loop: the worker's timers still run.
TEST(SocketPollerTest, BatchingTurnEndsUnderEndlessTraffic) {
  TestLoop loop;
  SocketPoller::ForContext(loop.context())->SetBatchWindow(std::chrono::microseconds(50));
  Receiver a_events;
  Receiver b_events;
  a_events.echo = true;
  b_events.echo = true;
  auto a = UdpSocket::Bind(Loopback(0), loop.context(), a_events, {});
  auto b = UdpSocket::Bind(Loopback(0), loop.context(), b_events, {});
  ASSERT_TRUE(a && b);
  const uint8_t byte = 5;
  ASSERT_TRUE(a->SendTo(&byte, 1, b->local_address()));
  bool fired = false;
  GSource* timer = g_timeout_source_new(10);
  g_source_set_callback(
      timer, [](gpointer flag) -> gboolean {
        *static_cast<bool*>(flag) = true;
        return G_SOURCE_REMOVE;
      },
      &fired, nullptr);
  g_source_attach(timer, loop.context());
  ASSERT_TRUE(loop.RunUntil([&] { return fired; }, 2s));
  EXPECT_GT(a_events.packets.size() + b_events.packets.size(), 10u);  // Traffic went on.
  g_source_destroy(timer);
  g_source_unref(timer);
}

// ---------------------------------------------------------------- batched I/O (io_uring)

// The context's poller with batched I/O on; nullptr (and `why`) where io_uring is unavailable.
std::shared_ptr<SocketPoller> BatchingPoller(TestLoop& loop, std::string* why) {
  auto poller = SocketPoller::ForContext(loop.context());
  return poller->EnableBatchedIo(why) ? poller : nullptr;
}

#define BATCHING_POLLER_OR_SKIP(poller, loop)                                   \
  std::string why_unavailable;                                                  \
  auto poller = BatchingPoller(loop, &why_unavailable);                         \
  if (!poller) GTEST_SKIP() << "io_uring unavailable here: " << why_unavailable

// What a handler sends inside a turn is queued and flushed together (fewer submissions than
// datagrams), arrives whole, in order and from the right port, and counts on its socket.
TEST(BatchedIoTest, SendsInsideATurnGoOutTogetherInOrder) {
  TestLoop loop;
  BATCHING_POLLER_OR_SKIP(poller, loop);
  ASSERT_NE(poller->batcher(), nullptr);
  Receiver a_events;
  Receiver b_events;
  b_events.echo = true;
  auto a = UdpSocket::Bind(Loopback(0), loop.context(), a_events, {});
  auto b = UdpSocket::Bind(Loopback(0), loop.context(), b_events, {});
  ASSERT_TRUE(a && b);
  std::vector<Bytes> sent;
  for (size_t i = 0; i < 40; ++i) {
    sent.push_back(Pattern(1 + (i * 97) % 2048, static_cast<uint8_t>(i)));
    // Outside a turn: sent at once, counted at once.
    ASSERT_TRUE(a->SendTo(sent.back().data(), sent.back().size(), b->local_address()));
    EXPECT_EQ(a->stats().sent, i + 1);
  }
  ASSERT_TRUE(loop.RunUntil([&] { return a_events.packets.size() == sent.size(); }, 2s));
  EXPECT_EQ(a_events.packets, sent);
  for (const auto& from : a_events.senders) {
    EXPECT_TRUE(SameSocketAddress(from, b->local_address())) << FormatSocketAddress(from);
  }
  EXPECT_EQ(b->stats().sent, sent.size());
  EXPECT_EQ(b->stats().send_errors + b->stats().send_dropped, 0u);
  const IoBatcher::Stats& stats = poller->batcher()->stats();
  EXPECT_EQ(stats.datagrams, sent.size());  // The echoes; a's sends were outside any turn.
  EXPECT_LT(stats.flushes, stats.datagrams);
  EXPECT_GT(stats.submitted, 0u);
  EXPECT_EQ(stats.submit_errors, 0u);
  EXPECT_EQ(poller->batcher()->queued(), 0u);
}

// A socket destroyed right after queueing a datagram sends it before its fd closes.
TEST(BatchedIoTest, ASocketClosedWithDatagramsQueuedSendsThemFirst) {
  TestLoop loop;
  BATCHING_POLLER_OR_SKIP(poller, loop);
  Receiver a_events;
  Receiver b_events;
  b_events.echo = true;
  auto a = UdpSocket::Bind(Loopback(0), loop.context(), a_events, {});
  std::unique_ptr<UdpSocket> b = UdpSocket::Bind(Loopback(0), loop.context(), b_events, {});
  ASSERT_TRUE(a && b);
  b_events.echo = false;
  const Bytes ping = Pattern(172, 9);
  const Bytes pong = Pattern(300, 3);
  b_events.on_packet = [&] {
    // Two datagrams queued (a flush of two goes through io_uring, one would go by sendto).
    ASSERT_TRUE(b->SendTo(ping.data(), ping.size(), a->local_address()));
    ASSERT_TRUE(b->SendTo(pong.data(), pong.size(), a->local_address()));
    EXPECT_EQ(poller->batcher()->queued(), 2u);  // Not sent yet.
    b.reset();
  };
  const uint64_t submitted_before = poller->batcher()->stats().submitted;
  ASSERT_TRUE(a->SendTo(ping.data(), ping.size(), b->local_address()));
  ASSERT_TRUE(loop.RunUntil([&] { return a_events.packets.size() == 2; }, 2s));
  EXPECT_EQ(a_events.packets, (std::vector<Bytes>{ping, pong}));
  EXPECT_EQ(poller->batcher()->queued(), 0u);
  EXPECT_EQ(poller->batcher()->stats().submitted, submitted_before + 2);
}

// A batched send the kernel refuses is counted against its socket when the batch goes; the
// other datagrams of the batch go.
TEST(BatchedIoTest, ARefusedDatagramIsCountedAndTheRestOfTheBatchGoes) {
  TestLoop loop;
  BATCHING_POLLER_OR_SKIP(poller, loop);
  Receiver a_events;
  Receiver b_events;
  auto a = UdpSocket::Bind(Loopback(0), loop.context(), a_events, {});
  auto b = UdpSocket::Bind(Loopback(0), loop.context(), b_events, {});
  ASSERT_TRUE(a && b);
  const sockaddr_storage nowhere = Loopback(0);  // UDP refuses port 0 (EINVAL).
  b_events.on_packet = [&] {
    const uint8_t byte = 7;
    EXPECT_TRUE(b->SendTo(&byte, 1, nowhere));  // Queued: the verdict comes with the batch.
    EXPECT_TRUE(b->SendTo(&byte, 1, a->local_address()));
  };
  const uint8_t ping = 1;
  ASSERT_TRUE(a->SendTo(&ping, 1, b->local_address()));
  ASSERT_TRUE(loop.RunUntil([&] { return a_events.packets.size() == 1; }, 2s));
  EXPECT_EQ(b->stats().send_errors, 1u);
  EXPECT_EQ(b->stats().sent, 1u);
}

// The ready sockets of a round are read in one submission each way: many sockets with one
// datagram each need fewer submissions than sockets, and every datagram arrives whole with its
// sender.
TEST(BatchedIoTest, ReadySocketsAreReadTogether) {
  TestLoop loop;
  BATCHING_POLLER_OR_SKIP(poller, loop);
  Receiver events;
  auto sender = UdpSocket::Bind(Loopback(0), loop.context(), events, {});
  std::vector<std::unique_ptr<UdpSocket>> sockets;
  for (int i = 0; i < 24; ++i) {
    sockets.push_back(UdpSocket::Bind(Loopback(0), loop.context(), events, {}));
    ASSERT_TRUE(sockets.back());
  }
  for (size_t i = 0; i < sockets.size(); ++i) {
    const Bytes datagram = Pattern(100 + i, static_cast<uint8_t>(i));
    ASSERT_TRUE(sender->SendTo(datagram.data(), datagram.size(), sockets[i]->local_address()));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return events.packets.size() == sockets.size(); }, 2s));
  std::vector<Bytes> expected;
  for (size_t i = 0; i < sockets.size(); ++i) {
    expected.push_back(Pattern(100 + i, static_cast<uint8_t>(i)));
    EXPECT_EQ(sockets[i]->stats().received, 1u);
    EXPECT_TRUE(SameSocketAddress(events.senders[i], sender->local_address()));
  }
  std::sort(events.packets.begin(), events.packets.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(events.packets, expected);
  const IoBatcher::Stats& stats = poller->batcher()->stats();
  // 24 ready sockets, 8 a submission.
  EXPECT_GT(stats.read_batches, 0u);
  EXPECT_LE(stats.read_batches, 3u);
  EXPECT_EQ(stats.submit_errors, 0u);
}

// A socket with a burst waiting is drained in the turn that finds it, in order, not one
// datagram a round; an oversized datagram is counted as truncated, as without batching.
TEST(BatchedIoTest, ABurstIsReadInOneTurnInOrderAndOversizeIsTruncated) {
  TestLoop loop;
  BATCHING_POLLER_OR_SKIP(poller, loop);
  IterationCounter iterations(loop.context());
  Receiver events;
  UdpSocket::Options options;
  options.max_datagram = 300;
  auto receiver = UdpSocket::Bind(Loopback(0), loop.context(), events, options);
  auto sender = UdpSocket::Bind(Loopback(0), loop.context(), events, {});
  ASSERT_TRUE(receiver && sender);
  std::vector<Bytes> sent;
  const Bytes oversized = Pattern(301, 1);
  ASSERT_TRUE(sender->SendTo(oversized.data(), oversized.size(), receiver->local_address()));
  for (size_t i = 0; i < 40; ++i) {
    sent.push_back(Pattern(1 + i * 7, static_cast<uint8_t>(i)));
    ASSERT_TRUE(sender->SendTo(sent.back().data(), sent.back().size(), receiver->local_address()));
  }
  std::vector<int> turns;
  events.on_packet = [&] { turns.push_back(iterations.count()); };
  ASSERT_TRUE(loop.RunUntil([&] { return events.packets.size() == sent.size(); }, 2s));
  EXPECT_EQ(events.packets, sent);
  EXPECT_EQ(receiver->stats().truncated, 1u);
  EXPECT_EQ(receiver->stats().received, sent.size());
  EXPECT_EQ(turns.front(), turns.back());
}

// media_relay.batched_io reaches the worker's poller: on, its sockets read and send through
// io_uring; off, one call at a time.
TEST(BatchedIoTest, TheWorkerFollowsTheSetting) {
  for (const bool on : {false, true}) {
    Worker worker(0, {}, on);
    const bool batching = worker.Invoke(
        [&] { return SocketPoller::ForContext(worker.context())->batcher() != nullptr; });
    if (on && !batching) {
      std::string why;
      if (IoBatcher::Create(&why) == nullptr) GTEST_SKIP() << "io_uring unavailable: " << why;
    }
    EXPECT_EQ(batching, on);
  }
}

// A listener that destroys another socket whose datagram is ready in the same turn: that socket
// is never called, with or without batched I/O, and whether the destroyer reads in the batch
// or on its own (a socket for datagrams over 2 KiB) while the other waits for the batch's read.
class SocketDestroyedByAnother : public ::testing::TestWithParam<std::tuple<bool, size_t>> {};

TEST_P(SocketDestroyedByAnother, InTheSameTurnIsNotCalled) {
  const auto [batched, first_max_datagram] = GetParam();
  TestLoop loop;
  std::string why;
  if (batched && !BatchingPoller(loop, &why)) GTEST_SKIP() << "io_uring unavailable: " << why;
  Receiver first_events;
  Receiver second_events;
  UdpSocket::Options first_options;
  first_options.max_datagram = first_max_datagram;
  auto first = UdpSocket::Bind(Loopback(0), loop.context(), first_events, first_options);
  std::unique_ptr<UdpSocket> second = UdpSocket::Bind(Loopback(0), loop.context(), second_events, {});
  auto sender = UdpSocket::Bind(Loopback(0), loop.context(), first_events, {});
  ASSERT_TRUE(first && second && sender);
  bool destroyed = false;
  first_events.on_packet = [&] { second.reset(); destroyed = true; };
  second_events.on_packet = [&] { if (second) second.reset(); };
  const uint8_t byte = 7;
  // Both ready before the loop turns.
  ASSERT_TRUE(sender->SendTo(&byte, 1, second->local_address()));
  ASSERT_TRUE(sender->SendTo(&byte, 1, first->local_address()));
  usleep(20000);
  ASSERT_TRUE(loop.RunUntil([&] { return destroyed || second == nullptr; }, 2s));
  loop.RunFor(50ms);
  // Whichever ran first, no datagram reached a destroyed socket.
  EXPECT_LE(second_events.packets.size(), 1u);
  EXPECT_EQ(second, nullptr);
}

INSTANTIATE_TEST_SUITE_P(UdpSocketTest, SocketDestroyedByAnother,
                         ::testing::Values(std::make_tuple(false, size_t{2048}),
                                           std::make_tuple(true, size_t{2048}),
                                           std::make_tuple(true, size_t{4096})));

TEST(UdpSocketTest, SendsToTheRightFamilyOrRefuses) {
  TestLoop loop;
  Receiver events;
  auto socket = UdpSocket::Bind(Loopback(0), loop.context(), events, {});
  ASSERT_TRUE(socket);
  const uint8_t byte = 1;
  // An IPv6 destination on an IPv4 socket: only a v4-mapped one can be sent to.
  EXPECT_FALSE(socket->SendTo(&byte, 1, *ParseSocketAddress("[2001:db8::1]:9")));
  EXPECT_EQ(socket->stats().send_errors, 1u);
  EXPECT_TRUE(socket->SendTo(&byte, 1, MapV4ToV6(socket->local_address())));
  ASSERT_TRUE(loop.RunUntil([&] { return events.packets.size() == 1; }, 2s));
}

TEST(UdpSocketTest, CreateRefusesWhatIsNotABoundUdpSocket) {
  TestLoop loop;
  Receiver events;
  EXPECT_FALSE(UdpSocket::Create(UniqueFd(), loop.context(), events, {}));
  EXPECT_FALSE(
      UdpSocket::Create(UniqueFd(socket(AF_INET, SOCK_STREAM, 0)), loop.context(), events, {}));
  // Never bound: no port.
  EXPECT_FALSE(
      UdpSocket::Create(UniqueFd(socket(AF_INET, SOCK_DGRAM, 0)), loop.context(), events, {}));
}

// ---------------------------------------------------------------- timer queue

TEST(TimerQueueTest, PeriodicTimersShareOneQueueAndStop) {
  TestLoop loop;
  int fast = 0;
  int slow = 0;
  int once = 0;
  QueuedTimer a;
  QueuedTimer b;
  QueuedTimer c;
  a.Start(loop.context(), 10ms, [&] { ++fast; return true; });
  b.Start(loop.context(), 40ms, [&] { ++slow; return true; });
  c.Start(loop.context(), 5ms, [&] { ++once; return false; });
  EXPECT_EQ(TimerQueue::ForContext(loop.context())->size(), 3u);
  ASSERT_TRUE(loop.RunUntil([&] { return slow >= 3; }, 2s));
  // Periods hold relative to each other: the 10 ms timer ran about four times per 40 ms one.
  EXPECT_GE(fast, 3 * slow - 2);
  EXPECT_EQ(once, 1);  // Returned false: not again.
  b.Stop();
  const int slow_at_stop = slow;
  loop.RunFor(100ms);
  EXPECT_EQ(slow, slow_at_stop);
  EXPECT_GT(fast, 8);
}

TEST(TimerQueueTest, ACallbackMayStopAnotherDueInTheSameTurn) {
  TestLoop loop;
  auto queue = TimerQueue::ForContext(loop.context());
  int first = 0;
  int second = 0;
  uint64_t second_token = 0;
  queue->Add(10ms, [&] { ++first; queue->Remove(second_token); return true; });
  second_token = queue->Add(10ms, [&] { ++second; return true; });
  // Both are due in the same turn; the first one runs first and removes the second.
  usleep(30000);
  ASSERT_TRUE(loop.RunUntil([&] { return first >= 2; }, 2s));
  EXPECT_EQ(second, 0);
  EXPECT_EQ(queue->size(), 1u);
}

}  // namespace
}  // namespace webrtc2sip::media
