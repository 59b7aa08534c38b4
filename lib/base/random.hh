#pragma once
// Fast per-shard PRNG (xoshiro256**), seeded from getrandom(). Not for secrets: keys use siphash.

#include <cstdint>

namespace skiff {

class Rng {
 public:
  Rng();  // seeded from getrandom()
  explicit Rng(uint64_t seed);
  uint64_t next();
  uint32_t next_u32() { return static_cast<uint32_t>(next() >> 32); }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias < 2^-32 for n < 2^32).
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((static_cast<uint64_t>(next_u32()) * n) >> 32); }

 private:
  uint64_t s_[4];
};

}  // namespace skiff
