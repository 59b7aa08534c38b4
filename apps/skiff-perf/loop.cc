#include "skiff-perf/loop.hh"

#include <algorithm>

namespace perf {

Loop::NetState* Loop::state_of(Net& net, bool create) {
  for (auto& s : nets_)
    if (s->net == &net) return s.get();
  if (!create) return nullptr;
  nets_.push_back(std::make_unique<NetState>(NetState{&net, {}}));
  return nets_.back().get();
}

bool Loop::add(Net& net, int fd, uint32_t events, Watcher* w) {
  if (fd < 0) return false;
  NetState* s = state_of(net, true);
  if (net.watch(EPOLL_CTL_ADD, fd, events, static_cast<uint64_t>(fd)) < 0) return false;
  if (s->watchers.size() <= static_cast<size_t>(fd)) {
    s->watchers.resize(static_cast<size_t>(fd) + 1, nullptr);
    s->events.resize(static_cast<size_t>(fd) + 1, 0);
  }
  s->watchers[static_cast<size_t>(fd)] = w;
  s->events[static_cast<size_t>(fd)] = events;
  return true;
}

bool Loop::modify(Net& net, int fd, uint32_t events) {
  // A request/response stream switches between EPOLLIN and EPOLLIN|EPOLLOUT; most calls change nothing,
  // and each one that reaches the Net is a system call with the kernel's stack.
  NetState* s = state_of(net, false);
  const auto i = static_cast<size_t>(fd);
  const bool known = s && fd >= 0 && i < s->watchers.size() && s->watchers[i];
  if (known && s->events[i] == events) return true;
  if (net.watch(EPOLL_CTL_MOD, fd, events, static_cast<uint64_t>(fd)) != 0) return false;
  if (known) s->events[i] = events;
  return true;
}

void Loop::remove(Net& net, int fd) {
  if (fd < 0) return;
  NetState* s = state_of(net, false);
  if (!s || static_cast<size_t>(fd) >= s->watchers.size() || !s->watchers[static_cast<size_t>(fd)]) return;
  s->watchers[static_cast<size_t>(fd)] = nullptr;
  net.watch(EPOLL_CTL_DEL, fd, 0, 0);
}

void Loop::close(Net& net, int fd) {
  if (fd < 0) return;
  remove(net, fd);
  net.close(fd);
}

uint64_t Loop::at(Time when, Fn fn) {
  const uint64_t id = next_id_++;
  timer_index_[id] = timers_.emplace(when, std::make_pair(id, std::move(fn)));
  return id;
}

void Loop::cancel(uint64_t timer_id) {
  auto it = timer_index_.find(timer_id);
  if (it == timer_index_.end()) return;
  timers_.erase(it->second);
  timer_index_.erase(it);
}

uint64_t Loop::add_ticker(Fn fn) {
  const uint64_t id = next_id_++;
  tickers_.emplace_back(id, std::move(fn));
  return id;
}

void Loop::remove_ticker(uint64_t id) {
  for (auto& t : tickers_)
    if (t.first == id) t.first = 0;  // erased after the current pass
}

void Loop::run_once() {
  epoll_event ev[128];
  const bool many = nets_.size() > 1;
  for (size_t i = 0; i < nets_.size(); ++i) {
    NetState* s = nets_[i].get();
    int64_t timeout_ns = 0;
    if (!many && !s->net->busy_poll() && tickers_.empty()) {
      timeout_ns = 100'000'000;  // wake up now and then for signals
      if (!timers_.empty()) {
        const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(timers_.begin()->first - Clock::now());
        timeout_ns = std::clamp<int64_t>(d.count(), 0, timeout_ns);
      }
    }
    const int n = s->net->wait(ev, 128, timeout_ns);
    for (int k = 0; k < n; ++k) {
      const auto fd = static_cast<size_t>(ev[k].data.u64);
      // Looked up per event: an earlier handler may have removed this one.
      if (fd < s->watchers.size() && s->watchers[fd]) s->watchers[fd]->on_ready(ev[k].events);
    }
    s->net->flush();
  }
  if (!timers_.empty()) {
    // One Net that polled just now has the time already (a busy-polling iteration is a few hundred ns; a
    // second clock read was ~3 % of a request/response server's CPU).
    const int64_t cached = many || nets_.empty() ? -1 : nets_[0]->net->last_wait_ns();
    const Time now = cached >= 0 ? Time(Clock::duration(cached)) : Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      auto it = timers_.begin();
      Fn fn = std::move(it->second.second);
      timer_index_.erase(it->second.first);
      timers_.erase(it);
      fn();
    }
  }
  if (!tickers_.empty()) {
    const size_t n = tickers_.size();
    for (size_t i = 0; i < n; ++i)
      if (tickers_[i].first) tickers_[i].second();  // a ticker added now runs next time
    std::erase_if(tickers_, [](const auto& t) { return t.first == 0; });
    for (auto& s : nets_) s->net->flush();
  }
}

bool Loop::run_until(const std::function<bool()>& pred) {
  while (!pred()) {
    if (stopped_ || (interrupted && interrupted())) return false;
    run_once();
  }
  return true;
}

}  // namespace perf
