// ICMP errors that name nothing of ours are dropped with a reason (IcmpErrorUnmatched), not consumed
// silently (found missing by the over-the-wire battery, tests/integration/attack_battery.sh, class icmp):
// a quote too short to use, a quote of a datagram we did not send, a UDP port without a socket, a TCP
// connection we do not have, a protocol we do not speak. Each still counts as an ICMP error received.
#include <gtest/gtest.h>

#include <algorithm>

#include "stack_harness.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::test;
namespace it = wire::icmp_type;

namespace {
const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;

// The first 28 bytes of a datagram from `src` to the peer: its IP header and 8 bytes of `l4`.
Bytes quote(Ipv4Addr src, uint8_t proto, const Bytes& l4) {
  Bytes q = ipv4(Ipv4Spec{.src = src, .dst = kPeer, .proto = proto}, l4);
  q.resize(std::min<size_t>(q.size(), 28));
  return q;
}

void error_about(StackHarness& h, const Bytes& q) {
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1},
                            icmp(it::kDestUnreachable, 3, 0, q))));
}
}  // namespace

TEST(IcmpUnmatched, ErrorsNamingNothingOfOursAreDroppedWithAReason) {
  StackHarness h;
  const Bytes l4 = {0x13, 0x88, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00};  // port 5000 -> 53
  error_about(h, {});                                                  // no quote at all
  Bytes cut = quote(kOur, 17, l4);
  cut.resize(24);
  error_about(h, cut);                                                 // 4 bytes of the transport header
  error_about(h, quote(kPeer, 17, l4));                                // a datagram the peer sent, not us
  error_about(h, quote(kOur, 17, l4));                                 // UDP: no socket on port 5000
  error_about(h, quote(kOur, 6, l4));                                  // TCP: no such connection
  error_about(h, quote(kOur, 99, l4));                                 // a protocol we do not speak
  EXPECT_EQ(h.drops(Drop::IcmpErrorUnmatched), 6u);
  EXPECT_EQ(h.total_drops(), 6u);
  EXPECT_EQ(h.shard().stats.icmp_in_errors, 6u);
  EXPECT_TRUE(h.sent().empty());
}
