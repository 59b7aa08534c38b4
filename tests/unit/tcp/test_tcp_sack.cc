// SACK (RFC 2018), D-SACK (RFC 2883) and RACK-TLP (RFC 8985), packet by packet.
//
// Sender: the peer's SACK blocks fill the scoreboard; RACK calls a hole lost once a segment sent after it
// was delivered and the reordering window has passed: none while no reordering was seen and DupThresh
// segments are SACKed (or recovery runs), else min RTT / 4, widened by D-SACKs (RFC 8985 §6.2); exactly
// the lost segments go again, in one recovery episode with one window reduction; a tail loss is found by
// a probe at 2*SRTT instead of the RTO; D-SACKs never reduce the window; crafted blocks are refused or
// cost nothing.
// Receiver: out-of-order data is reported newest block first, duplicates as D-SACK blocks.
#include <random>

#include "tcp/tcp_impl.hh"
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

constexpr uint32_t kMss = 1000;

// A connection with SACK and no timestamps (four blocks fit an ACK), MSS 1000, and a 20 ms handshake:
// SRTT 20 ms, RTO 200 ms (rto_min), PTO 40 ms.
Conn sack_conn(StackHarness& h, const char* cc = "cubic") {
  OpenOpts o;
  o.sack = true;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  EXPECT_EQ(skiff_setsockopt(c.fd, IPPROTO_TCP, TCP_CONGESTION, cc, static_cast<socklen_t>(strlen(cc))), 0);
  return c;
}

Bytes slice(const Bytes& b, size_t from, size_t n) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(from + n));
}

// Sends `n` bytes and checks they all left at once (within the initial window).
Bytes send_flight(Conn& c, size_t n, uint8_t seed = 9) {
  const Bytes d = pattern(n, seed);
  EXPECT_EQ(skiff_send(c.fd, d.data(), d.size(), MSG_DONTWAIT), static_cast<ssize_t>(n));
  EXPECT_EQ(c.out_track().size(), (n + kMss - 1) / kMss);
  return d;
}

// One lost segment (the third of ten): with no reordering seen, RACK marks it lost as soon as three
// segments after it are SACKed (RFC 8985 §6.2 step 4: reo_wnd is 0 then), only it is resent, and the
// window falls once, to beta * FlightSize.
void one_loss(const char* cc, uint32_t want_ssthresh) {
  StackHarness h;
  Conn c = sack_conn(h, cc);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  // The peer acknowledges 1 and 2, then SACKs 4, 4-5, ..., 4-10 in its duplicate ACKs.
  c.ack(base + 2000);
  for (uint32_t k = 4; k <= 5; ++k) c.sack(base + 2000, {{base + 3000, base + k * kMss}});
  EXPECT_TRUE(c.out().empty());  // not yet: it could be reordering
  EXPECT_EQ(info(c.fd).tcpi_sacked, 2u);
  EXPECT_EQ(info(c.fd).tcpi_lost, 0u);
  c.sack(base + 2000, {{base + 3000, base + 6000}});
  auto got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 2000);
  EXPECT_EQ(got[0].payload, slice(all, 2000, kMss));
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 3u);  // Recovery
  EXPECT_EQ(ti.tcpi_lost, 1u);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, want_ssthresh / kMss);
  // PRR (RFC 6937): with 4 segments in the pipe (8 outstanding, 3 SACKed, 1 lost), at or below ssthresh,
  // the window is the pipe plus the retransmission that had to go.
  EXPECT_EQ(ti.tcpi_snd_cwnd, 5u);
  EXPECT_EQ(h.shard().stats.tcp_rack_lost, 1u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  // More duplicate ACKs, and time past the probe timeout (40 ms): still nothing else sent, no second
  // reduction, no tail loss probe during recovery.
  for (uint32_t k = 7; k <= 10; ++k) c.sack(base + 2000, {{base + 3000, base + k * kMss}});
  EXPECT_TRUE(c.out().empty());
  h.advance(100ms);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, want_ssthresh / kMss);
  c.ack(base + 10000);
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(ti.tcpi_snd_cwnd, want_ssthresh / kMss);  // RFC 6675 §5: cwnd = ssthresh on leaving recovery
  EXPECT_EQ(ti.tcpi_sacked, 0u);
  EXPECT_EQ(ti.tcpi_lost, 0u);
  h.advance(2s);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 1u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 0u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  skiff_close(c.fd);
}

}  // namespace

TEST(TcpSack, OneLossCubicRetransmitsExactlyTheHoleAndReducesToSevenTenths) {
  one_loss("cubic", 5600);  // RFC 9438 §4.6: 0.7 * FlightSize (8000 bytes when the loss is detected)
}

TEST(TcpSack, OneLossRenoRetransmitsExactlyTheHoleAndHalves) {
  one_loss("reno", 4000);  // RFC 6675 §5 / RFC 5681: FlightSize / 2
}

TEST(TcpSack, TwoLossesInOneWindowOneRecoveryOneReduction) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  // Segments 3 and 7 are lost. Blocks most recent first, as a receiver sends them.
  c.ack(base + 2000);
  for (uint32_t k = 4; k <= 5; ++k) c.sack(base + 2000, {{base + 3000, base + k * kMss}});
  EXPECT_TRUE(c.out().empty());
  c.sack(base + 2000, {{base + 3000, base + 6000}});  // DupThresh: 3 is lost
  auto got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 2000);
  EXPECT_EQ(got[0].payload, slice(all, 2000, kMss));
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 5u);  // 0.7 * 8000
  // In recovery (and with no reordering seen) the first delivery after a hole marks it at once.
  c.sack(base + 2000, {{base + 7000, base + 8000}, {base + 3000, base + 6000}});
  got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 6000);
  EXPECT_EQ(got[0].payload, slice(all, 6000, kMss));
  for (uint32_t k = 9; k <= 10; ++k) c.sack(base + 2000, {{base + 7000, base + k * kMss}, {base + 3000, base + 6000}});
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 5u);  // one reduction
  EXPECT_EQ(info(c.fd).tcpi_lost, 2u);
  h.advance(20ms);
  // The first retransmission fills the first hole: a partial ACK; recovery goes on, the window stays.
  c.sack(base + 6000, {{base + 7000, base + 10000}});
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 5u);
  c.ack(base + 10000);
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 5u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  EXPECT_EQ(h.shard().stats.tcp_rack_lost, 2u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 2u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  skiff_close(c.fd);
}

// The retransmission timer is lazy (tcp_timer.cc, rto_start): stopping it once everything is acknowledged
// leaves its wheel entry armed, and a later start leaves that earlier entry in place. The probe for a new
// flight must still come one PTO after that flight, not when the old entry comes due.
TEST(TcpSack, ProbeTimerStartedAgainAfterEverythingWasAckedCountsFromTheNewFlight) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 2000, 1);  // two segments: PTO = 2 * SRTT = 40 ms, due at 40 ms
  h.advance(20ms);
  c.ack(base + 2000);  // everything acknowledged: the timer stops
  EXPECT_TRUE(c.out().empty());
  h.advance(15ms);
  const Bytes second = send_flight(c, 2000, 2);  // at 35 ms: the probe is due at 75 ms
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 1s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 40ms);  // nothing when the first flight's entry fired (5 ms in)
  EXPECT_LE(*t, 41ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 3000);  // the new flight's last segment
  EXPECT_EQ(got[0].payload, slice(second, 1000, kMss));
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  // Acknowledged in full: the timer stops again, and its entry (now due at the RTO after the probe) finds
  // nothing to do.
  c.ack(base + 4000);
  EXPECT_FALSE(advance_until_sent(h, 1s, got));
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  skiff_close(c.fd);
}

TEST(TcpSack, TailLossIsFoundByAProbeAtTwiceSrttNotByTheRto) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  // The last two segments are lost: the peer can only acknowledge the first eight, and no SACK follows.
  c.ack(base + 8000);
  EXPECT_EQ(info(c.fd).tcpi_rtt, 20000u);
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 1s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 40ms);  // PTO = 2 * SRTT (RFC 8985 §7.2), well before the 200 ms RTO
  EXPECT_LE(*t, 41ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 9000);  // no new data: the last segment again
  EXPECT_EQ(got[0].payload, slice(all, 9000, kMss));
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  // The probe's SACK shows the hole before it: RACK calls it lost at once (sent before the delivered
  // probe, more than an RTT ago) and it goes again.
  h.advance(20ms);
  c.sack(base + 8000, {{base + 9000, base + 10000}});
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, base + 8000);
  EXPECT_EQ(out[0].payload, slice(all, 8000, kMss));
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  c.ack(base + 10000);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  h.advance(2s);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 2u);
  skiff_close(c.fd);
}

TEST(TcpSack, ProbeThatRepairedATailLossReducesTheWindowOnce) {
  // RFC 8985 §7.4: the last segment was lost and the probe (a retransmission of it) repaired it. No
  // D-SACK follows, and once data sent after the probe is acknowledged the loss is certain: one window
  // reduction (CUBIC: 0.7), without a recovery episode.
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 9000);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 1s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 9000);
  h.advance(20ms);
  c.ack(base + 10000);  // the probe's ACK: not yet known whether the original arrived too
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 0x7fffffffu);
  send_flight(c, 1000, 5);
  h.advance(20ms);
  const uint32_t before = info(c.fd).tcpi_snd_cwnd;  // (application-limited meanwhile: cwnd validation)
  c.ack(base + 11000);
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, before * 7 / 10);
  EXPECT_EQ(ti.tcpi_snd_cwnd, before * 7 / 10);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(h.shard().stats.tcp_tlp_recoveries, 1u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 0u);
  // The next ACKs change nothing more.
  send_flight(c, 1000, 6);
  c.ack(base + 12000);
  EXPECT_EQ(h.shard().stats.tcp_tlp_recoveries, 1u);
  skiff_close(c.fd);
}

TEST(TcpSack, CumulativeAckOfARetransmissionRevealsLaterLosses) {
  // RACK on a cumulative ACK that brings no SACK block: the retransmission of 3 is delivered (the ACK
  // jumps to the next hole at 9); 9 and 10 were sent before that retransmission, so after the reordering
  // window they are lost too, and go again without waiting for an RTO.
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 2000);
  c.sack(base + 2000, {{base + 3000, base + 8000}});
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 150ms, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 2000);
  h.advance(20ms);
  // 9 and 10 were lost as well; the peer's ACK of the retransmission carries no block.
  c.ack(base + 8000);
  auto t = advance_until_sent(h, 150ms, got);
  ASSERT_TRUE(t);
  EXPECT_LE(*t, 6ms);  // the RACK timer (5 ms), not the RTO
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].seq, base + 8000);
  EXPECT_EQ(got[0].payload, slice(all, 8000, kMss));
  EXPECT_EQ(got[1].seq, base + 9000);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  skiff_close(c.fd);
}

TEST(TcpSack, LimitedTransmitThenRecoverySendsNewDataAsPrrAllows) {
  // The first of ten segments is lost. The first two SACKs (duplicate ACKs) each let one new segment go
  // (limited transmit, RFC 3042, which RFC 6675 §5 keeps). The third starts recovery: Reno, ssthresh =
  // min(FlightSize, cwnd) / 2 = 5000: the two limited-transmit segments (FlightSize 12000) do not raise the
  // base beyond the window they were sent outside of (RFC 3042 §2, RFC 9438 §4.6). From then on
  // Proportional Rate Reduction (RFC 6937 §3) decides: while the pipe (RFC 6675: neither SACKed nor lost
  // segments, retransmissions counted) is above ssthresh, what may go is ssthresh / RecoverFS (5000 / 10000,
  // the window when recovery began) of what was delivered, less what went; at or below, what was delivered
  // less what went, capped at ssthresh - pipe. Each SACK below delivers one segment.
  StackHarness h;
  Conn c = sack_conn(h, "reno");
  const uint32_t base = c.iss + 1;
  const Bytes all = pattern(16000, 6);
  ASSERT_EQ(skiff_send(c.fd, all.data(), all.size(), MSG_DONTWAIT), 16000);
  ASSERT_EQ(c.out_track().size(), 10u);  // the initial window; 6 segments wait
  h.advance(20ms);
  for (uint32_t k = 3; k <= 4; ++k) {
    c.sack(base, {{base + 1000, base + (k - 1) * kMss}});
    auto got = c.out();
    ASSERT_EQ(got.size(), 1u) << k;
    EXPECT_EQ(got[0].seq, base + (k + 7) * kMss) << k;  // 11, then 12
    EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  }
  // Delivered 1000, prr_out 0: 500 may go, but the fast retransmit always does (pipe 8000 -> 9000).
  c.sack(base, {{base + 1000, base + 4000}});
  auto got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base);  // the retransmission only
  EXPECT_EQ(got[0].payload, slice(all, 0, kMss));
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 5u);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 9u);  // the pipe, with nothing more to send now
  // SACK k: delivered (k - 3) x 1000 since recovery began. k = 5, 6: 1000 and 1500 may have gone (1000
  // did); k = 7: 2000, one new segment (13); k = 8: 2500 (2000 went); k = 9: the pipe is at ssthresh
  // (5000), nothing; k = 10: pipe 4000, one more to reach ssthresh (14).
  const uint32_t want_new[] = {0, 0, 13, 0, 0, 14};
  for (uint32_t k = 5; k <= 10; ++k) {
    c.sack(base, {{base + 1000, base + k * kMss}});
    got = c.out();
    const uint32_t seg = want_new[k - 5];
    if (!seg) {
      EXPECT_TRUE(got.empty()) << k;
      continue;
    }
    ASSERT_EQ(got.size(), 1u) << k;
    EXPECT_EQ(got[0].seq, base + (seg - 1) * kMss) << k;
    EXPECT_EQ(got[0].payload, slice(all, (seg - 1) * kMss, kMss)) << k;
  }
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 5u);
  // Everything outstanding when recovery began is acknowledged (13 and 14 are not): recovery ends, and
  // the window is ssthresh.
  c.ack(base + 12 * kMss);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 5u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 1u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  skiff_close(c.fd);
}

// A CUBIC connection whose window grew to 20 segments in slow start, with 20 in flight (11..30 of 50;
// SND.UNA at base + 10 * kMss) and 20 more waiting.
Conn twenty_in_flight(StackHarness& h, uint32_t& una) {
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = pattern(30 * kMss, 4);
  EXPECT_EQ(skiff_send(c.fd, all.data(), all.size(), MSG_DONTWAIT), static_cast<ssize_t>(all.size()));
  EXPECT_EQ(c.out_track().size(), 10u);
  h.advance(20ms);
  for (uint32_t k = 1; k <= 10; ++k) {
    c.ack(base + k * kMss);  // each ACK: the window grows by one segment, two go
    EXPECT_EQ(c.out_track().size(), 2u) << k;
  }
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 20u);
  // More data waits behind the window.
  const Bytes more = pattern(20 * kMss, 5);
  EXPECT_EQ(skiff_send(c.fd, more.data(), more.size(), MSG_DONTWAIT), static_cast<ssize_t>(more.size()));
  EXPECT_TRUE(c.out().empty());
  h.advance(20ms);
  una = base + 10 * kMss;
  return c;
}

// Proportional Rate Reduction (RFC 6937 §3), the proportional part: the window falls to ssthresh over the
// round trip in step with what arrives, instead of at once (RFC 6675 alone: cwnd = 14 with 17 segments
// in the pipe sends nothing until three more are delivered). One loss (11) in a flight of 20; SACKs for
// 12, 13, 14 find it (ssthresh 0.7 x 20 = 14, RecoverFS 20). At the k-th ACK of recovery, prr_delivered
// is k segments: while the pipe exceeds ssthresh, ceil(0.7 k) - prr_out may go (the fast retransmit
// always does); at or below ssthresh, no more than ssthresh - pipe (the pipe is then held at ssthresh:
// one segment out per segment delivered).
TEST(TcpSack, PrrSpreadsTheReductionOverTheRoundTrip) {
  StackHarness h;
  uint32_t una = 0;
  Conn c = twenty_in_flight(h, una);
  // The first two SACKs each let a new segment go (limited transmit: 31, 32).
  for (uint32_t k = 2; k <= 3; ++k) {
    c.sack(una, {{una + kMss, una + k * kMss}});
    ASSERT_EQ(c.out_track().size(), 1u);
  }
  // Each entry: the segments the k-th ACK of recovery releases, k = 1..17 (SACKs up to segment 30). The
  // pipe, 19 after the retransmission (22 outstanding, 3 SACKed, 1 lost, 1 retransmitted), falls by one
  // per ACK and rises by 0.7 on average, reaching ssthresh at the twelfth.
  const uint32_t want[] = {1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
  uint32_t sent = 0;
  for (uint32_t k = 1; k <= 17; ++k) {
    c.sack(una, {{una + kMss, una + (k + 3) * kMss}});
    const auto got = c.out_track();
    EXPECT_EQ(got.size(), want[k - 1]) << "ACK " << k << " of recovery";
    for (const auto& t : got) EXPECT_EQ(t.seq, k == 1 ? una : una + (22 + sent++) * kMss) << k;  // 11, then new data
    if (k == 1) {
      EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
      EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 14u);
    }
    if (k >= 12) {
      EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 14u) << "the pipe is held at ssthresh, ACK " << k;
    }
  }
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 1u);
  // The retransmission and the limited-transmit segments arrive (all that was outstanding when recovery
  // began): recovery ends with cwnd = ssthresh.
  c.ack(una + 22 * kMss);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 14u);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 14u);
  skiff_close(c.fd);
}

// PRR's slow start reduction bound (RFC 6937 §3): when more is lost than the reduction takes, the pipe is
// below ssthresh, and RFC 6675 alone would send ssthresh - pipe at once (here 5 retransmissions in one
// burst, into the queue that just dropped 10). PRR sends what was delivered: one retransmission per SACKed
// segment, and once SND.UNA moves without a new loss, one more per ACK (slow start).
TEST(TcpSack, PrrSlowStartBoundPacesRetransmissionsAfterHeavyLoss) {
  StackHarness h;
  uint32_t una = 0;
  Conn c = twenty_in_flight(h, una);
  // 11..20 lost; 21, 22, 23 SACKed (the first two let 31 and 32 go: limited transmit): all ten are lost
  // at once (sent before a delivered segment, no reordering seen). ssthresh 14, pipe 22 - 3 - 10 = 9.
  for (uint32_t k = 11; k <= 12; ++k) {
    c.sack(una, {{una + 10 * kMss, una + k * kMss}});
    ASSERT_EQ(c.out_track().size(), 1u);
  }
  c.sack(una, {{una + 10 * kMss, una + 13 * kMss}});
  auto got = c.out_track();
  ASSERT_EQ(got.size(), 1u) << "one segment delivered, one retransmission";
  EXPECT_EQ(got[0].seq, una);
  EXPECT_EQ(info(c.fd).tcpi_lost, 10u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 14u);
  // SACKs for 24..30: one retransmission each (12..18), in order.
  for (uint32_t k = 1; k <= 7; ++k) {
    c.sack(una, {{una + 10 * kMss, una + (13 + k) * kMss}});
    got = c.out_track();
    ASSERT_EQ(got.size(), 1u) << k;
    EXPECT_EQ(got[0].seq, una + k * kMss) << k;
  }
  // The first retransmission (11) arrives: SND.UNA moves, nothing newly lost: two go (19, 20).
  c.sack(una + kMss, {{una + 10 * kMss, una + 20 * kMss}});
  got = c.out_track();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].seq, una + 8 * kMss);
  EXPECT_EQ(got[1].seq, una + 9 * kMss);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 10u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  skiff_close(c.fd);
}

TEST(TcpSack, FewerThanDupThreshSackedWaitsTheReorderingWindow) {
  // Three segments, the first lost: only two can be SACKed, so a duplicate-ACK threshold never fires
  // (RFC 6675 would wait for the RTO). RACK marks it lost one reordering window (min RTT / 4 = 5 ms)
  // after the delivery of a segment sent after it (RFC 8985 §6.2).
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 3000);
  h.advance(20ms);
  c.sack(base, {{base + 1000, base + 2000}});
  c.sack(base, {{base + 1000, base + 3000}});
  EXPECT_TRUE(c.out().empty());
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 150ms, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 5ms);
  EXPECT_LE(*t, 6ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base);
  EXPECT_EQ(got[0].payload, slice(all, 0, kMss));
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  EXPECT_EQ(h.shard().stats.tcp_rack_lost, 1u);
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 0u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  c.ack(base + 3000);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  skiff_close(c.fd);
}

TEST(TcpSack, ReorderingWithinTheWindowIsNotLossAndTurnsOffTheDupThreshShortcut) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 2000);
  // 4 overtakes 3, which arrives 2 ms later, inside the 5 ms window: no loss, nothing sent again.
  c.sack(base + 2000, {{base + 3000, base + 4000}});
  EXPECT_TRUE(c.out().empty());
  h.advance(2ms);
  c.ack(base + 4000);
  h.advance(10ms);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
  EXPECT_EQ(xinfo(c.fd).tcpi_reord_seen, 1u);
  EXPECT_EQ(xinfo(c.fd).tcpi_reordering, 3u) << "2 segments behind: within Linux's default 3";
  // That was reordering (3 was never retransmitted, yet delivered below 4). Now three SACKed segments
  // beyond a hole are no longer enough by themselves: RACK waits the reordering window (RFC 8985 §6.2
  // step 4), 5 ms after the delivery.
  c.sack(base + 4000, {{base + 5000, base + 8000}});
  EXPECT_TRUE(c.out().empty());
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 100ms, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 5ms);
  EXPECT_LE(*t, 6ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 4000);
  EXPECT_EQ(got[0].payload, slice(all, 4000, kMss));
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  c.ack(base + 10000);
  skiff_close(c.fd);
}

TEST(TcpSack, DsackOfASpuriousRetransmissionWidensTheReorderingWindow) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 2000);
  for (uint32_t k = 4; k <= 6; ++k) c.sack(base + 2000, {{base + 3000, base + k * kMss}});
  auto got = c.out();
  ASSERT_EQ(got.size(), 1u);  // DupThresh with no reordering seen: 3 went again at once
  EXPECT_EQ(got[0].seq, base + 2000);
  // 3 was only late: the original arrives, then the retransmission, which the peer reports as a D-SACK.
  h.advance(1ms);
  c.ack(base + 10000);
  c.sack(base + 10000, {{base + 2000, base + 3000}});
  EXPECT_EQ(h.shard().stats.tcp_dsack_recv, 1u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  // The window is now two quarters of the minimum RTT (RFC 8985 §6.2 step 4), but a D-SACK is not
  // reordering seen (step 3): the next loss below three SACKed segments still goes at once (DupThresh).
  int err = 0;
  TcpSock* tp = tcp_sk(h.shard().socks.fds.socket(c.fd, &err)->sk);
  EXPECT_EQ(tp->reo_wnd_mult, 2u);
  EXPECT_FALSE(tp->reord_seen);
  uint32_t base2 = base + 10000;
  send_flight(c, 5000, 4);
  h.advance(20ms);
  c.sack(base2, {{base2 + 1000, base2 + 4000}});
  auto first = c.out();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].seq, base2);
  h.advance(1ms);
  c.ack(base2 + 5000);
  // Reordering shows (a segment sent once arrives below one delivered before it): from now on a hole waits
  // the widened window, 10 ms.
  base2 += 5000;
  send_flight(c, 2000, 5);
  h.advance(20ms);
  c.sack(base2, {{base2 + 1000, base2 + 2000}});
  c.ack(base2 + 2000);
  EXPECT_TRUE(tp->reord_seen);
  EXPECT_TRUE(c.out().empty());
  base2 += 2000;
  // (The second episode left the window at 3 segments: a hole below two SACKed ones.)
  const Bytes all2 = send_flight(c, 3000, 6);
  h.advance(20ms);
  c.sack(base2, {{base2 + 1000, base2 + 3000}});
  EXPECT_TRUE(c.out().empty());
  std::vector<SentTcp> again;
  auto t = advance_until_sent(h, 100ms, again);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 10ms);
  EXPECT_LE(*t, 11ms);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, base2);
  EXPECT_EQ(again[0].payload, slice(all2, 0, kMss));
  c.ack(base2 + 3000);
  skiff_close(c.fd);
}

TEST(TcpSack, ReorderingWindowGrowsPast255QuartersOfMinRttUpToSrtt) {
  // A path whose fastest round trip is far below its usual one (here 0.1 ms against ~18 ms: a share of the
  // packets skips a queue) needs reo_wnd near SRTT to ride out its reordering, i.e. a multiplier of min
  // RTT/4 far beyond 255 (Linux caps its steps at 255). It doubles per D-SACK round and stops where the
  // window reaches SRTT.
  StackHarness h;
  Conn c = sack_conn(h);
  uint32_t una = c.iss + 1;
  send_flight(c, 1000);
  h.advance(100us);
  c.ack(una += 1000);  // min RTT 0.1 ms
  for (int k = 0; k < 8; ++k) {
    send_flight(c, 1000);
    h.advance(20ms);
    c.ack(una += 1000);  // SRTT towards 20 ms
  }
  int err = 0;
  TcpSock* tp = tcp_sk(h.shard().socks.fds.socket(c.fd, &err)->sk);
  ASSERT_EQ(tp->min_rtt_us, 100);
  ASSERT_GT(tp->srtt_us, 15'000);
  // Nine rounds with a D-SACK each (nothing outstanding between them: each round ends at once): 2^9. The
  // path reorders (as RACK's step 3 would find), so the window applies with three segments SACKed.
  tp->reord_seen = true;
  for (int k = 0; k < 9; ++k) tcp::rack_update_reo_wnd(tp, true);
  EXPECT_EQ(tp->reo_wnd_mult, 512u);
  // A hole below three SACKed segments waits RACK.rtt (20 ms) + 512 * 25 us (12.8 ms) from its sending.
  const Bytes all = send_flight(c, 5000, 4);
  h.advance(20ms);
  c.sack(una, {{una + 1000, una + 4000}});
  EXPECT_TRUE(c.out().empty());
  std::vector<SentTcp> again;
  auto t = advance_until_sent(h, 100ms, again);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 12ms);
  EXPECT_LE(*t, 14ms);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, una);
  EXPECT_EQ(again[0].payload, slice(all, 0, kMss));
  c.ack(una + 5000);
  // More rounds: the multiplier stops where min RTT/4 x it covers SRTT.
  for (int k = 0; k < 20; ++k) tcp::rack_update_reo_wnd(tp, true);
  EXPECT_EQ(tp->reo_wnd_mult, tp->srtt_us / 25 + 1);
  skiff_close(c.fd);
}

TEST(TcpSack, ProbeTimeoutForASingleSegmentAddsTheDelayedAckTime) {
  // RFC 8985 §7.2: PTO = 2 * SRTT, plus WCDelAckT (200 ms) when only one segment is in flight (its ACK
  // may be delayed), at most the RTO. rto_min is raised to 1 s here so that the RTO does not cap it.
  for (const bool single : {true, false}) {
    HarnessOptions ho;
    ho.cfg.tcp.rto_min = 1s;
    StackHarness h(ho);
    Conn c = sack_conn(h);
    const uint32_t base = c.iss + 1;
    const Bytes all = send_flight(c, single ? 1000 : 2000);
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 2s, got);
    ASSERT_TRUE(t);
    EXPECT_GE(*t, single ? 240ms : 40ms) << single;
    EXPECT_LE(*t, single ? 241ms : 41ms) << single;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].seq, base + (single ? 0 : 1000));  // the last segment again
    EXPECT_EQ(got[0].payload, slice(all, single ? 0 : 1000, kMss));
    EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
    skiff_close(c.fd);
  }
}

TEST(TcpSack, ProbeSendsNewDataWhenThereIsSome) {
  // RFC 8985 §7.3: the probe is a new segment if one is waiting and the peer's window takes it (beyond
  // cwnd: the probe is allowed one segment more); only otherwise the last segment again.
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = pattern(12000, 8);
  ASSERT_EQ(skiff_send(c.fd, all.data(), all.size(), MSG_DONTWAIT), 12000);
  EXPECT_EQ(c.out_track().size(), 10u);  // cwnd: 10 segments
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 1s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 40ms);
  EXPECT_LE(*t, 41ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 10000);
  EXPECT_EQ(got[0].payload, slice(all, 10000, kMss));
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
  skiff_close(c.fd);
}

TEST(TcpSack, DsackIsCountedAndChangesNothing) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 8000);  // the ACKs of 9 and 10 are lost, not the data
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 1s, got));  // the tail loss probe resends 10
  ASSERT_EQ(got.size(), 1u);
  const uint32_t cwnd = info(c.fd).tcpi_snd_cwnd;
  // The peer had it: D-SACK, a block below the cumulative ACK (RFC 2883 §4 example 1).
  c.sack(base + 10000, {{base + 9000, base + 10000}});
  EXPECT_EQ(h.shard().stats.tcp_dsack_recv, 1u);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_GE(ti.tcpi_snd_cwnd, cwnd);  // grown by the cumulative ACK, never reduced
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(ti.tcpi_sacked, 0u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 0u);
  EXPECT_EQ(h.shard().stats.tcp_tlp_recoveries, 0u);  // the probe repaired nothing (RFC 8985 §7.4)
  // A duplicate above the cumulative ACK: the first block lies inside the second (RFC 2883 §4 example 3);
  // the second block is ordinary SACK information.
  send_flight(c, 5000);
  c.sack(base + 10000, {{base + 14000, base + 15000}, {base + 11000, base + 15000}});
  EXPECT_EQ(h.shard().stats.tcp_dsack_recv, 2u);
  EXPECT_EQ(info(c.fd).tcpi_sacked, 4u);
  EXPECT_EQ(h.shard().stats.tcp_sack_invalid, 0u);
  c.ack(base + 15000);
  skiff_close(c.fd);
}

TEST(TcpSack, InvalidBlocksAreIgnoredAndCounted) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 5000);  // snd_una = base, snd_max = base + 5000
  h.advance(20ms);
  c.sack(base + 1000, {{base + 2000, base + 3000},    // valid: segment 3
                       {base + 4000, base + 4000},    // empty
                       {base + 3500, base + 3000},    // left > right
                       {base + 5000, base + 6000}});  // beyond what we sent
  EXPECT_EQ(h.shard().stats.tcp_sack_invalid, 3u);
  EXPECT_EQ(info(c.fd).tcpi_sacked, 1u);
  c.sack(base + 1000, {{base + 2000, base + 3000},
                       {base - 5000, base - 4000},    // below SND.UNA (and not a D-SACK: not first)
                       {base + 4000, base + 5001},    // ends past SND.MAX
                       {base + 3000, base + 0x80000000u}});  // "wraps": far beyond
  EXPECT_EQ(h.shard().stats.tcp_sack_invalid, 6u);
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_sacked, 1u);
  EXPECT_EQ(ti.tcpi_lost, 0u);
  EXPECT_EQ(ti.tcpi_unacked, 4u);
  EXPECT_TRUE(c.out().empty());
  c.ack(base + 5000);
  EXPECT_EQ(info(c.fd).tcpi_sacked, 0u);
  skiff_close(c.fd);
}

TEST(TcpSack, CraftedOneByteBlocksCostNoScoreboardEntries) {
  // The SACK-panic pattern: a tiny MSS (the 88-byte floor), hundreds of segments in flight, and thousands
  // of ACKs each carrying four 1-byte blocks on alternate bytes. Blocks never split a segment (only whole
  // segments are SACKed), so the write queue and the buffers stay exactly as they were, and the scoreboard
  // records nothing.
  StackHarness h;
  OpenOpts o;
  o.sack = true;
  o.mss = 88;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(info(c.fd).tcpi_snd_mss, 88u);
  const Bytes d = pattern(60000, 3);
  ASSERT_EQ(skiff_send(c.fd, d.data(), d.size(), MSG_DONTWAIT), 60000);
  // Grow the flight: acknowledge segment by segment for a few rounds (slow start).
  for (int round = 0; round < 5; ++round) {
    for (const auto& t : c.out_track()) c.ack(t.seq + static_cast<uint32_t>(t.payload.size()));
  }
  auto last = c.out_track();
  ASSERT_GE(last.size(), 200u);
  const uint32_t una = last.front().seq;
  const uint32_t flight = c.nxt - una;
  const tcp_info before = info(c.fd);
  const unsigned buffers = h.buffers_in_use();
  for (uint32_t j = 0; j < 3000; ++j) {
    const uint32_t at = una + (8 * j) % (flight - 8);
    c.sack(una, {{at + 1, at + 2}, {at + 3, at + 4}, {at + 5, at + 6}, {at + 7, at + 8}});
  }
  const tcp_info after = info(c.fd);
  EXPECT_EQ(after.tcpi_unacked, before.tcpi_unacked);  // no segment split, none added
  EXPECT_EQ(after.tcpi_sacked, 0u);
  EXPECT_EQ(after.tcpi_lost, 0u);
  EXPECT_EQ(after.tcpi_ca_state, 0u);
  EXPECT_EQ(h.buffers_in_use(), buffers);
  EXPECT_EQ(h.shard().stats.tcp_sack_invalid, 0u);  // well-formed, merely useless
  EXPECT_TRUE(c.out().empty());
  // The same flood of blocks outside the window is refused outright.
  for (uint32_t j = 0; j < 1000; ++j) c.sack(una, {{c.nxt + j, c.nxt + j + 1}, {una - 100 - 2 * j, una - 99 - 2 * j}});
  EXPECT_EQ(h.shard().stats.tcp_sack_invalid, 2000u);
  EXPECT_EQ(info(c.fd).tcpi_unacked, before.tcpi_unacked);
  // And the connection is none the worse: a real SACK still works.
  c.sack(una, {{una + 88, c.nxt}});
  EXPECT_EQ(info(c.fd).tcpi_sacked, before.tcpi_unacked - 1);
  c.ack(c.nxt);
  skiff_close(c.fd);
}

TEST(TcpSack, ScoreboardRunsFollowCumulativeAcksThroughThem) {
  // Three holes (1, 5 and 9 of 10) and SACKed runs between them. The scoreboard walks jump over the runs
  // they remember; cumulative ACKs that free part of a run, or all of it, must leave the counts exact and
  // the holes (only they) retransmitted.
  StackHarness h;
  Conn c = sack_conn(h, "reno");
  const uint32_t base = c.iss + 1;
  const auto at = [&](uint32_t seg) { return base + (seg - 1) * kMss; };  // segment `seg` (1-based) starts here
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  c.sack(base, {{at(2), at(5)}});
  auto got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, at(1));
  c.sack(base, {{at(6), at(9)}, {at(2), at(5)}});
  got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, at(5));
  c.sack(base, {{at(10), at(11)}, {at(6), at(9)}, {at(2), at(5)}});
  got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, at(9));
  EXPECT_EQ(got[0].payload, slice(all, 8 * kMss, kMss));
  for (int i = 0; i < 5; ++i) c.sack(base, {{at(10), at(11)}, {at(6), at(9)}, {at(2), at(5)}});
  EXPECT_TRUE(c.out().empty());
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_sacked, 7u);
  EXPECT_EQ(ti.tcpi_lost, 3u);
  // A cumulative ACK into the first run (1 and 2 freed, 3 and 4 still SACKed), then the same blocks.
  c.sack(at(3), {{at(10), at(11)}, {at(6), at(9)}});
  c.sack(at(3), {{at(10), at(11)}, {at(6), at(9)}, {at(3), at(5)}});
  EXPECT_TRUE(c.out().empty());
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_unacked, 8u);
  EXPECT_EQ(ti.tcpi_sacked, 6u);
  EXPECT_EQ(ti.tcpi_lost, 2u);
  // Past the first run and into the second.
  c.sack(at(7), {{at(10), at(11)}, {at(7), at(9)}});
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_unacked, 4u);
  EXPECT_EQ(ti.tcpi_sacked, 3u);
  EXPECT_EQ(ti.tcpi_lost, 1u);
  c.sack(at(9), {{at(10), at(11)}});
  EXPECT_EQ(info(c.fd).tcpi_sacked, 1u);
  EXPECT_TRUE(c.out().empty());
  c.ack(at(11));
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_unacked, 0u);
  EXPECT_EQ(ti.tcpi_sacked, 0u);
  EXPECT_EQ(ti.tcpi_lost, 0u);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 3u);
  EXPECT_EQ(h.shard().stats.tcp_sack_recoveries, 1u);
  skiff_close(c.fd);
}

TEST(TcpSack, RandomBlocksAcksAndTimersKeepTheScoreboardConsistent) {
  // A peer that sends anything: valid, overlapping, inverted, out-of-range and D-SACK blocks, cumulative
  // ACKs that move by whole or partial segments, and time passing (RACK, probe and RTO timers). Whatever
  // it does, every byte the stack sends is the right byte for its sequence number, the scoreboard never
  // counts more SACKed and lost segments than are in flight, and once everything is acknowledged it is
  // empty.
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = pattern(300000, 11);
  size_t queued = 0;
  std::mt19937 rng(6675);
  uint32_t una = base;  // what the peer has acknowledged
  const auto check_out = [&] {
    for (const auto& t : c.out_track()) {
      const uint32_t off = t.seq - base;
      ASSERT_LE(off + t.payload.size(), all.size());
      ASSERT_EQ(t.payload, slice(all, off, t.payload.size())) << off;
    }
  };
  for (int i = 0; i < 4000; ++i) {
    if (queued < all.size()) {
      const ssize_t n = skiff_send(c.fd, all.data() + queued, all.size() - queued, MSG_DONTWAIT);
      if (n > 0) queued += static_cast<size_t>(n);
    }
    check_out();
    const uint32_t inflight = c.nxt - una;
    switch (rng() % 4) {
      case 0:
      case 1: {  // SACK blocks, anywhere near the flight
        std::vector<std::pair<uint32_t, uint32_t>> b;
        const uint32_t nb = 1 + rng() % 4;
        for (uint32_t k = 0; k < nb; ++k) {
          const uint32_t l = una - 2000 + rng() % (inflight + 4000);
          const uint32_t len = (rng() % 3 == 0) ? rng() % 200 : (1 + rng() % 8) * kMss;
          b.emplace_back(l, rng() % 16 == 0 ? l - len : l + len);
        }
        TcpSpec s = c.seg(tf::kAck);
        s.ack = una;
        wire::TcpOptions o;
        for (const auto& [l, r] : b) o.sack[o.num_sack++] = {wire::SeqNum(l), wire::SeqNum(r)};
        s.opts = o;
        c.in(s);
        break;
      }
      case 2:  // the cumulative ACK moves (or repeats)
        if (inflight) una += (rng() % 2) ? std::min<uint32_t>(inflight, (rng() % 3) * kMss) : rng() % (inflight + 1);
        c.ack(una);
        break;
      default:
        h.advance(std::chrono::milliseconds(rng() % 40));
        break;
    }
    check_out();
    const tcp_info ti = info(c.fd);
    ASSERT_LE(ti.tcpi_sacked + ti.tcpi_lost, ti.tcpi_unacked) << i;
    if (HasFatalFailure()) return;
  }
  // The peer catches up: everything acknowledged.
  for (int i = 0; i < 2000 && (queued < all.size() || una != c.nxt); ++i) {
    if (queued < all.size()) {
      const ssize_t n = skiff_send(c.fd, all.data() + queued, all.size() - queued, MSG_DONTWAIT);
      if (n > 0) queued += static_cast<size_t>(n);
    }
    check_out();
    una = c.nxt;
    c.ack(una);
    h.advance(1ms);
  }
  EXPECT_EQ(queued, all.size());
  EXPECT_EQ(una - base, all.size());
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_unacked, 0u);
  EXPECT_EQ(ti.tcpi_sacked, 0u);
  EXPECT_EQ(ti.tcpi_lost, 0u);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  skiff_close(c.fd);
}

// ---- Receiver ---------------------------------------------------------------------------------------

namespace {

struct Receiver {
  StackHarness h;
  Conn c;
  uint32_t r = 0;  // RCV.NXT when the test starts
  explicit Receiver(bool ts = false, const HarnessOptions& ho = {}) : h(ho) {
    OpenOpts o;
    o.sack = true;
    o.ts = ts;
    c = accept_conn(h, o);
    r = c.snd;
  }
  // The peer sends `n` bytes at offset `off` from r.
  void at(uint32_t off, size_t n) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(n, static_cast<uint8_t>(off / 100)));
    s.seq = r + off;
    c.in(s);
  }
  // The one ACK the stack answered with: its ACK field (relative) and blocks.
  std::pair<uint32_t, Blocks> answer() {
    auto out = c.out();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return {};
    return {out[0].ack - r, blocks_of(out[0], r)};
  }
};

}  // namespace

TEST(TcpSack, ReceiverReportsBlocksMostRecentFirst) {
  Receiver t;
  t.at(1000, 1000);
  EXPECT_EQ(t.answer(), (std::pair<uint32_t, Blocks>{0, {{1000, 2000}}}));
  t.at(3000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{3000, 4000}, {1000, 2000}}));
  t.at(5000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{5000, 6000}, {3000, 4000}, {1000, 2000}}));
  // A segment joining two blocks: the merged block goes first.
  t.at(2000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{1000, 4000}, {5000, 6000}}));
  // RFC 2018 §4: after the first block, the most recently reported ones (not the highest).
  t.at(7000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{7000, 8000}, {1000, 4000}, {5000, 6000}}));
  t.at(9000, 1000);
  t.answer();
  t.at(11000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{11000, 12000}, {9000, 10000}, {7000, 8000}, {1000, 4000}}));
  // Filling the first hole: the ACK moves, and the remaining blocks follow, most recent first.
  t.at(0, 1000);
  EXPECT_EQ(t.answer(), (std::pair<uint32_t, Blocks>{4000, {{11000, 12000}, {9000, 10000}, {7000, 8000}, {5000, 6000}}}));
  skiff_close(t.c.fd);
}

TEST(TcpSack, ReceiverWithTimestampsSendsThreeBlocks) {
  Receiver t(true);
  for (uint32_t off : {1000u, 3000u, 5000u, 7000u}) {
    t.at(off, 500);
    t.c.out_track();
  }
  t.at(9000, 500);
  auto out = t.c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].opts.has_timestamp);
  EXPECT_EQ(blocks_of(out[0], t.r), (Blocks{{9000, 9500}, {7000, 7500}, {5000, 5500}}));
  skiff_close(t.c.fd);
}

TEST(TcpSack, ReceiverReportsDuplicatesAsDsack) {
  Receiver t;
  t.at(2000, 1000);
  t.answer();
  t.at(4000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{4000, 5000}, {2000, 3000}}));
  // Out-of-order data received twice: the D-SACK block, then the block that holds it (RFC 2883 §4.2).
  t.at(2000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{2000, 3000}, {2000, 3000}, {4000, 5000}}));
  EXPECT_EQ(t.h.drops(Drop::TcpDuplicate), 1u);
  // Reported once: the next ACK has no D-SACK.
  t.at(6000, 1000);
  EXPECT_EQ(t.answer().second, (Blocks{{6000, 7000}, {2000, 3000}, {4000, 5000}}));
  t.at(0, 2000);
  EXPECT_EQ(t.answer(), (std::pair<uint32_t, Blocks>{3000, {{6000, 7000}, {4000, 5000}}}));
  // In-order data received twice (below RCV.NXT): D-SACK, at once (RFC 2883 §4.1).
  t.at(0, 1000);
  EXPECT_EQ(t.answer(), (std::pair<uint32_t, Blocks>{3000, {{0, 1000}, {6000, 7000}, {4000, 5000}}}));
  // Partly old, partly new: the old part is reported, the new part taken, and the ACK goes at once.
  t.at(2500, 1000);
  EXPECT_EQ(t.answer(), (std::pair<uint32_t, Blocks>{3500, {{2500, 3000}, {6000, 7000}, {4000, 5000}}}));
  skiff_close(t.c.fd);
}

TEST(TcpSack, ReceiverOutOfOrderQueueIsBounded) {
  // One-byte segments on alternate bytes, 744 more than ooo_max_segs: at most ooo_max_segs are kept, each
  // ACK still carries at most four valid blocks, and the memory is charged and returned.
  HarnessOptions ho;
  ho.cfg.tcp.ooo_max_segs = 300;
  Receiver t(false, ho);
  const uint32_t cap = t.h.shard().cfg.tcp.ooo_max_segs;
  size_t acks = 0;
  for (uint32_t i = 0; i < cap + 744; ++i) {
    t.at(1 + 2 * i, 1);
    for (const auto& s : t.c.out()) {
      ++acks;
      EXPECT_LE(s.opts.num_sack, 4u);
      for (const auto& [l, r] : blocks_of(s, t.r)) EXPECT_LT(l, r);
    }
  }
  EXPECT_EQ(acks, cap + 744u);
  EXPECT_EQ(t.h.shard().stats.tcp_ooo_segs, cap);
  EXPECT_EQ(t.h.drops(Drop::TcpOooFull), 744u);
  EXPECT_EQ(t.h.shard().tcp.ooo_bufs, cap);
  skiff_close(t.c.fd);
}

// RFC 3708 / RFC 4015 (Linux's undo): a recovery whose every retransmission comes back as a D-SACK was
// reordering, not loss; the window before the episode returns. One that repaired a real loss keeps its
// reduction.
TEST(TcpSack, RecoveryIsUndoneWhenEveryRetransmissionIsDsacked) {
  for (const bool spurious : {true, false}) {
    StackHarness h;
    Conn c = sack_conn(h);
    const uint32_t base = c.iss + 1;
    send_flight(c, 10000);
    h.advance(20ms);
    const tcp_info before = info(c.fd);
    c.ack(base + 2000);
    for (uint32_t k = 4; k <= 6; ++k) c.sack(base + 2000, {{base + 3000, base + k * kMss}});
    auto got = c.out();
    ASSERT_EQ(got.size(), 1u) << spurious;
    EXPECT_EQ(got[0].seq, base + 2000);
    EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
    EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 5600u / kMss);  // the reduction (CUBIC, 0.7 * 8000)
    h.advance(1ms);
    c.ack(base + 10000);  // the original of 3 (spurious) or its retransmission (a real loss) arrived
    EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
    EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 5600u / kMss);
    if (spurious) c.sack(base + 10000, {{base + 2000, base + 3000}});  // ... and then the copy: D-SACK
    const tcp_info ti = info(c.fd);
    EXPECT_EQ(h.shard().stats.tcp_undo, spurious ? 1u : 0u);
    EXPECT_EQ(ti.tcpi_ca_state, 0u);
    if (spurious) {
      EXPECT_EQ(ti.tcpi_snd_cwnd, before.tcpi_snd_cwnd + 2);  // as when the episode began (slow start grew it by 2)
      EXPECT_EQ(ti.tcpi_snd_ssthresh, 0x7fffffffu);  // back to slow start, as before the episode
    } else {
      EXPECT_EQ(ti.tcpi_snd_cwnd, 5600u / kMss);
      EXPECT_EQ(ti.tcpi_snd_ssthresh, 5600u / kMss);
    }
    skiff_close(c.fd);
  }
}

TEST(TcpSack, SpuriousTimeoutUndoneLeavesNothingMarkedLost) {
  // The head's original came late, after the timeout had resent it: the ACK that brings the original's
  // acknowledgment D-SACKs the copy, and the timeout is undone. It had marked every segment not SACKed lost;
  // the undo clears those marks (Linux's tcp_undo_cwnd_reduction, unmark_loss). Regression: the restored
  // window resent the whole flight at once.
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 10000);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 1s, got));  // the tail loss probe (40 ms): the last segment
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 9000);
  got.clear();
  ASSERT_TRUE(advance_until_sent(h, 1s, got));  // the timeout: the head, everything else marked lost
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 4u);  // Loss
  EXPECT_EQ(info(c.fd).tcpi_lost, 10u);
  h.advance(1ms);
  c.sack(base + 1000, {{base, base + 1000}});
  EXPECT_EQ(h.shard().stats.tcp_undo, 1u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  EXPECT_EQ(info(c.fd).tcpi_lost, 0u);
  EXPECT_TRUE(c.out().empty());  // the flight is in flight, not lost
  // The rest is acknowledged in order: nothing was resent.
  c.ack(base + 10000);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_total_retrans, 2u);  // the probe and the timeout's
  skiff_close(c.fd);
}

TEST(TcpSack, TailLossProbesDsackDoesNotWidenTheReorderingWindow) {
  // A D-SACK says the probe was needless, not that the path reorders (Linux's tcp_dsack_seen ignores a
  // TLP's D-SACK, and sets nothing without reordering seen). Regression: any D-SACK marked reordering as
  // seen for good, which turned off the DupThresh shortcut: later losses waited a quarter RTT more.
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 3000);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 1s, got));  // the probe: the last segment again
  ASSERT_EQ(got.size(), 1u);
  h.advance(1ms);
  c.sack(base + 3000, {{base + 2000, base + 3000}});  // everything, and the probe's copy
  EXPECT_EQ(h.shard().stats.tcp_dsack_recv, 1u);
  EXPECT_EQ(xinfo(c.fd).tcpi_reord_seen, 0u);
  // A later single loss is retransmitted at the third SACKed segment, at once (DupThresh), not after a
  // reordering window.
  h.advance(1s);
  send_flight(c, 5000);
  const uint32_t b2 = base + 3000;
  c.sack(b2, {{b2 + 1000, b2 + 2000}});
  c.sack(b2, {{b2 + 1000, b2 + 3000}});
  EXPECT_TRUE(c.out().empty());
  c.sack(b2, {{b2 + 1000, b2 + 4000}});
  got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, b2);
  skiff_close(c.fd);
}

// Two retransmissions, one D-SACKed: one of them repaired a loss, so nothing is undone; a D-SACK for data
// before the episode (SND.UNA when it began) counts for nothing.
TEST(TcpSack, RecoveryIsNotUndoneWhileARetransmissionWasNeeded) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 2000);
  // 3 and 4 missing; 5..8 SACKed: both holes go again at once (no reordering seen yet).
  for (uint32_t k = 6; k <= 8; ++k) c.sack(base + 2000, {{base + 4000, base + k * kMss}});
  auto got = c.out();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  const uint32_t reduced = info(c.fd).tcpi_snd_ssthresh;  // where the window ends up after recovery
  h.advance(1ms);
  c.ack(base + 10000);
  c.sack(base + 10000, {{base + 1000, base + 2000}});  // before the episode: not one of its retransmissions
  c.sack(base + 10000, {{base + 2000, base + 3000}});  // 3 was spurious; 4 was not
  EXPECT_EQ(h.shard().stats.tcp_dsack_recv, 2u);
  EXPECT_EQ(h.shard().stats.tcp_undo, 0u);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, reduced);
  // Later, a tail whose ACK comes late: the probe resends the last segment and the peer D-SACKs it. The
  // probe counts as a retransmission of its own (Linux's tcp_retransmit_skb), so its D-SACK cancels only
  // itself: the earlier episode, whose loss was real, stays (it was undone here: ssthresh back to infinite,
  // the connection in slow start again).
  h.advance(1s);
  ASSERT_EQ(c.send(3000, 4), 3000);
  ASSERT_EQ(c.out_track().size(), 3u);
  const uint32_t ssthresh = info(c.fd).tcpi_snd_ssthresh;
  ASSERT_LT(ssthresh, 0x7fffffffu);
  std::vector<SentTcp> probe;
  ASSERT_TRUE(advance_until_sent(h, 1s, probe));
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].seq, base + 12000);
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  c.sack(base + 13000, {{base + 12000, base + 13000}});
  EXPECT_EQ(h.shard().stats.tcp_dsack_recv, 3u);
  EXPECT_EQ(h.shard().stats.tcp_undo, 0u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, ssthresh);
  // And a segment the network duplicated (D-SACKed, never resent by us) undoes nothing either.
  ASSERT_EQ(c.send(1000, 5), 1000);
  ASSERT_EQ(c.out_track().size(), 1u);
  c.ack(base + 14000);
  c.sack(base + 14000, {{base + 13000, base + 14000}});
  c.sack(base + 14000, {{base + 13000, base + 14000}});
  EXPECT_EQ(h.shard().stats.tcp_undo, 0u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, ssthresh);
  skiff_close(c.fd);
}

TEST(TcpSack, TailLossProbeThatRetransmitsIsNotTimed) {
  // Karn's rule for the probe (RFC 8985 §7.3 sends the last segment again): a lone 100-byte segment is
  // lost, the probe resends it at the PTO (200 ms: 2 * SRTT + 200 ms, capped at the RTO), and its ACK 10 ms
  // later says nothing about the original's round trip. Regression: the original's timing went on, and
  // SRTT took a 210 ms sample.
  StackHarness h;
  OpenOpts o;
  o.sack = true;
  o.rtt = 10ms;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(info(c.fd).tcpi_rtt, 10000u);
  const uint32_t base = c.iss + 1;
  ASSERT_EQ(c.send(100, 3), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 1s, got);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 200ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base);
  EXPECT_EQ(got[0].payload, pattern(100, 3));
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  h.advance(10ms);
  c.ack(base + 100);
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 10000u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  skiff_close(c.fd);
}

// RFC 2018 §8: a receiver may discard data it SACKed (Linux prunes its out-of-order queue under memory
// pressure). Here the third of ten segments is lost, 4-10 are SACKed, the retransmission of 3 arrives and the
// peer, having dropped 4-10, acknowledges only up to 3. Segment 4, still marked SACKed at the head, would be
// resent by nothing (RACK and recovery pass over SACKed data; the RTO found nothing to send and the
// connection died after its retries). Now the head found SACKed brings the timeout forward to half an RTT
// (at least 10 ms), which clears the marks and resends from the head (Linux's tcp_check_sack_reneging and
// tcp_timeout_mark_lost).
TEST(TcpSack, ReceiverThatRenegesOnItsSacksGetsTheDataAgain) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  const Bytes all = send_flight(c, 10000);
  h.advance(20ms);
  c.ack(base + 2000);
  c.sack(base + 2000, {{base + 3000, base + 10000}});
  auto got = c.out();
  ASSERT_EQ(got.size(), 1u);  // RACK: 3 is lost
  EXPECT_EQ(got[0].seq, base + 2000);
  EXPECT_EQ(info(c.fd).tcpi_sacked, 7u);
  h.advance(20ms);
  c.ack(base + 3000);  // reneged: 4-10 are gone at the peer
  EXPECT_TRUE(c.out().empty());
  h.advance(9ms);
  EXPECT_TRUE(c.out().empty());
  h.advance(2ms);  // max(SRTT / 2, 10 ms) after the ACK
  got = c.out();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].seq, base + 3000);  // the head again, though it was SACKed
  EXPECT_EQ(got[0].payload, slice(all, 3000, kMss));
  EXPECT_EQ(h.shard().stats.tcp_sack_reneging, 1u);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_sacked, 0u);
  EXPECT_EQ(ti.tcpi_ca_state, 4u);  // Loss
  // The rest follows as the window opens: every byte arrives and is acknowledged.
  uint32_t next = base + 3000;
  for (int round = 0; round < 20 && next != base + 10000; ++round) {
    for (const auto& t : got) {
      if (t.seq == next) next += static_cast<uint32_t>(t.payload.size());
    }
    c.ack(next);
    got = c.out();
  }
  EXPECT_EQ(next, base + 10000);
  EXPECT_EQ(info(c.fd).tcpi_unacked, 0u);
  skiff_close(c.fd);
}

// One tail loss probe per flight (RFC 8985 §7.4 tracks one TLP.end_seq; Linux since 5.9): an ACK below the
// probe's end does not allow another probe; the retransmission timer covers the rest. Before, the partial
// ACK re-armed the probe timer and a second probe went (overwriting what the first left to learn).
TEST(TcpSack, OneTailLossProbePerFlight) {
  StackHarness h;
  Conn c = sack_conn(h);
  const uint32_t base = c.iss + 1;
  send_flight(c, 5000);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 1s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 4000);  // the probe: the last segment again
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  c.ack(base + 2000);  // part of the flight, below the probe's end
  EXPECT_TRUE(c.out().empty());
  auto t = advance_until_sent(h, 2s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 150ms);  // the RTO, not a probe timeout (40 ms)
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].seq, base + 2000);
  EXPECT_EQ(h.shard().stats.tcp_tlp_probes, 1u);
  skiff_close(c.fd);
}
