// IPv4 source-specific multicast filters (RFC 3678) through the socket API: every errno as Linux's (measured
// on a Linux kernel; interface index 1 is Skiff's first port), filters read back by getsockopt, and what
// datagrams each socket and the host take from which source (Linux's ip_check_mc_rcu / ip_mc_sf_allow).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../sock/sock_test_util.hh"
#include "api/skiff.h"
#include "igmp_test_util.hh"
#include "ipv4/igmp.hh"
#include "stack_harness.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::mc;
using skiff::test::sock::sa;
using skiff::test::sock::sin;

namespace {

// One call of a scripted sequence: what it was, its result (0 or the errno) and Linux's. The steps of one
// braced list run in order (list-initialization evaluates its elements left to right).
struct Step {
  std::string what;
  int got;
  int want;
};
std::string ename(int e) {
  const char* n = e ? strerrorname_np(e) : "0";
  return n ? n : std::to_string(e);
}
void expect_steps(const std::vector<Step>& steps) {
  for (const Step& s : steps)
    EXPECT_EQ(s.got, s.want) << s.what << ": got " << ename(s.got) << ", Linux " << ename(s.want);
}

std::vector<Ipv4Addr> sources(int n, uint8_t first = 10) {
  std::vector<Ipv4Addr> v;
  for (int i = 0; i < n; ++i) v.push_back(Ipv4Addr::of(192, 0, 2, static_cast<uint8_t>(first + i)));
  return v;
}

// getsockopt(MCAST_MSFILTER): a struct group_filter with room for `room` sources (gf_numsrc), `len` bytes
// (0: just enough).
struct GfGot {
  int rc = -1;
  socklen_t optlen = 0;
  uint32_t fmode = 99, numsrc = 99;
  std::vector<Ipv4Addr> srcs;
  std::vector<sa_family_t> families;
};
GfGot get_group_filter(int fd, Ipv4Addr g, uint32_t room, socklen_t len = 0, uint32_t ifindex = 1,
                       sa_family_t family = AF_INET) {
  const size_t buf_room =
      std::max<size_t>(room, len > kGfSize0 ? (len - kGfSize0) / sizeof(sockaddr_storage) : 0);
  Bytes b = group_filter_of(g, ifindex, 77, {}, buf_room, family);
  set_gf_numsrc(b, room);
  GfGot r;
  r.optlen = len ? len : static_cast<socklen_t>(kGfSize0 + sizeof(sockaddr_storage) * room);
  EXPECT_LE(r.optlen, b.size());
  r.rc = err(skiff_getsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, b.data(), &r.optlen));
  if (r.rc) return r;
  group_filter h;
  memcpy(&h, b.data(), kGfSize0);
  r.fmode = h.gf_fmode;
  r.numsrc = h.gf_numsrc;
  for (size_t off = kGfSize0; off < r.optlen; off += sizeof(sockaddr_storage)) {
    sockaddr_in s;
    memcpy(&s, b.data() + off, sizeof s);
    r.families.push_back(s.sin_family);
    r.srcs.emplace_back(ntohl(s.sin_addr.s_addr));
  }
  return r;
}
int set_group_filter(int fd, const Bytes& b, socklen_t len = 0) {
  return err(skiff_setsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, b.data(),
                              len ? len : static_cast<socklen_t>(b.size())));
}

// A UDP socket bound to *:port that shares the port (SO_REUSEADDR), IP_MULTICAST_ALL as told.
int udp_on(uint16_t port, bool mc_all = true) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  const int yes = 1, all = mc_all;
  EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes), 0);
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &all, sizeof all), 0);
  const sockaddr_in a = sin(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, sa(a), sizeof a), 0) << strerror(errno);
  return fd;
}

// The sources whose datagrams `fd` has queued (each payload is its sender's address, as text), in order.
std::vector<Ipv4Addr> received_from(int fd) {
  std::vector<Ipv4Addr> v;
  Bytes got;
  sockaddr_in from{};
  while (recv_dgram(fd, &got, &from) >= 0) {
    EXPECT_EQ(std::string(got.begin(), got.end()), sock::addr_of(from).to_string());
    v.push_back(sock::addr_of(from));
  }
  return v;
}

void send_from(StackHarness& h, Ipv4Addr g, uint16_t port, Ipv4Addr src) {
  const std::string s = src.to_string();
  h.inject(udp_to_group(g, port, src, Bytes(s.begin(), s.end())));
}

using Srcs = std::vector<Ipv4Addr>;

}  // namespace

TEST(McFilter, IpSourceOptionsAsLinux) {
  StackHarness h;
  const int u = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  const ip_mreq_source m = mreq_source(kG1, kS1);
  struct {
    ip_mreq_source m;
    uint32_t extra;
  } longer{m, 0};
  expect_steps({
      {"IP_BLOCK_SOURCE, group not joined", ip_source(u, IP_BLOCK_SOURCE, kG1, kS1), EINVAL},
      {"IP_ADD_SOURCE_MEMBERSHIP, optlen 8",
       err(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, 8)), EINVAL},
      {"IP_ADD_SOURCE_MEMBERSHIP, optlen 16",
       err(skiff_setsockopt(u, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &longer, 16)), EINVAL},
      {"IP_ADD_SOURCE_MEMBERSHIP, non-multicast group", ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kUnicast, kS1),
       EINVAL},
      {"IP_ADD_SOURCE_MEMBERSHIP, unknown interface", ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1, kNoIf),
       ENODEV},
      {"IP_ADD_SOURCE_MEMBERSHIP g,s1", ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0},
      {"IP_ADD_SOURCE_MEMBERSHIP g,s1 again", ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1),
       EADDRNOTAVAIL},
      {"IP_ADD_SOURCE_MEMBERSHIP g,s2", ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0},
  });
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS1));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS2));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS3));

  // IP_MSFILTER read back: the mode, how many sources in all, as many as the caller asked for.
  Filter f = get_msfilter(u, kG1, 10);
  ASSERT_EQ(f.rc, 0) << ename(f.rc);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(f.numsrc, 2u);
  EXPECT_EQ(f.optlen, kMsfSize0 + 8);
  EXPECT_EQ(f.srcs, (Srcs{kS1, kS2}));
  f = get_msfilter(u, kG1, 1, kMsfSize0 + 40);  // (room for more in the buffer: imsf_numsrc decides)
  EXPECT_EQ(f.rc, 0);
  EXPECT_EQ(f.numsrc, 2u);  // the actual count, though one was copied
  EXPECT_EQ(f.optlen, kMsfSize0 + 4);
  EXPECT_EQ(f.srcs, (Srcs{kS1}));
  f = get_msfilter(u, kG1, 0, kMsfSize0 + 40);
  EXPECT_EQ(f.rc, 0);
  EXPECT_EQ(f.numsrc, 2u);
  EXPECT_EQ(f.optlen, kMsfSize0);
  EXPECT_EQ(get_msfilter(u, kG1, 0, kMsfSize0 - 1).rc, EINVAL);
  EXPECT_EQ(get_msfilter(u, kG2, 10).rc, EADDRNOTAVAIL);
  EXPECT_EQ(get_msfilter(u, kUnicast, 10).rc, EINVAL);

  expect_steps({
      {"IP_ADD_MEMBERSHIP on a source-specific membership", ip_member(u, IP_ADD_MEMBERSHIP, kG1), EADDRINUSE},
      {"IP_BLOCK_SOURCE on INCLUDE {s1,s2}", ip_source(u, IP_BLOCK_SOURCE, kG1, kS3), EINVAL},
      {"IP_UNBLOCK_SOURCE on INCLUDE {s1,s2}", ip_source(u, IP_UNBLOCK_SOURCE, kG1, kS1), EINVAL},
      {"IP_DROP_SOURCE_MEMBERSHIP s3 (not listed)", ip_source(u, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS3),
       EADDRNOTAVAIL},
      {"IP_DROP_SOURCE_MEMBERSHIP s2", ip_source(u, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS2), 0},
  });
  f = get_msfilter(u, kG1, 10);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(f.srcs, (Srcs{kS1}));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS2));
  // Dropping the last source of an INCLUDE filter leaves the group.
  EXPECT_EQ(ip_source(u, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  EXPECT_EQ(get_msfilter(u, kG1, 10).rc, EADDRNOTAVAIL);
  EXPECT_EQ(ip_member(u, IP_DROP_MEMBERSHIP, kG1), EADDRNOTAVAIL);
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS1));

  // igmp_max_msf: ten sources per membership; the eleventh is ENOBUFS.
  for (Ipv4Addr s : sources(10))
    ASSERT_EQ(ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG2, s), 0) << s.to_string();
  EXPECT_EQ(ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG2, kS1), ENOBUFS);
  f = get_msfilter(u, kG2, 20);
  EXPECT_EQ(f.numsrc, 10u);
  EXPECT_EQ(f.srcs, sources(10));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG2, kS1));
  skiff_close(u);
}

TEST(McFilter, AnySourceMembershipTakesSourcesAsLinux) {
  StackHarness h;
  // An any-source membership (EXCLUDE {}) that never had a list becomes INCLUDE by IP_ADD_SOURCE_MEMBERSHIP.
  const int a = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(ip_member(a, IP_ADD_MEMBERSHIP, kG1), 0);
  Filter f = get_msfilter(a, kG1);
  ASSERT_EQ(f.rc, 0);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.numsrc, 0u);
  EXPECT_EQ(f.optlen, kMsfSize0);
  EXPECT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  f = get_msfilter(a, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(f.srcs, (Srcs{kS1}));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS2));  // the host's only member now takes s1 alone

  const int b = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  expect_steps({
      {"IP_ADD_MEMBERSHIP", ip_member(b, IP_ADD_MEMBERSHIP, kG1), 0},
      {"IP_UNBLOCK_SOURCE s1 (not blocked)", ip_source(b, IP_UNBLOCK_SOURCE, kG1, kS1), EADDRNOTAVAIL},
      {"IP_BLOCK_SOURCE s1", ip_source(b, IP_BLOCK_SOURCE, kG1, kS1), 0},
      {"IP_BLOCK_SOURCE s1 again", ip_source(b, IP_BLOCK_SOURCE, kG1, kS1), EADDRNOTAVAIL},
      {"IP_ADD_SOURCE_MEMBERSHIP s2 on EXCLUDE {s1}", ip_source(b, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2),
       EINVAL},
      {"IP_DROP_SOURCE_MEMBERSHIP s1 on EXCLUDE {s1}", ip_source(b, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS1),
       EINVAL},
  });
  f = get_msfilter(b, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.srcs, (Srcs{kS1}));
  // The host: a includes s1, b excludes only s1: everything.
  for (Ipv4Addr s : {kS1, kS2, kS3}) EXPECT_TRUE(h.shard().mc.accepts(0, kG1, s)) << s.to_string();
  EXPECT_EQ(ip_source(b, IP_UNBLOCK_SOURCE, kG1, kS1), 0);
  f = get_msfilter(b, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.numsrc, 0u);
  // A list existed once: no switch to INCLUDE any more.
  EXPECT_EQ(ip_source(b, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), EINVAL);
  EXPECT_EQ(get_msfilter(b, kG1).fmode, uint32_t{MCAST_EXCLUDE});
  skiff_close(a);
  skiff_close(b);
}

TEST(McFilter, MsfilterSetAsLinux) {
  StackHarness h;
  const int u = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  expect_steps({
      {"IP_MSFILTER INCLUDE {s1}, not joined", set_msfilter(u, kG1, MCAST_INCLUDE, {kS1}), EINVAL},
      {"IP_MSFILTER INCLUDE {}, never joined", set_msfilter(u, kG1, MCAST_INCLUDE, {}), EADDRNOTAVAIL},
      {"IP_ADD_MEMBERSHIP", ip_member(u, IP_ADD_MEMBERSHIP, kG1), 0},
      {"IP_MSFILTER fmode 3", set_msfilter(u, msfilter(kG1, 3, {kS1})), EINVAL},
      {"IP_MSFILTER optlen 15", set_msfilter(u, msfilter(kG1, MCAST_EXCLUDE, {kS1}), 15), EINVAL},
      {"IP_MSFILTER numsrc 2, room for 1", set_msfilter(u, msfilter(kG1, MCAST_EXCLUDE, {kS1}, kOur, 2)),
       EINVAL},
      {"IP_MSFILTER 11 sources", set_msfilter(u, kG1, MCAST_EXCLUDE, sources(11)), ENOBUFS},
      {"IP_MSFILTER non-multicast group", set_msfilter(u, kUnicast, MCAST_EXCLUDE, {kS1}), EINVAL},
      {"IP_MSFILTER unknown interface", set_msfilter(u, msfilter(kG1, MCAST_EXCLUDE, {kS1}, kNoIf)), ENODEV},
  });
  // None of the failures changed the filter.
  Filter f = get_msfilter(u, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.numsrc, 0u);

  EXPECT_EQ(set_msfilter(u, kG1, MCAST_EXCLUDE, {kS1, kS2}), 0);
  f = get_msfilter(u, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.srcs, (Srcs{kS1, kS2}));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS1));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS2));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS3));
  // Ten sources are allowed.
  EXPECT_EQ(set_msfilter(u, kG1, MCAST_EXCLUDE, sources(10)), 0);
  EXPECT_EQ(get_msfilter(u, kG1).numsrc, 10u);

  // Duplicates are kept, as Linux keeps them.
  EXPECT_EQ(set_msfilter(u, kG1, MCAST_INCLUDE, {kS1, kS1}), 0);
  f = get_msfilter(u, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(f.numsrc, 2u);
  EXPECT_EQ(f.srcs, (Srcs{kS1, kS1}));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS1));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS3));

  EXPECT_EQ(set_msfilter(u, kG1, MCAST_EXCLUDE, {}), 0);
  f = get_msfilter(u, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(f.numsrc, 0u);
  for (Ipv4Addr s : {kS1, kS2, kS3}) EXPECT_TRUE(h.shard().mc.accepts(0, kG1, s)) << s.to_string();
  const McTable::Group* e = h.shard().mc.find(0, kG1);
  ASSERT_NE(e, nullptr);
  for (const auto& x : e->srcs) EXPECT_EQ(x.count[0] + x.count[1], 0u) << x.addr.to_string();  // no leftovers

  // INCLUDE {} is a leave.
  EXPECT_EQ(set_msfilter(u, kG1, MCAST_INCLUDE, {}), 0);
  EXPECT_EQ(get_msfilter(u, kG1).rc, EADDRNOTAVAIL);
  EXPECT_EQ(ip_member(u, IP_DROP_MEMBERSHIP, kG1), EADDRNOTAVAIL);
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS1));
  skiff_close(u);
}

TEST(McFilter, McastSourceOptionsAsLinux) {
  StackHarness h;
  const int u = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  group_source_req v6group = gsr(kG1, kS1), v6src = gsr(kG1, kS1), idx99 = gsr(kG1, kS1, 99);
  v6group.gsr_group.ss_family = AF_INET6;
  v6src.gsr_source.ss_family = AF_INET6;
  struct {
    group_source_req r;
    uint64_t extra;
  } longer{gsr(kG1, kS1), 0};
  expect_steps({
      {"MCAST_JOIN_SOURCE_GROUP, optlen short",
       mcast_source(u, MCAST_JOIN_SOURCE_GROUP, gsr(kG1, kS1), sizeof(group_source_req) - 1), EINVAL},
      {"MCAST_JOIN_SOURCE_GROUP, optlen long",
       err(skiff_setsockopt(u, IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP, &longer, sizeof longer)), EINVAL},
      {"MCAST_JOIN_SOURCE_GROUP, group AF_INET6", mcast_source(u, MCAST_JOIN_SOURCE_GROUP, v6group),
       EADDRNOTAVAIL},
      {"MCAST_JOIN_SOURCE_GROUP, source AF_INET6", mcast_source(u, MCAST_JOIN_SOURCE_GROUP, v6src),
       EADDRNOTAVAIL},
      {"MCAST_JOIN_SOURCE_GROUP, ifindex 99", mcast_source(u, MCAST_JOIN_SOURCE_GROUP, idx99), ENODEV},
      {"MCAST_JOIN_SOURCE_GROUP, non-multicast group",
       mcast_source(u, MCAST_JOIN_SOURCE_GROUP, gsr(kUnicast, kS1)), EINVAL},
      {"MCAST_JOIN_SOURCE_GROUP g,s1", mcast_source(u, MCAST_JOIN_SOURCE_GROUP, gsr(kG1, kS1)), 0},
      {"MCAST_JOIN_SOURCE_GROUP g,s1 again", mcast_source(u, MCAST_JOIN_SOURCE_GROUP, gsr(kG1, kS1)),
       EADDRNOTAVAIL},
      {"MCAST_BLOCK_SOURCE on INCLUDE", mcast_source(u, MCAST_BLOCK_SOURCE, gsr(kG1, kS2)), EINVAL},
      {"MCAST_UNBLOCK_SOURCE on INCLUDE", mcast_source(u, MCAST_UNBLOCK_SOURCE, gsr(kG1, kS1)), EINVAL},
      {"MCAST_LEAVE_SOURCE_GROUP, group not joined", mcast_source(u, MCAST_LEAVE_SOURCE_GROUP, gsr(kG2, kS1)),
       EINVAL},
      {"MCAST_JOIN_GROUP g2", mcast_group(u, MCAST_JOIN_GROUP, kG2), 0},
      {"MCAST_BLOCK_SOURCE g2,s2", mcast_source(u, MCAST_BLOCK_SOURCE, gsr(kG2, kS2)), 0},
  });
  // The same membership by the other interface naming: IP_MSFILTER by address sees it.
  Filter f = get_msfilter(u, kG1);
  EXPECT_EQ(f.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(f.srcs, (Srcs{kS1}));

  // MCAST_MSFILTER read back: GROUP_FILTER_SIZE(copied) bytes.
  GfGot g = get_group_filter(u, kG2, 2);
  ASSERT_EQ(g.rc, 0) << ename(g.rc);
  EXPECT_EQ(g.optlen, kGfSize0 + sizeof(sockaddr_storage));
  EXPECT_EQ(g.optlen, 272u);
  EXPECT_EQ(g.fmode, uint32_t{MCAST_EXCLUDE});
  EXPECT_EQ(g.numsrc, 1u);
  EXPECT_EQ(g.srcs, (Srcs{kS2}));
  EXPECT_EQ(g.families, (std::vector<sa_family_t>{AF_INET}));
  g = get_group_filter(u, kG1, 2);
  EXPECT_EQ(g.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(g.srcs, (Srcs{kS1}));
  g = get_group_filter(u, kG2, 0, kGfSize0 + 2 * sizeof(sockaddr_storage));  // gf_numsrc decides
  EXPECT_EQ(g.rc, 0);
  EXPECT_EQ(g.optlen, kGfSize0);
  EXPECT_EQ(g.numsrc, 1u);
  EXPECT_EQ(get_group_filter(u, kG2, 0, kGfSize0 - 1).rc, EINVAL);
  EXPECT_EQ(get_group_filter(u, kG3, 2).rc, EADDRNOTAVAIL);
  EXPECT_EQ(get_group_filter(u, kG2, 2, 0, 1, AF_INET6).rc, EINVAL);
  EXPECT_EQ(get_group_filter(u, kG2, 2, 0, 99).rc, EADDRNOTAVAIL);
  EXPECT_EQ(get_group_filter(u, kUnicast, 2).rc, EINVAL);

  Bytes v6g = group_filter_of(kG2, 1, MCAST_INCLUDE, {kS1}, 0, AF_INET6);
  Bytes v6s = group_filter_of(kG2, 1, MCAST_INCLUDE, {kS1, kS3});
  reinterpret_cast<sockaddr_storage*>(v6s.data() + kGfSize0 + sizeof(sockaddr_storage))->ss_family = AF_INET6;
  expect_steps({
      {"MCAST_MSFILTER 11 sources", set_group_filter(u, group_filter_of(kG2, 1, MCAST_INCLUDE, sources(11))),
       ENOBUFS},
      {"MCAST_MSFILTER group AF_INET6", set_group_filter(u, v6g), EADDRNOTAVAIL},
      {"MCAST_MSFILTER a source AF_INET6", set_group_filter(u, v6s), EADDRNOTAVAIL},
      {"MCAST_MSFILTER ifindex 99", set_group_filter(u, group_filter_of(kG2, 99, MCAST_INCLUDE, {kS1})),
       ENODEV},
      {"MCAST_MSFILTER optlen 200, numsrc 1",
       set_group_filter(u, group_filter_of(kG2, 1, MCAST_INCLUDE, {kS1}), 200), EINVAL},
      {"MCAST_MSFILTER INCLUDE {s1}", set_group_filter(u, group_filter_of(kG2, 1, MCAST_INCLUDE, {kS1})), 0},
  });
  g = get_group_filter(u, kG2, 4);
  EXPECT_EQ(g.fmode, uint32_t{MCAST_INCLUDE});
  EXPECT_EQ(g.srcs, (Srcs{kS1}));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG2, kS1));
  EXPECT_FALSE(h.shard().mc.accepts(0, kG2, kS2));
  // Leaving the last source leaves the group.
  EXPECT_EQ(mcast_source(u, MCAST_LEAVE_SOURCE_GROUP, gsr(kG1, kS1)), 0);
  EXPECT_EQ(get_group_filter(u, kG1, 2).rc, EADDRNOTAVAIL);
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS1));
  skiff_close(u);
}

TEST(McFilter, StreamSocketsGetEproto) {
  StackHarness h;
  const int t = skiff_socket(AF_INET, SOCK_STREAM, 0);
  for (int opt : {IP_ADD_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE, IP_UNBLOCK_SOURCE})
    EXPECT_EQ(ip_source(t, opt, kG1, kS1), EPROTO) << opt;
  for (int opt :
       {MCAST_JOIN_SOURCE_GROUP, MCAST_LEAVE_SOURCE_GROUP, MCAST_BLOCK_SOURCE, MCAST_UNBLOCK_SOURCE})
    EXPECT_EQ(mcast_source(t, opt, gsr(kG1, kS1)), EPROTO) << opt;
  EXPECT_EQ(set_msfilter(t, kG1, MCAST_EXCLUDE, {kS1}), EPROTO);
  EXPECT_EQ(set_group_filter(t, group_filter_of(kG1, 1, MCAST_INCLUDE, {kS1})), EPROTO);
  EXPECT_TRUE(h.shard().mc.groups.empty());
  skiff_close(t);
}

TEST(McFilter, UdpSocketsTakeWhatTheirFiltersAllow) {
  StackHarness h;
  constexpr uint16_t kPort = 6000;
  const int inc = udp_on(kPort), exc = udp_on(kPort), other = udp_on(kPort), strict = udp_on(kPort, false);
  // inc: INCLUDE {s1}, the host's only member.
  ASSERT_EQ(ip_source(inc, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  for (Ipv4Addr s : {kS1, kS2, kS3}) send_from(h, kG1, kPort, s);
  EXPECT_EQ(received_from(inc), (Srcs{kS1}));
  EXPECT_EQ(received_from(other), (Srcs{kS1}));        // no member, IP_MULTICAST_ALL: what the host took
  EXPECT_EQ(received_from(exc), (Srcs{kS1}));          // (no member yet either)
  EXPECT_EQ(received_from(strict), Srcs{});            // no member, IP_MULTICAST_ALL off
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 2u);  // s2 and s3: no socket of the host wants them
  EXPECT_EQ(h.drops(Drop::Ipv4McNotJoined), 0u);

  // exc: EXCLUDE {s2}; inc adds s2. The host takes every source now (inc wants the one exc excludes), each
  // member socket only what its own filter lets through.
  ASSERT_EQ(ip_member(exc, IP_ADD_MEMBERSHIP, kG1), 0);
  ASSERT_EQ(ip_source(exc, IP_BLOCK_SOURCE, kG1, kS2), 0);
  ASSERT_EQ(ip_source(inc, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  for (Ipv4Addr s : {kS1, kS2, kS3}) send_from(h, kG1, kPort, s);
  EXPECT_EQ(received_from(inc), (Srcs{kS1, kS2}));
  EXPECT_EQ(received_from(exc), (Srcs{kS1, kS3}));
  EXPECT_EQ(received_from(other), (Srcs{kS1, kS2, kS3}));
  EXPECT_EQ(received_from(strict), Srcs{});
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 2u);

  // inc drops s2: the host excludes s2 again (exc's filter, and nobody includes it).
  ASSERT_EQ(ip_source(inc, IP_DROP_SOURCE_MEMBERSHIP, kG1, kS2), 0);
  for (Ipv4Addr s : {kS1, kS2, kS3}) send_from(h, kG1, kPort, s);
  EXPECT_EQ(received_from(inc), (Srcs{kS1}));
  EXPECT_EQ(received_from(exc), (Srcs{kS1, kS3}));
  EXPECT_EQ(received_from(other), (Srcs{kS1, kS3}));
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 3u);

  // strict joins with EXCLUDE {s1, s3} (IP_MSFILTER): the excluding sockets have no source in common, so the
  // host takes s2 again; strict takes s2 alone.
  ASSERT_EQ(ip_member(strict, IP_ADD_MEMBERSHIP, kG1), 0);
  ASSERT_EQ(set_msfilter(strict, kG1, MCAST_EXCLUDE, {kS1, kS3}), 0);
  for (Ipv4Addr s : {kS1, kS2, kS3}) send_from(h, kG1, kPort, s);
  EXPECT_EQ(received_from(strict), (Srcs{kS2}));
  EXPECT_EQ(received_from(inc), (Srcs{kS1}));
  EXPECT_EQ(received_from(exc), (Srcs{kS1, kS3}));
  EXPECT_EQ(received_from(other), (Srcs{kS1, kS2, kS3}));
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 3u);
  // exc unblocks s2 and takes it too.
  ASSERT_EQ(ip_source(exc, IP_UNBLOCK_SOURCE, kG1, kS2), 0);
  send_from(h, kG1, kPort, kS2);
  EXPECT_EQ(received_from(strict), (Srcs{kS2}));
  EXPECT_EQ(received_from(exc), (Srcs{kS2}));
  EXPECT_EQ(received_from(inc), Srcs{});
  EXPECT_EQ(received_from(other), (Srcs{kS2}));
  // exc goes: the host excludes what strict excludes and inc does not include, s3.
  skiff_close(exc);
  for (Ipv4Addr s : {kS1, kS2, kS3}) send_from(h, kG1, kPort, s);
  EXPECT_EQ(received_from(strict), (Srcs{kS2}));
  EXPECT_EQ(received_from(inc), (Srcs{kS1}));
  EXPECT_EQ(received_from(other), (Srcs{kS1, kS2}));
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 4u);
  EXPECT_EQ(h.drops(Drop::UdpNoSocket), 0u);
  for (int fd : {inc, other, strict}) skiff_close(fd);
}

TEST(McFilter, HostDropsSourcesNoSocketWantsAndGroupsNobodyJoined) {
  StackHarness h;
  constexpr uint16_t kPort = 6100;
  const int a = udp_on(kPort), b = udp_on(kPort);
  ASSERT_EQ(ip_source(a, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  ASSERT_EQ(ip_source(b, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  send_from(h, kG1, kPort, kS2);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);
  EXPECT_EQ(h.drops(Drop::Ipv4McNotJoined), 0u);
  send_from(h, kG2, kPort, kS1);  // a group nobody joined
  EXPECT_EQ(h.drops(Drop::Ipv4McNotJoined), 1u);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);
  send_from(h, kG1, kPort, kS1);
  EXPECT_EQ(received_from(a), (Srcs{kS1}));
  EXPECT_EQ(received_from(b), (Srcs{kS1}));

  // IGMP to the group is never source-filtered: a group-specific query from s2 is heard.
  const uint64_t queries = h.shard().stats.igmp_in_queries;
  h.inject(to_group(kG1, ig::kProto, v3_query(0, kG1), kS2));
  EXPECT_EQ(h.shard().stats.igmp_in_queries, queries + 1);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);

  // One socket leaving by closing: the other's filter still rules. Both gone: not joined at all.
  skiff_close(a);
  send_from(h, kG1, kPort, kS2);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 2u);
  send_from(h, kG1, kPort, kS1);
  EXPECT_EQ(received_from(b), (Srcs{kS1}));
  skiff_close(b);
  send_from(h, kG1, kPort, kS1);
  EXPECT_EQ(h.drops(Drop::Ipv4McNotJoined), 2u);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 2u);
}

TEST(McFilter, ClosingASocketTakesItsSourcesOutOfTheHostFilter) {
  StackHarness h;
  constexpr uint16_t kPort = 6200;
  const int inc = udp_on(kPort), exc = udp_on(kPort);
  ASSERT_EQ(ip_source(inc, IP_ADD_SOURCE_MEMBERSHIP, kG1, kS1), 0);
  ASSERT_EQ(ip_member(exc, IP_ADD_MEMBERSHIP, kG1), 0);
  ASSERT_EQ(ip_source(exc, IP_BLOCK_SOURCE, kG1, kS1), 0);
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS1));  // inc includes what exc excludes
  skiff_close(inc);
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS1));
  EXPECT_TRUE(h.shard().mc.accepts(0, kG1, kS2));
  send_from(h, kG1, kPort, kS1);
  send_from(h, kG1, kPort, kS2);
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);
  EXPECT_EQ(received_from(exc), (Srcs{kS2}));
  const McTable::Group* e = h.shard().mc.find(0, kG1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sfcount[McTable::kEx], 1u);
  EXPECT_EQ(e->sfcount[McTable::kIn], 0u);
  skiff_close(exc);
  EXPECT_FALSE(h.shard().mc.accepts(0, kG1, kS2));
}

TEST(McFilter, RawSocketsHonourTheirOwnFilters) {
  StackHarness h;
  constexpr uint8_t kProto = 253;  // RFC 3692's experimental protocol
  const int inc = skiff_socket(AF_INET, SOCK_RAW, kProto), exc = skiff_socket(AF_INET, SOCK_RAW, kProto),
            strict = skiff_socket(AF_INET, SOCK_RAW, kProto);
  ASSERT_GE(inc, 0) << strerror(errno);
  const int zero = 0;
  ASSERT_EQ(skiff_setsockopt(strict, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero), 0);
  ASSERT_EQ(mcast_source(inc, MCAST_JOIN_SOURCE_GROUP, gsr(kG1, kS1)), 0);
  ASSERT_EQ(mcast_group(exc, MCAST_JOIN_GROUP, kG1), 0);
  ASSERT_EQ(mcast_source(exc, MCAST_BLOCK_SOURCE, gsr(kG1, kS1)), 0);
  const Bytes payload = pattern(16, 1);
  auto got = [](int fd) {
    std::vector<Ipv4Addr> v;
    uint8_t buf[256];
    ssize_t n;
    while ((n = skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      EXPECT_GE(n, 20 + 8);
      v.emplace_back(wire::load_be32(buf + 12));  // the IP header's source
    }
    return v;
  };
  for (Ipv4Addr s : {kS1, kS2}) h.inject(to_group(kG1, kProto, payload, s));
  EXPECT_EQ(got(inc), (Srcs{kS1}));
  EXPECT_EQ(got(exc), (Srcs{kS2}));
  EXPECT_EQ(got(strict), Srcs{});
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 0u);
  // inc gone: the host excludes s1 (exc's filter).
  skiff_close(inc);
  for (Ipv4Addr s : {kS1, kS2}) h.inject(to_group(kG1, kProto, payload, s));
  EXPECT_EQ(got(exc), (Srcs{kS2}));
  EXPECT_EQ(h.drops(Drop::Ipv4McSourceFiltered), 1u);

  // A raw UDP socket beside a UDP one: each by its own filter.
  const int rudp = skiff_socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
  const int u = udp_on(6300);
  ASSERT_EQ(ip_source(rudp, IP_ADD_SOURCE_MEMBERSHIP, kG2, kS2), 0);
  ASSERT_EQ(ip_source(u, IP_ADD_SOURCE_MEMBERSHIP, kG2, kS1), 0);
  for (Ipv4Addr s : {kS1, kS2}) send_from(h, kG2, 6300, s);
  EXPECT_EQ(received_from(u), (Srcs{kS1}));
  EXPECT_EQ(got(rudp), (Srcs{kS2}));
  for (int fd : {exc, strict, rudp, u}) skiff_close(fd);
}
