#pragma once
// Clocks. A shard reads its clock once per poll iteration; tests drive a ManualClock.

#include "base/time.hh"

namespace skiff {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() = 0;
};

// CLOCK_MONOTONIC through the vDSO: ~20 ns a call, read once per poll iteration.
class MonotonicClock final : public Clock {
 public:
  Instant now() override;
  static MonotonicClock& instance();
};

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
