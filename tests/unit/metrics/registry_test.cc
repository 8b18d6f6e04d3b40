#include "common/metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

namespace webrtc2sip::metrics {
namespace {

TEST(RegistryTest, UnlabeledFamiliesRenderZeroBeforeFirstUpdate) {
  Registry registry;
  registry.AddCounter("webrtc2sip_sip_requests_total", "SIP requests received.");
  registry.AddGauge("webrtc2sip_sessions_active", "Active sessions.");
  EXPECT_EQ(registry.Render(),
            "# HELP webrtc2sip_sip_requests_total SIP requests received.\n"
            "# TYPE webrtc2sip_sip_requests_total counter\n"
            "webrtc2sip_sip_requests_total 0\n"
            "# HELP webrtc2sip_sessions_active Active sessions.\n"
            "# TYPE webrtc2sip_sessions_active gauge\n"
            "webrtc2sip_sessions_active 0\n");
}

TEST(RegistryTest, CountersAndGaugesWithLabelsInCreationOrder) {
  Registry registry;
  auto& counter = registry.AddCounter("rtp_packets_total", "Packets.", {"direction", "kind"});
  auto& gauge = registry.AddGauge("temperature", "Temp.", {"room"});
  counter.WithLabels({"out", "audio"}).Inc(3);
  counter.WithLabels({"in", "video"}).Inc();
  counter.WithLabels({"in", "video"}).Inc(-5);  // Ignored.
  gauge.WithLabels({"b"}).Set(2.5);
  gauge.WithLabels({"a"}).Inc(4);
  gauge.WithLabels({"a"}).Dec(5);
  EXPECT_EQ(counter.WithLabels({"in", "video"}).Value(), 1);
  EXPECT_EQ(registry.Render(),
            "# HELP rtp_packets_total Packets.\n"
            "# TYPE rtp_packets_total counter\n"
            "rtp_packets_total{direction=\"out\",kind=\"audio\"} 3\n"
            "rtp_packets_total{direction=\"in\",kind=\"video\"} 1\n"
            "# HELP temperature Temp.\n"
            "# TYPE temperature gauge\n"
            "temperature{room=\"b\"} 2.5\n"
            "temperature{room=\"a\"} -1\n");
}

TEST(RegistryTest, LabeledFamilyWithoutChildrenRendersOnlyMetadata) {
  Registry registry;
  registry.AddCounter("drops_total", "", {"reason"});
  EXPECT_EQ(registry.Render(), "# HELP drops_total \n# TYPE drops_total counter\n");
}

TEST(RegistryTest, WithLabelsReturnsTheSameChild) {
  Registry registry;
  auto& family = registry.AddCounter("x_total", "x", {"a"});
  Counter& first = family.WithLabels({"1"});
  for (int i = 0; i < 100; ++i) family.WithLabels({std::to_string(i + 2)});
  EXPECT_EQ(&first, &family.WithLabels({"1"}));
  EXPECT_EQ(&registry.AddCounter("y_total", "y").WithLabels({}),
            &registry.AddCounter("y_total", "y").WithLabels({}));
}

TEST(RegistryTest, WrongNumberOfLabelValuesThrows) {
  Registry registry;
  auto& family = registry.AddGauge("g", "g", {"a", "b"});
  EXPECT_THROW(family.WithLabels({"1"}), std::invalid_argument);
  EXPECT_THROW(family.WithLabels({"1", "2", "3"}), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("h", "h").WithLabels({"x"}), std::invalid_argument);
}

TEST(RegistryTest, EscapesHelpAndLabelValues) {
  Registry registry;
  registry.AddCounter("c_total", "back\\slash \"quoted\"\nnext line", {"v"})
      .WithLabels({"a\\b \"q\"\nz"})
      .Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP c_total back\\\\slash \"quoted\"\\nnext line\n"
            "# TYPE c_total counter\n"
            "c_total{v=\"a\\\\b \\\"q\\\"\\nz\"} 1\n");
}

TEST(RegistryTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(-42), "-42");
  EXPECT_EQ(FormatMetricValue(1e6), "1000000");
  EXPECT_EQ(FormatMetricValue(1e18), "1000000000000000000");
  EXPECT_EQ(FormatMetricValue(1e300), "1e+300");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatMetricValue(2.5), "2.5");
  EXPECT_EQ(FormatMetricValue(1e-7), "1e-07");
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
}

TEST(RegistryTest, GaugeRendersSpecialValues) {
  Registry registry;
  auto& family = registry.AddGauge("g", "g", {"k"});
  family.WithLabels({"inf"}).Set(INFINITY);
  family.WithLabels({"nan"}).Set(NAN);
  EXPECT_EQ(registry.Render(), "# HELP g g\n# TYPE g gauge\ng{k=\"inf\"} +Inf\ng{k=\"nan\"} NaN\n");
}

TEST(RegistryTest, HistogramRendersCumulativeBuckets) {
  Registry registry;
  auto& family = registry.AddHistogram("rtt_seconds", "Round trip.", {"peer"}, {0.005, 0.5, 1});
  auto& h = family.WithLabels({"sip"});
  h.Observe(0.005);  // le is inclusive.
  h.Observe(0.25);
  h.Observe(0.75);
  h.Observe(2);
  EXPECT_EQ(registry.Render(),
            "# HELP rtt_seconds Round trip.\n"
            "# TYPE rtt_seconds histogram\n"
            "rtt_seconds_bucket{peer=\"sip\",le=\"0.005\"} 1\n"
            "rtt_seconds_bucket{peer=\"sip\",le=\"0.5\"} 2\n"
            "rtt_seconds_bucket{peer=\"sip\",le=\"1\"} 3\n"
            "rtt_seconds_bucket{peer=\"sip\",le=\"+Inf\"} 4\n"
            "rtt_seconds_sum{peer=\"sip\"} 3.005\n"
            "rtt_seconds_count{peer=\"sip\"} 4\n");
}

TEST(RegistryTest, UnlabeledHistogramAndExplicitInfBound) {
  Registry registry;
  auto& h = registry.AddHistogram("size_bytes", "Sizes.", {}, {100, 1000, INFINITY}).WithLabels({});
  h.Observe(5000);
  EXPECT_EQ(registry.Render(),
            "# HELP size_bytes Sizes.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"100\"} 0\n"
            "size_bytes_bucket{le=\"1000\"} 0\n"
            "size_bytes_bucket{le=\"+Inf\"} 1\n"
            "size_bytes_sum 5000\n"
            "size_bytes_count 1\n");
}

TEST(RegistryTest, SameRegistrationReturnsTheSameFamily) {
  Registry registry;
  auto& a = registry.AddCounter("shared_total", "Shared.", {"x"});
  auto& b = registry.AddCounter("shared_total", "Shared.", {"x"});
  EXPECT_EQ(&a, &b);
  auto& h1 = registry.AddHistogram("h", "h", {}, {1, 2});
  auto& h2 = registry.AddHistogram("h", "h", {}, {1, 2, INFINITY});
  EXPECT_EQ(&h1, &h2);
  // Rendered once.
  EXPECT_EQ(registry.Render().find("# TYPE shared_total"),
            registry.Render().rfind("# TYPE shared_total"));
}

TEST(RegistryTest, ConflictingRegistrationThrows) {
  Registry registry;
  registry.AddCounter("m", "m", {"a"});
  registry.AddHistogram("h", "h", {}, {1, 2});
  EXPECT_THROW(registry.AddGauge("m", "m", {"a"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("m", "m", {"b"}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("m", "m"), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "h", {}, {1, 3}), std::invalid_argument);
}

TEST(RegistryTest, InvalidNamesThrow) {
  Registry registry;
  for (const char* name : {"", "1abc", "a-b", "a b", "é"}) {
    EXPECT_THROW(registry.AddCounter(name, "x"), std::invalid_argument) << name;
  }
  EXPECT_NO_THROW(registry.AddCounter("_ok:name_9", "x"));
  for (const char* label : {"", "__reserved", "a:b", "9a", "a-b"}) {
    EXPECT_THROW(registry.AddGauge("g", "x", {label}), std::invalid_argument) << label;
  }
  EXPECT_THROW(registry.AddGauge("g", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "x", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "x", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "x", {}, {NAN}), std::invalid_argument);
  EXPECT_NO_THROW(registry.AddGauge("g", "x", {"_a", "b_9"}));
  // Nothing half-registered by the failures above.
  EXPECT_EQ(registry.Render().find("# TYPE h "), std::string::npos);
}

TEST(RegistryTest, CollectHooksRunBeforeRender) {
  Registry registry;
  auto& gauge = registry.AddGauge("sessions", "s", {"state"});
  int active = 0;
  registry.AddCollectHook([&] { gauge.WithLabels({"up"}).Set(active); });
  active = 7;
  EXPECT_EQ(registry.Render(),
            "# HELP sessions s\n# TYPE sessions gauge\nsessions{state=\"up\"} 7\n");
  active = 2;
  EXPECT_NE(registry.Render().find("sessions{state=\"up\"} 2\n"), std::string::npos);
}

TEST(RegistryTest, ConcurrentUpdatesSumExactly) {
  Registry registry;
  auto& counter = registry.AddCounter("c_total", "c").WithLabels({});
  auto& gauge = registry.AddGauge("g", "g").WithLabels({});
  auto& hist = registry.AddHistogram("h", "h", {}, {10}).WithLabels({});
  auto& family = registry.AddCounter("per_thread_total", "p", {"t"});
  constexpr int kThreads = 8;
  constexpr int kIterations = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = family.WithLabels({std::to_string(t % 2)});  // Concurrent child creation.
      for (int i = 0; i < kIterations; ++i) {
        counter.Inc();
        gauge.Inc(2);
        gauge.Dec();
        hist.Observe(i % 2 == 0 ? 1 : 100);
        mine.Inc(0.5);
      }
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 20; ++i) registry.Render();
  });
  for (auto& thread : threads) thread.join();
  renderer.join();
  EXPECT_EQ(counter.Value(), kThreads * kIterations);
  EXPECT_EQ(gauge.Value(), kThreads * kIterations);
  EXPECT_EQ(family.WithLabels({"0"}).Value() + family.WithLabels({"1"}).Value(),
            kThreads * kIterations * 0.5);
  Histogram::Snapshot snap = hist.Collect();
  EXPECT_EQ(snap.cumulative[0], kThreads * kIterations / 2u);
  EXPECT_EQ(snap.cumulative[1], uint64_t{kThreads} * kIterations);
  EXPECT_EQ(snap.sum, kThreads * kIterations / 2 * 101.0);
}

TEST(RegistryTest, GlobalIsASingleton) {
  EXPECT_EQ(&Registry::Global(), &Registry::Global());
  EXPECT_STREQ(kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace webrtc2sip::metrics
