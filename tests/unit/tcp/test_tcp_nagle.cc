// Nagle (RFC 896, RFC 1122 §4.2.3.4, RFC 9293 §3.7.4): while data is unacknowledged, small writes are held
// and coalesced until the ACK or a full segment; TCP_NODELAY sends at once (and flushes what is held); a
// full MSS always goes; TCP_CORK holds even with nothing in flight.
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpNagle, SmallWritesAreHeldWhileDataIsUnacked) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100, 1), 100);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);  // nothing in flight: the first small segment goes
  ASSERT_EQ(c.send(100, 2), 100);
  ASSERT_EQ(c.send(100, 3), 100);
  EXPECT_TRUE(c.out().empty());
  h.advance(150ms);  // less than the RTO (200 ms: rto_min)
  EXPECT_TRUE(c.out().empty());
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);  // the two writes coalesced into one segment
  EXPECT_EQ(out[0].seq, c.iss + 101);
  Bytes want = pattern(100, 2);
  for (uint8_t b : pattern(100, 3)) want.push_back(b);
  EXPECT_EQ(out[0].payload, want);
  EXPECT_EQ(out[0].flags, tf::kAck | tf::kPsh);
  skiff_close(c.fd);
}

TEST(TcpNagle, NodelaySendsAtOnce) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  int v = 0;
  socklen_t l = sizeof v;
  ASSERT_EQ(skiff_getsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
  EXPECT_EQ(v, 1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(c.send(100, static_cast<uint8_t>(i)), 100);
    auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u) << i;
    EXPECT_EQ(out[0].seq, c.iss + 1 + 100u * i);
    EXPECT_EQ(out[0].payload, pattern(100, static_cast<uint8_t>(i)));
  }
  skiff_close(c.fd);
}

TEST(TcpNagle, SettingNodelayFlushesHeldData) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  ASSERT_EQ(c.send(40), 40);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 101);
  EXPECT_EQ(out[0].payload.size(), 40u);
  skiff_close(c.fd);
}

TEST(TcpNagle, AFullSegmentAlwaysGoes) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  ASSERT_EQ(c.send(1000, 5), 1000);  // one MSS while 100 bytes are in flight
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 101);
  EXPECT_EQ(out[0].payload, pattern(1000, 5));
  // A held small segment is topped up to a full one, which then goes.
  ASSERT_EQ(c.send(300, 6), 300);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(c.send(800, 7), 800);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1101);
  EXPECT_EQ(out[0].payload.size(), 1000u);
  EXPECT_EQ(c.nxt, c.iss + 2101);  // 100 bytes still held
  skiff_close(c.fd);
}

TEST(TcpNagle, CorkHoldsEvenWithNothingInFlight) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_CORK, 1), 0);
  ASSERT_EQ(c.send(100), 100);
  ASSERT_EQ(c.send(100), 100);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_CORK, 0), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 200u);
  skiff_close(c.fd);
}

TEST(TcpNagle, CorkHoldsAPartialSegmentAtMostUntilThePersistTimer) {
  // tcp(7): "there is a 200 millisecond ceiling on the time for which output is corked". Linux implements it
  // with the probe timer (an RTO, at least 200 ms, after nothing is left in flight), whose
  // tcp_write_wakeup sends the held segment. Regression: corked data waited for ever.
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(info(c.fd).tcpi_rto, 200000u);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_CORK, 1), 0);
  ASSERT_EQ(c.send(100, 4), 100);
  h.advance(100ms);
  EXPECT_TRUE(c.out().empty());
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 900ms, got);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 100ms);  // 200 ms after the data was held
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  EXPECT_EQ(got[0].payload, pattern(100, 4));
  c.nxt = c.iss + 101;
  // Still corked: the next partial segment waits while the first is in flight, then, once it is
  // acknowledged, at most one RTO more.
  ASSERT_EQ(c.send(50, 5), 50);
  h.advance(50ms);
  EXPECT_TRUE(c.out().empty());
  c.ack();
  EXPECT_TRUE(c.out().empty());
  t = advance_until_sent(h, 900ms, got);
  ASSERT_TRUE(t);
  EXPECT_LE(*t, 201ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, pattern(50, 5));
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
  skiff_close(c.fd);
}

// Minshall's form of Nagle (as Linux's tcp_nagle_check): only a small segment in flight holds the next small
// one. A write of one MSS and a bit on an idle connection goes whole at once: its tail is not held behind
// the full segment until the peer's delayed ACK (40 ms on Linux, up to 500 ms elsewhere).
TEST(TcpNagle, FullSegmentsInFlightDoNotHoldTheTail) {
  StackHarness h;
  Conn c = accept_conn(h);  // MSS 1000
  ASSERT_EQ(c.send(1112, 1), 1112);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload.size(), 1000u);
  EXPECT_EQ(out[1].payload.size(), 112u);
  EXPECT_EQ(out[1].flags, tf::kAck | tf::kPsh);
  // Now a small segment is in flight: the next small write waits for its ACK ...
  ASSERT_EQ(c.send(50, 2), 50);
  EXPECT_TRUE(c.out().empty());
  // ... which an ACK of the full segment alone does not bring.
  c.ack(c.iss + 1001);
  EXPECT_TRUE(c.out().empty());
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, pattern(50, 2));
  // Full segments alone in flight: a small write goes at once.
  c.ack();
  ASSERT_EQ(c.send(3000, 3), 3000);
  ASSERT_EQ(c.out_track().size(), 3u);
  ASSERT_EQ(c.send(10, 4), 10);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, pattern(10, 4));
  skiff_close(c.fd);
}
