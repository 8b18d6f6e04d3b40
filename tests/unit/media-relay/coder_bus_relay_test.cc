// BusRelay: pipeline errors reach the worker's context through one source, from any thread;
// everything else is dropped; a target that goes (with the relay) in its callback is safe.

#include "services/media-relay/coder/bus_relay.h"

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/cwrap/gobject_ptr.h"
#include "gtest/gtest.h"
#include "services/media-relay/coder/gst_runtime.h"
#include "tests/unit/media-relay/coder_test_media.h"

namespace webrtc2sip::media::coder {
namespace {

struct Recorder : BusRelay::Target {
  void OnPipelineError(std::string reason) override {
    reasons.push_back(std::move(reason));
    on_error();
  }
  std::vector<std::string> reasons;
  std::function<void()> on_error = [] {};
};

void PostError(GstBus* bus, GstObject* from, const char* text) {
  GError* error = g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, text);
  gst_bus_post(bus, gst_message_new_error(from, error, "details"));
  g_error_free(error);
}

class BusRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnsureGstreamer();
    context_ = g_main_context_new();
    bus_ = AdoptGObject(gst_bus_new());
    element_ = AdoptGObject(gst_element_factory_make("identity", "decoder7"));
  }
  void TearDown() override { g_main_context_unref(context_); }

  GMainContext* context_ = nullptr;
  GObjectPtr<GstBus> bus_;
  GObjectPtr<GstElement> element_;
};

TEST_F(BusRelayTest, ErrorsFromAnyThreadReachTheTargetOnTheContextOthersAreDropped) {
  std::shared_ptr<BusRelay> relay = BusRelay::For(context_);
  ASSERT_TRUE(relay);
  EXPECT_EQ(BusRelay::For(context_), relay);  // One per context.
  Recorder target;
  const uint64_t id = relay->Watch(bus_.get(), "opus -> pcmu: ", &target);
  std::thread streaming([&] {
    gst_bus_post(bus_.get(), gst_message_new_eos(GST_OBJECT(element_.get())));
    PostError(bus_.get(), GST_OBJECT(element_.get()), "cannot decode");
  });
  streaming.join();
  EXPECT_FALSE(gst_bus_have_pending(bus_.get()));  // Nothing queued on the bus itself.
  EXPECT_TRUE(target.reasons.empty());             // Not from the posting thread.
  EXPECT_TRUE(testing::RunUntil(context_, [&] { return !target.reasons.empty(); }));
  ASSERT_EQ(target.reasons.size(), 1u);
  EXPECT_EQ(target.reasons[0], "opus -> pcmu: decoder7: cannot decode (details)");

  relay->Unwatch(id);
  PostError(bus_.get(), GST_OBJECT(element_.get()), "after unwatch");
  for (int i = 0; i < 10; ++i) g_main_context_iteration(context_, FALSE);
  EXPECT_EQ(target.reasons.size(), 1u);
}

TEST_F(BusRelayTest, ATargetThatDropsTheLastRelayInItsCallbackEndsTheBatchSafely) {
  Recorder target;
  std::shared_ptr<BusRelay> relay = BusRelay::For(context_);
  const uint64_t id = relay->Watch(bus_.get(), "", &target);
  // As a failing transcoder: unwatch, then let go of the relay (its last owner).
  target.on_error = [&] {
    relay->Unwatch(id);
    relay.reset();
  };
  PostError(bus_.get(), GST_OBJECT(element_.get()), "first");
  PostError(bus_.get(), GST_OBJECT(element_.get()), "second");  // Same batch.
  EXPECT_TRUE(testing::RunUntil(context_, [&] { return !target.reasons.empty(); }));
  for (int i = 0; i < 10; ++i) g_main_context_iteration(context_, FALSE);
  EXPECT_EQ(target.reasons.size(), 1u);
  EXPECT_FALSE(relay);
  // The bus outlives the relay: its errors go nowhere.
  PostError(bus_.get(), GST_OBJECT(element_.get()), "orphan");
  for (int i = 0; i < 10; ++i) g_main_context_iteration(context_, FALSE);
  EXPECT_EQ(target.reasons.size(), 1u);
}

}  // namespace
}  // namespace webrtc2sip::media::coder
