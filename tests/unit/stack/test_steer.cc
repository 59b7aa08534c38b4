// Frame ownership (stack/steer.hh): the shard that owns a frame is the one the RSS map gives its flow,
// the same for both directions, and the same a NIC with Skiff's key would pick.
#include <gtest/gtest.h>

#include <random>

#include "pkt_builder.hh"
#include "stack/steer.hh"

using namespace skiff;
using namespace skiff::test;

namespace {

const MacAddr kM1{{0x02, 0, 0, 0, 0, 1}}, kM2{{0x02, 0, 0, 0, 0, 2}};

Bytes frame(const Bytes& ip) { return eth(kM1, kM2, 0x0800, ip); }

Bytes tcp_frame(Ipv4Addr s, Ipv4Addr d, uint16_t sp, uint16_t dp) {
  Bytes l4(20, 0);
  l4[0] = static_cast<uint8_t>(sp >> 8);
  l4[1] = static_cast<uint8_t>(sp);
  l4[2] = static_cast<uint8_t>(dp >> 8);
  l4[3] = static_cast<uint8_t>(dp);
  l4[12] = 0x50;
  return frame(ipv4(Ipv4Spec{.src = s, .dst = d, .proto = 6}, l4));
}

unsigned owner(const RssHash& h, const RssMap& m, const Bytes& f, unsigned self = 99) {
  return frame_owner(h, m, f.data(), static_cast<uint32_t>(f.size()), self);
}

}  // namespace

TEST(Steer, TcpAndUdpFramesGoToTheFlowOwnerInBothDirections) {
  RssHash h;
  for (unsigned shards : {2u, 3u, 4u, 8u}) {
    RssMap m(shards);
    std::mt19937 rng(shards);
    std::vector<unsigned> seen(shards);
    for (int i = 0; i < 2000; ++i) {
      const Ipv4Addr a(rng()), b(rng());
      const uint16_t pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
      const unsigned o = owner(h, m, tcp_frame(a, b, pa, pb));
      ASSERT_LT(o, shards);
      ASSERT_EQ(o, owner(h, m, tcp_frame(b, a, pb, pa)));  // the reply direction
      ASSERT_EQ(o, m.owner(h.flow(a, b, pa, pb)));
      Bytes u(8, 0);
      u[0] = static_cast<uint8_t>(pa >> 8), u[1] = static_cast<uint8_t>(pa), u[2] = static_cast<uint8_t>(pb >> 8),
      u[3] = static_cast<uint8_t>(pb);
      ASSERT_EQ(o, owner(h, m, frame(ipv4(Ipv4Spec{.src = a, .dst = b, .proto = 17}, u))));
      ++seen[o];
    }
    for (unsigned s = 0; s < shards; ++s) EXPECT_GT(seen[s], 2000u / shards / 2) << "shard " << s;
  }
}

TEST(Steer, FragmentsGoByAddressesArpToShardZeroGarbageStays) {
  RssHash h;
  RssMap m(4);
  const Ipv4Addr a = Ipv4Addr::of(10, 0, 0, 1), b = Ipv4Addr::of(10, 0, 0, 2);
  const unsigned by_addrs = m.owner(h.addrs(a, b));
  // A first fragment (MF) and a later one (offset) of the same datagram: one owner, the addresses'.
  Bytes l4(24, 0);
  l4[0] = 0x12, l4[1] = 0x34, l4[2] = 0x00, l4[3] = 0x50;
  EXPECT_EQ(owner(h, m, frame(ipv4(Ipv4Spec{.src = a, .dst = b, .proto = 17, .flags_frag = 0x2000}, l4))), by_addrs);
  EXPECT_EQ(owner(h, m, frame(ipv4(Ipv4Spec{.src = a, .dst = b, .proto = 17, .flags_frag = 3}, l4))), by_addrs);
  // ICMP echo: addresses.
  Bytes echo(8, 0);
  echo[0] = 8;
  EXPECT_EQ(owner(h, m, frame(ipv4(Ipv4Spec{.src = a, .dst = b, .proto = 1}, echo))), by_addrs);
  // ARP: shard 0, always.
  EXPECT_EQ(owner(h, m, eth(kM1, MacAddr::broadcast(), 0x0806, Bytes(28, 0)), 3), 0u);
  // Runts, other EtherTypes and broken IP headers stay where they are (and are dropped there).
  EXPECT_EQ(owner(h, m, Bytes(10, 0), 3), 3u);
  EXPECT_EQ(owner(h, m, eth(kM1, kM2, 0x86dd, Bytes(40, 0)), 2), 2u);
  Bytes bad = frame(ipv4(Ipv4Spec{.src = a, .dst = b, .proto = 6}, l4));
  bad[14] = 0x4f;  // IHL 60 bytes: past the datagram
  EXPECT_EQ(owner(h, m, Bytes(bad.begin(), bad.begin() + 40), 1), 1u);
}

TEST(Steer, IcmpErrorsGoWhereTheQuotedFlowLives) {
  RssHash h;
  RssMap m(4);
  const Ipv4Addr us = Ipv4Addr::of(10, 0, 0, 2), peer = Ipv4Addr::of(10, 0, 0, 1), router = Ipv4Addr::of(10, 0, 0, 254);
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    const uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    // What we sent: us:sp -> peer:dp (TCP). The error comes from a router, quoting it.
    const Bytes sent = tcp_frame(us, peer, sp, dp);
    Bytes err(8 + 28, 0);
    err[0] = 3, err[1] = 4;  // fragmentation needed
    std::copy(sent.begin() + 14, sent.begin() + 14 + 28, err.begin() + 8);
    const unsigned o = owner(h, m, frame(ipv4(Ipv4Spec{.src = router, .dst = us, .proto = 1}, err)));
    ASSERT_EQ(o, owner(h, m, tcp_frame(peer, us, dp, sp))) << "the error must reach the connection's shard";
  }
}

TEST(Steer, OwnerAgreesWithSteeredActiveOpenPorts) {
  // connect() on shard s picks a port whose replies are owned by s: the frames agree.
  RssHash h;
  RssMap m(4);
  const Ipv4Addr us = Ipv4Addr::of(10, 0, 0, 2), peer = Ipv4Addr::of(192, 0, 2, 9);
  std::mt19937 rng(9);
  for (int i = 0; i < 1000; ++i) {
    const unsigned shard = rng() % 4;
    const uint16_t p = m.steer_port(h, us, static_cast<uint16_t>(32768 + rng() % 20000), peer, 443, shard, rng());
    ASSERT_EQ(owner(h, m, tcp_frame(peer, us, 443, p)), shard);
  }
}

TEST(Steer, RetaChangesAreFollowedBySteering) {
  RssHash h;
  RssMap m(2, 64);
  std::vector<uint16_t> reta(64);
  for (unsigned i = 0; i < 64; ++i) reta[i] = i < 48 ? 1 : 0;  // shard 0 gets a quarter of the table
  ASSERT_TRUE(m.set_reta(reta.data(), 64));
  EXPECT_FALSE(m.set_reta(reta.data(), 32));  // wrong size
  reta[5] = 2;
  EXPECT_FALSE(m.set_reta(reta.data(), 64));  // no shard 2
  std::mt19937 rng(11);
  const Ipv4Addr us = Ipv4Addr::of(10, 0, 0, 2);
  for (int i = 0; i < 2000; ++i) {
    const Ipv4Addr peer(rng());
    const unsigned shard = rng() % 2;
    const uint16_t cand = static_cast<uint16_t>(32768 + rng() % 20000);
    const uint16_t p = m.steer_port(h, us, cand, peer, 80, shard, rng());
    ASSERT_EQ(m.owner(h.flow(peer, us, 80, p)), shard);
    ASSERT_LT(p ^ cand, 1u << m.adjust_bits());
  }
}

TEST(Steer, PortDirectoryTracksOtherShards) {
  PortDirectory d;
  d.init(1);
  d.set(PortDirectory::kTcp, 80, 1, true);  // one shard: no directory at all
  EXPECT_EQ(d.home(PortDirectory::kTcp, 80, 0), -1);
  d.init(4);
  EXPECT_EQ(d.home(PortDirectory::kTcp, 80, 0), -1);
  d.set(PortDirectory::kTcp, 80, 3, true);
  d.set(PortDirectory::kTcp, 80, 2, true);
  EXPECT_EQ(d.home(PortDirectory::kTcp, 80, 0), 2);
  EXPECT_EQ(d.home(PortDirectory::kTcp, 80, 2), 3);  // never ourselves
  EXPECT_EQ(d.home(PortDirectory::kUdp, 80, 0), -1);  // per protocol
  d.set(PortDirectory::kTcp, 80, 2, false);
  d.set(PortDirectory::kTcp, 80, 3, false);
  EXPECT_EQ(d.home(PortDirectory::kTcp, 80, 0), -1);
  d.set_raw(1, 2, true);
  EXPECT_EQ(d.raw_shards(1), 4u);
  d.set_raw(1, 2, false);
  EXPECT_EQ(d.raw_shards(1), 0u);
}
