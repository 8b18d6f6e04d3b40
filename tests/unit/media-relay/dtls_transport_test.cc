// Two DtlsTransports back to back over their Listener callbacks: memory only, no socket. The
// only clock is OpenSSL's own retransmission timer, run with millisecond timeouts.

#include "services/media-relay/dtls/dtls_transport.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <random>
#include <thread>

#include "services/media-relay/srtp/srtp_session.h"
#include "tests/unit/media-relay/test_packets.h"

namespace webrtc2sip::media {
namespace {

using Datagram = std::vector<uint8_t>;
constexpr SrtpProfile kCm80 = SrtpProfile::kAes128CmSha1_80;
constexpr SrtpProfile kCm32 = SrtpProfile::kAes128CmSha1_32;
constexpr SrtpProfile kGcm128 = SrtpProfile::kAeadAes128Gcm;
constexpr SrtpProfile kGcm256 = SrtpProfile::kAeadAes256Gcm;

struct Endpoint final : DtlsTransport::Listener {
  void OnDtlsSendData(const uint8_t* data, size_t len) override {
    sent.emplace_back(data, data + len);
    ++datagrams_sent;
    largest_datagram = std::max(largest_datagram, len);
  }
  void OnDtlsConnected(SrtpProfile p, SrtpKeyMaterial k) override {
    ++connected;
    profile = p;
    keys = std::move(k);
  }
  void OnDtlsFailed(DtlsFailure reason) override { failure = reason; }
  void OnDtlsClosed() override { ++closed; }

  bool done() const { return connected > 0 || failure.has_value(); }

  std::deque<Datagram> sent;
  int datagrams_sent = 0;
  size_t largest_datagram = 0;
  int connected = 0;
  int closed = 0;
  std::optional<SrtpProfile> profile;
  std::optional<SrtpKeyMaterial> keys;
  std::optional<DtlsFailure> failure;
};

// What travels between the two: `index` counts datagrams per direction. Returns what to
// deliver instead (nothing drops it).
using Filter = std::function<std::vector<Datagram>(bool from_client, int index, Datagram)>;

class DtlsPair {
 public:
  explicit DtlsPair(std::vector<SrtpProfile> client_profiles = {kGcm256, kGcm128, kCm80},
                    std::vector<SrtpProfile> server_profiles = {kGcm256, kGcm128, kCm80},
                    DtlsTransport::Options options = FastOptions())
      : client_cert_(DtlsCertificate::Generate()), server_cert_(DtlsCertificate::Generate()) {
    client = std::make_unique<DtlsTransport>(
        DtlsContext::Create(client_cert_, {std::move(client_profiles)}), &client_ep, options);
    server = std::make_unique<DtlsTransport>(
        DtlsContext::Create(server_cert_, {std::move(server_profiles)}), &server_ep, options);
  }

  static DtlsTransport::Options FastOptions() {
    DtlsTransport::Options options;
    options.initial_timeout = std::chrono::milliseconds(20);
    options.max_timeout = std::chrono::milliseconds(40);
    return options;
  }

  DtlsFingerprint ClientFingerprint() const { return {"sha-256", client_cert_->fingerprint()}; }
  DtlsFingerprint ServerFingerprint() const { return {"sha-256", server_cert_->fingerprint()}; }

  void Start() {
    ASSERT_TRUE(server->Start(DtlsRole::kServer, ClientFingerprint()));
    ASSERT_TRUE(client->Start(DtlsRole::kClient, ServerFingerprint()));
  }

  // Delivers queued datagrams both ways until both queues are empty.
  void Pump() {
    for (int guard = 0; guard < 1000; ++guard) {
      const bool moved = Deliver(true) | Deliver(false);
      if (!moved) return;
    }
    FAIL() << "datagrams never stop";
  }

  // Pumps, and lets retransmission timers fire, until both sides are done or quiet.
  void Run() {
    for (int round = 0; round < 200; ++round) {
      Pump();
      if (client_ep.done() && server_ep.done()) return;
      std::optional<std::chrono::milliseconds> wait;
      for (DtlsTransport* t : {client.get(), server.get()}) {
        const auto next = t->NextTimeout();
        if (next && (!wait || *next < *wait)) wait = next;
      }
      if (!wait) return;
      std::this_thread::sleep_for(*wait + std::chrono::milliseconds(1));
      client->HandleTimeout();
      server->HandleTimeout();
    }
  }

  Filter filter;
  Endpoint client_ep;
  Endpoint server_ep;
  std::unique_ptr<DtlsTransport> client;
  std::unique_ptr<DtlsTransport> server;
  int delivered[2] = {0, 0};  // Server to client, client to server.

 private:
  bool Deliver(bool from_client) {
    Endpoint& from = from_client ? client_ep : server_ep;
    DtlsTransport& to = from_client ? *server : *client;
    if (from.sent.empty()) return false;
    Datagram d = std::move(from.sent.front());
    from.sent.pop_front();
    const int index = delivered[from_client]++;
    std::vector<Datagram> out;
    if (filter) {
      out = filter(from_client, index, std::move(d));
    } else {
      out.push_back(std::move(d));
    }
    for (const Datagram& datagram : out) to.ProcessIncoming(datagram.data(), datagram.size());
    return true;
  }

  std::shared_ptr<const DtlsCertificate> client_cert_;
  std::shared_ptr<const DtlsCertificate> server_cert_;
};

// Both sides connected with the same profile, mirrored keys, and keys that work for SRTP.
void ExpectConnected(const DtlsPair& pair, SrtpProfile expected) {
  ASSERT_EQ(pair.client_ep.connected, 1);
  ASSERT_EQ(pair.server_ep.connected, 1);
  EXPECT_FALSE(pair.client_ep.failure.has_value());
  EXPECT_FALSE(pair.server_ep.failure.has_value());
  EXPECT_EQ(pair.client->state(), DtlsState::kConnected);
  EXPECT_EQ(pair.server->state(), DtlsState::kConnected);
  EXPECT_EQ(pair.client_ep.profile, expected);
  EXPECT_EQ(pair.server_ep.profile, expected);
  const SrtpKeyMaterial& c = *pair.client_ep.keys;
  const SrtpKeyMaterial& s = *pair.server_ep.keys;
  EXPECT_EQ(c.local, s.remote);
  EXPECT_EQ(c.remote, s.local);
  EXPECT_NE(c.local, c.remote);
  EXPECT_TRUE(SrtpMasterKeyFits(expected, c.local));
  EXPECT_TRUE(SrtpMasterKeyFits(expected, c.remote));
  EXPECT_EQ(pair.client->NextTimeout(), std::nullopt);
  EXPECT_EQ(pair.server->NextTimeout(), std::nullopt);

  auto tx = CreateSrtpSession(SrtpImpl::kEvp, SrtpDirection::kOutbound, expected, c.local);
  auto rx = CreateSrtpSession(SrtpImpl::kLibSrtp, SrtpDirection::kInbound, expected, s.remote);
  ASSERT_NE(tx, nullptr);
  ASSERT_NE(rx, nullptr);
  testing::Packet p = testing::MakeRtp(0x1234, 1);
  ASSERT_EQ(tx->ProtectRtp(p.buf(), &p.len, p.data.size()), SrtpResult::kOk);
  EXPECT_EQ(rx->UnprotectRtp(p.buf(), &p.len), SrtpResult::kOk);
}

struct ProfileCase {
  const char* name;
  std::vector<SrtpProfile> client;
  std::vector<SrtpProfile> server;
  SrtpProfile expected;
};

class DtlsProfileTest : public ::testing::TestWithParam<ProfileCase> {};

TEST_P(DtlsProfileTest, HandshakeExportsMatchingKeys) {
  DtlsPair pair(GetParam().client, GetParam().server);
  pair.Start();
  pair.Run();
  ExpectConnected(pair, GetParam().expected);
  EXPECT_LE(pair.client_ep.largest_datagram, 1200u);
  EXPECT_LE(pair.server_ep.largest_datagram, 1200u);
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, DtlsProfileTest,
    ::testing::Values(
        ProfileCase{"Defaults", {kGcm256, kGcm128, kCm80}, {kGcm256, kGcm128, kCm80}, kGcm256},
        ProfileCase{"ClientGcm128", {kGcm128, kCm80}, {kGcm256, kGcm128, kCm80}, kGcm128},
        ProfileCase{"ClientCm80Only", {kCm80}, {kGcm256, kGcm128, kCm80}, kCm80},
        ProfileCase{"ServerGcm128Only", {kGcm256, kGcm128, kCm80}, {kGcm128}, kGcm128},
        ProfileCase{"ServerPreferenceWins", {kCm80, kGcm128}, {kGcm128, kCm80}, kGcm128},
        ProfileCase{"Cm32", {kCm32}, {kCm80, kCm32}, kCm32}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(DtlsTransportTest, NoCommonProfileFailsWithoutKeys) {
  DtlsPair pair({kCm32}, {kCm80});
  pair.Start();
  pair.Run();
  EXPECT_EQ(pair.server_ep.failure, DtlsFailure::kHandshake);
  EXPECT_EQ(pair.client_ep.failure, DtlsFailure::kHandshake);
  EXPECT_EQ(pair.client_ep.connected + pair.server_ep.connected, 0);
}

TEST(DtlsTransportTest, ClientSeesWrongServerFingerprint) {
  DtlsPair pair;
  DtlsFingerprint wrong = pair.ServerFingerprint();
  wrong.value[0] = wrong.value[0] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(pair.server->Start(DtlsRole::kServer, pair.ClientFingerprint()));
  ASSERT_TRUE(pair.client->Start(DtlsRole::kClient, wrong));
  pair.Run();
  EXPECT_EQ(pair.client_ep.failure, DtlsFailure::kFingerprintMismatch);
  EXPECT_EQ(pair.client_ep.connected, 0);
  EXPECT_FALSE(pair.client_ep.keys.has_value());
  EXPECT_EQ(pair.client->state(), DtlsState::kFailed);
  // The server finished its side, then heard close_notify.
  EXPECT_EQ(pair.server_ep.closed, 1);
}

TEST(DtlsTransportTest, ServerSeesWrongClientFingerprint) {
  DtlsPair pair;
  DtlsFingerprint wrong = pair.ClientFingerprint();
  wrong.value.back() = wrong.value.back() == '0' ? '1' : '0';
  ASSERT_TRUE(pair.server->Start(DtlsRole::kServer, wrong));
  ASSERT_TRUE(pair.client->Start(DtlsRole::kClient, pair.ServerFingerprint()));
  pair.Run();
  EXPECT_EQ(pair.server_ep.failure, DtlsFailure::kFingerprintMismatch);
  EXPECT_EQ(pair.server_ep.connected, 0);
  EXPECT_FALSE(pair.server_ep.keys.has_value());
}

TEST(DtlsTransportTest, OtherFingerprintAlgorithmsVerify) {
  DtlsPair pair;
  // What a browser may put in a=fingerprint: the algorithm in capitals, lowercase hex.
  ASSERT_TRUE(pair.server->Start(DtlsRole::kServer, pair.ClientFingerprint()));
  DtlsFingerprint fp = pair.ServerFingerprint();
  for (char& c : fp.value) c = static_cast<char>(std::tolower(c));
  fp.algorithm = "SHA-256";
  ASSERT_TRUE(pair.client->Start(DtlsRole::kClient, fp));
  pair.Run();
  ExpectConnected(pair, kGcm256);
}

TEST(DtlsTransportTest, StartOnceAndOnlyWithAKnownAlgorithm) {
  DtlsPair pair;
  EXPECT_FALSE(pair.client->Start(DtlsRole::kClient, {"md5", "AB"}));
  EXPECT_EQ(pair.client->state(), DtlsState::kNew);
  EXPECT_EQ(pair.client_ep.datagrams_sent, 0);  // Nothing sent before Start.
  EXPECT_TRUE(pair.client->Start(DtlsRole::kClient, pair.ServerFingerprint()));
  EXPECT_EQ(pair.client_ep.datagrams_sent, 1);  // The ClientHello, at once.
  EXPECT_FALSE(pair.client->Start(DtlsRole::kServer, pair.ServerFingerprint()));
  EXPECT_EQ(pair.client->role(), DtlsRole::kClient);
}

// The browser's ClientHello may arrive before signaling tells us our role.
TEST(DtlsTransportTest, ClientHelloBeforeStartIsKeptForTheServer) {
  DtlsPair pair;
  ASSERT_TRUE(pair.client->Start(DtlsRole::kClient, pair.ServerFingerprint()));
  pair.Pump();  // Reaches a server that has not started.
  EXPECT_EQ(pair.server_ep.datagrams_sent, 0);
  EXPECT_EQ(pair.server->state(), DtlsState::kNew);
  ASSERT_TRUE(pair.server->Start(DtlsRole::kServer, pair.ClientFingerprint()));
  pair.Run();
  ExpectConnected(pair, kGcm256);
}

TEST(DtlsTransportTest, KeepsOnlyAFewDatagramsBeforeStart) {
  DtlsPair pair;
  const uint8_t record[13 + 2] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0, 0};
  for (size_t i = 0; i < DtlsTransport::kMaxEarlyDatagrams; ++i) {
    EXPECT_TRUE(pair.server->ProcessIncoming(record, sizeof(record)));
  }
  EXPECT_FALSE(pair.server->ProcessIncoming(record, sizeof(record)));
  EXPECT_EQ(pair.server_ep.datagrams_sent, 0);
  pair.server->Close();  // Closing before Start drops them and sends nothing.
  EXPECT_EQ(pair.server->state(), DtlsState::kClosed);
  EXPECT_FALSE(pair.server->ProcessIncoming(record, sizeof(record)));
  EXPECT_FALSE(pair.server->Start(DtlsRole::kServer, pair.ClientFingerprint()));
  EXPECT_EQ(pair.server_ep.datagrams_sent, 0);
}

// Drops datagrams (by direction and index); timers bring the handshake back. OpenSSL sends a
// flight as one datagram when it fits the MTU: ClientHello; ServerHello to ServerHelloDone;
// Certificate to Finished; ChangeCipherSpec and Finished. Retransmissions send one record per
// datagram.
struct LossCase {
  const char* name;
  bool from_client;
  std::vector<int> indexes;  // Datagrams of that direction to drop, counted from 0.
};

class DtlsLossTest : public ::testing::TestWithParam<LossCase> {};

TEST_P(DtlsLossTest, LostFlightRecoversThroughHandleTimeout) {
  DtlsPair pair;
  size_t dropped = 0;
  const LossCase& loss = GetParam();
  pair.filter = [&](bool from_client, int index, Datagram d) -> std::vector<Datagram> {
    if (from_client == loss.from_client &&
        std::find(loss.indexes.begin(), loss.indexes.end(), index) != loss.indexes.end()) {
      ++dropped;
      return {};
    }
    return {std::move(d)};
  };
  pair.Start();
  pair.Run();
  EXPECT_EQ(dropped, loss.indexes.size());
  ExpectConnected(pair, kGcm256);
}

INSTANTIATE_TEST_SUITE_P(Flights, DtlsLossTest,
                         ::testing::Values(LossCase{"ClientHello", true, {0}},
                                           LossCase{
                                               "ClientHelloAndItsRetransmission", true, {0, 1}},
                                           LossCase{"ServerHelloFlight", false, {0}},
                                           LossCase{"ClientFinishedFlight", true, {1}},
                                           LossCase{"ServerFinishedFlight", false, {1}},
                                           LossCase{"ServerFinishedFlightTwice", false, {1, 2}}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(DtlsTransportTest, GivesUpWithTimeoutWhenNobodyAnswers) {
  DtlsTransport::Options options = DtlsPair::FastOptions();
  options.max_retransmissions = 3;
  DtlsPair pair({kGcm256}, {kGcm256}, options);
  pair.filter = [](bool, int, const Datagram&) { return std::vector<Datagram>{}; };
  pair.Start();
  pair.Run();
  EXPECT_EQ(pair.client_ep.failure, DtlsFailure::kTimeout);
  EXPECT_EQ(pair.client_ep.datagrams_sent, 4);  // ClientHello and 3 retransmissions.
  EXPECT_EQ(pair.client->NextTimeout(), std::nullopt);
  EXPECT_FALSE(pair.server_ep.done());
}

// Record layer helpers for rewriting what the client sends.
uint64_t RecordSeq(const Datagram& d, size_t at) {
  uint64_t seq = 0;
  for (size_t i = 5; i < 11; ++i) seq = seq << 8 | d[at + i];
  return seq;
}
void SetRecordSeq(Datagram& d, size_t at, uint64_t seq) {
  for (size_t i = 10; i >= 5; --i, seq >>= 8) d[at + i] = static_cast<uint8_t>(seq);
}
size_t RecordLength(const Datagram& d, size_t at) {
  return 13 + (d[at + 11] << 8 | d[at + 12]);
}

// One handshake fragment (RFC 6347 4.2.2) of `record`'s message, as a record of its own.
Datagram Fragment(const Datagram& record, size_t offset, size_t length, uint64_t seq) {
  Datagram out(25 + length);
  std::copy_n(record.begin(), 25, out.begin());  // Record and handshake headers.
  std::copy_n(record.begin() + 25 + static_cast<ptrdiff_t>(offset), length, out.begin() + 25);
  const size_t body = 12 + length;
  out[11] = static_cast<uint8_t>(body >> 8);
  out[12] = static_cast<uint8_t>(body);
  for (int i = 0; i < 3; ++i) {
    out[13 + 6 + i] = static_cast<uint8_t>(offset >> (16 - 8 * i));
    out[13 + 9 + i] = static_cast<uint8_t>(length >> (16 - 8 * i));
  }
  SetRecordSeq(out, 0, seq);
  return out;
}

// Chromium sends its ClientHello as two fragments in two datagrams (record sequence numbers
// 0 and 1); its later epoch-0 records continue from 2.
TEST(DtlsTransportTest, ClientHelloSplitOverTwoDatagrams) {
  DtlsPair pair;
  int fragments = 0;
  pair.filter = [&](bool from_client, int index, Datagram d) -> std::vector<Datagram> {
    if (!from_client) return {std::move(d)};
    if (index == 0) {
      EXPECT_EQ(d[13], 1);  // A ClientHello, alone in its datagram.
      EXPECT_EQ(RecordLength(d, 0), d.size());
      const size_t body = d.size() - 25;
      fragments = 2;
      return {Fragment(d, 0, body / 2, 0), Fragment(d, body / 2, body - body / 2, 1)};
    }
    for (size_t at = 0; at < d.size(); at += RecordLength(d, at)) {
      if (d[at + 3] == 0 && d[at + 4] == 0) SetRecordSeq(d, at, RecordSeq(d, at) + 1);
    }
    return {std::move(d)};
  };
  pair.Start();
  pair.Run();
  EXPECT_EQ(fragments, 2);
  ExpectConnected(pair, kGcm256);
}

TEST(DtlsTransportTest, GarbageIsDroppedWithoutCrashing) {
  DtlsPair pair;
  std::mt19937 rng(7);
  const auto junk = [&](size_t len, int first_byte) {
    Datagram d(len);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    if (!d.empty() && first_byte >= 0) d[0] = static_cast<uint8_t>(first_byte);
    return d;
  };
  const auto feed_junk = [&](DtlsTransport& t) {
    for (int i = 0; i < 200; ++i) {
      const Datagram d = junk(rng() % 300, i % 2 == 0 ? 0x80 : -1);  // RTP-like or random.
      if (!DtlsTransport::IsDtls(d.data(), d.size())) {
        EXPECT_FALSE(t.ProcessIncoming(d.data(), d.size()));
      }
    }
    // DTLS-looking first byte, but records that do not tile the datagram.
    for (int i = 0; i < 200; ++i) {
      Datagram d = junk(13 + rng() % 100, 20 + static_cast<int>(rng() % 5));
      d[1] = 0xfe;
      d[11] = 0x7f;  // Longer than what follows.
      EXPECT_FALSE(t.ProcessIncoming(d.data(), d.size()));
    }
    EXPECT_FALSE(t.ProcessIncoming(nullptr, 0));
    const uint8_t stun[20] = {0x00, 0x01};
    EXPECT_FALSE(t.ProcessIncoming(stun, sizeof(stun)));
  };
  feed_junk(*pair.server);  // Before Start: nothing is kept.
  pair.Start();
  feed_junk(*pair.server);
  feed_junk(*pair.client);
  pair.Run();
  ExpectConnected(pair, kGcm256);
  // Once connected: well-framed records of random content are authenticated and dropped.
  for (int i = 0; i < 300; ++i) {
    Datagram d = junk(13 + 64, 23);
    d[1] = 0xfe;
    d[2] = 0xfd;
    d[3] = 0;
    d[4] = static_cast<uint8_t>(i % 3);  // Epochs 0, 1, 2.
    d[11] = 0;
    d[12] = 64;
    EXPECT_TRUE(pair.client->ProcessIncoming(d.data(), d.size()));
    EXPECT_TRUE(pair.server->ProcessIncoming(d.data(), d.size()));
  }
  feed_junk(*pair.client);
  EXPECT_EQ(pair.client->state(), DtlsState::kConnected);
  EXPECT_EQ(pair.server->state(), DtlsState::kConnected);
  EXPECT_EQ(pair.client_ep.closed + pair.server_ep.closed, 0);
}

// Anything that passes the framing check reaches OpenSSL: it must survive all of it.
TEST(DtlsTransportTest, RandomRecordsNeverCrashAStartedServer) {
  std::mt19937 rng(11);
  for (int round = 0; round < 20; ++round) {
    DtlsPair pair;
    pair.Start();
    for (int i = 0; i < 100; ++i) {
      const size_t body = rng() % 200;
      Datagram d(13 + body);
      for (auto& b : d) b = static_cast<uint8_t>(rng());
      d[0] = static_cast<uint8_t>(20 + rng() % 5);
      d[1] = 0xfe;
      d[11] = static_cast<uint8_t>(body >> 8);
      d[12] = static_cast<uint8_t>(body);
      pair.server->ProcessIncoming(d.data(), d.size());
      pair.server->HandleTimeout();
    }
  }
}

TEST(DtlsTransportTest, CloseNotifyReachesThePeer) {
  DtlsPair pair;
  pair.Start();
  pair.Run();
  ExpectConnected(pair, kGcm256);
  pair.client->Close();
  EXPECT_EQ(pair.client->state(), DtlsState::kClosed);
  pair.Pump();
  EXPECT_EQ(pair.server_ep.closed, 1);
  EXPECT_EQ(pair.server->state(), DtlsState::kClosed);
  EXPECT_EQ(pair.client_ep.closed, 0);  // Our own Close() reports nothing.
  const uint8_t record[13 + 1] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 1, 0};
  EXPECT_FALSE(pair.server->ProcessIncoming(record, sizeof(record)));
}

TEST(DtlsTransportTest, PeerClosingDuringTheHandshakeIsAFailure) {
  DtlsPair pair;
  pair.Start();
  // A plaintext close_notify alert (epoch 0) from the server's side of the wire.
  const uint8_t alert[13 + 2] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 50, 0, 2, 1, 0};
  pair.client->ProcessIncoming(alert, sizeof(alert));
  EXPECT_EQ(pair.client_ep.failure, DtlsFailure::kClosed);
  EXPECT_EQ(pair.client_ep.connected, 0);
}

}  // namespace
}  // namespace webrtc2sip::media
