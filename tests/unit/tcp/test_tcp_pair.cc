// TCP end to end between two Skiff stacks wired in memory (manual clock): handshake, data both ways,
// half-close, close, and loss recovery through a lossy wire.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <random>

#include "api/skiff.h"
#include "pair_harness.hh"
#include "tcp/tcp.hh"

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

int tcp_listen(uint16_t port) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  const sockaddr_in a = sin_of(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  EXPECT_EQ(skiff_listen(fd, 16), 0) << strerror(errno);
  return fd;
}

int tcp_connect(Ipv4Addr dst, uint16_t port) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin_of(dst, port);
  EXPECT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  return fd;
}

// Connects a (client) to b (server); returns {client fd on a, accepted fd on b}.
std::pair<int, int> establish(PairHarness& p, uint16_t port = 7000) {
  p.on(p.b());
  const int l = tcp_listen(port);
  p.on(p.a());
  const int c = tcp_connect(PairHarness::kB, port);
  p.pump();
  p.on(p.b());
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  const int s = skiff_accept4(l, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
  EXPECT_GE(s, 0) << strerror(errno);
  EXPECT_EQ(ntohl(peer.sin_addr.s_addr), PairHarness::kA.host());
  skiff_close(l);
  return {c, s};
}

std::vector<uint8_t> data(size_t n, uint32_t seed = 1) {
  std::vector<uint8_t> v(n);
  std::mt19937 r(seed);
  for (auto& b : v) b = static_cast<uint8_t>(r());
  return v;
}

// Sends all of `out` from fd on `from`, reading on `to_fd` of `to`, pumping as needed; returns what arrived.
std::vector<uint8_t> transfer(PairHarness& p, Shard& from, int fd, Shard& to, int to_fd, const std::vector<uint8_t>& out,
                              Duration step = 1ms, int max_steps = 200000) {
  std::vector<uint8_t> in;
  size_t sent = 0;
  uint8_t buf[65536];
  for (int i = 0; i < max_steps && in.size() < out.size(); ++i) {
    p.on(from);
    if (sent < out.size()) {
      const ssize_t n = skiff_send(fd, out.data() + sent, out.size() - sent, 0);
      if (n > 0) sent += static_cast<size_t>(n);
    }
    p.pump();
    p.on(to);
    for (;;) {
      const ssize_t n = skiff_recv(to_fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.insert(in.end(), buf, buf + n);
    }
    if (i % 4 == 3) p.clock().advance(step);
  }
  return in;
}

}  // namespace

TEST(TcpPair, HandshakeDataAndClose) {
  PairHarness p;
  auto [c, s] = establish(p);
  p.on(p.a());
  const int one_more = skiff_connect(c, nullptr, 0);  // EFAULT path, no state change
  EXPECT_EQ(one_more, -1);
  const sockaddr_in bsin = sin_of(PairHarness::kB, 7000);
  EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&bsin), sizeof bsin), 0);  // reports success once
  EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&bsin), sizeof bsin), -1);
  EXPECT_EQ(errno, EISCONN);
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(ti.tcpi_snd_mss, 1448u);  // 1460 minus the 12-byte timestamp option (RFC 7323)
  EXPECT_GE(ti.tcpi_rcv_wscale, 6);  // window scaling negotiated both ways
  EXPECT_GE(ti.tcpi_snd_wscale, 6);

  const auto out = data(100000, 7);
  auto got = transfer(p, p.a(), c, p.b(), s, out);
  EXPECT_EQ(got, out);
  const auto back = data(50000, 8);
  got = transfer(p, p.b(), s, p.a(), c, back);
  EXPECT_EQ(got, back);

  // Half-close: a shuts down writing, b keeps sending and a keeps reading.
  p.on(p.a());
  ASSERT_EQ(skiff_shutdown(c, SHUT_WR), 0);
  p.pump();
  p.on(p.b());
  uint8_t buf[16];
  EXPECT_EQ(skiff_recv(s, buf, sizeof buf, 0), 0);  // EOF
  const auto tail = data(3000, 9);
  got = transfer(p, p.b(), s, p.a(), c, tail);
  EXPECT_EQ(got, tail);
  p.on(p.b());
  ASSERT_EQ(skiff_close(s), 0);
  p.pump();
  p.on(p.a());
  EXPECT_EQ(skiff_recv(c, buf, sizeof buf, 0), 0);
  ASSERT_EQ(skiff_close(c), 0);
  p.pump();
  // a closed first: it lingers in TIME-WAIT, then everything is gone.
  p.advance(61s, 500ms);
  EXPECT_EQ(p.a().tcp.connections(), 0u);
  EXPECT_EQ(p.b().tcp.connections(), 0u);
  EXPECT_EQ(p.a().socks.in_use(tcp_prot), 0u);
  EXPECT_EQ(p.b().socks.in_use(tcp_prot), 0u);
}

TEST(TcpPair, ConnectToClosedPortIsRefused) {
  PairHarness p;
  p.on(p.a());
  const int c = tcp_connect(PairHarness::kB, 9);
  p.pump();
  int err = 0;
  socklen_t el = sizeof err;
  ASSERT_EQ(skiff_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el), 0);
  EXPECT_EQ(err, ECONNREFUSED);
  skiff_close(c);
}

class TcpLossy : public ::testing::TestWithParam<int> {};

TEST_P(TcpLossy, TransferSurvivesLossReorderAndDuplication) {
  PairHarness p;
  auto [c, s] = establish(p);
  std::mt19937 rng(static_cast<uint32_t>(GetParam()));
  const int loss_pct = GetParam();
  p.filter = [&](bool, const Bytes&) {
    const int r = static_cast<int>(rng() % 100);
    if (r < loss_pct) return 0;
    if (r < loss_pct + 1) return 2;  // duplicate
    return 1;
  };
  const auto out = data(300000, 11);
  auto got = transfer(p, p.a(), c, p.b(), s, out, 5ms);
  EXPECT_EQ(got.size(), out.size());
  EXPECT_TRUE(got == out);
  if (loss_pct > 0) {
    EXPECT_GT(p.dropped, 0u);
    EXPECT_GT(p.a().stats.tcp_retrans_segs, 0u);
  }
  RecordProperty("dropped", static_cast<int>(p.dropped));
  RecordProperty("retransmitted", static_cast<int>(p.a().stats.tcp_retrans_segs));
  RecordProperty("fast_retrans", static_cast<int>(p.a().stats.tcp_fast_retrans));
  RecordProperty("rto", static_cast<int>(p.a().stats.tcp_rto_expired));
  RecordProperty("partial", static_cast<int>(p.a().stats.tcp_partial_acks));
  RecordProperty("b_dup", static_cast<int>(p.b().stats.tcp_dup_segs));
  RecordProperty("b_ooo", static_cast<int>(p.b().stats.tcp_ooo_segs));
  RecordProperty("a_out", static_cast<int>(p.a().stats.tcp_out_segs));
  p.filter = nullptr;
  p.on(p.a());
  skiff_close(c);
  p.on(p.b());
  skiff_close(s);
  p.advance(70s, 1s);
  EXPECT_EQ(p.a().socks.in_use(tcp_prot), 0u);
  EXPECT_EQ(p.b().socks.in_use(tcp_prot), 0u);
}

INSTANTIATE_TEST_SUITE_P(Tcp, TcpLossy, ::testing::Values(0, 2, 10));

// A socket reused after its connection ended (connect(AF_UNSPEC), or a connect() that failed) starts its next
// connection from scratch, as Linux's tcp_disconnect resets it: no round-trip estimate, window, scoreboard,
// backoff or negotiated option of the old connection carries over. As on Linux, the first connect() after
// a failed non-blocking one reports ECONNABORTED (and makes the socket reusable); the next one connects.
TEST(TcpPair, MaxsegReadsAsLinuxThroughAConnectionsLife) {
  // Measured on Linux 6.18 over loopback with timestamps: 536 on a fresh socket or listener, the value set
  // while closed, the MSS in use (the set value less the 12-byte timestamp option) once connected and while
  // closing, and the set value again once the connection is in TIME-WAIT.
  PairHarness p;
  const auto maxseg = [](int fd) {
    int v = -1;
    socklen_t vl = sizeof v;
    EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
    return v;
  };
  p.on(p.b());
  const int l = tcp_listen(7000);
  EXPECT_EQ(maxseg(l), 536);
  p.on(p.a());
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(maxseg(c), 536);
  const int m = 1000;
  ASSERT_EQ(skiff_setsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &m, sizeof m), 0);
  EXPECT_EQ(maxseg(c), 1000);
  const sockaddr_in to = sin_of(PairHarness::kB, 7000);
  EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(maxseg(c), 988);  // SYN-SENT: the set value less the timestamp option our SYN offers
  const int c2 = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(skiff_connect(c2, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(maxseg(c2), 524);  // SYN-SENT without TCP_MAXSEG: 536 less the option
  skiff_close(c2);
  p.pump();
  p.on(p.b());
  const int s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s, 0);
  EXPECT_EQ(maxseg(s), 988);  // the peer announced 1000
  p.on(p.a());
  EXPECT_EQ(maxseg(c), 988);
  ASSERT_EQ(skiff_shutdown(c, SHUT_WR), 0);
  p.pump();
  p.on(p.a());
  EXPECT_EQ(maxseg(c), 988);  // FIN-WAIT-2
  p.on(p.b());
  skiff_close(s);
  p.pump();
  p.on(p.a());
  EXPECT_EQ(maxseg(c), 1000);  // TIME-WAIT
  skiff_close(c);
  p.on(p.b());
  skiff_close(l);
  p.pump();
}

TEST(TcpPair, ReusedSocketStartsItsNextConnectionFresh) {
  PairHarness p;
  auto [c, s] = establish(p);
  // Some loss, so the connection has retransmitted, SACKed and backed off; then a disconnects with data
  // outstanding (its peer's segments are lost meanwhile, so the scoreboard is not empty).
  std::mt19937 rng(5);
  p.filter = [&](bool a_to_b, const Bytes&) { return (a_to_b && rng() % 8 == 0) ? 0 : 1; };
  const auto out = data(300000, 11);
  EXPECT_EQ(transfer(p, p.a(), c, p.b(), s, out), out);
  p.filter = [](bool a_to_b, const Bytes&) { return a_to_b ? 1 : 0; };
  p.on(p.a());
  const auto more = data(40000, 12);
  ASSERT_GT(skiff_send(c, more.data(), more.size(), 0), 0);
  p.pump();
  p.advance(3s, 10ms);  // retransmission timeouts: backoff
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  p.on(p.a());
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  ASSERT_GT(ti.tcpi_total_retrans, 0u);
  ASSERT_GT(ti.tcpi_backoff, 0u);
  ASSERT_GT(ti.tcpi_rtt, 0u);
  p.filter = nullptr;
  const int on = 1, clamp = 50000;
  ASSERT_EQ(skiff_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &clamp, sizeof clamp), 0);
  sockaddr_in un{};
  un.sin_family = AF_UNSPEC;
  ASSERT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&un), sizeof un), 0);
  p.pump();
  int so_err = 0;
  socklen_t so_len = sizeof so_err;
  ASSERT_EQ(skiff_getsockopt(c, SOL_SOCKET, SO_ERROR, &so_err, &so_len), 0);
  EXPECT_EQ(so_err, ECONNRESET);  // as Linux's tcp_disconnect leaves it
  const auto fresh = [&](int fd) {
    tcp_info t{};
    socklen_t l = sizeof t;
    EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &t, &l), 0);
    EXPECT_EQ(t.tcpi_total_retrans, 0u);
    EXPECT_EQ(t.tcpi_retransmits, 0u);
    EXPECT_EQ(t.tcpi_backoff, 0u);
    EXPECT_EQ(t.tcpi_ca_state, 0u);
    EXPECT_EQ(t.tcpi_unacked, 0u);
    EXPECT_EQ(t.tcpi_sacked, 0u);
    EXPECT_EQ(t.tcpi_lost, 0u);
    EXPECT_EQ(t.tcpi_retrans, 0u);
    EXPECT_EQ(t.tcpi_snd_ssthresh, 0x7fffffffu);
    return t;
  };
  const tcp_info closed = fresh(c);
  EXPECT_EQ(closed.tcpi_state, TCP_CLOSE);
  EXPECT_EQ(p.a().stats.tcp_curr_estab, 0u);
  EXPECT_EQ(closed.tcpi_rtt, 0u);
  EXPECT_EQ(closed.tcpi_options, 0u);  // nothing negotiated
  // As Linux 6.18: TCP_NODELAY stays, TCP_WINDOW_CLAMP goes; recv() says ENOTCONN.
  int v = -1;
  socklen_t vl = sizeof v;
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, &vl), 0);
  EXPECT_EQ(v, 0);
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
  EXPECT_EQ(v, static_cast<int>(ti.tcpi_snd_mss));  // the last connection's MSS (Linux's mss_cache)
  char b1;
  EXPECT_EQ(skiff_recv(c, &b1, 1, 0), -1);
  EXPECT_EQ(errno, ENOTCONN);
  // The same socket connects again: the new connection measures its own RTT and sends everything.
  p.on(p.b());
  const int l2 = tcp_listen(7001);
  p.on(p.a());
  const sockaddr_in to = sin_of(PairHarness::kB, 7001);
  EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  p.pump();
  p.on(p.b());
  const int s2 = skiff_accept4(l2, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s2, 0);
  p.on(p.a());
  const tcp_info again = fresh(c);
  EXPECT_EQ(again.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(again.tcpi_snd_cwnd, 10u);  // the initial window (RFC 6928), not the old connection's
  const auto next = data(200000, 13);
  EXPECT_EQ(transfer(p, p.a(), c, p.b(), s2, next), next);

  // A connect() refused by the peer: the next connect() reports ECONNABORTED, the one after connects and
  // the connection carries data.
  p.on(p.a());
  const int r = tcp_connect(PairHarness::kB, 9);
  p.pump();
  p.on(p.a());
  int err = 0;
  socklen_t el = sizeof err;
  ASSERT_EQ(skiff_getsockopt(r, SOL_SOCKET, SO_ERROR, &err, &el), 0);
  EXPECT_EQ(err, ECONNREFUSED);
  EXPECT_EQ(skiff_connect(r, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(errno, ECONNABORTED);
  EXPECT_EQ(skiff_connect(r, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  p.pump();
  p.on(p.b());
  const int s3 = skiff_accept4(l2, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s3, 0);
  const auto last = data(5000, 14);
  EXPECT_EQ(transfer(p, p.a(), r, p.b(), s3, last), last);
  // shutdown() of a connecting socket disconnects it too, leaving ECONNRESET (as Linux 6.18).
  p.filter = [](bool, const Bytes&) { return 0; };
  p.on(p.a());
  const int hanging = tcp_connect(PairHarness::kB, 7001);
  p.pump();
  p.on(p.a());
  EXPECT_EQ(skiff_shutdown(hanging, SHUT_RDWR), 0);
  ASSERT_EQ(skiff_getsockopt(hanging, SOL_SOCKET, SO_ERROR, &err, &el), 0);
  EXPECT_EQ(err, ECONNRESET);
  // An error left unread does not reach the next connection (Linux clears it in tcp_connect_init).
  const int unread = tcp_connect(PairHarness::kB, 7001);
  p.pump();
  p.on(p.a());
  EXPECT_EQ(skiff_shutdown(unread, SHUT_RDWR), 0);
  p.filter = nullptr;
  EXPECT_EQ(skiff_connect(unread, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  p.pump();
  p.on(p.a());
  ASSERT_EQ(skiff_getsockopt(unread, SOL_SOCKET, SO_ERROR, &err, &el), 0);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(skiff_send(unread, "x", 1, 0), 1);
  p.pump();
  p.on(p.b());
  const int s4 = skiff_accept4(l2, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s4, 0);
  char one = 0;
  EXPECT_EQ(skiff_recv(s4, &one, 1, 0), 1);
  for (int fd : {s, s2, s3, s4, l2}) skiff_close(fd);
  p.on(p.a());
  for (int fd : {c, r, hanging, unread}) skiff_close(fd);
  p.pump();
}
