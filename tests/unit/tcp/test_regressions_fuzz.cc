// Regressions found by the libFuzzer targets (tests/fuzz). Each test replays the smallest input's effect
// by hand and names the target and the fix.
#include "tcp_test_util.hh"

using namespace tcpt;

// fuzz_tcp_state: a FIN with no data beyond RCV.NXT (the bytes before it missing) reached the out-of-order
// queue, which dereferenced the segment's (absent) buffer: a null pointer crash. Now it is answered with a
// duplicate ACK and not queued; the peer's retransmission of the gap and the FIN closes normally.
TEST(TcpFuzzRegressions, BareFinBeyondRcvNxtIsAckedNotQueued) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec fin = c.seg(tf::kAck | tf::kFin);
  fin.seq = c.snd + 32;
  c.in(fin);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);  // a duplicate ACK: the gap is still open
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  EXPECT_EQ(h.buffers_in_use(), 0u);
  // The gap and the FIN again: delivered, FIN processed.
  c.push(pattern(32, 5));
  c.fin();
  out = c.out();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().ack, c.snd);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  EXPECT_EQ(read_all(c.fd), pattern(32, 5));
  skiff_close(c.fd);
  skiff_close(c.lfd);
}
