#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <random>
#include <set>
#include <string>

#include "wire/seqnum.hh"
#include "wire/wire_error.hh"

// Readable failure messages: print a WireError by name (identical inline definition in each test file).
namespace skiff::wire {
inline void PrintTo(WireError e, std::ostream* os) {
  *os << to_string(e);
}
}  // namespace skiff::wire

using namespace skiff::wire;

// ---- SeqNum ----

TEST(SeqNum, ArithmeticWraps) {
  const SeqNum a(0xfffffff0u);
  EXPECT_EQ((a + 0x20).raw(), 0x10u);
  EXPECT_EQ((SeqNum(5) - 10u).raw(), 0xfffffffbu);
  SeqNum b(0xffffffffu);
  b += 1;
  EXPECT_EQ(b.raw(), 0u);
  b += 0xffffffffu;
  EXPECT_EQ(b.raw(), 0xffffffffu);
  EXPECT_EQ(SeqNum().raw(), 0u);
}

TEST(SeqNum, DistanceAcrossWrap) {
  EXPECT_EQ(SeqNum(0x10) - SeqNum(0xfffffff0u), 0x20);
  EXPECT_EQ(SeqNum(0xfffffff0u) - SeqNum(0x10), -0x20);
  EXPECT_EQ(SeqNum(1000) - SeqNum(1000), 0);
  EXPECT_EQ(SeqNum(0) - SeqNum(0xffffffffu), 1);
  EXPECT_EQ(SeqNum(0x7fffffffu) - SeqNum(0), 0x7fffffff);
  EXPECT_EQ(SeqNum(0x80000001u) - SeqNum(0), -0x7fffffff);
  // Adding a distance back gives the original.
  const SeqNum x(0xffffff00u), y(0x00000100u);
  EXPECT_EQ(x + static_cast<uint32_t>(y - x), y);
}

TEST(SeqNum, ComparisonsAcrossWrap) {
  const SeqNum before(0xfffffff0u), after(0x10);
  EXPECT_TRUE(before.lt(after));
  EXPECT_TRUE(before.le(after));
  EXPECT_FALSE(before.gt(after));
  EXPECT_FALSE(before.ge(after));
  EXPECT_TRUE(after.gt(before));
  EXPECT_TRUE(after.ge(before));
  EXPECT_FALSE(after.lt(before));
  EXPECT_FALSE(after.le(before));
  // Equal values.
  EXPECT_TRUE(after.le(after));
  EXPECT_TRUE(after.ge(after));
  EXPECT_FALSE(after.lt(after));
  EXPECT_FALSE(after.gt(after));
  EXPECT_TRUE(after == SeqNum(0x10));
  EXPECT_FALSE(after == before);
  // Just under half the space ahead is "after"; the wrap point itself.
  EXPECT_TRUE(SeqNum(0).lt(SeqNum(0x7fffffffu)));
  EXPECT_TRUE(SeqNum(0xffffffffu).lt(SeqNum(0)));
  EXPECT_TRUE(SeqNum(0x7fffffffu).lt(SeqNum(0x80000000u)));
  EXPECT_TRUE(SeqNum(0x80000000u).lt(SeqNum(0xfffffffeu)));
}

TEST(SeqNum, ComparisonsAreConsistentForRandomPairs) {
  std::mt19937 rng(4242);
  for (int i = 0; i < 100000; ++i) {
    const SeqNum a(static_cast<uint32_t>(rng()));
    const uint32_t d = static_cast<uint32_t>(rng()) % 0x7fffffffu + 1;  // 1 .. 2^31-1 ahead
    const SeqNum b = a + d;
    ASSERT_TRUE(a.lt(b));
    ASSERT_TRUE(b.gt(a));
    ASSERT_FALSE(b.le(a));
    ASSERT_EQ(b - a, static_cast<int32_t>(d));
    ASSERT_EQ(a - b, -static_cast<int32_t>(d));
    ASSERT_EQ(seq_max(a, b), b);
    ASSERT_EQ(seq_min(a, b), a);
    ASSERT_EQ(seq_max(b, a), b);
    ASSERT_EQ(seq_min(b, a), a);
  }
}

TEST(SeqNum, InRangeEdges) {
  // [a, b) with a just below the wrap and b just above it.
  const SeqNum a(0xfffffffeu), b(0x2);
  EXPECT_TRUE(SeqNum(0xfffffffeu).in_range(a, b));  // lower edge included
  EXPECT_TRUE(SeqNum(0xffffffffu).in_range(a, b));
  EXPECT_TRUE(SeqNum(0).in_range(a, b));
  EXPECT_TRUE(SeqNum(1).in_range(a, b));
  EXPECT_FALSE(SeqNum(2).in_range(a, b));  // upper edge excluded
  EXPECT_FALSE(SeqNum(0xfffffffdu).in_range(a, b));
  EXPECT_FALSE(SeqNum(3).in_range(a, b));
  EXPECT_FALSE(SeqNum(0x80000000u).in_range(a, b));
  // Empty range contains nothing.
  for (uint32_t v : {0u, 1u, 0x7fffffffu, 0xffffffffu})
    EXPECT_FALSE(SeqNum(v).in_range(SeqNum(v), SeqNum(v)));
  // A one-element range.
  EXPECT_TRUE(SeqNum(100).in_range(SeqNum(100), SeqNum(101)));
  EXPECT_FALSE(SeqNum(101).in_range(SeqNum(100), SeqNum(101)));
  EXPECT_FALSE(SeqNum(99).in_range(SeqNum(100), SeqNum(101)));
  // Without a wrap.
  EXPECT_TRUE(SeqNum(1000).in_range(SeqNum(1000), SeqNum(2000)));
  EXPECT_TRUE(SeqNum(1999).in_range(SeqNum(1000), SeqNum(2000)));
  EXPECT_FALSE(SeqNum(2000).in_range(SeqNum(1000), SeqNum(2000)));
  EXPECT_FALSE(SeqNum(999).in_range(SeqNum(1000), SeqNum(2000)));
  // A window wider than half the space (in_range works on the whole modulus, not the signed order).
  EXPECT_TRUE(SeqNum(0xf0000000u).in_range(SeqNum(0), SeqNum(0xfffffff0u)));
}

TEST(SeqNum, MinMaxAcrossWrap) {
  const SeqNum a(0xffffff00u), b(0x100);
  EXPECT_EQ(seq_max(a, b), b);
  EXPECT_EQ(seq_min(a, b), a);
  EXPECT_EQ(seq_max(a, a), a);
}

// ---- WireError / Checked ----

TEST(WireError, EveryValueHasADistinctName) {
  std::set<std::string> names;
  const WireError all[] = {WireError::Ok,           WireError::Truncated,   WireError::BadVersion,
                           WireError::BadHeaderLen, WireError::BadTotalLen, WireError::BadHwType,
                           WireError::BadProtoType, WireError::BadHwLen,    WireError::BadProtoLen,
                           WireError::BadOp,        WireError::BadOptionLen};
  for (WireError e : all) {
    const char* s = to_string(e);
    ASSERT_NE(s, nullptr);
    EXPECT_STRNE(s, "?");
    EXPECT_GT(strlen(s), 0u);
    names.insert(s);
  }
  EXPECT_EQ(names.size(), sizeof all / sizeof all[0]);
  EXPECT_STREQ(to_string(WireError::Ok), "ok");
  EXPECT_STREQ(to_string(WireError::Truncated), "truncated");
  EXPECT_STREQ(to_string(static_cast<WireError>(200)), "?");
}

TEST(WireError, CheckedDefaultsToTruncated) {
  struct Dummy {
    int x = 7;
  };
  Checked<Dummy> c;
  EXPECT_FALSE(c);
  EXPECT_EQ(c.err, WireError::Truncated);
  Checked<Dummy> ok{{42}, WireError::Ok};
  EXPECT_TRUE(ok);
  EXPECT_EQ(ok->x, 42);
  EXPECT_EQ((*ok).x, 42);
  const Checked<Dummy>& cref = ok;
  EXPECT_EQ(cref->x, 42);
}
