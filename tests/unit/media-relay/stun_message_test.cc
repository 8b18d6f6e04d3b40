// The STUN Binding codec against the test vectors of RFC 5769 (sections 2.1-2.3: a request
// with short-term credentials, IPv4 and IPv6 success responses) and against itself.

#include "services/media-relay/ice/stun_message.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <vector>

#include "services/media-relay/net/socket_address.h"

namespace webrtc2sip::media::stun {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr std::string_view kVectorPassword = "VOkJxbRl1RmTxUk/WvJxBt";

// RFC 5769 section 2.1: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME "evtj:h6vY" (padded with
// spaces), MESSAGE-INTEGRITY, FINGERPRINT.
const Bytes kSampleRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
    0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74,
    0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e,
    0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20,
    0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
    0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5,
    0x7a, 0x3b, 0xcf};

// RFC 5769 section 2.2: SOFTWARE "test vector", XOR-MAPPED-ADDRESS 192.0.2.1:32853,
// MESSAGE-INTEGRITY, FINGERPRINT.
const Bytes kSampleIpv4Response = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
    0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
    0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
    0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
    0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
    0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// RFC 5769 section 2.3: as 2.2 with [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const Bytes kSampleIpv6Response = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
    0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76,
    0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01,
    0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9,
    0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb,
    0x0b, 0x4c};

const TransactionId kVectorTransaction = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                          0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

// A short-term key for `password` (HmacSha1 itself is neither copied nor moved).
struct Key {
  explicit Key(std::string_view password) { SetPassword(hmac, password); }
  operator const HmacSha1&() const { return hmac; }  // NOLINT: used where a key is wanted.
  HmacSha1 hmac;
};

TEST(StunMessageTest, SampleRequestParsesAndItsIntegrityMatchesThePassword) {
  Message message;
  ASSERT_EQ(Parse(kSampleRequest, message), ParseResult::kOk);
  EXPECT_EQ(message.method, kBindingMethod);
  EXPECT_EQ(message.message_class, MessageClass::kRequest);
  EXPECT_EQ(message.transaction, kVectorTransaction);
  EXPECT_EQ(message.username, "evtj:h6vY");
  EXPECT_EQ(message.priority, 0x6e0001ffu);
  EXPECT_EQ(message.ice_controlled, 0x932ff9b151263b36u);
  EXPECT_FALSE(message.ice_controlling);
  EXPECT_FALSE(message.use_candidate);
  EXPECT_TRUE(message.has_fingerprint);
  EXPECT_TRUE(IntegrityMatches(kSampleRequest, message, Key(kVectorPassword)));
  EXPECT_FALSE(IntegrityMatches(kSampleRequest, message, Key("VOkJxbRl1RmTxUk/WvJxBT")));
  EXPECT_TRUE(UsernameIsFor(message.username, "evtj"));
  EXPECT_FALSE(UsernameIsFor(message.username, "evt"));
  EXPECT_FALSE(UsernameIsFor(message.username, "h6vY"));
}

TEST(StunMessageTest, SampleResponsesParseWithTheirMappedAddresses) {
  Message v4;
  ASSERT_EQ(Parse(kSampleIpv4Response, v4), ParseResult::kOk);
  EXPECT_EQ(v4.message_class, MessageClass::kSuccess);
  ASSERT_TRUE(v4.xor_mapped_address);
  EXPECT_EQ(FormatSocketAddress(*v4.xor_mapped_address), "192.0.2.1:32853");
  EXPECT_TRUE(IntegrityMatches(kSampleIpv4Response, v4, Key(kVectorPassword)));

  Message v6;
  ASSERT_EQ(Parse(kSampleIpv6Response, v6), ParseResult::kOk);
  ASSERT_TRUE(v6.xor_mapped_address);
  EXPECT_EQ(FormatSocketAddress(*v6.xor_mapped_address),
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_TRUE(IntegrityMatches(kSampleIpv6Response, v6, Key(kVectorPassword)));
}

// The vectors pad SOFTWARE ("test vector", 11 bytes) with a space where we pad with zero: our
// encoding equals theirs up to MESSAGE-INTEGRITY once that byte is the same. (The MAC and CRC
// cover it; that ours are computed the same way is shown by the samples' own verifying.)
void ExpectSameAsVectorButPadding(const Bytes& ours, const Bytes& vector) {
  ASSERT_EQ(ours.size(), vector.size());
  constexpr size_t kSoftwarePad = kHeaderSize + 4 + 11;
  Bytes patched = ours;
  EXPECT_EQ(patched[kSoftwarePad], 0);
  patched[kSoftwarePad] = vector[kSoftwarePad];
  const size_t integrity = vector.size() - 8 - 24;
  EXPECT_EQ(Bytes(patched.begin(), patched.begin() + integrity),
            Bytes(vector.begin(), vector.begin() + integrity));
}

TEST(StunMessageTest, SuccessResponsesEncodeAsTheSamples) {
  const Key key(kVectorPassword);
  Bytes out(kMaxMessageSize);

  auto v4 = ParseSocketAddress("192.0.2.1", 32853);
  ASSERT_TRUE(v4);
  out.resize(EncodeBindingSuccess(kVectorTransaction, *v4, key, out, "test vector"));
  ExpectSameAsVectorButPadding(out, kSampleIpv4Response);
  Message message;
  ASSERT_EQ(Parse(out, message), ParseResult::kOk);
  EXPECT_TRUE(IntegrityMatches(out, message, key));
  EXPECT_TRUE(SameSocketAddress(*message.xor_mapped_address, *v4));

  auto v6 = ParseSocketAddress("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  ASSERT_TRUE(v6);
  out.assign(kMaxMessageSize, 0);
  out.resize(EncodeBindingSuccess(kVectorTransaction, *v6, key, out, "test vector"));
  ExpectSameAsVectorButPadding(out, kSampleIpv6Response);
  ASSERT_EQ(Parse(out, message), ParseResult::kOk);
  EXPECT_TRUE(IntegrityMatches(out, message, key));
  EXPECT_TRUE(SameSocketAddress(*message.xor_mapped_address, *v6));
}

TEST(StunMessageTest, RequestRoundTrips) {
  const Key key("their-password-0123456789");
  const TransactionId transaction = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  BindingRequest request;
  request.username = "relayufrag:browserufrag";
  request.priority = 1853817087;
  request.controlling = true;
  request.tie_breaker = 0x0123456789abcdefu;
  request.use_candidate = true;
  Bytes out(kMaxMessageSize);
  out.resize(EncodeBindingRequest(transaction, request, key, out));
  ASSERT_GT(out.size(), kHeaderSize);
  ASSERT_TRUE(LooksLikeStun(out));

  Message message;
  ASSERT_EQ(Parse(out, message), ParseResult::kOk);
  EXPECT_EQ(message.message_class, MessageClass::kRequest);
  EXPECT_EQ(message.method, kBindingMethod);
  EXPECT_EQ(message.transaction, transaction);
  EXPECT_EQ(message.username, request.username);
  EXPECT_EQ(message.priority, request.priority);
  EXPECT_EQ(message.ice_controlling, request.tie_breaker);
  EXPECT_FALSE(message.ice_controlled);
  EXPECT_TRUE(message.use_candidate);
  EXPECT_TRUE(IntegrityMatches(out, message, key));
  EXPECT_TRUE(UsernameIsFor(message.username, "relayufrag"));

  // Any bit flipped before MESSAGE-INTEGRITY breaks the integrity; the fingerprint sees it
  // first. A flipped bit inside the MAC itself fails the fingerprint too.
  for (size_t i = 0; i < out.size() - 8; ++i) {
    Bytes bad = out;
    bad[i] ^= 0x10;
    Message parsed;
    EXPECT_NE(Parse(bad, parsed), ParseResult::kOk) << "byte " << i;
  }
  // Without FINGERPRINT the integrity alone catches it.
  Bytes no_fingerprint(out.begin(), out.end() - 8);
  no_fingerprint[3] = static_cast<uint8_t>(no_fingerprint[3] - 8);
  ASSERT_EQ(Parse(no_fingerprint, message), ParseResult::kOk);
  EXPECT_FALSE(message.has_fingerprint);
  EXPECT_TRUE(IntegrityMatches(no_fingerprint, message, key));
  no_fingerprint[kHeaderSize + 5] ^= 1;  // Inside USERNAME.
  ASSERT_EQ(Parse(no_fingerprint, message), ParseResult::kOk);
  EXPECT_FALSE(IntegrityMatches(no_fingerprint, message, key));
}

TEST(StunMessageTest, BadInputIsRefusedWithoutReadingPastTheDatagram) {
  EXPECT_FALSE(LooksLikeStun(Bytes(19, 0)));
  EXPECT_FALSE(LooksLikeStun(Bytes{0x80, 0x00, 0x00, 0x00}));  // RTP.
  Message message;
  // Wrong cookie, wrong length, length not a multiple of 4.
  Bytes header(kSampleRequest.begin(), kSampleRequest.begin() + kHeaderSize);
  header[3] = 0;
  EXPECT_EQ(Parse(header, message), ParseResult::kOk);
  header[4] ^= 1;
  EXPECT_EQ(Parse(header, message), ParseResult::kNotStun);
  Bytes longer = kSampleRequest;
  longer.push_back(0);
  EXPECT_EQ(Parse(longer, message), ParseResult::kNotStun);
  // An attribute whose length runs past the end.
  Bytes truncated(kSampleRequest.begin(), kSampleRequest.begin() + kHeaderSize + 8);
  truncated[3] = 8;
  truncated[kHeaderSize + 3] = 0x40;
  EXPECT_EQ(Parse(truncated, message), ParseResult::kMalformed);
  // An attribute after FINGERPRINT (which then covers a header that is not its own).
  Bytes after = kSampleRequest;
  after.insert(after.end(), {0x00, 0x25, 0x00, 0x00});
  after[3] = static_cast<uint8_t>(after[3] + 4);
  EXPECT_NE(Parse(after, message), ParseResult::kOk);
  // No MESSAGE-INTEGRITY: nothing matches.
  Bytes bare(kSampleRequest.begin(), kSampleRequest.begin() + kHeaderSize);
  bare[3] = 0;
  ASSERT_EQ(Parse(bare, message), ParseResult::kOk);
  EXPECT_FALSE(IntegrityMatches(bare, message, Key(kVectorPassword)));
  // Too small a buffer: nothing written.
  auto v4 = ParseSocketAddress("192.0.2.1", 1);
  Bytes tiny(40);
  EXPECT_EQ(EncodeBindingSuccess(kVectorTransaction, *v4, Key("x"), tiny), 0u);
}

}  // namespace
}  // namespace webrtc2sip::media::stun
