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
// 2^31). With AVX2, buffers of kVectorMin bytes and more go through sum_words_avx2.
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

// Sum of the 16-bit words of [p, p + len), len a multiple of 32 and at most kChunk. Each 32-bit lane adds
// the low and the high word of every dword in separate accumulators (mask and shift: no shuffles, which
// hold the compiler's vectorisation of the 16-bit loop to one port), 64 bytes an iteration.
uint64_t sum_words_avx2(const uint8_t* p, size_t len) {
  const __m256i low = _mm256_set1_epi32(0xffff);
  __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    lo = _mm256_add_epi32(lo, _mm256_and_si256(a, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(a, 16));
    lo = _mm256_add_epi32(lo, _mm256_and_si256(b, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(b, 16));
  }
  if (i < len) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    lo = _mm256_add_epi32(lo, _mm256_and_si256(a, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(a, 16));
  }
  return reduce_lanes(lo, hi);
}

// sum_words_avx2 while copying the bytes to `dst` (the loads feed both; the stores drain behind).
uint64_t copy_sum_words_avx2(uint8_t* dst, const uint8_t* p, size_t len) {
  const __m256i low = _mm256_set1_epi32(0xffff);
  __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 32), b);
    lo = _mm256_add_epi32(lo, _mm256_and_si256(a, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(a, 16));
    lo = _mm256_add_epi32(lo, _mm256_and_si256(b, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(b, 16));
  }
  if (i < len) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), a);
    lo = _mm256_add_epi32(lo, _mm256_and_si256(a, low));
    hi = _mm256_add_epi32(hi, _mm256_srli_epi32(a, 16));
  }
  return reduce_lanes(lo, hi);
}

}  // namespace
#endif

uint64_t csum_partial(const void* data, size_t len, uint64_t sum) {
  const auto* p = static_cast<const uint8_t*>(data);
  constexpr size_t kChunk = 32768;
#if defined(__AVX2__)
  if (len < kVectorMin) [[likely]] return sum + __rte_raw_cksum(p, len, 0);  // headers
  // Segment-sized buffers: the 32-byte blocks here, the rest (< 32 bytes, at an even offset) after.
  {
    while (len >= 32) {
      const size_t n = std::min(len, kChunk) & ~size_t{31};
      sum += sum_words_avx2(p, n);
      p += n;
      len -= n;
    }
    return len ? sum + __rte_raw_cksum(p, len, 0) : sum;
  }
#endif
  while (len > kChunk) {
    sum += __rte_raw_cksum(p, kChunk, 0);
    p += kChunk;
    len -= kChunk;
  }
  return sum + __rte_raw_cksum(p, len, 0);
}

uint64_t csum_copy(void* dst, const void* src, size_t len, uint64_t sum) {
#if defined(__AVX2__)
  if (len >= kVectorMin) {
    auto* d = static_cast<uint8_t*>(dst);
    const auto* p = static_cast<const uint8_t*>(src);
    constexpr size_t kChunk = 32768;
    while (len >= 32) {
      const size_t n = std::min(len, kChunk) & ~size_t{31};
      sum += copy_sum_words_avx2(d, p, n);
      d += n;
      p += n;
      len -= n;
    }
    if (!len) return sum;
    memcpy(d, p, len);
    return sum + __rte_raw_cksum(p, len, 0);
  }
#endif
  memcpy(dst, src, len);
  return csum_partial(src, len, sum);
}

}  // namespace skiff::wire
