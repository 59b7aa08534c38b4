// RFC 5961 (blind in-window attacks): a RST in the window but not exactly at RCV.NXT gets a challenge ACK
// and resets nothing; only a RST at RCV.NXT resets; a SYN on a synchronized connection gets a challenge ACK;
// an ACK for data never sent is dropped with an ACK; an ACK older than SND.UNA - MAX.SND.WND is dropped;
// challenge ACKs are rate-limited, SYNs outside the window included: one per connection per 500 ms (Linux's
// tcp_invalid_ratelimit), so that no connection learns from its own challenge ACKs what befell another
// (CVE-2016-5696); out-of-window bare ACKs are answered as rarely; 100,000 blind RSTs and SYNs reset nothing.
#include <random>

#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpRfc5961, RstInWindowButNotAtRcvNxtGetsChallengeAck) {
  StackHarness h;
  Conn c = accept_conn(h);
  for (uint32_t off : {1u, 100u, 65534u}) {
    TcpSpec r = c.seg(tf::kRst);
    r.seq = c.snd + off;
    c.in(r);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u) << off;
    EXPECT_EQ(out[0].flags, tf::kAck);
    EXPECT_EQ(out[0].seq, c.iss + 1);
    EXPECT_EQ(out[0].ack, c.snd);
    h.advance(500ms);  // one challenge ACK per connection per 500 ms
  }
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 3u);
  EXPECT_EQ(h.drops(Drop::TcpRstNotExact), 3u);
  EXPECT_EQ(h.shard().stats.tcp_in_rsts, 0u);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, RstOutsideTheWindowIsDroppedSilently) {
  StackHarness h;
  Conn c = accept_conn(h);
  for (uint32_t seq : {c.snd - 1, c.snd + 65535, c.snd + 0x80000000u}) {
    TcpSpec r = c.seg(tf::kRst);
    r.seq = seq;
    c.in(r);
  }
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 3u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, RstAtRcvNxtResets) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec r = c.seg(tf::kRst | tf::kAck);
  c.in(r);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(h.shard().stats.tcp_in_rsts, 1u);
  EXPECT_EQ(h.shard().stats.tcp_estab_resets, 1u);
  uint8_t b[16];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_EQ(c.send(1), -1);
  EXPECT_EQ(errno, EPIPE);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, RstOnThePeersFinNumberResetsOnceTheFinCame) {
  // Linux's tcp_reset_check: after the peer's FIN (CLOSE-WAIT here), a RST at RCV.NXT - 1 (the FIN's own
  // number: a peer that sent its FIN and then aborted) resets. Before the FIN it is outside the window and
  // dropped (RstOutsideTheWindowIsDroppedSilently). Regression: dropped, the connection lived on until our
  // own FIN drew a second RST.
  StackHarness h;
  Conn c = accept_conn(h);
  c.fin();
  c.out();
  ASSERT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  TcpSpec r = c.seg(tf::kRst);
  r.seq = c.snd - 1;
  c.in(r);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(h.shard().stats.tcp_in_rsts, 1u);
  EXPECT_EQ(so_error(c.fd), EPIPE);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, RstAtTheRightEdgeOfDataHeldOutOfOrderResets) {
  // Linux's tcp_validate_incoming: with SACK, a RST at the highest right edge we would SACK resets (the
  // peer's SND.NXT when a segment before it was lost).
  StackHarness h;
  OpenOpts o;
  o.sack = true;
  Conn c = accept_conn(h, o);
  TcpSpec d = c.seg(tf::kAck | tf::kPsh, pattern(100));
  d.seq = c.snd + 100;  // the first 100 bytes are lost
  c.in(d);
  c.out();
  TcpSpec near = c.seg(tf::kRst);
  near.seq = c.snd + 199;  // one short of the edge: a challenge ACK
  c.in(near);
  EXPECT_EQ(c.out().size(), 1u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  TcpSpec r = c.seg(tf::kRst);
  r.seq = c.snd + 200;
  c.in(r);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), ECONNRESET);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, SynOnAnEstablishedConnectionGetsChallengeAck) {
  StackHarness h;
  Conn c = accept_conn(h);
  for (uint32_t seq : {c.snd, c.snd + 500, c.irs}) {
    TcpSpec s = c.seg(tf::kSyn);
    s.seq = seq;
    s.ack = 0;
    c.in(s);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags, tf::kAck);
    EXPECT_EQ(out[0].seq, c.iss + 1);
    EXPECT_EQ(out[0].ack, c.snd);
    h.advance(500ms);  // one challenge ACK per connection per 500 ms
  }
  EXPECT_EQ(h.drops(Drop::TcpSynInWindow), 2u);
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 1u);  // the third was outside the window
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 3u);  // all three: "irrespective of the sequence number"
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  c.push(pattern(5));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, AckBeyondSndNxtIsDroppedWithAnAck) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(20));
  s.ack = c.nxt + 1000;
  c.in(s);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.nxt);
  EXPECT_EQ(out[0].ack, c.snd);  // the data was not taken
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 1u);
  EXPECT_EQ(h.shard().stats.tcp_ack_too_new, 1u);
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  int outq = 0;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 100);  // nothing was acknowledged
  skiff_close(c.fd);
}

TEST(TcpRfc5961, AckOlderThanTheMaxWindowIsDropped) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(1000), 1000);
  c.out_track();
  c.ack();
  // SND.UNA - MAX.SND.WND (65535) =< SEG.ACK fails: dropped, challenge ACK.
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(20));
  s.ack = c.nxt - 70000;
  c.in(s);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.shard().stats.tcp_ack_too_old, 1u);
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 1u);
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  // An old ACK inside that range is a harmless duplicate: its data is taken.
  s.ack = c.iss + 1;
  c.in(s);
  c.snd += 20;
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(read_all(c.fd), pattern(20));
  skiff_close(c.fd);
}

TEST(TcpRfc5961, AcksOfUnsentDataShareTheChallengeAckLimit) {
  // RFC 5961 §5.2 answers data acknowledging the future with an ACK; a blind attacker's ACK fields land
  // there as often as behind SND.UNA, so those ACKs are rate-limited like the challenge ACKs (§7).
  StackHarness h;
  Conn c = accept_conn(h);
  for (int i = 0; i < 20; ++i) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
    s.ack = c.nxt + 1000 + static_cast<uint32_t>(i);
    c.in(s);
  }
  EXPECT_EQ(c.out().size(), 1u);
  EXPECT_EQ(h.shard().stats.tcp_ack_too_new, 20u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 1u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 19u);
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 20u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, ChallengeAcksAreLimitedToOnePerHalfSecondPerConnection) {
  // Linux's tcp_send_challenge_ack (__tcp_oow_rate_limited, tcp_invalid_ratelimit = 500 ms): RSTs in the
  // window, SYNs and ACKs of unsent data draw one challenge ACK between them per 500 ms; the next one
  // goes 500 ms after the last one sent, not before.
  StackHarness h;
  Conn c = accept_conn(h);
  auto burst = [&] {
    for (int i = 0; i < 20; ++i) {
      TcpSpec r = c.seg(i % 4 == 3 ? tf::kSyn : tf::kRst);
      r.seq = c.snd + 10 + static_cast<uint32_t>(i);
      c.in(r);
    }
    TcpSpec a = c.seg(tf::kAck | tf::kPsh, pattern(10));
    a.ack = c.nxt + 1000;
    c.in(a);
    return c.out().size();
  };
  EXPECT_EQ(burst(), 1u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 1u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 20u);
  h.advance(499ms);
  EXPECT_EQ(burst(), 0u);
  h.advance(1ms);
  EXPECT_EQ(burst(), 1u);  // 500 ms after the first
  h.advance(250ms);
  EXPECT_EQ(burst(), 0u);
  h.advance(250ms);
  EXPECT_EQ(burst(), 1u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 3u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 5u * 21u - 3u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  EXPECT_EQ(h.shard().stats.tcp_in_rsts, 0u);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, ChallengeAcksOfOneConnectionDoNotShowOnAnother) {
  // CVE-2016-5696: with one challenge ACK counter for the whole stack, an off-path attacker spoofs a RST
  // into a victim connection, then sends SYNs on a connection of its own and counts the challenge ACKs it
  // gets: one fewer means the RST's guess at the victim's sequence numbers was in the window. Here A is the
  // victim and B the attacker's, the clock stands still, and the global budget is small enough that the old
  // shared counter (5 per second) showed the difference: B must see the same whether A's RST hit the window
  // or not.
  auto acks_on_b = [](bool rst_in_window) {
    HarnessOptions ho;
    ho.cfg.tcp.challenge_ack_limit = 5;
    StackHarness h(ho);
    Conn a = accept_conn(h);
    Conn b = accept_another(a, kPeerPort + 1, 5000);
    TcpSpec r = a.seg(tf::kRst);
    r.seq = rst_in_window ? a.snd + 100 : a.snd + 0x40000000u;
    a.in(r);
    EXPECT_EQ(a.out().size(), rst_in_window ? 1u : 0u);  // A's challenge ACK goes to A's peer, not to B's
    size_t n = 0;
    for (uint32_t i = 0; i < 20; ++i) {
      TcpSpec s = b.seg(tf::kSyn);
      s.seq = b.snd + 10 + i;
      b.in(s);
      for (const auto& t : b.out()) {
        EXPECT_EQ(t.dport, b.pport);
        ++n;
      }
    }
    EXPECT_EQ(state_of(a.fd), TCP_ESTABLISHED);
    EXPECT_EQ(state_of(b.fd), TCP_ESTABLISHED);
    skiff_close(a.fd);
    skiff_close(b.fd);
    return n;
  };
  const size_t hit = acks_on_b(true);
  const size_t missed = acks_on_b(false);
  EXPECT_EQ(hit, missed);
  EXPECT_EQ(missed, 1u);  // B's own limit: one per 500 ms
}

TEST(TcpRfc5961, OutOfWindowBareAcksAreAnsweredAtMostOncePerHalfSecond) {
  // RFC 9293 §3.10.7.4 answers an unacceptable segment with an ACK; for bare ACKs at most one per 500 ms
  // (Linux's tcp_oow_rate_limited in tcp_validate_incoming), or two endpoints that disagree on the
  // sequence space ACK each other in a loop. Data and FINs out of the window are answered every time: the
  // sender retransmits them until it learns where we are.
  StackHarness h;
  Conn c = accept_conn(h);
  auto bare = [&](int n) {
    for (int i = 0; i < n; ++i) {
      TcpSpec s = c.seg(tf::kAck);
      s.seq = c.snd + 0x40000000u + static_cast<uint32_t>(i);  // far outside the window
      c.in(s);
    }
    return c.out().size();
  };
  EXPECT_EQ(bare(10), 1u);
  EXPECT_EQ(bare(10), 0u);
  for (uint8_t f : {uint8_t(tf::kAck | tf::kPsh), uint8_t(tf::kAck | tf::kFin)}) {
    TcpSpec d = c.seg(f, f & tf::kPsh ? pattern(10) : Bytes{});
    d.seq = c.snd - 100;  // old data (or FIN): a retransmission whose ACK was lost
    c.in(d);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, c.snd);
  }
  h.advance(499ms);
  EXPECT_EQ(bare(10), 0u);
  h.advance(1ms);
  auto one = [&] {
    TcpSpec s = c.seg(tf::kAck);
    s.seq = c.snd - 70000;
    c.in(s);
    return c.out();
  };
  auto out = one();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_TRUE(one().empty());
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 34u);
  // The same limit covers challenge ACKs (one per connection, Linux's last_oow_ack_time): a SYN now is not
  // answered either.
  TcpSpec syn = c.seg(tf::kSyn);
  syn.seq = c.snd + 10;
  c.in(syn);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, SynOutsideTheWindowOrFailingPawsGetsARateLimitedChallengeAck) {
  // RFC 5961 §4.2: a SYN gets a challenge ACK "irrespective of the sequence number", so it is rate-limited
  // like any other. Regression: a SYN outside the window (or with an old timestamp) was answered like an
  // unacceptable data segment, with a plain ACK each time, however many came.
  StackHarness h;
  OpenOpts o;
  o.ts = true;
  Conn c = accept_conn(h, o);
  for (uint32_t i = 0; i < 20; ++i) {
    TcpSpec s = c.seg(tf::kSyn);
    s.seq = c.snd + 0x40000000u + i;  // far outside the window
    c.in(s);
  }
  c.ts_val = 50;  // older than TS.Recent (100): PAWS
  for (uint32_t i = 0; i < 20; ++i) {
    TcpSpec s = c.seg(tf::kSyn);
    s.seq = c.snd + 10 + i;
    c.in(s);
  }
  auto out = c.out();
  EXPECT_EQ(out.size(), 1u);
  for (const auto& t : out) {
    EXPECT_EQ(t.flags, tf::kAck);
    EXPECT_EQ(t.seq, c.iss + 1);
    EXPECT_EQ(t.ack, c.snd);
  }
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 1u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 39u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, BlindRstsAndSynsResetNothing) {
  // Issue #5's blind-injection case at packet level: 100,000 spoofed RSTs and SYNs with wrong sequence
  // numbers (half of them inside the window), over one second. Not one resets the connection; the RSTs in
  // the window and all the SYNs are owed challenge ACKs, of which the connection sends one per 500 ms (at
  // 0 and 500 ms), the rest only counted.
  StackHarness h;
  Conn c = accept_conn(h);
  std::mt19937 rng(5961);
  int in_window = 0, syns = 0;
  size_t sent = 0;
  for (int i = 0; i < 100000; ++i) {
    uint32_t seq = rng();
    if (i % 2 == 0) seq = c.snd + 1 + rng() % 65534;  // half of them inside the window
    if (seq == c.snd) seq += 1;
    const bool syn = i % 5 == 4;
    if (!syn && static_cast<uint32_t>(seq - c.snd) < 65535) ++in_window;
    syns += syn;
    TcpSpec r = c.seg(syn ? tf::kSyn : tf::kRst);
    r.seq = seq;
    r.ack = rng();
    c.in(r);
    if (i % 100 == 99) {
      for (const auto& t : c.out()) {
        EXPECT_EQ(t.flags, tf::kAck);  // never a RST or SYN-ACK of ours
        EXPECT_EQ(t.seq, c.iss + 1);
        EXPECT_EQ(t.ack, c.snd);
        ++sent;
      }
      h.advance(1ms);
    }
  }
  const auto& st = h.shard().stats;
  EXPECT_GE(in_window, 40000);
  EXPECT_EQ(st.tcp_challenge_acks, sent);
  EXPECT_EQ(st.tcp_challenge_acks, 2u);
  EXPECT_EQ(st.tcp_challenge_acks + st.tcp_challenge_acks_limited, static_cast<uint64_t>(in_window + syns));
  c.out();
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  EXPECT_EQ(h.shard().stats.tcp_in_rsts, 0u);
  EXPECT_EQ(h.shard().stats.tcp_estab_resets, 0u);
  EXPECT_EQ(so_error(c.fd), 0);
  // The connection works as before.
  c.push(pattern(100, 3));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(read_all(c.fd), pattern(100, 3));
  ASSERT_EQ(c.send(10), 10);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  skiff_close(c.fd);
}
