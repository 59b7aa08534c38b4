#include "base/clock.hh"

#include <time.h>

#include <cstdio>
#include <cstring>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace skiff {

namespace {

uint64_t read_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// ns = ns0 + ((tsc - tsc0) * mult) >> 32, mult = nanoseconds per tick in 32.32 fixed point.
struct TscScale {
  bool ok = false;
  uint64_t tsc0 = 0;
  uint64_t ns0 = 0;
  uint64_t mult = 0;
};

#if defined(__x86_64__)
bool kernel_clocksource_is_tsc() {
  FILE* f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
  if (!f) return false;
  char name[32] = {};
  const bool ok = fgets(name, sizeof name, f) != nullptr;
  fclose(f);
  return ok && strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || name[3] == '\0');
}

// One (tsc, clock) pair: of a few tries, the one whose clock_gettime took the fewest ticks, its ns matched
// to the middle of that call.
void sample(clockid_t id, uint64_t* tsc, uint64_t* ns) {
  uint64_t best = ~uint64_t{0};
  for (int i = 0; i < 8; ++i) {
    const uint64_t a = __rdtsc();
    const uint64_t n = read_ns(id);
    const uint64_t b = __rdtsc();
    if (b - a < best) {
      best = b - a;
      *tsc = a + (b - a) / 2;
      *ns = n;
    }
  }
}

TscScale calibrate() {
  TscScale s;
  if (!kernel_clocksource_is_tsc()) return s;
  // The rate against CLOCK_MONOTONIC_RAW (the hardware's, which NTP does not slew: a correction in progress
  // would otherwise stay in the scale for good), over at least 5 ms: with ~20 ns of uncertainty in each
  // sample that is good to ~10 ppm.
  uint64_t t0 = 0, r0 = 0, t1 = 0, r1 = 0;  // sample() always sets them (GCC cannot tell at -O3 without LTO)
  sample(CLOCK_MONOTONIC_RAW, &t0, &r0);
  do {
    timespec pause{0, 1'000'000};
    nanosleep(&pause, nullptr);  // an early return (a signal) only means another round
    sample(CLOCK_MONOTONIC_RAW, &t1, &r1);
  } while (r1 < r0 + 5'000'000);
  if (t1 <= t0) return s;
  s.mult = static_cast<uint64_t>((static_cast<unsigned __int128>(r1 - r0) << 32) / (t1 - t0));
  // Nanoseconds per tick between 1/16 and 4 (TSCs of 250 MHz to 16 GHz); anything else is not a clock.
  if (s.mult < (uint64_t{1} << 28) || s.mult > (uint64_t{4} << 32)) return s;
  // The origin is CLOCK_MONOTONIC's (what the rest of the process and the tests compare with).
  sample(CLOCK_MONOTONIC, &s.tsc0, &s.ns0);
  s.ok = true;
  return s;
}
#else
TscScale calibrate() { return {}; }
#endif

const TscScale& tsc_scale() {
  static const TscScale s = calibrate();
  return s;
}

}  // namespace

uint64_t monotonic_ns_syscall() { return read_ns(CLOCK_MONOTONIC); }

uint64_t MonotonicClock::now_ns() {
#if defined(__x86_64__)
  const TscScale& s = tsc_scale();
  if (s.ok) [[likely]] {
    // Another CPU may read a few ticks below tsc0 just after the scale was taken: clamp to ns0.
    const int64_t d = static_cast<int64_t>(__rdtsc() - s.tsc0);
    return s.ns0 + (d > 0 ? static_cast<uint64_t>((static_cast<unsigned __int128>(d) * s.mult) >> 32) : 0);
  }
#endif
  return monotonic_ns_syscall();
}

bool MonotonicClock::uses_tsc() { return tsc_scale().ok; }

MonotonicClock& MonotonicClock::instance() {
  static MonotonicClock c;
  return c;
}

}  // namespace skiff
