#include <gtest/gtest.h>
#include <time.h>

#include "base/clock.hh"

using namespace skiff;

namespace {

// now_ns() read between two clock_gettime calls lies between them, give or take `slack_ns` (the scale's
// error over the time since it was taken).
void expect_between_syscalls(uint64_t slack_ns) {
  const uint64_t a = monotonic_ns_syscall();
  const uint64_t b = MonotonicClock::now_ns();
  const uint64_t c = monotonic_ns_syscall();
  EXPECT_GE(b + slack_ns, a) << "TSC clock behind CLOCK_MONOTONIC by " << (a - b) << " ns";
  EXPECT_LE(b, c + slack_ns) << "TSC clock ahead of CLOCK_MONOTONIC by " << (b - c) << " ns";
}

}  // namespace

TEST(MonotonicClock, FollowsClockMonotonic) {
  (void)MonotonicClock::now_ns();  // takes the scale (5 ms) where the TSC is used
  // Elsewhere now_ns() is clock_gettime(CLOCK_MONOTONIC) itself, and comparing it with itself proves nothing.
  if (!MonotonicClock::uses_tsc()) GTEST_SKIP() << "the kernel's clocksource is not the TSC: nothing to compare";
  expect_between_syscalls(50'000);
  // 500 ms on: a scale wrong by 0.1 % would be 500 us off. The calibration is good to ~10 ppm (5 us), but
  // the rate is CLOCK_MONOTONIC_RAW's, from which CLOCK_MONOTONIC departs while NTP slews it (at most
  // 500 ppm: 250 us).
  timespec pause{0, 500'000'000};
  nanosleep(&pause, nullptr);
  expect_between_syscalls(50'000 + 300'000);
}

TEST(MonotonicClock, NeverGoesBackwards) {
  uint64_t last = MonotonicClock::now_ns();
  int backwards = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const uint64_t t = MonotonicClock::now_ns();
    backwards += t < last;
    last = t;
  }
  EXPECT_EQ(backwards, 0);
}

TEST(MonotonicClock, InstanceReadsTheSameClock) {
  const uint64_t a = MonotonicClock::now_ns();
  const Instant b = MonotonicClock::instance().now();
  const uint64_t c = MonotonicClock::now_ns();
  EXPECT_LE(a, static_cast<uint64_t>(b.ns()));
  EXPECT_LE(static_cast<uint64_t>(b.ns()), c);
}
