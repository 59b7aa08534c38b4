// Delayed ACKs (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2, RFC 5681 §4.2): after the quick ACKs of the
// connection start, a lone segment is ACKed after delack_min (40 ms), not before; every second full-sized
// segment (or 2*RMSS bytes) is ACKed at once (at the end of the receive burst: one ACK for all the burst
// brought); out-of-order data and hole fills are ACKed at once; an ACK rides on our data when there is some.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// An established connection past its quick-ACK phase (the first 8 segments are ACKed at once).
Conn settled_with(StackHarness& h, const OpenOpts& o) {
  Conn c = accept_conn(h, o);
  for (int i = 0; i < 8; ++i) {
    c.push(pattern(10));
    EXPECT_EQ(c.out().size(), 1u) << i;
  }
  read_all(c.fd);
  EXPECT_TRUE(c.out().empty());
  return c;
}
Conn settled(StackHarness& h) { return settled_with(h, {}); }

}  // namespace

TEST(TcpDelayedAck, QuickAcksAtConnectionStart) {
  StackHarness h;
  Conn c = accept_conn(h);
  for (int i = 0; i < 8; ++i) {
    c.push(pattern(10));
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, c.snd);
  }
  c.push(pattern(10));
  EXPECT_TRUE(c.out().empty());
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, LoneSegmentIsAckedAfterDelackMin) {
  StackHarness h;
  Conn c = settled(h);
  c.push(pattern(100));
  EXPECT_TRUE(c.out().empty());
  h.advance(39ms);
  EXPECT_TRUE(c.out().empty());
  h.advance(2ms);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);
  h.advance(100ms);
  EXPECT_TRUE(c.out().empty());  // one ACK only
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, EverySecondFullSegmentIsAckedAtOnce) {
  StackHarness h;
  Conn c = settled(h);
  for (int round = 0; round < 3; ++round) {
    c.push(pattern(1000));
    EXPECT_TRUE(c.out().empty()) << round;
    c.push(pattern(1000));
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u) << round;
    EXPECT_EQ(out[0].ack, c.snd);
  }
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, FullSegmentsOfOneReceiveBurstGetOneAckAfterTheBurst) {
  // Every second full segment calls for an ACK; within one receive burst that ACK leaves once, when the
  // burst is done, acknowledging all of it (as a Linux receiver acknowledges a GRO-merged burst): the
  // sender processes one ACK instead of one per two segments, and nothing waits for a timer.
  StackHarness h;
  Conn c = settled(h);
  for (const size_t n : {2u, 3u, 16u}) {
    std::vector<Bytes> burst;
    for (size_t i = 0; i < n; ++i) {
      burst.push_back(tcp_frame(h, c.seg(tf::kAck, pattern(1000, static_cast<uint8_t>(i)))));
      c.snd += 1000;
    }
    h.inject_burst(burst);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u) << n;
    EXPECT_EQ(out[0].ack, c.snd) << n;
    EXPECT_EQ(out[0].flags, tf::kAck) << n;
    h.advance(100ms);
    EXPECT_TRUE(c.out().empty()) << n;  // and no delayed ACK after it
    EXPECT_EQ(read_all(c.fd).size(), 1000 * n);
  }
  // A lone full segment in its own burst still waits for its partner or the delayed-ACK timer.
  c.push(pattern(1000));
  EXPECT_TRUE(c.out().empty());
  h.advance(41ms);
  EXPECT_EQ(c.out().size(), 1u);
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, SmallSegmentsAreAckedEveryTwoRmssBytes) {
  StackHarness h;
  Conn c = settled(h);
  // RMSS = our announced MSS (1460): an ACK at the latest once 2920 bytes are unacknowledged.
  for (int i = 1; i <= 29; ++i) {
    c.push(pattern(100));
    EXPECT_TRUE(c.out().empty()) << i;
  }
  c.push(pattern(100));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  skiff_close(c.fd);
}

// A "full-sized" segment is the peer's size as measured (Linux's rcv_mss), not the MSS it announced: a
// peer announcing 1460 whose writes go out as 1000-byte segments gets an ACK for every second one (2000
// bytes: the 2*RMSS rule alone would wait for the third).
TEST(TcpDelayedAck, FullSizeIsThePeersSegmentSizeNotItsMss) {
  StackHarness h;
  Conn c = settled_with(h, {.mss = 1460});
  EXPECT_EQ(xinfo(c.fd).tcpi_rcv_mss, 536u);  // Linux's first guess (tcp_initialize_rcv_mss)
  for (int round = 0; round < 3; ++round) {
    c.push(pattern(1000));
    EXPECT_TRUE(c.out().empty()) << round;
    c.push(pattern(1000));
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u) << round;
    EXPECT_EQ(out[0].ack, c.snd);
  }
  EXPECT_EQ(xinfo(c.fd).tcpi_rcv_mss, 1000u);
  skiff_close(c.fd);
}

// The size follows the peer down when its segments shrink (its path MTU fell): two segments of one size in
// a row, 536 bytes or more (PSH or not), make that size the full one.
TEST(TcpDelayedAck, PeerSegmentSizeFollowsTwoEqualShorterSegments) {
  StackHarness h;
  Conn c = settled_with(h, {.mss = 1460});
  c.push(pattern(1460));
  c.push(pattern(1460));
  ASSERT_EQ(c.out().size(), 1u);
  EXPECT_EQ(xinfo(c.fd).tcpi_rcv_mss, 1460u);
  c.push(pattern(1200));  // shorter: may be the end of a write
  EXPECT_TRUE(c.out().empty());
  c.push(pattern(1200));  // the same again: the peer's size now, and full
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(xinfo(c.fd).tcpi_rcv_mss, 1200u);
  c.push(pattern(1200));
  ASSERT_EQ(c.out().size(), 1u);
  for (int round = 0; round < 2; ++round) {
    c.push(pattern(1200));
    EXPECT_TRUE(c.out().empty()) << round;
    c.push(pattern(1200));
    EXPECT_EQ(c.out().size(), 1u) << round;
  }
  skiff_close(c.fd);
}

// Small segments with PSH end a write each and say nothing of the peer's size (the 2*RMSS rule above
// applies); small ones without PSH are taken as full-sized, as Linux does for links with a tiny MTU: two of
// one size set the size, and every second one is then acknowledged.
TEST(TcpDelayedAck, SmallSegmentsWithoutPushSetThePeersSize) {
  StackHarness h;
  Conn c = settled(h);
  c.push(pattern(100), tf::kAck);
  EXPECT_TRUE(c.out().empty());
  c.push(pattern(100), tf::kAck);  // the size (100) is now the peer's: one full segment unacknowledged
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(xinfo(c.fd).tcpi_rcv_mss, 100u);
  c.push(pattern(100), tf::kAck);
  ASSERT_EQ(c.out().size(), 1u);
  c.push(pattern(100), tf::kAck);
  EXPECT_TRUE(c.out().empty());
  c.push(pattern(100), tf::kAck);
  EXPECT_EQ(c.out().size(), 1u);
  // Below 88 bytes a segment is never taken as the peer's size.
  for (int i = 0; i < 4; ++i) c.push(pattern(60), tf::kAck);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(xinfo(c.fd).tcpi_rcv_mss, 100u);
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, OutOfOrderAndHoleFillAreAckedAtOnce) {
  StackHarness h;
  Conn c = settled(h);
  TcpSpec s = c.seg(tf::kAck, pattern(100));
  s.seq = c.snd + 100;
  c.in(s);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);  // duplicate ACK at once
  c.push(pattern(100));
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd + 100);
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, AckRidesOnOurData) {
  StackHarness h;
  Conn c = settled(h);
  c.push(pattern(100));
  EXPECT_TRUE(c.out().empty());
  h.advance(10ms);
  ASSERT_EQ(c.send(50), 50);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 50u);
  EXPECT_EQ(out[0].ack, c.snd);
  h.advance(100ms);
  EXPECT_TRUE(c.out().empty());  // the pending ACK went with the data
  skiff_close(c.fd);
}

// After an ACK rode on data, the delayed-ACK timer is left armed (no timer operation per request/response
// transaction); a segment that arrives later still gets the whole delay from its own arrival, not what was
// left of the earlier one.
TEST(TcpDelayedAck, LaterSegmentWaitsTheWholeDelayAfterAnAckRodeOnData) {
  StackHarness h;
  Conn c = settled(h);
  c.push(pattern(100));  // t = 0: an ACK is pending, due at 40 ms
  h.advance(10ms);
  ASSERT_EQ(c.send(50), 50);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);  // it rode on the data
  h.advance(20ms);
  c.push(pattern(100));  // t = 30 ms (also acknowledges our data): an ACK is due at 70 ms
  EXPECT_TRUE(c.out().empty());
  h.advance(15ms);       // t = 45 ms: past the first segment's deadline
  EXPECT_TRUE(c.out().empty());
  h.advance(24ms);       // t = 69 ms
  EXPECT_TRUE(c.out().empty());
  h.advance(2ms);        // t = 71 ms
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(out[0].ack, c.snd);
  h.advance(200ms);
  EXPECT_TRUE(c.out().empty());  // one ACK only
  skiff_close(c.fd);
}

TEST(TcpDelayedAck, FinIsAckedAtOnce) {
  StackHarness h;
  Conn c = settled(h);
  c.fin();
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  skiff_close(c.fd);
}
