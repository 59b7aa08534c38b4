// IPv4 multicast membership and IGMP (RFC 3376 v3, RFC 2236 v2, RFC 1112 v1): packet-level tests with a
// manual clock. Reports are read off the wire; queries and datagrams are injected as frames.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "api/skiff.h"
#include "../sock/sock_test_util.hh"
#include "igmp_test_util.hh"
#include "stack_harness.hh"
#include "wire/checksum.hh"
#include "wire/igmp.hh"
#include "wire/udp.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;
using namespace skiff::test::mc;
using namespace std::chrono_literals;

namespace {

ip_mreqn mreq(Ipv4Addr g, Ipv4Addr ifaddr = kOur, int ifindex = 0) {
  ip_mreqn m{};
  m.imr_multiaddr.s_addr = htonl(g.host());
  m.imr_address.s_addr = htonl(ifaddr.host());
  m.imr_ifindex = ifindex;
  return m;
}

int join(int fd, Ipv4Addr g, int opt = IP_ADD_MEMBERSHIP) {
  const ip_mreqn m = mreq(g);
  return skiff_setsockopt(fd, IPPROTO_IP, opt, &m, sizeof m);
}

}  // namespace

TEST(Igmp, JoinReportsAtOnceThenOnceMoreWithinASecond) {
  StackHarness h;
  EXPECT_TRUE(filter_has(h, ig::kAllSystems));  // every host receives 224.0.0.1
  EXPECT_FALSE(filter_has(h, kG1));
  const int fd = bound_udp(5000);
  ASSERT_EQ(join(fd, kG1), 0) << strerror(errno);
  EXPECT_TRUE(filter_has(h, kG1));
  auto first = igmp_sent(h);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, ig::kV3Report);
  EXPECT_EQ(first[0].ip.flags_frag & 0x4000, 0x4000);  // DF
  ASSERT_EQ(first[0].records.size(), 1u);
  EXPECT_EQ(first[0].records[0], (Record{ig::kChangeToExclude, kG1, {}}));
  // Robustness Variable 2: one retransmission, within the Unsolicited Report Interval (1 s).
  run_for(h, 1100ms);
  auto again = igmp_sent(h);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].records, first[0].records);
  run_for(h, 10s);
  EXPECT_TRUE(igmp_sent(h).empty());
  skiff_close(fd);
}

TEST(Igmp, LastLeaveReportsChangeToIncludeTwiceAndClosingLeaves) {
  StackHarness h;
  const int a = bound_udp(5000), b = bound_udp(5001);
  ASSERT_EQ(join(a, kG1), 0);
  ASSERT_EQ(join(b, kG1), 0);  // the host is a member already: nothing new to report
  run_for(h, 2s);
  EXPECT_EQ(records(igmp_sent(h)).size(), 2u);  // a's report and its one retransmission
  ASSERT_EQ(join(a, kG1, IP_DROP_MEMBERSHIP), 0);
  run_for(h, 2s);
  EXPECT_TRUE(igmp_sent(h).empty());  // b is still a member
  EXPECT_TRUE(filter_has(h, kG1));
  skiff_close(b);  // the last membership goes with the socket (ip_mc_drop_socket)
  EXPECT_FALSE(filter_has(h, kG1));
  auto left = igmp_sent(h);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].records, (Records{{ig::kChangeToInclude, kG1}}));
  run_for(h, 1100ms);
  EXPECT_EQ(records(igmp_sent(h)), (Records{{ig::kChangeToInclude, kG1}}));
  run_for(h, 5s);
  EXPECT_TRUE(igmp_sent(h).empty());
  EXPECT_TRUE(h.shard().mc.groups.empty());  // nothing kept once the leave is told
  skiff_close(a);
}

TEST(Igmp, DatagramsToJoinedGroupsAreDeliveredOthersDropped) {
  StackHarness h;
  const int member = bound_udp(6000);
  ASSERT_EQ(join(member, kG1), 0);
  const Bytes payload = pattern(64, 3);
  (void)h.sent();  // the join's report
  h.inject(to_group(kG1, 17, udp(kPeer, kG1, 4000, 6000, payload)));
  Bytes got;
  sockaddr_in from{};
  ASSERT_EQ(recv_dgram(member, &got, &from), 64) << strerror(errno);
  EXPECT_EQ(got, payload);
  EXPECT_EQ(ntohl(from.sin_addr.s_addr), kPeer.host());
  // A group nobody joined: not for this host.
  h.inject(to_group(kG2, 17, udp(kPeer, kG2, 4000, 6000, payload)));
  EXPECT_EQ(h.drops(Drop::Ipv4McNotJoined), 1u);
  EXPECT_EQ(recv_dgram(member, &got), -1);
  // A joined group, a port without a socket: dropped, and no ICMP error about a multicast datagram.
  h.inject(to_group(kG1, 17, udp(kPeer, kG1, 4000, 6001, payload)));
  EXPECT_EQ(h.drops(Drop::UdpNoSocket), 1u);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(member);
  // Left: the group is no longer accepted.
  h.inject(to_group(kG1, 17, udp(kPeer, kG1, 4000, 6000, payload)));
  EXPECT_EQ(h.drops(Drop::Ipv4McNotJoined), 2u);
}

TEST(Igmp, MulticastAllDecidesForSocketsThatDidNotJoin) {
  StackHarness h;
  // Three sockets on one port (SO_REUSEADDR): one joins the group, two do not, one of them with
  // IP_MULTICAST_ALL off.
  int fds[3];
  for (int& fd : fds) {
    fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int yes = 1;
    ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes), 0);
  }
  const auto [member, other, strict] = fds;
  const int zero = 0;
  ASSERT_EQ(skiff_setsockopt(strict, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero), 0);
  const sockaddr_in any = sin(Ipv4Addr::any(), 6000), group = sin(kG1, 6000);
  ASSERT_EQ(skiff_bind(member, sa(any), sizeof any), 0) << strerror(errno);
  ASSERT_EQ(skiff_bind(other, sa(group), sizeof group), 0) << strerror(errno);  // bound to the group itself
  ASSERT_EQ(skiff_bind(strict, sa(any), sizeof any), 0) << strerror(errno);
  ASSERT_EQ(join(member, kG1), 0);
  h.inject(to_group(kG1, 17, udp(kPeer, kG1, 4000, 6000, pattern(10))));
  Bytes got;
  EXPECT_EQ(recv_dgram(member, &got), 10);
  EXPECT_EQ(recv_dgram(other, &got), 10);   // IP_MULTICAST_ALL (on by default): the host joined it
  EXPECT_EQ(recv_dgram(strict, &got), -1);  // off, and no membership of its own
  ASSERT_EQ(join(strict, kG1), 0);
  h.inject(to_group(kG1, 17, udp(kPeer, kG1, 4000, 6000, pattern(10))));
  EXPECT_EQ(recv_dgram(strict, &got), 10);
  for (int fd : fds) skiff_close(fd);
}

TEST(Igmp, V3GeneralQueryIsAnsweredWithEveryGroupWithinMaxRespTime) {
  StackHarness h;
  const int fd = bound_udp(5000);
  ASSERT_EQ(join(fd, kG1), 0);
  ASSERT_EQ(join(fd, kG2), 0);
  run_for(h, 3s);
  (void)igmp_sent(h);
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(10), kPeer, {0x94, 0x04, 0, 0}));  // 1 s
  EXPECT_EQ(h.shard().stats.igmp_in_queries, 1u);
  run_for(h, 1100ms);
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);  // both groups in one report
  EXPECT_EQ(records(rs), (Records{{ig::kModeIsExclude, kG1}, {ig::kModeIsExclude, kG2}}));
  run_for(h, 10s);
  EXPECT_TRUE(igmp_sent(h).empty());
  // A group-specific query: only that group.
  h.inject(to_group(kG2, ig::kProto, v3_query(10, kG2)));
  run_for(h, 1100ms);
  EXPECT_EQ(records(igmp_sent(h)), (Records{{ig::kModeIsExclude, kG2}}));
  // A query for a group the host is not in: silence.
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(10, Ipv4Addr::of(239, 9, 9, 9))));
  run_for(h, 2s);
  EXPECT_TRUE(igmp_sent(h).empty());
  skiff_close(fd);
}

TEST(Igmp, QuerierRobustnessIsAdopted) {
  StackHarness h;
  // (A query for a group the host is not in: nothing to answer, but its QRV counts.)
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(10, Ipv4Addr::of(239, 9, 9, 9), {}, -1, 3)));
  const int fd = bound_udp(5000);
  ASSERT_EQ(join(fd, kG1), 0);
  run_for(h, 5s);
  EXPECT_EQ(records(igmp_sent(h)).size(), 3u);  // QRV 3: the report and two retransmissions
  skiff_close(fd);
}

TEST(Igmp, V2QuerierSwitchesToV2ReportsAndLeaves) {
  StackHarness h;
  const int fd = bound_udp(5000);
  ASSERT_EQ(join(fd, kG1), 0);
  run_for(h, 3s);
  (void)igmp_sent(h);
  h.inject(to_group(ig::kAllSystems, ig::kProto, igmp8(ig::kQuery, 20, Ipv4Addr::any())));  // v2, 2 s
  run_for(h, 2100ms);
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].type, ig::kV2Report);
  EXPECT_EQ(rs[0].ip.dst, kG1);  // a v2 report goes to the group itself
  EXPECT_EQ(rs[0].ip.payload.size(), 8u);
  // Joining in v2 mode: v2 reports; leaving: one leave to all-routers.
  ASSERT_EQ(join(fd, kG2), 0);
  rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].records[0], (Record{ig::kV2Report, kG2, {}}));
  ASSERT_EQ(join(fd, kG2, IP_DROP_MEMBERSHIP), 0);
  rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].records[0], (Record{ig::kV2Leave, kG2, {}}));
  EXPECT_EQ(rs[0].ip.dst, ig::kAllRouters);
  run_for(h, 11s);
  for (const auto& r : igmp_sent(h)) EXPECT_NE(r.records[0].group, kG2);  // nothing more about kG2
  // Another member's report answers the query for us (RFC 2236 §3 suppression).
  h.inject(to_group(ig::kAllSystems, ig::kProto, igmp8(ig::kQuery, 100, Ipv4Addr::any())));  // 10 s
  h.inject(to_group(kG1, ig::kProto, igmp8(ig::kV2Report, 0, kG1), Ipv4Addr::of(10, 0, 0, 9)));
  run_for(h, 11s);
  EXPECT_TRUE(igmp_sent(h).empty());
  EXPECT_EQ(h.shard().stats.igmp_in_reports, 1u);
  // The v2 querier goes quiet: after the Older Version Querier Present Timeout (260 s), v3 again.
  run_for(h, 260s);
  (void)igmp_sent(h);
  ASSERT_EQ(join(fd, kG2), 0);
  rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].type, ig::kV3Report);
  skiff_close(fd);
}

TEST(Igmp, V1QuerierGetsV1ReportsAndNoLeave) {
  StackHarness h;
  const int fd = bound_udp(5000);
  h.inject(to_group(ig::kAllSystems, ig::kProto, igmp8(ig::kQuery, 0, Ipv4Addr::any())));  // v1
  ASSERT_EQ(join(fd, kG1), 0);
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].records[0], (Record{ig::kV1Report, kG1, {}}));
  run_for(h, 11s);
  (void)igmp_sent(h);
  skiff_close(fd);
  run_for(h, 11s);
  EXPECT_TRUE(igmp_sent(h).empty());  // IGMPv1 has no leave
}

TEST(Igmp, BadMessagesAreDroppedWithTheirReason) {
  StackHarness h;
  Bytes bad = v3_query(10);
  bad[2] ^= 0xff;
  h.inject(to_group(ig::kAllSystems, ig::kProto, bad));
  EXPECT_EQ(h.drops(Drop::IgmpBadChecksum), 1u);
  h.inject(to_group(ig::kAllSystems, ig::kProto, with_checksum(Bytes(6, 0x11))));
  EXPECT_EQ(h.drops(Drop::IgmpTruncated), 1u);
  h.inject(to_group(ig::kAllSystems, ig::kProto, with_checksum(Bytes{0x11, 10, 0, 0, 0, 0, 0, 0, 0, 0})));
  EXPECT_EQ(h.drops(Drop::IgmpBadQuery), 1u);  // 9-11 bytes (RFC 3376 §7.1)
  Bytes q = v3_query(10);
  q[11] = 40;  // 40 sources announced, none there
  h.inject(to_group(ig::kAllSystems, ig::kProto, with_checksum(q)));
  EXPECT_EQ(h.drops(Drop::IgmpTruncated), 2u);
  h.inject(to_group(ig::kAllSystems, ig::kProto, igmp8(0x13, 0, Ipv4Addr::any())));  // DVMRP
  EXPECT_EQ(h.drops(Drop::IgmpUnknownType), 1u);
  EXPECT_EQ(h.shard().stats.igmp_in_queries, 0u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Igmp, EchoToAGroupIsNotAnswered) {
  StackHarness h;
  const int fd = bound_udp(5000);
  ASSERT_EQ(join(fd, kG1), 0);
  (void)h.sent();
  h.inject(to_group(kG1, 1, icmp_echo(8, 1, 1, pattern(8))));
  EXPECT_EQ(h.drops(Drop::IcmpBroadcastEcho), 1u);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(fd);
}

TEST(Igmp, SocketOptionsAsLinux) {
  StackHarness h;
  const int u = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  const int t = skiff_socket(AF_INET, SOCK_STREAM, 0);
  ip_mreqn m = mreq(kG1);
  EXPECT_EQ(skiff_setsockopt(t, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m), -1);
  EXPECT_EQ(errno, EPROTO);
  EXPECT_EQ(skiff_setsockopt(t, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof m), -1);
  EXPECT_EQ(errno, EPROTO);
  ip_mreqn bad = mreq(Ipv4Addr::of(10, 0, 0, 1));
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &bad, sizeof bad), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, 4), -1);
  EXPECT_EQ(errno, EINVAL);
  ip_mreqn noif = mreq(kG1, Ipv4Addr::of(10, 9, 9, 9));
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &noif, sizeof noif), -1);
  EXPECT_EQ(errno, ENODEV);
  ip_mreqn idx99 = mreq(kG1, Ipv4Addr::any(), 99);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &idx99, sizeof idx99), -1);
  EXPECT_EQ(errno, ENODEV);
  ip_mreqn noroute = mreq(kG1, Ipv4Addr::any());  // no route to the group here (Linux: ENODEV too)
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &noroute, sizeof noroute), -1);
  EXPECT_EQ(errno, ENODEV);
  // struct ip_mreq (8 bytes) and ip_mreqn by index both work; the same membership twice is EADDRINUSE.
  ip_mreq old{};
  old.imr_multiaddr.s_addr = htonl(kG1.host());
  old.imr_interface.s_addr = htonl(kOur.host());
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &old, sizeof old), 0);
  ip_mreqn by_index = mreq(kG1, Ipv4Addr::any(), 1);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &by_index, sizeof by_index), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  ip_mreqn other = mreq(Ipv4Addr::of(239, 9, 9, 9));
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &other, sizeof other), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &by_index, sizeof by_index), 0);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, &by_index, sizeof by_index), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  // At most 20 groups per socket (igmp_max_memberships): the 21st is ENOBUFS.
  for (int i = 0; i < 20; ++i) {
    ip_mreqn g = mreq(Ipv4Addr::of(239, 0, 0, static_cast<uint8_t>(i + 1)));
    ASSERT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &g, sizeof g), 0) << i;
  }
  ip_mreqn g21 = mreq(Ipv4Addr::of(239, 0, 0, 21));
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &g21, sizeof g21), -1);
  EXPECT_EQ(errno, ENOBUFS);
  // MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP (struct group_req).
  const int u2 = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  group_req gr{};
  gr.gr_interface = 1;
  const sockaddr_in gs = sin(kG2, 0);
  memcpy(&gr.gr_group, &gs, sizeof gs);
  EXPECT_EQ(skiff_setsockopt(u2, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof gr), 0) << strerror(errno);
  EXPECT_TRUE(h.shard().mc.accepts(0, kG2, kPeer));
  EXPECT_EQ(skiff_setsockopt(u2, IPPROTO_IP, MCAST_LEAVE_GROUP, &gr, sizeof gr), 0);
  EXPECT_FALSE(h.shard().mc.accepts(0, kG2, kPeer));
  gr.gr_group.ss_family = AF_INET6;
  EXPECT_EQ(skiff_setsockopt(u2, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof gr), -1);
  EXPECT_EQ(errno, EINVAL);

  // IP_MULTICAST_LOOP / IP_MULTICAST_ALL: on by default, an int or a byte, empty is EINVAL; ALL takes 0/1.
  int v = -1;
  socklen_t vl = sizeof v;
  ASSERT_EQ(skiff_getsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &v, &vl), 0);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(skiff_getsockopt(u, IPPROTO_IP, IP_MULTICAST_ALL, &v, &vl), 0);
  EXPECT_EQ(v, 1);
  int five = 5, zero = 0;
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &five, sizeof five), 0);
  ASSERT_EQ(skiff_getsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &v, &vl), 0);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_ALL, &five, sizeof five), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero), 0);
  ASSERT_EQ(skiff_getsockopt(u, IPPROTO_IP, IP_MULTICAST_ALL, &v, &vl), 0);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(skiff_setsockopt(t, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero), 0);  // TCP takes these two

  // IP_MULTICAST_IF: an address of ours, or an index; reads back the address; EINVAL for TCP.
  in_addr ia{htonl(kOur.host())};
  EXPECT_EQ(skiff_setsockopt(t, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &ia, 2), -1);
  EXPECT_EQ(errno, EINVAL);
  in_addr notours{htonl(Ipv4Addr::of(10, 9, 9, 9).host())};
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &notours, sizeof notours), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), 0);
  in_addr back{};
  socklen_t bl = sizeof back;
  ASSERT_EQ(skiff_getsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &back, &bl), 0);
  EXPECT_EQ(bl, sizeof back);
  EXPECT_EQ(ntohl(back.s_addr), kOur.host());
  ip_mreqn idx = mreq(kG1, Ipv4Addr::any(), 1);
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &idx, sizeof idx), 0);
  ASSERT_EQ(skiff_getsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &back, &bl), 0);
  EXPECT_EQ(back.s_addr, 0u);  // the address given (none), not the index's
  idx.imr_ifindex = 99;
  EXPECT_EQ(skiff_setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &idx, sizeof idx), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  for (int fd : {u, u2, t}) skiff_close(fd);
}

TEST(Igmp, MulticastIfChoosesTheInterfaceWithoutARoute) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in to = sin(kG1, 7000);
  uint8_t b[16] = {};
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(to), sizeof to), -1);  // no route to 239/8 here
  EXPECT_EQ(errno, ENETUNREACH);
  in_addr ia{htonl(kOur.host())};
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), 0);
  ASSERT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(to), sizeof to), 16) << strerror(errno);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->dst, kG1);
  EXPECT_EQ(ip->src, kOur);
  EXPECT_EQ(ip->ttl, 1);  // IP_MULTICAST_TTL's default
  EXPECT_EQ(ip->eth_dst, ig::group_mac(kG1));
  skiff_close(fd);
}

TEST(Igmp, RawIgmpSocketSeesQueries) {
  StackHarness h;
  const int r = skiff_socket(AF_INET, SOCK_RAW, IPPROTO_IGMP);
  ASSERT_GE(r, 0) << strerror(errno);
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(10)));
  uint8_t buf[256];
  const ssize_t n = skiff_recv(r, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_EQ(n, 20 + 12);  // the IP header (as sent by the builder) and the query
  EXPECT_EQ(buf[20], ig::kQuery);
  EXPECT_EQ(h.shard().stats.igmp_in_queries, 1u);
  skiff_close(r);
}

TEST(Igmp, MulticastLoopGivesTheHostsOwnMembersACopy) {
  StackHarness h;
  const int member = bound_udp(7100);
  ASSERT_EQ(join(member, kG1), 0);
  const int tx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  in_addr ia{htonl(kOur.host())};
  ASSERT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), 0);
  (void)h.sent();
  const sockaddr_in to = sin(kG1, 7100);
  const Bytes payload = pattern(3000, 7);  // fragmented on the wire; the local copy is whole
  ASSERT_EQ(skiff_sendto(tx, payload.data(), payload.size(), 0, sa(to), sizeof to), 3000) << strerror(errno);
  std::vector<uint8_t> big(4000);
  const ssize_t n = skiff_recvfrom(member, big.data(), big.size(), 0, nullptr, nullptr);
  ASSERT_EQ(n, 3000) << strerror(errno);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), big.begin()));
  EXPECT_EQ(h.sent().size(), 3u);  // and the wire got it, in fragments
  EXPECT_EQ(h.shard().stats.ip_mc_looped, 1u);
  EXPECT_EQ(h.drops(Drop::Ipv4BadSrc), 0u);  // our own source address is no martian on the looped copy
  // IP_MULTICAST_LOOP off: the wire only.
  const int zero = 0;
  ASSERT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero), 0);
  ASSERT_EQ(skiff_sendto(tx, "x", 1, 0, sa(to), sizeof to), 1);
  EXPECT_EQ(skiff_recv(member, big.data(), big.size(), 0), -1);
  EXPECT_EQ(h.sent().size(), 1u);
  // IP_MULTICAST_TTL 0: the host's members only, nothing on the wire (Linux's ip_mc_output).
  const int one = 1;
  ASSERT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one), 0);
  ASSERT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_TTL, &zero, sizeof zero), 0);
  ASSERT_EQ(skiff_sendto(tx, "local", 5, 0, sa(to), sizeof to), 5);
  EXPECT_EQ(skiff_recv(member, big.data(), big.size(), 0), 5);
  EXPECT_TRUE(h.sent().empty());
  // A group the host is not in: nothing looped.
  const sockaddr_in to2 = sin(kG2, 7100);
  ASSERT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_TTL, &one, sizeof one), 0);
  ASSERT_EQ(skiff_sendto(tx, "y", 1, 0, sa(to2), sizeof to2), 1);
  EXPECT_EQ(skiff_recv(member, big.data(), big.size(), 0), -1);
  EXPECT_EQ(h.shard().stats.ip_mc_looped, 2u);
  for (int fd : {member, tx}) skiff_close(fd);
}

TEST(Igmp, QueryEdgeCasesAsRfc3376AndLinux) {
  StackHarness h;
  // A general query while the host is in no group leaves nothing pending: a later join reports its change
  // alone, not a current-state record as well.
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(10)));
  run_for(h, 300ms);
  const int fd = bound_udp(5000);
  ASSERT_EQ(join(fd, kG1), 0);
  run_for(h, 2s);
  EXPECT_EQ(records(igmp_sent(h)), (Records{{ig::kChangeToExclude, kG1},
                                                                             {ig::kChangeToExclude, kG1}}));
  // QRV 3, then a query with QRV 0: back to the default, 2.
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(0, Ipv4Addr::of(239, 9, 9, 9), {}, -1, 3)));
  h.inject(to_group(ig::kAllSystems, ig::kProto, v3_query(0, Ipv4Addr::of(239, 9, 9, 9), {}, -1, 0)));
  ASSERT_EQ(join(fd, kG2), 0);
  run_for(h, 3s);
  EXPECT_EQ(records(igmp_sent(h)).size(), 2u);
  // A query to our own address (RFC 3376 §4.1.12: accepted) is answered.
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = ig::kProto, .ttl = 1}, v3_query(0, kG1))));
  EXPECT_EQ(records(igmp_sent(h)), (Records{{ig::kModeIsExclude, kG1}}));
  // A general query naming sources is malformed.
  Bytes q = v3_query(10);
  q.resize(16);
  q[11] = 1;
  h.inject(to_group(ig::kAllSystems, ig::kProto, with_checksum(q)));
  EXPECT_EQ(h.drops(Drop::IgmpBadQuery), 1u);
  // A v1 query's group field is unused (RFC 1112): whatever it holds, it is a v1 general query.
  h.inject(to_group(ig::kAllSystems, ig::kProto, igmp8(ig::kQuery, 0, Ipv4Addr::of(10, 1, 2, 3))));
  EXPECT_EQ(h.drops(Drop::IgmpBadQuery), 1u);
  run_for(h, 10100ms);
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 2u);  // one v1 report per group
  for (const auto& r : rs) EXPECT_EQ(r.type, ig::kV1Report);
  skiff_close(fd);
}
