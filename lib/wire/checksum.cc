#include "wire/checksum.hh"

#include <rte_ip.h>

#include <algorithm>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace skiff::wire {

// DPDK's __rte_raw_cksum (a plain 16-bit-word loop that vectorises) measured faster than our own 32-bit
// accumulator loop at every size (benchmarks/bench_checksum.cc, docs/performance.md), so we use it for
// short buffers and tails. It sums into 32 bits: 32 KiB chunks keep that exact (16384 words * 0xffff <
// 2^31). With AVX2, buffers of kVectorMin bytes and more go through sum_avx2.
#if defined(__AVX2__)
namespace {
constexpr size_t kVectorMin = 128;  // bytes: below, __rte_raw_cksum (bench_checksum)

// Lanes hold at most 1,024 words each (< 2^26): adding lanes pairwise stays within 32 bits down to four,
// then two 64-bit halves.
inline uint64_t reduce_lanes(__m256i lo, __m256i hi) {
  const __m256i s8 = _mm256_add_epi32(lo, hi);
  const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
  const __m128i s2 = _mm_add_epi64(_mm_and_si128(s4, _mm_set1_epi64x(0xffffffff)), _mm_srli_epi64(s4, 32));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(s2)) + static_cast<uint64_t>(_mm_extract_epi64(s2, 1));
}

// Sum of the 16-bit words of [p, p + len), len a multiple of 32 and at most kChunk; with kCopy, also
// stores the bytes to `dst` (the loads feed both; the stores drain behind). Each 32-bit lane adds the low
// and the high word of every dword in separate accumulators (mask and shift: no shuffles, which hold the
// compiler's vectorisation of the 16-bit loop to one port), 64 bytes an iteration.
template <bool kCopy>
uint64_t sum_words_avx2(uint8_t* dst, const uint8_t* p, size_t len) {
  const __m256i low = _mm256_set1_epi32(0xffff);
  __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
  const auto block = [&](size_t at) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at));
    if constexpr (kCopy) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + at), a);
    lo = _mm256_add_epi32(lo, _mm256_and_si256(a, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(a, 16));
  };
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    block(i);
    block(i + 32);
  }
  if (i < len) block(i);
  return reduce_lanes(lo, hi);
}

// The 32-byte blocks of [p, p + len) through sum_words_avx2 in chunks its lanes can hold, the rest (< 32
// bytes, at an even offset) through __rte_raw_cksum (and memcpy).
template <bool kCopy>
uint64_t sum_avx2(uint8_t* dst, const uint8_t* p, size_t len, uint64_t sum) {
  constexpr size_t kChunk = 32768;
  while (len >= 32) {
    const size_t n = std::min(len, kChunk) & ~size_t{31};
    sum += sum_words_avx2<kCopy>(dst, p, n);
    if constexpr (kCopy) dst += n;
    p += n;
    len -= n;
  }
  if (!len) return sum;
  if constexpr (kCopy) memcpy(dst, p, len);
  return sum + __rte_raw_cksum(p, len, 0);
}

}  // namespace
#endif

uint64_t csum_partial(const void* data, size_t len, uint64_t sum) {
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__AVX2__)
  if (len < kVectorMin) [[likely]] return sum + __rte_raw_cksum(p, len, 0);  // headers
  return sum_avx2<false>(nullptr, p, len, sum);
#else
  constexpr size_t kChunk = 32768;
  while (len > kChunk) {
    sum += __rte_raw_cksum(p, kChunk, 0);
    p += kChunk;
    len -= kChunk;
  }
  return sum + __rte_raw_cksum(p, len, 0);
#endif
}

uint64_t csum_copy(void* dst, const void* src, size_t len, uint64_t sum) {
#if defined(__AVX2__)
  if (len >= kVectorMin) {
    return sum_avx2<true>(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len, sum);
  }
#endif
  memcpy(dst, src, len);
  return csum_partial(src, len, sum);
}

}  // namespace skiff::wire
