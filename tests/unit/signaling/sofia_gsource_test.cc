// sofia's GSource with the prepare that does not spin (sofia_gsource.h): timers fire, never
// early, and the loop does not turn hundreds of times before each.

#include "services/signaling/sip/sofia_gsource.h"

#include <glib.h>
#include <sys/socket.h>

#include <vector>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_time.h>
#include <sofia-sip/su_wait.h>

#include "gtest/gtest.h"

namespace webrtc2sip::signaling {
namespace {

struct TimerRun {
  su_timer_t* timer = nullptr;
  int fired = 0;
  int wanted = 0;
  int early = 0;
  su_time_t armed_at{};
};

constexpr su_duration_t kStepMs = 3;

void Arm(TimerRun* run);

void OnTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* run = reinterpret_cast<TimerRun*>(arg);
  // su_timer_set() counts from its own su_now(), taken after armed_at.
  if (su_duration(su_now(), run->armed_at) < kStepMs) ++run->early;
  if (++run->fired < run->wanted) Arm(run);
}

void Arm(TimerRun* run) {
  run->armed_at = su_now();
  su_timer_set(run->timer, &OnTimer, reinterpret_cast<su_timer_arg_t*>(run));
}

class SofiaGSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    su_init();
    context_ = g_main_context_new();
    g_main_context_push_thread_default(context_);
    root_ = su_glib_root_create(nullptr);
    ASSERT_NE(root_, nullptr);
    source_ = SofiaRootGSource(root_);
    ASSERT_NE(source_, nullptr);
    g_source_attach(source_, context_);
  }
  void TearDown() override {
    // As SipStack does: the root owns the source's last reference.
    g_source_destroy(source_);
    su_root_destroy(root_);
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
    su_deinit();
  }

  GMainContext* context_ = nullptr;
  su_root_t* root_ = nullptr;
  GSource* source_ = nullptr;
};

TEST_F(SofiaGSourceTest, TimersFireNeverEarlyAndTheLoopDoesNotSpinBeforeThem) {
  TimerRun run;
  run.wanted = 40;
  run.timer = su_timer_create(su_root_task(root_), kStepMs);
  ASSERT_NE(run.timer, nullptr);
  Arm(&run);
  int iterations = 0;
  // A bound on loop turns, not on time: 40 timers 3 ms apart take ~120 ms either way.
  while (run.fired < run.wanted && iterations < 100000) {
    g_main_context_iteration(context_, TRUE);
    ++iterations;
  }
  EXPECT_EQ(run.fired, run.wanted);
  EXPECT_EQ(run.early, 0);
  // Fixed: a poll that waits until the timer's millisecond, then one that waits the rest (a
  // dispatch that finds it not quite due yet), then the one that fires it. su_glib's own
  // prepare turned the loop without waiting for the whole last millisecond before each timer:
  // hundreds of turns per timer here.
  EXPECT_LE(iterations, 5 * run.wanted) << iterations << " loop turns for " << run.fired
                                        << " timers";
  su_timer_destroy(run.timer);
}

// Timers one every 0.5 ms (as nta's Timer K under load: the next always under a millisecond
// away), a socket registered (as nta's), and an idle source added in the middle: the idle runs
// at once, not when the stream of timers ends, and the loop waits between timers.
struct Stream {
  GMainContext* context = nullptr;
  int fired = 0;
  int idle_ran_at = -1;
};

void OnStreamTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
  auto* stream = reinterpret_cast<Stream*>(arg);
  if (++stream->fired == 20) {
    GSource* idle = g_idle_source_new();  // G_PRIORITY_DEFAULT_IDLE, as g_idle_add's
    g_source_set_callback(
        idle,
        [](gpointer p) -> gboolean {
          auto* s = static_cast<Stream*>(p);
          s->idle_ran_at = s->fired;
          return G_SOURCE_REMOVE;
        },
        stream, nullptr);
    g_source_attach(idle, stream->context);
    g_source_unref(idle);
  }
}

TEST_F(SofiaGSourceTest, AStreamOfTimersStarvesNeitherTheLoopNorLowerPrioritySources) {
  su_socket_t sock = su_socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_NE(sock, INVALID_SOCKET);
  su_wait_t wait[1];
  ASSERT_EQ(su_wait_create(wait, sock, SU_WAIT_IN), 0);
  ASSERT_GT(su_root_register(
                root_, wait, [](su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*) { return 0; },
                nullptr, 0),
            0);
  // As SipStack does (a source that may not recurse costs a wake-up per dispatch).
  g_source_set_can_recurse(source_, TRUE);

  constexpr int kTimers = 200;
  Stream stream;
  stream.context = context_;
  std::vector<su_timer_t*> timers;
  const su_time_t base = su_now();
  for (int i = 0; i < kTimers; ++i) {
    su_timer_t* t = su_timer_create(su_root_task(root_), 0);
    ASSERT_NE(t, nullptr);
    su_timer_set_at(t, &OnStreamTimer, reinterpret_cast<su_timer_arg_t*>(&stream),
                    su_time_add(base, 0));
    timers.push_back(t);
  }
  // Re-armed 10 ms + i x 0.5 ms from now (su_time_add takes whole milliseconds).
  for (int i = 0; i < kTimers; ++i) {
    su_time_t when = base;
    when.tv_usec += 10000 + static_cast<unsigned long>(i) * 500;
    when.tv_sec += when.tv_usec / 1000000;
    when.tv_usec %= 1000000;
    su_timer_set_at(timers[i], &OnStreamTimer, reinterpret_cast<su_timer_arg_t*>(&stream), when);
  }
  int iterations = 0;
  // A broken loop's bound: 30 s, looked at by a 100 ms tick so a blocked loop wakes to see it.
  const gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
  GSource* tick = g_timeout_source_new(100);
  g_source_set_callback(tick, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr,
                        nullptr);
  g_source_attach(tick, context_);
  while ((stream.fired < kTimers || stream.idle_ran_at < 0) &&
         g_get_monotonic_time() < deadline) {
    g_main_context_iteration(context_, TRUE);
    ++iterations;
  }
  EXPECT_EQ(stream.fired, kTimers);
  // The idle ran within a couple of timers of being added (su_glib's own check kept the
  // source ready until the last timer: 200).
  EXPECT_GE(stream.idle_ran_at, 20);
  EXPECT_LE(stream.idle_ran_at, 25);
  // 100 ms of timers: about one turn per millisecond (su_glib's own: ~30,000 turns).
  EXPECT_LE(iterations, 2 * kTimers + 10) << iterations << " loop turns";
  g_source_destroy(tick);
  g_source_unref(tick);
  for (su_timer_t* t : timers) su_timer_destroy(t);
  su_root_deregister(root_, 1);
  su_close(sock);
}

// A source that is ready at every turn (an idle that stays) keeps the loop busy and polling
// with no timeout: sofia's timers still fire as they fall due, not only when the busy source
// goes (each turn must not put off the millisecond sofia waits for).
TEST_F(SofiaGSourceTest, AnAlwaysReadySourceDoesNotHoldSofiasTimersBack) {
  TimerRun run;
  run.wanted = 20;
  run.timer = su_timer_create(su_root_task(root_), kStepMs);
  ASSERT_NE(run.timer, nullptr);
  int busy_turns = 0;
  GSource* busy = g_idle_source_new();
  g_source_set_priority(busy, G_PRIORITY_DEFAULT);
  g_source_set_callback(
      busy,
      [](gpointer p) -> gboolean {
        ++*static_cast<int*>(p);
        return G_SOURCE_CONTINUE;
      },
      &busy_turns, nullptr);
  g_source_attach(busy, context_);
  Arm(&run);
  const gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;  // a broken loop's bound
  while (run.fired < run.wanted && g_get_monotonic_time() < deadline) {
    g_main_context_iteration(context_, TRUE);
  }
  EXPECT_EQ(run.fired, run.wanted);
  EXPECT_EQ(run.early, 0);
  EXPECT_GT(busy_turns, run.wanted);
  g_source_destroy(busy);
  g_source_unref(busy);
  su_timer_destroy(run.timer);
}

}  // namespace
}  // namespace webrtc2sip::signaling
