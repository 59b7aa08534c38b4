// Malformed segments (the list): data offset < 5 or past the segment, a header cut short, option
// lengths 0/1 or running past the header, MSS 0, SYN+FIN, SYN+RST, URG with a zero pointer, ACK beyond
// SND.NXT, sequence numbers across the 2^32 wrap, a bad checksum. Each is dropped and counted under its
// reason (MSS 0 is clamped instead), nothing is sent where nothing is due, and the connection is unaffected.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// The connection still works: in-order data is taken and ACKed, our data goes out.
void still_works(Conn& c) {
  const uint32_t before = c.snd;
  c.push(pattern(33, 77));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, before + 33);
  EXPECT_EQ(read_all(c.fd), pattern(33, 77));
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  EXPECT_EQ(so_error(c.fd), 0);
}

// Checks that exactly `n` segments were dropped for `why` and nothing else.
void dropped(StackHarness& h, Drop why, uint64_t n) {
  EXPECT_EQ(h.drops(why), n) << drop_name(why);
  EXPECT_EQ(h.total_drops(), n) << "other drops counted";
}

}  // namespace

TEST(TcpBadInput, DataOffsetBelowFive) {
  StackHarness h;
  Conn c = accept_conn(h);
  for (uint8_t off : {0, 1, 4}) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(40));
    s.data_offset = off;
    c.in(s);
  }
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpBadHeaderLen, 3);
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, DataOffsetPastTheSegment) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
  s.data_offset = 15;  // 60 bytes of header in a 30-byte segment
  c.in(s);
  TcpSpec bare = c.seg(tf::kAck);
  bare.data_offset = 6;  // 24 bytes of header in a 20-byte segment
  c.in(bare);
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpBadHeaderLen, 2);
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, HeaderCutShort) {
  StackHarness h;
  Conn c = accept_conn(h);
  const Bytes full = tcp_seg(c.seg(tf::kAck));
  for (size_t n : {0u, 1u, 12u, 19u}) {
    const Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
    h.inject(h.from_peer(ipv4(Ipv4Spec{.src = StackHarness::kPeerIp, .dst = StackHarness::kOurIp, .proto = 6}, cut)));
  }
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpTruncated, 4);
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, BadOptionLengths) {
  StackHarness h;
  Conn c = accept_conn(h);
  const Bytes bad[] = {
      {2, 0, 0, 0},              // MSS with length 0
      {8, 1, 0, 0},              // timestamp with length 1
      {1, 1, 3, 8},              // window scale claiming 8 bytes in 2
      {1, 1, 1, 2},              // a kind with no room for its length
      {2, 3, 5, 0},              // MSS with length 3
      {1, 1, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0},  // timestamp running past the header
  };
  for (const Bytes& o : bad) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
    s.raw_options = o;
    c.in(s);
  }
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpBadOption, std::size(bad));
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  // The same options on a SYN to the listener: no SYN-ACK, no half-open connection.
  for (const Bytes& o : bad) {
    TcpSpec s{.sport = 41000, .seq = 7, .flags = tf::kSyn};
    s.raw_options = o;
    c.in(s);
  }
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.drops(Drop::TcpBadOption), 2 * std::size(bad));
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, UnknownAndPaddedOptionsAreFine) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10, 4));
  s.raw_options = {1, 1, 99, 4, 7, 7, 0, 0};  // NOP, NOP, unknown kind 99 (4 bytes), EOL
  c.in(s);
  c.snd += 10;
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.total_drops(), 0u);
  EXPECT_EQ(read_all(c.fd), pattern(10, 4));
  skiff_close(c.fd);
}

TEST(TcpBadInput, MssZeroIsClampedNotFatal) {
  StackHarness h;
  OpenOpts o;
  o.mss = 0;
  Conn c = accept_conn(h, o);
  ASSERT_GE(c.fd, 0);
  EXPECT_EQ(info(c.fd).tcpi_snd_mss, 88u);  // mss_min
  EXPECT_EQ(h.total_drops(), 0u);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(c.send(200), 200);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload.size(), 88u);
  EXPECT_EQ(out[1].payload.size(), 88u);
  EXPECT_EQ(out[2].payload.size(), 24u);
  c.ack();
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, SynWithFinOrRst) {
  StackHarness h;
  Conn c = accept_conn(h);
  // On the connection, to the listener (new port), and to a closed port: dropped, never answered.
  const uint8_t flags[] = {tf::kSyn | tf::kFin, tf::kSyn | tf::kRst, tf::kSyn | tf::kFin | tf::kAck,
                           tf::kSyn | tf::kRst | tf::kAck};
  for (uint8_t f : flags) {
    c.in(c.seg(f));
    c.in(TcpSpec{.sport = 41000, .seq = 5, .flags = f});
    c.in(TcpSpec{.sport = 41000, .dport = 9999, .seq = 5, .flags = f});
  }
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpBadFlags, 3 * std::size(flags));
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  EXPECT_EQ(h.shard().stats.tcp_in_rsts, 0u);
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, UrgentPointerZero) {
  // (A pointer past the data is legal: test_tcp_urgent_pointer.cc.)
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec s = c.seg(tf::kAck | tf::kPsh | tf::kUrg, pattern(10));
  s.urg = 0;  // URG with a zero pointer
  c.in(s);
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpBadUrgent, 1);
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  // A pointer inside the data is fine; urgent data is read inline.
  s.urg = 10;
  c.in(s);
  c.snd += 10;
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(read_all(c.fd), pattern(10));
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, AckBeyondSndNxt) {
  StackHarness h;
  Conn c = accept_conn(h);
  for (uint32_t a : {c.nxt + 1, c.nxt + 0x7fffffffu}) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
    s.ack = a;
    c.in(s);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags, tf::kAck);
    EXPECT_EQ(out[0].ack, c.snd);
    h.advance(500ms);  // (the ACK is a challenge ACK: one per 500 ms)
  }
  dropped(h, Drop::TcpBadAck, 2);
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, SequenceNumbersAcrossTheWrap) {
  StackHarness h;
  OpenOpts o;
  o.peer_isn = 0xfffffff0u;
  Conn c = accept_conn(h, o);
  // The first segment straddles 2^32.
  c.push(pattern(100, 1));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0x55u);  // 0xfffffff1 + 100
  EXPECT_EQ(read_all(c.fd), pattern(100, 1));
  // Half the sequence space away, on either side: outside the window, ACKed and dropped.
  for (uint32_t seq : {c.snd + 0x80000000u, c.snd + 0x7fffffffu, c.snd - 0x7fffffffu, 0xfffffff1u}) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
    s.seq = seq;
    c.in(s);
    out = c.out();
    ASSERT_EQ(out.size(), 1u) << seq;
    EXPECT_EQ(out[0].ack, 0x55u);
  }
  dropped(h, Drop::TcpOutOfWindow, 4);
  // ACK numbers half the space away from SND.UNA: never taken as acknowledging anything.
  for (uint32_t a : {c.nxt + 0x80000000u, c.nxt - 0x80000000u + 1}) {
    TcpSpec s = c.seg(tf::kAck);
    s.ack = a;
    c.in(s);
  }
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 2u);
  c.out();
  still_works(c);
  skiff_close(c.fd);
}

TEST(TcpBadInput, BadChecksum) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(10));
  s.bad_checksum = true;
  c.in(s);
  TcpSpec syn{.sport = 41000, .seq = 5, .flags = tf::kSyn, .bad_checksum = true};
  c.in(syn);
  TcpSpec rst = c.seg(tf::kRst);
  rst.bad_checksum = true;
  c.in(rst);
  EXPECT_TRUE(c.out().empty());
  dropped(h, Drop::TcpBadChecksum, 3);
  still_works(c);
  skiff_close(c.fd);
}

// Peers announcing the smallest MSS (88 bytes) make every queued buffer carry that little: the send queues'
// guard (they may not take the pool's last quarter, or the shard could no longer receive the ACKs that
// free them) must count buffers, not bytes. Found by fuzz_tcp_state: three connections, each under 64 KiB
// of queued data, emptied a 4,095-buffer pool.
TEST(TcpBadInput, TinyMssPeersCannotEmptyThePoolThroughOurSendQueues) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(kLocalPort, 64);
  const unsigned capacity = h.shard().pool.capacity();
  std::vector<int> fds;
  uint32_t iss0 = 0;
  for (uint16_t i = 0; i < 16; ++i) {
    const uint16_t pport = static_cast<uint16_t>(41000 + i);
    h.inject(tcp_frame(h, TcpSpec{.sport = pport, .dport = kLocalPort, .seq = 1000, .flags = tf::kSyn,
                                  .opts = mss_opt(88)}));
    auto out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    if (i == 0) iss0 = out[0].seq;
    h.inject(tcp_frame(h, TcpSpec{.sport = pport, .dport = kLocalPort, .seq = 1001, .ack = out[0].seq + 1,
                                  .flags = tf::kAck}));
    const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  // Each queues 60,000 bytes (under 64 KiB; 682 buffers): 16 of them would need more than the pool.
  const Bytes data = pattern(60000);
  size_t queued = 0;
  for (int fd : fds) {
    const ssize_t n = skiff_send(fd, data.data(), data.size(), MSG_DONTWAIT);
    if (n > 0) queued += static_cast<size_t>(n);
    (void)out_of(h);
  }
  EXPECT_LT(queued, 16u * 60000) << "the guard stopped the writers";
  EXPECT_LE(h.buffers_in_use(), capacity - capacity / 4 + 16) << "a quarter of the pool stays free";
  // The shard still receives: an ACK on the first connection is taken (no NoMbuf drop).
  const uint64_t nombuf = h.drops(Drop::NoMbuf);
  h.inject(tcp_frame(h, TcpSpec{.sport = 41000, .dport = kLocalPort, .seq = 1001, .ack = iss0 + 1,
                                .flags = tf::kAck, .payload = pattern(10)}));
  EXPECT_EQ(h.drops(Drop::NoMbuf), nombuf);
  EXPECT_EQ(read_all(fds[0]).size(), 10u);
}
