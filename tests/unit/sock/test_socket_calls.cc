// The C API's calls on Skiff alone: descriptors (numbering, EMFILE at StackConfig.sock.max_fds, EBADF,
// ENOTSOCK), skiff_socketcall dispatching every SYS_* number, blocking calls driven by a pump hook, and the
// documented differences from Linux (no AF_INET6/AF_UNIX, no nested epoll, no loopback, no multicast
// options, blocking inside callbacks fails with EAGAIN).
#include <linux/net.h>
#include <linux/sockios.h>
#include <netinet/ip.h>

#include "api/skiff.hh"
#include "../tcp/tcp_test_util.hh"
#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

long sc(int call, std::initializer_list<unsigned long> args) {
  unsigned long a[6] = {};
  size_t i = 0;
  for (unsigned long v : args) a[i++] = v;
  return skiff_socketcall(call, a);
}
template <class T>
unsigned long ul(T* p) {
  return reinterpret_cast<unsigned long>(p);
}
unsigned long ul(int v) {
  return static_cast<unsigned long>(static_cast<long>(v));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Descriptors

TEST(SocketCalls, FirstDescriptorIsThreeAndLowestFreeIsReused) {
  StackHarness h;
  const int a = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  const int b = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  const int ep = skiff_epoll_create1(0);
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 4);
  EXPECT_EQ(ep, 5);
  EXPECT_EQ(skiff_close(a), 0);
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_DGRAM, 0), 3);
  EXPECT_EQ(skiff_close(b), 0);
  EXPECT_EQ(skiff_epoll_create(1), 4);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 3u);
}

TEST(SocketCalls, EmfileAtTheConfiguredLimit) {
  HarnessOptions o;
  o.cfg.sock.max_fds = 16;  // descriptors 3..15, as RLIMIT_NOFILE 16 would allow
  StackHarness h(o);
  std::vector<int> fds;
  for (int i = 3; i < 16; ++i) {
    const int fd = (i % 2) ? skiff_socket(AF_INET, SOCK_DGRAM, 0) : skiff_epoll_create1(0);
    ASSERT_EQ(fd, i) << strerror(errno);
    fds.push_back(fd);
  }
  errno = 0;
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, EMFILE);
  EXPECT_EQ(skiff_epoll_create1(0), -1);
  EXPECT_EQ(errno, EMFILE);
  int sv[2];
  EXPECT_EQ(skiff_socketpair(AF_INET, SOCK_DGRAM, 0, sv), -1);
  EXPECT_EQ(errno, EMFILE);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 7u);  // no object leaked by the failures
  EXPECT_EQ(skiff_close(fds[5]), 0);
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_DGRAM, 0), fds[5]);
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, EMFILE);
  for (int fd : fds) EXPECT_EQ(skiff_close(fd), 0);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
}

TEST(SocketCalls, BadDescriptorsAndEpollUsedAsSocket) {
  StackHarness h;
  uint8_t b[4];
  for (int fd : {-1, 0, 1, 2, 3, 100, 65535, 65536, 1 << 30}) {
    EXPECT_EQ(skiff_recv(fd, b, sizeof b, MSG_DONTWAIT), -1) << fd;
    EXPECT_EQ(errno, EBADF) << fd;
    EXPECT_EQ(skiff_close(fd), -1) << fd;
    EXPECT_EQ(errno, EBADF) << fd;
    EXPECT_EQ(skiff_fcntl(fd, F_GETFL), -1) << fd;
    EXPECT_EQ(errno, EBADF);
  }
  const int ep = skiff_epoll_create1(0);
  const sockaddr_in a = sin(kOur, 1000);
  EXPECT_EQ(skiff_bind(ep, sa(a), sizeof a), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  EXPECT_EQ(skiff_sendto(ep, b, 1, 0, sa(a), sizeof a), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  EXPECT_EQ(skiff_recv_zc(ep, nullptr, nullptr, nullptr, nullptr), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  int v = 0;
  EXPECT_EQ(skiff_ioctl(ep, FIONREAD, &v), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_read(ep, b, sizeof b), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_close(ep), 0);
  EXPECT_EQ(skiff_close(ep), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(SocketCalls, NoShardOnThisThread) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  set_this_shard(nullptr);
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, ENXIO);
  EXPECT_EQ(skiff_epoll_create1(0), -1);
  EXPECT_EQ(errno, ENXIO);
  uint8_t b[4];
  EXPECT_EQ(skiff_recv(fd, b, sizeof b, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(skiff_close(fd), -1);
  EXPECT_EQ(errno, EBADF);
  set_this_shard(&h.shard());
  EXPECT_EQ(skiff_close(fd), 0);
}

// ---------------------------------------------------------------------------------------------------------
// socket(): what inet_create resolves

TEST(SocketCalls, SocketResolvesTypeAndProtocol) {
  StackHarness h;
  struct Case {
    int type, protocol, err;  // err 0 = success
    int so_protocol;
  } cases[] = {
      {SOCK_DGRAM, 0, 0, IPPROTO_UDP},
      {SOCK_DGRAM, IPPROTO_UDP, 0, IPPROTO_UDP},
      {SOCK_DGRAM, IPPROTO_TCP, EPROTONOSUPPORT, 0},
      {SOCK_DGRAM, -1, EINVAL, 0},
      {SOCK_DGRAM, 256, EPROTONOSUPPORT, 0},
      {SOCK_DGRAM, IPPROTO_MAX, EINVAL, 0},
      {SOCK_RAW, 0, EPROTONOSUPPORT, 0},
      {SOCK_RAW, IPPROTO_ICMP, 0, IPPROTO_ICMP},
      {SOCK_RAW, IPPROTO_RAW, 0, IPPROTO_RAW},
      {SOCK_RAW, 256, 0, 256},
      {SOCK_SEQPACKET, 0, ESOCKTNOSUPPORT, 0},
      {0, 0, ESOCKTNOSUPPORT, 0},
      {7, 0, ESOCKTNOSUPPORT, 0},
      {11, 0, EINVAL, 0},
      {999, 0, EINVAL, 0},
      {SOCK_DGRAM | 0x1000, 0, EINVAL, 0},
  };
  for (const auto& c : cases) {
    errno = 0;
    const int fd = skiff_socket(AF_INET, c.type, c.protocol);
    if (c.err) {
      EXPECT_EQ(fd, -1) << c.type << "/" << c.protocol;
      EXPECT_EQ(errno, c.err) << c.type << "/" << c.protocol << ": " << strerror(errno);
      continue;
    }
    ASSERT_GE(fd, 3) << c.type << "/" << c.protocol << ": " << strerror(errno);
    int v = 0;
    socklen_t len = sizeof v;
    EXPECT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
    EXPECT_EQ(v, c.so_protocol);
    EXPECT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
    EXPECT_EQ(v, c.type);
    EXPECT_EQ(skiff_close(fd), 0);
  }
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
  EXPECT_EQ(h.shard().socks.in_use(raw_prot), 0u);
}

TEST(SocketCalls, NonblockAndCloexecInType) {
  StackHarness h;
  const int a = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  EXPECT_EQ(skiff_fcntl(a, F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(skiff_fcntl(a, F_GETFD), FD_CLOEXEC);
  const int b = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(skiff_fcntl(b, F_GETFL), O_RDWR);
  EXPECT_EQ(skiff_fcntl(b, F_GETFD), 0);
  const int ep = skiff_epoll_create1(EPOLL_CLOEXEC);
  EXPECT_EQ(skiff_fcntl(ep, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(skiff_epoll_create1(EPOLL_CLOEXEC | 1), -1);
  EXPECT_EQ(errno, EINVAL);
}

// Differences Skiff documents: IPv4 only, no ping sockets, no nested epoll sets, no multicast group membership,
// no loopback interface.
TEST(SocketCalls, DocumentedDifferencesFromLinux) {
  StackHarness h;
  EXPECT_EQ(skiff_socket(AF_INET6, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(skiff_socket(AF_UNIX, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(skiff_socket(AF_PACKET, SOCK_RAW, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(skiff_socket(AF_INET6, 15, 0), -1);
  EXPECT_EQ(errno, EINVAL);  // the type's range is checked before the family's support, as Linux
  int sv[2] = {-1, -1};
  EXPECT_EQ(skiff_socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(skiff_socketpair(AF_INET, SOCK_DGRAM, 0, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), -1);  // Linux: a ping socket
  EXPECT_EQ(errno, EPROTONOSUPPORT);
  EXPECT_EQ(skiff_socket(AF_INET, SOCK_PACKET, 0), -1);  // Linux: becomes AF_PACKET
  EXPECT_EQ(errno, ESOCKTNOSUPPORT);

  const int ep1 = skiff_epoll_create1(0);
  const int ep2 = skiff_epoll_create1(0);
  epoll_event ev{EPOLLIN, {.fd = ep2}};
  EXPECT_EQ(skiff_epoll_ctl(ep1, EPOLL_CTL_ADD, ep2, &ev), -1);  // Linux nests epoll sets
  EXPECT_EQ(errno, EPERM);

  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin(Ipv4Addr::any(), 53);  // as Linux: 127.0.0.1, the host's loopback net
  EXPECT_EQ(skiff_connect(fd, sa(any), sizeof any), 0);
  sockaddr_in name{};
  socklen_t nlen = sizeof name;
  ASSERT_EQ(skiff_getpeername(fd, sa(name), &nlen), 0);
  EXPECT_EQ(addr_of(name), kLoop);
  ASSERT_EQ(skiff_getsockname(fd, sa(name), &nlen), 0);
  EXPECT_EQ(addr_of(name), kLoop);
  const sockaddr_in far = sin(kNonLocal, 53);  // no gateway configured
  EXPECT_EQ(skiff_connect(fd, sa(far), sizeof far), -1);
  EXPECT_EQ(errno, ENETUNREACH);
  uint8_t b[4] = {};
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(far), sizeof far), -1);
  EXPECT_EQ(errno, ENETUNREACH);
}

// Sending to a multicast group: the frame goes on the link to the group's Ethernet address (RFC 1112 §6.4),
// not to the gateway, with IP_MULTICAST_TTL's TTL (1 by default) unless the send's IP_TTL says otherwise;
// IP_TTL is for unicast only. (Before: unicast to the gateway's MAC with TTL 64. Found in review.)
TEST(SocketCalls, MulticastSendsGoOnTheLinkWithTheMulticastTtl) {
  StackHarness h(HarnessOptions{.gateway = kPeer});
  h.learn_peer();
  h.sent();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int ttl20 = 20;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl20, sizeof ttl20), 0);
  const sockaddr_in group = sin(Ipv4Addr::of(239, 129, 2, 3), 5000);
  uint8_t b[4] = {1, 2, 3, 4};
  auto one = [&]() -> std::optional<SentIp> {
    auto out = h.sent();
    if (out.size() != 1) {
      ADD_FAILURE() << out.size() << " frames";
      return std::nullopt;
    }
    return parse_ip(out[0]);
  };
  ASSERT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(group), sizeof group), 4);
  auto ip = one();
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->eth_dst, (MacAddr{{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}}));  // 129 & 0x7f = 1
  EXPECT_EQ(ip->dst, Ipv4Addr::of(239, 129, 2, 3));
  EXPECT_EQ(ip->ttl, 1);
  const int ttl8 = 8;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl8, sizeof ttl8), 0);
  ASSERT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(group), sizeof group), 4);
  ip = one();
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ttl, 8);
  // Unicast still takes IP_TTL, through the gateway.
  const sockaddr_in far = sin(Ipv4Addr::of(192, 168, 7, 7), 5000);
  ASSERT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(far), sizeof far), 4);
  ip = one();
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->eth_dst, StackHarness::kPeerMac);
  EXPECT_EQ(ip->ttl, 20);
}

// ---------------------------------------------------------------------------------------------------------
// skiff_socketcall: every SYS_* number reaches its call with the kernel's argument layout.

TEST(SocketCalls, SocketcallDispatchesEveryCall) {
  StackHarness h;
  h.learn_peer();
  const long fd = sc(SYS_SOCKET, {AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0});
  ASSERT_EQ(fd, 3);
  EXPECT_EQ(sc(SYS_SOCKET, {AF_INET, SOCK_DGRAM, ul(IPPROTO_TCP)}), -1);
  EXPECT_EQ(errno, EPROTONOSUPPORT);
  sockaddr_in a = sin(Ipv4Addr::any(), 7100);
  EXPECT_EQ(sc(SYS_BIND, {ul(static_cast<int>(fd)), ul(&a), sizeof a}), 0);
  EXPECT_EQ(sc(SYS_BIND, {ul(static_cast<int>(fd)), ul(&a), sizeof a}), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(sc(SYS_LISTEN, {ul(static_cast<int>(fd)), 5}), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  EXPECT_EQ(sc(SYS_ACCEPT, {ul(static_cast<int>(fd)), ul(&peer), ul(&plen)}), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(sc(SYS_ACCEPT4, {ul(static_cast<int>(fd)), ul(&peer), ul(&plen), SOCK_NONBLOCK}), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(sc(SYS_GETPEERNAME, {ul(static_cast<int>(fd)), ul(&peer), ul(&plen)}), -1);
  EXPECT_EQ(errno, ENOTCONN);
  sockaddr_in me{};
  socklen_t mlen = sizeof me;
  EXPECT_EQ(sc(SYS_GETSOCKNAME, {ul(static_cast<int>(fd)), ul(&me), ul(&mlen)}), 0);
  EXPECT_EQ(ntohs(me.sin_port), 7100);
  int sv[2];
  EXPECT_EQ(sc(SYS_SOCKETPAIR, {AF_INET, SOCK_DGRAM, 0, ul(sv)}), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  sockaddr_in to = sin(kPeer, 5000);
  EXPECT_EQ(sc(SYS_CONNECT, {ul(static_cast<int>(fd)), ul(&to), sizeof to}), 0);
  plen = sizeof peer;
  EXPECT_EQ(sc(SYS_GETPEERNAME, {ul(static_cast<int>(fd)), ul(&peer), ul(&plen)}), 0);
  EXPECT_EQ(ntohs(peer.sin_port), 5000);
  uint8_t data[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(sc(SYS_SEND, {ul(static_cast<int>(fd)), ul(data), 3, 0}), 3);
  EXPECT_EQ(sc(SYS_SENDTO, {ul(static_cast<int>(fd)), ul(data), 4, 0, ul(&to), sizeof to}), 4);
  iovec iov{data, 5};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  EXPECT_EQ(sc(SYS_SENDMSG, {ul(static_cast<int>(fd)), ul(&m), 0}), 5);
  mmsghdr mm[2]{};
  mm[0].msg_hdr = m;
  mm[1].msg_hdr = m;
  EXPECT_EQ(sc(SYS_SENDMMSG, {ul(static_cast<int>(fd)), ul(mm), 2, 0}), 2);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].payload.size(), 3u);
  EXPECT_EQ(out[1].payload.size(), 4u);
  EXPECT_EQ(out[2].payload.size(), 5u);

  uint8_t buf[64];
  for (int i = 0; i < 4; ++i) h.inject(udp_frame(h, 5000, 7100, pattern(10 + static_cast<size_t>(i))));
  EXPECT_EQ(sc(SYS_RECV, {ul(static_cast<int>(fd)), ul(buf), sizeof buf, 0}), 10);
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  EXPECT_EQ(sc(SYS_RECVFROM, {ul(static_cast<int>(fd)), ul(buf), sizeof buf, 0, ul(&from), ul(&flen)}), 11);
  EXPECT_EQ(addr_of(from), kPeer);
  iovec riov{buf, sizeof buf};
  msghdr rm{};
  rm.msg_iov = &riov;
  rm.msg_iovlen = 1;
  EXPECT_EQ(sc(SYS_RECVMSG, {ul(static_cast<int>(fd)), ul(&rm), 0}), 12);
  mmsghdr rmm[2]{};
  rmm[0].msg_hdr = rm;
  rmm[1].msg_hdr = rm;
  EXPECT_EQ(sc(SYS_RECVMMSG, {ul(static_cast<int>(fd)), ul(rmm), 2, MSG_DONTWAIT, 0}), 1);
  EXPECT_EQ(rmm[0].msg_len, 13u);
  int v = 1;
  EXPECT_EQ(sc(SYS_SETSOCKOPT, {ul(static_cast<int>(fd)), SOL_SOCKET, SO_BROADCAST, ul(&v), sizeof v}), 0);
  v = 0;
  socklen_t vl = sizeof v;
  EXPECT_EQ(sc(SYS_GETSOCKOPT, {ul(static_cast<int>(fd)), SOL_SOCKET, SO_BROADCAST, ul(&v), ul(&vl)}), 0);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(sc(SYS_GETSOCKOPT, {ul(static_cast<int>(fd)), SOL_SOCKET, 9999, ul(&v), ul(&vl)}), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  EXPECT_EQ(sc(SYS_SHUTDOWN, {ul(static_cast<int>(fd)), SHUT_RDWR}), 0);
  EXPECT_EQ(sc(SYS_SHUTDOWN, {ul(static_cast<int>(fd)), 3}), -1);
  EXPECT_EQ(errno, EINVAL);
  // Descriptor arguments go through the same lookup.
  EXPECT_EQ(sc(SYS_RECV, {999, ul(buf), sizeof buf, 0}), -1);
  EXPECT_EQ(errno, EBADF);
  // Unknown calls and a missing argument block.
  for (int call : {0, -1, SYS_SENDMMSG + 1, 100}) {
    EXPECT_EQ(sc(call, {}), -1) << call;
    EXPECT_EQ(errno, EINVAL) << call;
  }
  EXPECT_EQ(skiff_socketcall(SYS_SOCKET, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_close(static_cast<int>(fd)), 0);
}

// ---------------------------------------------------------------------------------------------------------
// Autobind and names

TEST(SocketCalls, AutobindOnFirstSendOrConnect) {
  StackHarness h;
  h.learn_peer();
  const int a = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(local_port(a), 0);
  const sockaddr_in to = sin(kPeer, 9);
  uint8_t b[1] = {0};
  ASSERT_EQ(skiff_sendto(a, b, 1, 0, sa(to), sizeof to), 1);
  const uint16_t pa = local_port(a);
  EXPECT_GE(pa, 32768);
  EXPECT_LE(pa, 60999);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sport, pa);
  ASSERT_EQ(skiff_sendto(a, b, 1, 0, sa(to), sizeof to), 1);
  EXPECT_EQ(local_port(a), pa);  // the port stays
  EXPECT_EQ(sent_udp(h.sent())[0].sport, pa);

  const int c = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(skiff_connect(c, sa(to), sizeof to), 0);
  const uint16_t pc = local_port(c);
  EXPECT_GE(pc, 32768);
  EXPECT_NE(pc, pa);
  sockaddr_in me{};
  socklen_t len = sizeof me;
  ASSERT_EQ(skiff_getsockname(c, sa(me), &len), 0);
  EXPECT_EQ(addr_of(me), kOur);  // connect picks the source address
  // A datagram for the autobound port arrives.
  h.inject(udp_frame(h, 9, pc, pattern(4)));
  EXPECT_EQ(skiff_recv(c, b, sizeof b, 0), 1);
}

// ---------------------------------------------------------------------------------------------------------
// Blocking calls: the shard's pump runs while they wait (tests drive it through pump_hook).

TEST(SocketCalls, BlockingRecvRunsThePump) {
  StackHarness h;
  const int fd = bound_udp(7200, 0);  // blocking
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps == 3) h.inject(udp_frame(h, 5000, 7200, pattern(33)));
  };
  uint8_t buf[64];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 33);
  EXPECT_EQ(pumps, 3);
  // MSG_DONTWAIT does not wait.
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(pumps, 3);
  // read() and readv() block the same way.
  pumps = 0;
  EXPECT_EQ(skiff_read(fd, buf, sizeof buf), 33);
  iovec iov{buf, sizeof buf};
  pumps = 0;
  EXPECT_EQ(skiff_readv(fd, &iov, 1), 33);
  h.shard().pump_hook = nullptr;
}

TEST(SocketCalls, BlockingRecvTimesOutWithSoRcvtimeo) {
  StackHarness h;
  const int fd = bound_udp(7201, 0);
  const timeval tv{0, 200'000};
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  int pumps = 0;
  h.shard().pump_hook = [&] {
    ++pumps;
    h.advance(10ms);
  };
  uint8_t buf[8];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GE(pumps, 19);
  EXPECT_LE(pumps, 21);
  h.shard().pump_hook = nullptr;
}

// Blocking calls must not spin where poll shows readiness that does not let the call progress: an entry on
// the error queue keeps EPOLLERR up while recv() has nothing to read. The shard runs between tries and
// SO_RCVTIMEO's one deadline still ends the call. (Before: the call looped forever, the stack never ran.)
TEST(SocketCalls, BlockingRecvWithAnErrorQueuedStillWaitsAndTimesOut) {
  StackHarness h;
  h.learn_peer();
  const int fd = bound_udp(7203, 0);
  const int one = 1, pmtu_do = IP_PMTUDISC_DO;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one), 0);
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu_do, sizeof pmtu_do), 0);
  const sockaddr_in to = sin(kPeer, 5000);
  const Bytes big(2000, 1);
  ASSERT_EQ(skiff_sendto(fd, big.data(), big.size(), 0, sa(to), sizeof to), -1);  // a local EMSGSIZE, queued
  ASSERT_EQ(errno, EMSGSIZE);
  const timeval tv{0, 200'000};
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps > 1000) request_stop();  // a guard: the old code never pumped at all, this one must not spin
    h.advance(10ms);
  };
  uint8_t buf[8];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GE(pumps, 19);
  EXPECT_LE(pumps, 21);
  // A datagram that arrives meanwhile is what a blocking recv() returns.
  pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps == 3) h.inject(udp_frame(h, 5000, 7203, pattern(12)));
    if (pumps > 1000) request_stop();
  };
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 8);
  EXPECT_EQ(pumps, 3);
  // MSG_ERRQUEUE never waits (Linux's ip_recv_error): the entry, then EAGAIN at once though blocking.
  pumps = 0;
  uint8_t ctl[128];
  iovec iov{buf, sizeof buf};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  EXPECT_EQ(skiff_recvmsg(fd, &m, MSG_ERRQUEUE), 0);
  m.msg_controllen = sizeof ctl;
  EXPECT_EQ(skiff_recvmsg(fd, &m, MSG_ERRQUEUE), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(pumps, 0);
  clear_stop();
  h.shard().pump_hook = nullptr;
}

// A negative SO_RCVTIMEO is "do not wait" (Linux's sock_set_timeout stores 0 jiffies) and reads back as
// {0, 0}; {0, 0} is "wait forever".
TEST(SocketCalls, NegativeReceiveTimeoutDoesNotWait) {
  StackHarness h;
  const int fd = bound_udp(7204, 0);
  const timeval neg{-5, 0};
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg), 0);
  timeval got{1, 1};
  socklen_t len = sizeof got;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
  EXPECT_EQ(got.tv_sec, 0);
  EXPECT_EQ(got.tv_usec, 0);
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps > 1000) request_stop();
    h.advance(10ms);
  };
  uint8_t buf[8];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(pumps, 0);
  clear_stop();
  h.shard().pump_hook = nullptr;
}

// No ephemeral port left: a blocking send is EAGAIN at once (Linux's inet_send_prepare), not a wait for room.
TEST(SocketCalls, BlockingSendWithNoPortLeftIsEagainAtOnce) {
  HarnessOptions o;
  o.cfg.sock.port_lo = 40000;
  o.cfg.sock.port_hi = 40000;
  StackHarness h(o);
  h.learn_peer();
  bound_udp(0);  // takes the only port
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);  // blocking
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps > 1000) request_stop();
    h.advance(10ms);
  };
  const sockaddr_in to = sin(kPeer, 5000);
  uint8_t b[1] = {};
  EXPECT_EQ(skiff_sendto(fd, b, 1, 0, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(pumps, 0);
  EXPECT_EQ(skiff_connect(fd, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EAGAIN);
  clear_stop();
  h.shard().pump_hook = nullptr;
}

// MSG_WAITALL on a stream socket: a NULL msghdr is EFAULT (it crashed), and what recvmsg reports besides the
// bytes (msg_flags, msg_controllen) reaches the caller's msghdr (it kept the caller's values).
TEST(SocketCalls, RecvmsgWaitallChecksItsArgumentsAndReportsFlags) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(skiff_recvmsg(fd, nullptr, MSG_WAITALL), -1);
  EXPECT_EQ(errno, EFAULT);
  msghdr m{};
  m.msg_iovlen = 1;  // no iovec array
  EXPECT_EQ(skiff_recvmsg(fd, &m, MSG_WAITALL), -1);
  EXPECT_EQ(errno, EFAULT);
  uint8_t buf[4], ctl[64];
  iovec iov{buf, sizeof buf};
  m.msg_iov = &iov;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  m.msg_flags = -1;
  EXPECT_EQ(skiff_recvmsg(fd, &m, MSG_WAITALL | MSG_DONTWAIT), -1);  // not connected
  EXPECT_EQ(errno, ENOTCONN);
  // Connected, the whole buffer filled by two segments: no control data, no flags.
  tcpt::Conn c = tcpt::accept_conn(h);
  ASSERT_EQ(skiff_fcntl(c.fd, F_SETFL, 0), 0);  // blocking
  c.push(pattern(2, 1));
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps == 2) c.push(pattern(2, 2));
    if (pumps > 1000) request_stop();
  };
  m.msg_controllen = sizeof ctl;
  m.msg_flags = -1;
  EXPECT_EQ(skiff_recvmsg(c.fd, &m, MSG_WAITALL), 4);
  EXPECT_EQ(m.msg_controllen, 0u);
  EXPECT_EQ(m.msg_flags, 0);
  clear_stop();
  h.shard().pump_hook = nullptr;
}

TEST(SocketCalls, BlockingRecvInterruptedByStopAndByClose) {
  StackHarness h;
  const int fd = bound_udp(7202, 0);
  h.shard().pump_hook = [] { request_stop(); };
  uint8_t buf[8];
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EINTR);
  clear_stop();
  h.shard().pump_hook = [&] { skiff_close(fd); };  // another part of the app closes it meanwhile
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EBADF);
  h.shard().pump_hook = nullptr;
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
}

TEST(SocketCalls, BlockingRecvmmsgWaitForOne) {
  StackHarness h;
  const int fd = bound_udp(7203, 0);
  h.shard().pump_hook = [&] {
    h.inject(udp_frame(h, 5000, 7203, pattern(5)));
    h.inject(udp_frame(h, 5000, 7203, pattern(6)));
  };
  uint8_t in[3][16];
  iovec iov[3];
  mmsghdr m[3]{};
  for (int i = 0; i < 3; ++i) {
    iov[i] = {in[i], sizeof in[i]};
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  // Waits for the first, then takes what is there without waiting.
  EXPECT_EQ(skiff_recvmmsg(fd, m, 3, MSG_WAITFORONE, nullptr), 2);
  EXPECT_EQ(m[0].msg_len, 5u);
  EXPECT_EQ(m[1].msg_len, 6u);
  h.shard().pump_hook = nullptr;
}

// The timeout is checked after each datagram, and the time left is written back when datagrams are
// returned (Linux's __sys_recvmmsg / do_recvmmsg), 0 once it ran out.
TEST(SocketCalls, RecvmmsgWritesBackTheTimeLeft) {
  StackHarness h;
  const int fd = bound_udp(7205, 0);
  // Each wait brings one datagram, 300 ms later.
  h.shard().pump_hook = [&] {
    h.clock().advance(300ms);
    h.inject(udp_frame(h, 5000, 7205, pattern(4)));
  };
  uint8_t in[5][16];
  iovec iov[5];
  mmsghdr m[5]{};
  for (int i = 0; i < 5; ++i) {
    iov[i] = {in[i], sizeof in[i]};
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  timespec ts{1, 0};
  EXPECT_EQ(skiff_recvmmsg(fd, m, 2, 0, &ts), 2);  // vlen reached after 600 ms
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 400'000'000);
  ts = {0, 500'000'000};
  EXPECT_EQ(skiff_recvmmsg(fd, m, 5, 0, &ts), 2);  // 600 ms > 500 ms: stops after the second datagram
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  // Nothing returned: the timeout is left as it was.
  h.shard().pump_hook = nullptr;
  ts = {2, 5};
  EXPECT_EQ(skiff_recvmmsg(fd, m, 5, MSG_DONTWAIT, &ts), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(ts.tv_sec, 2);
  EXPECT_EQ(ts.tv_nsec, 5);
}

// Inside an event callback a blocking call cannot wait (the poll loop is the caller): EAGAIN.
TEST(SocketCalls, BlockingCallInsideACallbackFailsWithEagain) {
  StackHarness h;
  const int fd = bound_udp(7204, 0);
  int first = -2, second = -2, second_errno = 0;
  net::SocketRef(fd).on_readable([&](net::SocketRef s) {
    uint8_t b[16];
    first = static_cast<int>(skiff_recv(s.fd(), b, sizeof b, 0));
    second = static_cast<int>(skiff_recv(s.fd(), b, sizeof b, 0));
    second_errno = errno;
  });
  h.shard().pump_hook = [] { FAIL() << "a callback must not pump"; };
  h.inject(udp_frame(h, 5000, 7204, pattern(9)));
  h.shard().dispatch_events();
  EXPECT_EQ(first, 9);
  EXPECT_EQ(second, -1);
  EXPECT_EQ(second_errno, EAGAIN);
  h.shard().pump_hook = nullptr;
  skiff_close(fd);
}

// ---------------------------------------------------------------------------------------------------------
// read/write family, fcntl, ioctl

TEST(SocketCalls, ReadWriteFamily) {
  StackHarness h;
  h.learn_peer();
  const int fd = bound_udp(7300);
  const sockaddr_in to = sin(kPeer, 5000);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  const Bytes p = pattern(40, 4);
  EXPECT_EQ(skiff_write(fd, p.data(), 10), 10);
  iovec iov[3] = {
      {const_cast<uint8_t*>(p.data()), 5}, {nullptr, 0}, {const_cast<uint8_t*>(p.data()) + 5, 15}};
  EXPECT_EQ(skiff_writev(fd, iov, 3), 20);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, Bytes(p.begin(), p.begin() + 10));
  EXPECT_EQ(out[1].payload, Bytes(p.begin(), p.begin() + 20));
  h.inject(udp_frame(h, 5000, 7300, p));
  uint8_t a[7], b[100];
  iovec riov[2] = {{a, sizeof a}, {b, sizeof b}};
  EXPECT_EQ(skiff_readv(fd, riov, 2), 40);
  EXPECT_EQ(Bytes(a, a + 7), Bytes(p.begin(), p.begin() + 7));
  EXPECT_EQ(Bytes(b, b + 33), Bytes(p.begin() + 7, p.end()));
  EXPECT_EQ(skiff_readv(fd, nullptr, 2), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_writev(fd, iov, IOV_MAX + 1), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(SocketCalls, FcntlAndIoctl) {
  StackHarness h;
  const int fd = bound_udp(7301, 0);
  EXPECT_EQ(skiff_fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(skiff_fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND), 0);
  EXPECT_EQ(skiff_fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  uint8_t b[4];
  EXPECT_EQ(skiff_recv(fd, b, sizeof b, 0), -1);  // no pump: it did not block
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(skiff_fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_EQ(skiff_fcntl(fd, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(skiff_fcntl(fd, F_DUPFD, 10), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_fcntl(fd, 12345), -1);
  EXPECT_EQ(errno, EINVAL);

  int n = -1;
  EXPECT_EQ(skiff_ioctl(fd, FIONREAD, &n), 0);
  EXPECT_EQ(n, 0);
  h.inject(udp_frame(h, 5000, 7301, pattern(21)));
  h.inject(udp_frame(h, 5000, 7301, pattern(50)));
  EXPECT_EQ(skiff_ioctl(fd, FIONREAD, &n), 0);
  EXPECT_EQ(n, 21);  // the next datagram's payload, not the total
  EXPECT_EQ(skiff_ioctl(fd, SIOCINQ, &n), 0);
  EXPECT_EQ(n, 21);
  EXPECT_EQ(skiff_ioctl(fd, SIOCOUTQ, &n), 0);
  EXPECT_EQ(n, 0);
  int off = 0;
  EXPECT_EQ(skiff_ioctl(fd, FIONBIO, &off), 0);
  EXPECT_EQ(skiff_fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(skiff_ioctl(fd, FIONBIO, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_ioctl(fd, FIONREAD, nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_ioctl(fd, 0x5401 /* TCGETS */, &n), -1);
  EXPECT_EQ(errno, ENOTTY);
  EXPECT_EQ(skiff_ioctl(fd, FIONCLEX, nullptr), 0);
  EXPECT_EQ(skiff_fcntl(fd, F_GETFD), 0);
}

// ---------------------------------------------------------------------------------------------------------
// recvmsg and sendmsg details

TEST(SocketCalls, RecvmsgNameAndFlags) {
  StackHarness h;
  const int fd = bound_udp(7400);
  h.inject(udp_frame(h, 5123, 7400, pattern(30)));
  uint8_t buf[10];
  sockaddr_in from{};
  iovec iov{buf, sizeof buf};
  msghdr m{};
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  char cbuf[64];
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  EXPECT_EQ(skiff_recvmsg(fd, &m, MSG_PEEK), 10);
  EXPECT_EQ(m.msg_flags, MSG_TRUNC);
  EXPECT_EQ(m.msg_namelen, sizeof(sockaddr_in));
  EXPECT_EQ(m.msg_controllen, 0u);  // no control messages
  EXPECT_EQ(ntohs(from.sin_port), 5123);
  EXPECT_EQ(addr_of(from), kPeer);
  EXPECT_EQ(skiff_recvmsg(fd, &m, MSG_TRUNC), 30);
  EXPECT_EQ(skiff_recvmsg(fd, &m, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(skiff_recvmsg(fd, nullptr, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  m.msg_iov = nullptr;
  EXPECT_EQ(skiff_recvmsg(fd, &m, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  m.msg_iov = &iov;
  m.msg_iovlen = IOV_MAX + 1;
  EXPECT_EQ(skiff_recvmsg(fd, &m, 0), -1);
  EXPECT_EQ(errno, EMSGSIZE);
}
