// ICMP errors and TCP, as Linux's tcp_v4_err / tcp_req_err / tcp_write_err:
// - connection establishment (SYN-SENT) ends on any error, soft ones (net/host unreachable, TTL exceeded)
//   included, with the message's errno (RFC 5461 §4.1: the common departure from RFC 1122 §4.2.3.9);
// - an embryonic connection of a listener is dropped only when the message says the peer is gone;
// - an established connection keeps going on a soft error, remembers it, and reports it if it later times
//   out (instead of ETIMEDOUT); an acknowledgement in between makes it history.
// And the same from our own ARP: a failed resolution comes back as host unreachable (tcp/test_tcp_neighbour).
#include "tcp_test_util.hh"
#include "wire/icmp.hh"

using namespace tcpt;

namespace {

const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;
namespace it = wire::icmp_type;
namespace iu = wire::icmp_unreach;

// An ICMP error of `type`/`code` from a router (the peer's address: the harness has one neighbour) quoting a
// segment we sent from `sport` to `dport` with sequence number `seq`.
int connect_again(int fd) {
  const sockaddr_in a = sin_of(kPeer, kPeerPort);
  return skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// An established connection (TCP_USER_TIMEOUT 5 s) with 1,000 bytes in flight that a router reported host
// unreachable (a soft error).
Conn soft_error_in_flight(StackHarness& h) {
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  EXPECT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000), 0);
  const uint32_t base = c.nxt;
  EXPECT_EQ(c.send(1000), 1000);
  EXPECT_EQ(c.out_track().size(), 1u);
  icmp_about(h, it::kDestUnreachable, iu::kHost, c.lport, c.pport, base);
  return c;
}

// Lets the connection time out with nothing acknowledged; the errno its next recv() reports.
int error_at_timeout(StackHarness& h, const Conn& c) {
  h.advance(10s);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  uint8_t b[16];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_DONTWAIT), -1);
  return errno;
}

struct ErrCase {
  uint8_t type, code;
  int err;
};

}  // namespace

class TcpIcmpSynSent : public ::testing::TestWithParam<ErrCase> {};

TEST_P(TcpIcmpSynSent, EndsTheConnectWithTheMessagesErrno) {
  const ErrCase e = GetParam();
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin_of(kPeer, kPeerPort);
  ASSERT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  const auto syn = out_of(h);
  ASSERT_EQ(syn.size(), 1u);
  // A sequence number we never sent proves nothing (RFC 5927 §4.1): ignored.
  icmp_about(h, e.type, e.code, syn[0].sport, kPeerPort, syn[0].seq + 7000);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  icmp_about(h, e.type, e.code, syn[0].sport, kPeerPort, syn[0].seq);
  EXPECT_EQ(state_of(fd), TCP_CLOSE);
  EXPECT_TRUE(out_of(h).empty());  // nothing to tell the peer
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, e.err);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().stats.tcp_attempt_fails, 1u);
  skiff_close(fd);
}

INSTANTIATE_TEST_SUITE_P(TcpIcmp, TcpIcmpSynSent,
                         ::testing::Values(ErrCase{it::kDestUnreachable, iu::kHost, EHOSTUNREACH},
                                           ErrCase{it::kDestUnreachable, iu::kNet, ENETUNREACH},
                                           ErrCase{it::kDestUnreachable, iu::kPort, ECONNREFUSED},
                                           ErrCase{it::kTimeExceeded, 0, EHOSTUNREACH},
                                           ErrCase{it::kParamProblem, 0, EPROTO}));

TEST(TcpIcmp, SynSentIgnoresAnUnreachableCodeThatDoesNotExist) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin_of(kPeer, kPeerPort);
  ASSERT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  const auto syn = out_of(h);
  ASSERT_EQ(syn.size(), 1u);
  icmp_about(h, it::kDestUnreachable, 16, syn[0].sport, kPeerPort, syn[0].seq);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  skiff_close(fd);
}

// A listener's embryonic connection (our SYN-ACK out, no ACK yet): net/host unreachable for its ISN drops it
// (the final ACK then finds nothing and is answered with a reset); a port unreachable leaves it be.
TEST(TcpIcmp, EmbryonicConnectionGoesOnlyWhenThePeerIsGone) {
  for (const bool gone : {true, false}) {
    SCOPED_TRACE(gone ? "host unreachable" : "port unreachable");
    StackHarness h;
    h.learn_peer();
    Conn c;
    c.h = &h;
    c.lfd = listen_on(kLocalPort, 16);
    c.irs = c.snd = 5000;
    TcpSpec syn = c.seg(tf::kSyn);
    syn.ack = 0;
    syn.opts = mss_opt(1000);
    c.in(syn);
    const auto sa = c.out();
    ASSERT_EQ(sa.size(), 1u);
    ASSERT_EQ(sa[0].flags, tf::kSyn | tf::kAck);
    c.iss = sa[0].seq;
    c.nxt = c.iss + 1;
    c.snd = 5001;
    // Not our ISN (yet within what we sent, SYN included): ignored either way (tcp_req_err wants snt_isn).
    icmp_about(h, it::kDestUnreachable, iu::kHost, kLocalPort, c.pport, c.iss + 1);
    EXPECT_EQ(h.shard().tcp.connections(), 1u);  // the embryo
    EXPECT_EQ(h.shard().stats.tcp_icmp_out_of_window, 0u);
    icmp_about(h, it::kDestUnreachable, gone ? iu::kHost : iu::kPort, kLocalPort, c.pport, c.iss);
    EXPECT_EQ(h.shard().tcp.connections(), gone ? 0u : 1u);
    c.ack();
    const auto out = c.out();
    const int fd = skiff_accept4(c.lfd, nullptr, nullptr, SOCK_NONBLOCK);
    if (gone) {
      EXPECT_EQ(fd, -1);
      EXPECT_EQ(errno, EAGAIN);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_TRUE(out[0].flags & tf::kRst);
    } else {
      EXPECT_GE(fd, 0);
      EXPECT_TRUE(out.empty());
      skiff_close(fd);
    }
    skiff_close(c.lfd);
  }
}

// A soft error on an established connection is remembered, and what the connection reports if it times out
// (Linux's tcp_write_err: sk_err_soft, else ETIMEDOUT).
TEST(TcpIcmp, EstablishedReportsTheSoftErrorWhenItTimesOut) {
  StackHarness h;
  Conn c = soft_error_in_flight(h);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);  // soft: the connection goes on (RFC 1122 §4.2.3.9)
  EXPECT_EQ(error_at_timeout(h, c), EHOSTUNREACH);
  skiff_close(c.fd);
}

TEST(TcpIcmp, AnAcknowledgementMakesTheSoftErrorHistory) {
  StackHarness h;
  Conn c = soft_error_in_flight(h);
  c.ack();  // the path works after all
  ASSERT_EQ(c.send(1000, 2), 1000);
  ASSERT_EQ(c.out_track().size(), 1u);
  EXPECT_EQ(error_at_timeout(h, c), ETIMEDOUT);
  skiff_close(c.fd);
}

// RFC 6069 (Linux's tcp_ld_RTO_revert): a net or host unreachable quoting SND.UNA while the retransmission
// timer is backed off takes one doubling back; the timer runs from the head's last transmission, and a
// time that has passed already means the retransmission goes at once.
namespace {
// Waits for each of the next `n` retransmissions; the times between them.
std::vector<Duration> rto_intervals(StackHarness& h, int n) {
  std::vector<Duration> d;
  std::vector<SentTcp> got;
  for (int i = 0; i < n; ++i) {
    const auto t = advance_until_sent(h, 10s, got);
    EXPECT_TRUE(t.has_value());
    if (!t) break;
    EXPECT_EQ(got.size(), 1u);
    d.push_back(*t);
  }
  return d;
}
}  // namespace

TEST(TcpIcmp, UnreachableForSndUnaRevertsOneBackoff) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});  // an RTT sample of ~0: RTO 200 ms
  const uint32_t una = c.nxt;
  ASSERT_EQ(c.send(1000), 1000);
  ASSERT_EQ(c.out_track().size(), 1u);
  EXPECT_EQ(rto_intervals(h, 3), (std::vector<Duration>{200ms, 400ms, 800ms}));
  EXPECT_EQ(info(c.fd).tcpi_backoff, 3);
  // 500 ms into the 1.6 s wait: host unreachable for the retransmitted segment.
  h.advance(500ms);
  icmp_about(h, it::kDestUnreachable, iu::kHost, c.lport, c.pport, una);
  EXPECT_EQ(h.shard().stats.tcp_rto_reverts, 1u);
  EXPECT_EQ(info(c.fd).tcpi_backoff, 2);
  EXPECT_EQ(info(c.fd).tcpi_rto, 800'000u);
  EXPECT_TRUE(c.out().empty());
  // The next retransmission 800 ms after the last one: 300 ms from now (not 1.1 s).
  EXPECT_EQ(rto_intervals(h, 1), (std::vector<Duration>{300ms}));
  EXPECT_EQ(info(c.fd).tcpi_backoff, 3);
  // 1 s into the next 1.6 s wait, net unreachable: the reverted 800 ms have passed, so it goes now.
  h.advance(1s);
  icmp_about(h, it::kDestUnreachable, iu::kNet, c.lport, c.pport, una);
  const auto now = c.out();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].seq, una);
  EXPECT_EQ(h.shard().stats.tcp_rto_reverts, 2u);
  EXPECT_EQ(info(c.fd).tcpi_backoff, 3);  // backed off again by that retransmission
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  // The path is back: the ACK of the retransmission, then new data timed and acknowledged (Karn: only that
  // sample ends the backoff, RFC 6298 §5.7).
  c.ack();
  ASSERT_EQ(c.send(500, 2), 500);
  ASSERT_EQ(c.out_track().size(), 1u);
  c.ack();
  EXPECT_EQ(info(c.fd).tcpi_backoff, 0);
  EXPECT_EQ(info(c.fd).tcpi_rto, 200'000u);
  skiff_close(c.fd);
}

TEST(TcpIcmp, UnreachableForAFinAloneRevertsOneBackoff) {
  // All data acknowledged, only the FIN outstanding (Linux's retransmission queue holds it as a segment, so
  // tcp_ld_RTO_revert applies): the timer runs from the FIN's last transmission.
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  const uint32_t fin_seq = c.nxt;
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  const auto fin = c.out();
  ASSERT_EQ(fin.size(), 1u);
  ASSERT_TRUE(fin[0].has(tf::kFin));
  EXPECT_EQ(fin[0].seq, fin_seq);
  EXPECT_EQ(rto_intervals(h, 3), (std::vector<Duration>{200ms, 400ms, 800ms}));
  h.advance(500ms);
  icmp_about(h, it::kDestUnreachable, iu::kHost, c.lport, c.pport, fin_seq);
  EXPECT_EQ(h.shard().stats.tcp_rto_reverts, 1u);
  EXPECT_EQ(info(c.fd).tcpi_backoff, 2);
  EXPECT_EQ(rto_intervals(h, 1), (std::vector<Duration>{300ms}));  // 800 ms after the last FIN, not 1.6 s
  skiff_close(c.fd);
}

TEST(TcpIcmp, NoRevertForOtherMessagesOrSequenceNumbersOrWithoutBackoff) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  const uint32_t una = c.nxt;
  ASSERT_EQ(c.send(1000), 1000);
  ASSERT_EQ(c.out_track().size(), 1u);
  // Not backed off yet: nothing to take back.
  icmp_about(h, it::kDestUnreachable, iu::kHost, c.lport, c.pport, una);
  EXPECT_EQ(rto_intervals(h, 2), (std::vector<Duration>{200ms, 400ms}));
  h.advance(100ms);
  // Port unreachable, TTL exceeded, and host unreachable for a byte past SND.UNA: no revert.
  icmp_about(h, it::kDestUnreachable, iu::kPort, c.lport, c.pport, una);
  icmp_about(h, it::kTimeExceeded, 0, c.lport, c.pport, una);
  icmp_about(h, it::kDestUnreachable, iu::kHost, c.lport, c.pport, una + 500);
  EXPECT_EQ(h.shard().stats.tcp_rto_reverts, 0u);
  EXPECT_EQ(info(c.fd).tcpi_backoff, 2);
  EXPECT_EQ(rto_intervals(h, 1), (std::vector<Duration>{700ms}));  // the full 800 ms
  skiff_close(c.fd);
}

// The retransmission a revert brings forward may be the last the retries allow: the connection ends at once,
// reporting the unreachable it was just told of (not ETIMEDOUT), and an orphan is freed with nothing touching
// it afterwards (an ASan build checks that).
TEST(TcpIcmp, RevertThatEndsTheConnectionReportsTheUnreachable) {
  enum Mode { kPlain, kRecverr, kOrphan };
  for (const Mode mode : {kPlain, kRecverr, kOrphan}) {
    const bool orphan = mode == kOrphan;
    SCOPED_TRACE(mode == kPlain ? "with its socket" : mode == kRecverr ? "IP_RECVERR" : "orphan");
    HarnessOptions o;
    o.cfg.tcp.retries = 3;
    StackHarness h(o);
    Conn c = accept_conn(h, OpenOpts{.mss = 1460});
    if (mode == kRecverr) {
      ASSERT_EQ(set_int(c.fd, IPPROTO_IP, IP_RECVERR, 1), 0);
    }
    const uint32_t una = c.nxt;
    ASSERT_EQ(c.send(1000), 1000);
    ASSERT_EQ(c.out_track().size(), 1u);
    skiff_close(c.lfd);
    EXPECT_EQ(rto_intervals(h, 3), (std::vector<Duration>{200ms, 400ms, 800ms}));  // the 3 retries
    if (orphan) skiff_close(c.fd);  // (its FIN waits behind the data)
    (void)c.out();
    h.advance(900ms);  // past the reverted 800 ms, before the 1.6 s wait ends
    icmp_about(h, it::kDestUnreachable, iu::kHost, c.lport, c.pport, una);
    EXPECT_EQ(h.shard().stats.tcp_rto_reverts, 1u);
    EXPECT_EQ(h.shard().stats.tcp_timeouts, 1u);
    if (!orphan) {
      EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
      uint8_t b[16];
      EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_DONTWAIT), -1);
      EXPECT_EQ(errno, EHOSTUNREACH);
      skiff_close(c.fd);
    }
    EXPECT_EQ(h.shard().tcp.connections(), 0u);
  }
}
