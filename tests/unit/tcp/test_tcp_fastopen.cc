// TCP Fast Open, server side (RFC 7413), as Linux: a listener with TCP_FASTOPEN answers a cookie request
// with its cookie; a SYN that brings that cookie opens the connection at once: the SYN's data is readable,
// the SYN-ACK acknowledges it, the connection waits in the accept queue and may write before the peer's ACK
// of the SYN-ACK. A wrong cookie gets a plain handshake (its data ignored) and the right cookie; the
// TCP_FASTOPEN value bounds the Fast Open connections still in their handshake.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <cstring>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp/tcp_impl.hh"
#include "tcp_builder.hh"
#include "tcp_test_util.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::test;
using namespace tcpt;

namespace {

constexpr uint32_t kIsn = 1000;  // the peer's ISN

int fastopen_of(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &v, &len), 0);
  return v;
}

int fastopen_listener(int qlen, int backlog = 16) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, qlen), 0);
  const sockaddr_in a = sin_of(Ipv4Addr::any(), kLocalPort);
  EXPECT_EQ(skiff_bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(skiff_listen(fd, backlog), 0);
  return fd;
}

// Our cookie for the harness's peer, as the stack computes it.
std::array<uint8_t, 8> our_cookie(StackHarness& h) {
  std::array<uint8_t, 8> c{};
  tcp::fastopen_cookie(tcp::fastopen_keys_of(h.shard(), nullptr).key[0], StackHarness::kPeerIp, StackHarness::kOurIp,
                       c.data());
  return c;
}

wire::TcpOptions tfo_opts(int8_t len, const uint8_t* cookie = nullptr) {
  wire::TcpOptions o = mss_opt(1400);
  o.fastopen_len = len;
  if (cookie) std::memcpy(o.fastopen_cookie.data(), cookie, static_cast<size_t>(len));
  return o;
}

// A SYN from `sport` with Fast Open option `o` and `data`; returns the one SYN-ACK sent (and fails if not
// exactly one), with any other segments in `rest`.
SentTcp syn(StackHarness& h, uint16_t sport, const wire::TcpOptions& o, const Bytes& data = {},
            std::vector<SentTcp>* rest = nullptr) {
  h.inject(tcp_frame(h, {.sport = sport, .seq = kIsn, .flags = tf::kSyn, .opts = o, .payload = data}));
  SentTcp synack;
  int n = 0;
  for (SentTcp& t : tcp_only(h.sent())) {
    if (t.dport == sport && t.flags == (tf::kSyn | tf::kAck)) {
      synack = t;
      ++n;
    } else if (rest) {
      rest->push_back(t);
    }
  }
  EXPECT_EQ(n, 1);
  return synack;
}

SentTcp syn_with_cookie(StackHarness& h, uint16_t sport, const Bytes& data) {
  const auto c = our_cookie(h);
  return syn(h, sport, tfo_opts(8, c.data()), data);
}

void ack(StackHarness& h, uint16_t sport, uint32_t seq, uint32_t ack, const Bytes& data = {}) {
  h.inject(tcp_frame(h, {.sport = sport, .seq = seq, .ack = ack, .flags = tf::kAck, .payload = data}));
}

int try_accept(int l) { return skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK); }

Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }

// Runs the clock for `d` in 100 ms steps (timers fire at their times; the peer keeps answering ARP);
// returns what was sent meanwhile.
std::vector<SentTcp> run_for(StackHarness& h, std::chrono::milliseconds d) {
  std::vector<SentTcp> all;
  for (auto t = 0ms; t < d; t += 100ms) {
    h.advance(100ms);
    if (t % 10s == 0ms) h.learn_peer();
    for (SentTcp& seg : out_of(h)) all.push_back(std::move(seg));
  }
  return all;
}

}  // namespace

TEST(TcpFastOpen, SockoptAsLinux) {
  // Measured on Linux 6.18: 0 by default; any value >= 0 on a closed or listening socket, capped at
  // somaxconn; EINVAL for a negative value, on a connected socket, or a short option; a child reads 0.
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(fastopen_of(fd), 0);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, 5), 0);
  EXPECT_EQ(fastopen_of(fd), 5);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, 100000), 0);
  EXPECT_EQ(fastopen_of(fd), 4096);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, -1), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(fastopen_of(fd), 4096);
  const short too_short = 1;
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &too_short, sizeof too_short), -1);
  EXPECT_EQ(errno, EINVAL);
  skiff_close(fd);

  Conn c = accept_conn(h);
  EXPECT_EQ(set_int(c.lfd, IPPROTO_TCP, TCP_FASTOPEN, 7), 0);  // a listener takes it
  EXPECT_EQ(fastopen_of(c.lfd), 7);
  EXPECT_EQ(fastopen_of(c.fd), 0);
  EXPECT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_FASTOPEN, 3), -1);  // a connection does not
  EXPECT_EQ(errno, EINVAL);
}

TEST(TcpFastOpen, CookieRequestIsAnsweredWithTheCookieAndAPlainHandshake) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const SentTcp sa = syn(h, 41000, tfo_opts(0));
  ASSERT_EQ(sa.opts.fastopen_len, 8);
  const auto want = our_cookie(h);
  EXPECT_EQ(std::memcmp(sa.opts.fastopen_cookie.data(), want.data(), 8), 0);
  EXPECT_EQ(sa.ack, kIsn + 1);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_cookie_reqd, 1u);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 0u);
  EXPECT_EQ(try_accept(l), -1);  // nothing before the handshake completes
  ack(h, 41000, kIsn + 1, sa.seq + 1);
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(state_of(c), TCP_ESTABLISHED);
  // The cookie is the address pair's: a second request gets the same; another client address another.
  EXPECT_EQ(std::memcmp(syn(h, 41001, tfo_opts(0)).opts.fastopen_cookie.data(), want.data(), 8), 0);
  std::array<uint8_t, 8> other{};
  tcp::fastopen_cookie(tcp::fastopen_keys_of(h.shard(), nullptr).key[0], Ipv4Addr::of(10, 0, 0, 77),
                       StackHarness::kOurIp, other.data());
  EXPECT_NE(other, want);
  // A plain SYN (no option) gets no cookie.
  EXPECT_EQ(syn(h, 41002, mss_opt(1400)).opts.fastopen_len, -1);
}

TEST(TcpFastOpen, ValidCookieOpensAtOnceWithTheSynsData) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const int ep = skiff_epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l;
  ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
  const SentTcp sa = syn_with_cookie(h, 41000, text("GET /"));
  // The SYN-ACK acknowledges the SYN's data and carries no cookie (the client has the right one).
  EXPECT_EQ(sa.ack, kIsn + 1 + 5);
  EXPECT_EQ(sa.opts.fastopen_len, -1);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 1u);
  // Accepted before the handshake completes, the data readable.
  h.advance(0ms);
  EXPECT_EQ(skiff_epoll_wait(ep, &ev, 1, 0), 1);
  skiff_close(ep);
  const int c = try_accept(l);
  ASSERT_GE(c, 0) << strerror(errno);
  EXPECT_EQ(state_of(c), TCP_SYN_RECV);
  EXPECT_TRUE(info(c).tcpi_options & TCPI_OPT_SYN_DATA);  // as Linux: the SYN-ACK acknowledged SYN data
  EXPECT_EQ(read_all(c), text("GET /"));
  // Its answer leaves at once, after the SYN-ACK (RFC 7413 §2: the response within the first round trip).
  ASSERT_EQ(skiff_send(c, "200 OK", 6, 0), 6);
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, sa.seq + 1);
  EXPECT_EQ(out[0].ack, kIsn + 1 + 5);
  EXPECT_EQ(out[0].payload, text("200 OK"));
  // The peer's ACK of the SYN-ACK and the answer completes the handshake.
  ack(h, 41000, kIsn + 6, sa.seq + 1 + 6);
  EXPECT_EQ(state_of(c), TCP_ESTABLISHED);
  EXPECT_EQ(info(c).tcpi_unacked, 0u);
  // More data both ways as on any connection.
  ack(h, 41000, kIsn + 6, sa.seq + 7, text("more"));
  EXPECT_EQ(read_all(c), text("more"));
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(TcpFastOpen, WrongCookieIgnoresTheDataAndSendsTheRightCookie) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  auto bad = our_cookie(h);
  bad[3] ^= 0x40;
  const SentTcp sa = syn(h, 41000, tfo_opts(8, bad.data()), text("GET /"));
  EXPECT_EQ(sa.ack, kIsn + 1);  // the SYN only
  ASSERT_EQ(sa.opts.fastopen_len, 8);
  const auto want = our_cookie(h);
  EXPECT_EQ(std::memcmp(sa.opts.fastopen_cookie.data(), want.data(), 8), 0);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive_fail, 1u);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 0u);
  EXPECT_EQ(try_accept(l), -1);
  // The client sends its data again after the handshake (RFC 7413 §4.2.2), and that is what is read.
  ack(h, 41000, kIsn + 1, sa.seq + 1, text("GET /"));
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(read_all(c), text("GET /"));
  EXPECT_FALSE(info(c).tcpi_options & TCPI_OPT_SYN_DATA);
  // A cookie of another length (4 bytes) is wrong too.
  const SentTcp sa2 = syn(h, 41001, tfo_opts(4, want.data()), text("x"));
  EXPECT_EQ(sa2.ack, kIsn + 1);
  EXPECT_EQ(sa2.opts.fastopen_len, 8);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive_fail, 2u);
}

TEST(TcpFastOpen, OffWithoutTheSockoptOrTheStackSetting) {
  {
    StackHarness h;
    h.learn_peer();
    const int l = listen_on();
    const SentTcp sa = syn_with_cookie(h, 41000, text("GET /"));
    EXPECT_EQ(sa.ack, kIsn + 1);
    EXPECT_EQ(sa.opts.fastopen_len, -1);  // no cookie either
    EXPECT_EQ(syn(h, 41001, tfo_opts(0)).opts.fastopen_len, -1);
    EXPECT_EQ(try_accept(l), -1);
    EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 0u);
  }
  {
    HarnessOptions o;
    o.cfg.tcp.fastopen = 0;
    StackHarness h(o);
    h.learn_peer();
    const int l = fastopen_listener(8);
    const SentTcp sa = syn_with_cookie(h, 41000, text("GET /"));
    EXPECT_EQ(sa.ack, kIsn + 1);
    EXPECT_EQ(sa.opts.fastopen_len, -1);
    EXPECT_EQ(try_accept(l), -1);
  }
}

TEST(TcpFastOpen, TheLimitCountsConnectionsStillInTheirHandshake) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(1);
  const SentTcp a = syn_with_cookie(h, 41000, text("a"));
  EXPECT_EQ(a.ack, kIsn + 2);
  // A second one while the first is in its handshake: a plain handshake (no cookie: Linux's
  // tcp_fastopen_queue_check), counted.
  const SentTcp b = syn_with_cookie(h, 41001, text("b"));
  EXPECT_EQ(b.ack, kIsn + 1);
  EXPECT_EQ(b.opts.fastopen_len, -1);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_listen_overflow, 1u);
  // The first completes (accepted or not, it counts no more): the next one opens fast again.
  ack(h, 41000, kIsn + 2, a.seq + 1);
  const SentTcp c = syn_with_cookie(h, 41002, text("c"));
  EXPECT_EQ(c.ack, kIsn + 2);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 2u);
  // Accept order is arrival order in the queue: a (fast), c (fast); b completes later.
  ack(h, 41001, kIsn + 1, b.seq + 1);
  const int fa = try_accept(l), fc = try_accept(l), fb = try_accept(l);
  ASSERT_GE(fa, 0);
  ASSERT_GE(fc, 0);
  ASSERT_GE(fb, 0);
  EXPECT_EQ(read_all(fa), text("a"));
  EXPECT_EQ(read_all(fc), text("c"));
  EXPECT_EQ(read_all(fb), Bytes{});
}

TEST(TcpFastOpen, RepeatedSynIsAnsweredWithoutTakingItsDataTwice) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const SentTcp sa = syn_with_cookie(h, 41000, text("hello"));
  // The SYN-ACK was lost: the client sends its SYN (and data) again.
  const SentTcp sa2 = syn_with_cookie(h, 41000, text("hello"));
  EXPECT_EQ(sa2.seq, sa.seq);
  EXPECT_EQ(sa2.ack, kIsn + 6);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 1u);
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(try_accept(l), -1);
  EXPECT_EQ(read_all(c), text("hello"));
}

TEST(TcpFastOpen, ResetBeforeAcceptStaysQueuedWithItsDataAndFreesItsPlace) {
  // Linux's tcp_check_req (embryonic_reset) → reqsk_fastopen_remove, tcp_reset → tcp_done: a child not yet
  // accepted stays in the accept queue, closed, with the SYN's data; its Fast Open place is free at once.
  // Regression: the child was freed with its data, and accept() never saw the request.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(1);
  SentTcp sa = syn_with_cookie(h, 41000, text("a"));
  h.inject(tcp_frame(h, {.sport = 41000, .seq = kIsn + 2, .flags = tf::kRst}));
  EXPECT_EQ(sa.ack, kIsn + 2);
  // The limit of 1 is free again.
  sa = syn_with_cookie(h, 41001, text("b"));
  EXPECT_EQ(sa.ack, kIsn + 2);
  const int r = try_accept(l);
  ASSERT_GE(r, 0);
  EXPECT_EQ(state_of(r), TCP_CLOSE);
  ssize_t rc = 0;
  EXPECT_EQ(read_all(r, &rc), text("a"));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ECONNRESET);
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(try_accept(l), -1);
  EXPECT_EQ(errno, EAGAIN);
  // A reset of an accepted Fast Open connection in its handshake reads as ECONNRESET.
  // (what it received first is still read first, as Linux's tcp_recvmsg).
  h.inject(tcp_frame(h, {.sport = 41001, .seq = kIsn + 2, .flags = tf::kRst}));
  EXPECT_EQ(read_all(c, &rc), text("b"));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ECONNRESET);
  skiff_close(r);
  skiff_close(c);
  skiff_close(l);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 0u);
}

TEST(TcpFastOpen, UnansweredSynAckTimesOutTheAcceptedConnection) {
  // Linux's tcp_fastopen_synack_timer: the SYN-ACK goes again synack_retries + 1 times (5 + 1), then the
  // connection fails with ETIMEDOUT for its reader (no TCP_USER_TIMEOUT: the listener's request sockets
  // have none).
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const SentTcp sa = syn_with_cookie(h, 41000, text("a"));
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  size_t synacks = 0;
  for (const SentTcp& t : run_for(h, 220s)) synacks += t.flags == (tf::kSyn | tf::kAck) && t.seq == sa.seq;
  EXPECT_EQ(synacks, 6u);
  ssize_t rc = 0;
  EXPECT_EQ(read_all(c, &rc), text("a"));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ETIMEDOUT);
}

TEST(TcpFastOpen, ListenerClosedWhileAnAcceptedOneIsInItsHandshake) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const SentTcp sa = syn_with_cookie(h, 41000, text("a"));
  const SentTcp sb = syn_with_cookie(h, 41001, text("b"));
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  // The listener goes with the one still queued (reset); the accepted one stays and completes.
  skiff_close(l);
  bool rst_b = false;
  for (const SentTcp& t : tcp_only(h.sent())) rst_b |= t.dport == 41001 && t.has(tf::kRst);
  EXPECT_TRUE(rst_b);
  (void)sb;
  ack(h, 41000, kIsn + 2, sa.seq + 1, text("z"));
  EXPECT_EQ(state_of(c), TCP_ESTABLISHED);
  EXPECT_EQ(read_all(c), text("az"));
}

TEST(TcpFastOpen, ShutdownInTheHandshakeSendsTheFinAfterTheData) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const SentTcp sa = syn_with_cookie(h, 41000, text("q"));
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  ASSERT_EQ(skiff_send(c, "ans", 3, 0), 3);
  ASSERT_EQ(skiff_shutdown(c, SHUT_WR), 0);
  EXPECT_EQ(state_of(c), TCP_FIN_WAIT1);
  SeqNum end = SeqNum(sa.seq + 1);
  bool fin = false;
  for (const SentTcp& t : tcp_only(h.sent())) {
    if (t.payload.size()) {
      EXPECT_EQ(t.seq, sa.seq + 1);
    }
    if (t.has(tf::kFin)) {
      fin = true;
      EXPECT_EQ(t.seq + t.payload.size(), sa.seq + 4);
    }
    end = SeqNum(t.seq) + seg_space(t);
  }
  EXPECT_TRUE(fin);
  EXPECT_EQ(end.raw(), sa.seq + 5);
  // The peer acknowledges all: FIN-WAIT-2.
  ack(h, 41000, kIsn + 2, sa.seq + 5);
  EXPECT_EQ(state_of(c), TCP_FIN_WAIT2);
}

TEST(TcpFastOpen, HostUnreachableEndsItOnlyBeforeAccept) {
  // Linux's tcp_v4_err: a Fast Open connection not yet accepted ends on the error, like any connection in
  // its handshake; one accepted counts as connected (the application may have read and written): the error
  // is soft.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const SentTcp a = syn_with_cookie(h, 41000, text("a"));
  icmp_about(h, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kHost, kLocalPort, 41000, a.seq);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  // (It stays queued, closed, with its data and the error: tcp_done leaves a child not yet accepted.)
  const int r = try_accept(l);
  ASSERT_GE(r, 0);
  ssize_t rc = 0;
  EXPECT_EQ(read_all(r, &rc), text("a"));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EHOSTUNREACH);
  skiff_close(r);
  const SentTcp b = syn_with_cookie(h, 41001, text("b"));
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  icmp_about(h, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kHost, kLocalPort, 41001, b.seq);
  EXPECT_EQ(state_of(c), TCP_SYN_RECV);
  EXPECT_EQ(so_error(c), EHOSTUNREACH);  // the soft error, read once (Linux's SO_ERROR falls back to sk_err_soft)
  EXPECT_EQ(so_error(c), 0);
  ack(h, 41001, kIsn + 2, b.seq + 1);
  EXPECT_EQ(state_of(c), TCP_ESTABLISHED);
  EXPECT_EQ(read_all(c), text("b"));
}

TEST(TcpFastOpen, ClientSideOffAnswersAsLinuxWithItsClientBitOff) {
  // [tcp] fastopen = 0. Measured on Linux 6.18 with net.ipv4.tcp_fastopen=0: TCP_FASTOPEN_CONNECT 0 or 1 gives
  // EOPNOTSUPP, other values EINVAL, and reads 0; MSG_FASTOPEN gives EOPNOTSUPP, on a fresh socket and a
  // connected one.
  HarnessOptions o;
  o.cfg.tcp.fastopen = 0;
  StackHarness h(o);
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  for (int v : {1, 0}) {
    EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, v), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
  }
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 2), -1);
  EXPECT_EQ(errno, EINVAL);
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &v, &len), 0);
  EXPECT_EQ(v, 0);
  const sockaddr_in peer = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_sendto(fd, "x", 1, MSG_FASTOPEN, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(tcp_only(h.sent()).size(), 0u);  // no SYN went
  skiff_close(fd);
  Conn c = accept_conn(h);
  EXPECT_EQ(skiff_send(c.fd, "x", 1, MSG_FASTOPEN), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
}

namespace {

// A Fast Open connection from `sport` (1 byte in its SYN), accepted; its SYN-ACK in `sa`.
int fast_open(StackHarness& h, int l, uint16_t sport, SentTcp& sa) {
  sa = syn_with_cookie(h, sport, text("q"));
  EXPECT_EQ(sa.ack, kIsn + 2);
  return try_accept(l);
}

}  // namespace

TEST(TcpFastOpen, ClosedBeforeTheAckItStillAnswersWithTheSynAck) {
  // The usual Fast Open server reads, writes its answer and closes while the SYN-ACK is not acknowledged
  // yet (FIN-WAIT-1). If the SYN-ACK was lost, its timer and the peer's repeated SYN must still bring it
  // (the peer, in SYN-SENT, drops anything else); the Fast Open limit counts the connection until the ACK;
  // the ACK must acknowledge the SYN-ACK (else a RST); and the answer goes again at once after it.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(1);
  SentTcp sa;
  const int c = fast_open(h, l, 41000, sa);
  ASSERT_GE(c, 0);
  EXPECT_EQ(read_all(c), text("q"));
  ASSERT_EQ(skiff_send(c, "ans", 3, 0), 3);
  skiff_close(c);
  auto out = tcp_only(h.sent());
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.back().has(tf::kFin));
  // The SYN-ACK's timer (1 s): a SYN-ACK, nothing else.
  h.advance(1100ms);
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].seq, sa.seq);
  EXPECT_EQ(out[0].ack, kIsn + 2);
  // The peer's repeated SYN: the SYN-ACK again.
  const SentTcp again = syn_with_cookie(h, 41000, text("q"));
  EXPECT_EQ(again.seq, sa.seq);
  // Still counted against TCP_FASTOPEN 1: another client's Fast Open SYN gets a plain handshake.
  EXPECT_EQ(syn_with_cookie(h, 41001, text("x")).ack, kIsn + 1);
  // An ACK that does not acknowledge the SYN-ACK: a RST, and the connection stays.
  ack(h, 41000, kIsn + 2, sa.seq);
  out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kRst));
  // The ACK of the SYN-ACK alone: the answer and the FIN go again at once.
  ack(h, 41000, kIsn + 2, sa.seq + 1);
  out = tcp_only(h.sent());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].seq, sa.seq + 1);
  EXPECT_EQ(out[0].payload, text("ans"));
  EXPECT_TRUE(out.back().has(tf::kFin));
  // All acknowledged: FIN-WAIT-2, and the Fast Open limit is free again.
  ack(h, 41000, kIsn + 2, sa.seq + 5);
  EXPECT_EQ(h.shard().tcp.connections(), 2u);  // this one (FIN-WAIT-2) and 41001's embryo
  EXPECT_EQ(syn_with_cookie(h, 41002, text("y")).ack, kIsn + 2);
}

TEST(TcpFastOpen, AnswerLostWithTheSynAckGoesAgainOnTheAck) {
  // Linux's tcp_fastopen_synack_timer: the SYN-ACK timing out means what followed it is lost too (the
  // peer in SYN-SENT drops it); once the ACK comes, it goes again at once, not an RTO later.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  SentTcp sa;
  const int c = fast_open(h, l, 41000, sa);
  ASSERT_GE(c, 0);
  ASSERT_EQ(skiff_send(c, "answer", 6, 0), 6);
  EXPECT_EQ(tcp_only(h.sent()).size(), 1u);
  std::vector<SentTcp> out;
  const auto when = advance_until_sent(h, 5s, out, 10ms);
  ASSERT_TRUE(when);
  EXPECT_EQ(*when, 1s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  ack(h, 41000, kIsn + 2, sa.seq + 1);
  EXPECT_EQ(state_of(c), TCP_ESTABLISHED);
  out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, sa.seq + 1);
  EXPECT_EQ(out[0].payload, text("answer"));
  ack(h, 41000, kIsn + 2, sa.seq + 7);
  EXPECT_EQ(info(c).tcpi_unacked, 0u);
}

TEST(TcpFastOpen, FragmentationNeededForTheAnswerLowersTheMss) {
  // Data sent in SYN-RECEIVED meets a narrower link: the MSS falls and it goes again in smaller pieces
  // (Linux's tcp_v4_mtu_reduced skips only LISTEN and CLOSE).
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  SentTcp sa;
  const int c = fast_open(h, l, 41000, sa);
  ASSERT_GE(c, 0);
  const uint32_t mss = info(c).tcpi_snd_mss;
  ASSERT_GE(mss, 1000u);
  const Bytes data(2 * mss, 'a');
  ASSERT_EQ(skiff_send(c, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload.size(), mss);
  // "Fragmentation needed", next-hop MTU 1000, for the first segment.
  icmp_about(h, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kFragNeeded, kLocalPort, 41000, sa.seq + 1, 1000,
             static_cast<uint16_t>(40 + mss));
  EXPECT_EQ(info(c).tcpi_snd_mss, 960u);
  out = tcp_only(h.sent());
  ASSERT_FALSE(out.empty());
  for (const SentTcp& t : out) EXPECT_LE(t.payload.size(), 960u);
  EXPECT_EQ(out[0].seq, sa.seq + 1);  // resent from the start
}

TEST(TcpFastOpen, ExperimentalOptionIsAnsweredInItsOwnForm) {
  // Linux answers a cookie request in the form it came (foc->exp): a client that speaks only the pre-RFC
  // option (kind 254, magic 0xF989) learns the cookie, and its cookie in that form opens fast.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  wire::TcpOptions req = tfo_opts(0);
  req.fastopen_exp = true;
  const SentTcp sa = syn(h, 41000, req);
  ASSERT_EQ(sa.opts.fastopen_len, 8);
  EXPECT_TRUE(sa.opts.fastopen_exp);
  const auto want = our_cookie(h);
  EXPECT_EQ(std::memcmp(sa.opts.fastopen_cookie.data(), want.data(), 8), 0);
  EXPECT_FALSE(syn(h, 41001, tfo_opts(0)).opts.fastopen_exp);  // kind 34 in, kind 34 out
  wire::TcpOptions with = tfo_opts(8, want.data());
  with.fastopen_exp = true;
  EXPECT_EQ(syn(h, 41002, with, text("hi")).ack, kIsn + 3);
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(read_all(c), text("hi"));
}

TEST(TcpFastOpen, TheSynsDataIsStampedForAListenerWithSoTimestamp) {
  // The child inherits SO_TIMESTAMPNS (Linux's sk_clone copies the flags; measured on 6.18), so the data
  // that came in the SYN reads with its arrival time.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  ASSERT_EQ(set_int(l, SOL_SOCKET, SO_TIMESTAMPNS, 1), 0);
  SentTcp sa;
  const int c = fast_open(h, l, 41000, sa);
  ASSERT_GE(c, 0);
  int v = 0;
  socklen_t len = sizeof v;
  ASSERT_EQ(skiff_getsockopt(c, SOL_SOCKET, SO_TIMESTAMPNS, &v, &len), 0);
  EXPECT_EQ(v, 1);
  char buf[8];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) uint8_t ctl[64] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  ASSERT_EQ(skiff_recvmsg(c, &m, MSG_DONTWAIT), 1);
  cmsghdr* cm = m.msg_controllen ? CMSG_FIRSTHDR(&m) : nullptr;
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->cmsg_type, SCM_TIMESTAMPNS);
  timespec ts{};
  std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
  EXPECT_GT(ts.tv_sec, 0);
}

TEST(TcpFastOpen, TimedOutBeforeAcceptFreesTheLimitAndIsAcceptedWithItsError) {
  // A Fast Open connection whose peer never answers the SYN-ACK ends when its retries are spent (Linux's
  // tcp_fastopen_synack_timer → tcp_write_err → tcp_done): its place under TCP_FASTOPEN is free again, and it
  // stays in the accept queue, closed, with its data and ETIMEDOUT (reqsk_fastopen_remove keeps a child
  // not yet accepted).
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(1);
  syn_with_cookie(h, 41000, text("q"));
  run_for(h, 220s);  // 1 + 2 + ... + 64 s and the last wait
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(syn_with_cookie(h, 41001, text("x")).ack, kIsn + 2);
  const int r = try_accept(l);
  ASSERT_GE(r, 0);
  ssize_t rc = 0;
  EXPECT_EQ(read_all(r, &rc), text("q"));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  skiff_close(r);
  skiff_close(l);
}

TEST(TcpFastOpen, LoweringTheLimitBelowThePendingOnes) {
  // TCP_FASTOPEN lowered while connections are in their handshake: none is cut off, and no new one opens
  // fast until they are below the new limit.
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(3);
  SentTcp a = syn_with_cookie(h, 41000, text("a"));
  SentTcp b = syn_with_cookie(h, 41001, text("b"));
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_FASTOPEN, 1), 0);
  EXPECT_EQ(syn_with_cookie(h, 41002, text("c")).ack, kIsn + 1);  // 2 pending, limit 1: plain
  ack(h, 41000, kIsn + 2, a.seq + 1);
  EXPECT_EQ(syn_with_cookie(h, 41003, text("d")).ack, kIsn + 1);  // 1 pending: still plain
  ack(h, 41001, kIsn + 2, b.seq + 1);
  EXPECT_EQ(syn_with_cookie(h, 41004, text("e")).ack, kIsn + 2);  // none pending: fast
  const int fa = try_accept(l), fb = try_accept(l);
  EXPECT_EQ(read_all(fa), text("a"));
  EXPECT_EQ(read_all(fb), text("b"));
}

// ---- Server keys (TCP_FASTOPEN_KEY, [tcp] fastopen-key) ---------------------------------------------------

namespace {

// Keys 0x00..0x0f and 0x10..0x1f, and the cookies Linux 6.18 gives client 10.0.0.1 for server 10.0.0.2 under
// each (measured: two netns, the key set by net.ipv4.tcp_fastopen_key and by TCP_FASTOPEN_KEY on the
// listener, the cookie read with `ip tcp_metrics show` on the client).
struct TwoKeys {
  uint8_t bytes[32];
  TwoKeys() {
    for (int i = 0; i < 32; ++i) bytes[i] = static_cast<uint8_t>(i);
  }
  const uint8_t* a() const { return bytes; }
  const uint8_t* b() const { return bytes + 16; }
};
constexpr std::array<uint8_t, 8> kLinuxCookieA{0x84, 0xdc, 0x7a, 0x7d, 0x3b, 0x3a, 0x47, 0x69};
constexpr std::array<uint8_t, 8> kLinuxCookieB{0x3e, 0x47, 0xf1, 0xd9, 0x40, 0x72, 0xa0, 0x3d};

std::array<uint8_t, 8> cookie_of(const SentTcp& t) {
  std::array<uint8_t, 8> c{};
  EXPECT_EQ(t.opts.fastopen_len, 8);
  std::memcpy(c.data(), t.opts.fastopen_cookie.data(), 8);
  return c;
}

int set_key(int fd, const uint8_t* key, socklen_t len) {
  return skiff_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, len);
}

std::vector<uint8_t> get_key(int fd, socklen_t room) {
  std::vector<uint8_t> k(room);
  socklen_t len = room;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, k.data(), &len), 0);
  k.resize(len);
  return k;
}

}  // namespace

// The cookie is Linux's for the same key and addresses, so Skiff and Linux servers sharing a key (behind
// one address, or one after the other) accept each other's cookies.
TEST(TcpFastOpenKey, CookiesAreLinuxsForTheSameKey) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const TwoKeys k;
  ASSERT_EQ(set_key(l, k.a(), 16), 0);
  EXPECT_EQ(cookie_of(syn(h, 41000, tfo_opts(0))), kLinuxCookieA);
  ASSERT_EQ(set_key(l, k.b(), 16), 0);
  EXPECT_EQ(cookie_of(syn(h, 41001, tfo_opts(0))), kLinuxCookieB);
  // A cookie Linux gave under that key opens a connection with the SYN's data.
  const SentTcp sa = syn(h, 41002, tfo_opts(8, kLinuxCookieB.data()), text("hello"));
  EXPECT_EQ(sa.ack, kIsn + 1 + 5);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 1u);
}

// [tcp] fastopen-key is the stack's key: listeners without their own use it; TCP_FASTOPEN_KEY overrides it.
TEST(TcpFastOpenKey, TheConfiguredKeyServesEveryListenerWithoutItsOwn) {
  HarnessOptions o;
  const TwoKeys k;
  std::memcpy(o.cfg.tcp.fastopen_key.data(), k.a(), 16);
  o.cfg.tcp.fastopen_key_count = 1;
  StackHarness h(o);
  h.learn_peer();
  const int l = fastopen_listener(8);
  EXPECT_EQ(cookie_of(syn(h, 41000, tfo_opts(0))), kLinuxCookieA);
  EXPECT_TRUE(get_key(l, 32).empty()) << "as Linux: a socket shows only a key set on it";
  ASSERT_EQ(set_key(l, k.b(), 16), 0);
  EXPECT_EQ(cookie_of(syn(h, 41001, tfo_opts(0))), kLinuxCookieB);
}

// Key rotation (as Linux's primary and backup keys): a cookie of the backup key still opens a connection,
// and the SYN-ACK gives the client the primary key's cookie; once the old key is dropped its cookies fail.
TEST(TcpFastOpenKey, BackupKeyCookiesAreTakenAndReplaced) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  const TwoKeys k;
  ASSERT_EQ(set_key(l, k.a(), 16), 0);
  const auto old_cookie = cookie_of(syn(h, 41000, tfo_opts(0)));
  uint8_t rotated[32];
  std::memcpy(rotated, k.b(), 16);
  std::memcpy(rotated + 16, k.a(), 16);
  ASSERT_EQ(set_key(l, rotated, 32), 0);
  SentTcp sa = syn(h, 41001, tfo_opts(8, old_cookie.data()), text("old"));
  EXPECT_EQ(sa.ack, kIsn + 1 + 3) << "the data is taken";
  EXPECT_EQ(cookie_of(sa), kLinuxCookieB) << "and the new cookie given";
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 1u);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive_altkey, 1u);
  sa = syn(h, 41002, tfo_opts(8, kLinuxCookieB.data()), text("new"));
  EXPECT_EQ(sa.ack, kIsn + 1 + 3);
  EXPECT_EQ(sa.opts.fastopen_len, -1) << "the primary key's cookie needs no new one";
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 2u);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive_altkey, 1u);
  // The old key dropped: its cookie gets a plain handshake and the new cookie.
  ASSERT_EQ(set_key(l, k.b(), 16), 0);
  sa = syn(h, 41003, tfo_opts(8, old_cookie.data()), text("old"));
  EXPECT_EQ(sa.ack, kIsn + 1);
  EXPECT_EQ(cookie_of(sa), kLinuxCookieB);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive_fail, 1u);
  // The SYN-ACK sent again (its timer) still carries the cookie the SYN was answered with.
  ASSERT_EQ(set_key(l, k.a(), 16), 0);
  bool again = false;
  for (const SentTcp& t : run_for(h, 1500ms))
    if (t.dport == 41003 && t.flags == (tf::kSyn | tf::kAck)) {
      again = true;
      EXPECT_EQ(cookie_of(t), kLinuxCookieB);
    }
  EXPECT_TRUE(again);
}

// As Linux 6.18 (measured): exactly 16 or 32 bytes, on any socket; getsockopt gives the keys set on the
// socket (none on a fresh one), cut to the caller's length.
TEST(TcpFastOpenKey, SockoptAsLinux) {
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_TRUE(get_key(fd, 32).empty());
  const TwoKeys k;
  for (socklen_t n : {0u, 8u, 15u, 17u, 31u, 33u}) {
    EXPECT_EQ(set_key(fd, k.bytes, n), -1) << n;
    EXPECT_EQ(errno, EINVAL) << n;
  }
  ASSERT_EQ(set_key(fd, k.a(), 16), 0);
  EXPECT_EQ(get_key(fd, 32), std::vector<uint8_t>(k.a(), k.a() + 16));
  EXPECT_EQ(get_key(fd, 8), std::vector<uint8_t>(k.a(), k.a() + 8));
  ASSERT_EQ(set_key(fd, k.bytes, 32), 0);
  EXPECT_EQ(get_key(fd, 32), std::vector<uint8_t>(k.bytes, k.bytes + 32));
  EXPECT_EQ(get_key(fd, 20), std::vector<uint8_t>(k.bytes, k.bytes + 20));
  // Another socket is not affected.
  const int other = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_TRUE(get_key(other, 32).empty());
}

// A listener with TCP_FASTOPEN_NO_COOKIE (as Linux 6.18, measured against a kernel client): a SYN with
// data opens a Fast Open connection with no cookie at all, and a cookie request opens one too but gets no
// cookie; a SYN with neither gets a plain handshake. Only on a closed or listening socket.
TEST(TcpFastOpen, NoCookieListenerTakesSynDataWithoutACookie) {
  StackHarness h;
  h.learn_peer();
  const int l = fastopen_listener(8);
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1), 0);
  EXPECT_EQ(get_int(l, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE), 1);
  SentTcp sa = syn(h, 41000, mss_opt(1400), text("no cookie"));
  EXPECT_EQ(sa.ack, kIsn + 1 + 9) << "the data is taken";
  EXPECT_EQ(sa.opts.fastopen_len, -1);
  const int c = try_accept(l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(read_all(c), text("no cookie"));
  EXPECT_TRUE(info(c).tcpi_options & TCPI_OPT_SYN_DATA);
  EXPECT_EQ(get_int(c, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE), 1) << "inherited (Linux's child copies its listener)";
  EXPECT_EQ(xinfo(c).tcpi_bytes_received, 9u) << "the SYN's data";
  EXPECT_EQ(xinfo(c).tcpi_data_segs_in, 1u) << "the SYN with its data (Linux's tcp_fastopen_add_skb)";
  EXPECT_EQ(xinfo(c).tcpi_segs_in, 1u);
  sa = syn(h, 41001, tfo_opts(0));
  EXPECT_EQ(sa.ack, kIsn + 1);
  EXPECT_EQ(sa.opts.fastopen_len, -1) << "no cookie given";
  EXPECT_GE(try_accept(l), 0) << "a Fast Open connection all the same";
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 2u);
  sa = syn(h, 41002, mss_opt(1400));
  EXPECT_EQ(try_accept(l), -1) << "a plain SYN: a plain handshake";
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 2u);
  // A connected socket may not change it.
  EXPECT_EQ(set_int(c, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  // Without it, the same data-only SYN gets a plain handshake (its data ignored).
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 0), 0);
  sa = syn(h, 41003, mss_opt(1400), text("no cookie"));
  EXPECT_EQ(sa.ack, kIsn + 1);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_passive, 2u);
}
