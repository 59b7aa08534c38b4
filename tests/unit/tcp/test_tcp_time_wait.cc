// TIME-WAIT (RFC 9293 §3.10.7.4, RFC 1337, RFC 1122 §4.2.2.13): 2*MSL (60 s) after the last ACK; a
// retransmitted FIN is ACKed again and restarts the timer; RSTs are ignored (no TIME-WAIT assassination);
// a new SYN with a higher sequence number ends TIME-WAIT and reaches the listener.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// We close first (close(), orphan); the peer's FIN|ACK acknowledges ours: TIME-WAIT.
Conn time_wait(StackHarness& h, bool keep_fd = false) {
  Conn c = accept_conn(h);
  if (keep_fd) {
    EXPECT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  } else {
    EXPECT_EQ(skiff_close(c.fd), 0);
  }
  EXPECT_EQ(c.out_track().size(), 1u);
  c.fin();
  auto out = c.out();
  EXPECT_EQ(out.size(), 1u);
  if (!out.empty()) {
    EXPECT_EQ(out[0].flags, tf::kAck);
    EXPECT_EQ(out[0].ack, c.snd);
  }
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  return c;
}

}  // namespace

TEST(TcpTimeWait, LastsTwoMsl) {
  StackHarness h;
  Conn c = time_wait(h, true);
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  h.advance(59s + 990ms);
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  h.advance(12ms);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(c.fd);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
}

TEST(TcpTimeWait, OrphanIsFreedAfterTwoMsl) {
  StackHarness h;
  Conn c = time_wait(h);
  h.advance(59s + 990ms);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(12ms);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
  skiff_close(c.lfd);
}

TEST(TcpTimeWait, RetransmittedFinIsAckedAndRestartsTheTimer) {
  StackHarness h;
  Conn c = time_wait(h);
  h.advance(30s);
  TcpSpec f = c.seg(tf::kAck | tf::kFin);
  f.seq = c.snd - 1;
  c.in(f);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(out[0].ack, c.snd);
  h.advance(59s + 990ms);  // 89.99 s after entering TIME-WAIT
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(12ms);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(c.lfd);
}

TEST(TcpTimeWait, RstIsIgnored) {
  StackHarness h;
  Conn c = time_wait(h);
  c.in(c.seg(tf::kRst));
  c.in(c.seg(tf::kRst | tf::kAck));
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  EXPECT_EQ(h.drops(Drop::TcpTimeWaitRst), 2u);
  EXPECT_EQ(h.shard().stats.tcp_tw_rst_ignored, 2u);
  h.advance(60s + 2ms);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(c.lfd);
}

TEST(TcpTimeWait, PlainAckIsIgnoredAndOldSynAcked) {
  StackHarness h;
  Conn c = time_wait(h);
  c.ack();
  EXPECT_TRUE(c.out().empty());
  // A SYN that is not beyond the old connection's sequence space does not start a new one.
  TcpSpec syn = c.seg(tf::kSyn);
  syn.seq = c.snd - 100;
  syn.ack = 0;
  c.in(syn);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.shard().stats.tcp_tw_recycled, 0u);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  skiff_close(c.lfd);
}

TEST(TcpTimeWait, SynAnswersAreRateLimited) {
  // Linux's tcp_timewait_check_oow_rate_limit: SYNs that do not start a new incarnation draw one ACK per
  // 500 ms; a retransmitted FIN or data are always answered. Regression: every SYN drew an ACK.
  StackHarness h;
  Conn c = time_wait(h);
  TcpSpec syn = c.seg(tf::kSyn);
  syn.seq = c.snd - 100;
  syn.ack = 0;
  for (int i = 0; i < 20; ++i) c.in(syn);
  EXPECT_EQ(c.out().size(), 1u);
  h.advance(500ms);
  for (int i = 0; i < 20; ++i) c.in(syn);
  EXPECT_EQ(c.out().size(), 1u);
  TcpSpec fin = c.seg(tf::kFin | tf::kAck);
  fin.seq = c.snd - 1;
  c.in(fin);
  c.in(fin);
  EXPECT_EQ(c.out().size(), 2u);
  skiff_close(c.lfd);
}

TEST(TcpTimeWait, NewSynWithHigherSequenceReusesTheTuple) {
  StackHarness h;
  Conn c = time_wait(h);
  const uint32_t isn2 = c.snd + 100000;
  TcpSpec syn = c.seg(tf::kSyn);
  syn.seq = isn2;
  syn.ack = 0;
  syn.opts = mss_opt(1000);
  c.in(syn);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].ack, isn2 + 1);
  EXPECT_EQ(out[0].sport, kLocalPort);
  EXPECT_EQ(out[0].dport, kPeerPort);
  EXPECT_EQ(h.shard().stats.tcp_tw_recycled, 1u);
  const uint32_t iss2 = out[0].seq;
  // Its ISN is beyond all the old connection sent (Linux's tw_snd_nxt + 65537): 1 byte, its FIN.
  EXPECT_EQ(iss2, c.iss + 1 + 1 + 65537);
  // The new connection completes and carries data.
  c.in({.seq = isn2 + 1, .ack = iss2 + 1, .flags = tf::kAck});
  const int fd = skiff_accept4(c.lfd, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  c.in({.seq = isn2 + 1, .ack = iss2 + 1, .flags = tf::kAck | tf::kPsh, .payload = pattern(20, 9)});
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, isn2 + 21);
  EXPECT_EQ(read_all(fd), pattern(20, 9));
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  skiff_close(fd);
  skiff_close(c.lfd);
}

TEST(TcpTimeWait, ConnectToATupleInTimeWaitFails) {
  StackHarness h;
  Conn c = connect_conn(h);
  ASSERT_EQ(skiff_close(c.fd), 0);
  c.out_track();
  c.fin();
  ASSERT_EQ(c.out().size(), 1u);
  // Binding the same local port again and connecting to the same peer: the 4-tuple is still in use.
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1), 0);
  const sockaddr_in me = sin_of(Ipv4Addr::any(), c.lport);
  ASSERT_EQ(skiff_bind(fd, reinterpret_cast<const sockaddr*>(&me), sizeof me), 0) << strerror(errno);
  const sockaddr_in peer = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  skiff_close(fd);
}

// RFC 6191, as Linux's tcp_timewait_state_process: with timestamps on, a SYN whose timestamp is older than
// the old connection's last is an old duplicate, though its sequence number is above: ACKed, TIME-WAIT
// stays. The same SYN with a newer timestamp is a new incarnation.
TEST(TcpTimeWait, SynWithAnOlderTimestampIsAnOldDuplicate) {
  StackHarness h;
  OpenOpts o;
  o.ts = true;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(skiff_close(c.fd), 0);
  ASSERT_EQ(c.out_track().size(), 1u);
  c.ts_val = 5000;
  c.fin();
  ASSERT_EQ(c.out().size(), 1u);
  TcpSpec syn = c.seg(tf::kSyn);
  syn.seq = c.snd + 100000;
  syn.ack = 0;
  wire::TcpOptions so = mss_opt(1000);
  so.has_timestamp = true;
  so.ts_val = 4000;
  syn.opts = so;
  c.in(syn);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(h.shard().stats.tcp_tw_recycled, 0u);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  so.ts_val = 6000;
  syn.opts = so;
  c.in(syn);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd + 100001);
  EXPECT_EQ(h.shard().stats.tcp_tw_recycled, 1u);
  skiff_close(c.lfd);
}
