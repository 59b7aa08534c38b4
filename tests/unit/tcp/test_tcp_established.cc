// ESTABLISHED (RFC 9293 §3.10.7.4): in-order data is delivered and ACKed with the right ACK number and
// window; duplicates are re-ACKed; out-of-order data is queued with an immediate duplicate ACK and ACKed
// cumulatively once the hole fills; sequence numbers wrap at 2^32; reading reopens the window.
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpEstablished, InOrderDataIsDeliveredAndAcked) {
  StackHarness h;
  Conn c = accept_conn(h);
  Bytes all;
  for (size_t n : {100u, 200u, 300u}) {
    const Bytes d = pattern(n, static_cast<uint8_t>(n));
    c.push(d);
    for (uint8_t b : d) all.push_back(b);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);  // quick ACKs while the connection starts
    EXPECT_EQ(out[0].flags, tf::kAck);
    EXPECT_EQ(out[0].seq, c.iss + 1);
    EXPECT_EQ(out[0].ack, c.snd);
    EXPECT_EQ(out[0].wnd, 65535);
    EXPECT_TRUE(out[0].payload.empty());
  }
  EXPECT_EQ(c.snd, 1601u);
  int inq = -1;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCINQ, &inq), 0);
  EXPECT_EQ(inq, 600);
  EXPECT_EQ(read_all(c.fd), all);
  skiff_close(c.fd);
}

TEST(TcpEstablished, OurDataIsSentInMssSegmentsAndAcked) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(2500), 2500);
  // Two full segments and the 500-byte tail, with PSH (Nagle in Minshall's form holds a small segment only
  // behind another small one: none is in flight).
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].seq, c.iss + 1 + 1000u * i);
    EXPECT_EQ(out[i].payload.size(), i < 2 ? 1000u : 500u);
    EXPECT_EQ(out[i].ack, 1001u);
    EXPECT_EQ(out[i].flags, i < 2 ? tf::kAck : tf::kAck | tf::kPsh);
  }
  EXPECT_EQ(c.nxt, c.iss + 2501);
  int outq = -1;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 2500);
  c.ack(c.iss + 1001);  // a partial ACK frees the first segment; data is still in flight
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 1500);
  EXPECT_TRUE(c.out().empty());
  c.ack();
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 0);
  EXPECT_TRUE(c.out().empty());  // pure ACKs are not answered
  skiff_close(c.fd);
}

TEST(TcpEstablished, DuplicateSegmentIsReAcked) {
  StackHarness h;
  Conn c = accept_conn(h);
  const Bytes d = pattern(100);
  c.push(d);
  ASSERT_EQ(c.out().size(), 1u);
  // The same segment again (our ACK was lost): an ACK of RCV.NXT, the data not delivered twice.
  TcpSpec dup = c.seg(tf::kAck | tf::kPsh, d);
  dup.seq = c.snd - 100;
  c.in(dup);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 1u);
  // An old, partly new segment: only the new bytes are taken.
  const Bytes more = pattern(100, 9);
  Bytes overlap(d.end() - 50, d.end());
  for (uint8_t b : more) overlap.push_back(b);
  TcpSpec part = c.seg(tf::kAck | tf::kPsh, overlap);
  part.seq = c.snd - 50;
  c.in(part);
  c.snd += 100;
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);
  Bytes want = d;
  for (uint8_t b : more) want.push_back(b);
  EXPECT_EQ(read_all(c.fd), want);
  skiff_close(c.fd);
}

TEST(TcpEstablished, SegmentBeyondTheWindowIsAckedAndDropped) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec far = c.seg(tf::kAck | tf::kPsh, pattern(10));
  far.seq = c.snd + 70000;  // past RCV.NXT + RCV.WND (65535)
  c.in(far);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.drops(Drop::TcpOutOfWindow), 1u);
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, EAGAIN);
  // A segment overlapping the right edge is trimmed to it.
  TcpSpec edge = c.seg(tf::kAck | tf::kPsh, pattern(100));
  edge.seq = c.snd + 65535 - 40;
  c.in(edge);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, c.snd);  // queued out of order, duplicate ACK
  EXPECT_EQ(h.shard().stats.tcp_ooo_segs, 1u);
  skiff_close(c.fd);
}

TEST(TcpEstablished, OutOfOrderIsQueuedThenAckedCumulatively) {
  StackHarness h;
  Conn c = accept_conn(h);
  const Bytes a = pattern(100, 1), b = pattern(100, 2), d = pattern(100, 3);
  const uint32_t base = c.snd;
  // b and d arrive before a: each gets an immediate duplicate ACK for `base`.
  TcpSpec sb = c.seg(tf::kAck | tf::kPsh, b);
  sb.seq = base + 100;
  TcpSpec sd = c.seg(tf::kAck | tf::kPsh, d);
  sd.seq = base + 200;
  c.in(sd);
  c.in(sb);
  auto out = c.out();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& t : out) {
    EXPECT_EQ(t.flags, tf::kAck);
    EXPECT_EQ(t.ack, base);
    EXPECT_EQ(t.seq, c.iss + 1);
  }
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  EXPECT_EQ(h.shard().stats.tcp_ooo_segs, 2u);
  // A duplicate of an out-of-order segment is not queued twice.
  c.in(sb);
  ASSERT_EQ(c.out().size(), 1u);
  // The hole fills: one cumulative ACK for everything.
  c.push(a);
  c.snd = base + 300;
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, base + 300);
  Bytes want = a;
  for (uint8_t x : b) want.push_back(x);
  for (uint8_t x : d) want.push_back(x);
  EXPECT_EQ(read_all(c.fd), want);
  skiff_close(c.fd);
}

TEST(TcpEstablished, OverlappingOutOfOrderSegmentsAreMerged) {
  StackHarness h;
  Conn c = accept_conn(h);
  const Bytes stream = pattern(400, 7);
  const uint32_t base = c.snd;
  auto piece = [&](uint32_t from, uint32_t to) {
    TcpSpec s = c.seg(tf::kAck, Bytes(stream.begin() + from, stream.begin() + to));
    s.seq = base + from;
    c.in(s);
  };
  piece(150, 300);
  piece(100, 200);  // overlaps the front of what is queued
  piece(250, 400);  // overlaps the back
  EXPECT_EQ(c.out().size(), 3u);
  piece(0, 120);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, base + 400);
  EXPECT_EQ(read_all(c.fd), stream);
  skiff_close(c.fd);
}

TEST(TcpEstablished, DataAcrossTheSequenceWrap) {
  StackHarness h;
  OpenOpts o;
  o.peer_isn = 0xffffff00u;  // the first data byte is 0xffffff01; the stream wraps after 255 bytes
  Conn c = accept_conn(h, o);
  EXPECT_EQ(c.snd, 0xffffff01u);
  Bytes all;
  const uint32_t expect_ack[] = {0xffffff65u, 0xffffffc9u, 0x0000002du, 0x00000091u};
  for (int i = 0; i < 4; ++i) {
    const Bytes d = pattern(100, static_cast<uint8_t>(i));
    c.push(d);
    for (uint8_t b : d) all.push_back(b);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, expect_ack[i]);
  }
  // Out of order across the wrap too: a segment at 0xf5, then the one before it.
  const Bytes late = pattern(100, 20), early = pattern(100, 21);
  TcpSpec s = c.seg(tf::kAck, late);
  s.seq = c.snd + 100;
  c.in(s);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0x91u);
  const uint32_t after_late = c.snd + 200;
  c.push(early);
  c.snd = after_late;
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0x91u + 200);
  for (uint8_t b : early) all.push_back(b);
  for (uint8_t b : late) all.push_back(b);
  EXPECT_EQ(read_all(c.fd), all);
  // An old segment from before the wrap is a duplicate, not new data.
  TcpSpec old = c.seg(tf::kAck, pattern(10));
  old.seq = 0xffffff10u;
  c.in(old);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0x91u + 200);
  ssize_t rc = 0;
  EXPECT_TRUE(read_all(c.fd, &rc).empty());
  // And the FIN after it.
  c.fin();
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0x91u + 201);
  skiff_close(c.fd);
}

TEST(TcpEstablished, WindowShrinksAsDataQueuesAndReopensAfterReading) {
  StackHarness h;
  OpenOpts o;
  o.rcvbuf = 4096;  // doubled, as Linux: 8192 bytes
  Conn c = connect_conn(h, o);
  int rb = 0;
  socklen_t rl = sizeof rb;
  ASSERT_EQ(skiff_getsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rb, &rl), 0);
  EXPECT_EQ(rb, 8192);
  for (int i = 1; i <= 8; ++i) {
    c.push(pattern(1000, static_cast<uint8_t>(i)));
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, c.snd);
    EXPECT_EQ(out[0].wnd, 8192 - 1000 * i);
  }
  c.push(pattern(192));
  h.advance(41ms);  // past the quick ACKs: a lone small segment is ACKed by the delayed-ACK timer
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wnd, 0);  // our window is closed
  // Reading a little reopens less than two segments: no update (receiver SWS avoidance).
  uint8_t buf[8192];
  ASSERT_EQ(skiff_recv(c.fd, buf, 500, MSG_DONTWAIT), 500);
  EXPECT_TRUE(c.out().empty());
  // Reading more does: a window update with the new right edge.
  ASSERT_EQ(skiff_recv(c.fd, buf, 2000, MSG_DONTWAIT), 2000);
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(out[0].wnd, 2500);
  skiff_close(c.fd);
}

TEST(TcpEstablished, PeerWindowLimitsWhatWeSend) {
  StackHarness h;
  OpenOpts o;
  o.wnd = 2000;
  Conn c = accept_conn(h, o);
  ASSERT_EQ(c.send(5000), 5000);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 2u);  // 2000 bytes of window
  EXPECT_EQ(c.nxt, c.iss + 2001);
  // ACK of the first segment with the same window slides it by one segment.
  c.ack(c.iss + 1001);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, c.iss + 2001);
  // A bigger window lets the rest go.
  c.wnd = 10000;
  c.ack(c.iss + 1001);
  out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(c.nxt, c.iss + 5001);
  skiff_close(c.fd);
}

// A payload leaves copied behind the header in one buffer, its checksum summed while copying (no reference
// into the send queue); one too large for the header buffer's room is referenced instead. Either way the
// bytes on the wire are the application's, checksummed, and a retransmission after an RTO carries them
// again (the send queue kept its own copy).
namespace {
void check_sent_and_resent(StackHarness& h, Conn& c, size_t n, int want_segs) {
  const uint8_t seed = static_cast<uint8_t>(n);
  ASSERT_EQ(c.send(n, seed), static_cast<ssize_t>(n));
  h.shard().flush();
  ASSERT_EQ(h.dev().tx.size(), 1u) << n;
  EXPECT_EQ(h.dev().tx.back()->nb_segs, want_segs) << n;
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u) << n;
  EXPECT_TRUE(out[0].checksum_ok) << n;
  EXPECT_EQ(out[0].payload, pattern(n, seed)) << n;
  // Lost: the RTO (backed off by earlier rounds' timeouts) sends the same bytes again.
  std::vector<SentTcp> again;
  for (int step = 0; step < 40 && again.empty(); ++step) {
    h.advance(500ms);
    again = c.out_track();
  }
  ASSERT_EQ(again.size(), 1u) << n;
  EXPECT_EQ(again[0].seq, out[0].seq) << n;
  EXPECT_TRUE(again[0].checksum_ok) << n;
  EXPECT_EQ(again[0].payload, pattern(n, seed)) << n;
  c.ack();
  EXPECT_TRUE(c.out().empty()) << n;
}
}  // namespace

TEST(TcpEstablished, PayloadsLeaveCopiedBehindTheHeader) {
  StackHarness h;
  Conn c = accept_conn(h);
  // Both sides of the 128-byte line where the checksum goes vector, odd lengths, a full segment.
  for (size_t n : {1u, 127u, 128u, 129u, 255u, 999u, 1000u}) check_sent_and_resent(h, c, n, 1);
  EXPECT_EQ(h.total_drops(), 0u);
  skiff_close(c.fd);
}

TEST(TcpEstablished, PayloadTooLargeForTheHeaderBufferIsReferenced) {
  HarnessOptions o;
  o.mtu = 9000;
  StackHarness h(o);
  Conn c = accept_conn(h, {.mss = 8960});
  // A send-queue segment fills its own buffer; the header buffer has that room less the headers.
  const size_t big = rte_pktmbuf_data_room_size(h.stack().pool(0).raw()) - RTE_PKTMBUF_HEADROOM;
  check_sent_and_resent(h, c, big, 2);
  EXPECT_EQ(h.total_drops(), 0u);
  skiff_close(c.fd);
}

// A bare ACK exactly at our window's right edge is taken (Linux's tcp_sequence; RFC 9293 asks for below
// it): a peer that filled our window and lost a segment sends its ACKs there, and they carry its
// acknowledgment of our data.
TEST(TcpEstablished, BareAckAtTheRightEdgeOfOurWindowIsTaken) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  const uint32_t wnd = out[0].wnd;  // (no window scaling)
  ASSERT_GT(wnd, 0u);
  c.in({.seq = c.snd + wnd, .ack = c.nxt, .flags = tf::kAck});
  EXPECT_TRUE(c.out().empty());  // no duplicate ACK: it was acceptable
  int outq = -1;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 0);  // and its ACK was processed
  // One past the edge is out of the window: answered with an ACK, its ACK field ignored.
  ASSERT_EQ(c.send(100), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  c.in({.seq = c.snd + wnd + 1, .ack = c.nxt, .flags = tf::kAck});
  EXPECT_EQ(c.out().size(), 1u);
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &outq), 0);
  EXPECT_EQ(outq, 100);
  skiff_close(c.fd);
}
