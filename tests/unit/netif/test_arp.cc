// ARP (RFC 826) and neighbour resolution, packet in / packet out with a manual clock.
#include <gtest/gtest.h>

#include "stack_harness.hh"
#include "wire/arp.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"

using namespace skiff;
using namespace skiff::test;
using wire::ArpView;
using wire::EthView;

namespace {

constexpr MacAddr kOther{{0x02, 0, 0, 0, 0, 0x77}};
constexpr Ipv4Addr kOtherIp = Ipv4Addr::of(10, 0, 0, 77);
const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;
const MacAddr kOurMac = StackHarness::kOurMac;
const MacAddr kPeerMac = StackHarness::kPeerMac;

Bytes arp_frame(uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa,
                const MacAddr& eth_dst = MacAddr::broadcast()) {
  return eth(eth_dst, sha, 0x0806, arp(op, sha, spa, tha, tpa));
}

struct ArpOut {
  MacAddr eth_dst, eth_src;
  uint16_t op;
  MacAddr sha, tha;
  Ipv4Addr spa, tpa;
};

ArpOut parse_arp(Bytes& f) {
  auto e = EthView::checked(f);
  EXPECT_TRUE(e);
  EXPECT_EQ(e->ethertype(), 0x0806);
  auto a = ArpView::checked(e->payload());
  EXPECT_TRUE(a) << wire::to_string(a.err);
  return {e->dst(), e->src(), a->oper(), a->sha(), a->tha(), a->spa(), a->tpa()};
}

bool is_arp(const Bytes& f) { return f.size() >= 14 && f[12] == 0x08 && f[13] == 0x06; }
bool is_ipv4(const Bytes& f) { return f.size() >= 14 && f[12] == 0x08 && f[13] == 0x00; }

void send_ping(StackHarness& h, Ipv4Addr dst, uint16_t seq = 1) {
  const Bytes data = pattern(16);
  ASSERT_EQ(icmp_send_echo(h.shard(), dst, 7, seq, data.data(), data.size()), 0);
  h.shard().flush();
}

}  // namespace

TEST(Arp, GratuitousAnnouncementAtStart) {
  HarnessOptions o;
  o.start = false;
  StackHarness h(o);
  h.shard().start();
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  ArpOut a = parse_arp(out[0]);
  EXPECT_EQ(a.eth_dst, MacAddr::broadcast());
  EXPECT_EQ(a.op, 1);
  EXPECT_EQ(a.spa, kOur);
  EXPECT_EQ(a.tpa, kOur);
  EXPECT_EQ(a.sha, kOurMac);
  EXPECT_EQ(out[0].size(), 60u);  // padded to the minimum frame
}

TEST(Arp, RequestForUsGetsReplyAndCreatesEntry) {
  StackHarness h;
  h.inject(arp_frame(1, kPeerMac, kPeer, MacAddr::zero(), kOur));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  ArpOut a = parse_arp(out[0]);
  EXPECT_EQ(a.eth_dst, kPeerMac);
  EXPECT_EQ(a.eth_src, kOurMac);
  EXPECT_EQ(a.op, 2);
  EXPECT_EQ(a.sha, kOurMac);
  EXPECT_EQ(a.spa, kOur);
  EXPECT_EQ(a.tha, kPeerMac);
  EXPECT_EQ(a.tpa, kPeer);
  EXPECT_EQ(h.shard().stats.arp_in_requests, 1u);
  // The entry exists: a packet to the peer goes straight out, no ARP request.
  send_ping(h, kPeer);
  out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(is_ipv4(out[0]));
  EXPECT_EQ(EthView::checked(out[0])->dst(), kPeerMac);
}

TEST(Arp, RequestForSomeoneElseIsIgnoredAndCreatesNothing) {
  StackHarness h;
  h.inject(arp_frame(1, kOther, kOtherIp, MacAddr::zero(), Ipv4Addr::of(10, 0, 0, 99)));
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::ArpNotForUs), 1u);
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kOtherIp), nullptr);  // RFC 826: not the target, no entry
}

TEST(Arp, MergeUpdatesExistingEntryEvenWhenNotTarget) {
  StackHarness h;
  h.learn_peer();
  h.advance(2s);  // past the locktime
  const MacAddr moved{{0x02, 0, 0, 0, 0, 0x55}};
  // A gratuitous ARP from the peer (target = itself): not for us, but the existing entry is merged.
  h.inject(arp_frame(1, moved, kPeer, MacAddr::zero(), kPeer));
  EXPECT_TRUE(h.sent().empty());
  auto* e = h.shard().port_for(0)->neigh.lookup(kPeer);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mac, moved);
  EXPECT_EQ(h.shard().stats.arp_mac_changes, 1u);
}

TEST(Arp, MacChangeWithinLocktimeIsIgnored) {
  StackHarness h;
  h.learn_peer();
  const MacAddr attacker{{0x02, 0, 0, 0, 0, 0x66}};
  h.advance(100ms);
  h.inject(arp_frame(2, attacker, kPeer, kOurMac, kOur, kOurMac));
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kPeer)->mac, kPeerMac);
  EXPECT_EQ(h.shard().stats.arp_mac_change_ignored, 1u);
}

// A gratuitous ARP overrides the locktime (Linux's arp_process: override = past locktime || is_garp): a
// failover (VRRP, keepalived) right after resolution takes effect at once. Found in review.
TEST(Arp, GratuitousArpWithinLocktimeIsBelieved) {
  StackHarness h;
  h.learn_peer();
  h.advance(100ms);
  const MacAddr moved{{0x02, 0, 0, 0, 0, 0x55}};
  h.inject(arp_frame(1, moved, kPeer, MacAddr::zero(), kPeer));  // request form: target = itself
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kPeer)->mac, moved);
  const MacAddr back{{0x02, 0, 0, 0, 0, 0x56}};
  h.inject(arp_frame(2, back, kPeer, back, kPeer));  // reply form: target hardware = its own
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kPeer)->mac, back);
  h.inject(arp_frame(2, moved, kPeer, kOurMac, kPeer));  // a reply naming another target: not gratuitous
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kPeer)->mac, back);
  EXPECT_EQ(h.shard().stats.arp_mac_changes, 2u);
  EXPECT_EQ(h.shard().stats.arp_mac_change_ignored, 1u);
}

TEST(Arp, MalformedPacketsAreDroppedWithTheirReason) {
  StackHarness h;
  struct Case {
    Bytes payload;
    Drop why;
  };
  const Case cases[] = {
      {arp(1, kPeerMac, kPeer, MacAddr::zero(), kOur, 6), Drop::ArpBadHwType},
      {arp(1, kPeerMac, kPeer, MacAddr::zero(), kOur, 1, 0x86dd), Drop::ArpBadProtoType},
      {arp(1, kPeerMac, kPeer, MacAddr::zero(), kOur, 1, 0x0800, 7), Drop::ArpBadHwLen},
      {arp(1, kPeerMac, kPeer, MacAddr::zero(), kOur, 1, 0x0800, 6, 5), Drop::ArpBadProtoLen},
      {arp(3, kPeerMac, kPeer, MacAddr::zero(), kOur), Drop::ArpBadOp},
      {Bytes{0x00, 0x01, 0x08, 0x00, 0x06}, Drop::ArpTruncated},
  };
  for (const auto& c : cases) {
    // Unpadded so the truncated case really is short.
    h.inject(eth(MacAddr::broadcast(), kPeerMac, 0x0806, c.payload, false));
    EXPECT_EQ(h.drops(c.why), 1u) << drop_name(c.why);
  }
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.shard().port_for(0)->neigh.size(), 0u);
}

TEST(Arp, TruncatedInsidePaddedFrameStillChecksLength) {
  StackHarness h;
  // 27 bytes of ARP: one byte short of Ethernet/IPv4, no padding.
  Bytes a = arp(1, kPeerMac, kPeer, MacAddr::zero(), kOur);
  a.pop_back();
  h.inject(eth(MacAddr::broadcast(), kPeerMac, 0x0806, a, false));
  EXPECT_EQ(h.drops(Drop::ArpTruncated), 1u);
}

TEST(Arp, InvalidSendersAreRejected) {
  StackHarness h;
  // Multicast sender hardware address (in a frame from a unicast source).
  h.inject(eth(MacAddr::broadcast(), kPeerMac, 0x0806, arp(1, MacAddr{{0x03, 0, 0, 0, 0, 1}}, kPeer, MacAddr::zero(), kOur)));
  h.inject(arp_frame(1, kPeerMac, Ipv4Addr::broadcast(), MacAddr::zero(), kOur));         // broadcast spa
  h.inject(arp_frame(1, kPeerMac, Ipv4Addr::of(10, 0, 0, 255), MacAddr::zero(), kOur));   // subnet bcast
  h.inject(arp_frame(1, kPeerMac, Ipv4Addr::of(224, 0, 0, 1), MacAddr::zero(), kOur));    // multicast spa
  h.inject(eth(MacAddr::broadcast(), kPeerMac, 0x0806, arp(1, MacAddr::zero(), kPeer, MacAddr::zero(), kOur)));
  EXPECT_EQ(h.drops(Drop::ArpBadSender), 5u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Arp, ConflictingClaimOnOurAddressIsDefendedAtMostEveryTenSeconds) {
  StackHarness h;
  h.inject(arp_frame(2, kOther, kOur, kOurMac, kOur, kOurMac));
  EXPECT_EQ(h.drops(Drop::ArpAddrConflict), 1u);
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kOur), nullptr);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);  // RFC 5227 §2.4 (b): one announcement
  ArpOut a = parse_arp(out[0]);
  EXPECT_EQ(a.eth_dst, MacAddr::broadcast());
  EXPECT_EQ(a.spa, kOur);
  EXPECT_EQ(a.tpa, kOur);
  EXPECT_EQ(a.sha, kOurMac);
  h.advance(5s);
  h.inject(arp_frame(1, kOther, kOur, MacAddr::zero(), kOur));
  EXPECT_TRUE(h.sent().empty());  // within DEFEND_INTERVAL: no second defence
  h.advance(6s);
  h.inject(arp_frame(1, kOther, kOur, MacAddr::zero(), kOur));
  EXPECT_EQ(h.sent().size(), 1u);
  EXPECT_EQ(h.drops(Drop::ArpAddrConflict), 3u);
  EXPECT_EQ(h.shard().stats.arp_defended, 2u);
}

TEST(Arp, ProbeForOurAddressIsAnswered) {
  StackHarness h;
  // RFC 5227 probe: sender IP 0.0.0.0.
  h.inject(arp_frame(1, kOther, Ipv4Addr::any(), MacAddr::zero(), kOur));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  ArpOut a = parse_arp(out[0]);
  EXPECT_EQ(a.op, 2);
  EXPECT_EQ(a.eth_dst, kOther);
  EXPECT_EQ(h.shard().port_for(0)->neigh.size(), 0u);  // nothing learnt from a probe
}

TEST(Arp, ResolutionQueuesThenFlushesInOrder) {
  StackHarness h;
  send_ping(h, kPeer, 1);
  send_ping(h, kPeer, 2);
  send_ping(h, kPeer, 3);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);  // one request, not three
  ArpOut req = parse_arp(out[0]);
  EXPECT_EQ(req.op, 1);
  EXPECT_EQ(req.eth_dst, MacAddr::broadcast());
  EXPECT_EQ(req.tpa, kPeer);
  EXPECT_EQ(req.spa, kOur);
  // The reply releases the queue, in order, to the learnt MAC.
  h.inject(arp_frame(2, kPeerMac, kPeer, kOurMac, kOur, kOurMac));
  out = h.sent();
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(is_ipv4(out[i]));
    EXPECT_EQ(EthView::checked(out[i])->dst(), kPeerMac);
    auto ip = wire::Ipv4View::checked(EthView::checked(out[i])->payload());
    ASSERT_TRUE(ip);
    EXPECT_EQ(wire::IcmpView::checked(std::span<uint8_t>(ip->data() + 20, 8))->echo_seq(), i + 1);
  }
  EXPECT_EQ(h.shard().stats.arp_resolved, 1u);
}

TEST(Arp, AtMostOneRequestPerSecondThenGiveUp) {
  StackHarness h;
  send_ping(h, kPeer, 1);
  EXPECT_EQ(h.sent().size(), 1u);
  for (int i = 0; i < 5; ++i) send_ping(h, kPeer, static_cast<uint16_t>(i + 2));
  EXPECT_TRUE(h.sent().empty());
  h.advance(500ms);
  EXPECT_TRUE(h.sent().empty());
  h.advance(600ms);  // 1.1 s after the first request
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(is_arp(out[0]));
  h.advance(1100ms);
  EXPECT_EQ(h.sent().size(), 1u);  // third probe
  h.advance(1100ms);               // max_probes (3) reached: the entry fails
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::ArpResolveFailed), 6u);  // the six queued pings
  EXPECT_EQ(h.shard().port_for(0)->neigh.lookup(kPeer), nullptr);
  EXPECT_EQ(h.buffers_in_use(), 0u);
}

TEST(Arp, PendingQueueIsBounded) {
  StackHarness h;
  const size_t per_entry = h.stack().config().neigh.queue_per_entry;
  for (size_t i = 0; i < per_entry + 3; ++i) send_ping(h, kPeer, static_cast<uint16_t>(i));
  EXPECT_EQ(h.drops(Drop::ArpQueueFull), 3u);
  EXPECT_EQ(h.shard().port_for(0)->neigh.queued_total(), per_entry);
  h.sent();
}

TEST(Arp, TableStaysBoundedUnderAFloodOfRequestsForUs) {
  HarnessOptions o;
  o.cfg.neigh.capacity = 16;
  StackHarness h(o);
  for (uint32_t i = 0; i < 500; ++i) {
    const Ipv4Addr spa(Ipv4Addr::of(10, 0, 0, 0).host() + 3 + (i % 250));
    const MacAddr sha{{0x02, 1, 0, 0, uint8_t(i >> 8), uint8_t(i)}};
    h.inject(arp_frame(1, sha, spa, MacAddr::zero(), kOur));
  }
  EXPECT_LE(h.shard().port_for(0)->neigh.size(), 16u);
  EXPECT_EQ(h.sent().size(), 500u);  // every request still answered
}

TEST(Arp, StaleEntryIsRefreshedByUnicastThenExpires) {
  StackHarness h;
  h.learn_peer();
  h.advance(31s);  // past reachable (30 s): stale but usable
  send_ping(h, kPeer, 1);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 2u);  // unicast refresh request + the ping
  ArpOut probe = parse_arp(out[0]);
  EXPECT_EQ(probe.eth_dst, kPeerMac);
  EXPECT_TRUE(is_ipv4(out[1]));
  EXPECT_EQ(EthView::checked(out[1])->dst(), kPeerMac);
  h.advance(10s);  // past reachable + stale grace without a reply: resolve again, holding packets
  send_ping(h, kPeer, 2);
  out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  ArpOut req = parse_arp(out[0]);
  EXPECT_EQ(req.eth_dst, MacAddr::broadcast());
  h.inject(arp_frame(2, kPeerMac, kPeer, kOurMac, kOur, kOurMac));
  out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(is_ipv4(out[0]));
}

TEST(Arp, IdleEntriesAreCollected) {
  StackHarness h;
  h.learn_peer();
  EXPECT_EQ(h.shard().port_for(0)->neigh.size(), 1u);
  for (int i = 0; i < 100; ++i) h.advance(1s);
  EXPECT_EQ(h.shard().port_for(0)->neigh.size(), 0u);
}
