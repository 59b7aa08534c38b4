// Internet checksum: Skiff's csum_partial (+ fold) against DPDK's rte_raw_cksum, over buffers the sizes of
// an IPv4 header (20), a minimum frame (64), the classic IPv4 minimum MTU (576), Ethernet MTU (1500) and a
// jumbo frame (9000). The buffer starts 14 bytes past a cache line, where an IP header sits in an mbuf.
// Also: copy-and-checksum in one pass against a copy followed by a checksum.

#include <benchmark/benchmark.h>
#include <rte_ip.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/checksum.hh"

namespace {

constexpr size_t kOffset = 14;

struct Buffer {
  explicit Buffer(size_t n) : storage(n + kOffset + 64) {
    auto base = reinterpret_cast<uintptr_t>(storage.data());
    data = reinterpret_cast<uint8_t*>((base + 63) & ~uintptr_t{63}) + kOffset;
    uint32_t x = 0x12345678;
    for (size_t i = 0; i < n; ++i) {
      x = x * 1103515245u + 12345u;
      data[i] = static_cast<uint8_t>(x >> 16);
    }
  }
  std::vector<uint8_t> storage;
  uint8_t* data = nullptr;
};

// The pointer as a value the compiler cannot see through (a register-only asm operand). With LTO, GCC 12
// turned benchmark::DoNotOptimize ("+m,r") on a local pointer here into a memcpy to a garbage address.
uint8_t* opaque(uint8_t* p) {
  asm volatile("" : "+r"(p));
  return p;
}

// Both implementations must agree before either is timed.
bool agree(const uint8_t* p, size_t n) {
  const uint16_t a = skiff::wire::csum_fold16(skiff::wire::csum_partial(p, n));
  const uint16_t b = rte_raw_cksum(p, n);
  // 0x0000 and 0xffff are the same one's-complement value.
  return a == b || (a == 0xffff && b == 0) || (a == 0 && b == 0xffff);
}

void BM_CsumSkiff(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Buffer buf(n);
  if (!agree(buf.data, n)) return state.SkipWithError("csum_partial disagrees with rte_raw_cksum");
  for (auto _ : state) {
    uint8_t* p = buf.data;
    benchmark::DoNotOptimize(p);  // also clobbers memory: the sum is recomputed each iteration
    uint16_t c = skiff::wire::csum_fold16(skiff::wire::csum_partial(p, n));
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_CsumDpdk(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Buffer buf(n);
  if (!agree(buf.data, n)) return state.SkipWithError("csum_partial disagrees with rte_raw_cksum");
  for (auto _ : state) {
    uint8_t* p = buf.data;
    benchmark::DoNotOptimize(p);
    uint16_t c = rte_raw_cksum(p, n);
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

// The IPv4 header checksum as the stack computes it on output (zero the field, sum, store).
void BM_Ipv4HeaderFill(benchmark::State& state) {
  Buffer buf(20);
  buf.data[0] = 0x45;
  for (auto _ : state) {
    uint8_t* p = buf.data;
    benchmark::DoNotOptimize(p);
    skiff::wire::store_raw16(p + 10, 0);
    skiff::wire::store_raw16(p + 10, skiff::wire::inet_checksum(p, 20));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 20));
}

// A segment's payload copied into its frame and checksummed: in one pass (csum_copy, what TCP output does),
// and as a copy followed by a sum of the copy.
void BM_CopyAndSum(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Buffer src(n), dst(n);
  for (auto _ : state) {
    uint8_t* d = opaque(dst.data);
    benchmark::DoNotOptimize(skiff::wire::csum_copy(d, src.data, n));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_CopyThenSum(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Buffer src(n), dst(n);
  for (auto _ : state) {
    uint8_t* d = opaque(dst.data);
    memcpy(d, src.data, n);
    benchmark::DoNotOptimize(skiff::wire::csum_partial(d, n));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

}  // namespace

BENCHMARK(BM_CopyAndSum)->Arg(64)->Arg(1448)->Arg(8948);
BENCHMARK(BM_CopyThenSum)->Arg(64)->Arg(1448)->Arg(8948);
BENCHMARK(BM_CsumSkiff)->Arg(20)->Arg(64)->Arg(576)->Arg(1500)->Arg(9000);
BENCHMARK(BM_CsumDpdk)->Arg(20)->Arg(64)->Arg(576)->Arg(1500)->Arg(9000);
BENCHMARK(BM_Ipv4HeaderFill);
