#include <gtest/gtest.h>

#include <cstdint>

#include "base/siphash.hh"

using namespace skiff;

// Reference vectors from the SipHash paper (Aumasson & Bernstein, Appendix A): key 00..0f, message
// 00..(n-1); the 64-bit outputs below are the first entries of the published vectors_sip64 table.
TEST(SipHash, PaperVectors) {
  SipKey k;
  uint8_t key[16];
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  memcpy(&k.k0, key, 8);
  memcpy(&k.k1, key + 8, 8);
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(siphash24(k, msg, 0), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(siphash24(k, msg, 1), 0x74f839c593dc67fdull);
  EXPECT_EQ(siphash24(k, msg, 8), 0x93f5f5799a932462ull);
  EXPECT_EQ(siphash24(k, msg, 15), 0xa129ca6149be45e5ull);
}

TEST(SipHash, ProcessSecretIsStableAndNonZero) {
  const SipKey& a = process_secret();
  const SipKey& b = process_secret();
  EXPECT_EQ(&a, &b);
  EXPECT_TRUE(a.k0 != 0 || a.k1 != 0);
}
