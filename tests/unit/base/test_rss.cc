// The symmetric Toeplitz hash, the RETA, and O(1) port steering for active opens.
#include <gtest/gtest.h>
#include <rte_thash.h>

#include <random>

#include "core/rss.hh"

using namespace skiff;
using wire::Ipv4Addr;

TEST(Rss, MatchesDpdkSoftrss) {
  RssHash h;
  std::mt19937 rng(1);
  for (int i = 0; i < 10000; ++i) {
    const Ipv4Addr s(rng()), d(rng());
    const uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    rte_ipv4_tuple t{};
    t.src_addr = s.host();
    t.dst_addr = d.host();
    t.sport = sp;
    t.dport = dp;
    ASSERT_EQ(h.flow(s, d, sp, dp), rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L4_LEN, rss_key()));
  }
}

TEST(Rss, SymmetricBothDirections) {
  RssHash h;
  std::mt19937 rng(2);
  for (int i = 0; i < 10000; ++i) {
    const Ipv4Addr a(rng()), b(rng());
    const uint16_t pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
    ASSERT_EQ(h.flow(a, b, pa, pb), h.flow(b, a, pb, pa));
    ASSERT_EQ(h.addrs(a, b), h.addrs(b, a));
  }
}

TEST(Rss, FlowsSpreadOverShards) {
  RssHash h;
  RssMap m(4);
  std::array<int, 4> n{};
  std::mt19937 rng(3);
  for (int i = 0; i < 40000; ++i)
    ++n[m.owner(h.flow(Ipv4Addr(rng()), Ipv4Addr::of(10, 0, 0, 2), static_cast<uint16_t>(rng()), 80))];
  for (int c : n) EXPECT_NEAR(c, 10000, 800);
}

class RssSteer : public ::testing::TestWithParam<unsigned> {};

TEST_P(RssSteer, PortLandsOnTheChosenShardInOneStep) {
  const unsigned shards = GetParam();
  RssHash h;
  RssMap m(shards);
  EXPECT_LE(m.adjust_bits(), 12u);  // a small neighbourhood of the candidate port
  std::mt19937 rng(4);
  for (int i = 0; i < 20000; ++i) {
    const Ipv4Addr l = Ipv4Addr::of(10, 0, 0, 2), r(rng());
    const uint16_t rport = static_cast<uint16_t>(rng());
    const uint16_t cand = static_cast<uint16_t>(32768 + rng() % 20000);
    const unsigned shard = rng() % shards;
    const uint16_t p = m.steer_port(h, l, cand, r, rport, shard, rng());
    ASSERT_EQ(m.owner(h.flow(r, l, rport, p)), shard);
    ASSERT_LT(p ^ cand, 1u << m.adjust_bits());
    // The reply direction lands on the same shard (symmetry).
    ASSERT_EQ(m.owner(h.flow(l, r, p, rport)), shard);
  }
}

INSTANTIATE_TEST_SUITE_P(Rss, RssSteer, ::testing::Values(1u, 2u, 3u, 4u, 8u, 16u));
