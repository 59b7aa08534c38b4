// FIN-WAIT-2 (RFC 9293 §3.10.7.4): our FIN is acknowledged; the peer may still send. Its FIN leads to
// TIME-WAIT and is ACKed at once; an orphaned connection (closed socket) gives up after fin_timeout.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

Conn fin_wait_2(StackHarness& h, bool orphan) {
  Conn c = accept_conn(h);
  if (orphan) {
    EXPECT_EQ(skiff_close(c.fd), 0);
  } else {
    EXPECT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  }
  EXPECT_EQ(c.out_track().size(), 1u);
  c.ack();
  EXPECT_TRUE(c.out().empty());
  if (!orphan) {
    EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  }
  return c;
}

}  // namespace

TEST(TcpFinWait2, FinGoesToTimeWaitAndIsAcked) {
  StackHarness h;
  Conn c = fin_wait_2(h, false);
  c.fin();
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  ssize_t rc = 1;
  read_all(c.fd, &rc);
  EXPECT_EQ(rc, 0);
  skiff_close(c.fd);
}

TEST(TcpFinWait2, HalfCloseStillReceives) {
  StackHarness h;
  Conn c = fin_wait_2(h, false);
  c.push(pattern(300, 1));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1301u);
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(read_all(c.fd), pattern(300, 1));
  // Data and FIN in one segment: one ACK covering both.
  c.fin(pattern(50, 2));
  out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1352u);
  ssize_t rc = 1;
  EXPECT_EQ(read_all(c.fd, &rc), pattern(50, 2));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(state_of(c.fd), TCP_TIME_WAIT);
  skiff_close(c.fd);
}

TEST(TcpFinWait2, OrphanGivesUpAfterFinTimeout) {
  StackHarness h;
  Conn c = fin_wait_2(h, true);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(59s + 990ms);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(12ms);
  EXPECT_TRUE(c.out().empty());  // silently (as Linux with tcp_fin_timeout = 60 s)
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
  skiff_close(c.lfd);
}

// TCP_LINGER2 as Linux: the orphan's FIN-WAIT-2 lifetime in seconds (at most 120; unset it reads the stack's
// fin_timeout, 60); -1 resets instead of waiting for the peer's FIN at all.
TEST(TcpFinWait2, Linger2SetsTheOrphansLifetime) {
  StackHarness h;
  Conn c = accept_conn(h);
  int v = 0;
  socklen_t l = sizeof v;
  ASSERT_EQ(skiff_getsockopt(c.fd, IPPROTO_TCP, TCP_LINGER2, &v, &l), 0);
  EXPECT_EQ(v, 60);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_LINGER2, 1000), 0);
  ASSERT_EQ(skiff_getsockopt(c.fd, IPPROTO_TCP, TCP_LINGER2, &v, &l), 0);
  EXPECT_EQ(v, 120);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_LINGER2, -7), 0);
  ASSERT_EQ(skiff_getsockopt(c.fd, IPPROTO_TCP, TCP_LINGER2, &v, &l), 0);
  EXPECT_EQ(v, -1);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_LINGER2, 5), 0);
  ASSERT_EQ(skiff_close(c.fd), 0);
  EXPECT_EQ(c.out_track().size(), 1u);  // FIN
  c.ack();                               // FIN-WAIT-2, orphaned
  h.advance(4s + 990ms);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(12ms);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(c.lfd);
}

TEST(TcpFinWait2, Linger2MinusOneResetsInsteadOfWaiting) {
  {
    // Closed in FIN-WAIT-2 (after SHUT_WR): RST at once (Linux's tcp_close).
    StackHarness h;
    Conn c = fin_wait_2(h, false);
    ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_LINGER2, -1), 0);
    ASSERT_EQ(skiff_close(c.fd), 0);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags, tf::kRst | tf::kAck);
    EXPECT_EQ(h.shard().tcp.connections(), 0u);
    skiff_close(c.lfd);
  }
  {
    // Closed in ESTABLISHED: the FIN goes, and its ACK ends the orphan (Linux's tcp_rcv_state_process).
    StackHarness h;
    Conn c = accept_conn(h);
    ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_LINGER2, -1), 0);
    ASSERT_EQ(skiff_close(c.fd), 0);
    EXPECT_EQ(c.out_track().size(), 1u);
    c.ack();
    EXPECT_TRUE(c.out().empty());
    EXPECT_EQ(h.shard().tcp.connections(), 0u);
    skiff_close(c.lfd);
  }
}

TEST(TcpFinWait2, OrphanStillTakesTheFinIntoTimeWait) {
  StackHarness h;
  Conn c = fin_wait_2(h, true);
  h.advance(10s);
  c.fin();
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 1002u);
  // Now the TIME-WAIT clock runs: 60 s from here, not from the FIN-WAIT-2 deadline.
  h.advance(55s);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  h.advance(5s + 2ms);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
  skiff_close(c.lfd);
}

TEST(TcpFinWait2, RstAtRcvNxtResets) {
  StackHarness h;
  Conn c = fin_wait_2(h, false);
  c.in(c.seg(tf::kRst));
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  ssize_t rc = 0;
  read_all(c.fd, &rc);
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ECONNRESET);
  skiff_close(c.fd);
}

TEST(TcpFinWait2, DataForAnOrphanIsAnsweredWithRstAndNothingTouchesItAfter) {
  // An orphan in FIN-WAIT-2 gets data: nobody can read it, so RST and the connection is gone (freed, in the
  // middle of the segment's processing); nothing may read it after that. Regression: the input path read
  // sk->state and tp->orphan of the freed socket. With the TCP slab off the socket comes from (and goes
  // back to) the general allocator, where a sanitizer or allocator debugging can see such a read.
  HarnessOptions ho;
  ho.cfg.sock.tcp_slab = 0;
  StackHarness h(ho);
  Conn c = fin_wait_2(h, true);
  EXPECT_EQ(h.shard().tcp.connections(), 1u);
  c.push(pattern(100));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);  // at the segment's ACK number, as Linux's tcp_v4_send_reset
  EXPECT_EQ(out[0].seq, c.iss + 2);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);  // the listener
  h.advance(61s);
  EXPECT_TRUE(c.out().empty());  // no timer of it is left either
  skiff_close(c.lfd);
}

// RFC 1122 §4.2.2.13, as Linux's tcp_rcv_state_process: a connection that shut down both ways (it sent its
// FIN and reads nothing more) resets on new data, and the application still holding it reads ECONNRESET.
// A connection that only shut down writing takes the data in (a half-close), and so does one that only shut
// down reading, in ESTABLISHED.
TEST(TcpFinWait2, DataAfterShutdownOfBothSidesResets) {
  for (int how : {SHUT_RDWR, SHUT_WR}) {
    StackHarness h;
    Conn c = accept_conn(h);
    if (how == SHUT_RDWR) {
      ASSERT_EQ(skiff_shutdown(c.fd, SHUT_RD), 0);
      ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
    } else {
      ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
    }
    ASSERT_EQ(c.out_track().size(), 1u);  // the FIN
    c.ack();
    ASSERT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
    // Old data again is no new data: acknowledged either way.
    TcpSpec old = c.seg(tf::kAck, pattern(10));
    old.seq = c.snd - 10;
    c.in(old);
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags, tf::kAck);
    c.push(pattern(100));
    out = c.out();
    ASSERT_EQ(out.size(), 1u) << how;
    if (how == SHUT_RDWR) {
      EXPECT_EQ(out[0].flags, tf::kRst);
      EXPECT_EQ(out[0].seq, c.iss + 2);  // the segment's ACK number: the peer takes it at once
      EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
      const int ep = skiff_epoll_create(1);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev), 0);
      epoll_event got{};
      ASSERT_EQ(skiff_epoll_wait(ep, &got, 1, 0), 1);
      EXPECT_TRUE(got.events & EPOLLERR);
      EXPECT_TRUE(got.events & EPOLLHUP);
      skiff_close(ep);
      uint8_t buf[200];
      EXPECT_EQ(skiff_recv(c.fd, buf, sizeof buf, MSG_DONTWAIT), -1);
      EXPECT_EQ(errno, ECONNRESET);
      EXPECT_EQ(skiff_recv(c.fd, buf, sizeof buf, MSG_DONTWAIT), 0);
    } else {
      EXPECT_EQ(out[0].flags, tf::kAck);
      EXPECT_EQ(out[0].ack, c.snd);
      EXPECT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
      uint8_t buf[200];
      EXPECT_EQ(skiff_recv(c.fd, buf, sizeof buf, MSG_DONTWAIT), 100);
    }
    skiff_close(c.fd);
    skiff_close(c.lfd);
  }
  // Reading shut down, writing not: the data is taken and acknowledged (Linux's tcp_data_queue).
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_RD), 0);
  c.push(pattern(100));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
  skiff_close(c.lfd);
}

// The same with our window closed: a one-byte zero-window probe is new data too (Linux tests the segment as
// it came, before any trimming to the window), so the connection resets instead of sitting in FIN-WAIT-2
// acknowledging probes for ever.
TEST(TcpFinWait2, AZeroWindowProbeAfterShutdownOfBothSidesResets) {
  StackHarness h;
  OpenOpts o;
  o.rcvbuf = 4096;  // 8192 bytes
  Conn c = connect_conn(h, o);
  for (int i = 1; i <= 8; ++i) {
    c.push(pattern(1024, static_cast<uint8_t>(i)));
    auto out = c.out();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].wnd, 8192 - 1024 * i);
  }
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_RDWR), 0);
  ASSERT_EQ(c.out_track().size(), 1u);  // the FIN (with a zero window)
  c.ack();
  ASSERT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  c.push(pattern(1));
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(so_error(c.fd), ECONNRESET);
  skiff_close(c.fd);
}

// A FIN beyond RCV.NXT (data before it lost) counts as new data there: Linux resets on anything whose end,
// its FIN left out, lies past RCV.NXT.
TEST(TcpFinWait2, AFinPastAHoleAfterShutdownOfBothSidesResets) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_RDWR), 0);
  ASSERT_EQ(c.out_track().size(), 1u);
  c.ack();
  ASSERT_EQ(state_of(c.fd), TCP_FIN_WAIT2);
  TcpSpec f = c.seg(tf::kAck | tf::kFin);
  f.seq = c.snd + 100;
  c.in(f);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(so_error(c.fd), ECONNRESET);
  skiff_close(c.fd);
  skiff_close(c.lfd);
}
