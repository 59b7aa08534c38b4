// RTT measurement as Linux's tcp_ack_update_rtt: every ACK that newly acknowledges never-retransmitted
// data is timed from that data's send time (µs), an ACK that only SACKs from what it newly SACKs; the echoed
// timestamp (1 ms ticks) times only what nothing else can (retransmitted data), and an echo from the future
// gives no sample. The minimum RTT is windowed (300 s, tcp_min_rtt_wlen).
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// One round of `segs` segments: sent, then after `rtt` acknowledged by one cumulative ACK.
void round_trip(StackHarness& h, Conn& c, uint32_t segs, Duration rtt) {
  const uint32_t mss = info(c.fd).tcpi_snd_mss;
  ASSERT_EQ(c.send(segs * mss), static_cast<ssize_t>(segs * mss));
  ASSERT_EQ(c.out_track().size(), segs);
  h.advance(rtt);
  c.ack();
  c.out_track();
}

}  // namespace

TEST(TcpRtt, SubMillisecondPathIsMeasuredInMicrosecondsWithTimestamps) {
  // A 300 µs path with timestamps on. The timestamp clock ticks in milliseconds, so its echoes say 0 or 1 ms
  // here; timed from the segments' send times every ACK says 300 µs. Regression: only one segment per
  // round trip was timed in µs, every other ACK from its echo, and SRTT wandered between the two.
  StackHarness h;
  OpenOpts o;
  o.ts = true;
  o.rtt = 300us;
  Conn c = accept_conn(h, o);
  for (int i = 0; i < 40; ++i) {
    const uint32_t mss = info(c.fd).tcpi_snd_mss;
    ASSERT_EQ(c.send(2 * mss), static_cast<ssize_t>(2 * mss));
    const auto out = c.out_track();
    ASSERT_EQ(out.size(), 2u);
    h.advance(300us);
    c.ts_val += 1;
    c.ack(out[0].seq + mss);  // one ACK per segment: two samples per round
    c.ack();
    c.out_track();
  }
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 300u);
  EXPECT_LE(ti.tcpi_rttvar, 20u);
  EXPECT_EQ(xinfo(c.fd).tcpi_min_rtt, 300u);
  skiff_close(c.fd);
}

TEST(TcpRtt, EchoFromTheFutureGivesNoSample) {
  // Only the timestamp echo can time the ACK of a retransmission, and a peer (or a forger with the
  // 4-tuple and the exact window) echoing a TSval we never sent must not make the RTO huge (Linux's
  // tcp_rtt_tsopt_us rejects it). Regression: the echo wrapped to a sample of ~49 days.
  StackHarness h;
  OpenOpts o;
  o.ts = true;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(c.send(900), 900);
  auto first = c.out_track();
  ASSERT_EQ(first.size(), 1u);
  std::vector<SentTcp> again;
  ASSERT_TRUE(advance_until_sent(h, 1s, again));  // the RTO: now only the echo can time the ACK
  ASSERT_EQ(again.size(), 1u);
  c.ts_ecr = again[0].opts.ts_val + 5000;  // 5 s ahead of our clock
  h.advance(20ms);
  c.ts_val += 1;
  c.ack();
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 20000u);  // unchanged: no sample
  EXPECT_EQ(ti.tcpi_rttvar, 10000u);
  EXPECT_EQ(ti.tcpi_rto, 400000u);  // and the backed-off timer stays as it was (as Linux without a sample)
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRtt, SackOnlyAckTimesTheNewlySackedSegment) {
  // Without timestamps, a duplicate ACK whose SACK block reports a segment sent once times that segment
  // (Linux's sack_rtt_us): the first sample of a connection whose handshake gave none.
  StackHarness h;
  OpenOpts o;
  o.sack = true;
  o.rtt = 10ms;
  Conn c = accept_conn(h, o);
  const uint32_t base = c.iss + 1;
  const uint32_t rtt0 = info(c.fd).tcpi_rtt;
  ASSERT_EQ(rtt0, 10000u);
  ASSERT_EQ(c.send(3000), 3000);
  ASSERT_EQ(c.out_track().size(), 3u);
  h.advance(15ms);  // (before the tail loss probe, at 2 SRTT)
  c.sack(base, {{base + 2000, base + 3000}});
  // The SACKed segment's round trip (15 ms) is a sample: 10 + (15 - 10) / 8 ms.
  EXPECT_EQ(info(c.fd).tcpi_rtt, 10625u);
  // The cumulative ACK then times the two segments it newly acknowledges: 16 ms since they went (before
  // RACK's reordering window, a quarter of the minimum RTT, would call them lost).
  h.advance(1ms);
  EXPECT_TRUE(c.out().empty());
  c.ack();
  EXPECT_EQ(info(c.fd).tcpi_rtt, (7 * 10625u + 16000u) / 8);
  skiff_close(c.fd);
}

TEST(TcpRtt, MinimumRttIsWindowedOver300Seconds) {
  // After a route change to a longer path, the old minimum ages out after 300 s (Linux's
  // tcp_min_rtt_wlen), so RACK's reordering window (min RTT / 4) follows the path. Regression: the
  // minimum was a lifetime one.
  StackHarness h;
  OpenOpts o;
  o.rtt = 1ms;
  Conn c = accept_conn(h, o);
  round_trip(h, c, 2, 1ms);
  EXPECT_EQ(xinfo(c.fd).tcpi_min_rtt, 1000u);
  h.advance(200s);
  round_trip(h, c, 2, 5ms);
  EXPECT_EQ(xinfo(c.fd).tcpi_min_rtt, 1000u);  // within the window: still the old path's
  h.advance(101s);
  round_trip(h, c, 2, 5ms);
  EXPECT_EQ(xinfo(c.fd).tcpi_min_rtt, 5000u);
  round_trip(h, c, 2, 7ms);
  EXPECT_EQ(xinfo(c.fd).tcpi_min_rtt, 5000u);
  skiff_close(c.fd);
}

TEST(TcpRtt, AckOfAFastRetransmissionIsNotTimed) {
  // Karn's rule without SACK or timestamps: the ACK that covers a fast retransmission cannot say which copy
  // it answers, so it gives no sample (Linux: FLAG_RETRANS_DATA_ACKED). Regression: the head resent by
  // NewReno was not marked, and the ACK was timed from the original: 2 RTTs and more.
  StackHarness h;
  OpenOpts o;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  const uint32_t base = c.iss + 1;
  ASSERT_EQ(c.send(5000), 5000);
  ASSERT_EQ(c.out_track().size(), 5u);
  h.advance(20ms);
  for (int i = 0; i < 3; ++i) c.ack(base);  // three duplicate ACKs: the head goes again
  auto again = c.out();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, base);
  h.advance(20ms);
  c.ack();  // 40 ms after the original, 20 ms after the retransmission
  EXPECT_EQ(info(c.fd).tcpi_rtt, 20000u);
  skiff_close(c.fd);
}
