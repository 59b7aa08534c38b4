// CLOSING (RFC 9293 §3.6 figure 13, simultaneous close): both FINs cross. Our FIN-WAIT-1 gets the peer's FIN
// without the ACK of ours: CLOSING, and we ACK the FIN; the ACK of our FIN then leads to TIME-WAIT.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// Our FIN is out; the peer's FIN arrives acknowledging only our data (ISS+1).
Conn closing(StackHarness& h) {
  Conn c = accept_conn(h);
  EXPECT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  EXPECT_EQ(c.out_track().size(), 1u);
  TcpSpec f = c.seg(tf::kAck | tf::kFin);
  f.ack = c.iss + 1;
  c.in(f);
  c.snd += 1;
  auto out = c.out();
  EXPECT_EQ(out.size(), 1u);
  if (!out.empty()) {
    EXPECT_EQ(out[0].flags, tf::kAck);
    EXPECT_EQ(out[0].seq, c.iss + 2);
    EXPECT_EQ(out[0].ack, 1002u);
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSING);
  return c;
}

}  // namespace

TEST(TcpClosing, SimultaneousClose) {
  StackHarness h;
  Conn c = closing(h);
  ssize_t rc = 1;
  read_all(c.fd, &rc);
  EXPECT_EQ(rc, 0);
  c.ack();  // ACK of our FIN
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  skiff_close(c.fd);
}

TEST(TcpClosing, OurFinIsRetransmitted) {
  StackHarness h;
  Conn c = closing(h);
  const auto rto = std::chrono::microseconds(info(c.fd).tcpi_rto);
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 3s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, rto);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  EXPECT_EQ(got[0].ack, 1002u);
  c.ack();
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  skiff_close(c.fd);
}

TEST(TcpClosing, RetransmittedPeerFinIsAckedAgain) {
  StackHarness h;
  Conn c = closing(h);
  TcpSpec f = c.seg(tf::kAck | tf::kFin);
  f.seq = c.snd - 1;
  f.ack = c.iss + 1;
  c.in(f);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSING);
  skiff_close(c.fd);
}

TEST(TcpClosing, RstCloses) {
  StackHarness h;
  Conn c = closing(h);
  c.in(c.seg(tf::kRst));
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  skiff_close(c.fd);
}
