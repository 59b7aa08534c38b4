#include "wire/checksum.hh"

namespace skiff::wire {

uint64_t csum_partial(const void* data, size_t len, uint64_t sum) {
  const auto* p = static_cast<const uint8_t*>(data);
  // Four independent 64-bit accumulators of 32-bit words: no carries are lost for any length that fits
  // in memory (each add is < 2^32, 2^32 adds per accumulator), and the loop vectorises.
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  while (len >= 16) {
    uint32_t w[4];
    memcpy(w, p, 16);
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
    p += 16;
    len -= 16;
  }
  sum += a0 + a1 + a2 + a3;  // each < 2^62 for any realistic buffer, so no overflow of the total
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    // The odd last byte is the first byte of a zero-padded word.
    uint8_t pad[2] = {*p, 0};
    uint16_t w;
    memcpy(&w, pad, 2);
    sum += w;
  }
  return sum;
}

}  // namespace skiff::wire
