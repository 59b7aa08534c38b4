#pragma once
// A token bucket for rate limits (ICMP errors, challenge ACKs). Time is passed in.

#include <cstdint>

#include "base/time.hh"

namespace skiff {

class TokenBucket {
 public:
  TokenBucket(uint32_t rate_per_sec, uint32_t burst) : rate_(rate_per_sec), burst_(burst), tokens_(burst) {}
  // Takes one token if available.
  bool take(Instant now);
  // Whether a token is available (refilled to `now`), taking none.
  bool allow(Instant now);
  // Takes up to `n` tokens (what is left, if fewer).
  void consume(uint32_t n) { tokens_ -= n < tokens_ ? n : tokens_; }
  void configure(uint32_t rate_per_sec, uint32_t burst);

 private:
  void refill(Instant now);
  uint32_t rate_, burst_;
  uint64_t tokens_;  // whole tokens
  Instant last_{};
  bool started_ = false;
};

// A rate limit per key (a destination address), as Linux's inet_peer_xrlim_allow: each key earns one send
// per `interval` up to a burst of `burst`. The keys live in a fixed direct-mapped table under a secret hash:
// memory stays bounded, and a key that loses its slot comes back with a full burst (no worse than a table
// that would have had room for it).
class PeerRateLimit {
 public:
  PeerRateLimit(Duration interval, uint32_t burst, uint64_t secret);
  bool allow(uint32_t key, Instant now);

 private:
  static constexpr size_t kSlots = 1024;
  struct Slot {
    uint32_t key = 0;
    bool used = false;
    int64_t credit_ns = 0;  // earned time, at most burst * interval
    Instant last{};
  };
  int64_t interval_ns_;
  int64_t max_credit_ns_;
  uint64_t secret_;
  Slot slots_[kSlots];
};

}  // namespace skiff
