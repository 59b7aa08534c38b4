// IGMPv3 source records (RFC 3376) for source filters (RFC 3678), on the wire with a manual clock: the
// state-change reports a filter change sends (ALLOW / BLOCK, TO_IN / TO_EX with sources), the interface state
// merged from several sockets (§3.2), current-state answers to general, group-specific and
// group-and-source-specific queries (§5.2), the silence of IGMPv1/v2 compatibility about sources (§7), and
// several shards holding one host-wide filter.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "../sock/sock_test_util.hh"
#include "api/skiff.h"
#include "igmp_test_util.hh"
#include "ipv4/igmp.hh"
#include "multi_harness.hh"
#include "stack_harness.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::mc;
using namespace std::chrono_literals;

namespace {

constexpr uint8_t kIsIn = ig::kModeIsInclude, kIsEx = ig::kModeIsExclude, kToIn = ig::kChangeToInclude,
                  kToEx = ig::kChangeToExclude, kAllow = ig::kAllowNew, kBlock = ig::kBlockOld;

// `n` copies of `r` (a record and its retransmissions).
Records times(int n, const Record& r) {
  return Records(static_cast<size_t>(n), r);
}

int udp_socket() {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  return fd;
}

// Lets every report and retransmission due go out; what was sent is dropped.
void settle(StackHarness& h) {
  run_for(h, 3s);
  (void)h.sent();
}

std::vector<Ipv4Addr> many_sources(int n, uint8_t third) {
  std::vector<Ipv4Addr> v;
  for (int i = 0; i < n; ++i) v.push_back(Ipv4Addr::of(198, 18, third, static_cast<uint8_t>(i + 1)));
  return v;
}

}  // namespace

TEST(IgmpSsm, SourceJoinsAndDropsAreAllowAndBlockRecords) {
  StackHarness h;
  const int fd = udp_socket();
  // Joining INCLUDE {s1} from nothing: ALLOW {s1} at once (no TO_EX), and once more within a second (QRV 2).
  ASSERT_EQ(ip_source(fd, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  EXPECT_TRUE(filter_has(h, kG1));
  auto first = igmp_sent(h);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, ig::kV3Report);
  EXPECT_EQ(first[0].records, (Records{{kAllow, kG1, {kS1}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kAllow, kG1, {kS1}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});

  // Another source: ALLOW of that source only.
  ASSERT_EQ(ip_source(fd, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  EXPECT_EQ(sent_records(h), (Records{{kAllow, kG1, {kS2}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kAllow, kG1, {kS2}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});

  // Dropping one: BLOCK of it.
  ASSERT_EQ(ip_source(fd, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG1, {kS1}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG1, {kS1}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});

  // Dropping the last leaves the group: INCLUDE {s2} to INCLUDE {}, BLOCK {s2} (not TO_IN).
  ASSERT_EQ(ip_source(fd, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  EXPECT_FALSE(filter_has(h, kG1));
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG1, {kS2}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG1, {kS2}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});
  EXPECT_TRUE(h.shard().mc.groups.empty());  // nothing kept once the leave is told
  skiff_close(fd);
}

TEST(IgmpSsm, ClosingAnSsmSocketBlocksItsSources) {
  StackHarness h;
  const int fd = udp_socket();
  ASSERT_EQ(mcast_source(fd, MCAST_JOIN_SOURCE_GROUP, gsr(kG3, kS1)), 0);
  ASSERT_EQ(mcast_source(fd, MCAST_JOIN_SOURCE_GROUP, gsr(kG3, kS2)), 0);
  settle(h);
  skiff_close(fd);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG3, {kS1, kS2}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG3, {kS1, kS2}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});
}

TEST(IgmpSsm, ExcludeFilterChangesAndTheirMergeIntoAModeChange) {
  StackHarness h;
  const int fd = udp_socket();
  // Any-source join: TO_EX {}; a block right away, while TO_EX is still to be retransmitted, is told by the
  // TO_EX record (now with the source), sent again QRV times; no BLOCK record.
  ASSERT_EQ(ip_member(fd, IP_ADD_MEMBERSHIP, kG1), 0);
  EXPECT_EQ(sent_records(h), (Records{{kToEx, kG1, {}}}));
  ASSERT_EQ(ip_source(fd, IP_BLOCK_SOURCE, kG1, kS1), 0);
  EXPECT_EQ(sent_records(h), (Records{{kToEx, kG1, {kS1}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kToEx, kG1, {kS1}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});

  // Once the mode change is told: a newly excluded source is BLOCK, one no longer excluded ALLOW.
  ASSERT_EQ(ip_source(fd, IP_BLOCK_SOURCE, kG1, kS2), 0);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG1, {kS2}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kBlock, kG1, {kS2}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});
  ASSERT_EQ(ip_source(fd, IP_UNBLOCK_SOURCE, kG1, kS2), 0);
  EXPECT_EQ(sent_records(h), (Records{{kAllow, kG1, {kS2}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kAllow, kG1, {kS2}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});

  // Two changes in a row: each source is told QRV times, the second change's report carrying what is left
  // of the first's.
  ASSERT_EQ(ip_source(fd, IP_BLOCK_SOURCE, kG1, kS3), 0);
  ASSERT_EQ(ip_source(fd, IP_UNBLOCK_SOURCE, kG1, kS1), 0);
  run_for(h, 2s);
  EXPECT_EQ(
      sent_records(h),
      (Records{{kAllow, kG1, {kS1}}, {kAllow, kG1, {kS1}}, {kBlock, kG1, {kS3}}, {kBlock, kG1, {kS3}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});

  // IP_MSFILTER to INCLUDE {s1}: a mode change, TO_IN with the sources.
  ASSERT_EQ(set_msfilter(fd, kG1, MCAST_INCLUDE, {kS1}), 0);
  EXPECT_EQ(sent_records(h), (Records{{kToIn, kG1, {kS1}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kToIn, kG1, {kS1}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});
  skiff_close(fd);
  run_for(h, 2s);
  EXPECT_EQ(sent_records(h), times(2, {kBlock, kG1, {kS1}}));
}

TEST(IgmpSsm, InterfaceStateMergesTheSocketsFilters) {
  StackHarness h;
  const int inc = udp_socket(), exc = udp_socket();
  ASSERT_EQ(ip_source(inc, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  settle(h);
  // exc: EXCLUDE {s1, s2}. The interface: EXCLUDE, the sources every excluding socket excludes and no
  // including one includes: {s2}. Joining is the mode change (TO_EX {}: s1 is included), the filter set right
  // after it is merged into it.
  ASSERT_EQ(ip_member(exc, IP_ADD_MEMBERSHIP, kG1), 0);
  EXPECT_EQ(sent_records(h), (Records{{kToEx, kG1, {}}}));
  ASSERT_EQ(set_msfilter(exc, kG1, MCAST_EXCLUDE, {kS1, kS2}), 0);
  EXPECT_EQ(sent_records(h), (Records{{kToEx, kG1, {kS2}}}));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kToEx, kG1, {kS2}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});
  const McTable::Group* e = h.shard().mc.find(0, kG1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mode(), McTable::kEx);
  EXPECT_EQ(e->state_sources(), (std::vector<Ipv4Addr>{kS2}));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS1));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS2));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS3));

  // A general query: IS_EX {s2}.
  h.inject(query_frame(v3_query(10)));
  run_for(h, 1100ms);
  EXPECT_EQ(sent_records(h), (Records{{kIsEx, kG1, {kS2}}}));

  // inc includes s2 too: s2 leaves the EXCLUDE state, ALLOW {s2}.
  ASSERT_EQ(ip_source(inc, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  EXPECT_EQ(sent_records(h), (Records{{kAllow, kG1, {kS2}}}));
  settle(h);
  // exc goes: INCLUDE {s1, s2} again, TO_IN with both.
  skiff_close(exc);
  run_for(h, 2s);
  EXPECT_EQ(sent_records(h), times(2, {kToIn, kG1, {kS1, kS2}}));
  skiff_close(inc);
  run_for(h, 2s);
  EXPECT_EQ(sent_records(h), times(2, {kBlock, kG1, {kS1, kS2}}));
}

TEST(IgmpSsm, GeneralAndGroupQueriesAreAnsweredWithTheSources) {
  StackHarness h;
  const int a = udp_socket(), b = udp_socket(), c = udp_socket();
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  ASSERT_EQ(ip_member(b, IP_ADD_MEMBERSHIP, kG2), 0);
  ASSERT_EQ(ip_source(b, IP_BLOCK_SOURCE, kG2, kS3), 0);
  ASSERT_EQ(ip_member(c, IP_ADD_MEMBERSHIP, kG3), 0);
  settle(h);
  h.inject(query_frame(v3_query(10)));  // 1 s
  run_for(h, 1100ms);
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);  // every group in one report
  EXPECT_EQ(records(rs), (Records{{kIsEx, kG3, {}}, {kIsIn, kG1, {kS1, kS2}}, {kIsEx, kG2, {kS3}}}));
  // Group-specific: that group's state.
  h.inject(query_frame(v3_query(0, kG1), kG1));
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1, kS2}}}));
  h.inject(query_frame(v3_query(0, kG2), kG2));
  EXPECT_EQ(sent_records(h), (Records{{kIsEx, kG2, {kS3}}}));
  run_for(h, 5s);
  EXPECT_EQ(sent_records(h), Records{});
  for (int fd : {a, b, c}) skiff_close(fd);
}

TEST(IgmpSsm, GroupAndSourceQueriesAreAnsweredAboutTheQueriedSources) {
  StackHarness h;
  const int a = udp_socket(), b = udp_socket();
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);  // INCLUDE {s1}
  ASSERT_EQ(ip_member(b, IP_ADD_MEMBERSHIP, kG2), 0);
  ASSERT_EQ(ip_source(b, IP_BLOCK_SOURCE, kG2, kS2), 0);  // EXCLUDE {s2}
  settle(h);
  // INCLUDE {s1} asked about {s1, s3}: IS_IN {s1}.
  h.inject(query_frame(v3_query(0, kG1, {kS1, kS3}), kG1));
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1}}}));
  // ... about {s3}: nothing wanted, no record (and so no report).
  h.inject(query_frame(v3_query(0, kG1, {kS3}), kG1));
  run_for(h, 1100ms);
  EXPECT_TRUE(igmp_sent(h).empty());
  // EXCLUDE {s2} asked about {s1, s2}: IS_IN {s1} (what is not excluded).
  h.inject(query_frame(v3_query(0, kG2, {kS1, kS2}), kG2));
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG2, {kS1}}}));
  EXPECT_EQ(h.shard().stats.igmp_in_queries, 3u);

  // Two pending queries about one group: one answer about the sources of both.
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  settle(h);
  h.inject(query_frame(v3_query(50, kG1, {kS1}), kG1));  // 5 s
  h.inject(query_frame(v3_query(50, kG1, {kS2, kS3}), kG1));
  run_for(h, 5100ms);
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1, kS2}}}));
  // A pending group-specific answer stays about the whole group.
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS3), 0);
  settle(h);
  h.inject(query_frame(v3_query(50, kG1), kG1));
  h.inject(query_frame(v3_query(50, kG1, {kS2}), kG1));
  run_for(h, 5100ms);
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1, kS2, kS3}}}));
  // ... and a group-and-source-specific one, then a group-specific one: the whole group.
  h.inject(query_frame(v3_query(50, kG1, {kS2}), kG1));
  h.inject(query_frame(v3_query(50, kG1), kG1));
  run_for(h, 5100ms);
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1, kS2, kS3}}}));

  // More than 64 sources queried: the group's whole state. In one query, or gathered from two.
  h.inject(query_frame(v3_query(0, kG2, many_sources(65, 1)), kG2));
  EXPECT_EQ(sent_records(h), (Records{{kIsEx, kG2, {kS2}}}));
  h.inject(query_frame(v3_query(50, kG2, many_sources(40, 1)), kG2));
  h.inject(query_frame(v3_query(50, kG2, many_sources(30, 2)), kG2));
  run_for(h, 5100ms);
  EXPECT_EQ(sent_records(h), (Records{{kIsEx, kG2, {kS2}}}));
  // 64 are still answered about the sources.
  std::vector<Ipv4Addr> q64 = many_sources(63, 3);
  q64.push_back(kS2);
  h.inject(query_frame(v3_query(0, kG2, q64), kG2));
  auto rs = records(igmp_sent(h));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].type, kIsIn);
  EXPECT_EQ(rs[0].srcs, many_sources(63, 3));
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  for (int fd : {a, b}) skiff_close(fd);
}

TEST(IgmpSsm, OlderQuerierHearsJoinsAndLeavesOnly) {
  StackHarness h;
  h.inject(query_frame(igmp8(ig::kQuery, 20, Ipv4Addr::any())));  // IGMPv2, 2 s
  const int fd = udp_socket();
  // A source-specific join is a join: a v2 report, to the group, repeated once.
  ASSERT_EQ(ip_source(fd, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].type, ig::kV2Report);
  EXPECT_EQ(rs[0].ip.dst, kG1);
  EXPECT_EQ(rs[0].ip.payload.size(), 8u);
  EXPECT_EQ(rs[0].records, (Records{{ig::kV2Report, kG1, {}}}));
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), (Records{{ig::kV2Report, kG1, {}}}));
  // Source changes: not told.
  ASSERT_EQ(ip_source(fd, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  ASSERT_EQ(ip_source(fd, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  // The same for an EXCLUDE filter: the join is reported, blocking and unblocking are not.
  ASSERT_EQ(ip_member(fd, IP_ADD_MEMBERSHIP, kG2), 0);
  EXPECT_EQ(sent_records(h), (Records{{ig::kV2Report, kG2, {}}}));
  run_for(h, 11s);
  (void)h.sent();
  ASSERT_EQ(ip_source(fd, IP_BLOCK_SOURCE, kG2, kS1), 0);
  ASSERT_EQ(set_msfilter(fd, kG2, MCAST_EXCLUDE, {kS2, kS3}), 0);
  ASSERT_EQ(ip_source(fd, IP_UNBLOCK_SOURCE, kG2, kS3), 0);
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  // Nor is a mode change of a group the host stays in.
  ASSERT_EQ(set_msfilter(fd, kG2, MCAST_INCLUDE, {kS1}), 0);
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  // Leaving (the last source dropped) is a leave, to all-routers.
  ASSERT_EQ(ip_source(fd, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].records, (Records{{ig::kV2Leave, kG1, {}}}));
  EXPECT_EQ(rs[0].ip.dst, ig::kAllRouters);
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  skiff_close(fd);
}

TEST(IgmpSsm, MalformedGroupAndSourceQueryIsDropped) {
  StackHarness h;
  const int fd = udp_socket();
  ASSERT_EQ(ip_source(fd, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  settle(h);
  // Number of Sources says 5, one is there.
  h.inject(query_frame(v3_query(0, kG1, {kS1}, 5), kG1));
  EXPECT_EQ(h.drops(Drop::IgmpTruncated), 1u);
  // ... 2, one is there.
  h.inject(query_frame(v3_query(0, kG1, {kS1}, 2), kG1));
  EXPECT_EQ(h.drops(Drop::IgmpTruncated), 2u);
  // ... 65 (the whole-group answer's threshold), 64 there.
  h.inject(query_frame(v3_query(0, kG1, many_sources(64, 1), 65), kG1));
  EXPECT_EQ(h.drops(Drop::IgmpTruncated), 3u);
  EXPECT_EQ(h.shard().stats.igmp_in_queries, 0u);
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  // A well-formed one is answered.
  h.inject(query_frame(v3_query(0, kG1, {kS1}), kG1));
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1}}}));
  skiff_close(fd);
}

// Two shards: each filter change is every shard's, every shard filters alike, and only shard 0 reports.
TEST(IgmpSsm, ShardsHoldOneHostWideFilter) {
  MultiHarness h;
  const Ipv4Addr g = kG1;
  const Ipv4Addr kA = MultiHarness::kA;
  constexpr uint16_t kPort = 5400;
  int rx[2];
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    rx[s] = udp_socket();
    const int yes = 1;
    ASSERT_EQ(skiff_setsockopt(rx[s], SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes), 0);
    const sockaddr_in any = sock::sin(Ipv4Addr::any(), kPort);
    ASSERT_EQ(skiff_bind(rx[s], sock::sa(any), sizeof any), 0) << strerror(errno);
  }
  // Every shard of b: whether it takes each of these sources, and the same counts.
  auto expect_accepts = [&](std::vector<Ipv4Addr> yes, std::vector<Ipv4Addr> no, const char* when) {
    for (unsigned s = 0; s < 2; ++s) {
      for (Ipv4Addr a : yes)
        EXPECT_TRUE(h.b(s).mc.accepts(0, g, a)) << when << ", shard " << s << ", " << a.to_string();
      for (Ipv4Addr a : no)
        EXPECT_FALSE(h.b(s).mc.accepts(0, g, a)) << when << ", shard " << s << ", " << a.to_string();
    }
    const McTable::Group* e0 = h.b(0).mc.find(0, g);
    const McTable::Group* e1 = h.b(1).mc.find(0, g);
    ASSERT_EQ(e0 && e0->member(), e1 && e1->member()) << when;
    if (!e0 || !e1 || !e0->member()) return;
    EXPECT_EQ(e0->sfcount[0], e1->sfcount[0]) << when;
    EXPECT_EQ(e0->sfcount[1], e1->sfcount[1]) << when;
    EXPECT_EQ(e0->mode(), e1->mode()) << when;
    EXPECT_EQ(e0->state_sources(), e1->state_sources()) << when;
  };
  // Sends from a to the group (a's shard 0) and reports how many datagrams each of b's sockets got.
  auto send = [&](int n) {
    h.on(h.a(0));
    const int tx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    in_addr ia{htonl(kA.host())};
    EXPECT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), 0);
    const sockaddr_in to = sock::sin(g, kPort);
    for (int i = 0; i < n; ++i) EXPECT_EQ(skiff_sendto(tx, "ssm", 3, 0, sock::sa(to), sizeof to), 3);
    h.pump();
    skiff_close(tx);
    std::vector<int> got(2);
    for (unsigned s = 0; s < 2; ++s) {
      h.on(h.b(s));
      char buf[16];
      while (skiff_recv(rx[s], buf, sizeof buf, MSG_DONTWAIT) == 3) ++got[s];
    }
    return got;
  };
  auto filtered = [&] {
    return h.b(0).drops[Drop::Ipv4McSourceFiltered] + h.b(1).drops[Drop::Ipv4McSourceFiltered];
  };

  // Shard 1: INCLUDE {s1}. a (not s1) is filtered out by the host, on whichever shard it arrives.
  h.on(h.b(1));
  ASSERT_EQ(ip_source(rx[1], IP_ADD_SOURCE_MEMBERSHIP, g, kS1), 0);
  h.pump();
  expect_accepts({kS1}, {kS2, kA}, "INCLUDE {s1} on shard 1");
  EXPECT_EQ(h.b(0).stats.igmp_out_reports, 1u);  // ALLOW {s1}, by shard 0
  EXPECT_EQ(h.b(1).stats.igmp_out_reports, 0u);
  EXPECT_EQ(send(2), (std::vector<int>{0, 0}));
  EXPECT_EQ(filtered(), 2u);

  // Shard 0: any-source (EXCLUDE {}): the host takes everything; shard 1's socket still only s1.
  h.on(h.b(0));
  ASSERT_EQ(ip_member(rx[0], IP_ADD_MEMBERSHIP, g), 0);
  h.pump();
  expect_accepts({kS1, kS2, kS3, kA}, {}, "and EXCLUDE {} on shard 0");
  EXPECT_EQ(send(2), (std::vector<int>{2, 0}));
  EXPECT_EQ(filtered(), 2u);

  // Shard 0 blocks a and s2; shard 1 adds s2: the host excludes a alone.
  h.on(h.b(0));
  ASSERT_EQ(ip_source(rx[0], IP_BLOCK_SOURCE, g, kA), 0);
  ASSERT_EQ(ip_source(rx[0], IP_BLOCK_SOURCE, g, kS2), 0);
  h.on(h.b(1));
  ASSERT_EQ(ip_source(rx[1], IP_ADD_SOURCE_MEMBERSHIP, g, kS2), 0);
  h.pump();
  expect_accepts({kS1, kS2, kS3}, {kA}, "shard 0 EXCLUDE {a, s2}, shard 1 INCLUDE {s1, s2}");
  EXPECT_EQ(h.b(0).mc.find(0, g)->state_sources(), (std::vector<Ipv4Addr>{kA}));
  EXPECT_EQ(send(1), (std::vector<int>{0, 0}));
  EXPECT_EQ(filtered(), 3u);

  // Shard 1 includes a: the host takes it, shard 1's socket gets it, shard 0's (blocking it) not.
  h.on(h.b(1));
  ASSERT_EQ(ip_source(rx[1], IP_ADD_SOURCE_MEMBERSHIP, g, kA), 0);
  h.pump();
  expect_accepts({kS1, kS2, kS3, kA}, {}, "shard 1 includes a");
  EXPECT_EQ(send(1), (std::vector<int>{0, 1}));
  EXPECT_EQ(filtered(), 3u);

  // Shard 0's socket goes: INCLUDE {s1, s2, a}.
  h.on(h.b(0));
  skiff_close(rx[0]);
  h.pump();
  expect_accepts({kS1, kS2, kA}, {kS3}, "shard 0's socket closed");
  // Shard 1's: nothing.
  h.on(h.b(1));
  skiff_close(rx[1]);
  h.pump();
  expect_accepts({}, {kS1, kS2, kA}, "both closed");
  EXPECT_EQ(h.b(1).stats.igmp_out_reports, 0u);  // shard 0 alone spoke IGMP throughout
  EXPECT_GT(h.b(0).stats.igmp_out_reports, 1u);
}

namespace {

// The v3 reports of a general query's answer: each within the MTU (1500 less the 24-byte IP header with
// Router Alert), its records read.
std::vector<Report> general_answer(StackHarness& h) {
  h.inject(query_frame(v3_query(10)));  // 1 s
  run_for(h, 1100ms);
  auto rs = igmp_sent(h);
  for (const auto& r : rs) {
    EXPECT_EQ(r.type, ig::kV3Report);
    EXPECT_LE(r.ip.payload.size(), 1476u);
    EXPECT_LE(r.ip.total_len, 1500u);
  }
  return rs;
}

// Joins `g` on `fd` with EXCLUDE `srcs` (IP_ADD_MEMBERSHIP, then IP_MSFILTER).
void join_excluding(int fd, Ipv4Addr g, const std::vector<Ipv4Addr>& srcs) {
  ASSERT_EQ(ip_member(fd, IP_ADD_MEMBERSHIP, g), 0);
  ASSERT_EQ(set_msfilter(fd, g, MCAST_EXCLUDE, srcs), 0);
}

}  // namespace

// Every record the same size (48 bytes: EXCLUDE with 10 sources), so whatever order the groups come in, the
// 31st does not fit the first report (8 + 30 x 48 = 1448 of 1476 bytes): it starts the next report whole
// instead of being cut to the 5 sources that would fit (Linux's add_grec).
TEST(IgmpSsm, ExcludeRecordThatDoesNotFitStartsTheNextReportWhole) {
  StackHarness h;
  constexpr int kGroups = 40;
  std::vector<int> fds;
  for (int s = 0; s < 2; ++s) fds.push_back(udp_socket());
  auto group = [](int i) { return Ipv4Addr::of(239, 10, 0, static_cast<uint8_t>(i + 1)); };
  for (int i = 0; i < kGroups; ++i)
    join_excluding(fds[i / 20], group(i), many_sources(10, static_cast<uint8_t>(i)));
  settle(h);
  const auto rs = general_answer(h);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].records.size(), 30u);
  EXPECT_EQ(rs[0].ip.payload.size(), 8u + 30 * 48);
  EXPECT_EQ(rs[1].records.size(), 10u);
  Records want;
  for (int i = 0; i < kGroups; ++i)
    want.push_back({kIsEx, group(i), many_sources(10, static_cast<uint8_t>(i))});
  std::sort(want.begin(), want.end(), [](const Record& a, const Record& b) { return a.group < b.group; });
  EXPECT_EQ(records(rs), want);
  for (int fd : fds) skiff_close(fd);
}

// A host in many groups: 181, one in five EXCLUDE {10 sources} (48-byte records), the rest any-source
// (EXCLUDE {}, 8 bytes), 2888 bytes of records in all. The answer takes two reports, each within the MTU,
// and every IS_EX record carries all its sources wherever the groups' order puts it. (The order is the
// group table's; with these groups an EXCLUDE record meets the end of the first report with room for only
// part of its sources, where it must start the next report rather than be cut short. The test above makes
// that happen in any order.)
TEST(IgmpSsm, ManyGroupsAnswerInReportsWithinTheMtuAndExcludeRecordsWhole) {
  StackHarness h;
  constexpr int kGroups = 181, kEvery = 5;
  std::vector<int> fds;
  Records want;
  size_t excluding_groups = 0;
  for (int i = 0; i < kGroups; ++i) {
    if (i % 20 == 0) fds.push_back(udp_socket());  // (at most 20 groups a socket)
    const Ipv4Addr g = Ipv4Addr::of(239, 20, 0, static_cast<uint8_t>(i + 1));
    if (i % kEvery == kEvery / 2) {
      const auto srcs = many_sources(10, static_cast<uint8_t>(i));
      join_excluding(fds.back(), g, srcs);
      want.push_back({kIsEx, g, srcs});
      ++excluding_groups;
    } else {
      ASSERT_EQ(ip_member(fds.back(), IP_ADD_MEMBERSHIP, g), 0);
      want.push_back({kIsEx, g, {}});
    }
  }
  ASSERT_EQ(excluding_groups, 36u);
  settle(h);
  const auto rs = general_answer(h);
  ASSERT_EQ(rs.size(), 2u);
  size_t excluding = 0;
  for (const auto& r : rs)
    for (const auto& x : r.records) {
      EXPECT_EQ(x.type, kIsEx);
      if (!x.srcs.empty()) {
        ++excluding;
        EXPECT_EQ(x.srcs.size(), 10u) << x.group.to_string();
      }
    }
  EXPECT_EQ(excluding, excluding_groups);
  EXPECT_EQ(rs[0].ip.payload.size() + rs[1].ip.payload.size(), 2u * 8 + 2888);
  EXPECT_EQ(records(rs), want);  // (groups in order already)
  for (int fd : fds) skiff_close(fd);
}

// A group-and-source-specific answer (about {s1}) and a general answer due in one pass: the group's record
// is its whole state, IS_IN {s1, s2}, not the IS_IN {s1} of the narrower query (RFC 3376 §5.2: the general
// answer tells every group's current state).
TEST(IgmpSsm, GeneralAnswerDueWithAGroupAndSourceAnswerTellsTheWholeState) {
  StackHarness h;
  const int a = udp_socket(), b = udp_socket();
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  ASSERT_EQ(ip_member(b, IP_ADD_MEMBERSHIP, kG2), 0);
  settle(h);
  h.inject(query_frame(v3_query(100, kG1, {kS1}), kG1));  // within 10 s
  ASSERT_TRUE(igmp_sent(h).empty());
  const McTable::Group* e = h.shard().mc.find(0, kG1);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->answer_at.has_value());
  ASSERT_TRUE(e->answer_gs);
  // The clock passes that answer's time with no timer pass in between; then a general query with Max Resp
  // Code 0, answered at once: both answers are due in the pass it runs.
  h.clock().advance(10s);
  h.inject(query_frame(v3_query(0)));
  auto rs = igmp_sent(h);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(records(rs), (Records{{kIsIn, kG1, {kS1, kS2}}, {kIsEx, kG2, {}}}));
  // Nothing was left pending.
  run_for(h, 11s);
  EXPECT_EQ(sent_records(h), Records{});
  // The control: the group-and-source query alone is answered about {s1}.
  h.inject(query_frame(v3_query(0, kG1, {kS1}), kG1));
  EXPECT_EQ(sent_records(h), (Records{{kIsIn, kG1, {kS1}}}));
  for (int fd : {a, b}) skiff_close(fd);
}

// IP_MSFILTER may list a source twice (kept so, as Linux); host-wide it counts once. Socket a: EXCLUDE
// {s1, s1}; b: any-source (EXCLUDE {}). s1 is not excluded by every excluding socket, so the host takes it:
// b gets it, a (by its own filter) not, and the interface state is EXCLUDE {}.
TEST(IgmpSsm, SourceListedTwiceInOneFilterCountsOnceHostWide) {
  StackHarness h;
  constexpr uint16_t kPort = 5500;
  auto bound = [&] {
    const int fd = udp_socket();
    const int yes = 1;
    EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes), 0);
    const sockaddr_in any = sock::sin(Ipv4Addr::any(), kPort);
    EXPECT_EQ(skiff_bind(fd, sock::sa(any), sizeof any), 0) << strerror(errno);
    return fd;
  };
  const int a = bound(), b = bound();
  join_excluding(a, kG1, {kS1, kS1});
  const Filter f = get_msfilter(a, kG1);
  ASSERT_EQ(f.rc, 0);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.srcs, (std::vector<Ipv4Addr>{kS1, kS1}));
  ASSERT_EQ(ip_member(b, IP_ADD_MEMBERSHIP, kG1), 0);
  settle(h);
  const McTable::Group* e = h.shard().mc.find(0, kG1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mode(), McTable::kEx);
  EXPECT_EQ(e->state_sources(), std::vector<Ipv4Addr>{});
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS1));

  const Bytes payload{'s', '1'};
  h.inject(udp_to_group(kG1, kPort, kS1, payload));
  Bytes got;
  sockaddr_in from{};
  EXPECT_EQ(recv_dgram(b, &got, &from), 2);
  EXPECT_EQ(got, payload);
  EXPECT_EQ(Ipv4Addr(ntohl(from.sin_addr.s_addr)), kS1);
  EXPECT_EQ(recv_dgram(a), -1);  // its own filter excludes s1
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 0u);
  EXPECT_EQ(records(general_answer(h)), (Records{{kIsEx, kG1, {}}}));

  // b leaves: a alone excludes s1, so the host does (BLOCK {s1}) and drops it.
  ASSERT_EQ(ip_member(b, IP_DROP_MEMBERSHIP, kG1), 0);
  run_for(h, 2s);
  EXPECT_EQ(sent_records(h), times(2, {kBlock, kG1, {kS1}}));
  EXPECT_EQ(h.shard().mc.find(0, kG1)->state_sources(), (std::vector<Ipv4Addr>{kS1}));
  h.inject(udp_to_group(kG1, kPort, kS1, payload));
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);
  EXPECT_EQ(recv_dgram(a), -1);
  EXPECT_EQ(recv_dgram(b), -1);
  // b back, then a gone (its two entries taken out as one): EXCLUDE {}, s1 taken.
  ASSERT_EQ(ip_member(b, IP_ADD_MEMBERSHIP, kG1), 0);
  skiff_close(a);
  settle(h);
  e = h.shard().mc.find(0, kG1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sfcount[McTable::kEx], 1u);
  EXPECT_EQ(e->state_sources(), std::vector<Ipv4Addr>{});
  h.inject(udp_to_group(kG1, kPort, kS1, payload));
  EXPECT_EQ(recv_dgram(b), 2);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);
  h.inject(query_frame(v3_query(0, kG1), kG1));
  EXPECT_EQ(sent_records(h), (Records{{kIsEx, kG1, {}}}));
  skiff_close(b);
}
