#include "core/timer_wheel.hh"

#include <algorithm>

namespace skiff {

TimerWheel::TimerWheel(Instant now, Duration tick)
    : tick_(tick), tick_ns_(static_cast<uint64_t>(tick.count())), current_(now.ns() / tick_ns_) {}

TimerWheel::~TimerWheel() {
  // Leave no timer pointing into freed slots.
  auto drain = [](Timer*& head) {
    while (head) unlink(*head);
  };
  drain(due_);
  for (auto& s : root_) drain(s);
  for (auto& lv : levels_)
    for (auto& s : lv) drain(s);
}

void TimerWheel::unlink(Timer& t) {
  *t.pprev = t.next;
  if (t.next) t.next->pprev = t.pprev;
  t.next = nullptr;
  t.pprev = nullptr;
}

void TimerWheel::push(Timer*& head, Timer& t) {
  t.next = head;
  if (head) head->pprev = &t.next;
  head = &t;
  t.pprev = &head;
}

void TimerWheel::insert(Timer& t) {
  const uint64_t e = t.expires;
  const uint64_t idx = e - current_;
  if (static_cast<int64_t>(idx) < 0) {
    push(due_, t);  // already due
  } else if (idx < kRootSize) {
    push_root(static_cast<unsigned>(e & (kRootSize - 1)), t);
  } else {
    unsigned level = 0;
    uint64_t limit = uint64_t{1} << (kRootBits + kLevelBits);
    while (level + 1 < kLevels && idx >= limit) {
      ++level;
      limit <<= kLevelBits;
    }
    uint64_t ex = e;
    if (idx >= limit) ex = current_ + limit - 1;  // beyond the wheel: park at the far end, re-cascaded later
    const unsigned shift = kRootBits + level * kLevelBits;
    push(levels_[level][(ex >> shift) & (kLevelSize - 1)], t);
  }
}

void TimerWheel::push_root(unsigned slot, Timer& t) {
  push(root_[slot], t);
  root_bits_[slot / 64] |= uint64_t{1} << (slot % 64);
}

unsigned TimerWheel::next_occupied(unsigned from) {
  for (unsigned w = from / 64; w < kRootSize / 64; ++w) {
    uint64_t bits = root_bits_[w];
    if (w == from / 64) bits &= ~uint64_t{0} << (from % 64);
    while (bits) {
      const unsigned slot = w * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
      if (root_[slot]) return slot;
      root_bits_[w] &= ~(uint64_t{1} << (slot % 64));  // emptied by cancels: forget it
      bits &= bits - 1;
    }
  }
  return kRootSize;
}

void TimerWheel::arm(Timer& t, Instant deadline) {
  if (t.armed()) {
    unlink(t);
  } else {
    ++pending_;
  }
  t.deadline_ = deadline;
  t.expires = (deadline.ns() + tick_ns_ - 1) / tick_ns_;  // round up: never early
  insert(t);
}

void TimerWheel::cancel(Timer& t) {
  if (!t.armed()) return;
  unlink(t);
  --pending_;
}

unsigned TimerWheel::cascade(unsigned level, unsigned index) {
  Timer* list = levels_[level][index];
  levels_[level][index] = nullptr;
  if (list) list->pprev = &list;
  while (list) {
    Timer& t = *list;
    unlink(t);
    insert(t);
  }
  return index;
}

void TimerWheel::run_list(Timer*& head, Instant now) {
  // Detach the list into work_ first, so callbacks can arm/cancel anything (including list members).
  work_ = head;
  head = nullptr;
  if (work_) work_->pprev = &work_;
  while (work_) {
    Timer& t = *work_;
    unlink(t);
    if (t.expires >= current_) {
      insert(t);  // a parked far-future timer cascaded early: not due yet
      continue;
    }
    --pending_;
    ++fired_;
    t.fn(t.ctx, &t, now);
  }
}

void TimerWheel::advance(Instant now) {
  const uint64_t target = now.ns() / tick_ns_;
  for (;;) {
    if (due_) run_list(due_, now);
    if (pending_ == 0) {
      if (target >= current_) current_ = target + 1;
      return;
    }
    if (current_ > target) return;
    const unsigned index = current_ & (kRootSize - 1);
    if (index == 0) {
      // Pull the next slot of each level down, as far as the wrap propagates.
      for (unsigned level = 0; level < kLevels; ++level) {
        const unsigned shift = kRootBits + level * kLevelBits;
        if (cascade(level, (current_ >> shift) & (kLevelSize - 1)) != 0) break;
      }
    }
    // Skip empty slots in one step: to the next occupied slot, the next cascade boundary, or past target.
    const unsigned next = next_occupied(index);
    if (next != index) {
      current_ += std::min<uint64_t>(next - index, target + 1 - current_);
      continue;
    }
    ++current_;
    run_list(root_[index], now);
  }
}

}  // namespace skiff
