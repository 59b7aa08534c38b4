// LAST-ACK (RFC 9293 §3.10.7.4): close() in CLOSE-WAIT sends our FIN; its ACK ends the connection (the
// socket is freed if closed); the FIN is retransmitted on RTO; a repeated peer FIN is ACKed again.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

Conn close_wait(StackHarness& h) {
  Conn c = accept_conn(h);
  c.fin();
  EXPECT_EQ(c.out().size(), 1u);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  return c;
}

}  // namespace

TEST(TcpLastAck, CloseSendsFinAndItsAckFreesTheConnection) {
  StackHarness h;
  Conn c = close_wait(h);
  ASSERT_EQ(skiff_close(c.fd), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  c.ack();
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);  // the listener
  // The tuple is gone: anything more gets the no-connection RST.
  c.ack();
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].seq, c.iss + 2);
  skiff_close(c.lfd);
}

TEST(TcpLastAck, ShutdownKeepsTheSocketUntilTheAck) {
  StackHarness h;
  Conn c = close_wait(h);
  ASSERT_EQ(c.send(100), 100);  // data first, then the FIN on its own
  ASSERT_EQ(c.out_track().size(), 1u);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 101);
  EXPECT_EQ(state_of(c.fd), TCP_LAST_ACK);
  c.ack(c.iss + 101);  // the data only
  EXPECT_EQ(state_of(c.fd), TCP_LAST_ACK);
  c.ack();
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  ssize_t rc = 1;
  read_all(c.fd, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(c.send(1), -1);
  EXPECT_EQ(errno, EPIPE);
  skiff_close(c.fd);
}

TEST(TcpLastAck, FinIsRetransmittedAndPeerFinReAcked) {
  StackHarness h;
  Conn c = close_wait(h);
  const auto rto = std::chrono::microseconds(info(c.fd).tcpi_rto);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  c.out_track();
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 3s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, rto);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  // The peer repeats its FIN (it did not see our ACK): ACK again.
  TcpSpec f = c.seg(tf::kAck | tf::kFin);
  f.seq = c.snd - 1;
  f.ack = c.iss + 1;
  c.in(f);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(state_of(c.fd), TCP_LAST_ACK);
  c.ack();
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  skiff_close(c.fd);
}

TEST(TcpLastAck, RstCloses) {
  StackHarness h;
  Conn c = close_wait(h);
  ASSERT_EQ(skiff_close(c.fd), 0);
  c.out_track();
  c.in(c.seg(tf::kRst));
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
  skiff_close(c.lfd);
}

TEST(TcpLastAck, OrphanFreedByTheAckOfItsFinIsNotTouchedAfterwards) {
  // The ACK of an orphan's FIN in LAST-ACK frees the connection (done() -> destroy_closed()) in the middle
  // of the segment's processing; nothing may read it after that. Regression: the input path read sk->state
  // of the freed socket. With the TCP slab off the socket comes from (and goes back to) the general
  // allocator, where a sanitizer or allocator debugging can see such a read.
  HarnessOptions ho;
  ho.cfg.sock.tcp_slab = 0;
  StackHarness h(ho);
  Conn c = close_wait(h);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  ASSERT_EQ(skiff_close(c.fd), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  // The ACK of everything, with a byte of data we had and some past the peer's FIN (the input path would go
  // on to the text after the ACK).
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
  s.seq = c.snd - 1;
  c.in(s);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);  // the listener
  EXPECT_TRUE(c.out().empty());
  skiff_close(c.lfd);
}

// SO_LINGER 0 in LAST-ACK, everything sent: the connection ends here without a RST (Linux's tcp_disconnect
// resets in CLOSING and LAST-ACK only with data never sent; the peer has both FINs' worth already).
TEST(TcpLastAck, AbortiveCloseWithNothingUnsentSendsNoRst) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin();
  ASSERT_EQ(c.out().size(), 1u);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);  // our FIN: LAST-ACK, the descriptor still open
  ASSERT_EQ(c.out_track().size(), 1u);
  ASSERT_EQ(state_of(c.fd), TCP_LAST_ACK);
  const linger lg{1, 0};
  ASSERT_EQ(skiff_setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(skiff_close(c.fd), 0);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(c.lfd);
}
