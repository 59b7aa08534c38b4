// RFC 5961 (blind in-window attacks): a RST in the window but not exactly at RCV.NXT gets a challenge ACK
// and resets nothing; only a RST at RCV.NXT resets; a SYN on a synchronized connection gets a challenge ACK;
// an ACK for data never sent is dropped with an ACK; an ACK older than SND.UNA - MAX.SND.WND is dropped;
// challenge ACKs are rate-limited, SYNs outside the window included; 100,000 blind RSTs and SYNs reset nothing.
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
  HarnessOptions ho;
  ho.cfg.tcp.challenge_ack_limit = 5;
  StackHarness h(ho);
  Conn c = accept_conn(h);
  for (int i = 0; i < 20; ++i) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
    s.ack = c.nxt + 1000 + static_cast<uint32_t>(i);
    c.in(s);
  }
  EXPECT_EQ(c.out().size(), 5u);
  EXPECT_EQ(h.shard().stats.tcp_ack_too_new, 20u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 5u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 15u);
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 20u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, ChallengeAcksAreRateLimited) {
  HarnessOptions ho;
  ho.cfg.tcp.challenge_ack_limit = 5;
  StackHarness h(ho);
  Conn c = accept_conn(h);
  auto burst = [&] {
    for (int i = 0; i < 20; ++i) {
      TcpSpec r = c.seg(tf::kRst);
      r.seq = c.snd + 10 + static_cast<uint32_t>(i);
      c.in(r);
    }
    return c.out().size();
  };
  EXPECT_EQ(burst(), 5u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 5u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 15u);
  h.advance(1s);
  EXPECT_EQ(burst(), 5u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, SynOutsideTheWindowOrFailingPawsGetsARateLimitedChallengeAck) {
  // RFC 5961 §4.2: a SYN gets a challenge ACK "irrespective of the sequence number", so it is rate-limited
  // like any other. Regression: a SYN outside the window (or with an old timestamp) was answered like an
  // unacceptable data segment, with a plain ACK each time, however many came.
  HarnessOptions ho;
  ho.cfg.tcp.challenge_ack_limit = 5;
  StackHarness h(ho);
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
  EXPECT_EQ(out.size(), 5u);
  for (const auto& t : out) {
    EXPECT_EQ(t.flags, tf::kAck);
    EXPECT_EQ(t.seq, c.iss + 1);
    EXPECT_EQ(t.ack, c.snd);
  }
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks, 5u);
  EXPECT_EQ(h.shard().stats.tcp_challenge_acks_limited, 35u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpRfc5961, BlindRstsAndSynsResetNothing) {
  // Issue #5's blind-injection case at packet level: 100,000 spoofed RSTs and SYNs with wrong sequence
  // numbers (half of them inside the window), over one second. Not one resets the connection; the RSTs in
  // the window and all the SYNs are answered with challenge ACKs, at most the per-second budget of them
  // (burst + rate: 2 * 1000 in this second), the rest only counted.
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
  EXPECT_LE(st.tcp_challenge_acks, 2000u);
  EXPECT_GE(st.tcp_challenge_acks, 1000u);
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
