// FIN-WAIT-1 (RFC 9293 §3.10.4, §3.10.7.4): after shutdown(SHUT_WR) or close() our FIN goes out (with any
// data still queued); its ACK leads to FIN-WAIT-2, the peer's FIN with that ACK to TIME-WAIT (and is ACKed);
// data still arrives while only our side is closed; the FIN is retransmitted on RTO; data for a closed
// (orphaned) socket is answered with RST.
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpFinWait1, ShutdownSendsFin) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, 1001u);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT1);
  EXPECT_EQ(c.send(10), -1);
  EXPECT_EQ(errno, EPIPE);
  skiff_close(c.fd);
}

TEST(TcpFinWait1, QueuedDataGoesOutWithTheFin) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  ASSERT_EQ(c.send(50, 2), 50);  // held by Nagle: 100 bytes are unacknowledged
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck | tf::kPsh);
  EXPECT_EQ(out[0].seq, c.iss + 101);
  EXPECT_EQ(out[0].payload, pattern(50, 2));
  EXPECT_EQ(c.nxt, c.iss + 152);
  // An ACK of the data only: still FIN-WAIT-1.
  c.ack(c.iss + 151);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT1);
  c.ack();
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  skiff_close(c.fd);
}

TEST(TcpFinWait1, AckOfFinGoesToFinWait2) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  c.out_track();
  c.ack();
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  skiff_close(c.fd);
}

TEST(TcpFinWait1, FinThatAcksOurFinGoesToTimeWaitAndIsAcked) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  c.out_track();
  c.fin();  // FIN|ACK, ACK = our FIN + 1
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  ssize_t rc = 1;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  EXPECT_EQ(rc, 0);
  skiff_close(c.fd);
}

TEST(TcpFinWait1, DataStillArrivesAfterShutdown) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  const uint32_t fin_seq = c.iss + 1;
  c.out_track();
  // The peer has not seen our FIN yet: its data acknowledges only ISS+1.
  TcpSpec d = c.seg(tf::kAck | tf::kPsh, pattern(300, 4));
  d.ack = fin_seq;
  c.in(d);
  c.snd += 300;
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(read_all(c.fd), pattern(300, 4));
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT1);
  skiff_close(c.fd);
}

TEST(TcpFinWait1, FinIsRetransmittedOnRto) {
  StackHarness h;
  Conn c = accept_conn(h);
  const int64_t rto = info(c.fd).tcpi_rto / 1000;  // from the handshake's RTT sample
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  c.out_track();
  for (int64_t ms : {rto, 2 * rto}) {
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 10s, got);
    ASSERT_TRUE(t);
    const int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(*t).count();
    EXPECT_GE(took, ms);
    EXPECT_LE(took, ms + 2);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags, tf::kFin | tf::kAck);
    EXPECT_EQ(got[0].seq, c.iss + 1);
    EXPECT_EQ(got[0].ack, 1001u);
  }
  c.ack();
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  skiff_close(c.fd);
}

TEST(TcpFinWait1, DataForAClosedSocketGetsRst) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_close(c.fd), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  // Nobody can read this any more (Linux: RST, "abort on data").
  c.push(pattern(10));
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);  // at the segment's ACK number, as Linux's tcp_v4_send_reset
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);  // the listener
  skiff_close(c.lfd);
}
