// IPv4 output: routing, fragmentation (RFC 791 §3.2), DF, errors.
#include <gtest/gtest.h>

#include <cerrno>

#include "stack_harness.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::test;

namespace {
const Ipv4Addr kPeer = StackHarness::kPeerIp;
}

class FragMtu : public ::testing::TestWithParam<uint16_t> {};

TEST_P(FragMtu, LargeDatagramIsFragmentedToTheMtu) {
  HarnessOptions o;
  o.mtu = GetParam();
  StackHarness h(o);
  h.learn_peer();
  const Bytes data = pattern(GetParam() < 9000 ? 5000 : 20000, 4);
  ASSERT_EQ(icmp_send_echo(h.shard(), kPeer, 1, 2, data.data(), data.size()), 0);
  auto out = h.sent();
  ASSERT_GT(out.size(), 1u);
  std::vector<SentIp> frags;
  uint16_t id = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    auto ip = parse_ip(out[i]);
    ASSERT_TRUE(ip);
    EXPECT_TRUE(ip->checksum_ok);
    EXPECT_LE(ip->total_len, GetParam());
    if (i == 0) id = ip->id;
    EXPECT_EQ(ip->id, id);
    const bool last = i + 1 == out.size();
    EXPECT_EQ(bool(ip->flags_frag & 0x2000), !last);
    if (!last) {
      EXPECT_EQ(ip->payload.size() % 8, 0u);
    }
    frags.push_back(*ip);
  }
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 8 + data.size());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), whole->begin() + 8));
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(whole->data(), whole->size())));
  EXPECT_EQ(h.shard().stats.ip_frag_oks, 1u);
  EXPECT_EQ(h.shard().stats.ip_frag_creates, out.size());
}

INSTANTIATE_TEST_SUITE_P(Ipv4Output, FragMtu, ::testing::Values(576, 1280, 1500, 9000));

TEST(Ipv4Output, DontFragmentTooBigIsEmsgsize) {
  StackHarness h;
  h.learn_peer();
  Pktbuf p = h.shard().alloc_pkt();
  ASSERT_TRUE(p);
  ASSERT_NE(p.append(1600), nullptr);
  EXPECT_EQ(ipv4_output(h.shard(), std::move(p), Ipv4Tx{.dst = kPeer, .proto = 253, .df = true}), -EMSGSIZE);
  EXPECT_EQ(h.drops(Drop::Ipv4FragNeeded), 1u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Ipv4Output, OversizedDatagramIsRejected) {
  StackHarness h;
  const Bytes data(65600, 1);
  EXPECT_EQ(icmp_send_echo(h.shard(), kPeer, 1, 1, data.data(), data.size()), -EMSGSIZE);
}

TEST(Ipv4Output, NoRouteIsEnetunreach) {
  StackHarness h;
  const Bytes data = pattern(8);
  EXPECT_EQ(icmp_send_echo(h.shard(), Ipv4Addr::of(192, 168, 1, 1), 1, 1, data.data(), data.size()), -ENETUNREACH);
  EXPECT_EQ(h.drops(Drop::Ipv4NoRoute), 1u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
}

TEST(Ipv4Output, OffLinkGoesThroughTheGateway) {
  StackHarness h(HarnessOptions{.gateway = kPeer});
  h.sent();
  const Bytes data = pattern(8);
  ASSERT_EQ(icmp_send_echo(h.shard(), Ipv4Addr::of(192, 168, 1, 1), 1, 1, data.data(), data.size()), 0);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);  // ARP for the gateway, not for the destination
  ASSERT_EQ(out[0][12], 0x08);
  ASSERT_EQ(out[0][13], 0x06);
  EXPECT_EQ(Ipv4Addr(wire::load_be32(out[0].data() + 14 + 24)), kPeer);
}

TEST(Ipv4Output, GatewayOutsideEverySubnetIsRefused) {
  StackHarness h;
  EXPECT_FALSE(h.stack().set_gateway(Ipv4Addr::of(172, 16, 0, 1)));
}

TEST(Ipv4Output, IdsDifferBetweenDatagrams) {
  StackHarness h;
  h.learn_peer();
  const Bytes data = pattern(8);
  icmp_send_echo(h.shard(), kPeer, 1, 1, data.data(), data.size());
  icmp_send_echo(h.shard(), kPeer, 1, 2, data.data(), data.size());
  auto out = h.sent();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(parse_ip(out[0])->id, parse_ip(out[1])->id);
}

TEST(Ipv4Output, ChecksumOffloadLeavesItToTheDevice) {
  HarnessOptions o;
  o.caps.tx_ipv4_csum = true;
  StackHarness h(o);
  h.learn_peer();
  const Bytes data = pattern(8);
  icmp_send_echo(h.shard(), kPeer, 1, 1, data.data(), data.size());
  h.shard().flush();
  ASSERT_EQ(h.dev().tx.size(), 1u);
  rte_mbuf* m = h.dev().tx[0];
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(m->l2_len, 14);
  EXPECT_EQ(m->l3_len, 20);
  h.sent();
}
