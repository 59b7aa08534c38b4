#include "wire/checksum.hh"

#include <rte_ip.h>

namespace skiff::wire {

// DPDK's __rte_raw_cksum (a plain 16-bit-word loop that vectorises) measured faster than our own 32-bit
// accumulator loop at every size (benchmarks/bench_checksum.cc, docs/performance.md), so we use it. It sums
// into 32 bits: 32 KiB chunks keep that exact (16384 words * 0xffff < 2^31).
uint64_t csum_partial(const void* data, size_t len, uint64_t sum) {
  const auto* p = static_cast<const uint8_t*>(data);
  constexpr size_t kChunk = 32768;
  while (len > kChunk) {
    sum += __rte_raw_cksum(p, kChunk, 0);
    p += kChunk;
    len -= kChunk;
  }
  return sum + __rte_raw_cksum(p, len, 0);
}

}  // namespace skiff::wire
