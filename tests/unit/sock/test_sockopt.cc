// Socket options on Skiff: the values Linux gives (the errno side is in test_errno_diff.cc), the limits
// that come from StackConfig, and options that shape the packets on the wire.
#include <netinet/ip.h>

#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

int get_int(int fd, int level, int name) {
  int v = -12345;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, level, name, &v, &len), 0)
      << level << "/" << name << ": " << strerror(errno);
  EXPECT_EQ(len, sizeof v);
  return v;
}
int set_int(int fd, int level, int name, int v) {
  return skiff_setsockopt(fd, level, name, &v, sizeof v);
}

}  // namespace

TEST(Sockopt, Defaults) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_BROADCAST), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVBUF), 212992);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_SNDBUF), 212992);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVLOWAT), 1);
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_TTL), 64);
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_TOS), 0);
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_HDRINCL), 0);
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_WANT);
  linger l{-1, -1};
  socklen_t len = sizeof l;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
  EXPECT_EQ(l.l_onoff, 0);
  EXPECT_EQ(l.l_linger, 0);
  EXPECT_EQ(len, sizeof l);
}

TEST(Sockopt, BufferSizesDoubleAndClampToConfig) {
  HarnessOptions o;
  o.cfg.sock.rmem_max = 100000;
  o.cfg.sock.wmem_max = 50000;
  o.cfg.sock.rmem_default = 4000;
  o.cfg.sock.wmem_default = 8000;
  StackHarness h(o);
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVBUF), 4000);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_SNDBUF), 8000);
  struct Case {
    int set, rcv, snd;
  } cases[] = {
      {0, 2304, 4608},            // the minimums (SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF)
      {1000, 2304, 4608},         // doubled, still under the minimum
      {3000, 6000, 6000},         // doubled
      {40000, 80000, 80000},      // doubled
      {60000, 120000, 100000},    // rcv doubled; snd clamped to wmem_max then doubled
      {1 << 30, 200000, 100000},  // clamped to the maxima, then doubled
      {-1, 200000, 100000},       // taken as unsigned: the maxima
  };
  for (const auto& c : cases) {
    ASSERT_EQ(set_int(fd, SOL_SOCKET, SO_RCVBUF, c.set), 0);
    ASSERT_EQ(set_int(fd, SOL_SOCKET, SO_SNDBUF, c.set), 0);
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVBUF), c.rcv) << c.set;
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_SNDBUF), c.snd) << c.set;
  }
}

TEST(Sockopt, BooleansAndLowat) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  for (int name : {SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE}) {
    EXPECT_EQ(set_int(fd, SOL_SOCKET, name, 42), 0) << name;
    EXPECT_EQ(get_int(fd, SOL_SOCKET, name), 1) << name;
    EXPECT_EQ(set_int(fd, SOL_SOCKET, name, 0), 0) << name;
    EXPECT_EQ(get_int(fd, SOL_SOCKET, name), 0) << name;
    const char one = 1;
    EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, name, &one, 1), -1) << name;
    EXPECT_EQ(errno, EINVAL);
  }
  EXPECT_EQ(set_int(fd, SOL_SOCKET, SO_RCVLOWAT, 0), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVLOWAT), 1);
  EXPECT_EQ(set_int(fd, SOL_SOCKET, SO_RCVLOWAT, -7), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVLOWAT), INT_MAX);
  EXPECT_EQ(set_int(fd, SOL_SOCKET, SO_PRIORITY, 4), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_PRIORITY), 4);
  EXPECT_EQ(set_int(fd, IPPROTO_IP, IP_TOS, 0x10), 0);  // IPTOS_LOWDELAY: the interactive band
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_PRIORITY), 6);
}

TEST(Sockopt, ReadOnlyAndUnknownOptions) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  for (int name : {SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ERROR, SO_ACCEPTCONN, SO_PEERNAME, 9999}) {
    EXPECT_EQ(set_int(fd, SOL_SOCKET, name, 1), -1) << name;
    EXPECT_EQ(errno, ENOPROTOOPT) << name;
  }
  int v;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, SOL_SOCKET, 9999, &v, &len), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_IP, 9999, &v, &len), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, 1, &v, &len), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, 1, 1), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  EXPECT_EQ(set_int(fd, IPPROTO_IP, IP_HDRINCL, 1), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, nullptr, 4), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_TYPE, nullptr, &len), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(Sockopt, LingerRoundTrip) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  const linger on{1, 30};
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_LINGER, &on, sizeof on), 0);
  linger l{};
  socklen_t len = sizeof l;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
  EXPECT_EQ(l.l_onoff, 1);
  EXPECT_EQ(l.l_linger, 30);
  const linger off{0, 99};
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off), 0);
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
  EXPECT_EQ(l.l_onoff, 0);
  EXPECT_EQ(l.l_linger, 30);  // Linux keeps the time when lingering is switched off
  EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_LINGER, &on, sizeof on - 1), -1);
  EXPECT_EQ(errno, EINVAL);
  // A datagram socket with SO_LINGER closes at once.
  EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_LINGER, &on, sizeof on), 0);
  EXPECT_EQ(skiff_close(fd), 0);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
}

TEST(Sockopt, SoErrorClearsOnRead) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 4444);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  uint8_t b[4] = {};
  ASSERT_EQ(skiff_send(fd, b, sizeof b, 0), 4);
  auto frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  h.inject(icmp_error_about(h, frames[0]));
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ERROR), 0);
  // Host unreachable is a soft error on UDP: not reported (RFC 1122 4.1.3.3, Linux's icmp_err_convert).
  ASSERT_EQ(skiff_send(fd, b, sizeof b, 0), 4);
  h.inject(icmp_error_about(h, h.sent()[0], wire::icmp_type::kDestUnreachable, 1));
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ERROR), 0);
  // With IP_RECVERR it is.
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_RECVERR, 1), 0);
  ASSERT_EQ(skiff_send(fd, b, sizeof b, 0), 4);
  h.inject(icmp_error_about(h, h.sent()[0], wire::icmp_type::kDestUnreachable, 1));
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ERROR), EHOSTUNREACH);
}

TEST(Sockopt, TtlAndTosOnTheWire) {
  HarnessOptions o;
  o.cfg.ipv4.default_ttl = 99;
  StackHarness h(o);
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 5000);
  uint8_t b[4] = {};
  auto send_one = [&]() -> SentIp {
    EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(to), sizeof to), 4);
    auto out = sent_udp(h.sent());
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? SentIp{} : out[0].ip;
  };
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_TTL), 99);  // the stack's default
  EXPECT_EQ(send_one().ttl, 99);
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_TTL, 7), 0);
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_TOS, 0xb8), 0);
  SentIp ip = send_one();
  EXPECT_EQ(ip.ttl, 7);
  EXPECT_EQ(ip.tos, 0xb8);
  EXPECT_TRUE(ip.checksum_ok);
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_TTL, -1), 0);  // back to the default
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_TTL), 99);
  EXPECT_EQ(send_one().ttl, 99);
  for (int bad : {0, 256, -2}) {
    EXPECT_EQ(set_int(fd, IPPROTO_IP, IP_TTL, bad), -1) << bad;
    EXPECT_EQ(errno, EINVAL);
  }
}

TEST(Sockopt, PmtuDiscoveryAndIpMtu) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 5000);
  int v;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_IP, IP_MTU, &v, &len), -1);
  EXPECT_EQ(errno, ENOTCONN);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_MTU), 1500);
  std::vector<uint8_t> big(2000, 1);
  // WANT (the default): fragments are allowed; small datagrams carry DF.
  EXPECT_EQ(skiff_send(fd, big.data(), 100, 0), 100);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(parse_ip(out[0])->flags_frag & 0x4000);
  EXPECT_EQ(skiff_send(fd, big.data(), big.size(), 0), 2000);
  EXPECT_EQ(h.sent().size(), 2u);
  // DO: too big for the path is EMSGSIZE.
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO), 0);
  EXPECT_EQ(skiff_send(fd, big.data(), 1472, 0), 1472);
  EXPECT_EQ(skiff_send(fd, big.data(), 1473, 0), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  // DONT: no DF.
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT), 0);
  h.sent();
  EXPECT_EQ(skiff_send(fd, big.data(), 100, 0), 100);
  out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(parse_ip(out[0])->flags_frag & 0x4000);
}

TEST(Sockopt, BroadcastPermission) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  uint8_t b[4] = {};
  const sockaddr_in to = sin(kBcast, 5000);
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(skiff_connect(fd, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EACCES);
  // 255.255.255.255 needs a route, as in Linux: without a default route it is unreachable either way.
  const sockaddr_in lim = sin(Ipv4Addr::broadcast(), 5000);
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(lim), sizeof lim), -1);
  EXPECT_EQ(errno, ENETUNREACH);
  ASSERT_EQ(set_int(fd, SOL_SOCKET, SO_BROADCAST, 1), 0);
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(to), sizeof to), 4);
  EXPECT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(lim), sizeof lim), -1);
  EXPECT_EQ(errno, ENETUNREACH);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  EXPECT_TRUE(ip->eth_dst.is_broadcast());
  EXPECT_EQ(ip->src, kOur);
  EXPECT_EQ(ip->dst, kBcast);
}
