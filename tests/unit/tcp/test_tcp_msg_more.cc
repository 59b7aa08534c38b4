// MSG_MORE on TCP (Linux's TCP_NAGLE_CORK for that push, tcp(7)/send(2)): a send with it holds its partial
// last segment as TCP_CORK would, even with TCP_NODELAY and nothing in flight; full segments still go. The
// next send without it sends what was held (joined with the new bytes where they fit one segment); with
// nothing in flight the persist timer lets a held tail go after an RTO (at least 200 ms: tcp(7)'s ceiling);
// with data in flight the returning ACK sends it under the normal Nagle / TCP_NODELAY rules.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

ssize_t send_more(const Conn& c, size_t n, uint8_t seed, int flags = MSG_MORE) {
  const Bytes b = pattern(n, seed);
  return skiff_send(c.fd, b.data(), b.size(), MSG_DONTWAIT | flags);
}

Bytes cat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

const OpenOpts kMss1460{.mss = 1460};

}  // namespace

// Each test: an accepted connection with a 1460-byte MSS, closed at the end.
class TcpMsgMore : public ::testing::Test {
 protected:
  ~TcpMsgMore() override { skiff_close(c.fd); }
  StackHarness h;
  Conn c = accept_conn(h, kMss1460);
};

TEST_F(TcpMsgMore, HoldsAPartialSegmentEvenWithNodelayUntilTheNextSend) {
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(send_more(c, 100, 1), 100);
  EXPECT_TRUE(c.out().empty());  // no data segment, though nothing is in flight
  h.advance(50ms);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(send_more(c, 50, 2, 0), 50);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);  // the held bytes and the new ones, one segment
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].payload, cat(pattern(100, 1), pattern(50, 2)));
  EXPECT_EQ(out[0].flags, tf::kAck | tf::kPsh);
  EXPECT_EQ(c.nxt, c.iss + 151);
}

TEST_F(TcpMsgMore, HoldsAPartialSegmentUnderNagleWithNothingInFlight) {
  // Without MSG_MORE Nagle sends a small segment when nothing is in flight (TcpNagle tests); with it the
  // segment waits.
  ASSERT_EQ(send_more(c, 100, 1), 100);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(send_more(c, 60, 2), 60);  // more with MSG_MORE: still held, gathered
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(send_more(c, 40, 3, 0), 40);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].payload, cat(cat(pattern(100, 1), pattern(60, 2)), pattern(40, 3)));
}

TEST_F(TcpMsgMore, FullSegmentsGoAndThePartialTailIsHeld) {
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  const Bytes all = pattern(3000, 7);
  ASSERT_EQ(skiff_send(c.fd, all.data(), all.size(), MSG_DONTWAIT | MSG_MORE), 3000);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].payload, Bytes(all.begin(), all.begin() + 1460));
  EXPECT_EQ(out[1].seq, c.iss + 1461);
  EXPECT_EQ(out[1].payload, Bytes(all.begin() + 1460, all.begin() + 2920));
  EXPECT_EQ(c.nxt, c.iss + 2921);  // the 80-byte tail is held
  h.advance(50ms);
  EXPECT_TRUE(c.out().empty());
  // The ACK leaves nothing in flight; under TCP_NODELAY the tail then goes.
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 2921);
  EXPECT_EQ(out[0].payload, Bytes(all.begin() + 2920, all.end()));
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
}

TEST_F(TcpMsgMore, AHeldTailFollowsNagleOnceTheAckComes) {
  // Without TCP_NODELAY the ACK's transmission runs Nagle's test (Minshall's form, as Linux): with only full
  // segments in flight the tail goes with the first ACK, partial or not.
  const Bytes all = pattern(3000, 8);
  ASSERT_EQ(skiff_send(c.fd, all.data(), all.size(), MSG_DONTWAIT | MSG_MORE), 3000);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  c.ack(c.iss + 1461);  // the first segment only
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 2921);
  EXPECT_EQ(out[0].payload, Bytes(all.begin() + 2920, all.end()));
}

TEST_F(TcpMsgMore, AnExactlyFullSegmentGoes) {
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(send_more(c, 1460, 3), 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, pattern(1460, 3));
  EXPECT_EQ(c.nxt, c.iss + 1461);
}

TEST_F(TcpMsgMore, HeldTailLeavesAtThePersistTimerWithNothingInFlight) {
  // As TcpNagle.CorkHoldsAPartialSegmentAtMostUntilThePersistTimer: an RTO (200 ms here, rto_min) after the
  // data was held, the persist timer sends it.
  ASSERT_EQ(info(c.fd).tcpi_rto, 200000u);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(send_more(c, 100, 4), 100);
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
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
  // Once acknowledged, nothing more: MSG_MORE held only that send's tail.
  c.ack();
  h.advance(1s);
  EXPECT_TRUE(c.out().empty());
  // The tail of a larger send, its full segment in flight, goes when that segment's ACK comes (the ACK runs
  // the normal TCP_NODELAY rules, not the persist timer).
  const Bytes big = pattern(1500, 5);
  ASSERT_EQ(skiff_send(c.fd, big.data(), big.size(), MSG_DONTWAIT | MSG_MORE), 1500);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 1460u);
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1561);
  EXPECT_EQ(out[0].payload, Bytes(big.begin() + 1460, big.end()));
}

TEST_F(TcpMsgMore, ShutdownSendsTheHeldTailWithItsFin) {
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(send_more(c, 100, 6), 100);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].payload, pattern(100, 6));
  EXPECT_TRUE(out[0].has(tf::kFin));
}

TEST_F(TcpMsgMore, WithoutMsgMoreASmallSendLeavesAtOnce) {
  // The control: the same send without MSG_MORE, with TCP_NODELAY and under Nagle with nothing in flight.
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(send_more(c, 100, 1, 0), 100);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].payload, pattern(100, 1));
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 0), 0);
  c.ack();
  ASSERT_EQ(send_more(c, 30, 2, 0), 30);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 101);
  EXPECT_EQ(out[0].payload, pattern(30, 2));
  // And 3000 bytes without MSG_MORE under TCP_NODELAY: the tail goes with the full segments.
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  c.ack();
  ASSERT_EQ(send_more(c, 3000, 3, 0), 3000);
  out = c.out_track();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].payload.size(), 80u);
}

TEST_F(TcpMsgMore, ASendCutShortByTheSendBufferDoesNotHoldItsTail) {
  // A non-blocking MSG_MORE send that the send buffer stops short returns what it took, and what it took
  // goes per the normal rules (as Linux, which pushes before it would wait for room): under TCP_NODELAY,
  // the partial last segment with the full ones, the window being wide open.
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_SNDBUF, 1), 0);  // the least: 4608 bytes
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  ASSERT_EQ(skiff_getsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
  ASSERT_EQ(sndbuf, 4608);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  const Bytes all = pattern(10000, 9);
  const ssize_t n = skiff_send(c.fd, all.data(), all.size(), MSG_DONTWAIT | MSG_MORE);
  ASSERT_GT(n, 0);
  ASSERT_LT(n, 10000);     // stopped short for room
  ASSERT_NE(n % 1460, 0);  // ... with a partial last segment
  auto out = c.out_track();
  Bytes sent;
  uint32_t seq = c.iss + 1;
  for (const auto& s : out) {
    EXPECT_EQ(s.seq, seq);
    seq += static_cast<uint32_t>(s.payload.size());
    sent.insert(sent.end(), s.payload.begin(), s.payload.end());
  }
  EXPECT_EQ(sent, Bytes(all.begin(), all.begin() + n));  // every byte taken, nothing held back
  ASSERT_EQ(out.size(), static_cast<size_t>(n / 1460 + 1));
  EXPECT_EQ(out.back().payload.size(), static_cast<size_t>(n % 1460));
  EXPECT_EQ(c.nxt, c.iss + 1 + static_cast<uint32_t>(n));
  // Until the peer acknowledges, no room: EAGAIN, nothing sent.
  EXPECT_EQ(skiff_send(c.fd, all.data() + n, all.size() - n, MSG_DONTWAIT | MSG_MORE), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_TRUE(c.out().empty());
  // The control: once acknowledged, a MSG_MORE send that fits whole still holds its partial tail.
  c.ack();
  ASSERT_EQ(send_more(c, 100, 10), 100);
  EXPECT_TRUE(c.out().empty());
  ASSERT_EQ(send_more(c, 20, 11, 0), 20);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1 + static_cast<uint32_t>(n));
  EXPECT_EQ(out[0].payload, cat(pattern(100, 10), pattern(20, 11)));
}
