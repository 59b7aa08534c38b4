// Retransmission (RFC 6298, RFC 5681, RFC 6582): RTO starts at 1 s; RTT samples set SRTT/RTTVAR/RTO;
// Karn's rule (no sample from a retransmitted segment, backed-off RTO kept); exponential backoff; abort with
// ETIMEDOUT after the retry limit or TCP_USER_TIMEOUT; fast retransmit on the third duplicate ACK; NewReno
// partial ACKs retransmit the next hole.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

int64_t ms_of(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// RFC 5681/6582 arithmetic: NewReno instead of the default CUBIC.
void use_reno(int fd) { ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0); }

}  // namespace

TEST(TcpRetransmission, InitialRtoIsOneSecondAndThreeAfterARetransmittedHandshake) {
  // RFC 6298 §2.1: before any RTT sample the RTO is 1 s (the SYN-ACK goes again after 1 s). §5.7: a
  // handshake that needed a retransmission gave no sample (Karn), so data starts with an RTO of 3 s.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  const uint32_t iss = out[0].seq;
  h.advance(998ms);
  EXPECT_TRUE(out_of(h).empty());
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 10ms, got);
  ASSERT_TRUE(t);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(got[0].seq, iss);
  h.advance(50ms);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1001, .ack = iss + 1, .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  tcp_info ti = info(fd);
  EXPECT_EQ(ti.tcpi_rtt, 0u);  // ambiguous: the first SYN-ACK or the second?
  EXPECT_EQ(ti.tcpi_rto, 3000000u);
  EXPECT_EQ(ti.tcpi_backoff, 0u);
  const Bytes d = pattern(100, 3);
  ASSERT_EQ(skiff_send(fd, d.data(), d.size(), MSG_DONTWAIT), 100);
  ASSERT_EQ(out_of(h).size(), 1u);
  h.advance(2998ms);
  EXPECT_TRUE(out_of(h).empty());
  t = advance_until_sent(h, 10ms, got);
  ASSERT_TRUE(t);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, iss + 1);
  EXPECT_EQ(got[0].payload, d);
  EXPECT_EQ(got[0].ack, 1001u);
  ti = info(fd);
  EXPECT_EQ(ti.tcpi_rto, 6000000u);
  EXPECT_EQ(ti.tcpi_backoff, 1u);
  EXPECT_EQ(ti.tcpi_retransmits, 1u);
  EXPECT_EQ(ti.tcpi_total_retrans, 2u);  // the SYN-ACK's included, as Linux
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 2u);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1001, .ack = iss + 101, .flags = tf::kAck}));
  EXPECT_EQ(info(fd).tcpi_retransmits, 0u);
  h.advance(10s);
  EXPECT_TRUE(out_of(h).empty());  // all acknowledged: the timer is off
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpRetransmission, PassiveOpenTakesItsFirstRttSampleFromTheHandshake) {
  // The SYN-ACK is timed; its ACK 80 ms later is the first sample (RFC 6298 §2.2), so the first data
  // segment's RTO is already SRTT + 4*RTTVAR = 240 ms, not the initial 1 s.
  StackHarness h;
  OpenOpts o;
  o.rtt = 80ms;
  Conn c = accept_conn(h, o);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 80000u);
  EXPECT_EQ(ti.tcpi_rttvar, 40000u);
  EXPECT_EQ(ti.tcpi_rto, 240000u);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 10u);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 2s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(ms_of(*t), 240);
  EXPECT_LE(ms_of(*t), 241);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, HandshakeSampleFromTimestampsDespiteARetransmittedSynAck) {
  // Karn's rule keeps the ambiguous ACK of a retransmitted SYN-ACK from timing it, but with timestamps the
  // echo names the SYN-ACK it answers (RFC 7323 §4): the second one, sent 1 s after the first, answered
  // 30 ms later.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  wire::TcpOptions so;
  so.mss = 1000;
  so.has_timestamp = true;
  so.ts_val = 500;
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1000, .flags = tf::kSyn, .opts = so}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  const uint32_t iss = out[0].seq;
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].opts.has_timestamp);
  h.advance(30ms);
  wire::TcpOptions ao;
  ao.has_timestamp = true;
  ao.ts_val = 501;
  ao.ts_ecr = got[0].opts.ts_val;
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1001, .ack = iss + 1, .flags = tf::kAck, .opts = ao}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  const tcp_info ti = info(fd);
  EXPECT_EQ(ti.tcpi_rtt, 30000u);
  EXPECT_EQ(ti.tcpi_rto, 200000u);  // 30 + 4*15 = 90 ms, raised to rto_min
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpRetransmission, RttSamplesSetSrttRttvarAndRto) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 100ms;  // the handshake gives the first sample
  Conn c = accept_conn(h, o);
  tcp_info ti = info(c.fd);
  // First sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR (RFC 6298 §2.2).
  EXPECT_EQ(ti.tcpi_rtt, 100000u);
  EXPECT_EQ(ti.tcpi_rttvar, 50000u);
  EXPECT_EQ(ti.tcpi_rto, 300000u);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  h.advance(60ms);
  c.ack();
  ti = info(c.fd);
  // RTTVAR = 3/4*50 + 1/4*|100-60| = 47.5 ms; SRTT = 7/8*100 + 1/8*60 = 95 ms (§2.3).
  EXPECT_EQ(ti.tcpi_rtt, 95000u);
  EXPECT_EQ(ti.tcpi_rttvar, 47500u);
  EXPECT_EQ(ti.tcpi_rto, 285000u);
  // The retransmission timer now runs with that RTO.
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 2s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(ms_of(*t), 285);
  EXPECT_LE(ms_of(*t), 287);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, RtoIsAtLeastRtoMin) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 1ms;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  h.advance(1ms);
  c.ack();
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 1000u);
  EXPECT_EQ(ti.tcpi_rto, 200000u);  // rto_min (Linux's 200 ms)
  skiff_close(c.fd);
}

TEST(TcpRetransmission, KarnNoSampleFromARetransmittedSegment) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 100ms;  // SRTT 100 ms, RTTVAR 50 ms, RTO 300 ms
  Conn c = accept_conn(h, o);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));
  h.advance(50ms);
  c.ack();  // ambiguous: for the original or the retransmission?
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 100000u);    // no sample taken
  EXPECT_EQ(ti.tcpi_rto, 600000u);    // the backed-off RTO stays until a valid sample
  // New data is timed again.
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  h.advance(100ms);
  c.ack();
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 100000u);
  EXPECT_EQ(ti.tcpi_rto, 250000u);  // 100 + 4 * (3/4 * 50) ms
  EXPECT_EQ(ti.tcpi_backoff, 0u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, ExponentialBackoff) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100, 8), 100);
  c.out_track();
  int64_t wait = info(c.fd).tcpi_rto / 1000;  // 200 ms: rto_min (the handshake's RTT is ~0 here)
  for (int i = 1; i <= 6; ++i) {
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 100s, got);
    ASSERT_TRUE(t);
    EXPECT_GE(ms_of(*t), wait) << i;
    EXPECT_LE(ms_of(*t), wait + 2) << i;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].seq, c.iss + 1);
    EXPECT_EQ(got[0].payload, pattern(100, 8));
    EXPECT_EQ(info(c.fd).tcpi_backoff, static_cast<uint8_t>(i));
    wait *= 2;
  }
  EXPECT_EQ(info(c.fd).tcpi_total_retrans, 6u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, AbortsWithEtimedoutAfterRetries) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  int retrans = 0;
  int64_t max_gap = 0, since = 0;
  for (int s = 0; s < 3000 && state_of(c.fd) == TCP_ESTABLISHED; ++s) {
    h.advance(1s);
    ++since;
    for (const auto& t : c.out()) {
      EXPECT_FALSE(t.has(tf::kRst));
      if (!t.payload.empty()) {
        ++retrans;
        max_gap = std::max(max_gap, since);
        since = 0;
      }
    }
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(retrans, 15);       // retries = 15 (Linux tcp_retries2)
  EXPECT_LE(max_gap, 121);      // the RTO is capped at rto_max (120 s)
  EXPECT_EQ(h.shard().stats.tcp_timeouts, 1u);
  ssize_t rc = 0;
  read_all(c.fd, &rc);
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_EQ(c.send(1), -1);
  EXPECT_EQ(errno, EPIPE);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, AbortsAfterUserTimeout) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000), 0);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  h.advance(2900ms);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  int retrans = 0;
  for (int i = 0; i < 100 && state_of(c.fd) == TCP_ESTABLISHED; ++i) {
    h.advance(100ms);
    retrans += static_cast<int>(c.out().size());
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  EXPECT_LT(retrans + 1, 15);  // long before the retry limit
  EXPECT_EQ(h.shard().stats.tcp_timeouts, 1u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, UserTimeoutAbortsOnTimeNotAtTheNextRto) {
  // RTOs at 0.2, 0.6, 1.4, 3.0 s after the data went out. TCP_USER_TIMEOUT counts from that first
  // transmission, and the retransmission timer is clamped to what is left of it (Linux's
  // tcp_clamp_rto_to_user_timeout), so the abort comes at the user timeout, not at the next RTO after it.
  for (const int64_t ut : {1000, 2500}) {
    StackHarness h;
    Conn c = accept_conn(h);
    ASSERT_EQ(info(c.fd).tcpi_rto, 200000u);
    ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(ut)), 0);
    ASSERT_EQ(c.send(100), 100);
    c.out_track();
    int64_t took = 0;
    int retrans = 0;
    while (state_of(c.fd) == TCP_ESTABLISHED && took < 20000) {
      h.advance(1ms);
      ++took;
      retrans += static_cast<int>(c.out().size());
    }
    EXPECT_EQ(state_of(c.fd), TCP_CLOSE) << ut;
    EXPECT_GE(took, ut);
    EXPECT_LE(took, ut + 1);
    EXPECT_EQ(retrans, ut == 1000 ? 2 : 3) << ut;
    EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
    skiff_close(c.fd);
  }
}

TEST(TcpRetransmission, UserTimeoutEndsZeroWindowProbingOnTime) {
  // Persist probes 0.2, 0.6, 1.4, 3.0 s after the window closed; the user timeout (2 s) counts from the
  // first, so the connection ends 2.2 s in, not at the 3.0 s probe.
  StackHarness h;
  OpenOpts o;
  o.wnd = 0;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 2000), 0);
  ASSERT_EQ(c.send(100), 100);
  int64_t took = 0;
  int probes = 0;
  while (state_of(c.fd) == TCP_ESTABLISHED && took < 20000) {
    h.advance(1ms);
    ++took;
    probes += static_cast<int>(c.out().size());
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_GE(took, 2200);
  EXPECT_LE(took, 2201);
  EXPECT_EQ(probes, 3);
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, FastRetransmitOnTheThirdDuplicateAck) {
  StackHarness h;
  Conn c = accept_conn(h);
  use_reno(c.fd);
  ASSERT_EQ(c.send(5000), 5000);
  ASSERT_EQ(c.out_track().size(), 5u);
  // Segment 1 is lost; segments 2..4 each trigger a duplicate ACK.
  for (int i = 1; i <= 2; ++i) {
    c.ack(c.iss + 1);
    EXPECT_TRUE(c.out().empty()) << i;
  }
  c.ack(c.iss + 1);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  const Bytes all = pattern(5000, 1);
  EXPECT_EQ(out[0].payload, Bytes(all.begin(), all.begin() + 1000));
  EXPECT_EQ(h.shard().stats.tcp_fast_retrans, 1u);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 3u);       // TCP_CA_Recovery
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 2u);   // max(FlightSize / 2, 2*SMSS) = 2500 bytes
  EXPECT_EQ(ti.tcpi_snd_cwnd, 5u);       // ssthresh + 3*SMSS = 5500 bytes
  EXPECT_EQ(ti.tcpi_total_retrans, 1u);
  // A fourth duplicate inflates cwnd but has nothing new to send; the RTO did not fire.
  c.ack(c.iss + 1);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  // The full ACK ends recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 §3.2 (3)).
  c.ack();
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 2u);
  skiff_close(c.fd);
}

// RFC 3042 (Limited Transmit): without SACK, the first and second duplicate ACK each send one segment of new
// data beyond the congestion window (cwnd + 2 segments at most), keeping the ACK clock going so a small window
// still gathers its three duplicates. The extra segments do not count in the reduction (RFC 5681 §3.2 step 2).
TEST(TcpRetransmission, LimitedTransmitSendsNewDataOnTheFirstTwoDuplicates) {
  StackHarness h;
  Conn c = accept_conn(h);
  use_reno(c.fd);
  ASSERT_EQ(c.send(15000), 15000);
  ASSERT_EQ(c.out_track().size(), 10u);  // the initial window, 10 segments of 1,000
  const Bytes all = pattern(15000, 1);
  for (int i = 1; i <= 2; ++i) {
    c.ack(c.iss + 1);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u) << "duplicate " << i;
    const uint32_t off = static_cast<uint32_t>(9 + i) * 1000;
    EXPECT_EQ(out[0].seq, c.iss + 1 + off) << i;
    EXPECT_EQ(out[0].payload, Bytes(all.begin() + off, all.begin() + off + 1000)) << i;
  }
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 10u);  // cwnd itself is unchanged
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(ti.tcpi_total_retrans, 0u);
  // The third: fast retransmit of the head, and ssthresh from the window, not the 12 segments in flight.
  c.ack(c.iss + 1);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 3u);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 5u);  // min(FlightSize, cwnd) / 2
  EXPECT_EQ(ti.tcpi_snd_cwnd, 8u);      // ssthresh + 3*SMSS: no room for more while 12 are in flight
  EXPECT_EQ(h.shard().stats.tcp_fast_retrans, 1u);
  c.ack();
  skiff_close(c.fd);
}

// Limited Transmit sends new data only: with nothing unsent, a duplicate ACK sends nothing (no early
// retransmission), and the window of the peer still bounds it.
TEST(TcpRetransmission, LimitedTransmitNeedsNewDataAndTheWindow) {
  StackHarness h;
  OpenOpts o;
  o.wnd = 10000;  // exactly the initial window
  Conn c = accept_conn(h, o);
  use_reno(c.fd);
  ASSERT_EQ(c.send(12000), 12000);
  ASSERT_EQ(c.out_track().size(), 10u);
  for (int i = 0; i < 2; ++i) c.ack(c.iss + 1);
  EXPECT_TRUE(c.out().empty());  // the peer's window is full: nothing may go
  c.ack(c.iss + 1);
  EXPECT_EQ(c.out().size(), 1u);  // the third duplicate: fast retransmit
  skiff_close(c.fd);
}

TEST(TcpRetransmission, CubicFastRetransmitReducesToSevenTenths) {
  StackHarness h;
  Conn c = accept_conn(h);
  char name[16] = {};
  socklen_t nl = sizeof name;
  ASSERT_EQ(skiff_getsockopt(c.fd, IPPROTO_TCP, TCP_CONGESTION, name, &nl), 0);
  EXPECT_STREQ(name, "cubic");  // the default
  ASSERT_EQ(c.send(5000), 5000);
  ASSERT_EQ(c.out_track().size(), 5u);
  for (int i = 0; i < 3; ++i) c.ack(c.iss + 1);
  ASSERT_EQ(c.out().size(), 1u);
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 3u);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 3u);  // RFC 9438 §4.6: FlightSize * 0.7 = 3500 bytes
  EXPECT_EQ(ti.tcpi_snd_cwnd, 6u);      // ssthresh + 3*SMSS
  skiff_close(c.fd);
}

TEST(TcpRetransmission, NoFastRetransmitForDuplicatesWithDataOrNewWindow) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(5000), 5000);
  ASSERT_EQ(c.out_track().size(), 5u);
  // RFC 5681 §2: a duplicate ACK carries no data and does not change the window.
  for (int i = 0; i < 3; ++i) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
    s.ack = c.iss + 1;
    c.in(s);
    c.snd += 10;
  }
  for (uint16_t w : {60000, 60001, 60002}) {
    c.wnd = w;
    c.ack(c.iss + 1);
  }
  for (const auto& t : c.out()) EXPECT_TRUE(t.payload.empty());  // only ACKs of the peer's data
  EXPECT_EQ(h.shard().stats.tcp_fast_retrans, 0u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, NewRenoPartialAckRetransmitsTheNextHole) {
  StackHarness h;
  Conn c = accept_conn(h);
  use_reno(c.fd);
  ASSERT_EQ(c.send(5000), 5000);
  ASSERT_EQ(c.out_track().size(), 5u);
  // Segments 1 and 3 are lost.
  for (int i = 0; i < 3; ++i) c.ack(c.iss + 1);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  // The retransmitted 1 fills the first hole: the peer acknowledges up to 3 (a partial ACK).
  c.ack(c.iss + 2001);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 2001);
  EXPECT_EQ(out[0].payload.size(), 1000u);
  EXPECT_EQ(h.shard().stats.tcp_partial_acks, 1u);
  EXPECT_EQ(h.shard().stats.tcp_fast_retrans, 1u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);
  c.ack();
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  EXPECT_EQ(info(c.fd).tcpi_total_retrans, 2u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, RtoCollapsesCwndAndGoesBackN) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(3000), 3000);
  ASSERT_EQ(c.out_track().size(), 3u);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));
  ASSERT_EQ(got.size(), 1u);  // loss window: one segment (RFC 5681 §3.1)
  EXPECT_EQ(got[0].seq, c.iss + 1);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 1u);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 2u);  // max(3000 / 2, 2*SMSS)
  EXPECT_EQ(ti.tcpi_ca_state, 4u);      // TCP_CA_Loss
  // Its ACK opens cwnd to two segments: the rest is resent.
  c.ack(c.iss + 1001);
  auto out = c.out();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].seq, c.iss + 1001);
  EXPECT_EQ(out[1].seq, c.iss + 2001);
  c.ack();
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, RtoStartedAgainAfterEverythingWasAckedCountsFromTheNewSend) {
  // RFC 6298 §5.1/5.2: the timer stops when all data is acknowledged and starts afresh with the next send.
  // Skiff stops it lazily (the wheel entry of the first send stays armed, due at 200 ms): the second send's
  // retransmission must still wait a whole RTO from that send.
  StackHarness h;
  OpenOpts o;
  o.rtt = 20ms;  // SRTT 20 ms: RTO = rto_min, 200 ms
  Conn c = accept_conn(h, o);
  const uint32_t base = c.iss + 1;
  const Bytes d = pattern(200, 4);
  ASSERT_EQ(skiff_send(c.fd, d.data(), 100, MSG_DONTWAIT), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  h.advance(20ms);
  c.ack(base + 100);
  h.advance(150ms);
  ASSERT_EQ(skiff_send(c.fd, d.data() + 100, 100, MSG_DONTWAIT), 100);  // at 170 ms: due at 370 ms
  ASSERT_EQ(c.out_track().size(), 1u);
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 2s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(ms_of(*t), 200);  // not at 200 ms (30 ms in), when the first send's entry fired
  EXPECT_LE(ms_of(*t), 201);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base + 100);
  EXPECT_EQ(got[0].payload, Bytes(d.begin() + 100, d.end()));
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 1u);
  skiff_close(c.fd);
}

TEST(TcpRetransmission, RepeatedSynMakesTheSynAckARetransmissionForKarn) {
  // The peer lost our SYN-ACK and repeats its SYN 900 ms later; we send the SYN-ACK again, and its ACK comes
  // 10 ms after that. Which SYN-ACK does it answer? Karn: no sample from the sequence numbers (Linux's
  // tcp_synack_rtt_meas, once req->num_retrans is set), so no RTT without timestamps; with them the echo
  // names the second SYN-ACK: 10 ms. Regression: the first SYN-ACK's timing went on and gave 910 ms.
  for (const bool ts : {false, true}) {
    StackHarness h;
    h.learn_peer();
    const int l = listen_on();
    wire::TcpOptions so;
    so.mss = 1000;
    if (ts) {
      so.has_timestamp = true;
      so.ts_val = 500;
    }
    h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1000, .flags = tf::kSyn, .opts = so}));
    auto out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    const uint32_t iss = out[0].seq;
    h.advance(900ms);
    so.ts_val = 590;
    h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1000, .flags = tf::kSyn, .opts = so}));
    out = out_of(h);
    ASSERT_EQ(out.size(), 1u) << ts;
    EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
    EXPECT_EQ(out[0].seq, iss);
    h.advance(10ms);
    std::optional<wire::TcpOptions> ao;
    if (ts) {
      ao.emplace();
      ao->has_timestamp = true;
      ao->ts_val = 600;
      ao->ts_ecr = out[0].opts.ts_val;
    }
    h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1001, .ack = iss + 1, .flags = tf::kAck, .opts = ao}));
    const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    ASSERT_GE(fd, 0);
    const tcp_info ti = info(fd);
    EXPECT_EQ(ti.tcpi_rtt, ts ? 10000u : 0u) << ts;
    EXPECT_EQ(ti.tcpi_rto, ts ? 200000u : 3000000u) << ts;  // without a sample: RFC 6298 §5.7's 3 s
    EXPECT_EQ(ti.tcpi_total_retrans, 1u);
    skiff_close(fd);
    skiff_close(l);
  }
}

TEST(TcpRetransmission, FastRetransmitStillWorksAfterTwoGigabytesWithoutLoss) {
  // RFC 6582's gate (a third duplicate ACK starts fast retransmit only if SND.UNA passed `recover`)
  // compares sequence numbers, which only means something within 2^31 of each other. `recover` is the
  // ISS at the start and moves only on a loss; after 2 GiB without one it compared as ahead of SND.UNA and
  // fast retransmit was off (every loss waited for the RTO) for the next 2 GiB. Sending 2 GiB here would
  // take long: `recover` is put where 2 GiB of loss-free transfer less 1500 bytes leave it (the ACKs that
  // brought it there, each far shorter than 2^31, may have moved it since: they are processed as usual).
  StackHarness h;
  Conn c = accept_conn(h);
  use_reno(c.fd);
  int err = 0;
  TcpSock* tp = tcp_sk(h.shard().socks.fds.socket(c.fd, &err)->sk);
  ASSERT_EQ(tp->recover, tp->iss);
  tp->recover = tp->snd_una - (0x80000000u - 1500u);
  ASSERT_EQ(c.send(6000), 6000);
  ASSERT_EQ(c.out_track().size(), 6u);
  c.ack(c.iss + 1001);
  c.ack(c.iss + 2001);  // 2 GiB + 500 bytes since `recover`
  EXPECT_TRUE(c.out().empty());
  // Segment 3 is lost; 4, 5 and 6 each draw a duplicate ACK.
  for (int i = 1; i <= 3; ++i) c.ack(c.iss + 2001);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 2001);
  const Bytes all = pattern(6000, 1);
  EXPECT_EQ(out[0].payload, Bytes(all.begin() + 2000, all.begin() + 3000));
  EXPECT_EQ(h.shard().stats.tcp_fast_retrans, 1u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 3u);  // TCP_CA_Recovery
  c.ack();
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  skiff_close(c.fd);
}

// A go-back-N timeout (no SACK) rewinds SND.NXT to SND.UNA, below what the peer may already hold (here all
// of it: only its ACKs were lost). A bare ACK or RST then carries SND.MAX (as BSD; Linux never rewinds
// SND.NXT): at the rewound SND.NXT a receiver's acceptability test drops it as old, so our ACK of its data
// and our abort would both be lost on it.
TEST(TcpRetransmission, BareAckAndRstAfterGoBackNCarrySndMax) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(3000), 3000);
  ASSERT_EQ(c.out_track().size(), 3u);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));  // the RTO: the head again
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].seq, c.iss + 1);
  // The peer's data, its ACK field still at our SND.UNA (its later ACKs lost).
  c.in({.seq = c.snd, .ack = c.iss + 1, .flags = tf::kAck | tf::kPsh, .payload = pattern(10, 3)});
  c.snd += 10;
  h.advance(50ms);  // (the delayed ACK)
  got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kAck);
  EXPECT_EQ(got[0].seq, c.iss + 3001);
  EXPECT_EQ(got[0].ack, c.snd);
  EXPECT_EQ(read_all(c.fd), pattern(10, 3));
  const linger lg{1, 0};
  ASSERT_EQ(skiff_setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(skiff_close(c.fd), 0);
  got = c.out();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kRst | tf::kAck);
  EXPECT_EQ(got[0].seq, c.iss + 3001);
  skiff_close(c.lfd);
}
