// IPv4 input validation (RFC 791, RFC 1122 §3.2.1): every malformed header is dropped with its reason.
#include <gtest/gtest.h>

#include "stack_harness.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::test;

namespace {

const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;

Ipv4Spec to_us() { return Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1}; }
Bytes echo(uint16_t seq = 1, size_t n = 32) { return icmp_echo(8, 0x4242, seq, pattern(n, static_cast<uint8_t>(seq))); }

}  // namespace

TEST(Ipv4Input, ValidEchoGetsAReply) {
  StackHarness h;
  h.learn_peer();
  h.inject(h.from_peer(ipv4(to_us(), echo())));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->checksum_ok);
  EXPECT_EQ(ip->src, kOur);
  EXPECT_EQ(ip->dst, kPeer);
  EXPECT_EQ(ip->ttl, 64);
  EXPECT_EQ(ip->ihl, 20u);
  EXPECT_EQ(h.shard().stats.ip_in_receives, 1u);
  EXPECT_EQ(h.total_drops(), 0u);
}

// RFC 1122 §3.2.1.7: a host must not discard a datagram just because its TTL is below 2 (0 included).
TEST(Ipv4Input, TtlZeroAndOneAreDelivered) {
  StackHarness h;
  h.learn_peer();
  for (uint8_t ttl : {uint8_t{0}, uint8_t{1}}) {
    Ipv4Spec s = to_us();
    s.ttl = ttl;
    h.inject(h.from_peer(ipv4(s, echo(static_cast<uint16_t>(ttl + 1)))));
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u) << "TTL " << int{ttl};
    auto ip = parse_ip(out[0]);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->ttl, 64);  // the reply is ours: the default TTL
  }
  EXPECT_EQ(h.shard().stats.ip_in_delivers, 2u);
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(Ipv4Input, MalformedHeadersAreDroppedWithTheirReason) {
  StackHarness h;
  h.learn_peer();
  auto spec = [] { return to_us(); };
  struct Case {
    const char* what;
    Bytes frame;
    Drop why;
  };
  std::vector<Case> cases;
  {
    Ipv4Spec s = spec();
    s.version = 6;
    cases.push_back({"version 6", h.from_peer(ipv4(s, echo())), Drop::Ipv4BadVersion});
  }
  {
    Ipv4Spec s = spec();
    s.ihl = 4;
    cases.push_back({"IHL 4", h.from_peer(ipv4(s, echo())), Drop::Ipv4BadHeaderLen});
  }
  {
    Ipv4Spec s = spec();
    s.ihl = 15;  // 60 bytes of header in a 20-byte header + 4 bytes of payload, unpadded
    cases.push_back({"IHL past frame", eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x0800,
                                           ipv4(s, Bytes{8, 0, 0, 0}), false),
                     Drop::Ipv4BadHeaderLen});
  }
  {
    Ipv4Spec s = spec();
    s.total_len = 200;
    cases.push_back({"total length > frame", h.from_peer(ipv4(s, echo())), Drop::Ipv4BadTotalLen});
  }
  {
    Ipv4Spec s = spec();
    s.total_len = 19;
    cases.push_back({"total length < IHL", h.from_peer(ipv4(s, echo())), Drop::Ipv4BadTotalLen});
  }
  {
    Ipv4Spec s = spec();
    s.bad_checksum = true;
    cases.push_back({"bad checksum", h.from_peer(ipv4(s, echo())), Drop::Ipv4BadChecksum});
  }
  {
    const Bytes whole = ipv4(spec(), echo());
    cases.push_back({"truncated header", eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x0800,
                                             Bytes(whole.begin(), whole.begin() + 19), false),
                     Drop::Ipv4Truncated});
  }
  for (Ipv4Addr src : {Ipv4Addr::broadcast(), Ipv4Addr::of(224, 0, 0, 1), Ipv4Addr::of(127, 0, 0, 1), kOur,
                       Ipv4Addr::of(10, 0, 0, 255), Ipv4Addr::of(240, 0, 0, 1), Ipv4Addr::any()}) {
    Ipv4Spec s = spec();
    s.src = src;
    cases.push_back({"martian source", h.from_peer(ipv4(s, echo())), Drop::Ipv4BadSrc});
  }
  {
    Ipv4Spec s = spec();
    s.dst = Ipv4Addr::of(10, 0, 0, 9);
    cases.push_back({"not for us", h.from_peer(ipv4(s, echo())), Drop::Ipv4NotForUs});
  }
  for (auto& c : cases) {
    const uint64_t before = h.drops(c.why);
    h.inject(c.frame);
    EXPECT_EQ(h.drops(c.why), before + 1) << c.what;
  }
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.shard().stats.ip_in_delivers, 0u);
}

TEST(Ipv4Input, LinkPaddingIsTrimmed) {
  StackHarness h;
  h.learn_peer();
  // A 28-byte datagram (20 + 8-byte echo with no data) padded to a 60-byte frame: the reply must not echo
  // the padding.
  h.inject(h.from_peer(ipv4(to_us(), icmp_echo(8, 1, 1, {}))));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->total_len, 28);
  EXPECT_EQ(ip->payload.size(), 8u);
}

TEST(Ipv4Input, OptionsAreAcceptedAndNotEchoed) {
  StackHarness h;
  h.learn_peer();
  Ipv4Spec s = to_us();
  s.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
  const Bytes req = echo(3, 40);
  h.inject(h.from_peer(ipv4(s, req)));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ihl, 20u);
  EXPECT_EQ(ip->payload.size(), req.size());
}

TEST(Ipv4Input, NicChecksumVerdictsAreTrusted) {
  StackHarness h;
  h.learn_peer();
  Ipv4Spec bad = to_us();
  bad.bad_checksum = true;
  h.inject(h.from_peer(ipv4(bad, echo())), RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(h.sent().size(), 1u);  // NIC said good: no software check
  h.inject(h.from_peer(ipv4(to_us(), echo())), RTE_MBUF_F_RX_IP_CKSUM_BAD);
  EXPECT_EQ(h.drops(Drop::Ipv4BadChecksum), 1u);
  EXPECT_TRUE(h.sent().empty());
  // NONE (virtio/vhost from a local sender: the field is not filled in, the header is verified): trusted.
  h.inject(h.from_peer(ipv4(bad, echo())), RTE_MBUF_F_RX_IP_CKSUM_NONE);
  EXPECT_EQ(h.sent().size(), 1u);
  EXPECT_EQ(h.drops(Drop::Ipv4BadChecksum), 1u);
}

TEST(Ipv4Input, UnknownProtocolGetsProtocolUnreachable) {
  StackHarness h;
  h.learn_peer();
  Ipv4Spec s = to_us();
  s.proto = 253;  // RFC 3692 experimental
  const Bytes dgram = ipv4(s, pattern(100));
  h.inject(h.from_peer(dgram));
  EXPECT_EQ(h.drops(Drop::Ipv4UnknownProto), 1u);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->proto, 1);
  EXPECT_EQ(ip->dst, kPeer);
  EXPECT_EQ(ip->src, kOur);
  ASSERT_GE(ip->payload.size(), 8u + 28u);
  EXPECT_EQ(ip->payload[0], wire::icmp_type::kDestUnreachable);
  EXPECT_EQ(ip->payload[1], wire::icmp_unreach::kProtocol);
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size())));
  // The quote starts with the offending IP header, byte for byte.
  EXPECT_TRUE(std::equal(dgram.begin(), dgram.begin() + 28, ip->payload.begin() + 8));
}

TEST(Ipv4Input, NoErrorAboutABroadcast) {
  StackHarness h;
  h.learn_peer();
  Ipv4Spec s = to_us();
  s.proto = 253;
  s.dst = Ipv4Addr::of(10, 0, 0, 255);
  h.inject(h.from_peer(ipv4(s, pattern(20))));
  s.dst = Ipv4Addr::broadcast();
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800, ipv4(s, pattern(20))));
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::Ipv4UnknownProto), 2u);
  EXPECT_EQ(h.shard().stats.icmp_err_suppressed, 2u);
}
