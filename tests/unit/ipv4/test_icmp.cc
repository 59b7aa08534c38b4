// ICMP (RFC 792, RFC 1122 §3.2.2): echo mirrored exactly, errors rate limited and never about errors.
#include <gtest/gtest.h>

#include <set>

#include "stack_harness.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::test;
namespace it = wire::icmp_type;

namespace {
const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;
Ipv4Spec to_us(uint8_t proto = 1) { return Ipv4Spec{.src = kPeer, .dst = kOur, .proto = proto}; }
}  // namespace

class EchoSizes : public ::testing::TestWithParam<size_t> {};

TEST_P(EchoSizes, ReplyMirrorsThePayloadExactly) {
  StackHarness h;
  h.learn_peer();
  const Bytes data = pattern(GetParam(), 9);
  Ipv4Spec s = to_us();
  s.tos = 0x10;
  h.inject(h.from_peer(ipv4(s, icmp_echo(it::kEchoRequest, 0xbeef, 77, data))));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->eth_dst, StackHarness::kPeerMac);
  EXPECT_EQ(ip->tos, 0x10);
  ASSERT_EQ(ip->payload.size(), 8 + data.size());
  EXPECT_EQ(ip->payload[0], it::kEchoReply);
  EXPECT_EQ(ip->payload[1], 0);
  EXPECT_EQ(wire::load_be16(ip->payload.data() + 4), 0xbeef);
  EXPECT_EQ(wire::load_be16(ip->payload.data() + 6), 77);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), ip->payload.begin() + 8));
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size())));
  EXPECT_EQ(h.shard().stats.icmp_out_echo_reps, 1u);
}

INSTANTIATE_TEST_SUITE_P(Icmp, EchoSizes, ::testing::Values(0, 1, 2, 55, 56, 57, 1000, 1472));

// An empty echo with id 0 and sequence 0 makes a reply of all zero words, whose checksum is 0xffff; the
// in-place update (RFC 1624 eqn. 3) alone gives 0x0000 there, which no receiver accepts. Found by fuzz_wire_icmp.
TEST(Icmp, EchoReplyOfAllZeroWordsCarriesChecksumFFFF) {
  for (uint16_t seq : {uint16_t{0}, uint16_t{1}}) {
    StackHarness h;
    h.learn_peer();
    h.inject(h.from_peer(ipv4(to_us(), icmp_echo(it::kEchoRequest, 0, seq, Bytes(seq == 0 ? 0 : 4, 0)))));
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    auto ip = parse_ip(out[0]);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->payload[0], it::kEchoReply);
    EXPECT_EQ(wire::load_be16(ip->payload.data() + 2), seq == 0 ? 0xffff : 0xfffe) << "seq " << seq;
    EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size()))) << "seq " << seq;
  }
}

// To a broadcast address only echo is looked at (Linux's icmp_rcv): an echo reply or an error sent there is
// dropped, not handed to the echo hook or to a transport. Found in review.
TEST(Icmp, ErrorsAndRepliesToABroadcastAddressAreDropped) {
  StackHarness h;
  h.learn_peer();
  int hook = 0;
  h.shard().on_echo_reply = [&](const Ipv4Rx&, const Pktbuf&, Instant) { ++hook; };
  Ipv4Spec s = to_us();
  s.dst = Ipv4Addr::of(10, 0, 0, 255);
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800, ipv4(s, icmp_echo(it::kEchoReply, 1, 2, pattern(8)))));
  s.dst = Ipv4Addr::broadcast();
  const Bytes quoted = ipv4(Ipv4Spec{.src = kOur, .dst = kPeer, .proto = 17}, Bytes(8, 0));
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800,
               ipv4(s, icmp(it::kDestUnreachable, 3, 0, quoted))));
  EXPECT_EQ(h.drops(Drop::IcmpToBroadcast), 2u);
  EXPECT_EQ(hook, 0);
  EXPECT_EQ(h.shard().stats.icmp_in_echo_reps, 0u);
  EXPECT_EQ(h.shard().stats.icmp_in_errors, 0u);
  // The same reply to our own address reaches the hook.
  h.inject(h.from_peer(ipv4(to_us(), icmp_echo(it::kEchoReply, 1, 3, pattern(8)))));
  EXPECT_EQ(hook, 1);
}

TEST(Icmp, BadChecksumAndTruncatedAreDropped) {
  StackHarness h;
  h.learn_peer();
  h.inject(h.from_peer(ipv4(to_us(), icmp_echo(it::kEchoRequest, 1, 1, pattern(20), true))));
  h.inject(h.from_peer(ipv4(to_us(), Bytes{8, 0, 0xf7, 0xff, 0, 0, 0})));  // 7 bytes
  EXPECT_EQ(h.drops(Drop::IcmpBadChecksum), 1u);
  EXPECT_EQ(h.drops(Drop::IcmpTruncated), 1u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Icmp, BroadcastEchoIsIgnored) {
  StackHarness h;
  h.learn_peer();
  Ipv4Spec s = to_us();
  s.dst = Ipv4Addr::of(10, 0, 0, 255);
  h.inject(h.from_peer(ipv4(s, icmp_echo(it::kEchoRequest, 1, 1, pattern(8)))));
  s.dst = Ipv4Addr::broadcast();
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800,
               ipv4(s, icmp_echo(it::kEchoRequest, 1, 2, pattern(8)))));
  EXPECT_EQ(h.drops(Drop::IcmpBroadcastEcho), 2u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Icmp, UnknownTypeIsDroppedErrorsAreCounted) {
  StackHarness h;
  h.inject(h.from_peer(ipv4(to_us(), icmp(42, 0, 0, pattern(8)))));
  h.inject(h.from_peer(ipv4(to_us(), icmp(it::kDestUnreachable, 3, 0, pattern(28)))));
  EXPECT_EQ(h.drops(Drop::IcmpUnhandledType), 1u);
  EXPECT_EQ(h.shard().stats.icmp_in_errors, 1u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Icmp, EchoRepliesReachTheHook) {
  StackHarness h;
  h.learn_peer();
  int calls = 0;
  h.shard().on_echo_reply = [&](const Ipv4Rx& rx, const Pktbuf& p, Instant) {
    ++calls;
    EXPECT_EQ(rx.src, kPeer);
    EXPECT_EQ(p.len(), 8u + 10u);
  };
  h.inject(h.from_peer(ipv4(to_us(), icmp_echo(it::kEchoReply, 5, 6, pattern(10)))));
  EXPECT_EQ(calls, 1);
  h.shard().on_echo_reply = nullptr;
}

TEST(Icmp, ErrorsAreRateLimitedPerShardWithARandomCharge) {
  // The shard's bucket (100/s, burst 10) is charged a random 0-2 tokens per error, as Linux since
  // CVE-2020-25705 (SADDNS): how many errors a burst draws must not tell an off-path prober how many of its
  // probes hit a closed port. (As LTP's cve-2020-25705 test: rounds of 100 probes, a full bucket each.)
  HarnessOptions o;
  o.cfg.icmp.error_rate = 100;
  o.cfg.icmp.error_burst = 10;
  o.cfg.icmp.peer_interval_ms = 0;  // (the per-destination limit is tested below)
  StackHarness h(o);
  h.learn_peer();
  std::set<size_t> counts;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 100; ++i) h.inject(h.from_peer(ipv4(to_us(253), pattern(16))));
    const size_t n = h.sent().size();
    EXPECT_GE(n, 5u);   // at most 2 tokens each
    EXPECT_LE(n, 60u);  // (a run of 50 zero charges in a row: never in practice)
    counts.insert(n);
    h.advance(1s);  // refilled
  }
  EXPECT_GT(counts.size(), 1u);  // a fixed charge of one gave exactly 10 every round
  EXPECT_GT(h.shard().stats.icmp_err_ratelimited, 0u);
}

TEST(Icmp, ErrorsAreRateLimitedPerDestinationFirst) {
  // Linux's icmpv4_xrlim_allow (icmp_ratelimit 1 s, burst 6), checked before the shared budget
  // (CVE-2024-47678): one host probing closed ports gets 6 errors and then one a second, and cannot take
  // the errors every other host may get.
  StackHarness h;
  h.learn_peer();
  const Ipv4Addr other = Ipv4Addr::of(10, 0, 0, 9);
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0806,
               arp(1, StackHarness::kPeerMac, other, MacAddr::zero(), kOur)));
  h.sent();
  for (int i = 0; i < 100; ++i) h.inject(h.from_peer(ipv4(to_us(253), pattern(16))));
  EXPECT_EQ(h.sent().size(), 6u);
  Ipv4Spec from_other = to_us(253);
  from_other.src = other;
  h.inject(h.from_peer(ipv4(from_other, pattern(16))));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(parse_ip(out[0])->dst, other);
  h.advance(1s);  // one more for the first host
  for (int i = 0; i < 10; ++i) h.inject(h.from_peer(ipv4(to_us(253), pattern(16))));
  EXPECT_EQ(h.sent().size(), 1u);
  h.advance(10s);  // the burst again, no more
  for (int i = 0; i < 10; ++i) h.inject(h.from_peer(ipv4(to_us(253), pattern(16))));
  EXPECT_EQ(h.sent().size(), 6u);
  EXPECT_EQ(h.shard().stats.icmp_err_ratelimited, 94u + 9u + 4u);
}

TEST(Icmp, ErrorQuoteIsBoundedTo576Bytes) {
  StackHarness h;
  h.learn_peer();
  h.inject(h.from_peer(ipv4(to_us(253), pattern(1400))));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->total_len, 576);
  EXPECT_EQ(ip->tos, 0xc0);
}

TEST(Icmp, SendEchoBuildsAValidRequest) {
  StackHarness h;
  h.learn_peer();
  const Bytes data = pattern(100, 3);
  ASSERT_EQ(icmp_send_echo(h.shard(), kPeer, 0x1111, 0x2222, data.data(), data.size(), 7), 0);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ttl, 7);
  EXPECT_EQ(ip->payload[0], it::kEchoRequest);
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size())));
  EXPECT_TRUE(std::equal(data.begin(), data.end(), ip->payload.begin() + 8));
}
