#pragma once
// skiff-perf's event loop: readiness from one or more Nets, timers, and per-iteration tickers (senders
// that run every iteration, such as unpaced UDP). Single-threaded; handlers may add or remove anything,
// including themselves, while they run.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/clock.hh"
#include "skiff-perf/net.hh"

namespace perf {

// steady_clock's time (CLOCK_MONOTONIC), read as Skiff's shards read it (base/clock.hh: through the TSC
// where the kernel itself does, ~10 ns instead of ~20): the loop reads it every iteration and a
// request/response client once per transaction, for both stacks alike.
struct Clock {
  using rep = int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<Clock>;
  static constexpr bool is_steady = true;
  static time_point now() { return time_point(duration(static_cast<rep>(skiff::MonotonicClock::now_ns()))); }
};
using Time = Clock::time_point;
inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
inline Clock::duration from_seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Something that wants readiness events for one socket.
struct Watcher {
  virtual ~Watcher() = default;
  virtual void on_ready(uint32_t events) = 0;
};

class Loop {
 public:
  using Fn = std::function<void()>;

  // Starts watching `fd` of `net` (level-triggered). One watcher per (net, fd).
  bool add(Net& net, int fd, uint32_t events, Watcher* w);
  // Changes the events watched; a no-op (no call into the Net) when they are already those.
  bool modify(Net& net, int fd, uint32_t events);
  void remove(Net& net, int fd);
  // Removes the watch and closes the socket.
  void close(Net& net, int fd);

  uint64_t at(Time when, Fn fn);
  uint64_t after(double secs, Fn fn) { return at(Clock::now() + from_seconds(secs), std::move(fn)); }
  void cancel(uint64_t timer_id);
  uint64_t add_ticker(Fn fn);
  void remove_ticker(uint64_t id);

  // One iteration over every Net: wait (at most until the next timer; not at all when busy polling or
  // tickers run), dispatch, flush; then due timers, then tickers.
  void run_once();
  // Iterates until pred() is true or stop() was called. Returns false if stopped by stop().
  bool run_until(const std::function<bool()>& pred);
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // Called every iteration (the app's signal check).
  std::function<bool()> interrupted;

 private:
  struct NetState {
    Net* net;
    std::vector<Watcher*> watchers;  // by fd
    std::vector<uint32_t> events;    // by fd: what the Net watches now
  };
  NetState* state_of(Net& net, bool create);

  std::vector<std::unique_ptr<NetState>> nets_;
  std::multimap<Time, std::pair<uint64_t, Fn>> timers_;
  std::unordered_map<uint64_t, std::multimap<Time, std::pair<uint64_t, Fn>>::iterator> timer_index_;
  std::deque<std::pair<uint64_t, Fn>> tickers_;  // a deque: adding one keeps the others in place
  uint64_t next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace perf
