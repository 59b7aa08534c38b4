#include <gtest/gtest.h>

#include "pkt_builder.hh"
#include "wire/checksum.hh"

using namespace skiff;
using namespace skiff::wire;

// RFC 1071 §3 example: the sum of 0001 f203 f4f5 f6f7 is ddf2 (one's complement: 220d).
TEST(Checksum, Rfc1071Example) {
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  const uint16_t folded = csum_fold16(csum_partial(b, sizeof b));
  // Folded raw sum in memory order equals the big-endian value 0xddf2.
  uint8_t out[2];
  memcpy(out, &folded, 2);
  EXPECT_EQ(out[0], 0xdd);
  EXPECT_EQ(out[1], 0xf2);
}
