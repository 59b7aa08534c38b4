#include "base/siphash.hh"

#include <sys/random.h>

#include <cstring>

namespace skiff {

namespace {
inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct State {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
};
}  // namespace

uint64_t siphash24(const SipKey& key, const void* data, size_t len) {
  State s{0x736f6d6570736575ull ^ key.k0, 0x646f72616e646f6dull ^ key.k1, 0x6c7967656e657261ull ^ key.k0,
          0x7465646279746573ull ^ key.k1};
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t blocks = len / 8;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t m;
    memcpy(&m, p + 8 * i, 8);  // little-endian host assumed (x86-64, aarch64)
    s.v3 ^= m;
    s.round();
    s.round();
    s.v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(len) << 56;
  const uint8_t* tail = p + 8 * blocks;
  for (size_t i = 0; i < (len & 7); ++i) b |= static_cast<uint64_t>(tail[i]) << (8 * i);
  s.v3 ^= b;
  s.round();
  s.round();
  s.v0 ^= b;
  s.v2 ^= 0xff;
  s.round();
  s.round();
  s.round();
  s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

const SipKey& process_secret() {
  static const SipKey key = [] {
    SipKey k;
    if (getrandom(&k, sizeof k, 0) != static_cast<ssize_t>(sizeof k)) {
      // getrandom cannot fail for 16 bytes once the pool is initialised; keep a non-zero fallback.
      k.k0 = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&k);
      k.k1 = 0xbf58476d1ce4e5b9ull;
    }
    return k;
  }();
  return key;
}

}  // namespace skiff
