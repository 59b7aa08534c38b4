#include "base/clock.hh"

#include <time.h>

namespace skiff {

Instant MonotonicClock::now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Instant::from_ns(static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec));
}

MonotonicClock& MonotonicClock::instance() {
  static MonotonicClock c;
  return c;
}

}  // namespace skiff
