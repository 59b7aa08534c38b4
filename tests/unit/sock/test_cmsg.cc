// Control messages of datagram sockets, Skiff's side of what test_errno_diff.cc's ControlMessages*
// scenarios compare with the kernel: the values (TTL, TOS, the addresses of IP_PKTINFO for unicast and
// broadcast, the receive time by the shard's clock), what sendmsg's IP_TTL / IP_TOS / IP_PKTINFO put on
// the wire for that one datagram, and raw sockets.
#include <netinet/ip_icmp.h>

#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

struct Received {
  ssize_t rc = -1;
  int flags = 0;
  std::optional<in_pktinfo> pktinfo;
  std::optional<int> ttl;
  std::optional<uint8_t> tos;
  std::optional<timespec> ts;
};

Received recv_with_cmsgs(int fd) {
  Received r;
  uint8_t buf[2048];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) uint8_t ctl[256];
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  r.rc = skiff_recvmsg(fd, &m, 0);
  r.flags = m.msg_flags;
  if (r.rc < 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      r.pktinfo = pi;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      r.ttl = v;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
      r.tos = *CMSG_DATA(c);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec t;
      memcpy(&t, CMSG_DATA(c), sizeof t);
      r.ts = t;
    }
  }
  return r;
}

void ask_all(int fd) {
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on), 0);
}

int64_t realtime_ns() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

Bytes udp_frame_with(StackHarness& h, uint16_t dport, Ipv4Addr dst, uint8_t ttl, uint8_t tos) {
  return h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = dst, .proto = 17, .ttl = ttl, .tos = tos},
                          udp(kPeer, dst, 4000, dport, pattern(12), true)));
}

// sendmsg of 8 bytes to the peer with the given control buffer.
ssize_t send_with(int fd, void* ctl, size_t clen) {
  uint8_t payload[8] = {};
  iovec iov{payload, sizeof payload};
  sockaddr_in to = sin(kPeer, 4000);
  msghdr m{};
  m.msg_name = &to;
  m.msg_namelen = sizeof to;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = clen;
  return skiff_sendmsg(fd, &m, 0);
}

}  // namespace

TEST(Cmsg, UnicastDatagramReportsItsTtlTosAddressesAndArrivalTime) {
  StackHarness h;
  const int fd = bound_udp(7100);
  ask_all(fd);
  h.inject(udp_frame_with(h, 7100, kOur, 7, 0xb9));
  // Read 250 ms later by the shard's clock: the timestamp is the arrival, not the read.
  h.advance(250ms);
  const int64_t before = realtime_ns();
  const Received r = recv_with_cmsgs(fd);
  const int64_t after = realtime_ns();
  ASSERT_EQ(r.rc, 12);
  EXPECT_EQ(r.flags, 0);
  ASSERT_TRUE(r.ttl && r.tos && r.pktinfo && r.ts);
  EXPECT_EQ(*r.ttl, 7);
  EXPECT_EQ(*r.tos, 0xb9);  // ECN bits included, as Linux
  EXPECT_EQ(r.pktinfo->ipi_ifindex, 1);
  EXPECT_EQ(ntohl(r.pktinfo->ipi_addr.s_addr), kOur.host());
  EXPECT_EQ(ntohl(r.pktinfo->ipi_spec_dst.s_addr), kOur.host());
  const int64_t ts = int64_t{r.ts->tv_sec} * 1'000'000'000 + r.ts->tv_nsec;
  EXPECT_GE(ts, before - 250'000'000);
  EXPECT_LE(ts, after - 250'000'000);
}

TEST(Cmsg, BroadcastDatagramsSpecDstIsTheInterfaceAddress) {
  StackHarness h;
  const int fd = bound_udp(7101);
  ask_all(fd);
  h.inject(udp_frame_with(h, 7101, kBcast, 64, 0));
  h.inject(udp_frame_with(h, 7101, Ipv4Addr::broadcast(), 64, 0));
  for (const Ipv4Addr dst : {kBcast, Ipv4Addr::broadcast()}) {
    const Received r = recv_with_cmsgs(fd);
    ASSERT_EQ(r.rc, 12);
    ASSERT_TRUE(r.pktinfo);
    EXPECT_EQ(ntohl(r.pktinfo->ipi_addr.s_addr), dst.host()) << dst.host();
    EXPECT_EQ(ntohl(r.pktinfo->ipi_spec_dst.s_addr), kOur.host()) << dst.host();  // where a reply comes from
    EXPECT_EQ(r.pktinfo->ipi_ifindex, 1);
  }
}

TEST(Cmsg, SendmsgTtlTosAndSourceApplyToThatDatagramOnly) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  alignas(cmsghdr) uint8_t ctl[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(1) + CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr m{};
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TTL;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int ttl = 9;
  memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
  c = CMSG_NXTHDR(&m, c);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TOS;
  c->cmsg_len = CMSG_LEN(1);
  *CMSG_DATA(c) = 0x28;
  c = CMSG_NXTHDR(&m, c);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo pi{};
  pi.ipi_ifindex = 1;
  pi.ipi_spec_dst.s_addr = htonl(kOur.host());
  memcpy(CMSG_DATA(c), &pi, sizeof pi);
  ASSERT_EQ(send_with(fd, ctl, sizeof ctl), 8);
  ASSERT_EQ(send_with(fd, nullptr, 0), 8);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ip.ttl, 9);
  EXPECT_EQ(out[0].ip.tos, 0x28);
  EXPECT_EQ(out[0].ip.src, kOur);
  EXPECT_EQ(out[0].ip.dst, kPeer);
  EXPECT_EQ(out[1].ip.ttl, 64);  // the socket's own (the stack default)
  EXPECT_EQ(out[1].ip.tos, 0);
  EXPECT_EQ(out[0].sport, out[1].sport);
}

TEST(Cmsg, RawSocketsReportThemToo) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  ASSERT_GE(fd, 0);
  ask_all(fd);
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1, .ttl = 33, .tos = 0x10},
                            icmp_echo(ICMP_ECHO, 1, 2, pattern(8)))));
  const Received r = recv_with_cmsgs(fd);
  ASSERT_EQ(r.rc, 20 + 16);  // the IP header, the ICMP header and 8 bytes
  ASSERT_TRUE(r.ttl && r.tos && r.pktinfo && r.ts);
  EXPECT_EQ(*r.ttl, 33);
  EXPECT_EQ(*r.tos, 0x10);
  EXPECT_EQ(ntohl(r.pktinfo->ipi_addr.s_addr), kOur.host());
}
