#pragma once
// One hierarchical timing wheel per shard (the classic Linux/BSD design): O(1) arm and cancel, timers
// never fire early and at most one tick late. Timers are intrusive: no allocation to arm one.

#include <cstdint>

#include "base/time.hh"

namespace skiff {

class TimerWheel;

struct Timer {
  using Fn = void (*)(void* ctx, Timer* t, Instant now);

  Timer() = default;
  Timer(Fn f, void* c) : fn(f), ctx(c) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return pprev != nullptr; }
  Instant deadline() const { return deadline_; }

  Fn fn = nullptr;
  void* ctx = nullptr;

  // The wheel's bookkeeping (public only so that objects embedding a Timer stay standard-layout; nothing
  // outside TimerWheel touches these).
  Timer* next = nullptr;
  Timer** pprev = nullptr;
  uint64_t expires = 0;  // in ticks
  Instant deadline_{};
};

class TimerWheel {
 public:
  explicit TimerWheel(Instant now, Duration tick = std::chrono::milliseconds(1));
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms (or re-arms) `t` to fire at `deadline` or at most one tick later.
  void arm(Timer& t, Instant deadline);
  void cancel(Timer& t);
  // Runs every timer whose deadline is <= now. Callbacks may arm and cancel any timer.
  void advance(Instant now);

  size_t pending() const { return pending_; }
  Duration tick() const { return tick_; }
  uint64_t fired() const { return fired_; }

 private:
  static constexpr unsigned kRootBits = 8, kLevelBits = 6;
  static constexpr unsigned kRootSize = 1u << kRootBits, kLevelSize = 1u << kLevelBits;
  static constexpr unsigned kLevels = 4;  // above the root: 8 + 4*6 = 32 bits of ticks

  void insert(Timer& t);
  unsigned cascade(unsigned level, unsigned index);
  static void unlink(Timer& t);
  static void push(Timer*& head, Timer& t);

  Duration tick_;
  uint64_t tick_ns_;
  uint64_t current_;  // the next tick to run
  size_t pending_ = 0;
  uint64_t fired_ = 0;
  void run_list(Timer*& head, Instant now);
  void push_root(unsigned slot, Timer& t);
  // The first root slot >= from that may hold timers (kRootSize if none); clears stale bits on the way.
  unsigned next_occupied(unsigned from);

  Timer* work_ = nullptr;  // the list being run (advance() is not re-entrant)
  Timer* due_ = nullptr;  // armed with a deadline already passed: run at the next advance()
  Timer* root_[kRootSize] = {};
  uint64_t root_bits_[kRootSize / 64] = {};  // set when a root slot gets a timer; cleared lazily
  Timer* levels_[kLevels][kLevelSize] = {};
};

}  // namespace skiff
