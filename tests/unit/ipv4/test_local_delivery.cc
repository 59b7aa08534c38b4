// Datagrams the host sends to one of its own addresses (Linux's RTN_LOCAL route through lo; RFC 1122 §3.3.6
// treats them as local): taken in by IPv4 input at the next poll iteration, never put on the wire or ARPed
// for, never fragmented (lo's MTU is 64 KiB).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "../sock/sock_test_util.hh"
#include "api/skiff.h"
#include "stack_harness.hh"

using namespace skiff;
using namespace skiff::test;

using namespace skiff::test::sock;

TEST(LocalDelivery, UdpToOurOwnAddressIsTakenInLocally) {
  // Regression: the datagram went to ARP for our own address ("who-has 10.0.0.2 tell 10.0.0.2" three
  // times), was dropped as ArpResolveFailed and came back as host unreachable.
  StackHarness h;
  const int a = bound_udp(7100);
  const int b = bound_udp(7101);
  const Bytes hello = pattern(5);
  const sockaddr_in to_a = sin(kOur, 7100);
  ASSERT_EQ(skiff_sendto(b, hello.data(), hello.size(), 0, sa(to_a), sizeof to_a), 5);
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(a, buf, sizeof buf, MSG_DONTWAIT), -1);  // not inside the send: at the next iteration
  EXPECT_EQ(errno, EAGAIN);
  h.advance(0ms);
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  ASSERT_EQ(skiff_recvfrom(a, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen), 5);
  EXPECT_EQ(Bytes(buf, buf + 5), hello);
  EXPECT_EQ(ntohl(from.sin_addr.s_addr), kOur.host());
  EXPECT_EQ(ntohs(from.sin_port), 7101);
  // The answer goes back the same way.
  ASSERT_EQ(skiff_sendto(a, buf, 5, 0, reinterpret_cast<sockaddr*>(&from), flen), 5);
  h.advance(0ms);
  EXPECT_EQ(skiff_recv(b, buf, sizeof buf, MSG_DONTWAIT), 5);
  EXPECT_TRUE(h.sent().empty());  // nothing on the wire, not even ARP
  EXPECT_EQ(h.shard().stats.ip_local_looped, 2u);
  h.advance(5s);
  EXPECT_EQ(h.drops(Drop::ArpResolveFailed), 0u);
  skiff_close(a);
  skiff_close(b);
}

TEST(LocalDelivery, LargeDatagramToOurselvesArrivesWholeUnfragmented) {
  StackHarness h;
  const int a = bound_udp(7100);
  const int b = bound_udp(7101);
  int rcvbuf = 1 << 20;
  ASSERT_EQ(skiff_setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
  const Bytes big = pattern(30000, 3);
  const sockaddr_in to_a = sin(kOur, 7100);
  ASSERT_EQ(skiff_sendto(b, big.data(), big.size(), 0, sa(to_a), sizeof to_a), 30000);
  h.advance(0ms);
  Bytes got(40000);
  ASSERT_EQ(skiff_recv(a, got.data(), got.size(), MSG_DONTWAIT), 30000);
  got.resize(30000);
  EXPECT_EQ(got, big);
  EXPECT_EQ(h.shard().stats.ip_frag_creates, 0u);
  EXPECT_EQ(h.shard().stats.ip_reasm_reqds, 0u);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(a);
  skiff_close(b);
}

TEST(LocalDelivery, PingOurOwnAddress) {
  StackHarness h;
  int replies = 0;
  h.shard().on_echo_reply = [&](const Ipv4Rx& rx, const Pktbuf&, Instant) {
    ++replies;
    EXPECT_EQ(rx.src, kOur);
  };
  const Bytes data = pattern(8);
  ASSERT_EQ(icmp_send_echo(h.shard(), kOur, 7, 1, data.data(), data.size()), 0);
  h.advance(0ms);  // the request, then its reply
  EXPECT_EQ(replies, 1);
  EXPECT_TRUE(h.sent().empty());
  h.shard().on_echo_reply = nullptr;
}

TEST(LocalDelivery, TcpConnectionToOurOwnAddress) {
  // A TCP connection between two sockets of the same stack, through our own address: handshake, data both
  // ways, and close, with nothing on the wire. Regression: connect() failed with EHOSTUNREACH after ~3 s
  // of ARP for ourselves.
  StackHarness h;
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in la = sin(Ipv4Addr::any(), 8080);
  ASSERT_EQ(skiff_bind(l, sa(la), sizeof la), 0);
  ASSERT_EQ(skiff_listen(l, 4), 0);
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kOur, 8080);
  ASSERT_EQ(skiff_connect(c, sa(to), sizeof to), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  int s = -1;
  for (int i = 0; i < 10 && s < 0; ++i) {
    h.advance(0ms);
    s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  }
  ASSERT_GE(s, 0) << strerror(errno);
  ASSERT_EQ(skiff_connect(c, sa(to), sizeof to), 0);  // connected
  // 200 KB client to server, and an answer back.
  const Bytes data = pattern(200000, 5);
  size_t sent = 0;
  Bytes got;
  uint8_t buf[16384];
  for (int i = 0; i < 2000 && got.size() < data.size(); ++i) {
    if (sent < data.size()) {
      const ssize_t n = skiff_send(c, data.data() + sent, data.size() - sent, MSG_DONTWAIT);
      if (n > 0) sent += static_cast<size_t>(n);
    }
    h.advance(1ms);
    for (ssize_t n; (n = skiff_recv(s, buf, sizeof buf, MSG_DONTWAIT)) > 0;) got.insert(got.end(), buf, buf + n);
  }
  EXPECT_EQ(got, data);
  ASSERT_EQ(skiff_send(s, "ok", 2, MSG_DONTWAIT), 2);
  h.advance(0ms);
  EXPECT_EQ(skiff_recv(c, buf, sizeof buf, MSG_DONTWAIT), 2);
  // Close: both ends see the other's FIN.
  skiff_close(c);
  h.advance(0ms);
  EXPECT_EQ(skiff_recv(s, buf, sizeof buf, MSG_DONTWAIT), 0);
  skiff_close(s);
  skiff_close(l);
  h.advance(0ms);
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::ArpResolveFailed), 0u);
}

TEST(LocalDelivery, TheQueueIsBounded) {
  // What we send ourselves waits for the next iteration; at most kLoopQueue datagrams do, more are dropped
  // with a reason.
  StackHarness h;
  const int a = bound_udp(7100);
  const int b = bound_udp(7101);
  const sockaddr_in to_a = sin(kOur, 7100);
  const size_t n = Shard::kLoopQueue + 10;
  uint8_t x = 1;
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(skiff_sendto(b, &x, 1, 0, sa(to_a), sizeof to_a), 1);
  EXPECT_EQ(h.drops(Drop::LoopbackQueueFull), 10u);
  h.advance(0ms);
  size_t got = 0;
  while (skiff_recv(a, &x, 1, MSG_DONTWAIT) == 1) ++got;
  EXPECT_GT(got, 0u);
  EXPECT_LE(got, Shard::kLoopQueue);
  skiff_close(a);
  skiff_close(b);
}

TEST(LocalDelivery, BroadcastsReachOurOwnSocketsToo) {
  // Linux's ip_mc_output loops every broadcast back to the host, IP_MULTICAST_LOOP or not, as well as
  // sending it. Regression: a broadcast left on the wire only, and a socket of the same stack bound to the
  // port never saw it (two parts of one application discovering each other).
  StackHarness h;
  h.learn_peer();
  const int a = bound_udp(7200);
  const int b = bound_udp(7201);
  const int on = 1, off = 0;
  ASSERT_EQ(skiff_setsockopt(b, SOL_SOCKET, SO_BROADCAST, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(b, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off), 0);  // (not for broadcasts)
  uint8_t buf[16];
  {  // (the subnet's broadcast: with no default route, as on Linux, 255.255.255.255 has no route)
    const sockaddr_in to = sin(Ipv4Addr::of(10, 0, 0, 255), 7200);
    ASSERT_EQ(skiff_sendto(b, "disc", 4, 0, sa(to), sizeof to), 4) << strerror(errno);
    EXPECT_EQ(h.sent().size(), 1u);  // on the wire
    h.advance(0ms);
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    EXPECT_EQ(skiff_recvfrom(a, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen), 4);
    EXPECT_EQ(ntohl(from.sin_addr.s_addr), kOur.host());
    EXPECT_EQ(ntohs(from.sin_port), 7201);
  }
  EXPECT_EQ(h.shard().stats.ip_mc_looped, 1u);
  skiff_close(a);
  skiff_close(b);
}

TEST(LocalDelivery, TheLoopbackNetIsTheHost) {
  // 127.0.0.0/8 is the host (RFC 1122 §3.2.1.3 (g): never outside it), as Linux's lo: a socket may bind to
  // any address in it, what is sent there is taken in from 127.0.0.1, and nothing reaches the wire.
  // Regression: bind() said EADDRNOTAVAIL, and a datagram to 127.0.0.1 followed the routes (with a default
  // gateway: onto the wire).
  StackHarness h;
  h.learn_peer();
  const int a = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in la = sin(Ipv4Addr::of(127, 0, 0, 1), 7400);
  ASSERT_EQ(skiff_bind(a, sa(la), sizeof la), 0) << strerror(errno);
  const int b = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in lb = sin(Ipv4Addr::of(127, 0, 0, 5), 0);
  ASSERT_EQ(skiff_bind(b, sa(lb), sizeof lb), 0) << strerror(errno);
  ASSERT_EQ(skiff_sendto(b, "lo", 2, 0, sa(la), sizeof la), 2);
  h.advance(0ms);
  uint8_t buf[8];
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  ASSERT_EQ(skiff_recvfrom(a, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen), 2);
  EXPECT_EQ(ntohl(from.sin_addr.s_addr), Ipv4Addr::of(127, 0, 0, 5).host());
  // An unbound socket sends from 127.0.0.1; connect() to INADDR_ANY means 127.0.0.1 (as Linux).
  const int c = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin(Ipv4Addr::any(), 7400);
  ASSERT_EQ(skiff_connect(c, sa(any), sizeof any), 0);
  ASSERT_EQ(skiff_send(c, "x", 1, 0), 1);
  h.advance(0ms);
  flen = sizeof from;
  ASSERT_EQ(skiff_recvfrom(a, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen), 1);
  EXPECT_EQ(ntohl(from.sin_addr.s_addr), Ipv4Addr::of(127, 0, 0, 1).host());
  // A port nobody has: the error comes back as for any destination (ICMP port unreachable, from 127.0.0.1).
  const sockaddr_in nobody = sin(Ipv4Addr::of(127, 0, 0, 1), 7499);
  ASSERT_EQ(skiff_connect(c, sa(nobody), sizeof nobody), 0);
  ASSERT_EQ(skiff_send(c, "x", 1, 0), 1);
  h.advance(0ms);
  EXPECT_EQ(skiff_send(c, "x", 1, 0), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(a);
  skiff_close(b);
  skiff_close(c);
}

TEST(LocalDelivery, TcpOverTheLoopbackNet) {
  StackHarness h;
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in la = sin(Ipv4Addr::any(), 8081);
  ASSERT_EQ(skiff_bind(l, sa(la), sizeof la), 0);
  ASSERT_EQ(skiff_listen(l, 4), 0);
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(Ipv4Addr::of(127, 0, 0, 1), 8081);
  ASSERT_EQ(skiff_connect(c, sa(to), sizeof to), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  int s = -1;
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  for (int i = 0; i < 10 && s < 0; ++i) {
    h.advance(0ms);
    s = skiff_accept4(l, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
  }
  ASSERT_GE(s, 0) << strerror(errno);
  EXPECT_EQ(ntohl(peer.sin_addr.s_addr), Ipv4Addr::of(127, 0, 0, 1).host());
  ASSERT_EQ(skiff_send(c, "hello", 5, 0), 5);
  h.advance(0ms);
  char buf[8];
  EXPECT_EQ(skiff_recv(s, buf, sizeof buf, MSG_DONTWAIT), 5);
  // A connection refused: RST from 127.0.0.1.
  const int r = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in closed = sin(Ipv4Addr::of(127, 0, 0, 1), 8099);
  ASSERT_EQ(skiff_connect(r, sa(closed), sizeof closed), -1);
  h.advance(0ms);
  EXPECT_EQ(skiff_connect(r, sa(closed), sizeof closed), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(r);
  skiff_close(c);
  skiff_close(s);
  skiff_close(l);
}

TEST(LocalDelivery, LoopbackAddressesFromTheWireAreStillMartians) {
  // Only the host itself sends from or to 127/8: such a datagram from the wire is dropped.
  StackHarness h;
  h.learn_peer();
  const int a = bound_udp(7500);
  const Ipv4Addr lo = Ipv4Addr::of(127, 0, 0, 1);
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = lo, .dst = kOur, .proto = 17}, udp(lo, kOur, 4000, 7500, pattern(4)))));
  EXPECT_EQ(h.drops(Drop::Ipv4BadSrc), 1u);
  const Ipv4Addr peer = StackHarness::kPeerIp;
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = peer, .dst = lo, .proto = 17}, udp(peer, lo, 4000, 7500, pattern(4)))));
  EXPECT_EQ(h.drops(Drop::Ipv4NotForUs), 1u);
  uint8_t buf[8];
  EXPECT_EQ(skiff_recv(a, buf, sizeof buf, MSG_DONTWAIT), -1);
  skiff_close(a);
}

TEST(LocalDelivery, ALoopbackSourceNeverLeavesTheHost) {
  // A socket bound to 127/8 cannot talk to the world (Linux's __mkroute_output: EINVAL), and nothing leaves.
  StackHarness h;
  h.learn_peer();
  const sockaddr_in lo = sin(Ipv4Addr::of(127, 0, 0, 1), 0);
  const sockaddr_in peer = sin(StackHarness::kPeerIp, 9);
  const int t = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(skiff_bind(t, sa(lo), sizeof lo), 0);
  EXPECT_EQ(skiff_connect(t, sa(peer), sizeof peer), -1);
  EXPECT_EQ(errno, EINVAL);
  const int u = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(skiff_bind(u, sa(lo), sizeof lo), 0);
  EXPECT_EQ(skiff_sendto(u, "x", 1, 0, sa(peer), sizeof peer), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_connect(u, sa(peer), sizeof peer), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(t);
  skiff_close(u);
}

TEST(LocalDelivery, PktinfoNamesTheLoopbackAddressAReplyMustComeFrom) {
  // Linux's fib_compute_spec_dst: for a local route the destination itself, so a wildcard server answering
  // from ipi_spec_dst reaches a client connected to 127.0.0.5. Regression: it named the interface's address.
  StackHarness h;
  const int srv = bound_udp(7600);
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(srv, IPPROTO_IP, IP_PKTINFO, &on, sizeof on), 0);
  const int cli = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(Ipv4Addr::of(127, 0, 0, 5), 7600);
  ASSERT_EQ(skiff_connect(cli, sa(to), sizeof to), 0);
  ASSERT_EQ(skiff_send(cli, "q", 1, 0), 1);
  h.advance(0ms);
  uint8_t buf[8];
  alignas(cmsghdr) uint8_t cbuf[64];
  sockaddr_in from{};
  iovec v{buf, sizeof buf};
  msghdr m{};
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ASSERT_EQ(skiff_recvmsg(srv, &m, MSG_DONTWAIT), 1);
  const cmsghdr* c = CMSG_FIRSTHDR(&m);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->cmsg_type, IP_PKTINFO);
  in_pktinfo pi;
  memcpy(&pi, CMSG_DATA(c), sizeof pi);
  EXPECT_EQ(ntohl(pi.ipi_spec_dst.s_addr), Ipv4Addr::of(127, 0, 0, 5).host());
  // The answer from there reaches the connected client.
  in_pktinfo out{};
  out.ipi_spec_dst = pi.ipi_spec_dst;
  alignas(cmsghdr) uint8_t obuf[CMSG_SPACE(sizeof out)] = {};
  iovec one{buf, 1};
  msghdr r{};
  r.msg_name = &from;
  r.msg_namelen = sizeof from;
  r.msg_iov = &one;
  r.msg_iovlen = 1;
  r.msg_control = obuf;
  r.msg_controllen = sizeof obuf;
  cmsghdr* oc = CMSG_FIRSTHDR(&r);
  oc->cmsg_level = IPPROTO_IP;
  oc->cmsg_type = IP_PKTINFO;
  oc->cmsg_len = CMSG_LEN(sizeof out);
  memcpy(CMSG_DATA(oc), &out, sizeof out);
  ASSERT_EQ(skiff_sendmsg(srv, &r, 0), 1);
  h.advance(0ms);
  EXPECT_EQ(skiff_recv(cli, buf, sizeof buf, MSG_DONTWAIT), 1);
  skiff_close(srv);
  skiff_close(cli);
}

TEST(LocalDelivery, InaddrAnyIsTheHost) {
  // Linux routes 0.0.0.0 to 127.0.0.1 through lo: TCP connects to the host, UDP sends to it. Regression:
  // TCP connect() said ENETUNREACH, and with a default gateway a UDP sendto() put 0.0.0.0 on the wire.
  StackHarness h;
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in la = sin(Ipv4Addr::any(), 8082);
  ASSERT_EQ(skiff_bind(l, sa(la), sizeof la), 0);
  ASSERT_EQ(skiff_listen(l, 4), 0);
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(skiff_connect(c, sa(la), sizeof la), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  h.advance(0ms);
  ASSERT_EQ(skiff_connect(c, sa(la), sizeof la), 0);
  sockaddr_in name{};
  socklen_t nlen = sizeof name;
  ASSERT_EQ(skiff_getpeername(c, reinterpret_cast<sockaddr*>(&name), &nlen), 0);
  EXPECT_EQ(ntohl(name.sin_addr.s_addr), Ipv4Addr::of(127, 0, 0, 1).host());
  const int a = bound_udp(7700);
  const int b = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin(Ipv4Addr::any(), 7700);
  ASSERT_EQ(skiff_sendto(b, "z", 1, 0, sa(any), sizeof any), 1);
  h.advance(0ms);
  uint8_t x;
  EXPECT_EQ(skiff_recv(a, &x, 1, MSG_DONTWAIT), 1);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(c);
  skiff_close(l);
  skiff_close(a);
  skiff_close(b);
}

TEST(LocalDelivery, ErrorsToOurselvesAreNotRateLimited) {
  // Linux's icmpv4_xrlim_allow exempts the loopback: every send to a closed local port is refused.
  // Regression: after the per-destination burst (6) the errors stopped, and sends succeeded silently.
  StackHarness h;
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    const int c = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in to = sin(kOur, static_cast<uint16_t>(7800 + i));
    ASSERT_EQ(skiff_connect(c, sa(to), sizeof to), 0);
    ASSERT_EQ(skiff_send(c, "x", 1, 0), 1);
    h.advance(0ms);
    refused += skiff_send(c, "x", 1, 0) == -1 && errno == ECONNREFUSED;
    skiff_close(c);
  }
  EXPECT_EQ(refused, 20);
}

TEST(LocalDelivery, BulkTcpToOurselvesDropsNothing) {
  // The loopback queue is TCP's backpressure for a connection to the host (as the device's batch is for the
  // wire): a window far above the queue's 1,024 segments fills it and waits, instead of dropping its own
  // segments and recovering from the loss. Regression: LoopbackQueueFull drops and retransmissions.
  StackHarness h;
  const int big = 4 << 20;
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(skiff_setsockopt(l, SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);
  const sockaddr_in la = sin(Ipv4Addr::any(), 8083);
  ASSERT_EQ(skiff_bind(l, sa(la), sizeof la), 0);
  ASSERT_EQ(skiff_listen(l, 4), 0);
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(skiff_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof big), 0);
  const sockaddr_in to = sin(Ipv4Addr::of(127, 0, 0, 1), 8083);
  skiff_connect(c, sa(to), sizeof to);
  h.advance(0ms);
  const int s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s, 0);
  const Bytes data = pattern(8 << 20, 7);
  size_t sent = 0, got = 0;
  bool same = true;
  static uint8_t buf[1 << 16];
  for (int i = 0; i < 20000 && got < data.size(); ++i) {
    if (sent < data.size()) {
      const ssize_t n = skiff_send(c, data.data() + sent, data.size() - sent, MSG_DONTWAIT);
      if (n > 0) sent += static_cast<size_t>(n);
    }
    h.advance(100us);
    for (ssize_t n; (n = skiff_recv(s, buf, sizeof buf, MSG_DONTWAIT)) > 0; got += static_cast<size_t>(n))
      same &= memcmp(buf, data.data() + got, static_cast<size_t>(n)) == 0;
  }
  EXPECT_EQ(got, data.size());
  EXPECT_TRUE(same);
  EXPECT_EQ(h.drops(Drop::LoopbackQueueFull), 0u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
  skiff_close(c);
  skiff_close(s);
  skiff_close(l);
}

TEST(LocalDelivery, ARawSocketsChecksumIsCheckedOnTheWayIn) {
  // Only a transport checksum the stack left to the device counts as checked; one a raw socket wrote is
  // checked as a received one's. Regression: a raw datagram with a wrong UDP checksum was taken in.
  StackHarness h;
  const int a = bound_udp(7900);
  const int r = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_RAW);
  ASSERT_GE(r, 0);
  Bytes d = ipv4(Ipv4Spec{.src = kOur, .dst = kOur, .proto = 17}, udp(kOur, kOur, 4000, 7900, pattern(6)));
  d[20 + 6] ^= 0x5a;  // the UDP checksum
  const sockaddr_in to = sin(kOur, 0);
  ASSERT_EQ(skiff_sendto(r, d.data(), d.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(d.size()));
  h.advance(0ms);
  uint8_t buf[16];
  EXPECT_EQ(skiff_recv(a, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(h.drops(Drop::UdpBadChecksum), 1u);
  d[20 + 6] ^= 0x5a;  // right again: taken in
  ASSERT_EQ(skiff_sendto(r, d.data(), d.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(d.size()));
  h.advance(0ms);
  EXPECT_EQ(skiff_recv(a, buf, sizeof buf, MSG_DONTWAIT), 6);
  skiff_close(a);
  skiff_close(r);
}
