#include "common/log/logger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace webrtc2sip::log {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::vector<std::string>& Lines() {
  static std::vector<std::string> lines;
  return lines;
}

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Lines().clear();
    Logger::Get().SetSink([](std::string_view line) { Lines().emplace_back(line); });
  }
  void TearDown() override {
    Logger::Get().SetSink(nullptr);
    Logger::Get().Configure(Level::kError, Format::kJson, "webrtc2sip");
  }
};

TEST_F(LoggerTest, JsonLinesCarryFieldsAndEscapes) {
  Logger::Get().Configure(Level::kInfo, Format::kJson, "signaling");
  Info("call \"started\"", {{"call_id", "a84b4c76e66710@pc33"}, {"note", "line1\nline2\\"}});
  ASSERT_EQ(Lines().size(), 1u);
  const std::string& l = Lines()[0];
  EXPECT_THAT(l, MatchesRegex(R"(\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z",.*)"));
  EXPECT_THAT(l, HasSubstr(R"("level":"info","service":"signaling","msg":"call \"started\"")"));
  EXPECT_THAT(l, HasSubstr(R"("call_id":"a84b4c76e66710@pc33","note":"line1\nline2\\"})"));
  EXPECT_THAT(l, EndsWith("}\n"));
}

TEST_F(LoggerTest, KeyValueQuotesOnlyWhenNeeded) {
  Logger::Get().Configure(Level::kDebug, Format::kKeyValue, "media-relay");
  Warn("lease expired", {{"session", "s-12"}, {"reason", "no renew"}, {"empty", ""}});
  ASSERT_EQ(Lines().size(), 1u);
  EXPECT_THAT(Lines()[0], HasSubstr(" level=warn service=media-relay msg=\"lease expired\" "
                                    "session=s-12 reason=\"no renew\" empty=\"\"\n"));
}

TEST_F(LoggerTest, LevelsBelowTheConfiguredOneAreDropped) {
  Logger::Get().Configure(Level::kWarn, Format::kJson, "x");
  Debug("d");
  Info("i");
  Warn("w");
  Error("e");
  Fatal("f");
  ASSERT_EQ(Lines().size(), 3u);
  EXPECT_THAT(Lines()[0], HasSubstr("\"level\":\"warn\""));
  EXPECT_THAT(Lines()[2], HasSubstr("\"level\":\"fatal\""));
}

TEST_F(LoggerTest, ControlCharactersAreEscaped) {
  Logger::Get().Configure(Level::kInfo, Format::kJson, "x");
  Info(std::string_view("a\x01z", 3));
  EXPECT_THAT(Lines()[0], HasSubstr(R"("msg":"a\u0001z")"));
}

}  // namespace
}  // namespace webrtc2sip::log
