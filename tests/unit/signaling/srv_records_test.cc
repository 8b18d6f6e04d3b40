// SRV answers as a DNS server sends them (built byte by byte here, with name
// compression), read into records and mapped to media-node addresses.

#include "services/signaling/media/srv_records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace webrtc2sip::signaling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Bytes = std::vector<unsigned char>;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v & 0xff));
}

void PutName(Bytes& b, const std::string& name) {
  size_t begin = 0;
  while (begin < name.size()) {
    size_t dot = name.find('.', begin);
    if (dot == std::string::npos) dot = name.size();
    b.push_back(static_cast<unsigned char>(dot - begin));
    b.insert(b.end(), name.begin() + static_cast<long>(begin),
             name.begin() + static_cast<long>(dot));
    begin = dot + 1;
  }
  b.push_back(0);
}

constexpr uint16_t kQuestionName = 12;  // offset of the question's name: after the header

// A response to "SRV? _grpc._tcp.relays.test" with `records` in its answer
// section; each record is (type, rdata) and its owner points to the question.
Bytes Response(const std::vector<std::pair<uint16_t, Bytes>>& records) {
  Bytes b;
  Put16(b, 0x1234);                                 // id
  Put16(b, 0x8180);                                 // response, RD, RA, NOERROR
  Put16(b, 1);                                      // questions
  Put16(b, static_cast<uint16_t>(records.size()));  // answers
  Put16(b, 0);
  Put16(b, 0);
  PutName(b, "_grpc._tcp.relays.test");
  Put16(b, 33);  // SRV
  Put16(b, 1);   // IN
  for (const auto& [type, rdata] : records) {
    Put16(b, 0xc000 | kQuestionName);
    Put16(b, type);
    Put16(b, 1);
    Put16(b, 0);
    Put16(b, 30);  // TTL
    Put16(b, static_cast<uint16_t>(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
  }
  return b;
}

Bytes Srv(uint16_t priority, uint16_t weight, uint16_t port, const std::string& target) {
  Bytes r;
  Put16(r, priority);
  Put16(r, weight);
  Put16(r, port);
  PutName(r, target);
  return r;
}

// "relay-0." then a pointer to "relays.test" inside the question's name.
Bytes SrvCompressed(uint16_t port) {
  Bytes r;
  Put16(r, 0);
  Put16(r, 0);
  Put16(r, port);
  r.push_back(7);
  for (char c : std::string("relay-0")) r.push_back(static_cast<unsigned char>(c));
  const uint16_t relays = kQuestionName + 1 + 5 + 1 + 4;  // past "_grpc" and "_tcp"
  Put16(r, 0xc000 | relays);
  return r;
}

TEST(SrvRecordsTest, ReadsEverySrvRecordOfTheAnswer) {
  const Bytes message = Response({{33, Srv(10, 60, 50051, "relay-a.relays.test")},
                                  {33, Srv(20, 0, 50052, "relay-a.relays.test")},
                                  {33, SrvCompressed(50053)}});
  const SrvParse parsed = ParseSrvAnswer(message);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  ASSERT_EQ(parsed.records.size(), 3u);
  EXPECT_EQ(parsed.records[0].priority, 10);
  EXPECT_EQ(parsed.records[0].weight, 60);
  EXPECT_EQ(parsed.records[0].port, 50051);
  EXPECT_EQ(parsed.records[0].target, "relay-a.relays.test");
  EXPECT_EQ(parsed.records[1].priority, 20);
  EXPECT_EQ(parsed.records[1].port, 50052);
  EXPECT_EQ(parsed.records[2].port, 50053);
  EXPECT_EQ(parsed.records[2].target, "relay-0.relays.test");  // compressed name expanded
}

TEST(SrvRecordsTest, SkipsOtherRecordTypes) {
  Bytes cname;
  PutName(cname, "elsewhere.test");
  const SrvParse parsed =
      ParseSrvAnswer(Response({{5, cname}, {33, Srv(0, 0, 7000, "relay.test")}}));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  ASSERT_EQ(parsed.records.size(), 1u);
  EXPECT_EQ(parsed.records[0].target, "relay.test");
}

TEST(SrvRecordsTest, RootTargetMeansNoService) {
  Bytes root;
  Put16(root, 0);
  Put16(root, 0);
  Put16(root, 0);
  root.push_back(0);  // "."
  const SrvParse parsed = ParseSrvAnswer(Response({{33, root}}));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  ASSERT_EQ(parsed.records.size(), 1u);
  EXPECT_EQ(parsed.records[0].target, "");
}

TEST(SrvRecordsTest, RejectsBrokenMessages) {
  const Bytes good = Response({{33, Srv(0, 0, 50051, "relay.test")}});
  // Cut inside the answer record.
  const Bytes cut(good.begin(), good.end() - 4);
  SrvParse parsed = ParseSrvAnswer(cut);
  EXPECT_FALSE(parsed.ok);
  EXPECT_FALSE(parsed.error.empty());

  // An SRV record whose RDATA is too short for priority, weight and port.
  parsed = ParseSrvAnswer(Response({{33, Bytes{0, 1, 0, 2}}}));
  EXPECT_FALSE(parsed.ok);
  EXPECT_THAT(parsed.error, HasSubstr("too short"));

  // A target name that runs past the record's RDATA.
  Bytes overlong = Srv(0, 0, 50051, "relay.test");
  overlong.pop_back();  // no root label: the name goes on into whatever follows
  parsed = ParseSrvAnswer(Response({{33, overlong}}));
  EXPECT_FALSE(parsed.ok);

  EXPECT_FALSE(ParseSrvAnswer(Bytes{}).ok);
}

TEST(SrvRecordsTest, EachTargetWithItsRecordsPort) {
  std::map<std::string, int> asked;
  const TargetResolver resolve = [&](const std::string& target) {
    ++asked[target];
    TargetAddresses found;
    found.ok = true;
    if (target == "local.test") found.ips = {"127.0.0.1"};
    if (target == "dual.test") found.ips = {"10.0.0.9", "2001:db8::9"};
    return found;
  };
  const SrvNodes nodes = MapSrvRecords({{0, 0, 50053, "local.test"},
                                        {0, 0, 50051, "local.test"},
                                        {0, 0, 50052, "local.test"},
                                        {0, 0, 7000, "dual.test"},
                                        {0, 0, 7001, "gone.test"},
                                        {0, 0, 7002, ""}},
                                       resolve);
  ASSERT_TRUE(nodes.ok) << nodes.error;
  // Three nodes on one address, told apart by the port; sorted, as the pool expects.
  EXPECT_THAT(nodes.addresses, ElementsAre("10.0.0.9:7000", "127.0.0.1:50051", "127.0.0.1:50052",
                                           "127.0.0.1:50053", "[2001:db8::9]:7000"));
  EXPECT_EQ(asked["local.test"], 1);  // asked once for three records
  EXPECT_EQ(asked["gone.test"], 1);
  EXPECT_EQ(asked.count(""), 0u);  // "." is not looked up
}

TEST(SrvRecordsTest, ATargetThatCannotBeResolvedFailsTheWholeAnswer) {
  const TargetResolver resolve = [](const std::string& target) {
    TargetAddresses found;
    if (target == "flaky.test") {
      found.error = "Temporary failure in name resolution";
    } else {
      found.ok = true;
      found.ips = {"127.0.0.1"};
    }
    return found;
  };
  // A partial list would make the pool forget the nodes behind the failing target.
  const SrvNodes nodes =
      MapSrvRecords({{0, 0, 50051, "ok.test"}, {0, 0, 50052, "flaky.test"}}, resolve);
  EXPECT_FALSE(nodes.ok);
  EXPECT_TRUE(nodes.addresses.empty());
  EXPECT_THAT(nodes.error, HasSubstr("flaky.test"));
}

TEST(SrvRecordsTest, NoRecordsNoNodes) {
  const SrvNodes nodes = MapSrvRecords({}, [](const std::string&) { return TargetAddresses{}; });
  EXPECT_TRUE(nodes.ok);
  EXPECT_TRUE(nodes.addresses.empty());
}

}  // namespace
}  // namespace webrtc2sip::signaling
