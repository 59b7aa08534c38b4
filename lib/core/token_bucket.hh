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
  void configure(uint32_t rate_per_sec, uint32_t burst);

 private:
  uint32_t rate_, burst_;
  uint64_t tokens_;  // whole tokens
  Instant last_{};
  bool started_ = false;
};

}  // namespace skiff
