// Zero windows (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): with the peer's window closed we send nothing but
// persist probes (<SEQ=SND.UNA-1>, no data) with exponential backoff, keep the connection open as long as
// the probes are answered, and resume when the window opens. Our own window closes when the application
// does not read and reopens (with a window update) when it does.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

int64_t ms_of(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

Conn zero_window_peer(StackHarness& h) {
  OpenOpts o;
  o.wnd = 0;
  return accept_conn(h, o);
}

}  // namespace

TEST(TcpZeroWindow, NothingSentThenProbesWithBackoffThenResumes) {
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(c.send(500, 4), 500);
  EXPECT_TRUE(c.out().empty());
  int64_t wait = info(c.fd).tcpi_rto / 1000;  // the first probe after one RTO
  for (int i = 1; i <= 4; ++i) {
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 100s, got);
    ASSERT_TRUE(t);
    EXPECT_GE(ms_of(*t), wait) << i;
    EXPECT_LE(ms_of(*t), wait + 2) << i;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags, tf::kAck);
    EXPECT_EQ(got[0].seq, c.iss);  // SND.UNA - 1: the peer must answer with an ACK
    EXPECT_EQ(got[0].ack, 1001u);
    EXPECT_TRUE(got[0].payload.empty());
    EXPECT_EQ(info(c.fd).tcpi_probes, static_cast<uint8_t>(i));
    wait *= 2;
  }
  EXPECT_EQ(h.shard().stats.tcp_window_probes, 4u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  // The window opens: the data goes at once.
  c.wnd = 65535;
  c.ack();
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].payload, pattern(500, 4));
  c.ack();
  h.advance(60s);
  EXPECT_TRUE(c.out().empty());  // no more probes
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, AnsweredProbesKeepTheConnectionOpen) {
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(c.send(500), 500);
  // The peer answers every probe, still with a zero window: we probe indefinitely (RFC 1122 §4.2.2.17),
  // backing off to at most rto_max.
  int probes = 0;
  int64_t since = 0, max_gap = 0;
  for (int s = 0; s < 4000 && probes < 25; ++s) {
    h.advance(1s);
    ++since;
    for (const auto& t : c.out()) {
      ASSERT_TRUE(t.payload.empty());
      ++probes;
      max_gap = std::max(max_gap, since);
      since = 0;
      c.ack();
    }
  }
  EXPECT_EQ(probes, 25);
  EXPECT_LE(max_gap, 121);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  c.wnd = 65535;
  c.ack();
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 500u);
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, UnansweredProbesAbort) {
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(c.send(500), 500);
  int probes = 0;
  for (int s = 0; s < 4000 && state_of(c.fd) == TCP_ESTABLISHED; ++s) {
    h.advance(1s);
    probes += static_cast<int>(c.out().size());
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(probes, 15);  // as Linux: tcp_retries2 unanswered probes
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, WindowSmallerThanTheSegmentStillMakesProgress) {
  // The peer's window never exceeds 300 bytes (max window seen = 300): a 300-byte piece of a 1000-byte
  // segment is at least Fs * max window (RFC 9293 §3.8.6.2.1), so it goes at once; the segment is split.
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(c.send(1000, 5), 1000);
  EXPECT_TRUE(c.out().empty());
  c.wnd = 300;
  Bytes got;
  for (int round = 0; round < 10 && got.size() < 1000; ++round) {
    c.ack();
    auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u) << round;
    EXPECT_EQ(out[0].seq, c.iss + 1 + got.size());
    EXPECT_EQ(out[0].payload.size(), std::min<size_t>(300, 1000 - got.size()));
    got.insert(got.end(), out[0].payload.begin(), out[0].payload.end());
    h.advance(10ms);
  }
  EXPECT_EQ(got, pattern(1000, 5));
  c.ack();
  h.advance(5s);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 0u);
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, SplitPieceIsRetransmittedAlone) {
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(c.send(1000, 6), 1000);
  c.wnd = 300;
  c.ack();
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].payload.size(), 300u);
  // Lost: the RTO resends exactly the 300-byte piece (the write queue holds it as a segment of its own).
  const int64_t rto = info(c.fd).tcpi_rto / 1000;
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 2s, got);
  ASSERT_TRUE(t);
  EXPECT_EQ(ms_of(*t), rto);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  const Bytes all = pattern(1000, 6);
  EXPECT_EQ(got[0].payload, Bytes(all.begin(), all.begin() + 300));
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 301);
  EXPECT_EQ(out[0].payload, Bytes(all.begin() + 300, all.begin() + 600));
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, SillyWindowWaitsForThePersistTimerThenSendsWhatFits) {
  // The peer offered 64 KB before; now only 300 bytes: less than min(MSS, max window / 2), so sender SWS
  // avoidance holds the 1000-byte segment (no tinygrams on a shrunken window) until the persist timer,
  // which sends the 300 bytes that fit (RFC 9293 §3.8.6.2.1, Linux tcp_write_wakeup).
  StackHarness h;
  Conn c = accept_conn(h);
  c.wnd = 300;
  c.ack();
  ASSERT_EQ(c.send(1000, 7), 1000);
  EXPECT_TRUE(c.out().empty());
  const int64_t rto = info(c.fd).tcpi_rto / 1000;
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 5s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(ms_of(*t), rto);  // the persist timer: one RTO
  EXPECT_LE(ms_of(*t), rto + 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  const Bytes all = pattern(1000, 7);
  EXPECT_EQ(got[0].payload, Bytes(all.begin(), all.begin() + 300));
  EXPECT_EQ(h.shard().stats.tcp_window_probes, 0u);  // data, not a bare probe
  // The rest follows the same way, 300 bytes per persist interval, until all of it is through.
  Bytes sent = got[0].payload;
  c.nxt = got[0].seq + static_cast<uint32_t>(got[0].payload.size());
  for (int i = 0; i < 10 && sent.size() < 1000; ++i) {
    c.ack();
    auto now = c.out_track();
    if (now.empty()) {
      ASSERT_TRUE(advance_until_sent(h, 5s, now));
      for (const auto& s : now) c.nxt = s.seq + static_cast<uint32_t>(s.payload.size());
    }
    ASSERT_EQ(now.size(), 1u);
    sent.insert(sent.end(), now[0].payload.begin(), now[0].payload.end());
  }
  EXPECT_EQ(sent, all);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, ZeroWindowProbeCarriesNoData) {
  // With the window exactly zero the probe is <SEQ=SND.UNA-1>, no data, as Linux's tcp_xmit_probe_skb:
  // once the window opens by even a byte, the next persist expiry sends data instead.
  StackHarness h;
  Conn c = accept_conn(h);  // the peer offered 64 KB once, then closes its window
  c.wnd = 0;
  c.ack();
  ASSERT_EQ(c.send(1000), 1000);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].payload.empty());
  EXPECT_EQ(got[0].seq, c.iss);
  c.wnd = 1;
  c.ack();
  EXPECT_TRUE(c.out().empty());  // 1 byte is below the SWS threshold: wait for the persist timer
  ASSERT_TRUE(advance_until_sent(h, 5s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  EXPECT_EQ(got[0].payload, pattern(1, 1));
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, OurWindowClosesAndReopensAfterReading) {
  StackHarness h;
  OpenOpts o;
  o.rcvbuf = 4096;  // 8192 bytes
  Conn c = connect_conn(h, o);
  for (int i = 1; i <= 8; ++i) {
    c.push(pattern(1024, static_cast<uint8_t>(i)));
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].wnd, 8192 - 1024 * i);
  }
  const uint32_t edge = c.snd;
  // The peer probes the closed window with one byte: not accepted, answered with the same ACK.
  c.in(c.seg(tf::kAck, pattern(1, 99)));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, edge);
  EXPECT_EQ(out[0].wnd, 0);
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 1u);
  // A probe with an old sequence number and no data gets the same answer.
  TcpSpec p = c.seg(tf::kAck);
  p.seq = edge - 1;
  c.in(p);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, edge);
  EXPECT_EQ(out[0].wnd, 0);
  // The application reads everything at once: one window update.
  Bytes buf(10000);
  EXPECT_EQ(skiff_recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT), 8192);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, edge);
  EXPECT_EQ(out[0].wnd, 8192);
  // Data is accepted again.
  c.push(pattern(1000, 7));
  h.advance(41ms);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, edge + 1000);
  EXPECT_EQ(read_all(c.fd), pattern(1000, 7));
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, FinWaitsForTheWindowWhileAnsweredProbesKeepTheConnection) {
  // shutdown(SHUT_WR) with the peer's window closed: the FIN needs a sequence number inside the window as
  // data does (Linux's tcp_snd_wnd_test), so it waits, and the persist timer probes for as long as the peer
  // answers (RFC 1122 §4.2.2.17); once the window opens the FIN goes. Regression: the FIN went into the zero
  // window, the peer (rightly) did not take it, and the retransmission timer resent it with backoff until
  // the connection aborted after 15 retransmissions, about 15 minutes, although the peer answered each one.
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT1);
  int probes = 0;
  for (int s = 0; s < 20 * 60; ++s) {
    h.advance(1s);
    for (const auto& t : c.out()) {
      ASSERT_FALSE(t.has(tf::kFin)) << s;
      EXPECT_TRUE(t.payload.empty());
      EXPECT_EQ(t.seq, c.iss);  // <SEQ=SND.UNA-1>: a zero-window probe
      ++probes;
      c.ack();  // answered, the window still closed
    }
  }
  EXPECT_GE(probes, 15);
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT1);
  EXPECT_EQ(so_error(c.fd), 0);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 0u);
  c.wnd = 1;
  c.ack();
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  c.ack();
  EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, FinAfterDataWaitsForRoomOfItsOwn) {
  // The window takes the data but not the FIN behind it: the data goes, the FIN waits for the window.
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(c.send(300, 2), 300);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  c.wnd = 300;
  c.ack();
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, pattern(300, 2));
  EXPECT_FALSE(out[0].has(tf::kFin));
  c.wnd = 0;
  c.ack();  // all acknowledged, no room: the persist timer probes
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].has(tf::kFin));
  EXPECT_EQ(got[0].seq, c.iss + 300);
  c.wnd = 100;
  c.ack();
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 301);
  skiff_close(c.fd);
}

TEST(TcpZeroWindow, OrphanHoldingItsFinGivesUpAfterEightProbesAtTheLongestInterval) {
  // A closed socket whose peer answers every probe but never opens its window is not kept for ever (Linux's
  // tcp_probe_timer for an orphan: tcp_orphan_retries, 0 meaning 8, once the interval reached TCP_RTO_MAX).
  StackHarness h;
  Conn c = zero_window_peer(h);
  ASSERT_EQ(skiff_close(c.fd), 0);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  int probes = 0;
  for (int s = 0; s < 3600 && h.shard().tcp.connections() > 0; ++s) {
    h.advance(1s);
    for (const auto& t : c.out()) {
      ASSERT_FALSE(t.has(tf::kFin));
      ++probes;
      c.ack();
    }
  }
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(probes, 10);  // 200 ms << 10 passes rto_max (120 s): the 11th expiry gives up
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);  // the listener
  skiff_close(c.lfd);
}

TEST(TcpZeroWindow, SegmentAtRcvNxtIsTakenForItsAckAndABareFinWhenOurWindowIsZero) {
  // RFC 9293 §3.10.7.4: with RCV.WND zero no segment is acceptable, "but special allowance should be made
  // to accept valid ACKs, URGs, and RSTs". As Linux's tcp_sequence, a segment at RCV.NXT passes the first
  // check: its ACK is processed (its data is not taken), and a bare FIN is taken (Linux's tcp_data_queue).
  // Regression: both were dropped whole, so a zero-window probe's ACK of our data went unheard.
  StackHarness h;
  OpenOpts o;
  o.rcvbuf = 4096;  // 8192 bytes
  Conn c = connect_conn(h, o);
  for (int i = 1; i <= 8; ++i) {
    c.push(pattern(1024, static_cast<uint8_t>(i)));
    ASSERT_EQ(c.out().size(), 1u);
  }
  const uint32_t edge = c.snd;
  ASSERT_EQ(c.send(100), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  // The peer probes our closed window with one byte at RCV.NXT, acknowledging our 100 bytes.
  c.in(c.seg(tf::kAck, pattern(1, 99)));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, edge);  // the byte was not taken
  EXPECT_EQ(out[0].wnd, 0);
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 1u);
  int outq = -1;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 0);  // but its ACK was
  // A bare FIN at RCV.NXT is taken: it needs no buffer.
  c.fin();
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, edge + 1);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  Bytes buf(10000);
  EXPECT_EQ(skiff_recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT), 8192);
  EXPECT_EQ(skiff_recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT), 0);
  skiff_close(c.fd);
}

namespace {

// Three segments in flight, then the peer acknowledges the first with a zero window: it shrank its window
// (RFC 9293 §3.8.6.2.2 discourages it; Linux does it with tcp_shrink_window, small stacks do) under the
// other two.
Conn shrunk_under_flight(StackHarness& h, bool sack) {
  OpenOpts o;
  o.sack = sack;
  Conn c = accept_conn(h, o);
  EXPECT_EQ(c.send(3000), 3000);
  EXPECT_EQ(c.out_track().size(), 3u);
  c.wnd = 0;
  c.ack(c.iss + 1 + 1000);
  EXPECT_TRUE(c.out().empty());
  return c;
}

}  // namespace

class TcpShrunkWindow : public ::testing::TestWithParam<bool> {};

TEST_P(TcpShrunkWindow, TimeoutsResendTheHeadAsProbesAndAnsweredOnesKeepTheConnection) {
  // RFC 1122 §4.2.2.17: the window must be probed, and the connection must not time out while the peer
  // answers (Linux's tcp_retransmit_timer, !snd_wnd: the head's retransmission is the probe). Regression:
  // without SACK an RTO sent nothing (the window had no room), and with or without SACK the connection was
  // aborted after tcp_retries2 (15) timeouts however faithfully the peer answered.
  StackHarness h;
  Conn c = shrunk_under_flight(h, GetParam());
  const uint32_t head = c.iss + 1 + 1000;
  int resends = 0;
  for (int s = 0; s < 3600 && resends < 20; ++s) {
    h.advance(1s);
    for (const auto& t : c.out()) {
      EXPECT_EQ(t.seq, head);
      EXPECT_EQ(t.payload.size(), 1000u);
      ++resends;
      c.ack(head);  // still closed
    }
  }
  EXPECT_EQ(resends, 20);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  // The window opens (the peer still lacks all it dropped): the rest goes again, by RACK with SACK, by the
  // retransmission timer without, and the connection carries on.
  c.wnd = 65535;
  c.ack(head);
  uint32_t got = head;
  for (int s = 0; s < 130 && got != c.iss + 1 + 3000; ++s) {
    for (const auto& t : c.out()) {
      if (t.seq == got) got += static_cast<uint32_t>(t.payload.size());
      c.ack(got);
    }
    if (got != c.iss + 1 + 3000) h.advance(1s);
  }
  EXPECT_EQ(got, c.iss + 1 + 3000);
  c.nxt = got;
  ASSERT_EQ(c.send(500), 500);
  ASSERT_EQ(c.out_track().size(), 1u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST_P(TcpShrunkWindow, TimeoutsResendWhatASmallWindowTakesOfTheHead) {
  // The peer shrank its window to 100 bytes, below the sender's SWS threshold, under data in flight. Each
  // timeout resends what the window takes of the head (Linux's __tcp_retransmit_skb: min(MSS, window)),
  // the peer takes it, and the data gets through 100 bytes at a time. Regression: without SACK, go-back-N
  // rewound to the head, write_xmit held it under SWS avoidance and no probe was armed (data in flight), so
  // every timeout sent nothing and the connection was aborted after tcp_retries2 timeouts.
  StackHarness h;
  OpenOpts o;
  o.sack = GetParam();
  Conn c = accept_conn(h, o);
  ASSERT_EQ(c.send(3000), 3000);
  ASSERT_EQ(c.out_track().size(), 3u);
  c.wnd = 100;
  uint32_t got = c.iss + 1 + 1000;
  c.ack(got);
  EXPECT_TRUE(c.out().empty());
  const uint32_t end = c.iss + 1 + 3000;
  int resends = 0;
  for (int s = 0; s < 3600 && got != end; ++s) {
    h.advance(1s);
    for (const auto& t : c.out()) {
      ASSERT_EQ(t.seq, got);
      if (!GetParam()) {
        EXPECT_EQ(t.payload.size(), 100u);  // (SACK resends the head whole; the peer trims)
      }
      ++resends;
      got += 100;  // what the window took
      c.ack(got);
    }
  }
  EXPECT_EQ(got, end);
  EXPECT_EQ(resends, 20);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST_P(TcpShrunkWindow, SilentPeerEndsItAfterTwiceTheLongestRto) {
  // Nothing heard at all: the connection ends once 2 x rto_max (240 s) passed since the last segment from
  // the peer and since the episode began (Linux's tcp_rtx_probe0_timed_out), each timeout having resent the
  // head.
  StackHarness h;
  Conn c = shrunk_under_flight(h, GetParam());
  int resends = 0;
  int s = 0;
  for (; s < 3600 && state_of(c.fd) == TCP_ESTABLISHED; ++s) {
    h.advance(1s);
    resends += static_cast<int>(c.out().size());
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  EXPECT_GT(s, 240);
  EXPECT_LE(s, 240 + 121);
  EXPECT_GE(resends, 9);  // 0.2, 0.4 ... 102.4 s, then 120 s apart
  skiff_close(c.fd);
}

TEST_P(TcpShrunkWindow, UserTimeoutStillBoundsTheEpisode) {
  // TCP_USER_TIMEOUT: the application asked for an answer to its data within that time; zero-window ACKs
  // are no answer (Linux: "it does not want win 0 packets to reset the timer").
  StackHarness h;
  Conn c = shrunk_under_flight(h, GetParam());
  const int ut = 10'000;
  ASSERT_EQ(skiff_setsockopt(c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut), 0);
  int s = 0;
  for (; s < 600 && state_of(c.fd) == TCP_ESTABLISHED; ++s) {
    h.advance(1s);
    for (size_t i = 0, n = c.out().size(); i < n; ++i) c.ack(c.iss + 1 + 1000);
  }
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  EXPECT_GE(s, 10);
  EXPECT_LE(s, 14);
  skiff_close(c.fd);
}

INSTANTIATE_TEST_SUITE_P(Tcp, TcpShrunkWindow, ::testing::Bool(),
                         [](const auto& i) { return i.param ? "Sack" : "NoSack"; });
