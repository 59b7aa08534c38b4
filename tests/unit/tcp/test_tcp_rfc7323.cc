// RFC 7323: window scaling is used only when both SYNs carried the option, with the shift capped at 14
// (§2.3); the timestamp echo times even a retransmission (§4); PAWS drops a segment with an old timestamp
// and ACKs it, but never a RST (§5.3) nor a reordered duplicate ACK (as Linux), and forgets a timestamp
// that has been idle for 24 days (§5.5).
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpWindowScale, ShiftAbove14IsCappedAt14) {
  StackHarness h;
  OpenOpts o;
  o.wscale = 15;
  Conn c = accept_conn(h, o);
  EXPECT_EQ(info(c.fd).tcpi_snd_wscale, 14);
  EXPECT_TRUE(info(c.fd).tcpi_options & TCPI_OPT_WSCALE);
  // A window field of 1 is 1 << 14 = 16384 bytes (1 << 15 would be 32768). Grow cwnd past that first:
  // ten single-segment ACKs in slow start take it to 20 segments.
  c.wnd = 1;
  ASSERT_EQ(c.send(40000), 40000);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 10u);
  const uint32_t first = out[0].seq;
  for (uint32_t i = 1; i <= 10; ++i) c.ack(first + i * 1000);
  c.out_track();
  EXPECT_EQ(info(c.fd).tcpi_snd_cwnd, 20u);
  // In flight now: what 16384 bytes of window allow in whole segments (the 384 left over are below the
  // sender-SWS threshold).
  EXPECT_EQ(c.nxt - (first + 10000), 16000u);
  skiff_close(c.fd);
}

TEST(TcpWindowScale, PassiveOpenWithoutThePeersOptionScalesNeitherWay) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].opts.wscale);  // a SYN-ACK only answers what the SYN offered
  EXPECT_EQ(out[0].wnd, 65535);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .seq = 1001, .ack = out[0].seq + 1, .flags = tf::kAck, .wnd = 2000}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  const tcp_info ti = info(fd);
  EXPECT_FALSE(ti.tcpi_options & TCPI_OPT_WSCALE);
  EXPECT_EQ(ti.tcpi_snd_wscale, 0);
  EXPECT_EQ(ti.tcpi_rcv_wscale, 0);
  // The peer's 2000 is 2000 bytes; our window field is the plain byte count (capped at 65535).
  const Bytes d = pattern(5000);
  ASSERT_EQ(skiff_send(fd, d.data(), d.size(), MSG_DONTWAIT), 5000);
  out = out_of(h);
  size_t total = 0;
  for (const auto& t : out) {
    total += t.payload.size();
    EXPECT_EQ(t.wnd, 65535);
  }
  EXPECT_EQ(total, 2000u);
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpWindowScale, ActiveOpenOffersItButUsesItOnlyIfTheSynAckCarriesIt) {
  for (const bool peer_scales : {false, true}) {
    StackHarness h;
    h.learn_peer();
    const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
    ASSERT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
    auto out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].opts.wscale);  // offered
    const uint8_t ours = *out[0].opts.wscale;
    ASSERT_GT(ours, 0);
    wire::TcpOptions so = mss_opt(1000);
    if (peer_scales) so.wscale = 2;
    h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = out[0].sport, .seq = 5000, .ack = out[0].seq + 1,
                           .flags = tf::kSyn | tf::kAck, .wnd = 1000, .opts = so}));
    out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    const tcp_info ti = info(fd);
    EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
    EXPECT_EQ(static_cast<bool>(ti.tcpi_options & TCPI_OPT_WSCALE), peer_scales);
    EXPECT_EQ(ti.tcpi_snd_wscale, peer_scales ? 2 : 0);
    EXPECT_EQ(ti.tcpi_rcv_wscale, peer_scales ? ours : 0);
    // Our window field: the free receive buffer (all of SO_RCVBUF: nothing received yet), scaled by our
    // shift, or the plain count capped at 65535.
    int rcvbuf = 0;
    socklen_t rl = sizeof rcvbuf;
    ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl), 0);
    const uint32_t space = static_cast<uint32_t>(rcvbuf);
    EXPECT_EQ(out[0].wnd, peer_scales ? std::min<uint32_t>(space >> ours, 65535) : std::min<uint32_t>(space, 65535));
    // The SYN-ACK's own window is never scaled (§2.2); the next window field (600) is, when on: 2400 bytes
    // (two segments go; the 400 left are below the sender-SWS threshold).
    h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = out[0].sport, .seq = 5001, .ack = out[0].seq,
                           .flags = tf::kAck, .wnd = 600}));
    const Bytes d = pattern(5000);
    ASSERT_EQ(skiff_send(fd, d.data(), d.size(), MSG_DONTWAIT), 5000);
    size_t total = 0;
    for (const auto& t : out_of(h)) total += t.payload.size();
    EXPECT_EQ(total, peer_scales ? 2000u : 600u) << peer_scales;
    skiff_close(fd);
  }
}

namespace {

Conn ts_conn(StackHarness& h) {
  OpenOpts o;
  o.ts = true;
  Conn c = accept_conn(h, o);
  EXPECT_TRUE(info(c.fd).tcpi_options & TCPI_OPT_TIMESTAMPS);
  return c;
}

}  // namespace

TEST(TcpPaws, OldTimestampIsDroppedAndAcked) {
  StackHarness h;
  Conn c = ts_conn(h);
  c.ts_val = 200;
  c.push(pattern(100, 1));
  c.out_track();
  // A segment from the past (TSval 150 < TS.Recent 200): an old duplicate. Dropped, and ACKed so that the
  // peer resynchronises (§5.3 R1).
  c.ts_val = 150;
  c.in(c.seg(tf::kAck | tf::kPsh, pattern(100, 2)));
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(out[0].opts.ts_ecr, 200u);
  EXPECT_EQ(h.drops(Drop::TcpPaws), 1u);
  EXPECT_EQ(read_all(c.fd), pattern(100, 1));
  // The same data with a current timestamp is taken.
  c.ts_val = 201;
  c.push(pattern(100, 2));
  h.advance(50ms);
  c.out_track();
  EXPECT_EQ(read_all(c.fd), pattern(100, 2));
  skiff_close(c.fd);
}

TEST(TcpPaws, RstIsExempt) {
  StackHarness h;
  Conn c = ts_conn(h);
  c.ts_val = 200;
  c.push(pattern(10));
  c.out_track();
  c.ts_val = 100;  // older than TS.Recent
  c.in(c.seg(tf::kRst));
  EXPECT_EQ(h.drops(Drop::TcpPaws), 0u);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), ECONNRESET);
  skiff_close(c.fd);
}

TEST(TcpPaws, TimestampIdleFor24DaysIsNotTrusted) {
  // §5.5: after 24 days of silence TS.Recent is invalid, so an "old" TSval (the peer's clock may have
  // wrapped) is accepted and becomes the new TS.Recent.
  StackHarness h;
  Conn c = ts_conn(h);
  c.ts_val = 2000000000u;
  c.push(pattern(10));
  c.out_track();
  h.advance(std::chrono::hours(24 * 24 + 1));
  c.out_track();
  c.ts_val = 5;  // "older" than 2000000000 in sequence space
  c.push(pattern(10, 2));
  h.advance(50ms);
  EXPECT_EQ(h.drops(Drop::TcpPaws), 0u);
  auto out = c.out_track();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().ack, c.snd);
  EXPECT_EQ(out.back().opts.ts_ecr, 5u);
  skiff_close(c.fd);
}

TEST(TcpTimestamps, EchoTimesARetransmittedSegment) {
  // RFC 7323 §4: the echoed TSval names the transmission an ACK answers, so even the ACK of a
  // retransmission (which Karn's rule leaves untimed without timestamps) gives an RTT sample.
  StackHarness h;
  OpenOpts o;
  o.ts = true;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(info(c.fd).tcpi_rtt, 20000u);
  ASSERT_EQ(c.send(900), 900);  // (one segment: the MSS is 988 with timestamps)
  auto first = c.out_track();
  ASSERT_EQ(first.size(), 1u);
  std::vector<SentTcp> again;
  ASSERT_TRUE(advance_until_sent(h, 1s, again));  // the RTO (200 ms)
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(again[0].opts.has_timestamp);
  EXPECT_EQ(again[0].opts.ts_val - first[0].opts.ts_val, 200u);
  EXPECT_EQ(info(c.fd).tcpi_backoff, 1u);
  c.ts_ecr = again[0].opts.ts_val;
  h.advance(30ms);
  c.ts_val = 101;
  c.ack();
  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 21250u);   // 20 + (30 - 20) / 8 ms
  EXPECT_EQ(ti.tcpi_rttvar, 10000u);  // 3/4 * 10 + 1/4 * 10 ms
  EXPECT_EQ(ti.tcpi_rto, 200000u);  // recomputed (61.25 ms, raised to rto_min): the backoff is over
  skiff_close(c.fd);
}

TEST(TcpPaws, ReorderedDuplicateAckIsNotAnOldDuplicate) {
  // Two duplicate ACKs of the receiver swap places in the network: the second (TSval 201) arrives first
  // and becomes TS.Recent, so the first (TSval 200) fails PAWS as specified. A pure duplicate ACK that
  // changes neither sequence numbers nor window, within an RTO of TS.Recent, is let through (Linux's
  // tcp_disordered_ack): its SACK blocks count. Regression: it was dropped (and answered with an ACK), so
  // under reordering the SACK information of recovery went missing.
  StackHarness h;
  OpenOpts o;
  o.ts = true;
  o.sack = true;
  o.rtt = 20ms;
  Conn c = accept_conn(h, o);
  const uint32_t base = c.iss + 1;
  const uint32_t mss = info(c.fd).tcpi_snd_mss;  // 988: the timestamp option takes 12 bytes
  ASSERT_EQ(c.send(4 * mss), static_cast<ssize_t>(4 * mss));
  ASSERT_EQ(c.out_track().size(), 4u);
  h.advance(20ms);
  c.ts_val = 201;
  c.sack(base, {{base + mss, base + 2 * mss}});
  c.ts_val = 200;
  c.sack(base, {{base + mss, base + 3 * mss}});
  EXPECT_TRUE(c.out().empty());  // no retransmission yet (two SACKed segments), and no ACK in reply
  EXPECT_EQ(h.drops(Drop::TcpPaws), 0u);
  EXPECT_EQ(info(c.fd).tcpi_sacked, 2u);
  // Far older than an RTO (200 ms of the peer's millisecond clock), it is an old duplicate after all.
  c.ts_val = 201 - 1000;
  c.sack(base, {{base + mss, base + 4 * mss}});
  EXPECT_EQ(h.drops(Drop::TcpPaws), 1u);
  EXPECT_EQ(info(c.fd).tcpi_sacked, 2u);
  // So is an ACK that would move SND.UNA, or one that carries data, once its TSval is more than the one
  // tick of slack older (Linux's TCP_PAWS_WINDOW).
  c.ts_val = 199;
  c.ack(base + mss);
  c.push(pattern(10));
  EXPECT_EQ(h.drops(Drop::TcpPaws), 3u);
  EXPECT_EQ(info(c.fd).tcpi_unacked, 4u);
  skiff_close(c.fd);
}
