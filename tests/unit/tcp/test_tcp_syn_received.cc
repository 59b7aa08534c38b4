// SYN-RECEIVED (RFC 9293 §3.10.7.4): the passive side after its SYN-ACK. The third ACK completes the
// handshake; an unacceptable ACK gets <SEQ=SEG.ACK><RST>; a repeated SYN gets the SYN-ACK again; a RST at
// RCV.NXT returns to LISTEN silently; the SYN-ACK is retransmitted with backoff, then the attempt is
// forgotten.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

struct Half {
  int lfd;
  SentTcp synack;
};

// A listener on kLocalPort and a SYN from the peer (ISN 1000); returns the SYN-ACK.
Half half_open(StackHarness& h, uint32_t isn = 1000) {
  h.learn_peer();
  Half r{listen_on(), {}};
  h.inject(tcp_frame(h, {.seq = isn, .flags = tf::kSyn, .opts = mss_opt(1000)}));
  auto out = out_of(h);
  EXPECT_EQ(out.size(), 1u);
  if (!out.empty()) r.synack = out[0];
  return r;
}

int try_accept(int lfd) { return skiff_accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK); }

}  // namespace

TEST(TcpSynReceived, ThirdAckCompletes) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  EXPECT_EQ(sa.flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(sa.ack, 1001u);
  EXPECT_EQ(sa.wnd, 65535);
  ASSERT_TRUE(sa.opts.mss);
  EXPECT_EQ(*sa.opts.mss, 1460);
  EXPECT_EQ(try_accept(lfd), -1);  // not before the handshake completes
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck}));
  EXPECT_TRUE(out_of(h).empty());
  const int fd = try_accept(lfd);
  ASSERT_GE(fd, 0);
  const tcp_info ti = info(fd);
  EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(ti.tcpi_snd_mss, 1000u);
  EXPECT_EQ(h.shard().stats.tcp_passive_opens, 1u);
  skiff_close(fd);
  skiff_close(lfd);
}

TEST(TcpSynReceived, ThirdAckWithDataIsDelivered) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  const Bytes d = pattern(100, 2);
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck | tf::kPsh, .payload = d}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, sa.seq + 1);
  EXPECT_EQ(out[0].ack, 1101u);
  const int fd = try_accept(lfd);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read_all(fd), d);
  skiff_close(fd);
  skiff_close(lfd);
}

TEST(TcpSynReceived, BadAckGetsRstAndKeepsTheHalfOpenConnection) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  // SND.UNA < SEG.ACK =< SND.NXT fails: <SEQ=SEG.ACK><CTL=RST>.
  for (uint32_t a : {sa.seq, sa.seq + 2, sa.seq - 5000}) {
    h.inject(tcp_frame(h, {.seq = 1001, .ack = a, .flags = tf::kAck}));
    auto out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags, tf::kRst);
    EXPECT_EQ(out[0].seq, a);
  }
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 3u);
  EXPECT_EQ(try_accept(lfd), -1);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  // A segment without ACK is dropped.
  h.inject(tcp_frame(h, {.seq = 1001, .flags = tf::kPsh, .payload = pattern(5)}));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.drops(Drop::TcpNoAck), 1u);
  // The right ACK still completes.
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck}));
  EXPECT_TRUE(out_of(h).empty());
  const int fd = try_accept(lfd);
  EXPECT_GE(fd, 0);
  skiff_close(fd);
  skiff_close(lfd);
}

TEST(TcpSynReceived, RetransmittedSynGetsSynAckAgain) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  // The peer lost our SYN-ACK and repeats its SYN: the same SYN-ACK again, no second connection.
  h.inject(tcp_frame(h, {.seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].seq, sa.seq);
  EXPECT_EQ(out[0].ack, 1001u);
  ASSERT_TRUE(out[0].opts.mss);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck}));
  const int fd = try_accept(lfd);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(try_accept(lfd), -1);
  skiff_close(fd);
  skiff_close(lfd);
}

TEST(TcpSynReceived, RstAtRcvNxtReturnsToListenSilently) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  h.inject(tcp_frame(h, {.seq = 1001, .flags = tf::kRst}));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);  // only the listener
  EXPECT_EQ(try_accept(lfd), -1);
  EXPECT_EQ(errno, EAGAIN);
  // The listener goes on: the same 4-tuple connects again.
  h.inject(tcp_frame(h, {.seq = 90000, .flags = tf::kSyn}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].ack, 90001u);
  skiff_close(lfd);
}

TEST(TcpSynReceived, RstNotAtRcvNxtGetsChallengeAck) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  h.inject(tcp_frame(h, {.seq = 1050, .flags = tf::kRst}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, sa.seq + 1);
  EXPECT_EQ(out[0].ack, 1001u);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  EXPECT_EQ(h.drops(Drop::TcpRstNotExact), 1u);
  skiff_close(lfd);
}

TEST(TcpSynReceived, SynAckRetransmittedThenGivesUp) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  // synack_retries = 5: SYN-ACKs at 1, 3, 7, 15, 31 s; at 63 s the attempt is dropped without a RST.
  const int64_t expect_ms[] = {1000, 2000, 4000, 8000, 16000};
  for (int64_t ms : expect_ms) {
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 100s, got);
    ASSERT_TRUE(t);
    const int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(*t).count();
    EXPECT_GE(took, ms);
    EXPECT_LE(took, ms + 2);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags, tf::kSyn | tf::kAck);
    EXPECT_EQ(got[0].seq, sa.seq);
    EXPECT_EQ(got[0].ack, 1001u);
  }
  h.advance(31s);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(1s + 2ms);
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
  // A late ACK now finds only the listener: RST.
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].seq, sa.seq + 1);
  skiff_close(lfd);
}

TEST(TcpSynReceived, FinWithTheThirdAckGoesToCloseWait) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  const Bytes d = pattern(10, 6);
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck | tf::kFin, .payload = d}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 1012u);  // data + FIN
  const int fd = try_accept(lfd);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(state_of(fd), TCP_CLOSE_WAIT);
  ssize_t rc = 1;
  EXPECT_EQ(read_all(fd, &rc), d);
  EXPECT_EQ(rc, 0);  // EOF
  skiff_close(fd);
  skiff_close(lfd);
}

TEST(TcpSynReceived, SynInWindowGetsChallengeAck) {
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  // A SYN with another sequence number inside the window (RFC 5961 §4.2): challenge ACK, no reset.
  h.inject(tcp_frame(h, {.seq = 1500, .flags = tf::kSyn}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 1001u);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  skiff_close(lfd);
}

TEST(TcpSynReceived, RepeatedSynsDrawAtMostOneSynAckPerHalfSecond) {
  // As Linux's tcp_check_req (tcp_oow_rate_limited): a repeated SYN gets the SYN-ACK again at most once per
  // 500 ms, so a flood of copies of one SYN draws no flood of SYN-ACKs.
  StackHarness h;
  auto [lfd, sa] = half_open(h);
  const Bytes syn = tcp_frame(h, {.seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1000)});
  auto syns = [&](int n) {
    for (int i = 0; i < n; ++i) h.inject(syn);
    return out_of(h);
  };
  auto out = syns(10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].seq, sa.seq);
  h.advance(499ms);
  EXPECT_TRUE(syns(10).empty());
  h.advance(1ms);
  EXPECT_EQ(syns(10).size(), 1u);
  EXPECT_EQ(h.shard().stats.tcp_retrans_segs, 2u);
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck}));
  const int fd = try_accept(lfd);
  EXPECT_GE(fd, 0);
  skiff_close(fd);
  skiff_close(lfd);
}
