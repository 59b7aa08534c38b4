// Explicit Congestion Notification (RFC 3168): negotiated on the handshake (an ECN-setup SYN carries ECE and
// CWR, the SYN-ACK that grants it ECE alone), new data leaves ECN-capable (ECT(0)), a receiver echoes a CE
// mark with ECE until the sender's CWR, and the sender's window falls once per window of data on ECE,
// without a retransmission. The `[tcp] ecn` key chooses as Linux's tcp_ecn: 0 off, 1 ask and grant,
// 2 (default) grant only.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

constexpr uint8_t kNotEct = 0, kEct0 = 2, kCe = 3;
constexpr uint8_t kEcnSetup = tf::kEce | tf::kCwr;

uint8_t ecn_of(const SentTcp& t) { return t.ip.tos & 3; }

HarnessOptions with_ecn(unsigned mode) {
  HarnessOptions o;
  o.cfg.tcp.ecn = mode;
  return o;
}

// The peer's segment at its SND.NXT with `data` and the IP ECN field `ecn`; advances SND.NXT.
void push_ecn(Conn& c, size_t n, uint8_t ecn, uint8_t flags = tf::kAck | tf::kPsh, uint8_t seed = 1) {
  TcpSpec s = c.seg(flags, pattern(n, seed));
  s.tos = ecn;
  c.in(s);
  c.snd += static_cast<uint32_t>(n);
}

// A bare ACK of `a` from the peer, with ECE if `ece`.
void ack_ece(Conn& c, uint32_t a, bool ece = true) {
  TcpSpec s = c.seg(static_cast<uint8_t>(tf::kAck | (ece ? tf::kEce : 0)));
  s.ack = a;
  c.in(s);
}

bool ecn_on(int fd) { return info(fd).tcpi_options & TCPI_OPT_ECN; }

// The peer opens to our listener with a SYN carrying `syn_flags` on IP ECN field `ecn`; returns our SYN-ACK.
SentTcp syn_ack_for(StackHarness& h, uint8_t syn_flags, uint8_t ecn = kNotEct) {
  h.learn_peer();
  (void)listen_on();
  h.inject(tcp_frame(h, TcpSpec{.sport = kPeerPort, .dport = kLocalPort, .seq = 1000,
                                .flags = static_cast<uint8_t>(tf::kSyn | syn_flags), .opts = mss_opt(1460),
                                .tos = ecn}));
  auto out = out_of(h);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? SentTcp{} : out[0];
}

// We connect to the peer; returns our SYN.
SentTcp our_syn(StackHarness& h) {
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  auto out = out_of(h);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? SentTcp{} : out[0];
}

}  // namespace

TEST(TcpEcn, AnEcnSetupSynIsGrantedWithEceAloneAndNotEct) {
  StackHarness h;  // default: ecn = 2, granted when asked
  const SentTcp sa = syn_ack_for(h, kEcnSetup);
  EXPECT_EQ(sa.flags, tf::kSyn | tf::kAck | tf::kEce) << "ECN-setup SYN-ACK: ECE without CWR (RFC 3168 §6.1.1)";
  EXPECT_EQ(ecn_of(sa), kNotEct) << "a SYN-ACK is never ECN-capable";
  EXPECT_EQ(h.shard().stats.tcp_ecn_negotiated, 1u);
}

TEST(TcpEcn, NotGrantedWithoutAskingWhenOffOrToAnEctSyn) {
  {
    StackHarness h;
    EXPECT_EQ(syn_ack_for(h, 0).flags, tf::kSyn | tf::kAck);
  }
  {
    StackHarness h;
    EXPECT_EQ(syn_ack_for(h, tf::kEce).flags & tf::kEce, 0) << "ECE alone is no ECN-setup SYN";
  }
  {
    StackHarness h(with_ecn(0));
    EXPECT_EQ(syn_ack_for(h, kEcnSetup).flags, tf::kSyn | tf::kAck) << "[tcp] ecn = 0 grants nothing";
  }
  {
    StackHarness h;
    EXPECT_EQ(syn_ack_for(h, kEcnSetup, kEct0).flags, tf::kSyn | tf::kAck)
        << "a SYN that arrives ECN-capable went through something that rewrites the field";
    EXPECT_EQ(h.shard().stats.tcp_ecn_negotiated, 0u);
  }
}

TEST(TcpEcn, NegotiatedConnectionSendsNewDataEct0AndPureAcksNotEct) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .syn_flags = kEcnSetup});
  ASSERT_TRUE(ecn_on(c.fd));
  ASSERT_EQ(c.send(3 * 1460), 3 * 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& t : out) {
    EXPECT_EQ(ecn_of(t), kEct0);
    EXPECT_FALSE(t.has(tf::kCwr) || t.has(tf::kEce));
  }
  c.ack();
  push_ecn(c, 100, kEct0);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);  // a quick ACK (connection start)
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(ecn_of(out[0]), kNotEct) << "pure ACKs are not ECN-capable (RFC 3168 §6.1.4)";
  EXPECT_TRUE(info(c.fd).tcpi_options & TCPI_OPT_ECN_SEEN);
}

TEST(TcpEcn, WithoutNegotiationNothingIsMarked) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  EXPECT_FALSE(ecn_on(c.fd));
  ASSERT_EQ(c.send(1460), 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ecn_of(out[0]), kNotEct);
  // A CE mark (or ECE) on a connection that did not negotiate ECN means nothing.
  c.ack();
  push_ecn(c, 100, kCe);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].has(tf::kEce));
  const uint32_t cwnd = info(c.fd).tcpi_snd_cwnd;
  ASSERT_EQ(c.send(1460), 1460);
  (void)c.out_track();
  ack_ece(c, c.nxt);
  EXPECT_GE(info(c.fd).tcpi_snd_cwnd, cwnd);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  EXPECT_EQ(h.shard().stats.tcp_ecn_ce_rcvd + h.shard().stats.tcp_ecn_ece_rcvd, 0u);
}

TEST(TcpEcn, ActiveOpenAsksOnlyWhenConfiguredAndNotOnItsRetransmittedSyn) {
  {
    StackHarness h;  // ecn = 2: never asks
    EXPECT_EQ(our_syn(h).flags, tf::kSyn);
  }
  StackHarness h(with_ecn(1));
  const SentTcp syn = our_syn(h);
  EXPECT_EQ(syn.flags, tf::kSyn | tf::kEce | tf::kCwr) << "an ECN-setup SYN";
  EXPECT_EQ(ecn_of(syn), kNotEct);
  // No answer: the SYN goes again without asking (a middlebox may drop ECN-setup SYNs: RFC 3168 §6.1.1.1).
  std::vector<SentTcp> again;
  ASSERT_TRUE(advance_until_sent(h, 2s, again, 10ms));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].flags, tf::kSyn);
}

TEST(TcpEcn, ActiveOpenIsOnOnlyOnAnEcnSetupSynAck) {
  {
    StackHarness h(with_ecn(1));
    Conn c = connect_conn(h, OpenOpts{.mss = 1460, .syn_flags = tf::kEce});
    EXPECT_TRUE(ecn_on(c.fd));
    EXPECT_EQ(h.shard().stats.tcp_ecn_negotiated, 1u);
    ASSERT_EQ(c.send(100), 100);
    auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(ecn_of(out[0]), kEct0);
  }
  {
    StackHarness h(with_ecn(1));
    Conn c = connect_conn(h, OpenOpts{.mss = 1460, .syn_flags = kEcnSetup});
    EXPECT_FALSE(ecn_on(c.fd)) << "ECE with CWR on a SYN-ACK is no ECN-setup SYN-ACK (§6.1.1)";
  }
  {
    StackHarness h(with_ecn(1));
    Conn c = connect_conn(h, OpenOpts{.mss = 1460});
    EXPECT_FALSE(ecn_on(c.fd)) << "the peer did not grant it";
    ASSERT_EQ(c.send(100), 100);
    auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(ecn_of(out[0]), kNotEct);
  }
}

TEST(TcpEcn, ReceiverEchoesCeOnEveryAckUntilCwr) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .syn_flags = kEcnSetup});
  // Use up the quick ACKs of the connection's start: from here small segments are ACKed late.
  for (int i = 0; i < 10; ++i) {
    push_ecn(c, 100, kEct0);
    (void)c.out_track();
    h.advance(50ms);
    (void)c.out_track();
  }
  push_ecn(c, 100, kEct0);
  EXPECT_TRUE(c.out_track().empty()) << "delayed ACKs in effect";
  h.advance(50ms);
  (void)c.out_track();

  // Congestion on the way: the first CE is ACKed at once, with ECE.
  push_ecn(c, 100, kCe);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kEce));
  EXPECT_FALSE(out[0].has(tf::kCwr));
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.shard().stats.tcp_ecn_ce_rcvd, 1u);
  // Unmarked data after it: still ECE on its (delayed) ACK, until the sender says CWR.
  push_ecn(c, 100, kEct0);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 500ms, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has(tf::kEce));
  // Our own data carries ECE too while the echo lasts.
  ASSERT_EQ(c.send(50), 50);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kEce));
  EXPECT_EQ(ecn_of(out[0]), kEct0);
  c.ack();
  // CWR: the sender's window fell. ACKed at once, without ECE.
  push_ecn(c, 100, kEct0, tf::kAck | tf::kPsh | tf::kCwr);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].has(tf::kEce));
  push_ecn(c, 100, kEct0);
  ASSERT_TRUE(advance_until_sent(h, 500ms, got));
  EXPECT_FALSE(got[0].has(tf::kEce));
  // A later CE starts a new echo; a CWR segment that is itself marked CE keeps it going.
  push_ecn(c, 100, kCe);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kEce));
  push_ecn(c, 100, kCe, tf::kAck | tf::kPsh | tf::kCwr);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kEce));
  EXPECT_EQ(h.shard().stats.tcp_ecn_ce_rcvd, 3u);
  EXPECT_EQ(read_all(c.fd).size(), 17u * 100);
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(TcpEcn, SenderHalvesOncePerWindowOnEceAndSaysCwrOnItsNextNewData) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .sack = true, .syn_flags = kEcnSetup});
  const uint32_t mss = info(c.fd).tcpi_snd_mss;
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(20 * mss), static_cast<ssize_t>(20 * mss));
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 10u);  // the initial window (RFC 6928)
  ASSERT_EQ(info(c.fd).tcpi_snd_cwnd, 10u);

  // The peer echoes a CE: ssthresh falls to CUBIC's beta (0.7) of the 10-segment window, state CWR, no
  // retransmission; the window falls by PRR (RFC 6937), as the ACKs come: this one delivered 2 segments,
  // so 0.7 x 2 = 1.4 may go (one segment; the rest is owed): the first new segment, with CWR.
  ack_ece(c, base + 2 * mss);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 7u);
  EXPECT_EQ(ti.tcpi_ca_state, 2u) << "TCP_CA_CWR";
  EXPECT_EQ(h.shard().stats.tcp_ecn_reductions, 1u);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, base + 10 * mss);
  EXPECT_TRUE(out[0].has(tf::kCwr));
  EXPECT_EQ(ecn_of(out[0]), kEct0);
  // More echoes for the same window of data: no second reduction. The next ACK leaves 7 segments in
  // flight, ssthresh: nothing goes (PRR's proportional share of 4 delivered, 2.8, stops at ssthresh). The
  // one after leaves 5: two go, to ssthresh again (no CWR on them).
  ack_ece(c, base + 4 * mss);
  EXPECT_TRUE(c.out_track().empty());
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 7u);
  ack_ece(c, base + 6 * mss);
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 7u);
  EXPECT_EQ(h.shard().stats.tcp_ecn_reductions, 1u);
  EXPECT_EQ(h.shard().stats.tcp_ecn_ece_rcvd, 3u);
  out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(ecn_of(out[i]), kEct0);
    EXPECT_EQ(out[i].seq, base + (11 + i) * mss) << "no retransmission";
    EXPECT_FALSE(out[i].has(tf::kCwr)) << "CWR once";
  }
  // The reduced window acknowledged whole: the state holds until the CWR segment is acknowledged too.
  c.ack(base + 10 * mss);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 2u);
  c.ack(c.nxt);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 0u);
  (void)c.out_track();
  // A new echo, for data sent after the reduction, reduces again.
  ack_ece(c, c.nxt);
  EXPECT_EQ(h.shard().stats.tcp_ecn_reductions, 2u);
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 2u);
  EXPECT_EQ(info(c.fd).tcpi_total_retrans, 0u);
}

// Without SACK, PRR counts the flight in sequence space and a duplicate ACK as one segment delivered (as
// Linux's tcp_add_reno_sack): the reduction still goes at the ACK clock's pace.
TEST(TcpEcn, WithoutSackADuplicateAckInTheReductionCountsAsOneSegmentDelivered) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .syn_flags = kEcnSetup});
  const uint32_t mss = info(c.fd).tcpi_snd_mss;
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(20 * mss), static_cast<ssize_t>(20 * mss));
  ASSERT_EQ(c.out_track().size(), 10u);
  // 2 delivered: 0.7 x 2 = 1.4 segments may go, one does (with CWR).
  ack_ece(c, base + 2 * mss);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kCwr));
  EXPECT_EQ(info(c.fd).tcpi_ca_state, 2u);
  // A duplicate ACK: 3 delivered, 2.1 may have gone: one more.
  c.ack(base + 2 * mss);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, base + 11 * mss);
  // Another: 4 delivered, 2.8: nothing.
  c.ack(base + 2 * mss);
  EXPECT_TRUE(c.out_track().empty());
  EXPECT_EQ(info(c.fd).tcpi_snd_ssthresh, 7u);
  EXPECT_EQ(h.shard().stats.tcp_ecn_reductions, 1u);
  EXPECT_EQ(info(c.fd).tcpi_total_retrans, 0u);
}

TEST(TcpEcn, ALossInTheReducedWindowDoesNotReduceItAgain) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .sack = true, .syn_flags = kEcnSetup});
  const uint32_t mss = info(c.fd).tcpi_snd_mss;
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(10 * mss), static_cast<ssize_t>(10 * mss));
  ASSERT_EQ(c.out_track().size(), 10u);
  ack_ece(c, base + mss);
  ASSERT_EQ(info(c.fd).tcpi_snd_ssthresh, 7u);
  ASSERT_EQ(info(c.fd).tcpi_ca_state, 2u);
  // The second segment was lost (the queue that marked the first dropped it): SACKs for 3..6.
  c.sack(base + mss, {{base + 2 * mss, base + 6 * mss}});
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_ca_state, 3u) << "recovery";
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 7u) << "the ECN reduction covered this window";
  EXPECT_EQ(h.shard().stats.tcp_ecn_reductions, 1u);
  const auto out = c.out_track();
  bool resent = false;
  for (const auto& t : out) {
    if (t.seq != base + mss) continue;
    resent = true;
    EXPECT_EQ(ecn_of(t), kNotEct) << "retransmissions are not ECN-capable (RFC 3168 §6.1.5)";
  }
  EXPECT_TRUE(resent);
}

TEST(TcpEcn, AfterATimeoutTheResendIsNotEctAndTheNextNewDataSaysCwr) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .syn_flags = kEcnSetup});
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(1460), 1460);
  ASSERT_EQ(c.out_track().size(), 1u);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 5s, got, 10ms));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, base);
  EXPECT_EQ(ecn_of(got[0]), kNotEct);
  EXPECT_FALSE(got[0].has(tf::kCwr));
  c.ack(base + 1460);
  ASSERT_EQ(c.send(100), 100);
  const auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ecn_of(out[0]), kEct0);
  EXPECT_TRUE(out[0].has(tf::kCwr)) << "the loss window is a reduction the receiver hears of (as Linux)";
}

TEST(TcpEcn, SynCookiesKeepEcnWithTimestamps) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(kLocalPort, 2);
  for (uint16_t i = 0; i < 16; ++i)
    h.inject(tcp_frame(h, {.sport = static_cast<uint16_t>(30000 + i), .seq = 1, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  ASSERT_EQ(out_of(h).size(), 16u);
  wire::TcpOptions o;
  o.mss = 1460;
  o.has_timestamp = true;
  o.ts_val = 777;
  // Without timestamps a cookie cannot carry ECN: not granted.
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9000, .flags = static_cast<uint8_t>(tf::kSyn | kEcnSetup), .opts = mss_opt(1460)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  // With them it is, and the connection the ACK creates has it.
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5000, .flags = static_cast<uint8_t>(tf::kSyn | kEcnSetup), .opts = o}));
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  const SentTcp sa = out[0];
  EXPECT_EQ(sa.flags, tf::kSyn | tf::kAck | tf::kEce);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 2u);
  wire::TcpOptions ao;
  ao.has_timestamp = true;
  ao.ts_val = 778;
  ao.ts_ecr = sa.opts.ts_val;
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5001, .ack = sa.seq + 1, .flags = tf::kAck, .opts = ao}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 1u);
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_TRUE(ecn_on(fd));
  EXPECT_EQ(h.shard().stats.tcp_ecn_negotiated, 1u);
}

// RFC 3168 §5.3: one fragment marked CE marks the reassembled datagram; fragments that disagree on ECN
// capability are dropped.
TEST(TcpEcn, ReassemblyCarriesCeAndDropsMixedCapability) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .syn_flags = kEcnSetup});
  const auto fragmented = [&](uint16_t id, uint8_t ecn1, uint8_t ecn2) {
    const Bytes seg = tcp_seg(c.seg(tf::kAck | tf::kPsh, pattern(100, static_cast<uint8_t>(id))));
    const Bytes a(seg.begin(), seg.begin() + 64), b(seg.begin() + 64, seg.end());
    h.inject(h.from_peer(ipv4(Ipv4Spec{.src = StackHarness::kPeerIp, .dst = StackHarness::kOurIp, .proto = 6, .tos = ecn1,
                                       .id = id, .flags_frag = 0x2000},
                              a)));
    h.inject(h.from_peer(ipv4(Ipv4Spec{.src = StackHarness::kPeerIp, .dst = StackHarness::kOurIp, .proto = 6, .tos = ecn2,
                                       .id = id, .flags_frag = 64 / 8},
                              b)));
  };
  fragmented(1, kEct0, kCe);
  c.snd += 100;
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_TRUE(out[0].has(tf::kEce)) << "the second fragment's CE marks the segment";
  fragmented(2, kNotEct, kCe);
  EXPECT_EQ(h.drops(Drop::FragEcnMismatch), 2u);
  EXPECT_EQ(read_all(c.fd).size(), 100u);
}
