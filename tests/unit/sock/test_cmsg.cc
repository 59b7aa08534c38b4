// Control messages of datagram sockets, Skiff's side of what test_errno_diff.cc's ControlMessages*
// scenarios compare with the kernel: the values (TTL, TOS, the addresses of IP_PKTINFO for unicast and
// broadcast, the receive time by the shard's clock), what sendmsg's IP_TTL / IP_TOS / IP_PKTINFO put on
// the wire for that one datagram, and raw sockets.
#include <time.h>

#include <linux/errqueue.h>
#include <netinet/ip_icmp.h>

#include "sock_test_util.hh"
#include "wire/checksum.hh"

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
  msghdr m = msg_of(&iov, nullptr, ctl, sizeof ctl);
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
  const msghdr m = msg_of(&iov, &to, ctl, clen);
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

// IP_RECVERR with path MTU discovery: the router's "fragmentation needed" is queued with its next-hop MTU
// (ee_info), and a later send above it fails with EMSGSIZE and a local error naming the MTU (Linux's
// ip_local_error: origin LOCAL, no offender).
TEST(Cmsg, ErrorQueueCarriesTheMtuFromTheRouterAndFromALocalRefusal) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int on = 1, pmtu = IP_PMTUDISC_DO;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu), 0);
  const sockaddr_in to = sin(kPeer, 9);
  const Bytes dgram = pattern(1400, 1);
  ASSERT_EQ(skiff_sendto(fd, dgram.data(), dgram.size(), 0, sa(to), sizeof to), 1400);
  const auto frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  const size_t ihl = (frames[0][14] & 0xf) * 4u;
  const Bytes quote(frames[0].begin() + 14, frames[0].begin() + static_cast<long>(14 + ihl + 8 + 16));
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1},
                            skiff::test::icmp(wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kFragNeeded, 1200, quote))));
  QueuedErr q = read_error(fd);
  ASSERT_EQ(q.rc, 16);  // the 16 bytes of payload the router quoted
  EXPECT_EQ(q.flags, MSG_ERRQUEUE);
  ASSERT_TRUE(q.have_ee);
  EXPECT_EQ(q.ee.ee_errno, static_cast<uint32_t>(EMSGSIZE));
  EXPECT_EQ(q.ee.ee_origin, SO_EE_ORIGIN_ICMP);
  EXPECT_EQ(q.ee.ee_info, 1200u);
  EXPECT_EQ(addr_of(q.offender), kPeer);
  EXPECT_EQ(addr_of(q.name), kPeer);
  EXPECT_EQ(ntohs(q.name.sin_port), 9);

  EXPECT_EQ(skiff_sendto(fd, dgram.data(), dgram.size(), 0, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  q = read_error(fd);
  ASSERT_EQ(q.rc, 0);
  ASSERT_TRUE(q.have_ee);
  EXPECT_EQ(q.ee.ee_errno, static_cast<uint32_t>(EMSGSIZE));
  EXPECT_EQ(q.ee.ee_origin, SO_EE_ORIGIN_LOCAL);
  EXPECT_EQ(q.ee.ee_info, 1200u);
  EXPECT_EQ(q.offender.sin_family, 0);
  EXPECT_EQ(addr_of(q.name), kPeer);
  EXPECT_EQ(ntohs(q.name.sin_port), 0);  // the socket's connected port (none), as Linux's ip_local_error
  EXPECT_EQ(read_error(fd).rc, -1);
  EXPECT_EQ(errno, EAGAIN);
}

// ARP gives up on the destination: each queued datagram comes back as ICMP host unreachable from our own
// address (Linux's arp_error_report -> ipv4_link_failure, an icmp_send to ourselves): on the error queue of a
// UDP socket with IP_RECVERR (a soft error: not in SO_ERROR of one without), and to raw ICMP sockets as ping
// shows "Destination Host Unreachable".
TEST(Cmsg, FailedArpResolutionComesBackAsHostUnreachable) {
  StackHarness h;  // the peer never answers ARP
  const int on = 1;
  const int recverr = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int plain = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int raw = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  ASSERT_GE(raw, 0);
  ASSERT_EQ(skiff_setsockopt(recverr, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  const sockaddr_in to = sin(kPeer, 9);
  ASSERT_EQ(skiff_connect(plain, sa(to), sizeof to), 0);
  const Bytes dgram = pattern(40, 3);
  ASSERT_EQ(skiff_sendto(recverr, dgram.data(), dgram.size(), 0, sa(to), sizeof to), 40);
  ASSERT_EQ(skiff_send(plain, dgram.data(), dgram.size(), 0), 40);
  for (int i = 0; i < 290; ++i) h.advance(10ms);
  EXPECT_EQ(read_error(recverr).rc, -1);  // still resolving (probes at 0, 1 and 2 s)
  for (int i = 0; i < 20; ++i) h.advance(10ms);  // the third unanswered for 1 s: resolution failed
  EXPECT_EQ(h.drops(Drop::ArpResolveFailed), 2u);
  QueuedErr q = read_error(recverr);
  ASSERT_EQ(q.rc, 40);  // the datagram's payload, as quoted
  EXPECT_EQ(q.flags, MSG_ERRQUEUE);
  ASSERT_TRUE(q.have_ee);
  EXPECT_EQ(q.ee.ee_errno, static_cast<uint32_t>(EHOSTUNREACH));
  EXPECT_EQ(q.ee.ee_origin, SO_EE_ORIGIN_ICMP);
  EXPECT_EQ(q.ee.ee_type, 3);
  EXPECT_EQ(q.ee.ee_code, 1);
  EXPECT_EQ(addr_of(q.offender), kOur);  // the message came from us
  EXPECT_EQ(addr_of(q.name), kPeer);
  EXPECT_EQ(ntohs(q.name.sin_port), 9);
  EXPECT_EQ(read_error(recverr).rc, -1);  // one datagram, one error
  // Host unreachable is soft: a connected socket without IP_RECVERR hears nothing (RFC 1122 §4.1.3.3).
  uint8_t buf[256];
  EXPECT_EQ(skiff_recv(plain, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  // The raw socket saw both messages whole: our address to our address, type 3 code 1, the datagram quoted.
  for (int i = 0; i < 2; ++i) {
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    const ssize_t n = skiff_recvfrom(raw, buf, sizeof buf, 0, sa(from), &fl);
    ASSERT_EQ(n, 20 + 8 + 20 + 8 + 40) << i;
    EXPECT_EQ(addr_of(from), kOur);
    EXPECT_EQ(buf[9], 1);                   // ICMP
    EXPECT_EQ(wire::load_be32(buf + 12), kOur.host());
    EXPECT_EQ(wire::load_be32(buf + 16), kOur.host());
    EXPECT_EQ(buf[20], 3);
    EXPECT_EQ(buf[21], 1);
    EXPECT_EQ(wire::inet_checksum(buf + 20, static_cast<size_t>(n) - 20), 0);
    EXPECT_EQ(wire::load_be32(buf + 20 + 8 + 16), kPeer.host());  // the quoted datagram's destination
    EXPECT_EQ(Bytes(buf + n - 40, buf + n), dgram);
  }
  EXPECT_EQ(skiff_recv(raw, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(h.sent().size(), 3u);  // the three ARP requests; nothing else left
  EXPECT_EQ(h.buffers_in_use(), 0u);
  skiff_close(raw);
  skiff_close(plain);
  skiff_close(recverr);
}

// The queue is charged to the receive buffer: a flood of ICMP errors cannot grow it without bound (the
// ones that do not fit are counted), and closing the socket frees what it held.
TEST(Cmsg, ErrorQueueIsBoundedByTheReceiveBuffer) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int on = 1, small = 4096;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  const sockaddr_in to = sin(kPeer, 9);
  ASSERT_EQ(skiff_sendto(fd, "x", 1, 0, sa(to), sizeof to), 1);
  const auto frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  const unsigned in_use = h.buffers_in_use();
  for (int i = 0; i < 200; ++i) h.inject(icmp_error_about(h, frames[0]));
  const unsigned queued = h.buffers_in_use() - in_use;
  EXPECT_GT(queued, 0u);
  EXPECT_LE(queued, 4u);  // 8 KiB of receive buffer (SO_RCVBUF doubled), 2 KiB or more per entry
  EXPECT_EQ(h.shard().drops[Drop::SockErrQueueFull], 200u - queued);
  int so_err = 0;
  socklen_t len = sizeof so_err;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &len), 0);
  EXPECT_EQ(so_err, ECONNREFUSED);
  const int ep = skiff_epoll_create1(0);
  epoll_event ev{EPOLLIN, {.fd = fd}};
  ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  ASSERT_EQ(skiff_epoll_wait(ep, &ev, 1, 0), 1);
  EXPECT_TRUE(ev.events & EPOLLERR) << "the queue alone reports an error";
  skiff_close(ep);
  skiff_close(fd);
  EXPECT_EQ(h.buffers_in_use(), in_use);
}

// Turning IP_RECVERR off empties the queue (as Linux): nothing stays charged or reported.
TEST(Cmsg, ErrorQueueGoesWithTheOption) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  const sockaddr_in to = sin(kPeer, 9);
  ASSERT_EQ(skiff_sendto(fd, "x", 1, 0, sa(to), sizeof to), 1);
  const auto frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  const unsigned in_use = h.buffers_in_use();
  for (int i = 0; i < 3; ++i) h.inject(icmp_error_about(h, frames[0]));
  EXPECT_EQ(h.buffers_in_use(), in_use + 3);
  on = 0;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  EXPECT_EQ(h.buffers_in_use(), in_use);
  EXPECT_EQ(read_error(fd).rc, -1);
  EXPECT_EQ(errno, EAGAIN);
}

// A limited broadcast sent with IP_PKTINFO leaves on the link (the broadcast MAC), not to a gateway.
TEST(Cmsg, LimitedBroadcastWithPktinfoStaysOnTheLink) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on), 0);
  for (const int ifindex : {0, 1}) {
    alignas(cmsghdr) uint8_t ctl[CMSG_SPACE(sizeof(in_pktinfo))] = {};
    uint8_t payload[4] = {1, 2, 3, 4};
    iovec iov{payload, sizeof payload};
    sockaddr_in to = sin(Ipv4Addr::broadcast(), 4000);
    msghdr m = msg_of(&iov, &to, ctl, sizeof ctl);
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_ifindex = ifindex;
    pi.ipi_spec_dst.s_addr = htonl(kOur.host());
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    ASSERT_EQ(skiff_sendmsg(fd, &m, 0), 4) << ifindex;
    const auto out = sent_udp(h.sent());
    ASSERT_EQ(out.size(), 1u) << ifindex;
    EXPECT_EQ(out[0].ip.eth_dst, MacAddr::broadcast()) << ifindex;
    EXPECT_EQ(out[0].ip.dst, Ipv4Addr::broadcast()) << ifindex;
    EXPECT_EQ(out[0].ip.src, kOur) << ifindex;
  }
}

// The IP ID of UDP datagrams, as Linux's ip_select_ident_segs: DF (IP_PMTUDISC_WANT's default while it fits)
// and unconnected: 0; connected: the socket's own counter, one per datagram whatever other sockets send;
// IP_PMTUDISC_DONT (may be fragmented): the per-destination counter, all fragments of one datagram alike.
TEST(UdpIpIdent, DfUnconnectedConnectedAndFragments) {
  StackHarness h;
  h.learn_peer();
  const int unconnected = bound_udp(0);
  const int conn = bound_udp(0);
  const sockaddr_in to = sin(kPeer, 9);
  ASSERT_EQ(skiff_connect(conn, sa(to), sizeof to), 0);
  std::vector<uint16_t> conn_ids;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(skiff_sendto(unconnected, "x", 1, 0, sa(to), sizeof to), 1);
    ASSERT_EQ(skiff_send(conn, "y", 1, 0), 1);
    const auto out = sent_udp(h.sent());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].ip.flags_frag & 0x4000);
    EXPECT_EQ(out[0].ip.id, 0u);  // unconnected, DF
    EXPECT_TRUE(out[1].ip.flags_frag & 0x4000);
    conn_ids.push_back(out[1].ip.id);
  }
  for (size_t i = 1; i < conn_ids.size(); ++i) EXPECT_EQ(static_cast<uint16_t>(conn_ids[i] - conn_ids[i - 1]), 1u);
  // Without DF: a datagram too big for the link goes as fragments sharing one ID, the next one the ID after.
  const int dont = bound_udp(0);
  const int v = IP_PMTUDISC_DONT;
  ASSERT_EQ(skiff_setsockopt(dont, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v), 0);
  const Bytes big = pattern(3000, 7);
  ASSERT_EQ(skiff_sendto(dont, big.data(), big.size(), 0, sa(to), sizeof to), 3000);
  ASSERT_EQ(skiff_sendto(dont, "z", 1, 0, sa(to), sizeof to), 1);
  std::vector<uint16_t> ids;
  for (const Bytes& f : h.sent()) {
    auto ip = parse_ip(f);
    ASSERT_TRUE(ip);
    EXPECT_FALSE(ip->flags_frag & 0x4000);
    ids.push_back(ip->id);
  }
  ASSERT_EQ(ids.size(), 4u);  // three fragments, then the small one
  EXPECT_EQ(ids[1], ids[0]);
  EXPECT_EQ(ids[2], ids[0]);
  EXPECT_EQ(ids[3], static_cast<uint16_t>(ids[0] + 1));
  skiff_close(dont);
  skiff_close(conn);
  skiff_close(unconnected);
}
