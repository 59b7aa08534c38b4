// TCP socket calls as Linux answers them: a connection reset before accept() is still handed out with what
// it received; a blocking write queues all of it; MSG_ERRQUEUE reads nothing from the stream; after the
// peer's FIN, recv() says end of stream whatever came next.
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpSocketCalls, ConnectionResetBeforeAcceptIsAcceptedWithItsData) {
  // Linux's tcp_done frees only an orphan: a child in the accept queue stays there, closed. A client that
  // writes its request and aborts (SO_LINGER 0) before the server accepts still has its request read.
  // Regression: the child was freed with its data, and accept() never saw the connection.
  StackHarness h;
  OpenOpts o;
  o.accept = false;
  Conn c = accept_conn(h, o);
  c.push(pattern(20));
  c.out();
  c.in(c.seg(tf::kRst));
  EXPECT_TRUE(c.out().empty());
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  c.fd = skiff_accept4(c.lfd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
  ASSERT_GE(c.fd, 0) << strerror(errno);
  EXPECT_EQ(ntohs(peer.sin_port), kPeerPort);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(skiff_getpeername(c.fd, reinterpret_cast<sockaddr*>(&peer), &plen), -1);  // (accept() named it)
  EXPECT_EQ(errno, ENOTCONN);
  ssize_t rc = 0;
  EXPECT_EQ(read_all(c.fd, &rc), pattern(20));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(errno, ECONNRESET);
  uint8_t b[4];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_DONTWAIT), 0);
  EXPECT_EQ(skiff_send(c.fd, b, sizeof b, MSG_DONTWAIT | MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(skiff_accept4(c.lfd, nullptr, nullptr, SOCK_NONBLOCK), -1);  // one connection, one accept
  EXPECT_EQ(errno, EAGAIN);
  skiff_close(c.fd);
  skiff_close(c.lfd);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 0u);
}

TEST(TcpSocketCalls, ListenerClosedWithAResetConnectionQueuedFreesIt) {
  StackHarness h;
  OpenOpts o;
  o.accept = false;
  Conn c = accept_conn(h, o);
  Conn e = c;
  e.pport = kPeerPort + 2;
  e.irs = e.snd = 9000;
  {
    TcpSpec syn = e.seg(tf::kSyn);
    syn.ack = 0;
    syn.opts = syn_options(OpenOpts{}, 0);
    e.in(syn);
    auto out = e.out();
    ASSERT_EQ(out.size(), 1u);
    e.iss = out[0].seq;
    e.snd = 9001;
    e.nxt = e.iss + 1;
    e.ack();
  }
  c.push(pattern(5));
  c.in(c.seg(tf::kRst));
  c.out();
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 3u);  // the listener, c (reset) and e, queued
  skiff_close(c.lfd);
  // The live one queued (e) is reset; the reset one (c) goes quietly.
  auto out = e.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kRst));
  EXPECT_EQ(out[0].dport, e.pport);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 0u);
}

TEST(TcpSocketCalls, BlockingSendQueuesAllOfIt) {
  // Linux's tcp_sendmsg waits for room (sk_stream_wait_memory) until the whole write is queued; a blocking
  // write returns short only when SO_SNDTIMEO runs out. Regression: it returned what the send buffer took.
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_fcntl(c.fd, F_SETFL, 0), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_SNDBUF, 4608), 0);
  Bytes got;
  int pumps = 0;
  h.shard().pump_hook = [&] {
    ++pumps;
    for (const auto& t : c.out_track()) got.insert(got.end(), t.payload.begin(), t.payload.end());
    c.ack();
  };
  const Bytes data = pattern(65536);
  EXPECT_EQ(skiff_send(c.fd, data.data(), data.size(), 0), 65536);
  EXPECT_GT(pumps, 0);
  h.shard().pump_hook = nullptr;
  for (int i = 0; i < 10; ++i) {
    for (const auto& t : c.out_track()) got.insert(got.end(), t.payload.begin(), t.payload.end());
    c.ack();
  }
  EXPECT_EQ(got, data);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, BlockingSendReturnsWhatWasQueuedWhenTheTimeoutEnds) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_fcntl(c.fd, F_SETFL, 0), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_SNDBUF, 4608), 0);
  const timeval tv{0, 300'000};
  ASSERT_EQ(skiff_setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  const Instant t0 = h.shard().now();
  h.shard().pump_hook = [&] { h.advance(10ms); };  // the peer never acknowledges
  const Bytes data = pattern(65536);
  const ssize_t n = skiff_send(c.fd, data.data(), data.size(), 0);
  h.shard().pump_hook = nullptr;
  EXPECT_GT(n, 0);
  EXPECT_LT(n, 65536);
  int queued = -1;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCOUTQ, &queued), 0);
  EXPECT_EQ(queued, n);  // the count is what was queued, nothing acknowledged
  EXPECT_GE(h.shard().now() - t0, 300ms);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, BlockingSendThatMeetsAResetReturnsTheCountAndKeepsTheError) {
  // Linux's sk_stream_wait_memory ends in do_error: the count copied so far, sk_err left for SO_ERROR and
  // the next call. Regression: the retry consumed the error, and the next send() said EPIPE.
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_fcntl(c.fd, F_SETFL, 0), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_SNDBUF, 4608), 0);
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps == 2) c.in(c.seg(tf::kRst));
    h.advance(1ms);
  };
  const Bytes data = pattern(65536);
  const ssize_t n = skiff_send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
  h.shard().pump_hook = nullptr;
  EXPECT_GT(n, 0);
  EXPECT_LT(n, 65536);
  EXPECT_EQ(so_error(c.fd), ECONNRESET);
  uint8_t b[4];
  EXPECT_EQ(skiff_send(c.fd, b, sizeof b, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, ErrQueueReadsNeitherTheStreamNorTheError) {
  // TCP keeps no error queue here: EAGAIN, and the data and SO_ERROR stay (Linux's inet_recv_error).
  // Regression: MSG_ERRQUEUE read (and consumed) stream data, and took the pending error.
  StackHarness h;
  Conn c = accept_conn(h);
  c.push(pattern(10));
  uint8_t buf[64];
  iovec v{buf, sizeof buf};
  msghdr m{};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  EXPECT_EQ(skiff_recvmsg(c.fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(read_all(c.fd), pattern(10));
  c.in(c.seg(tf::kRst));
  EXPECT_EQ(skiff_recvmsg(c.fd, &m, MSG_ERRQUEUE), -1);  // (blocking or not: it never waits)
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(so_error(c.fd), ECONNRESET);
  EXPECT_EQ(skiff_recvmsg(c.fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  // A listener: EAGAIN as well.
  EXPECT_EQ(skiff_recvmsg(c.lfd, &m, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, AfterThePeersFinRecvSaysEndOfStreamWhateverCameNext) {
  // Linux's tcp_recvmsg tests SOCK_DONE (the FIN came) before sk_err: a RST in CLOSE-WAIT leaves recv()
  // at 0 and the error for SO_ERROR and send(). Regression: recv() failed with EPIPE.
  StackHarness h;
  Conn c = accept_conn(h);
  c.push(pattern(3));
  c.fin();
  c.out();
  c.in(c.seg(tf::kRst));
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  ssize_t rc = -2;
  EXPECT_EQ(read_all(c.fd, &rc), pattern(3));
  EXPECT_EQ(rc, 0);
  uint8_t b[4];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_DONTWAIT), 0);
  EXPECT_EQ(so_error(c.fd), EPIPE);
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_DONTWAIT), 0);
  EXPECT_EQ(skiff_send(c.fd, b, sizeof b, MSG_DONTWAIT | MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, BlockingSendStopsWhenItsDescriptorIsReopenedMeanwhile) {
  // An event callback run while the write waits closes the descriptor and opens a new socket, which gets
  // the same number in the same slot. The write must not go on into the new socket. Regression: the wait
  // compared only the slot's Socket address, and the rest of the write went out as UDP datagrams.
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(skiff_fcntl(c.fd, F_SETFL, 0), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_SNDBUF, 4608), 0);
  int reopened = -1;
  h.shard().pump_hook = [&] {
    if (reopened >= 0) return;
    skiff_close(c.fd);
    reopened = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in to = sin_of(StackHarness::kPeerIp, 9);
    skiff_connect(reopened, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  };
  const Bytes data = pattern(65536);
  const ssize_t n = skiff_send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
  h.shard().pump_hook = nullptr;
  ASSERT_EQ(reopened, c.fd);
  EXPECT_GT(n, 0);  // what the first pass queued, before the wait
  EXPECT_LT(n, 65536);
  for (const Bytes& f : h.sent()) {
    ASSERT_GT(f.size(), 23u);
    EXPECT_NE(f[23], IPPROTO_UDP) << "the rest of the write went into the new socket";
  }
  skiff_close(reopened);
}

TEST(TcpSocketCalls, LoweringRcvlowatWakesAReaderItNowLetsIn) {
  // Linux's tcp_set_rcvlowat ends in tcp_data_ready: lowat 100 with 2 bytes queued shows nothing; lowered
  // to 1, epoll reports EPOLLIN at once (edge-triggered too). Regression: the data's wake had been harvested
  // while lowat held it back, and nothing was reported until more data came.
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVLOWAT, 100), 0);
  const int ep = skiff_epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = c.fd;
  ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev), 0);
  c.push(pattern(2));
  h.advance(0ms);
  EXPECT_EQ(skiff_epoll_wait(ep, &ev, 1, 0), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVLOWAT, 1), 0);
  h.advance(0ms);
  ASSERT_EQ(skiff_epoll_wait(ep, &ev, 1, 0), 1);
  EXPECT_TRUE(ev.events & EPOLLIN);
  skiff_close(ep);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, RcvlowatIsCappedAtHalfTheBufferItCouldHave) {
  // Linux's tcp_set_rcvlowat: at most half the locked SO_RCVBUF, else half the largest buffer (here
  // rmem_max), so that the window can ever bring that much; an unlocked buffer grows to hold it. A mark
  // above what the window can bring would hold the reader forever.
  StackHarness h;
  const int cap = h.shard().cfg.sock.rmem_max / 2;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVLOWAT, INT_MAX), 0);
  EXPECT_EQ(get_int(c.fd, SOL_SOCKET, SO_RCVLOWAT), cap);
  EXPECT_GE(get_int(c.fd, SOL_SOCKET, SO_RCVBUF), 2 * cap);
  Conn d = accept_another(c, kPeerPort + 1, 5000);
  ASSERT_EQ(set_int(d.fd, SOL_SOCKET, SO_RCVBUF, 10000), 0);  // locked: 20,000
  ASSERT_EQ(set_int(d.fd, SOL_SOCKET, SO_RCVLOWAT, 1'000'000), 0);
  EXPECT_EQ(get_int(d.fd, SOL_SOCKET, SO_RCVLOWAT), 10000);
  EXPECT_EQ(get_int(d.fd, SOL_SOCKET, SO_RCVBUF), 20000);
  ASSERT_EQ(set_int(d.fd, SOL_SOCKET, SO_RCVLOWAT, 0), 0);
  EXPECT_EQ(get_int(d.fd, SOL_SOCKET, SO_RCVLOWAT), 1);
  skiff_close(c.fd);
  skiff_close(d.fd);
}

TEST(TcpSocketCalls, AConnectedSocketStaysConnectedForConnectAndListenAfterAReset) {
  // Linux changes sock->state only in connect, accept and shutdown: after the peer resets an accepted
  // connection, connect() says EISCONN and listen() EINVAL; after shutdown(SHUT_WR) connect() says EISCONN.
  // Regression: the reset made the socket unconnected, so connect() silently opened a new connection from
  // the old port and listen() turned it into a listener; after SHUT_WR connect() said EINVAL.
  StackHarness h;
  Conn c = accept_conn(h);
  c.in(c.seg(tf::kRst));
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  const sockaddr_in peer = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(c.fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EISCONN);
  EXPECT_TRUE(c.out().empty());  // no SYN
  EXPECT_EQ(skiff_listen(c.fd, 4), -1);
  EXPECT_EQ(errno, EINVAL);
  skiff_close(c.fd);
  Conn d = accept_another(c, kPeerPort + 1, 5000);
  ASSERT_EQ(skiff_shutdown(d.fd, SHUT_WR), 0);
  EXPECT_EQ(skiff_connect(d.fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EISCONN);
  skiff_close(d.fd);
}

TEST(TcpSocketCalls, NonBlockingConnectResetBeforeItWasLookedAtReportsTheErrorThenStartsAfresh) {
  // Linux's socket stays SS_CONNECTING until connect() looks again: a connection reset after it completed
  // gives that call its error (ECONNRESET), and the socket is disconnected, so the call after connects anew.
  StackHarness h;
  Conn c = connect_conn(h);
  c.in(c.seg(tf::kRst));
  const sockaddr_in peer = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(c.fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_EQ(skiff_connect(c.fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags & tf::kSyn, tf::kSyn);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, FastOpenSendAfterANonBlockingConnectThatEndedReportsItsError) {
  // sendto(MSG_FASTOPEN) goes through __inet_stream_connect as connect() does: on a socket whose
  // non-blocking connect completed and was then reset, unlooked at, it gives the reset and disconnects.
  StackHarness h;
  Conn c = connect_conn(h);
  c.in(c.seg(tf::kRst));
  const sockaddr_in peer = sin_of(StackHarness::kPeerIp, kPeerPort);
  uint8_t b[4] = {1, 2, 3, 4};
  EXPECT_EQ(skiff_sendto(c.fd, b, sizeof b, MSG_FASTOPEN | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&peer),
                         sizeof peer),
            -1);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_TRUE(c.out().empty());
  // Disconnected: the next connect() starts afresh (it said EISCONN when the send left it connected).
  EXPECT_EQ(skiff_connect(c.fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, ShutdownLooksAtACompletedNonBlockingConnect) {
  // Linux's inet_shutdown turns a connecting socket whose connection completed into a connected one, so a
  // later connect() says EISCONN (not 0, as the first look after a non-blocking connect would).
  StackHarness h;
  Conn c = connect_conn(h);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  const sockaddr_in peer = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(c.fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), -1);
  EXPECT_EQ(errno, EISCONN);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, ReadableOnceTheWindowCannotBringTheRcvlowatMark) {
  // Linux's tcp_epollin_ready: below SO_RCVLOWAT the socket still polls readable when the window offered is
  // down to a segment or the receive memory is under pressure; else a reader waiting for the mark and a
  // sender waiting for the window would both wait for ever. Here SO_RCVBUF is lowered after the mark was
  // set, below what the mark needs (Linux does not lower the mark then either).
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVLOWAT, 4608), 0);
  ASSERT_EQ(get_int(c.fd, SOL_SOCKET, SO_RCVLOWAT), 4608);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVBUF, 1500), 0);  // 3,000
  const int ep = skiff_epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = c.fd;
  ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev), 0);
  int queued = 0;
  bool readable = false;
  for (int i = 0; i < 30 && !readable; ++i) {
    c.push(pattern(500));
    h.advance(50ms);
    c.out();
    ASSERT_EQ(skiff_ioctl(c.fd, SIOCINQ, &queued), 0);
    readable = skiff_epoll_wait(ep, &ev, 1, 0) == 1;
  }
  EXPECT_TRUE(readable);
  EXPECT_LT(queued, 4608);  // the mark was not reached
  EXPECT_GT(queued, 0);
  skiff_close(ep);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, AcceptedSocketsInheritRcvlowat) {
  // Linux's child is a copy of its listener (sk_clone_lock): SO_RCVLOWAT set on the listener carries over.
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.lfd, SOL_SOCKET, SO_RCVLOWAT, 300), 0);
  Conn d = accept_another(c, kPeerPort + 1, 5000);
  ASSERT_GE(d.fd, 0);
  EXPECT_EQ(get_int(d.fd, SOL_SOCKET, SO_RCVLOWAT), 300);
  EXPECT_EQ(get_int(c.fd, SOL_SOCKET, SO_RCVLOWAT), 1);  // (accepted before)
  skiff_close(c.fd);
  skiff_close(d.fd);
}

namespace {
// A blocking socket with SO_RCVTIMEO `ms`; `script` runs at each pump (the wait's iterations), after the
// manual clock moved 10 ms.
void blocking_with_timeout(int fd, int ms) {
  ASSERT_EQ(skiff_fcntl(fd, F_SETFL, 0), 0);
  const timeval tv{ms / 1000, (ms % 1000) * 1000};
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
}
}  // namespace

TEST(TcpSocketCalls, BlockingReadWaitsForTheRcvlowatMark) {
  // Linux's tcp_recvmsg: target = min(SO_RCVLOWAT, len). Measured: lowat 5 with 2 bytes queued waits out
  // SO_RCVTIMEO (1 s), then returns 2; with the rest arriving meanwhile it returns all at once.
  // Regression: a blocking read returned whatever was queued.
  StackHarness h;
  Conn c = accept_conn(h);
  blocking_with_timeout(c.fd, 1000);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVLOWAT, 5), 0);
  c.push(pattern(2));
  const Instant t0 = h.shard().now();
  h.shard().pump_hook = [&] { h.advance(10ms); };
  uint8_t b[16];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, 0), 2);
  EXPECT_GE(h.shard().now() - t0, 1000ms);
  // The rest comes at 300 ms: 2 + 4 bytes in one read, before the timeout.
  c.push(pattern(2));
  const Instant t1 = h.shard().now();
  h.shard().pump_hook = [&] {
    h.advance(10ms);
    if (h.shard().now() - t1 >= 300ms && h.shard().now() - t1 < 310ms) c.push(pattern(4));
  };
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, 0), 6);
  EXPECT_LT(h.shard().now() - t1, 1000ms);
  h.shard().pump_hook = nullptr;
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, WaitAllHasOneTimeoutForTheWholeCall) {
  // SO_RCVTIMEO bounds the whole call (Linux's sk_wait_data takes from one timeo). Measured: MSG_WAITALL of 5
  // with a byte every 0.6 s and a 1 s timeout returns 1 byte after 1.0 s. Regression: the timeout restarted
  // with each byte, and the call took 3 s and returned 5.
  StackHarness h;
  Conn c = accept_conn(h);
  blocking_with_timeout(c.fd, 1000);
  const Instant t0 = h.shard().now();
  Instant next = t0 + 600ms;
  h.shard().pump_hook = [&] {
    h.advance(10ms);
    if (h.shard().now() >= next) {
      c.push(pattern(1));
      next += 600ms;
    }
  };
  uint8_t b[5];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_WAITALL), 1);
  h.shard().pump_hook = nullptr;
  EXPECT_GE(h.shard().now() - t0, 1000ms);
  EXPECT_LT(h.shard().now() - t0, 1200ms);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, PeekWithWaitAllWaitsForAllOfIt) {
  // Linux's tcp_recvmsg applies MSG_WAITALL's target to MSG_PEEK too. Measured: a peek of 10 with 3 queued
  // waits; all 10 are peeked when the rest arrives (and stay queued), 3 after the timeout if it does not.
  // Regression: the peek returned 3 at once.
  StackHarness h;
  Conn c = accept_conn(h);
  blocking_with_timeout(c.fd, 1000);
  const Bytes data = pattern(10);
  c.push(Bytes(data.begin(), data.begin() + 3));
  const Instant t0 = h.shard().now();
  h.shard().pump_hook = [&] {
    h.advance(10ms);
    if (h.shard().now() - t0 >= 300ms && h.shard().now() - t0 < 310ms) c.push(Bytes(data.begin() + 3, data.end()));
  };
  uint8_t b[10];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_PEEK | MSG_WAITALL), 10);
  EXPECT_GE(h.shard().now() - t0, 300ms);
  EXPECT_EQ(Bytes(b, b + 10), data);
  h.shard().pump_hook = nullptr;
  int queued = 0;
  ASSERT_EQ(skiff_ioctl(c.fd, SIOCINQ, &queued), 0);
  EXPECT_EQ(queued, 10);
  // Nothing more comes: after the timeout, what is there.
  uint8_t big[20];
  const Instant t1 = h.shard().now();
  h.shard().pump_hook = [&] { h.advance(10ms); };
  EXPECT_EQ(skiff_recv(c.fd, big, sizeof big, MSG_PEEK | MSG_WAITALL), 10);
  EXPECT_GE(h.shard().now() - t1, 1000ms);
  h.shard().pump_hook = nullptr;
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, BlockingReadKeepsAnErrorThatCameAfterData) {
  // Linux's tcp_recvmsg breaks on sk_err once it copied something: the call returns the count, and the
  // error is the next call's. Regression: the wait's next read consumed the RST's error, and the next recv()
  // said 0 (end of stream) instead of ECONNRESET.
  StackHarness h;
  Conn c = accept_conn(h);
  blocking_with_timeout(c.fd, 1000);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVLOWAT, 10), 0);
  c.push(pattern(4));
  int pumps = 0;
  h.shard().pump_hook = [&] {
    h.advance(10ms);
    if (++pumps == 3) c.in(c.seg(tf::kRst));
  };
  uint8_t b[100];
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, MSG_WAITALL), 4);
  h.shard().pump_hook = nullptr;
  EXPECT_EQ(skiff_recv(c.fd, b, sizeof b, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  skiff_close(c.fd);
}

TEST(TcpSocketCalls, BlockingPeekOnAListenerAnswersAtOnce) {
  // Linux's tcp_recvmsg: ENOTCONN for a listener, whatever the flags, without waiting. Regression: a
  // blocking MSG_PEEK waited for bytes a listener never has (forever without SO_RCVTIMEO).
  StackHarness h;
  const int l = listen_on(kLocalPort, 4);
  ASSERT_EQ(skiff_fcntl(l, F_SETFL, 0), 0);
  int pumps = 0;
  h.shard().pump_hook = [&] {
    ++pumps;
    h.advance(10ms);
    if (pumps > 100) request_stop();
  };
  uint8_t b[4];
  EXPECT_EQ(skiff_recv(l, b, sizeof b, MSG_PEEK), -1);
  EXPECT_EQ(errno, ENOTCONN);
  EXPECT_EQ(pumps, 0);
  h.shard().pump_hook = nullptr;
  clear_stop();
  skiff_close(l);
}
