#pragma once
// Clocks. A shard reads its clock once per poll iteration; tests drive a ManualClock.

#include "base/time.hh"

namespace skiff {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() = 0;
};

// CLOCK_MONOTONIC's time. Where the kernel keeps time with the CPU's time-stamp counter (its clocksource is
// "tsc": invariant and synchronised across CPUs) it is read through that counter (~10 ns a read instead of
// the vDSO's ~20): CLOCK_MONOTONIC's origin at the first read, the counter's rate measured then against
// CLOCK_MONOTONIC_RAW (to ~10 ppm). It then drifts from CLOCK_MONOTONIC by that and by the frequency
// correction NTP applies to CLOCK_MONOTONIC (typically a few ppm: milliseconds an hour; at most 500 ppm),
// which nothing in the stack compares. Elsewhere through clock_gettime.
// Stateless after the first read: every thread may share the instance. The kernel's clocksource is looked
// at once: a process that outlives a switch away from the TSC keeps reading it.
class MonotonicClock final : public Clock {
 public:
  Instant now() override { return Instant::from_ns(now_ns()); }
  static MonotonicClock& instance();
  static uint64_t now_ns();
  // Whether now_ns() reads the time-stamp counter (for tests and diagnostics).
  static bool uses_tsc();
};

// CLOCK_MONOTONIC through clock_gettime, in nanoseconds.
uint64_t monotonic_ns_syscall();

// A clock that moves only when the test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start = Instant::from_ns(1'000'000'000)) : now_(start) {}
  Instant now() override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(Instant t) { now_ = t; }

 private:
  Instant now_;
};

}  // namespace skiff
