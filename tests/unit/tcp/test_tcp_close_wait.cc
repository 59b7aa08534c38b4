// CLOSE-WAIT (RFC 9293 §3.10.7.4): the peer's FIN is ACKed at once, readers see EOF after the data, we can
// still send; a retransmitted FIN is ACKed again; data past the FIN is ignored; a RST ends it (EPIPE, as
// Linux).
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpCloseWait, FinIsAckedAtOnceAndReadsGiveEof) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.push(pattern(100, 1));
  ASSERT_EQ(c.out().size(), 1u);
  c.fin();
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, 1102u);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  ssize_t rc = 1;
  EXPECT_EQ(read_all(c.fd, &rc), pattern(100, 1));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(skiff_recv(c.fd, nullptr, 0, MSG_DONTWAIT), 0);
  skiff_close(c.fd);
}

TEST(TcpCloseWait, DataAndFinInOneSegment) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin(pattern(70, 3));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1072u);
  ssize_t rc = 1;
  EXPECT_EQ(read_all(c.fd, &rc), pattern(70, 3));
  EXPECT_EQ(rc, 0);
  skiff_close(c.fd);
}

TEST(TcpCloseWait, WeCanStillSend) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin();
  c.out();
  ASSERT_EQ(c.send(200, 5), 200);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(out[0].payload, pattern(200, 5));
  c.ack();
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  skiff_close(c.fd);
}

TEST(TcpCloseWait, RetransmittedFinIsAckedAgain) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin();
  c.out();
  TcpSpec again = c.seg(tf::kAck | tf::kFin);
  again.seq = c.snd - 1;
  c.in(again);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  skiff_close(c.fd);
}

TEST(TcpCloseWait, DataPastTheFinIsIgnored) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin();
  c.out();
  c.push(pattern(30));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1002u);
  ssize_t rc = 1;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  EXPECT_EQ(rc, 0);
  skiff_close(c.fd);
}

TEST(TcpCloseWait, RstEndsTheConnection) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin();
  c.out();
  c.in(c.seg(tf::kRst));
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), EPIPE);
  EXPECT_EQ(h.shard().stats.tcp_estab_resets, 1u);
  skiff_close(c.fd);
}
