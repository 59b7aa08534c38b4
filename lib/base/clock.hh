#pragma once
// Clocks. A shard reads its clock once per poll iteration; tests drive a ManualClock.

#include "base/time.hh"

namespace skiff {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() = 0;
};

// CLOCK_MONOTONIC's origin and rate. Where the kernel keeps time with the CPU's time-stamp counter (its
// clocksource is "tsc": invariant and synchronised across CPUs) it is read through that counter, scaled
// once against CLOCK_MONOTONIC when first used (~8 ns a read instead of the vDSO's ~20; the scale is good to
// a few parts per million); elsewhere through clock_gettime. Stateless after the first read: every thread
// may share the instance.
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
