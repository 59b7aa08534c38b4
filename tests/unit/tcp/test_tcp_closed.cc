// CLOSED (RFC 9293 §3.10.7.1): a segment for no connection is answered with a RST: <SEQ=SEG.ACK><CTL=RST>
// if it has an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count in SEG.LEN); never a
// RST for a RST. FIN to a listener (LISTEN, §3.10.7.2) is dropped or reset the same way.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

SentTcp one(StackHarness& h) {
  auto out = out_of(h);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? SentTcp{} : out[0];
}

}  // namespace

TEST(TcpClosed, SynGetsRstAck) {
  StackHarness h;
  h.learn_peer();
  h.inject(tcp_frame(h, {.dport = 9999, .seq = 100, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  const SentTcp r = one(h);
  EXPECT_TRUE(r.checksum_ok);
  EXPECT_EQ(r.flags, tf::kRst | tf::kAck);
  EXPECT_EQ(r.seq, 0u);
  EXPECT_EQ(r.ack, 101u);
  EXPECT_EQ(r.sport, 9999);
  EXPECT_EQ(r.dport, kPeerPort);
  EXPECT_EQ(r.wnd, 0);
  EXPECT_TRUE(r.payload.empty());
  EXPECT_EQ(r.ip.src, StackHarness::kOurIp);
  EXPECT_EQ(r.ip.dst, StackHarness::kPeerIp);
  EXPECT_GT(r.ip.ttl, 0);
  EXPECT_EQ(h.drops(Drop::TcpNoSocket), 1u);
  EXPECT_EQ(h.shard().stats.tcp_no_port, 1u);
  EXPECT_EQ(h.shard().stats.tcp_out_rsts, 1u);
}

TEST(TcpClosed, SegLenCountsSynFinAndData) {
  StackHarness h;
  h.learn_peer();
  struct Case {
    uint8_t flags;
    size_t len;
    uint32_t ack;
  };
  const Case cases[] = {
      {tf::kSyn, 10, 311},  // SYN with data
      {tf::kPsh, 20, 320},  // data without ACK
      {tf::kFin, 0, 301},
      {tf::kFin | tf::kPsh, 5, 306},
      {0, 0, 300},  // no flags at all
  };
  for (const Case& k : cases) {
    h.inject(tcp_frame(h, {.dport = 9999, .seq = 300, .flags = k.flags, .payload = pattern(k.len)}));
    const SentTcp r = one(h);
    EXPECT_EQ(r.flags, tf::kRst | tf::kAck) << int(k.flags);
    EXPECT_EQ(r.seq, 0u);
    EXPECT_EQ(r.ack, k.ack) << int(k.flags);
  }
}

TEST(TcpClosed, SegmentWithAckGetsRstAtSegAck) {
  StackHarness h;
  h.learn_peer();
  for (uint8_t f : {uint8_t(tf::kAck), uint8_t(tf::kAck | tf::kPsh), uint8_t(tf::kAck | tf::kFin),
                    uint8_t(tf::kSyn | tf::kAck)}) {
    h.inject(tcp_frame(h, {.dport = 9999, .seq = 300, .ack = 0xfffffff0u, .flags = f, .payload = pattern(7)}));
    const SentTcp r = one(h);
    EXPECT_EQ(r.flags, tf::kRst) << int(f);
    EXPECT_EQ(r.seq, 0xfffffff0u);
    EXPECT_EQ(r.ack, 0u);
  }
}

TEST(TcpClosed, NeverARstForARst) {
  StackHarness h;
  h.learn_peer();
  h.inject(tcp_frame(h, {.dport = 9999, .seq = 300, .flags = tf::kRst}));
  h.inject(tcp_frame(h, {.dport = 9999, .seq = 300, .ack = 5, .flags = tf::kRst | tf::kAck}));
  h.inject(tcp_frame(h, {.dport = 9999, .seq = 300, .flags = tf::kRst | tf::kPsh, .payload = pattern(9)}));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.drops(Drop::TcpNoSocket), 3u);
  EXPECT_EQ(h.shard().stats.tcp_out_rsts, 0u);
}

TEST(TcpClosed, BoundButNotListeningIsClosed) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin_of(Ipv4Addr::any(), 7001);
  ASSERT_EQ(skiff_bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  h.inject(tcp_frame(h, {.dport = 7001, .seq = 50, .flags = tf::kSyn}));
  const SentTcp r = one(h);
  EXPECT_EQ(r.flags, tf::kRst | tf::kAck);
  EXPECT_EQ(r.ack, 51u);
  skiff_close(fd);
}

TEST(TcpClosed, ResetConnectionsTupleIsClosed) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.in(c.seg(tf::kRst));
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  // The socket still exists but the connection is CLOSED: the peer's next segment gets a RST.
  c.push(pattern(10));
  const SentTcp r = one(h);
  EXPECT_EQ(r.flags, tf::kRst);
  EXPECT_EQ(r.seq, c.nxt);
  ssize_t rc = 0;
  read_all(c.fd, &rc);
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ECONNRESET);
  skiff_close(c.fd);
  skiff_close(c.lfd);
}

TEST(TcpClosed, FinToAListener) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  // LISTEN: a FIN without ACK is neither SYN nor ACK nor RST: dropped. With ACK: <SEQ=SEG.ACK><RST>.
  h.inject(tcp_frame(h, {.seq = 10, .flags = tf::kFin}));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.drops(Drop::TcpBadFlags), 1u);
  h.inject(tcp_frame(h, {.seq = 10, .ack = 4242, .flags = tf::kFin | tf::kAck}));
  const SentTcp r = one(h);
  EXPECT_EQ(r.flags, tf::kRst);
  EXPECT_EQ(r.seq, 4242u);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(l);
}
