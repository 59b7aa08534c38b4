#pragma once
// PairHarness: two Skiff stacks wired back to back in memory with one manual clock. "a" is 10.0.0.1,
// "b" is 10.0.0.2. pump() carries frames across (through an optional filter that can drop, delay or
// duplicate them) and runs both shards until nothing moves. Socket calls act on the stack chosen with
// on(a) / on(b). At teardown every buffer must be back in both pools.
//
//   PairHarness p;
//   p.on(p.b()); int l = listen_on(7000);
//   p.on(p.a()); int c = connect_to(p.b_ip, 7000);
//   p.pump();

#include <functional>
#include <memory>
#include <vector>

#include "stack_harness.hh"

namespace skiff::test {

class PairHarness {
 public:
  // What happens to one frame in flight: the filter returns how many copies to deliver (0 = drop).
  using Filter = std::function<int(bool a_to_b, const Bytes& frame)>;

  static constexpr Ipv4Addr kA = Ipv4Addr::of(10, 0, 0, 1);
  static constexpr Ipv4Addr kB = Ipv4Addr::of(10, 0, 0, 2);

  explicit PairHarness(StackConfig cfg = {});
  ~PairHarness();

  Shard& a() { return a_->shard(0); }
  Shard& b() { return b_->shard(0); }
  // Socket calls on this thread now act on `sh`.
  void on(Shard& sh) { set_this_shard(&sh); }
  ManualClock& clock() { return clock_; }

  // Moves frames and polls both shards until quiet (bounded); returns frames carried.
  size_t pump(int max_rounds = 10000);
  // Advances the clock in steps of `step` (running timers and pumping) for `d` in all.
  void advance(Duration d, Duration step = 1ms);
  Filter filter;  // nullptr = a perfect wire
  uint64_t carried = 0, dropped = 0;

 private:
  size_t move(FakeDevice& from, FakeDevice& to, bool a_to_b);
  ManualClock clock_;
  FakeDevice dev_a_, dev_b_;
  std::unique_ptr<Stack> a_, b_;
};

}  // namespace skiff::test
