// Congestion window: the initial window (RFC 6928), growth only while the window is used (RFC 7661, as
// Linux's tcp_is_cwnd_limited), decay after application-limited stretches and restart after idle (RFC
// 2861 §3 / RFC 5681 §4.1, as Linux), and choosing the algorithm with TCP_CONGESTION.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

int set_cc(int fd, const char* name) {
  return skiff_setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, static_cast<socklen_t>(strlen(name)));
}

std::string get_cc(int fd) {
  char name[16] = {};
  socklen_t len = sizeof name;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
  return std::string(name, strnlen(name, sizeof name));
}

// A connection with a 20 ms handshake (RTO 200 ms) whose cwnd was grown to `segs` segments by a
// cwnd-limited transfer acknowledged segment by segment, then to 2 * segs by one cumulative ACK for the
// `segs` segments still in flight; everything acknowledged.
Conn grown(StackHarness& h, uint32_t segs) {
  OpenOpts o;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  // Slow start: every acknowledged segment adds one while the window is full.
  const uint32_t total = 1000 * (10 + 2 * (segs - 10));
  EXPECT_EQ(c.send(total), static_cast<ssize_t>(total));
  for (uint32_t acked = 0; acked < segs - 10;) {
    auto out = c.out_track();
    EXPECT_FALSE(out.empty());
    for (const auto& t : out) {
      if (acked == segs - 10) break;
      c.ack(t.seq + static_cast<uint32_t>(t.payload.size()));
      ++acked;
    }
  }
  c.out_track();
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, segs);
  // Then one cumulative ACK for the rest: slow start counts every byte it acknowledges (a stretch ACK
  // grows cwnd as the per-segment ACKs it replaces would have, as in Linux).
  EXPECT_EQ(info(c.fd).tcpi_unacked, segs);
  c.ack();
  EXPECT_TRUE(c.out_track().empty());
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 2 * segs);
  return c;
}

// Rounds of a bulk transfer `rtt` apart: every segment in flight is acknowledged, two per ACK, an RTT
// after it left, and what those ACKs let out is the next round. With `topup`, 64 KB more is queued each
// round so that the window, not the application, limits sending; without, the queue drains. `flight` is
// what is in flight before and after. Returns cwnd (segments) after the last round.
uint32_t rounds(StackHarness& h, Conn& c, std::vector<SentTcp>& flight, int n, Duration rtt, bool topup = true) {
  for (const auto& t : c.out_track()) flight.push_back(t);
  for (int r = 0; r < n && !flight.empty(); ++r) {
    if (topup) c.send(64000);
    h.advance(rtt);
    std::vector<SentTcp> next;
    for (size_t i = 0; i < flight.size(); ++i) {
      if (i % 2 == 0 && i + 1 < flight.size()) continue;
      c.ack(flight[i].seq + static_cast<uint32_t>(flight[i].payload.size()));
      for (const auto& t : c.out_track()) next.push_back(t);
    }
    flight = std::move(next);
  }
  return info(c.fd).tcpi_snd_cwnd;
}

// A retransmission timeout with everything in flight, then one ACK for all of it: slow start from one
// segment up to the new ssthresh (beta * flight), the rest of the ACK in congestion avoidance. Returns
// ssthresh in segments.
uint32_t timeout_then_ack_all(StackHarness& h, Conn& c) {
  std::vector<SentTcp> got;
  EXPECT_TRUE(advance_until_sent(h, 5s, got));  // the RTO's retransmission of the head
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 4u);
  c.ack();
  return info(c.fd).tcpi_snd_ssthresh;
}

}  // namespace

// RFC 9438 §5.8: CUBIC's clock leaves out the time a connection sat idle (Linux moves epoch_start on by it
// when sending starts again). Without that, 30 s of idle put the curve's target thousands of segments up,
// and each ACK after the restart grew the window by half of it: the window leapt to many times what the
// path took before. The window after the restart grows as it did before the idle time.
TEST(TcpCongestion, CubicLeavesIdleTimeOutOfItsCurve) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 100ms;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(c.send(10000), 10000);
  ASSERT_EQ(c.out_track().size(), 10u);
  ASSERT_EQ(timeout_then_ack_all(h, c), 7u);  // 0.7 * 10
  std::vector<SentTcp> flight;
  const uint32_t ca = rounds(h, c, flight, 10, 100ms);  // a second in congestion avoidance
  const uint32_t before = rounds(h, c, flight, 20, 100ms, false);  // drained: all acknowledged, nothing queued
  ASSERT_EQ(info(c.fd).tcpi_unacked, 0u);
  ASSERT_GE(before, ca);
  h.advance(30s);
  ASSERT_GT(c.send(64000), 0);  // restart (RFC 2861: the window falls to the initial one at most), then growth
  const uint32_t after = rounds(h, c, flight, 3, 100ms);
  EXPECT_LE(after, before + 3) << before;
  EXPECT_GE(after, std::min(before, 10u)) << before;
  skiff_close(c.fd);
}

// RFC 9438 §4.8: after a timeout CUBIC starts over (K = 0, W_max the window it starts from; Linux's
// cubictcp_state resets on entering Loss), growing slowly from the new ssthresh, instead of racing back
// along the concave curve towards the window that timed out. RTT 200 ms: five rounds are a second.
TEST(TcpCongestion, CubicStartsOverAfterATimeout) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 200ms;
  o.wscale = 7;  // (the peer's window holds more than 64 KB)
  Conn c = accept_conn(h, o);
  ASSERT_GT(c.send(64000), 0);
  std::vector<SentTcp> flight;
  uint32_t cwnd = 0;
  for (int r = 0; r < 8 && cwnd < 100; ++r) cwnd = rounds(h, c, flight, 1, 200ms);
  ASSERT_GE(cwnd, 100u);  // slow start
  const uint32_t ssthresh = timeout_then_ack_all(h, c);
  ASSERT_GE(ssthresh, 60u);
  flight.clear();
  const uint32_t after = rounds(h, c, flight, 5, 200ms);
  // Linux's CUBIC here: with W_max gone, 5 % a round trip for a window in use (bictcp_update's cnt <= 20
  // while last_max_cwnd is 0; the curve from K = 0 adds under one segment in a second); these rounds, topped
  // up by 64 KB each, use part of it: 112 -> 127. Resumed
  // from the old W_max (160), the concave curve would climb ~23 segments in this second, and without the 5 %
  // floor the window would stay within a few segments of ssthresh.
  EXPECT_LE(after, ssthresh + 18) << ssthresh;
  EXPECT_GE(after, ssthresh + 8) << ssthresh;
  skiff_close(c.fd);
}

// Counted in segments whatever their size, as Linux's tcp_init_cwnd (RFC 6928's 14,600-byte cap would
// give a jumbo-frame connection two segments, and make init-cwnd above 10 do nothing).
TEST(TcpCongestion, InitialWindowIsTenSegmentsOfAnySize) {
  {
    HarnessOptions ho;
    ho.mtu = 9000;
    StackHarness h(ho);
    OpenOpts o;
    o.mss = 8960;
    o.wscale = 7;
    Conn c = accept_conn(h, o);
    ASSERT_EQ(c.send(200000), 200000);
    c.out_track();
    const tcp_info ti = info(c.fd);
    ASSERT_EQ(ti.tcpi_snd_mss, 8960u);
    EXPECT_EQ(ti.tcpi_snd_cwnd, 10u);  // (RFC 6928's cap: 2)
    skiff_close(c.fd);
  }
  {
    HarnessOptions ho;
    ho.cfg.tcp.init_cwnd_segs = 20;  // [tcp] init-cwnd
    StackHarness h(ho);
    Conn c = accept_conn(h);
    ASSERT_EQ(c.send(30000), 30000);
    EXPECT_EQ(c.out_track().size(), 20u);
    EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 20u);
    skiff_close(c.fd);
  }
}

TEST(TcpCongestion, InitialWindowIsTenSegments) {
  for (const uint16_t mss : {536, 1000, 1460}) {
    StackHarness h;
    OpenOpts o;
    o.mss = mss;
    Conn c = accept_conn(h, o);
    ASSERT_EQ(c.send(30000), 30000);
    auto out = c.out_track();
    size_t bytes = 0;
    for (const auto& t : out) bytes += t.payload.size();
    EXPECT_EQ(out.size(), 10u) << mss;
    EXPECT_EQ(bytes, 10u * mss) << mss;
    EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 10u);
    skiff_close(c.fd);
  }
}

TEST(TcpCongestion, ApplicationLimitedSenderDoesNotGrowTheWindow) {
  // One segment per round trip never fills a 10-segment window: its ACKs do not validate a larger one
  // (RFC 7661 §4.2; without this cwnd would reach 40 segments here, all of them unused).
  StackHarness h;
  OpenOpts o;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(c.send(1000), 1000);
    ASSERT_EQ(c.out_track().size(), 1u);
    h.advance(20ms);
    c.ack();
  }
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 10u);
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 0x7fffffffu);
  // The window grows again as soon as it is filled.
  ASSERT_EQ(c.send(20000), 20000);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 10u);
  c.ack(out[0].seq + 1000);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 11u);
  skiff_close(c.fd);
}

TEST(TcpCongestion, CwndLimitedSenderGrowsInSlowStart) {
  StackHarness h;
  Conn c = grown(h, 30);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 60u);  // the final cumulative ACK of 30 segments: + 30
  skiff_close(c.fd);
}

TEST(TcpCongestion, RestartAfterIdleHalvesPerRtoDownToTheInitialWindow) {
  for (const auto& [idle, want] : {std::pair{100ms, 40u}, std::pair{250ms, 20u}, std::pair{450ms, 10u}, std::pair{5000ms, 10u}}) {
    StackHarness h;
    Conn c = grown(h, 20);  // 40 after the final ACK
    ASSERT_EQ(info(c.fd).tcpi_snd_cwnd, 40u);
    ASSERT_EQ(info(c.fd).tcpi_rto, 200000u);
    h.advance(idle);
    ASSERT_EQ(c.send(60000), 60000);
    EXPECT_EQ(c.out_track().size(), want) << idle.count();
    EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, want) << idle.count();
    skiff_close(c.fd);
  }
}

TEST(TcpCongestion, ApplicationLimitedWindowDecaysTowardsWhatWasUsed) {
  // cwnd 40, then the application sends 2 segments every 50 ms: after an RTO (200 ms) of that, cwnd
  // moves halfway to what was used (at least the initial window): (40 + 10) / 2 = 25 (RFC 2861 §3).
  StackHarness h;
  Conn c = grown(h, 20);
  ASSERT_EQ(info(c.fd).tcpi_snd_cwnd, 40u);
  for (int i = 0; i < 5; ++i) {
    h.advance(50ms);
    ASSERT_EQ(c.send(2000), 2000);
    EXPECT_EQ(c.out_track().size(), 2u);
    c.ack();
  }
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 25u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  skiff_close(c.fd);
}

TEST(TcpCongestion, CongestionControlIsChosenPerSocket) {
  StackHarness h;
  Conn c = accept_conn(h);
  EXPECT_EQ(get_cc(c.fd), "cubic");  // the default
  ASSERT_EQ(set_cc(c.fd, "reno"), 0);
  EXPECT_EQ(get_cc(c.fd), "reno");
  ASSERT_EQ(set_cc(c.fd, "newreno"), 0);  // an alias
  EXPECT_EQ(get_cc(c.fd), "reno");
  // Unknown names fail with ENOENT, as Linux, and change nothing.
  for (const char* bad : {"bbr", "cubicx", "cub", "vegas"}) {
    EXPECT_EQ(set_cc(c.fd, bad), -1) << bad;
    EXPECT_EQ(errno, ENOENT) << bad;
  }
  EXPECT_EQ(get_cc(c.fd), "reno");
  // A name with its NUL inside optlen, as C callers pass it.
  ASSERT_EQ(skiff_setsockopt(c.fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 6), 0);
  EXPECT_EQ(get_cc(c.fd), "cubic");
  EXPECT_EQ(skiff_setsockopt(c.fd, IPPROTO_TCP, TCP_CONGESTION, "", 0), -1);
  EXPECT_EQ(errno, EINVAL);
  skiff_close(c.fd);
  skiff_close(c.lfd);
}

TEST(TcpCongestion, AcceptedConnectionsInheritTheListenersChoice) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  ASSERT_EQ(set_cc(l, "reno"), 0);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1001, .ack = out[0].seq + 1, .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(get_cc(fd), "reno");
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpCongestion, SwitchingMidConnectionChangesTheNextReduction) {
  // Three duplicate ACKs with 5 segments in flight: reno halves (2500 → 2 segments), cubic keeps 0.7
  // (3500 → 3 segments).
  for (const auto& [cc, want] : {std::pair{"reno", 2u}, std::pair{"cubic", 3u}}) {
    StackHarness h;
    Conn c = accept_conn(h);
    ASSERT_EQ(set_cc(c.fd, cc == std::string("reno") ? "cubic" : "reno"), 0);
    ASSERT_EQ(c.send(5000), 5000);
    ASSERT_EQ(c.out_track().size(), 5u);
    ASSERT_EQ(set_cc(c.fd, cc), 0);  // switched with data in flight
    for (int i = 0; i < 3; ++i) c.ack(c.iss + 1);
    ASSERT_EQ(c.out().size(), 1u);
    EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, want) << cc;
    skiff_close(c.fd);
  }
}

// A device whose queue is full holds TCP back (backpressure) rather than dropping what TCP hands it: no
// TxFull drops, no retransmission; what was held leaves on the next ACK.
TEST(TcpCongestion, FullDeviceQueueHoldsSegmentsBackInsteadOfDroppingThem) {
  StackHarness h;
  Conn c = grown(h, 40);  // cwnd 80 segments; the peer's window takes 65
  h.dev().tx_room = 0;    // the device takes nothing for now
  ASSERT_EQ(c.send(65'000), 65'000);
  EXPECT_EQ(h.drops(Drop::TxFull), 0u);
  EXPECT_EQ(h.shard().stats.tcp_tx_backpressure, 1u);
  EXPECT_EQ(info(c.fd).tcpi_unacked, static_cast<uint32_t>(kTxBatch));  // the batch's worth went out
  h.dev().tx_room = UINT16_MAX;
  auto out = c.out_track();
  ASSERT_EQ(out.size(), static_cast<size_t>(kTxBatch));
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 65u - kTxBatch);  // the rest, on the ACK
  c.ack();
  EXPECT_EQ(info(c.fd).tcpi_unacked, 0u);
  EXPECT_EQ(info(c.fd).tcpi_total_retrans, 0u);
  EXPECT_EQ(h.drops(Drop::TxFull), 0u);
  skiff_close(c.fd);
}

// ...but a connection with nothing in flight has no ACK coming to bring it back: it sends regardless (a
// frame the full queue drops is resent by its RTO), or it would wait for good.
TEST(TcpCongestion, ConnectionWithNothingInFlightIsNotHeldBackByAFullQueue) {
  StackHarness h;
  Conn c = accept_conn(h);
  h.dev().tx_room = 0;
  const Bytes ping = pattern(8);
  for (uint16_t i = 0; i < kTxBatch; ++i)
    ASSERT_EQ(icmp_send_echo(h.shard(), StackHarness::kPeerIp, 1, i, ping.data(), 8), 0);  // the batch is full
  ASSERT_EQ(c.send(100), 100);
  EXPECT_EQ(h.shard().stats.tcp_tx_backpressure, 0u);
  h.dev().tx_room = UINT16_MAX;
  (void)h.sent();  // the echo requests leave
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 3s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, pattern(100, 1));
  skiff_close(c.fd);
}

// ---- HyStart (CUBIC's, as Linux's tcp_cubic.c: hystart_detect = 3, low window 16, ack delta 2 ms) ----

namespace {

// A connection with a 20 ms handshake, grown by two rounds of slow start at 20 ms to 40 segments.
Conn slow_started(StackHarness& h, std::vector<SentTcp>& flight) {
  OpenOpts o;
  o.rtt = 20ms;
  o.wscale = 7;
  Conn c = accept_conn(h, o);
  EXPECT_GT(c.send(64000), 0);
  EXPECT_EQ(rounds(h, c, flight, 2, 20ms), 40u);
  return c;
}

}  // namespace

// A round whose least RTT (over at least 8 samples) is above the minimum by an eighth of it, at least 4 ms,
// ends slow start at the window it reached: a queue is building at the bottleneck, and doubling again would
// overfill it. 3 ms more is noise; so is anything with HyStart off ([tcp] hystart = 0).
TEST(TcpCongestion, HyStartEndsSlowStartWhenTheRoundTripGrows) {
  struct Case {
    Duration rtt;
    unsigned hystart;
    bool ends;
  };
  for (const Case& k : {Case{20ms, 3, false}, Case{23ms, 3, false}, Case{26ms, 3, true}, Case{26ms, 0, false},
                        Case{26ms, 1, false}}) {
    HarnessOptions ho;
    ho.cfg.tcp.hystart = k.hystart;
    StackHarness h(ho);
    std::vector<SentTcp> flight;
    Conn c = slow_started(h, flight);
    const uint32_t cwnd = rounds(h, c, flight, 1, k.rtt);
    const tcp_info ti = info(c.fd);
    const auto& st = h.shard().stats;
    EXPECT_EQ(st.tcp_hystart_train_detect, 0u);
    if (!k.ends) {
      EXPECT_EQ(cwnd, 80u) << k.rtt.count() << " " << k.hystart;  // doubled
      EXPECT_EQ(st.tcp_hystart_delay_detect, 0u);
    } else {
      EXPECT_EQ(st.tcp_hystart_delay_detect, 1u);
      // Ended within the round, once 8 samples were in: at the window reached then, and growing from there
      // as congestion avoidance does.
      EXPECT_GE(ti.tcpi_snd_ssthresh, 40u);
      EXPECT_LT(ti.tcpi_snd_ssthresh, 60u);
      EXPECT_EQ(st.tcp_hystart_delay_cwnd, ti.tcpi_snd_ssthresh);
      EXPECT_GE(cwnd, ti.tcpi_snd_ssthresh);
      EXPECT_LT(cwnd, ti.tcpi_snd_ssthresh + 3);
      // With no W_max to aim at, CUBIC grows the window 5 % a round (Linux's bictcp_update), not by the
      // fraction of a segment its flat curve would give.
      const uint32_t after = rounds(h, c, flight, 5, 20ms);
      EXPECT_GE(after, cwnd * 5 / 4) << cwnd;
      EXPECT_LE(after, cwnd * 3 / 2) << cwnd;
      EXPECT_EQ(st.tcp_hystart_delay_detect, 1u);  // once per slow start
    }
    skiff_close(c.fd);
  }
}

// ACKs of one round coming back to back (none more than 2 ms after the last) for longer than half the
// minimum RTT mean the window already fills the path: slow start ends then. ACKs 3 ms apart are no train.
TEST(TcpCongestion, HyStartEndsSlowStartOnAnAckTrain) {
  for (Duration gap : {1ms, 3ms}) {
    StackHarness h;
    std::vector<SentTcp> flight;
    Conn c = slow_started(h, flight);
    c.send(64000);
    h.advance(20ms);
    // The round's 40 segments, each acknowledged on its own, `gap` apart.
    uint32_t cwnd_at_train = 0;
    for (size_t i = 0; i < flight.size(); ++i) {
      if (i) h.advance(gap);
      c.ack(flight[i].seq + static_cast<uint32_t>(flight[i].payload.size()));
      c.out_track();
      if (!cwnd_at_train && h.shard().stats.tcp_hystart_train_detect) cwnd_at_train = info(c.fd).tcpi_snd_cwnd;
    }
    const auto& st = h.shard().stats;
    const tcp_info ti = info(c.fd);
    EXPECT_EQ(st.tcp_hystart_delay_detect, 0u) << gap.count();  // the least RTT of the round is 20 ms
    if (gap == 1ms) {
      EXPECT_EQ(st.tcp_hystart_train_detect, 1u);
      // The round starts at its first ACK; found once the train spans (20 ms + 1 ms) / 2 = 10.5 ms: at the
      // 12th ACK, 11 ms in, after the 11 before it grew the window to 51 (this one grows it no more).
      EXPECT_EQ(cwnd_at_train, 51u);
      EXPECT_EQ(ti.tcpi_snd_ssthresh, 51u);
      EXPECT_LT(ti.tcpi_snd_cwnd, 60u);
    } else {
      EXPECT_EQ(st.tcp_hystart_train_detect, 0u);
      EXPECT_EQ(ti.tcpi_snd_cwnd, 80u);
    }
    skiff_close(c.fd);
  }
}

// Below 16 segments HyStart does not look (Linux's hystart_low_window), and NewReno has none.
TEST(TcpCongestion, HyStartLeavesSmallWindowsAndNewRenoAlone) {
  {
    StackHarness h;
    OpenOpts o;
    o.rtt = 20ms;
    Conn c = accept_conn(h, o);
    ASSERT_GT(c.send(64000), 0);
    std::vector<SentTcp> flight;
    EXPECT_EQ(rounds(h, c, flight, 1, 40ms), 20u);  // twice the RTT, at 10 segments: slow start goes on
    EXPECT_EQ(h.shard().stats.tcp_hystart_delay_detect, 0u);
    skiff_close(c.fd);
  }
  StackHarness h;
  OpenOpts o;
  o.rtt = 20ms;
  o.wscale = 7;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(set_cc(c.fd, "reno"), 0);
  ASSERT_GT(c.send(64000), 0);
  std::vector<SentTcp> flight;
  EXPECT_EQ(rounds(h, c, flight, 2, 20ms), 40u);
  EXPECT_EQ(rounds(h, c, flight, 1, 40ms), 80u);
  EXPECT_EQ(h.shard().stats.tcp_hystart_delay_detect, 0u);
  skiff_close(c.fd);
}

// An application's pause between two responses is no ACK train. Responses of a whole window, each
// acknowledged at once 100 µs after it left, the next one written 1 ms later: every round starts at the ACK
// that ends the one before (with SND.UNA already moved, as Linux since 5.16), so slow start goes on.
// Regression: the round was reset one ACK late, so the pause counted as 1.1 ms of train, well past half the
// 100 µs minimum RTT, and slow start ended at 20 segments.
TEST(TcpCongestion, HyStartDoesNotTakeAPauseBetweenResponsesForATrain) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 100us;
  o.wscale = 7;
  Conn c = accept_conn(h, o);
  uint32_t segs = 10;
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(c.send(segs * 1000), static_cast<ssize_t>(segs * 1000));
    auto out = c.out_track();
    ASSERT_EQ(out.size(), segs) << r;
    h.advance(100us);
    for (size_t i = 1; i < out.size(); i += 2) c.ack(out[i].seq + static_cast<uint32_t>(out[i].payload.size()));
    EXPECT_TRUE(c.out_track().empty());
    h.advance(1ms);
    segs *= 2;
  }
  EXPECT_EQ(h.shard().stats.tcp_hystart_train_detect, 0u);
  EXPECT_EQ(h.shard().stats.tcp_hystart_delay_detect, 0u);
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 160u);
  skiff_close(c.fd);
}

// The handshake's round trip is not the path's minimum for HyStart: its small segments queue behind
// nothing. Linux's CUBIC starts its minimum with the first data (cubictcp_init after the handshake); data
// rounds at a steady 25 ms after a 20 ms handshake keep doubling the window.
TEST(TcpCongestion, HyStartTakesItsMinimumFromDataNotTheHandshake) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 20ms;
  o.wscale = 7;
  Conn c = accept_conn(h, o);
  ASSERT_GT(c.send(64000), 0);
  std::vector<SentTcp> flight;
  EXPECT_EQ(rounds(h, c, flight, 3, 25ms), 80u);
  EXPECT_EQ(h.shard().stats.tcp_hystart_delay_detect, 0u);
  skiff_close(c.fd);
}
