// Several shards per stack (issue: multi-core). Two stacks with 1..4 shards each, wired through in-memory
// multi-queue devices (tests/harness/multi_harness.hh), one thread, one manual clock: listeners on every
// shard, steered active opens, software steering for single-queue devices and foreign hashes, ARP owned by
// shard 0, fragments, ICMP errors, UDP and listeners bound on one shard only, messages between shards.
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/tcp.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "api/skiff.h"
#include "multi_harness.hh"
#include "wire/checksum.hh"
#include "wire/ipv4.hh"
#include "tcp/tcp.hh"
#include "tcp/tcp_table.hh"

using namespace skiff;
using namespace skiff::test;

namespace {

sockaddr_in sin_of(Ipv4Addr a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(a.host());
  return s;
}
const sockaddr* sa(const sockaddr_in& s) { return reinterpret_cast<const sockaddr*>(&s); }

int tcp_listen(uint16_t port, int backlog = 4096) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  const sockaddr_in a = sin_of(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, sa(a), sizeof a), 0) << strerror(errno);
  EXPECT_EQ(skiff_listen(fd, backlog), 0) << strerror(errno);
  return fd;
}

int tcp_connect(Ipv4Addr dst, uint16_t port) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  const sockaddr_in a = sin_of(dst, port);
  EXPECT_EQ(skiff_connect(fd, sa(a), sizeof a), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  return fd;
}

// A listener on `port` on each of a's first `shards` shards (a replicated listener, as SO_REUSEPORT).
std::vector<int> listen_on_a(MultiHarness& h, unsigned shards, uint16_t port) {
  std::vector<int> out;
  for (unsigned s = 0; s < shards; ++s) {
    h.on(h.a(s));
    out.push_back(tcp_listen(port));
  }
  return out;
}

bool connected(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  return skiff_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 &&
         skiff_send(fd, "", 0, 0) == 0;
}

int so_error(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  EXPECT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  return err;
}

uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  EXPECT_EQ(skiff_getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  return ntohs(a.sin_port);
}

// Accepts everything pending on `l` (the current shard); returns the accepted fds.
std::vector<int> accept_all(int l) {
  std::vector<int> v;
  for (;;) {
    const int s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    if (s < 0) break;
    v.push_back(s);
  }
  return v;
}

// Drops other than the peer's gratuitous ARP at start-up (not for us, by design).
uint64_t drops_total(Stack& s) {
  uint64_t t = 0;
  for (unsigned i = 0; i < s.shard_count(); ++i) t += s.shard(i).drops.total() - s.shard(i).drops[Drop::ArpNotForUs];
  return t;
}

// The SHA-free check: a deterministic byte pattern per connection.
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 r(seed);
  for (auto& b : v) b = static_cast<uint8_t>(r());
  return v;
}

}  // namespace

// 2 shards x 2 queues on both sides, queues mirrored (memif, virtio_user <-> vhost): every shard of b
// opens 1,000 connections to listeners on every shard of a. Replies land on the opening shard, the
// connections spread over a's shards, and nothing ever needs steering.
TEST(MultiShard, ThousandActiveOpensPerShardLandHomeAndSpreadOverListeners) {
  MultiOptions o;
  MultiHarness h(o);
  std::vector<int> listeners = listen_on_a(h, 2, 8000);
  constexpr int kPerShard = 1000;
  std::vector<std::vector<int>> clients(2);
  for (int round = 0; round < kPerShard / 100; ++round) {
    for (unsigned s = 0; s < 2; ++s) {
      h.on(h.b(s));
      for (int i = 0; i < 100; ++i) clients[s].push_back(tcp_connect(MultiHarness::kA, 8000));
    }
    h.pump();
  }
  h.pump();
  std::vector<size_t> accepted(2);
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    auto fds = accept_all(listeners[s]);
    accepted[s] = fds.size();
    // Every accepted connection is owned by the shard that accepted it.
    for (int fd : fds) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      ASSERT_EQ(skiff_getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len), 0);
      ASSERT_EQ(h.a(s).flow_owner(MultiHarness::kA, 8000, MultiHarness::kB, ntohs(peer.sin_port)), s);
    }
  }
  EXPECT_EQ(accepted[0] + accepted[1], 2u * kPerShard);
  // RSS spreads them: neither shard takes less than a third.
  EXPECT_GT(accepted[0], 2u * kPerShard / 3);
  EXPECT_GT(accepted[1], 2u * kPerShard / 3);
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int fd : clients[s]) {
      ASSERT_TRUE(connected(fd)) << "shard " << s;
      ASSERT_EQ(h.b(s).flow_owner(MultiHarness::kB, local_port(fd), MultiHarness::kA, 8000), s);
    }
    EXPECT_EQ(h.b(s).stats.tcp_steered_opens, static_cast<uint64_t>(kPerShard));
    EXPECT_EQ(h.b(s).stats.tcp_unsteered_opens, 0u);
  }
  // Nothing arrived on the wrong shard, nothing was steered, nothing dropped.
  for (Stack* st : {&h.stack_a(), &h.stack_b()}) {
    EXPECT_EQ(h.sum(*st, &ShardStats::rx_wrong_shard), 0u);
    EXPECT_EQ(h.sum(*st, &ShardStats::steer_out), 0u);
    EXPECT_EQ(drops_total(*st), 0u);
  }
}

// IP_BIND_ADDRESS_NO_PORT (what proxies that pick a source address set): bind(address, 0) takes no port, so
// connect() picks one for the 4-tuple and, with several shards, one whose replies RSS brings home. Without
// the option bind() picks the port before the destination is known: about half the connections then belong
// to the other shard by RSS and are reached through the port directories (tcp_unsteered_opens).
TEST(MultiShard, BindAddressNoPortLetsConnectPickAHomePort) {
  MultiOptions o;
  MultiHarness h(o);
  std::vector<int> listeners = listen_on_a(h, 2, 8000);
  constexpr int kPerShard = 200;
  const auto open_bound = [](bool no_port) {
    const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_GE(fd, 0);
    const int on = no_port;
    EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on), 0);
    const sockaddr_in me = sin_of(MultiHarness::kB, 0);
    EXPECT_EQ(skiff_bind(fd, sa(me), sizeof me), 0) << strerror(errno);
    if (no_port) {
      EXPECT_EQ(local_port(fd), 0);
    } else {
      EXPECT_NE(local_port(fd), 0);
    }
    const sockaddr_in to = sin_of(MultiHarness::kA, 8000);
    EXPECT_EQ(skiff_connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(errno, EINPROGRESS);
    return fd;
  };
  std::vector<std::vector<int>> with(2), without(2);
  // The control first: ports fixed at bind() land on either shard, and are served through the directories.
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int i = 0; i < kPerShard; ++i) without[s].push_back(open_bound(false));
  }
  h.pump();
  unsigned away = 0;
  std::set<uint16_t> ports;
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int fd : without[s]) {
      ASSERT_TRUE(connected(fd)) << "shard " << s;
      const uint16_t p = local_port(fd);
      EXPECT_EQ(p % 2, s);  // each shard binds from its own half of the ports: never the same one
      ports.insert(p);
      away += h.b(s).flow_owner(MultiHarness::kB, p, MultiHarness::kA, 8000) != s;
    }
    EXPECT_EQ(h.b(s).stats.tcp_steered_opens, 0u);
  }
  EXPECT_EQ(ports.size(), 2u * kPerShard);
  EXPECT_GT(away, 2u * kPerShard / 4);  // about half of 400
  EXPECT_LT(away, 2u * kPerShard * 3 / 4);
  // With the option: every connection home, none on a port the control's sockets hold.
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int i = 0; i < kPerShard; ++i) with[s].push_back(open_bound(true));
  }
  h.pump();
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int fd : with[s]) {
      ASSERT_TRUE(connected(fd)) << "shard " << s;
      const uint16_t p = local_port(fd);
      ASSERT_EQ(h.b(s).flow_owner(MultiHarness::kB, p, MultiHarness::kA, 8000), s);
      EXPECT_FALSE(ports.count(p)) << p;
    }
    EXPECT_EQ(h.b(s).stats.tcp_steered_opens, static_cast<uint64_t>(kPerShard));
    EXPECT_EQ(h.b(s).stats.tcp_unsteered_opens, 0u);
  }
  for (Stack* st : {&h.stack_a(), &h.stack_b()}) EXPECT_EQ(drops_total(*st), 0u);
}

// Ephemeral ports of bind(port 0) and autobind: the shards' port tables are their own, so each shard takes
// them from its own residue class (port % shards) and never one another shard announced: no two shards
// ever hold the same ephemeral port (which would let one's datagrams reach the other's socket).
TEST(MultiShard, EphemeralPortsOfDifferentShardsNeverCollide) {
  MultiOptions o;
  o.b_shards = 2;
  MultiHarness h(o);
  std::set<uint16_t> seen[2];  // TCP's, UDP's (separate port spaces)
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int i = 0; i < 300; ++i) {
      const int fd = skiff_socket(AF_INET, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
      ASSERT_GE(fd, 0);
      const sockaddr_in any = sin_of(Ipv4Addr::any(), 0);
      if (i % 4 == 1) {  // UDP autobind by a send
        const sockaddr_in to = sin_of(MultiHarness::kA, 9);
        ASSERT_EQ(skiff_sendto(fd, "x", 1, MSG_DONTWAIT, sa(to), sizeof to), 1);
      } else {
        ASSERT_EQ(skiff_bind(fd, sa(any), sizeof any), 0);
      }
      const uint16_t p = local_port(fd);
      EXPECT_EQ(p % 2, s) << p;
      EXPECT_TRUE(seen[i % 2].insert(p).second) << "port " << p << " taken twice";
    }
  }
  EXPECT_EQ(seen[0].size(), 300u);
  EXPECT_EQ(seen[1].size(), 300u);
}

// One 4-tuple never lives on two shards. A steered connect() on shard 0 takes port p without telling the
// others; shard 1 can still bind p (its port tables are its own) but its connect() to the same destination
// asks shard 0, which owns the tuple by RSS, and fails with EADDRNOTAVAIL as Linux's would. A tuple the
// owner does not use is lent: its segments reach the borrower even where the owner listens on the port.
TEST(MultiShard, FourTupleOwnedByAnotherShardIsLentOrRefused) {
  MultiOptions o;
  MultiHarness h(o);
  std::vector<int> l8000 = listen_on_a(h, 2, 8000);
  h.on(h.b(0));
  const int c0 = tcp_connect(MultiHarness::kA, 8000);
  h.pump();
  ASSERT_TRUE(connected(c0));
  const uint16_t p = local_port(c0);
  ASSERT_EQ(h.b(0).flow_owner(MultiHarness::kB, p, MultiHarness::kA, 8000), 0u);
  const auto bound_socket = [](uint16_t port, int opt) {
    const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_GE(fd, 0);
    const int on = 1;
    EXPECT_EQ(skiff_setsockopt(fd, SOL_SOCKET, opt, &on, sizeof on), 0);
    const sockaddr_in me = sin_of(Ipv4Addr::any(), port);
    EXPECT_EQ(skiff_bind(fd, sa(me), sizeof me), 0) << strerror(errno);
    return fd;
  };
  // The same 4-tuple from shard 1: refused, and shard 0's connection never sees a segment of it.
  h.on(h.b(1));
  const int dup = bound_socket(p, SO_REUSEADDR);
  const sockaddr_in to8000 = sin_of(MultiHarness::kA, 8000);
  EXPECT_EQ(skiff_connect(dup, sa(to8000), sizeof to8000), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  h.pump();
  h.on(h.b(1));
  EXPECT_EQ(so_error(dup), EADDRNOTAVAIL);
  EXPECT_EQ(h.b(0).stats.tcp_tuples_refused, 1u);
  EXPECT_EQ(h.b(0).tcp.lent_count(), 0u);
  h.on(h.b(0));
  ASSERT_EQ(skiff_send(c0, "ping", 4, 0), 4);
  h.pump();
  // Accepts the one connection a's listeners have; leaves the caller on the accepting shard.
  unsigned accepted_on = 0;
  const auto accept_one = [&h, &accepted_on](const std::vector<int>& ls) {
    int fd = -1;
    unsigned n = 0;
    for (unsigned s = 0; s < 2; ++s) {
      h.on(h.a(s));
      for (int c : accept_all(ls[s])) fd = c, accepted_on = s, ++n;
    }
    EXPECT_EQ(n, 1u);
    h.on(h.a(accepted_on));
    return fd;
  };
  const int srv = accept_one(l8000);  // one connection reached a: shard 1's SYN never left
  ASSERT_GE(srv, 0);
  char buf[16];
  EXPECT_EQ(skiff_recv(srv, buf, sizeof buf, 0), 4);

  // Shard 0 listens on port 6000 (SO_REUSEPORT); shard 1 connects from 6000 to a destination whose replies
  // RSS gives to shard 0. Shard 0 lends the tuple and forwards its segments, not to its listener (a RST).
  h.on(h.b(0));
  const int l6000 = bound_socket(6000, SO_REUSEPORT);
  ASSERT_EQ(skiff_listen(l6000, 16), 0);
  uint16_t dport = 0;
  for (uint16_t d = 8100; d < 8200 && !dport; ++d)
    if (h.b(1).flow_owner(MultiHarness::kB, 6000, MultiHarness::kA, d) == 0) dport = d;
  ASSERT_NE(dport, 0);
  std::vector<int> ld = listen_on_a(h, 2, dport);
  h.on(h.b(1));
  const int c1 = bound_socket(6000, SO_REUSEPORT);
  const sockaddr_in to = sin_of(MultiHarness::kA, dport);
  EXPECT_EQ(skiff_connect(c1, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  h.pump();
  h.on(h.b(1));
  ASSERT_TRUE(connected(c1)) << strerror(so_error(c1));
  EXPECT_EQ(h.b(0).stats.tcp_tuples_lent, 1u);
  EXPECT_EQ(h.b(0).tcp.lent_count(), 1u);
  EXPECT_GE(h.b(0).stats.tcp_lent_forwards, 1u);
  ASSERT_EQ(skiff_send(c1, "hello", 5, 0), 5);
  h.pump();
  const int server = accept_one(ld);
  ASSERT_GE(server, 0);
  EXPECT_EQ(skiff_recv(server, buf, sizeof buf, 0), 5);
  EXPECT_EQ(skiff_send(server, "world!", 6, 0), 6);
  h.pump();
  h.on(h.b(1));
  EXPECT_EQ(skiff_recv(c1, buf, sizeof buf, 0), 6);
  h.on(h.b(0));
  EXPECT_EQ(skiff_accept4(l6000, nullptr, nullptr, 0), -1);  // the replies never reached the listener
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(h.b(0).stats.tcp_tuples_refused, 1u);
  // An ICMP error about the borrowed connection reaches it through the owner (which has a socket on port
  // 6000 itself): c1's next segment is lost, and a "fragmentation needed" quoting it lowers c1's path MTU.
  Bytes lost;
  h.filter = [&](bool a_to_b, const Bytes& f) {
    const bool from_c1 = !a_to_b && f.size() > 54 && f[23] == 6 && wire::load_be16(&f[34]) == 6000 &&
                         wire::load_be16(&f[16]) > 20 + (f[46] >> 4) * 4;
    if (from_c1 && lost.empty()) {
      lost = f;
      return 0;
    }
    return 1;
  };
  h.on(h.b(1));
  ASSERT_EQ(skiff_send(c1, "again", 5, 0), 5);
  h.pump();
  ASSERT_FALSE(lost.empty());
  h.filter = nullptr;
  bool rewritten = false;
  h.rewrite = [&](bool a_to_b, Bytes& f) {
    if (!a_to_b || rewritten) return;
    const Bytes quote(lost.begin() + 14, lost.begin() + 14 + 20 + 8);
    Bytes icmp_frame(f.begin(), f.begin() + 14);
    const Bytes ip = ipv4(Ipv4Spec{.src = MultiHarness::kA, .dst = MultiHarness::kB, .proto = 1},
                          icmp(3, 4, 1200, quote));  // fragmentation needed, next-hop MTU 1200
    icmp_frame.insert(icmp_frame.end(), ip.begin(), ip.end());
    f = icmp_frame;
    rewritten = true;
  };
  const uint64_t forwards = h.b(0).stats.tcp_lent_forwards;
  h.on(h.a(accepted_on));
  ASSERT_EQ(skiff_send(server, "x", 1, 0), 1);  // its frame to b becomes the ICMP error
  h.pump();
  h.rewrite = nullptr;
  ASSERT_TRUE(rewritten);
  EXPECT_EQ(h.b(0).stats.tcp_lent_forwards, forwards + 1);
  h.on(h.b(1));
  int mtu = 0;
  socklen_t mlen = sizeof mtu;
  ASSERT_EQ(skiff_getsockopt(c1, IPPROTO_IP, IP_MTU, &mtu, &mlen), 0);
  EXPECT_EQ(mtu, 1200);
  h.advance(3s, 10ms);  // the lost segment again, by the retransmission timer
  h.on(h.a(accepted_on));
  EXPECT_EQ(skiff_recv(server, buf, sizeof buf, 0), 5);
  // The loan ends with the connection (an abortive close: no TIME-WAIT).
  h.on(h.b(1));
  const linger lg{1, 0};
  ASSERT_EQ(skiff_setsockopt(c1, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(skiff_close(c1), 0);
  h.pump();
  EXPECT_EQ(h.b(0).tcp.lent_count(), 0u);
  for (Stack* st : {&h.stack_a(), &h.stack_b()}) EXPECT_EQ(drops_total(*st), 0u);
}

// IP_LOCAL_PORT_RANGE with several shards: a range of four ports may hold no port RSS brings home, so
// connect() takes any free port of it (the owner shard lends the 4-tuple); every one connects, and a fifth
// connect() finds no port (EADDRNOTAVAIL, as Linux).
TEST(MultiShard, NarrowLocalPortRangeStillConnects) {
  MultiOptions o;
  MultiHarness h(o);
  std::vector<int> ls = listen_on_a(h, 2, 8000);
  h.on(h.b(1));
  const int range = 45000 | 45003 << 16;
  const sockaddr_in to = sin_of(MultiHarness::kA, 8000);
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof range), 0);
    EXPECT_EQ(skiff_connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(errno, i < 4 ? EINPROGRESS : EADDRNOTAVAIL) << i;
    if (i < 4) fds.push_back(fd);
  }
  h.pump();
  h.on(h.b(1));
  std::set<uint16_t> ports;
  for (int fd : fds) {
    EXPECT_TRUE(connected(fd));
    ports.insert(local_port(fd));
  }
  EXPECT_EQ(ports, (std::set<uint16_t>{45000, 45001, 45002, 45003}));
  size_t accepted = 0;
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    accepted += accept_all(ls[s]).size();
  }
  EXPECT_EQ(accepted, 4u);
  for (Stack* st : {&h.stack_a(), &h.stack_b()}) EXPECT_EQ(drops_total(*st), 0u);
}

// A connect() that TCP_FASTOPEN_CONNECT deferred (a cookie cached) on a 4-tuple the owner shard refuses:
// the connect is over (EADDRNOTAVAIL), so the first write sends nothing and reports it, and the socket can
// connect again (not EISCONN, as a deferred connect in progress would answer).
TEST(MultiShard, RefusedDeferredFastOpenConnectIsOver) {
  MultiOptions o;
  MultiHarness h(o);
  std::vector<int> ls = listen_on_a(h, 2, 8000);
  uint16_t p = 0;
  for (uint16_t c = 45001; c < 45401 && !p; c += 2)
    if (h.b(0).flow_owner(MultiHarness::kB, c, MultiHarness::kA, 8000) == 0) p = c;
  ASSERT_NE(p, 0);
  const int only_p = p | p << 16;
  const sockaddr_in to = sin_of(MultiHarness::kA, 8000);
  h.on(h.b(0));
  const int first = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(skiff_setsockopt(first, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &only_p, sizeof only_p), 0);
  EXPECT_EQ(skiff_connect(first, sa(to), sizeof to), -1);
  h.pump();
  h.on(h.b(0));
  ASSERT_TRUE(connected(first));
  h.on(h.b(1));
  FastOpenEntry& e = h.b(1).tcp.fastopen.get(MultiHarness::kB, MultiHarness::kA);
  e.cookie_len = 8;
  e.mss = 1400;
  const int d = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(skiff_setsockopt(d, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &only_p, sizeof only_p), 0);
  const int on = 1;
  EXPECT_EQ(skiff_setsockopt(d, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &on, sizeof on), 0);
  EXPECT_EQ(skiff_connect(d, sa(to), sizeof to), 0);  // deferred
  h.pump();
  h.on(h.b(1));
  EXPECT_EQ(h.b(0).stats.tcp_tuples_refused, 1u);
  const uint64_t out_before = h.b(1).stats.tcp_out_segs;
  EXPECT_EQ(skiff_send(d, "hello", 5, 0), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  EXPECT_EQ(h.b(1).stats.tcp_out_segs, out_before) << "no SYN (or SYN-ACK) for a connect that is over";
  EXPECT_NE(skiff_connect(d, sa(to), sizeof to), 0);
  EXPECT_NE(errno, EISCONN);
  skiff_close(d);
  skiff_close(first);
  for (int l : ls) skiff_close(l);
}

// A port connect() picked itself whose 4-tuple the owner shard refuses (it has that very connection) is
// let go with the EADDRNOTAVAIL, as Linux's inet_hash_connect does: the socket is unbound again, and its
// next connect() picks anew.
TEST(MultiShard, RefusedConnectLetsGoOfThePortItPicked) {
  MultiOptions o;
  MultiHarness h(o);
  std::vector<int> ls = listen_on_a(h, 2, 8000);
  uint16_t p = 0;  // a port whose connection to a:8000 RSS gives to shard 0, one of shard 1's residue class
  for (uint16_t c = 45001; c < 45401 && !p; c += 2)
    if (h.b(0).flow_owner(MultiHarness::kB, c, MultiHarness::kA, 8000) == 0) p = c;
  ASSERT_NE(p, 0);
  const int only_p = p | p << 16;
  const sockaddr_in to = sin_of(MultiHarness::kA, 8000);
  const auto narrow_socket = [&] {
    const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &only_p, sizeof only_p), 0);
    return fd;
  };
  // Shard 0's connection from p: steered home, so not announced to shard 1.
  h.on(h.b(0));
  const int first = narrow_socket();
  EXPECT_EQ(skiff_connect(first, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  h.pump();
  h.on(h.b(0));
  ASSERT_TRUE(connected(first));
  ASSERT_EQ(local_port(first), p);
  // Shard 1 can only pick p too: shard 0 refuses the tuple.
  h.on(h.b(1));
  const int second = narrow_socket();
  EXPECT_EQ(skiff_connect(second, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_EQ(local_port(second), p);
  h.pump();
  h.on(h.b(1));
  EXPECT_EQ(so_error(second), EADDRNOTAVAIL);
  EXPECT_EQ(h.b(0).stats.tcp_tuples_refused, 1u);
  EXPECT_EQ(local_port(second), 0);  // let go
  EXPECT_EQ(h.b(1).tcp.port_bucket(p), nullptr);
  // Once shard 0's connection is gone (an abortive close: no TIME-WAIT), the same socket connects: as on
  // Linux, the first connect() after a failed non-blocking one reports ECONNABORTED, the next one starts.
  h.on(h.b(0));
  const linger lg{1, 0};
  ASSERT_EQ(skiff_setsockopt(first, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(skiff_close(first), 0);
  h.pump();
  h.on(h.b(1));
  EXPECT_EQ(skiff_connect(second, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, ECONNABORTED);
  EXPECT_EQ(skiff_connect(second, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  h.pump();
  h.on(h.b(1));
  EXPECT_TRUE(connected(second)) << strerror(so_error(second));
  EXPECT_EQ(local_port(second), p);
  EXPECT_EQ(h.b(0).stats.tcp_tuples_lent, 1u);
}

// A NIC with Skiff's RSS key and RETA on a (4 shards); b has 1 shard. The NIC puts every flow on its
// owner, so a's shards never forward a frame.
TEST(MultiShard, HardwareRssDeliversEveryFlowToItsOwner) {
  MultiOptions o;
  o.a_shards = 4;
  o.a_queues = 4;
  o.b_shards = 1;
  o.b_queues = 1;
  o.wire = WireModel::Rss;
  MultiHarness h(o);
  std::vector<int> listeners = listen_on_a(h, 4, 8080);
  h.on(h.b());
  std::vector<int> clients;
  clients.push_back(tcp_connect(MultiHarness::kA, 8080));
  h.pump();  // ARP first: a burst of 400 SYNs would overflow the queue of packets awaiting resolution
  for (int i = 1; i < 400; ++i) clients.push_back(tcp_connect(MultiHarness::kA, 8080));
  h.pump();
  size_t total = 0;
  for (unsigned s = 0; s < 4; ++s) {
    h.on(h.a(s));
    const size_t n = accept_all(listeners[s]).size();
    EXPECT_GT(n, 50u) << "shard " << s;
    total += n;
  }
  EXPECT_EQ(total, 400u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::rx_wrong_shard), 0u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::steer_out), 0u);
  // The active opens from a's shards come home too.
  h.on(h.b());
  const int bl = tcp_listen(9000);
  std::vector<std::vector<int>> outs(4);
  for (unsigned s = 0; s < 4; ++s) {
    h.on(h.a(s));
    for (int i = 0; i < 50; ++i) outs[s].push_back(tcp_connect(MultiHarness::kB, 9000));
  }
  h.pump();
  for (unsigned s = 0; s < 4; ++s) {
    h.on(h.a(s));
    for (int fd : outs[s]) ASSERT_TRUE(connected(fd));
  }
  h.on(h.b());
  EXPECT_EQ(accept_all(bl).size(), 200u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::rx_wrong_shard), 0u);
}

// A single-queue device (af_packet without qpairs) under a with 2 shards: shard 0 receives everything
// and hands each flow to its owner; shard 1 transmits through shard 0's queue. Data crosses intact.
TEST(MultiShard, SingleQueueDeviceIsSteeredInSoftware) {
  MultiOptions o;
  o.a_shards = 2;
  o.a_queues = 1;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  std::vector<int> listeners = listen_on_a(h, 2, 7000);
  h.on(h.b());
  constexpr int kConns = 40;
  constexpr size_t kBytes = 64 * 1024;
  std::vector<int> clients;
  for (int i = 0; i < kConns; ++i) clients.push_back(tcp_connect(MultiHarness::kA, 7000));
  h.pump();
  // Each accepted connection echoes what it reads.
  std::vector<std::pair<unsigned, int>> servers;
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    for (int fd : accept_all(listeners[s])) servers.emplace_back(s, fd);
  }
  ASSERT_EQ(servers.size(), static_cast<size_t>(kConns));
  std::vector<std::vector<uint8_t>> sent(kConns), got(kConns);
  std::vector<size_t> off(kConns);
  for (int i = 0; i < kConns; ++i) sent[i] = random_bytes(kBytes, static_cast<uint32_t>(i));
  std::vector<uint8_t> buf(65536);
  for (int iter = 0; iter < 2000; ++iter) {
    bool done = true;
    h.on(h.b());
    for (int i = 0; i < kConns; ++i) {
      if (off[i] < kBytes) {
        const ssize_t n = skiff_send(clients[i], sent[i].data() + off[i], kBytes - off[i], 0);
        if (n > 0) off[i] += static_cast<size_t>(n);
      }
      for (;;) {
        const ssize_t n = skiff_recv(clients[i], buf.data(), buf.size(), 0);
        if (n <= 0) break;
        got[i].insert(got[i].end(), buf.begin(), buf.begin() + n);
      }
      done &= got[i].size() == kBytes;
    }
    for (auto& [s, fd] : servers) {
      h.on(h.a(s));
      for (;;) {
        const ssize_t n = skiff_recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        ASSERT_EQ(skiff_send(fd, buf.data(), static_cast<size_t>(n), 0), n);  // buffers are large enough
      }
    }
    if (done) break;
    h.pump();
    h.clock().advance(1ms);
  }
  for (int i = 0; i < kConns; ++i) ASSERT_EQ(got[i], sent[i]) << "connection " << i;
  // Both shards served connections; shard 0 steered frames to shard 1, which sent through shard 0.
  size_t on1 = 0;
  for (auto& sv : servers) on1 += sv.first == 1;
  EXPECT_GT(on1, 5u);
  EXPECT_LT(on1, static_cast<size_t>(kConns - 5));
  EXPECT_GT(h.a(0).stats.steer_out, 0u);
  EXPECT_EQ(h.a(1).stats.rx_packets, 0u);  // shard 1 has no queue: it only gets frames from shard 0
  EXPECT_GT(h.a(1).stats.steer_in, 0u);
  EXPECT_GT(h.a(1).stats.steer_tx_out, 0u);
  EXPECT_EQ(h.a(1).stats.tx_packets, 0u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::rx_wrong_shard), 0u);  // a single queue is not "wrong"
  EXPECT_EQ(h.a(0).drops[Drop::SteerRingFull] + h.a(1).drops[Drop::SteerRingFull], 0u);
}

// Frames spread by a hash Skiff does not control (af_packet fanout with qpairs=2): about half arrive on
// the wrong shard, are counted, and are forwarded to the owner; the connections work.
TEST(MultiShard, ForeignHashArrivalsAreCountedAndForwarded) {
  MultiOptions o;
  o.wire = WireModel::Spray;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    tcp_listen(7000);
  }
  h.on(h.b());
  std::vector<int> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(tcp_connect(MultiHarness::kA, 7000));
  h.pump();
  for (int fd : clients) ASSERT_TRUE(connected(fd));
  EXPECT_GT(h.sum(h.stack_a(), &ShardStats::rx_wrong_shard), 10u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::rx_wrong_shard), h.sum(h.stack_a(), &ShardStats::steer_out));
}

// Only shard 0 speaks ARP: shard 1 asks it, and gets the answer by message.
TEST(MultiShard, ArpIsResolvedByShardZeroForEveryShard) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  // Start-up: one gratuitous ARP from a (shard 0 only), not one per shard.
  EXPECT_EQ(h.a(0).stats.arp_gratuitous, 1u);
  EXPECT_EQ(h.a(1).stats.arp_gratuitous, 0u);
  h.on(h.b());
  const int rx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin_of(Ipv4Addr::any(), 5353);
  ASSERT_EQ(skiff_bind(rx, sa(any), sizeof any), 0);
  h.on(h.a(1));
  const int tx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin_of(MultiHarness::kB, 5353);
  ASSERT_EQ(skiff_sendto(tx, "hello", 5, 0, sa(to), sizeof to), 5);
  h.pump();
  h.on(h.b());
  char buf[16];
  ASSERT_EQ(skiff_recv(rx, buf, sizeof buf, 0), 5);
  EXPECT_EQ(h.a(1).stats.arp_out_requests, 0u);  // shard 1 never sent ARP itself
  EXPECT_EQ(h.a(0).stats.arp_out_requests, 1u + h.a(0).stats.arp_gratuitous);
  EXPECT_EQ(h.a(1).stats.arp_resolved, 1u);
  EXPECT_GT(h.a(1).stats.ctl_sent, 0u);
  EXPECT_EQ(h.b().stats.arp_in_requests, 1u);
}

// Fragments of one datagram meet on the shard that owns the addresses, are reassembled there and the
// whole datagram goes to the shard that owns its flow (whose socket receives it).
TEST(MultiShard, FragmentsAreReassembledThenSteeredToTheFlowOwner) {
  MultiOptions o;
  o.a_shards = 4;
  o.a_queues = 4;
  o.b_shards = 1;
  o.b_queues = 1;
  o.wire = WireModel::Rss;
  MultiHarness h(o);
  std::vector<int> socks(4);
  for (unsigned s = 0; s < 4; ++s) {
    h.on(h.a(s));
    socks[s] = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in any = sin_of(Ipv4Addr::any(), 6000);
    ASSERT_EQ(skiff_bind(socks[s], sa(any), sizeof any), 0);  // every shard serves the port
  }
  h.on(h.b());
  const int tx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const std::vector<uint8_t> big = random_bytes(5000, 3);
  std::set<unsigned> owners;
  for (uint16_t sport = 40000; sport < 40016; ++sport) {
    const sockaddr_in from = sin_of(Ipv4Addr::any(), sport);
    const int f = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ASSERT_EQ(skiff_bind(f, sa(from), sizeof from), 0);
    const sockaddr_in to = sin_of(MultiHarness::kA, 6000);
    ASSERT_EQ(skiff_sendto(f, big.data(), big.size(), 0, sa(to), sizeof to), static_cast<ssize_t>(big.size()));
    h.pump();
    const unsigned owner = h.a(0).flow_owner(MultiHarness::kA, 6000, MultiHarness::kB, sport);
    owners.insert(owner);
    h.on(h.a(owner));
    std::vector<uint8_t> got(8192);
    ASSERT_EQ(skiff_recv(socks[owner], got.data(), got.size(), 0), static_cast<ssize_t>(big.size())) << "sport " << sport;
    got.resize(big.size());
    EXPECT_EQ(got, big);
    for (unsigned s = 0; s < 4; ++s) {
      h.on(h.a(s));
      char c;
      EXPECT_EQ(skiff_recv(socks[s], &c, 1, 0), -1) << "a copy on shard " << s;
    }
    h.on(h.b());
    skiff_close(f);
  }
  (void)tx;
  EXPECT_GT(owners.size(), 1u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::ip_reasm_oks), 16u);
}

// An echo server on b (port 7) and 32 unbound client sockets on a's shard 1 (ports chosen at sendto), each
// sending its index once; b echoes every datagram back. Leaves the calls on a's shard 1, replies pumped.
void udp_echo_round(MultiHarness& h, std::vector<int>* cl) {
  h.on(h.b());
  const int echo = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin_of(Ipv4Addr::any(), 7);
  ASSERT_EQ(skiff_bind(echo, sa(any), sizeof any), 0);
  h.on(h.a(1));
  const sockaddr_in to = sin_of(MultiHarness::kB, 7);
  for (int i = 0; i < 32; ++i) {
    cl->push_back(skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    ASSERT_EQ(skiff_sendto(cl->back(), &i, sizeof i, 0, sa(to), sizeof to), static_cast<ssize_t>(sizeof i));
  }
  h.pump();
  h.on(h.b());
  char buf[64];
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  ssize_t n;
  while ((n = skiff_recvfrom(echo, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen)) > 0)
    skiff_sendto(echo, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), flen);
  h.pump();
  h.on(h.a(1));
}

// A UDP datagram whose IP payload runs past the UDP length (trailing bytes, RFC 768/1122 allow them) and that
// lands on a shard other than its socket's: it crosses to the socket's shard with the header describing what
// is left after the trim (it was refused there as Ipv4BadTotalLen). Found in review.
TEST(MultiShard, UdpDatagramWithTrailingBytesForwardedToItsSocketsShard) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  // b -> a: UDP datagrams get 10 bytes after their UDP length (IP total length and checksum follow).
  h.rewrite = [](bool a_to_b, Bytes& f) {
    if (a_to_b || f.size() < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 17) return;
    f.insert(f.end(), 10, 0xee);
    wire::Ipv4View ip(f.data() + 14, 20);
    ip.set_total_len(static_cast<uint16_t>(ip.total_len() + 10));
    ip.fill_checksum();
  };
  std::vector<int> cl;
  ASSERT_NO_FATAL_FAILURE(udp_echo_round(h, &cl));
  for (int i = 0; i < 32; ++i) {
    int v[4] = {-1};
    ASSERT_EQ(skiff_recv(cl[i], v, sizeof v, 0), static_cast<ssize_t>(sizeof(int))) << i;  // trimmed to UDP's length
    EXPECT_EQ(v[0], i);
  }
  EXPECT_GT(h.a(0).stats.steer_fallback, 0u);  // some went through shard 0
  EXPECT_EQ(h.a(0).drops[Drop::Ipv4BadTotalLen] + h.a(1).drops[Drop::Ipv4BadTotalLen], 0u);
}

// A listener on shard 0 only: connections whose flows belong to shard 1 are forwarded to it by the port
// directory (and every later segment of them too), so nothing is refused.
TEST(MultiShard, ListenerOnOneShardServesEveryFlow) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  h.on(h.a(0));
  const int l = tcp_listen(7100);
  h.pump();  // the other shard learns the port
  h.on(h.b());
  std::vector<int> clients;
  for (int i = 0; i < 100; ++i) clients.push_back(tcp_connect(MultiHarness::kA, 7100));
  h.pump();
  h.on(h.a(0));
  auto fds = accept_all(l);
  EXPECT_EQ(fds.size(), 100u);
  // Data flows on the forwarded connections as well.
  h.on(h.b());
  for (int fd : clients) {
    ASSERT_TRUE(connected(fd));
    ASSERT_EQ(skiff_send(fd, "ping", 4, 0), 4);
  }
  h.pump();
  h.on(h.a(0));
  for (int fd : fds) {
    char buf[8];
    ASSERT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 4);
  }
  EXPECT_GT(h.a(1).stats.steer_fallback, 0u);
  EXPECT_EQ(h.a(1).stats.tcp_no_port, 0u);
  EXPECT_EQ(h.b().stats.tcp_in_rsts, 0u);
  // Shard 1 owns the 4-tuples of the connections it forwarded and has lent them to shard 0: its own
  // connect() from port 7100 to such a peer is refused as Linux refuses a 4-tuple in use.
  std::vector<uint16_t> lent_peers;
  for (int fd : fds) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ASSERT_EQ(skiff_getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len), 0);
    if (h.a(0).flow_owner(MultiHarness::kA, 7100, MultiHarness::kB, ntohs(peer.sin_port)) == 1)
      lent_peers.push_back(ntohs(peer.sin_port));
  }
  ASSERT_FALSE(lent_peers.empty());
  EXPECT_EQ(h.a(1).tcp.lent_count(), lent_peers.size());
  h.on(h.a(1));
  const int same = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  ASSERT_EQ(skiff_setsockopt(same, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
  const sockaddr_in me = sin_of(Ipv4Addr::any(), 7100);
  ASSERT_EQ(skiff_bind(same, sa(me), sizeof me), 0);
  const sockaddr_in taken = sin_of(MultiHarness::kB, lent_peers[0]);
  EXPECT_EQ(skiff_connect(same, sa(taken), sizeof taken), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  skiff_close(same);
  // Closing the listener withdraws the port: a new SYN is refused (RST) wherever it lands.
  h.on(h.a(0));
  for (int fd : fds) skiff_close(fd);
  skiff_close(l);
  h.pump();
  h.advance(61s, 500ms);  // past TIME-WAIT: the loans end with the connections
  EXPECT_EQ(h.a(1).tcp.lent_count(), 0u);
  h.on(h.b());
  std::vector<int> late;
  for (int i = 0; i < 10; ++i) late.push_back(tcp_connect(MultiHarness::kA, 7100));
  h.pump();
  for (int fd : late) {
    char c;
    EXPECT_EQ(skiff_recv(fd, &c, 1, 0), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
  }
}

// UDP sockets bound on one shard get their datagrams wherever the flow hash puts them; ICMP errors
// about what they sent reach them too.
TEST(MultiShard, UdpSocketOnOneShardReceivesEveryFlowAndItsErrors) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  std::vector<int> cl;
  ASSERT_NO_FATAL_FAILURE(udp_echo_round(h, &cl));
  for (int i = 0; i < 32; ++i) {
    int v = -1;
    ASSERT_EQ(skiff_recv(cl[i], &v, sizeof v, 0), static_cast<ssize_t>(sizeof v)) << i;
    EXPECT_EQ(v, i);
  }
  EXPECT_GT(h.a(0).stats.steer_fallback, 0u);  // some replies hashed to shard 0
  // Connected sockets to a closed port: the port-unreachable errors come back as ECONNREFUSED.
  char buf[64];
  const sockaddr_in closed = sin_of(MultiHarness::kB, 9);
  std::vector<int> con;
  for (int i = 0; i < 16; ++i) {
    con.push_back(skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    ASSERT_EQ(skiff_connect(con.back(), sa(closed), sizeof closed), 0);
    ASSERT_EQ(skiff_send(con.back(), "x", 1, 0), 1);
    h.pump();
    h.clock().advance(1s);  // ICMP error rate limit on b
  }
  for (int fd : con) {
    EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
    EXPECT_EQ(errno, ECONNREFUSED);
  }
}

// Raw sockets on another shard see ICMP that lands elsewhere (Linux: every raw socket sees it all).
TEST(MultiShard, RawSocketsSeeTrafficOfEveryShard) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  o.a_shards = 4;
  o.a_queues = 4;
  o.wire = WireModel::Rss;
  MultiHarness h(o);
  // ICMP queries go by addresses: put the raw socket on a shard that is not their owner.
  const unsigned icmp_owner = h.a(0).rss_map.owner(h.a(0).rss_hash->addrs(MultiHarness::kB, MultiHarness::kA));
  const unsigned rs = (icmp_owner + 1) % 4;
  h.on(h.a(rs));
  const int raw = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  ASSERT_GE(raw, 0) << strerror(errno);
  h.pump();
  h.on(h.b());
  const int ping = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  ASSERT_GE(ping, 0);
  uint8_t echo[8] = {8, 0, 0, 0, 0, 1, 0, 1};
  uint32_t sum = (8u << 8) + 1 + 1;
  sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t c = static_cast<uint16_t>(~sum);
  echo[2] = static_cast<uint8_t>(c >> 8);
  echo[3] = static_cast<uint8_t>(c);
  const sockaddr_in to = sin_of(MultiHarness::kA, 0);
  ASSERT_EQ(skiff_sendto(ping, echo, sizeof echo, 0, sa(to), sizeof to), 8);
  h.pump();
  h.on(h.a(rs));
  uint8_t buf[128];
  ASSERT_GT(skiff_recv(raw, buf, sizeof buf, 0), 20) << "the echo request reached the raw socket on shard " << rs;
  EXPECT_EQ(h.a(icmp_owner).stats.icmp_out_echo_reps, 1u);  // answered once, by the owner
  h.on(h.b());
  ASSERT_GT(skiff_recv(ping, buf, sizeof buf, 0), 20) << "the reply came back";
}

namespace {

// From a UDP socket on stack a's shard 1 (IP_RECVERR if `recverr`), "hello" to an address on the link that
// nobody holds; the clock then runs past ARP's three probes. Returns the socket.
int udp_to_nobody_from_shard_1(MultiHarness& h, bool recverr) {
  h.on(h.a(1));
  const int tx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int on = 1;
  if (recverr) {
    EXPECT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  }
  const sockaddr_in to = sin_of(Ipv4Addr::of(10, 0, 0, 77), 9);
  EXPECT_EQ(skiff_sendto(tx, "hello", 5, 0, sa(to), sizeof to), 5);
  h.pump();
  h.advance(4s, 10ms);
  h.pump();
  return tx;
}

}  // namespace

// A failed ARP resolution on a shard that is not ARP's owner comes back as host unreachable to the socket
// that sent (on that shard), and every raw ICMP socket sees the message, whichever shard it is on.
TEST(MultiShard, FailedResolutionIsReportedToTheSendersShardAndEveryRawSocket) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  h.on(h.a(0));
  const int raw = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  ASSERT_GE(raw, 0) << strerror(errno);
  const int tx = udp_to_nobody_from_shard_1(h, true);
  EXPECT_EQ(h.a(1).drops[Drop::ArpResolveFailed], 1u);
  uint8_t buf[256];
  alignas(cmsghdr) uint8_t ctl[256];
  iovec iov{buf, sizeof buf};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  h.on(h.a(1));
  ASSERT_EQ(skiff_recvmsg(tx, &m, MSG_ERRQUEUE | MSG_DONTWAIT), 5) << strerror(errno);
  const cmsghdr* c = CMSG_FIRSTHDR(&m);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->cmsg_type, IP_RECVERR);
  sock_extended_err ee{};
  memcpy(&ee, CMSG_DATA(c), sizeof ee);
  EXPECT_EQ(ee.ee_errno, static_cast<uint32_t>(EHOSTUNREACH));
  EXPECT_EQ(ee.ee_type, 3);
  EXPECT_EQ(ee.ee_code, 1);
  h.on(h.a(0));
  const ssize_t n = skiff_recv(raw, buf, sizeof buf, 0);
  ASSERT_EQ(n, 20 + 8 + 28 + 5) << "the raw socket on shard 0 saw the message";
  EXPECT_EQ(buf[20], 3);
  EXPECT_EQ(buf[21], 1);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::icmp_in_errors), 1u);
  skiff_close(raw);
  h.on(h.a(1));
  skiff_close(tx);
}

// A raw UDP socket with IP_RECVERR hears of an ICMP error about a UDP datagram (Linux's raw_icmp_error: every
// raw socket of the quoted protocol) although its shard has no raw ICMP socket and neither sent nor received
// the datagram or the error.
TEST(MultiShard, IcmpErrorReachesRawSocketsOfTheQuotedProtocolOnOtherShards) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  h.on(h.a(0));
  const int raw = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_UDP);
  ASSERT_GE(raw, 0) << strerror(errno);
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(raw, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  h.pump();
  const int tx = udp_to_nobody_from_shard_1(h, false);
  h.on(h.a(0));
  uint8_t buf[64];
  ASSERT_EQ(skiff_recv(raw, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT), 8 + 5) << strerror(errno);
  EXPECT_EQ(buf[2] << 8 | buf[3], 9);  // the quoted UDP header's destination port
  skiff_close(raw);
  h.on(h.a(1));
  skiff_close(tx);
}

// Messages: counters collected by message, a closure run on every shard, a RETA change followed by the
// next active opens.
TEST(MultiShard, ControlByMessage) {
  MultiOptions o;
  o.b_shards = 1;
  o.b_queues = 1;
  MultiHarness h(o);
  ShardStats st;
  DropCounters dr;
  ASSERT_TRUE(h.stack_a().collect(&st, &dr));  // not running: read in place
  EXPECT_EQ(st.polls, h.a(0).stats.polls + h.a(1).stats.polls);
  // A message from shard 1 to shard 0 runs there at its next poll, in order.
  std::vector<int> order;
  h.on(h.a(1));
  for (int i = 0; i < 5; ++i) h.a(1).send(0, [&order, i](Shard& s) { order.push_back(static_cast<int>(s.id) * 100 + i); });
  EXPECT_TRUE(order.empty());
  h.pump();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  // Every RETA entry to shard 1: shard 0 can no longer steer its opens home, and says so.
  std::vector<uint16_t> reta(kRssRetaSize, 1);
  ASSERT_TRUE(h.stack_a().set_reta(reta));
  EXPECT_EQ(h.a(0).rss_map.owner(12345), 1u);
  h.on(h.b());
  const int l = tcp_listen(7200);
  h.on(h.a(0));
  const int c0 = tcp_connect(MultiHarness::kB, 7200);
  h.on(h.a(1));
  const int c1 = tcp_connect(MultiHarness::kB, 7200);
  h.pump();
  h.on(h.a(0));
  EXPECT_TRUE(connected(c0));  // replies go to shard 1, which forwards them by the directory
  h.on(h.a(1));
  EXPECT_TRUE(connected(c1));
  EXPECT_EQ(h.a(0).stats.tcp_unsteered_opens, 1u);
  EXPECT_EQ(h.a(1).stats.tcp_steered_opens, 1u);
  h.on(h.b());
  EXPECT_EQ(accept_all(l).size(), 2u);
}

namespace {
// A connect() on b's shard `on` to a:8000, from a port bound first (the first from `first` up whose tuple
// RSS gives to shard `owner`; its number in *port_out).
int connect_from_bound_port(MultiHarness& h, unsigned on, unsigned owner, uint16_t first, uint16_t* port_out = nullptr) {
  uint16_t port = 0;
  for (uint16_t p = first; p < first + 200 && !port; ++p)
    if (h.b(on).flow_owner(MultiHarness::kB, p, MultiHarness::kA, 8000) == owner) port = p;
  EXPECT_NE(port, 0);
  if (port_out) *port_out = port;
  h.on(h.b(on));
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in me = sin_of(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, sa(me), sizeof me), 0) << strerror(errno);
  const sockaddr_in to = sin_of(MultiHarness::kA, 8000);
  EXPECT_EQ(skiff_connect(fd, sa(to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  return fd;
}
}  // namespace

// A RETA change moves flows to other shards while their sockets stay put (a socket never changes shards).
// Every established connection, and every 4-tuple already lent, must keep its segments: the set_reta
// hands each moved tuple to its new owner as a loan before the new table takes effect, so the new owner
// forwards the segments instead of answering them with a RST; loans no longer needed are taken back.
TEST(MultiShard, RetaChangeKeepsEstablishedFlowsOnTheirSockets) {
  MultiOptions o;
  o.wire = WireModel::Rss;  // the "NIC" follows each receiver's RSS map, as hardware programmed by Skiff
  MultiHarness h(o);
  std::vector<int> l8000 = listen_on_a(h, 2, 8000);
  // 16 steered connections from each shard of b, and one from a port fixed by bind() on shard 1 whose
  // replies RSS gives to shard 0 (so it is lent by shard 0 before the change).
  std::vector<std::vector<int>> outs(2);
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int i = 0; i < 16; ++i) outs[s].push_back(tcp_connect(MultiHarness::kA, 8000));
    h.pump();
  }
  outs[1].push_back(connect_from_bound_port(h, 1, 0, 20000));
  h.pump();
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int fd : outs[s]) ASSERT_TRUE(connected(fd));
  }
  ASSERT_EQ(h.b(0).tcp.lent_count(), 1u);
  std::vector<int> servers;
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    for (int fd : accept_all(l8000[s])) servers.push_back(fd);
  }
  ASSERT_EQ(servers.size(), 33u);
  // A connect() on shard 0 from a fixed port whose tuple shard 1 owns: its request for the loan is still
  // on its way when the table changes, and the answer finds the tuple shard 0's own (the SYN leaves, and
  // shard 1's loan is taken back).
  outs[0].push_back(connect_from_bound_port(h, 0, 1, 20100));
  // Every RETA entry of b to the other shard: every flow, lent or not, changes owner.
  std::vector<uint16_t> reta(kRssRetaSize);
  for (unsigned i = 0; i < kRssRetaSize; ++i) reta[i] = static_cast<uint16_t>(1 - h.b(0).rss_map.reta_entry(i));
  ASSERT_TRUE(h.stack_b().set_reta(reta));
  h.pump();
  h.on(h.b(0));
  ASSERT_TRUE(connected(outs[0].back()));
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    for (int fd : accept_all(l8000[s])) servers.push_back(fd);
  }
  ASSERT_EQ(servers.size(), 34u);
  // The loan shard 0 made is given back (the flow is shard 1's own now); every other flow is lent.
  EXPECT_EQ(h.b(0).tcp.lent_count(), 16u);
  EXPECT_EQ(h.b(1).tcp.lent_count(), 16u);
  // Data both ways on every connection, then an orderly close from b: nothing reset, nothing lost.
  const uint64_t rsts = h.sum(h.stack_a(), &ShardStats::tcp_out_rsts) + h.sum(h.stack_b(), &ShardStats::tcp_out_rsts);
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int fd : outs[s]) ASSERT_EQ(skiff_send(fd, "request", 7, 0), 7);
  }
  h.pump();
  char buf[16];
  size_t answered = 0;
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    for (int fd : servers) {
      const ssize_t n = skiff_recv(fd, buf, sizeof buf, 0);
      if (n < 0) continue;  // another shard's socket
      EXPECT_EQ(n, 7);
      EXPECT_EQ(skiff_send(fd, "reply", 5, 0), 5);
      ++answered;
    }
  }
  EXPECT_EQ(answered, 34u);
  h.pump();
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    for (int fd : outs[s]) {
      EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 5);
      EXPECT_EQ(skiff_close(fd), 0);
    }
  }
  h.pump();
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::tcp_out_rsts) + h.sum(h.stack_b(), &ShardStats::tcp_out_rsts), rsts);
  EXPECT_EQ(h.sum(h.stack_b(), &ShardStats::tcp_estab_resets), 0u);
  EXPECT_GE(h.sum(h.stack_b(), &ShardStats::tcp_lent_forwards), 33u);
  // The connections leave TIME-WAIT and give every loan back.
  h.advance(std::chrono::seconds(70), std::chrono::milliseconds(100));
  EXPECT_EQ(h.b(0).tcp.connections() + h.b(1).tcp.connections(), 0u);
  EXPECT_EQ(h.b(0).tcp.lent_count(), 0u);
  EXPECT_EQ(h.b(1).tcp.lent_count(), 0u);
}

// A connect()'s request for a loan is out when the RETA gives the tuple a third shard: the answer of the
// old owner (which lends it, not knowing) is followed by taking that loan back and asking the new owner,
// whose loan carries the connection; no segment meets a shard that does not know the tuple.
TEST(MultiShard, LoanRequestedDuringARetaChangeIsAskedOfTheNewOwner) {
  MultiOptions o;
  o.wire = WireModel::Rss;
  o.a_shards = 1;
  o.a_queues = 1;
  o.b_shards = 3;
  o.b_queues = 3;
  MultiHarness h(o);
  const std::vector<int> l = listen_on_a(h, 1, 8000);
  uint16_t port = 0;
  const int fd = connect_from_bound_port(h, 0, 1, 20000, &port);
  ASSERT_NE(port, 0);
  // The request to shard 1 is posted, not yet read. Every RETA entry of shard 1 goes to shard 2.
  std::vector<uint16_t> reta(kRssRetaSize);
  for (unsigned i = 0; i < kRssRetaSize; ++i) {
    const uint16_t e = h.b(0).rss_map.reta_entry(i);
    reta[i] = e == 1 ? 2 : e;
  }
  ASSERT_TRUE(h.stack_b().set_reta(reta));
  ASSERT_EQ(h.b(0).flow_owner(MultiHarness::kB, port, MultiHarness::kA, 8000), 2u);
  h.pump();
  h.on(h.b(0));
  ASSERT_TRUE(connected(fd));
  EXPECT_EQ(h.b(1).stats.tcp_tuples_lent, 1u);  // the old owner's answer (a loan, taken back since)
  EXPECT_EQ(h.b(1).tcp.lent_count(), 0u);
  EXPECT_EQ(h.b(2).stats.tcp_tuples_lent, 1u);
  EXPECT_EQ(h.b(2).tcp.lent_count(), 1u);
  h.on(h.a(0));
  const std::vector<int> acc = accept_all(l[0]);
  ASSERT_EQ(acc.size(), 1u);
  // Data both ways through shard 2's loan; then close: the loan is given back after TIME-WAIT.
  h.on(h.b(0));
  ASSERT_EQ(skiff_send(fd, "ping", 4, 0), 4);
  h.pump();
  h.on(h.a(0));
  char buf[8];
  ASSERT_EQ(skiff_recv(acc[0], buf, sizeof buf, MSG_DONTWAIT), 4);
  ASSERT_EQ(skiff_send(acc[0], "pong", 4, 0), 4);
  h.pump();
  h.on(h.b(0));
  ASSERT_EQ(skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
  EXPECT_GE(h.b(2).stats.tcp_lent_forwards, 1u);
  EXPECT_EQ(h.sum(h.stack_a(), &ShardStats::tcp_out_rsts) + h.sum(h.stack_b(), &ShardStats::tcp_out_rsts), 0u);
  skiff_close(fd);
  h.on(h.a(0));
  skiff_close(acc[0]);
  skiff_close(l[0]);
  h.pump();
  h.advance(70s, 100ms);
  EXPECT_EQ(h.b(2).tcp.lent_count(), 0u);
}

// IPv4 multicast over several shards (ipv4/igmp.hh): a socket on shard 1 joins; shard 0 speaks IGMP for the
// host (one report, from shard 0, whichever shard's socket joined); a datagram to the group reaches every
// shard's sockets on the port (the receiving shard hands copies to the others); a query that arrives on
// another shard is answered by shard 0.
TEST(MultiShard, MulticastMembershipIsHostWideAndIgmpIsShardZeros) {
  MultiHarness h;
  const Ipv4Addr g = Ipv4Addr::of(239, 1, 2, 3);
  int rx[2];
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    rx[s] = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int yes = 1;
    ASSERT_EQ(skiff_setsockopt(rx[s], SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes), 0);
    const sockaddr_in any = sin_of(Ipv4Addr::any(), 5400);
    ASSERT_EQ(skiff_bind(rx[s], sa(any), sizeof any), 0) << strerror(errno);
  }
  h.on(h.b(1));
  ip_mreqn m{};
  m.imr_multiaddr.s_addr = htonl(g.host());
  m.imr_ifindex = 1;
  ASSERT_EQ(skiff_setsockopt(rx[1], IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m), 0) << strerror(errno);
  h.pump();
  EXPECT_TRUE(h.b(0).mc.accepts(0, g, MultiHarness::kA));  // every shard holds the host-wide view
  EXPECT_TRUE(h.b(1).mc.accepts(0, g, MultiHarness::kA));
  EXPECT_EQ(h.b(0).stats.igmp_out_reports, 1u);
  EXPECT_EQ(h.b(1).stats.igmp_out_reports, 0u);

  // From a's two shards (each sends on its own queue, so b receives on both): every datagram reaches both
  // of b's sockets (shard 0's did not join: IP_MULTICAST_ALL, on by default, lets it have the group).
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.a(s));
    const int tx = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    in_addr ia{htonl(MultiHarness::kA.host())};
    ASSERT_EQ(skiff_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), 0);
    const sockaddr_in to = sin_of(g, 5400);
    ASSERT_EQ(skiff_sendto(tx, "group", 5, 0, sa(to), sizeof to), 5) << strerror(errno);
    h.pump();
    skiff_close(tx);
  }
  for (unsigned s = 0; s < 2; ++s) {
    h.on(h.b(s));
    char buf[16];
    for (int n = 0; n < 2; ++n) EXPECT_EQ(skiff_recv(rx[s], buf, sizeof buf, 0), 5) << "shard " << s << " #" << n;
    EXPECT_EQ(skiff_recv(rx[s], buf, sizeof buf, 0), -1);
  }
  EXPECT_EQ(h.sum(h.stack_b(), &ShardStats::udp_mc_fanout), 2u);

  // IGMP that arrives on b's shard 1 (a's shard 1 sends on queue 1) is shard 0's: a general query to
  // all-systems and one to b's own address, each answered at once (Max Resp Code 0) by shard 0 alone.
  const uint64_t reports = h.b(0).stats.igmp_out_reports;
  h.on(h.a(1));
  const int q = skiff_socket(AF_INET, SOCK_RAW, IPPROTO_IGMP);
  ASSERT_GE(q, 0);
  in_addr ia{htonl(MultiHarness::kA.host())};
  ASSERT_EQ(skiff_setsockopt(q, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia), 0);
  uint8_t query[12] = {0x11, 0, 0, 0, 0, 0, 0, 0, 2, 125, 0, 0};
  const uint16_t c = wire::inet_checksum(query, sizeof query);
  memcpy(query + 2, &c, 2);
  for (const Ipv4Addr dst : {Ipv4Addr::of(224, 0, 0, 1), MultiHarness::kB}) {
    const sockaddr_in to = sin_of(dst, 0);
    ASSERT_EQ(skiff_sendto(q, query, sizeof query, 0, sa(to), sizeof to), 12) << strerror(errno);
    h.pump();
  }
  skiff_close(q);
  EXPECT_EQ(h.b(0).stats.igmp_in_queries, 2u);
  EXPECT_EQ(h.b(1).stats.igmp_in_queries, 0u);
  EXPECT_GE(h.b(1).stats.steer_out, 1u);
  EXPECT_EQ(h.b(0).stats.igmp_out_reports, reports + 2);
  EXPECT_EQ(h.b(1).stats.igmp_out_reports, 0u);
  // A raw IGMP socket on b's shard 1 sending to all-systems: its looped copy reaches shard 0's IGMP (not
  // dropped there as a datagram from our own address).
  h.on(h.b(1));
  const int own = skiff_socket(AF_INET, SOCK_RAW, IPPROTO_IGMP);
  in_addr ib{htonl(MultiHarness::kB.host())};
  ASSERT_EQ(skiff_setsockopt(own, IPPROTO_IP, IP_MULTICAST_IF, &ib, sizeof ib), 0);
  const sockaddr_in all = sin_of(Ipv4Addr::of(224, 0, 0, 1), 0);
  ASSERT_EQ(skiff_sendto(own, query, sizeof query, 0, sa(all), sizeof all), 12);
  h.pump();
  skiff_close(own);
  EXPECT_EQ(h.b(0).stats.igmp_in_queries, 3u);
  EXPECT_EQ(h.b(0).drops[Drop::Ipv4BadSrc] + h.b(1).drops[Drop::Ipv4BadSrc], 0u);
  const uint64_t before_leave = h.b(0).stats.igmp_out_reports;

  // Leaving on shard 1 is the host leaving: shard 0 tells the routers and every shard stops taking the group.
  h.on(h.b(1));
  skiff_close(rx[1]);
  h.pump();
  EXPECT_FALSE(h.b(0).mc.accepts(0, g, MultiHarness::kA));
  EXPECT_FALSE(h.b(1).mc.accepts(0, g, MultiHarness::kA));
  EXPECT_EQ(h.b(0).stats.igmp_out_reports, before_leave + 1);
  h.on(h.b(0));
  skiff_close(rx[0]);
}

// A connection to the host's own address between shards: the client's segments are taken in on the
// shard owning their flow (here, by the steered connect(), the client's own), the listener on the other
// shard serves it through the port directory, and nothing reaches the wire.
TEST(MultiShard, ConnectionsToOurOwnAddressAcrossShards) {
  MultiOptions o;
  MultiHarness h(o);
  h.on(h.a(1));
  const int l = tcp_listen(7300);
  h.pump();  // the other shard learns the port
  h.on(h.a(0));
  std::vector<int> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(tcp_connect(MultiHarness::kA, 7300));
  const uint64_t carried = h.carried;
  h.pump();
  h.on(h.a(1));
  auto fds = accept_all(l);
  EXPECT_EQ(fds.size(), 20u);
  h.on(h.a(0));
  for (int fd : clients) {
    ASSERT_TRUE(connected(fd));
    ASSERT_EQ(skiff_send(fd, "ping", 4, 0), 4);
  }
  h.pump();
  h.on(h.a(1));
  for (int fd : fds) {
    char buf[8];
    ASSERT_EQ(skiff_recv(fd, buf, sizeof buf, 0), 4);
    skiff_close(fd);
  }
  skiff_close(l);
  h.on(h.a(0));
  for (int fd : clients) skiff_close(fd);
  h.pump();
  EXPECT_EQ(h.carried, carried);  // nothing went on the wire
  EXPECT_GT(h.sum(h.stack_a(), &ShardStats::ip_local_looped), 0u);
  EXPECT_EQ(h.a(0).stats.tcp_in_rsts + h.a(1).stats.tcp_in_rsts, 0u);
}
