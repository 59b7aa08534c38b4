#pragma once
// SipHash-2-4 (Aumasson & Bernstein), the keyed hash behind ISNs (RFC 6528) and port choice (RFC 6056).

#include <cstddef>
#include <cstdint>

namespace skiff {

struct SipKey {
  uint64_t k0 = 0, k1 = 0;
};

uint64_t siphash24(const SipKey& key, const void* data, size_t len);

// A per-process secret, drawn from getrandom() on first use.
const SipKey& process_secret();

}  // namespace skiff
