#include <gtest/gtest.h>

#include "core/token_bucket.hh"

using namespace skiff;

TEST(TokenBucket, BurstThenRate) {
  TokenBucket b(1000, 50);  // 1000/s, burst 50
  Instant t = Instant::from_ns(1'000'000'000);
  int ok = 0;
  for (int i = 0; i < 100; ++i) ok += b.take(t);
  EXPECT_EQ(ok, 50);
  t += 10ms;  // earns 10 tokens
  ok = 0;
  for (int i = 0; i < 100; ++i) ok += b.take(t);
  EXPECT_EQ(ok, 10);
  t += 1s;  // refills to the burst, not beyond
  ok = 0;
  for (int i = 0; i < 100; ++i) ok += b.take(t);
  EXPECT_EQ(ok, 50);
}

TEST(TokenBucket, OverOneSecondNeverExceedsRatePlusBurst) {
  TokenBucket b(100, 5);
  Instant t = Instant::from_ns(1'000'000'000);
  int ok = 0;
  for (int i = 0; i < 100000; ++i) {
    ok += b.take(t);
    t += 10us;
  }
  // 1 second of asking: at most 100 earned + 5 burst.
  EXPECT_LE(ok, 105);
  EXPECT_GE(ok, 100);
}

TEST(TokenBucket, ZeroRateNeverGives) {
  TokenBucket b(0, 10);
  EXPECT_FALSE(b.take(Instant::from_ns(1)));
}
