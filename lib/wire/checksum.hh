#pragma once
// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// All functions work on "raw" 16-bit values: the bytes as they sit in memory, loaded natively. The
// one's-complement sum is byte-order independent, so a raw result is stored with memcpy, never swapped.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/addr.hh"

namespace skiff::wire {

// Sum of the buffer's 16-bit words (native loads) added to `sum`; not folded, not complemented.
uint64_t csum_partial(const void* data, size_t len, uint64_t sum = 0);
// Copies `len` bytes from `src` to `dst` (not overlapping) and returns csum_partial of them added to `sum`,
// in one pass where the CPU allows (a checksum computed right after a copy waits for the copy's stores).
uint64_t csum_copy(void* dst, const void* src, size_t len, uint64_t sum = 0);

// Folds a partial sum to 16 bits (no complement).
inline uint16_t csum_fold16(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The checksum field value (raw) for a partial sum.
inline uint16_t csum_finish(uint64_t sum) { return static_cast<uint16_t>(~csum_fold16(sum)); }

// Checksum of a whole buffer, ready to store (raw).
inline uint16_t inet_checksum(const void* data, size_t len) { return csum_finish(csum_partial(data, len)); }

// True when the buffer, checksum field included, sums to all ones (i.e. the checksum verifies).
inline bool csum_ok(uint64_t sum) { return csum_fold16(sum) == 0xffff; }

// Partial sum of the IPv4 pseudo-header (RFC 793 §3.1 / RFC 768) for an L4 checksum.
inline uint64_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t l4_len) {
  return uint64_t{src.be()} + dst.be() + __builtin_bswap16(static_cast<uint16_t>(proto)) + __builtin_bswap16(l4_len);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all raw 16-bit values. Its one ambiguity: a result of 0x0000 is
// right unless every covered word is now zero (the sum is +0, whose checksum is 0xffff); a caller whose data
// can be all zero (not IPv4, TCP or UDP: their headers or pseudo-headers never are) checks that case.
inline uint16_t csum_update16(uint16_t check, uint16_t old_raw, uint16_t new_raw) {
  uint64_t sum = static_cast<uint16_t>(~check);
  sum += static_cast<uint16_t>(~old_raw);
  sum += new_raw;
  return static_cast<uint16_t>(~csum_fold16(sum));
}

inline uint16_t csum_update32(uint16_t check, uint32_t old_raw, uint32_t new_raw) {
  check = csum_update16(check, static_cast<uint16_t>(old_raw), static_cast<uint16_t>(new_raw));
  return csum_update16(check, static_cast<uint16_t>(old_raw >> 16), static_cast<uint16_t>(new_raw >> 16));
}

// Loads/stores a raw 16-bit checksum field.
inline uint16_t load_raw16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
inline void store_raw16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }

}  // namespace skiff::wire
