// IPv4 input validation (RFC 791, RFC 1122 §3.2.1): every malformed header is dropped with its reason.
#include <gtest/gtest.h>

#include "../sock/sock_test_util.hh"
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

// ---- IP options (RFC 791 §3.1), checked as Linux's ip_options_compile / ip_rcv_options do ----

// A source-routed datagram is dropped, whether or not its route is used up (Linux, accept_source_route 0;
// RFC 7126 §4.3): a host is not a hop to be steered through, and must not answer along a route the sender
// chose.
TEST(Ipv4Input, SourceRoutedDatagramsAreDropped) {
  StackHarness h;
  h.learn_peer();
  const std::vector<Bytes> routes = {
      {131, 7, 4, 10, 0, 0, 9, 0},                   // loose, one hop still to go
      {137, 7, 8, 10, 0, 0, 9, 0},                   // strict, used up (we are its last hop)
      {1, 131, 11, 4, 10, 0, 0, 9, 10, 0, 0, 10, 0},  // after a no-op, two hops
  };
  for (const Bytes& o : routes) {
    Ipv4Spec s = to_us();
    s.options = o;
    h.inject(h.from_peer(ipv4(s, echo())));
  }
  EXPECT_EQ(h.drops(Drop::Ipv4SourceRoute), routes.size());
  EXPECT_TRUE(h.sent().empty());  // no echo reply, no ICMP error
  EXPECT_EQ(h.shard().stats.ip_in_delivers, 0u);
}

// A malformed option earns a parameter problem whose pointer names the offending byte, counted from the start
// of the IP header (RFC 792; RFC 1122 §3.2.2.5), and the datagram goes no further.
TEST(Ipv4Input, MalformedOptionsEarnAParameterProblem) {
  StackHarness h;
  h.learn_peer();
  struct Case {
    const char* what;
    Bytes opts;
    uint8_t pointer;
  };
  const std::vector<Case> cases = {
      {"length 1", {0x88, 1, 0, 0}, 20},
      {"length past the header", {0x88, 9, 0, 0}, 20},
      {"length 0 after a no-op", {1, 0x88, 0, 0}, 21},
      {"record route of 2 bytes", {7, 2, 0, 0}, 21},
      {"record route pointer 3", {7, 7, 3, 0, 0, 0, 0, 0}, 22},
      {"record route with no room for its next address", {7, 6, 4, 0, 0, 0, 0, 0}, 22},
      {"a second record route", {7, 3, 4, 7, 3, 4, 0, 0}, 23},
      {"timestamp of 3 bytes", {68, 3, 5, 0}, 21},
      {"timestamp pointer 4", {68, 8, 4, 0, 0, 0, 0, 0}, 22},
      {"address+timestamp with no room for a pair", {68, 8, 5, 0x01, 0, 0, 0, 0}, 22},
      {"full timestamp whose overflow count is at 15", {68, 8, 9, 0xf0, 0, 0, 0, 0}, 23},
      {"router alert of 2 bytes", {148, 2, 0, 0}, 21},
      {"source route pointer 3", {131, 7, 3, 10, 0, 0, 9, 0}, 22},
      {"CIPSO label of 6 bytes", {134, 6, 0, 0, 0, 1, 0, 0}, 21},
      {"CIPSO label in a domain we do not know", {134, 8, 0, 0, 0, 1, 1, 2}, 22},
  };
  uint16_t seq = 1;
  for (const Case& c : cases) {
    Ipv4Spec s = to_us();
    s.options = c.opts;
    const Bytes dgram = ipv4(s, echo(seq++));
    h.advance(1s);  // (past the per-peer limit on ICMP errors)
    h.inject(h.from_peer(dgram));
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u) << c.what;
    auto ip = parse_ip(out[0]);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->dst, kPeer);
    ASSERT_GE(ip->payload.size(), 8u + 20 + s.options.size() + 8) << c.what;
    EXPECT_EQ(ip->payload[0], wire::icmp_type::kParamProblem) << c.what;
    EXPECT_EQ(ip->payload[1], 0) << c.what;
    EXPECT_EQ(ip->payload[4], c.pointer) << c.what;
    EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size()))) << c.what;
    // The quote is the offending header, options and all.
    EXPECT_TRUE(std::equal(dgram.begin(), dgram.begin() + 20 + static_cast<long>(s.options.size()),
                           ip->payload.begin() + 8))
        << c.what;
  }
  EXPECT_EQ(h.drops(Drop::Ipv4BadOptions), cases.size());
  EXPECT_EQ(h.shard().stats.ip_in_delivers, 0u);
  EXPECT_EQ(h.shard().stats.icmp_out_echo_reps, 0u);
  // To a broadcast: dropped and counted, never answered.
  Ipv4Spec s = to_us();
  s.options = {7, 2, 0, 0};
  s.dst = Ipv4Addr::of(10, 0, 0, 255);
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800, ipv4(s, echo())));
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::Ipv4BadOptions), cases.size() + 1);
}

// Well-formed options are taken in like any datagram: each of these echo requests is answered.
TEST(Ipv4Input, WellFormedOptionsAreAccepted) {
  StackHarness h;
  h.learn_peer();
  const std::vector<Bytes> good = {
      {7, 7, 4, 0, 0, 0, 0, 0},                          // record route with room for one
      {7, 7, 8, 10, 0, 0, 1, 0},                         // record route, full
      {68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0},            // timestamps only, room for two
      {68, 12, 13, 0x10, 0, 0, 0, 1, 0, 0, 0, 2},        // timestamps, full, overflowed once
      {68, 12, 5, 0x01, 0, 0, 0, 0, 0, 0, 0, 0},         // address and timestamp, room for one pair
      {148, 4, 0, 0},                                    // router alert
      {130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},           // basic security (no meaning to a host)
      {0x9e, 4, 0xab, 0xcd},                             // a kind nobody defined: its length is all we check
      {0, 7, 2},                                         // end of list: what follows is padding
  };
  uint16_t seq = 1;
  for (const Bytes& o : good) {
    Ipv4Spec s = to_us();
    s.options = o;
    h.inject(h.from_peer(ipv4(s, echo(seq++))));
    EXPECT_EQ(h.sent().size(), 1u) << "options of kind " << int{o[0]};
  }
  EXPECT_EQ(h.shard().stats.icmp_out_echo_reps, good.size());
  EXPECT_EQ(h.total_drops(), 0u);
}

// ---- Martians and the weak host model ----

// A source in 0/8 ("this host on this network", RFC 1122 §3.2.1.3 (a)/(b)) is only for a host that does not
// know its address yet: Linux takes it to the limited broadcast, to a link-local group or with IGMP, and
// nowhere else (ip_route_input_slow, ip_route_input_mc).
TEST(Ipv4Input, ZeroNetworkSourcesOnlyToTheLimitedBroadcast) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff::test::sock::bound_udp(67);
  const MacAddr bcast_mac = MacAddr::broadcast();
  auto udp_to = [&](Ipv4Addr src, Ipv4Addr dst, bool link_bcast) {
    const Bytes d = ipv4(Ipv4Spec{.src = src, .dst = dst, .proto = 17}, udp(src, dst, 68, 67, pattern(12)));
    return link_bcast ? eth(bcast_mac, StackHarness::kPeerMac, 0x0800, d) : h.from_peer(d);
  };
  // Martians: to our address (as a unicast or a link broadcast), to the subnet's broadcast, from 0.1.2.3.
  h.inject(udp_to(Ipv4Addr::any(), kOur, false));
  h.inject(udp_to(Ipv4Addr::any(), kOur, true));
  h.inject(udp_to(Ipv4Addr::any(), Ipv4Addr::of(10, 0, 0, 255), true));
  h.inject(udp_to(Ipv4Addr::of(0, 1, 2, 3), kOur, false));
  EXPECT_EQ(h.drops(Drop::Ipv4BadSrc), 4u);
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
  // A DHCP client's DISCOVER: 0.0.0.0 -> 255.255.255.255 reaches the server's socket.
  h.inject(udp_to(Ipv4Addr::any(), Ipv4Addr::broadcast(), true));
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), 12);
  EXPECT_EQ(h.drops(Drop::Ipv4BadSrc), 4u);
  skiff_close(fd);
}

// RFC 1122 §3.3.4.2: a host with two interfaces takes in a datagram for either address on either interface
// (the weak host model, Linux's); an address of ours as the source is a martian on any interface.
TEST(Ipv4Input, AnAddressOfAnotherInterfaceIsOurs) {
  HarnessOptions o;
  o.addr2 = wire::Ipv4Cidr{Ipv4Addr::of(10, 1, 0, 2), 24};
  StackHarness h(o);
  h.learn_peer();
  const Ipv4Addr other = Ipv4Addr::of(10, 1, 0, 2);
  Ipv4Spec s = to_us();
  s.dst = other;
  h.inject(h.from_peer(ipv4(s, echo())));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->src, other);  // answered from the address the request was for
  EXPECT_EQ(ip->dst, kPeer);
  EXPECT_EQ(ip->payload[0], 0);  // echo reply
  // Our other address as a source, and 127/8 as a destination, are still martians from the wire.
  s = to_us();
  s.src = other;
  h.inject(h.from_peer(ipv4(s, echo(2))));
  EXPECT_EQ(h.drops(Drop::Ipv4BadSrc), 1u);
  s = to_us();
  s.dst = Ipv4Addr::of(127, 0, 0, 1);
  h.inject(h.from_peer(ipv4(s, echo(3))));
  EXPECT_EQ(h.drops(Drop::Ipv4NotForUs), 1u);
  EXPECT_TRUE(h.sent().empty());
}

// An interface without an address owns none: 0.0.0.0 is nobody's address. Regression: with an unaddressed
// second port (every port after the first, as skiff-echo and the runtime set them up), 0.0.0.0 counted as one
// of ours, so a DHCP client's broadcast from it was a martian on every port, and a datagram to 0.0.0.0 was
// taken in.
TEST(Ipv4Input, AnInterfaceWithoutAnAddressOwnsNone) {
  HarnessOptions o;
  o.iface2 = true;
  StackHarness h(o);
  h.learn_peer();
  const int fd = skiff::test::sock::bound_udp(67);
  const Bytes discover = ipv4(Ipv4Spec{.src = Ipv4Addr::any(), .dst = Ipv4Addr::broadcast(), .proto = 17},
                              udp(Ipv4Addr::any(), Ipv4Addr::broadcast(), 68, 67, pattern(12)));
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800, discover));
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), 12);
  const Bytes to_any = ipv4(Ipv4Spec{.src = kPeer, .dst = Ipv4Addr::any(), .proto = 17},
                            udp(kPeer, Ipv4Addr::any(), 68, 67, pattern(12)));
  h.inject(h.from_peer(to_any));
  EXPECT_EQ(h.drops(Drop::Ipv4NotForUs), 1u);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::Ipv4BadSrc), 0u);
  skiff_close(fd);
}
