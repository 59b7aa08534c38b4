#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "core/timer_wheel.hh"

using namespace skiff;

namespace {

struct Rec {
  Timer t;
  Instant fired_at{};
  int fires = 0;
  static void cb(void* ctx, Timer*, Instant now) {
    auto* r = static_cast<Rec*>(ctx);
    r->fired_at = now;
    ++r->fires;
  }
  Rec() : t(&Rec::cb, this) {}
};

const Instant kStart = Instant::from_ns(5'000'000'000);

}  // namespace

TEST(TimerWheel, FiresAtDeadlineNeverEarly) {
  TimerWheel w(kStart);
  Rec r;
  w.arm(r.t, kStart + 10ms);
  EXPECT_EQ(w.pending(), 1u);
  w.advance(kStart + 9ms);
  EXPECT_EQ(r.fires, 0);
  w.advance(kStart + 10ms - 1ns);
  EXPECT_EQ(r.fires, 0);
  w.advance(kStart + 10ms);
  EXPECT_EQ(r.fires, 1);
  EXPECT_EQ(w.pending(), 0u);
  EXPECT_FALSE(r.t.armed());
}

TEST(TimerWheel, SubTickDeadlineRoundsUp) {
  TimerWheel w(kStart);
  Rec r;
  w.arm(r.t, kStart + 1500us);  // between ticks 1 and 2
  w.advance(kStart + 1ms);
  EXPECT_EQ(r.fires, 0);
  w.advance(kStart + 2ms);
  EXPECT_EQ(r.fires, 1);
}

TEST(TimerWheel, PastDeadlineFiresOnNextAdvance) {
  TimerWheel w(kStart);
  w.advance(kStart + 100ms);
  Rec r;
  w.arm(r.t, kStart);  // already in the past
  w.advance(kStart + 100ms);
  EXPECT_EQ(r.fires, 1);
}

TEST(TimerWheel, CancelAndRearm) {
  TimerWheel w(kStart);
  Rec a, b;
  w.arm(a.t, kStart + 5ms);
  w.arm(b.t, kStart + 5ms);
  w.cancel(a.t);
  w.cancel(a.t);  // idempotent
  EXPECT_EQ(w.pending(), 1u);
  w.arm(b.t, kStart + 50ms);  // re-arm moves it
  EXPECT_EQ(w.pending(), 1u);
  w.advance(kStart + 10ms);
  EXPECT_EQ(a.fires + b.fires, 0);
  w.advance(kStart + 50ms);
  EXPECT_EQ(b.fires, 1);
  EXPECT_EQ(a.fires, 0);
}

TEST(TimerWheel, PeriodicRearmFromCallback) {
  TimerWheel w(kStart);
  struct Periodic {
    Timer t;
    TimerWheel* w;
    int n = 0;
    static void cb(void* ctx, Timer* t, Instant now) {
      auto* p = static_cast<Periodic*>(ctx);
      ++p->n;
      p->w->arm(*t, now + 100ms);
    }
  } p{Timer(&Periodic::cb, &p), &w};
  w.arm(p.t, kStart + 100ms);
  for (int ms = 1; ms <= 1000; ++ms) w.advance(kStart + std::chrono::milliseconds(ms));
  EXPECT_EQ(p.n, 10);
  w.cancel(p.t);
}

TEST(TimerWheel, CallbackCancelsAnotherDueTimer) {
  TimerWheel w(kStart);
  struct Killer {
    Timer t;
    TimerWheel* w;
    Timer* victim;
    static void cb(void* ctx, Timer*, Instant) {
      auto* k = static_cast<Killer*>(ctx);
      k->w->cancel(*k->victim);
    }
  };
  Rec victim;
  Killer k{Timer(&Killer::cb, &k), &w, &victim.t};
  // Same slot: whichever runs first, the victim must not run after being cancelled.
  w.arm(victim.t, kStart + 3ms);
  w.arm(k.t, kStart + 3ms);
  w.advance(kStart + 3ms);
  EXPECT_EQ(victim.fires, 0);
  EXPECT_EQ(w.pending(), 0u);
}

// Random deadlines from 1 ms to ~3 days across every level; each fires once, never early, at most one
// tick late, with time advanced in irregular steps.
TEST(TimerWheel, RandomDeadlinesAllLevels) {
  TimerWheel w(kStart);
  std::mt19937_64 rng(42);
  constexpr int kN = 5000;
  std::vector<Rec> recs(kN);
  std::vector<Instant> deadline(kN);
  Instant horizon = kStart;
  for (int i = 0; i < kN; ++i) {
    const int64_t exp = static_cast<int64_t>(rng() % 28);  // up to 2^28 ms ~ 3 days
    const int64_t ms = 1 + static_cast<int64_t>(rng() % (int64_t{1} << exp));
    deadline[i] = kStart + std::chrono::milliseconds(ms) + std::chrono::microseconds(rng() % 1000);
    if (deadline[i] > horizon) horizon = deadline[i];
    w.arm(recs[i].t, deadline[i]);
  }
  Instant now = kStart;
  while (now <= horizon + 2ms) {
    // Steps from 1 ms to ~17 min.
    now += std::chrono::milliseconds(1 + static_cast<int64_t>(rng() % (1 << (rng() % 21))));
    w.advance(now);
    for (int i = 0; i < kN; ++i) {
      if (recs[i].fires) {
        ASSERT_EQ(recs[i].fires, 1) << i;
        ASSERT_GE(recs[i].fired_at, deadline[i]) << i;
      } else {
        ASSERT_LT(now, deadline[i] + 1ms) << "timer " << i << " late";
      }
    }
  }
  for (int i = 0; i < kN; ++i) EXPECT_EQ(recs[i].fires, 1) << i;
  EXPECT_EQ(w.pending(), 0u);
}

TEST(TimerWheel, BeyondTheWheelIsParkedAndStillExact) {
  TimerWheel w(kStart);
  Rec r;
  const Instant d = kStart + std::chrono::hours(24 * 60);  // 60 days > 2^32 ms
  w.arm(r.t, d);
  for (Instant t = kStart; t < d - std::chrono::hours(1); t += std::chrono::hours(1)) w.advance(t);
  EXPECT_EQ(r.fires, 0);
  w.advance(d - 1ms);
  EXPECT_EQ(r.fires, 0);
  w.advance(d);
  EXPECT_EQ(r.fires, 1);
}

TEST(TimerWheel, IdleJumpIsCheap) {
  TimerWheel w(kStart);
  w.advance(kStart + std::chrono::hours(1000));  // no timers: no per-tick walk
  Rec r;
  w.arm(r.t, kStart + std::chrono::hours(1000) + 5ms);
  w.advance(kStart + std::chrono::hours(1000) + 5ms);
  EXPECT_EQ(r.fires, 1);
}
