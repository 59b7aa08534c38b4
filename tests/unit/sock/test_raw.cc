// Raw IPv4 sockets: copies of every datagram of the protocol, IP header included; sends with a built IP
// header or (IP_HDRINCL / IPPROTO_RAW) the application's; ICMP_FILTER; address filters; limits.
#include <linux/icmp.h>

#include "sock_test_util.hh"
#include "wire/ipv4.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

int raw_socket(int protocol) {
  const int fd = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, protocol);
  EXPECT_GE(fd, 3) << strerror(errno);
  return fd;
}

Bytes echo_request_frame(StackHarness& h, uint16_t id, uint16_t seq, const Bytes& data, Ipv4Addr dst = kOur) {
  return h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = dst, .proto = 1}, icmp_echo(8, id, seq, data)));
}

}  // namespace

TEST(Raw, IcmpSocketGetsCopiesWithTheIpHeader) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  const Bytes data = pattern(24, 2);
  h.inject(echo_request_frame(h, 0x99, 3, data));
  // The stack still answers the echo itself.
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(parse_ip(out[0])->payload[0], 0);
  uint8_t buf[256];
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  const ssize_t n = skiff_recvfrom(fd, buf, sizeof buf, 0, sa(from), &flen);
  ASSERT_EQ(n, 20 + 8 + 24);
  EXPECT_EQ(buf[0], 0x45);  // IPv4, 20-byte header
  EXPECT_EQ(buf[9], 1);
  EXPECT_EQ(wire::load_be32(buf + 12), kPeer.host());
  EXPECT_EQ(wire::load_be32(buf + 16), kOur.host());
  EXPECT_EQ(buf[20], 8);  // the echo request, as received
  EXPECT_EQ(wire::load_be16(buf + 24), 0x99);
  EXPECT_EQ(Bytes(buf + 28, buf + n), data);
  EXPECT_EQ(addr_of(from), kPeer);
  EXPECT_EQ(from.sin_port, 0);
  EXPECT_EQ(flen, sizeof from);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  // UDP is not ICMP.
  h.inject(udp_frame(h, 1, 2, pattern(4)));
  h.sent();
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
}

TEST(Raw, EverySocketOfTheProtocolGetsACopy) {
  StackHarness h;
  h.learn_peer();
  const int a = raw_socket(IPPROTO_ICMP), b = raw_socket(IPPROTO_ICMP), u = raw_socket(IPPROTO_UDP);
  const int udp_fd = bound_udp(7000);
  h.inject(echo_request_frame(h, 1, 1, pattern(8)));
  h.inject(udp_frame(h, 5000, 7000, pattern(12)));
  h.sent();
  uint8_t buf[128];
  EXPECT_EQ(skiff_recv(a, buf, sizeof buf, 0), 36);
  EXPECT_EQ(skiff_recv(b, buf, sizeof buf, 0), 36);
  EXPECT_EQ(skiff_recv(u, buf, sizeof buf, 0), 20 + 8 + 12);  // the UDP datagram, headers and all
  EXPECT_EQ(buf[9], 17);
  EXPECT_EQ(skiff_recv(udp_fd, buf, sizeof buf, 0), 12);  // and the UDP socket still gets it
  EXPECT_EQ(h.shard().stats.raw_in_delivers, 3u);
}

TEST(Raw, SocketForAnUnhandledProtocolSilencesProtocolUnreachable) {
  StackHarness h;
  h.learn_peer();
  const Bytes dgram = ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 253}, pattern(10));
  h.inject(h.from_peer(dgram));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);  // nobody: protocol unreachable
  EXPECT_EQ(parse_ip(out[0])->payload[1], wire::icmp_unreach::kProtocol);
  const int fd = raw_socket(253);
  h.inject(h.from_peer(dgram));
  EXPECT_TRUE(h.sent().empty());
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 30);
  EXPECT_EQ(Bytes(buf, buf + 30), dgram);
}

TEST(Raw, SendBuildsTheIpHeader) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  const Bytes msg = icmp_echo(8, 0x1234, 7, pattern(16));
  const sockaddr_in to = sin(kPeer, 999);  // the port means nothing to a raw socket
  const int ttl = 9;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl), 0);
  ASSERT_EQ(skiff_sendto(fd, msg.data(), msg.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(msg.size()));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  EXPECT_EQ(ip->proto, 1);
  EXPECT_EQ(ip->src, kOur);
  EXPECT_EQ(ip->dst, kPeer);
  EXPECT_EQ(ip->ttl, 9);
  EXPECT_TRUE(ip->checksum_ok);
  EXPECT_EQ(ip->payload, msg);  // sent as written (raw ICMP does not fill the ICMP checksum)
  // The reply comes back to the socket.
  h.inject(h.from_peer(
      ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1}, icmp_echo(0, 0x1234, 7, pattern(16)))));
  uint8_t buf[128];
  ASSERT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 20 + 8 + 16);
  EXPECT_EQ(buf[20], 0);
  // Connected: send() needs no address.
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  ASSERT_EQ(skiff_send(fd, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
  EXPECT_EQ(h.sent().size(), 1u);
}

TEST(Raw, HdrinclSendsTheApplicationsHeader) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_UDP);
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on), 0);
  const Bytes u = udp(kOur, kPeer, 4000, 5000, pattern(20));
  Bytes d =
      ipv4(Ipv4Spec{.src = Ipv4Addr::any(), .dst = kPeer, .proto = 17, .ttl = 33, .tos = 0x10, .id = 0}, u);
  wire::store_be16(d.data() + 2, 9999);  // wrong total length: the stack fills it
  d[10] = d[11] = 0xee;                  // garbage checksum: filled too
  const sockaddr_in to = sin(kPeer, 0);
  ASSERT_EQ(skiff_sendto(fd, d.data(), d.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(d.size()));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  EXPECT_EQ(ip->src, kOur);  // 0 = the route's source
  EXPECT_EQ(ip->dst, kPeer);
  EXPECT_EQ(ip->ttl, 33);
  EXPECT_EQ(ip->tos, 0x10);
  EXPECT_FALSE(ip->flags_frag & 0x4000);  // an ID of 0 is filled in (not checked: it may draw 0)
  EXPECT_EQ(ip->total_len, d.size());
  EXPECT_TRUE(ip->checksum_ok);
  EXPECT_EQ(ip->payload, u);
  // Too short for an IP header, or not IPv4.
  EXPECT_EQ(skiff_sendto(fd, d.data(), 19, 0, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINVAL);
  Bytes v6 = d;
  v6[0] = 0x65;
  EXPECT_EQ(skiff_sendto(fd, v6.data(), v6.size(), 0, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Raw, IpprotoRawImpliesHdrincl) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_RAW);
  int v = 0;
  socklen_t len = sizeof v;
  ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_IP, IP_HDRINCL, &v, &len), 0);
  EXPECT_EQ(v, 1);
  const Bytes d = ipv4(Ipv4Spec{.src = kOur, .dst = kPeer, .proto = 1}, icmp_echo(8, 5, 5, pattern(4)));
  const sockaddr_in to = sin(kPeer, 0);
  ASSERT_EQ(skiff_sendto(fd, d.data(), d.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(d.size()));
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(parse_ip(out[0])->proto, 1);
}

TEST(Raw, IcmpFilterDropsChosenTypes) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  const uint32_t filt = 1u << ICMP_ECHO;
  ASSERT_EQ(skiff_setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt), 0);
  h.inject(echo_request_frame(h, 1, 1, pattern(4)));
  h.inject(
      h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1}, icmp_echo(0, 1, 1, pattern(4)))));
  h.sent();
  uint8_t buf[64];
  ASSERT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 32);
  EXPECT_EQ(buf[20], ICMP_ECHOREPLY);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  uint32_t got = 0;
  socklen_t len = sizeof got;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_RAW, ICMP_FILTER, &got, &len), 0);
  EXPECT_EQ(got, filt);
}

TEST(Raw, AddressFilters) {
  StackHarness h;
  h.learn_peer();
  const int bound = raw_socket(IPPROTO_ICMP), conn = raw_socket(IPPROTO_ICMP),
            other = raw_socket(IPPROTO_ICMP);
  const sockaddr_in ours = sin(kOur, 0), peer = sin(kPeer, 0), elsewhere = sin(Ipv4Addr::of(10, 0, 0, 9), 0);
  ASSERT_EQ(skiff_bind(bound, sa(ours), sizeof ours), 0);
  ASSERT_EQ(skiff_connect(conn, sa(peer), sizeof peer), 0);
  ASSERT_EQ(skiff_connect(other, sa(elsewhere), sizeof elsewhere), 0);
  h.inject(echo_request_frame(h, 1, 1, pattern(4)));
  h.inject(echo_request_frame(h, 1, 2, pattern(4), kBcast));  // broadcast echo: ignored by ICMP, seen raw
  h.sent();
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(bound, buf, sizeof buf, 0), 32);
  EXPECT_EQ(skiff_recv(bound, buf, sizeof buf, 0), -1);  // not the broadcast: bound to the unicast address
  // connect() fixed the wildcard's receiving address to ours (__ip4_datagram_connect): not the broadcast.
  EXPECT_EQ(skiff_recv(conn, buf, sizeof buf, 0), 32);
  EXPECT_EQ(skiff_recv(conn, buf, sizeof buf, 0), -1);
  EXPECT_EQ(skiff_recv(other, buf, sizeof buf, 0), -1);
  sockaddr_in name{};
  socklen_t len = sizeof name;
  ASSERT_EQ(skiff_getsockname(bound, sa(name), &len), 0);
  EXPECT_EQ(addr_of(name), kOur);
  EXPECT_EQ(ntohs(name.sin_port), IPPROTO_ICMP);           // Linux reports the protocol as the port
  EXPECT_EQ(skiff_bind(conn, sa(ours), sizeof ours), -1);  // not once connected
  EXPECT_EQ(errno, EINVAL);
}

TEST(Raw, PeekTruncAndFionread) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  h.inject(echo_request_frame(h, 1, 1, pattern(40)));
  h.sent();
  int n = -1;
  ASSERT_EQ(skiff_ioctl(fd, FIONREAD, &n), 0);
  EXPECT_EQ(n, 68);
  uint8_t buf[128];
  EXPECT_EQ(skiff_recv(fd, buf, 10, MSG_PEEK), 10);
  EXPECT_EQ(skiff_recv(fd, buf, 10, MSG_PEEK | MSG_TRUNC), 68);
  iovec iov{buf, 10};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  EXPECT_EQ(skiff_recvmsg(fd, &m, 0), 10);
  EXPECT_EQ(m.msg_flags, MSG_TRUNC);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
}

TEST(Raw, ReceiveQueueBounded) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  const int zero = 0;  // the minimum, 2,304 bytes: a packet is admitted while the charge is below it
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof zero), 0);
  for (int i = 0; i < 3; ++i) h.inject(echo_request_frame(h, 1, static_cast<uint16_t>(i), pattern(4)));
  h.sent();
  EXPECT_EQ(h.drops(Drop::RawRcvbufFull), 1u);  // (__sock_queue_rcv_skb: rmem >= rcvbuf)
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 32);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 32);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
}

TEST(Raw, ShutdownReadDoesNotStopDelivery) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  EXPECT_EQ(skiff_shutdown(fd, SHUT_RD), -1);
  EXPECT_EQ(errno, ENOTCONN);
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);  // non-blocking: EAGAIN, as Linux
  EXPECT_EQ(errno, EAGAIN);
  h.inject(echo_request_frame(h, 1, 1, pattern(4)));
  h.sent();
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 32);
}

TEST(Raw, ErrorsAndLimits) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_ICMP);
  uint8_t b[8] = {8};
  EXPECT_EQ(skiff_send(fd, b, sizeof b, 0), -1);
  EXPECT_EQ(errno, EDESTADDRREQ);
  const sockaddr_in to = sin(kPeer, 0);
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, MSG_OOB, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  std::vector<uint8_t> big(65516);
  EXPECT_EQ(skiff_sendto(fd, big.data(), big.size(), 0, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  const sockaddr_in bc = sin(kBcast, 0);
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(bc), sizeof bc), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(skiff_listen(fd, 1), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  const uint32_t f = 0;
  const int u = raw_socket(IPPROTO_UDP);
  EXPECT_EQ(skiff_setsockopt(u, SOL_RAW, ICMP_FILTER, &f, sizeof f), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  skiff_close(fd);
  skiff_close(u);
  EXPECT_EQ(h.shard().socks.in_use(raw_prot), 0u);
  EXPECT_TRUE(h.shard().raw.empty());
}

// ICMP errors about a raw socket's datagrams (Linux's raw_icmp_error/raw_err): a connected one hears a hard
// error before the data it has queued; a soft one (host unreachable) and a redirect tell it nothing.
TEST(Raw, IcmpErrorsReachConnectedRawSockets) {
  StackHarness h;
  h.learn_peer();
  const int fd = raw_socket(IPPROTO_UDP);
  const sockaddr_in to = sin(kPeer, 0);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  const Bytes u = udp(kOur, kPeer, 4000, 5000, pattern(10));
  ASSERT_EQ(skiff_send(fd, u.data(), u.size(), 0), static_cast<ssize_t>(u.size()));
  const auto frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  // A datagram arrives for the socket (from its peer), then ICMP about what it sent.
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 17}, udp(kPeer, kOur, 5000, 4000, pattern(6)))));
  h.inject(icmp_error_about(h, frames[0], wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kHost));
  h.inject(icmp_error_about(h, frames[0], wire::icmp_type::kRedirect, 1));
  int err = -1;
  socklen_t len = sizeof err;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);  // soft, and a redirect is no error
  h.inject(icmp_error_about(h, frames[0], wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kPort));
  uint8_t buf[128];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, ECONNREFUSED);  // before the queued datagram
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), 20 + 8 + 6);
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT), -1);  // no IP_RECVERR: no queue
  EXPECT_EQ(errno, EAGAIN);
  // An unconnected raw socket without IP_RECVERR is told nothing.
  const int v = raw_socket(IPPROTO_UDP);
  ASSERT_EQ(skiff_sendto(v, u.data(), u.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(u.size()));
  const auto f2 = h.sent();  // (with the port unreachable we sent about the datagram to port 4000)
  ASSERT_FALSE(f2.empty());
  ASSERT_EQ(f2.back()[14 + 9], 17);
  h.inject(icmp_error_about(h, f2.back(), wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kPort));
  len = sizeof err;
  ASSERT_EQ(skiff_getsockopt(v, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
  skiff_close(v);
  skiff_close(fd);
}

// A datagram whose header the application wrote, to a group or to the limited broadcast, leaves on the link
// (the group's Ethernet address, or ff:ff:ff:ff:ff:ff), never to the gateway, and the host's own sockets get
// their copy, as ipv4_output gives them and Linux's ip_mc_output does: the group's members while
// IP_MULTICAST_LOOP is on, and every broadcast. Regression: with a default route both went, unicast, to the
// gateway's MAC, and no copy was looped.
TEST(Raw, HdrinclToAGroupOrTheBroadcastStaysOnTheLink) {
  StackHarness h(HarnessOptions{.gateway = kPeer});
  h.learn_peer();
  h.sent();
  const Ipv4Addr group = Ipv4Addr::of(224, 0, 0, 251);
  const int member = bound_udp(5353);
  ip_mreq m{};
  m.imr_multiaddr.s_addr = htonl(group.host());
  m.imr_interface.s_addr = htonl(kOur.host());
  ASSERT_EQ(skiff_setsockopt(member, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m), 0);
  h.sent();  // the membership report
  const int fd = raw_socket(IPPROTO_RAW);
  const int on = 1, off = 0;
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on), 0);
  uint8_t buf[64];
  for (const Ipv4Addr to : {group, Ipv4Addr::broadcast()}) {
    const Bytes d = ipv4(Ipv4Spec{.src = kOur, .dst = to, .proto = 17, .ttl = 1},
                         udp(kOur, to, 6000, 5353, pattern(7)));
    const sockaddr_in a = sin(to, 0);
    ASSERT_EQ(skiff_sendto(fd, d.data(), d.size(), 0, sa(a), sizeof a), static_cast<ssize_t>(d.size()))
        << to.host() << " " << strerror(errno);
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u) << to.host();
    const MacAddr want = to.is_broadcast() ? MacAddr::broadcast() : MacAddr{{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}};
    EXPECT_TRUE(std::equal(want.b.begin(), want.b.end(), out[0].begin())) << to.host();
    EXPECT_EQ(skiff_recv(member, buf, sizeof buf, MSG_DONTWAIT), 7) << to.host();
  }
  // IP_MULTICAST_LOOP off: the group's copy is not looped (a broadcast's still is).
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off), 0);
  const Bytes d = ipv4(Ipv4Spec{.src = kOur, .dst = group, .proto = 17, .ttl = 1},
                       udp(kOur, group, 6000, 5353, pattern(7)));
  const sockaddr_in a = sin(group, 0);
  ASSERT_EQ(skiff_sendto(fd, d.data(), d.size(), 0, sa(a), sizeof a), static_cast<ssize_t>(d.size()));
  EXPECT_EQ(h.sent().size(), 1u);
  EXPECT_EQ(skiff_recv(member, buf, sizeof buf, MSG_DONTWAIT), -1);
  skiff_close(fd);
  skiff_close(member);
}
