#include "services/signaling/b2bua/digest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace webrtc2sip::signaling {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// RFC 2617 section 3.5.
TEST(DigestTest, Rfc2617Example) {
  const std::string ha1 = Md5Hex("Mufasa:testrealm@host.com:Circle Of Life");
  EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(DigestResponse(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET", "/dir/index.html",
                           true, "0a4f113b", "00000001"),
            "6629fae49393a05397450978507c4ef1");
}

TEST(DigestTest, ParsesKamailiosChallenges) {
  auto c = ParseDigestChallenge(
      R"(Digest realm="127.0.0.1", nonce="awaKgmsGiVZh+urAPkhgMgBe+Ry3rB4B", qop="auth", opaque="x,y")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->realm, "127.0.0.1");
  EXPECT_EQ(c->nonce, "awaKgmsGiVZh+urAPkhgMgBe+Ry3rB4B");
  EXPECT_TRUE(c->qop_auth);
  EXPECT_EQ(c->opaque, "x,y");
  EXPECT_FALSE(ParseDigestChallenge("Basic realm=\"x\""));
  EXPECT_FALSE(ParseDigestChallenge("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256"));
  EXPECT_FALSE(ParseDigestChallenge("Digest realm=\"x\""));
}

TEST(DigestTest, AuthorizationCarriesTheResponseNotTheHa1) {
  DigestChallenge c{"example.com", "abc", "", "", false};
  const std::string ha1 = Md5Hex("alice:example.com:secret");
  const std::string auth = DigestAuthorization(c, "alice", ha1, "INVITE", "sip:bob@example.com");
  EXPECT_THAT(auth, HasSubstr("username=\"alice\""));
  EXPECT_THAT(auth, HasSubstr("response=\"" +
                              DigestResponse(ha1, "abc", "INVITE", "sip:bob@example.com", false,
                                             "", "") +
                              "\""));
  EXPECT_THAT(auth, Not(HasSubstr(ha1)));
  c.qop_auth = true;
  EXPECT_THAT(DigestAuthorization(c, "alice", ha1, "INVITE", "sip:b@x", "cn", 2),
              HasSubstr("qop=auth, nc=00000002, cnonce=\"cn\""));
}

TEST(DigestTest, UrlDecoding) {
  EXPECT_EQ(UrlDecode("alice%40example.com"), "alice@example.com");
  EXPECT_EQ(UrlDecode("%4"), "%4");
  EXPECT_EQ(UrlDecode("plain"), "plain");
}

}  // namespace
}  // namespace webrtc2sip::signaling
