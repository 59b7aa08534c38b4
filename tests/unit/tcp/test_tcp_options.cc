// Socket options that change what goes on the wire: SO_LINGER 0 and close with unread data abort with RST;
// TCP_MAXSEG clamps the MSS (announced and used); a peer MSS below the floor (0 included) is raised to it;
// keepalive probes after TCP_KEEPIDLE, every TCP_KEEPINTVL, abort after TCP_KEEPCNT; TCP_INFO fields;
// TCP_SYNCNT and TCP_WINDOW_CLAMP.
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpOptions, LingerZeroCloseSendsRst) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(100), 100);
  c.out_track();
  const linger lg{1, 0};
  ASSERT_EQ(skiff_setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(skiff_close(c.fd), 0);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 101);
  EXPECT_EQ(out[0].ack, 1001u);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u);
  h.advance(10s);
  EXPECT_TRUE(c.out().empty());  // no retransmission, no FIN
  skiff_close(c.lfd);
}

TEST(TcpOptions, CloseWithUnreadDataSendsRst) {
  StackHarness h;
  Conn c = accept_conn(h);
  c.push(pattern(100));
  c.out();
  ASSERT_EQ(skiff_close(c.fd), 0);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst | tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, 1101u);
  EXPECT_EQ(h.shard().stats.tcp_abort_on_close, 1u);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  skiff_close(c.lfd);
}

TEST(TcpOptions, LingerWithTimeoutClosesGracefully) {
  StackHarness h;
  Conn c = accept_conn(h);
  const linger lg{1, 5};
  ASSERT_EQ(skiff_setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  ASSERT_EQ(skiff_close(c.fd), 0);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kFin | tf::kAck);
  skiff_close(c.lfd);
}

TEST(TcpOptions, ListenerBuffersAreInherited) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  ASSERT_EQ(set_int(l, SOL_SOCKET, SO_RCVBUF, 4096), 0);
  ASSERT_EQ(set_int(l, SOL_SOCKET, SO_SNDBUF, 10000), 0);
  h.inject(tcp_frame(h, {.seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wnd, 8192);
  h.inject(tcp_frame(h, {.seq = 1001, .ack = out[0].seq + 1, .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  int v = 0;
  socklen_t vl = sizeof v;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
  EXPECT_EQ(v, 8192);
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &vl), 0);
  EXPECT_EQ(v, 20000);
  // The window follows the inherited buffer: 1000 bytes in, 7192 left.
  h.inject(tcp_frame(h, {.seq = 1001, .ack = out[0].seq + 1, .flags = tf::kAck, .payload = pattern(1000)}));
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wnd, 7192);
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpOptions, MaxsegClampsTheMss) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on();
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_MAXSEG, 500), 0);
  h.inject(tcp_frame(h, {.seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.mss);
  EXPECT_EQ(*out[0].opts.mss, 500);  // announced too (Linux: "also changes the MSS announced")
  const uint32_t iss = out[0].seq;
  h.inject(tcp_frame(h, {.seq = 1001, .ack = iss + 1, .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(info(fd).tcpi_snd_mss, 500u);
  int v = 0;
  socklen_t vl = sizeof v;
  ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
  EXPECT_EQ(v, 500);
  ASSERT_EQ(set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  const Bytes d = pattern(1200);
  ASSERT_EQ(skiff_send(fd, d.data(), d.size(), MSG_DONTWAIT), 1200);
  out = out_of(h);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload.size(), 500u);
  EXPECT_EQ(out[1].payload.size(), 500u);
  EXPECT_EQ(out[2].payload.size(), 200u);
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpOptions, MaxsegBeforeConnectIsAnnounced) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_EQ(set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 600), 0);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 20), -1);
  EXPECT_EQ(errno, EINVAL);
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  ASSERT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.mss);
  EXPECT_EQ(*out[0].opts.mss, 600);
  skiff_close(fd);
}

TEST(TcpOptions, AnnouncedMssFollowsTheMtu) {
  HarnessOptions ho;
  ho.mtu = 1400;
  StackHarness h(ho);
  h.learn_peer();
  const int l = listen_on();
  h.inject(tcp_frame(h, {.seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.mss);
  EXPECT_EQ(*out[0].opts.mss, 1360);  // MTU - 40, for a passive open as for an active one
  h.inject(tcp_frame(h, {.seq = 1001, .ack = out[0].seq + 1, .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(info(fd).tcpi_snd_mss, 1360u);  // never more than fits our MTU
  skiff_close(fd);
  skiff_close(l);
}

TEST(TcpOptions, PeerMssBelowTheFloorIsRaised) {
  struct Case {
    std::optional<uint16_t> peer;
    uint32_t mss;
  };
  const Case cases[] = {{0, 88}, {1, 88}, {40, 88}, {87, 88}, {88, 88}, {89, 89}, {std::nullopt, 536}};
  for (const Case& k : cases) {
    StackHarness h;
    OpenOpts o;
    o.mss = k.peer;
    Conn c = accept_conn(h, o);
    ASSERT_GE(c.fd, 0);
    EXPECT_EQ(info(c.fd).tcpi_snd_mss, k.mss) << (k.peer ? *k.peer : -1);
    ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
    ASSERT_EQ(c.send(600), 600);
    size_t total = 0;
    for (const auto& t : c.out_track()) {
      EXPECT_LE(t.payload.size(), k.mss);
      total += t.payload.size();
    }
    EXPECT_EQ(total, std::min<size_t>(600, 10 * k.mss));  // initial window: 10 segments
    skiff_close(c.fd);
    skiff_close(c.lfd);
  }
}

TEST(TcpOptions, KeepaliveProbesThenAbort) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, 10), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPINTVL, 2), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPCNT, 3), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
  h.advance(9s + 990ms);
  EXPECT_TRUE(c.out().empty());
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 1s, got);
  ASSERT_TRUE(t);
  ASSERT_EQ(got.size(), 1u);
  // The probe: <SEQ=SND.UNA-1><ACK=RCV.NXT>, no data (RFC 1122 §4.2.3.6; as Linux).
  EXPECT_EQ(got[0].flags, tf::kAck);
  EXPECT_EQ(got[0].seq, c.iss);
  EXPECT_EQ(got[0].ack, 1001u);
  EXPECT_TRUE(got[0].payload.empty());
  // The peer answers: the next probe comes after another idle period.
  c.ack();
  h.advance(9s + 990ms);
  EXPECT_TRUE(c.out().empty());
  ASSERT_TRUE(advance_until_sent(h, 1s, got));
  EXPECT_EQ(h.shard().stats.tcp_keepalive_probes, 2u);
  // Now silence: probes every 2 s; after 3 unanswered, RST and ETIMEDOUT.
  for (int i = 0; i < 2; ++i) {
    t = advance_until_sent(h, 3s, got);
    ASSERT_TRUE(t);
    EXPECT_GE(*t, 1990ms);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].seq, c.iss);
  }
  t = advance_until_sent(h, 3s, got);
  ASSERT_TRUE(t);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kRst | tf::kAck);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  EXPECT_EQ(h.shard().stats.tcp_keepalive_probes, 4u);
  skiff_close(c.fd);
}

// As Linux's tcp_keepalive_timer: a half-closed connection (CLOSE-WAIT here: the peer sent its FIN, the
// application has not closed) is probed too, so a peer that vanished is found; and with TCP_USER_TIMEOUT
// set, it decides when to give up instead of TCP_KEEPCNT.
TEST(TcpOptions, KeepaliveProbesHalfClosedConnectionsAndFollowsUserTimeout) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, 10), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPINTVL, 2), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPCNT, 1), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 15000), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
  c.fin();
  ASSERT_EQ(c.out().size(), 1u);  // its ACK
  ASSERT_EQ(state_of(c.fd), TCP_CLOSE_WAIT);
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 11s, got);
  ASSERT_TRUE(t);
  EXPECT_GE(*t, 9990ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss);  // a keepalive probe
  // Unanswered probes every 2 s: TCP_KEEPCNT (1) would have ended it at the second; the user timeout
  // (15 s since the peer was last heard) does, at the first probe time past it (16 s).
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(advance_until_sent(h, 3s, got)) << i;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags, tf::kAck) << i;
  }
  ASSERT_TRUE(advance_until_sent(h, 3s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kRst | tf::kAck);
  EXPECT_EQ(so_error(c.fd), ETIMEDOUT);
  EXPECT_EQ(h.shard().stats.tcp_keepalive_probes, 3u);
  skiff_close(c.fd);
}

// With data in flight the retransmission timer watches the peer: no keepalive probe then (Linux).
TEST(TcpOptions, NoKeepaliveProbeWithDataInFlight) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, 2), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPINTVL, 1), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
  ASSERT_EQ(c.send(100), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  for (int i = 0; i < 60; ++i) {
    h.advance(100ms);
    for (const auto& s : c.out()) EXPECT_NE(s.seq, c.iss) << i;  // retransmissions only
  }
  EXPECT_EQ(h.shard().stats.tcp_keepalive_probes, 0u);
  c.ack();
  skiff_close(c.fd);
}

// Only segments that pass validation count as hearing from the peer: junk carrying the 4-tuple (an
// out-of-window segment, an ACK of data never sent) does not hold off the probes (as Linux's rcv_tstamp).
TEST(TcpOptions, KeepaliveIdleClockIgnoresInvalidSegments) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, 10), 0);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
  h.advance(5s);
  c.in({.seq = c.snd + 10'000'000, .ack = c.nxt, .flags = tf::kAck | tf::kPsh, .payload = pattern(10)});
  h.advance(1s);
  c.in({.seq = c.snd, .ack = c.nxt + 5000, .flags = tf::kAck});
  c.out();  // (the answers to them)
  std::vector<SentTcp> got;
  auto t = advance_until_sent(h, 10s, got);
  ASSERT_TRUE(t);
  EXPECT_LE(*t, 4s + 10ms);  // 10 s after the handshake, not after the junk
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss);  // the probe
  skiff_close(c.fd);
}

TEST(TcpOptions, NoKeepaliveWithoutSoKeepalive) {
  StackHarness h;
  Conn c = accept_conn(h);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, 1), 0);
  h.advance(30s);
  EXPECT_TRUE(c.out().empty());
  skiff_close(c.fd);
}

TEST(TcpOptions, TcpInfoFields) {
  StackHarness h;
  OpenOpts o;
  o.rtt = 50ms;
  Conn c = accept_conn(h, o);
  tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(ti.tcpi_ca_state, 0u);
  EXPECT_EQ(ti.tcpi_rtt, 50000u);   // the handshake's sample
  EXPECT_EQ(ti.tcpi_rttvar, 25000u);
  EXPECT_EQ(ti.tcpi_rto, 200000u);  // 50 + 4*25 = 150 ms, raised to rto_min
  EXPECT_EQ(ti.tcpi_snd_mss, 1000u);
  EXPECT_EQ(ti.tcpi_advmss, 1460u);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 10u);           // RFC 6928 initial window
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 0x7fffffffu);  // TCP_INFINITE_SSTHRESH
  EXPECT_EQ(ti.tcpi_total_retrans, 0u);
  // Another RTT sample of 50 ms; two segments acknowledged in slow start, but two of ten do not use the
  // window, so it does not grow (RFC 7661).
  ASSERT_EQ(c.send(2000), 2000);
  c.out_track();
  h.advance(50ms);
  c.ack();
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_rtt, 50000u);
  EXPECT_EQ(ti.tcpi_rttvar, 18750u);   // 3/4 * 25 ms + 1/4 * 0
  EXPECT_EQ(ti.tcpi_rto, 200000u);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 10u);
  // A loss: RTO, ssthresh and cwnd collapse, one retransmission counted.
  ASSERT_EQ(c.send(4000), 4000);
  c.out_track();
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 1s, got));
  ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 1u);
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 2u);  // max(4000 / 2, 2*SMSS) = 2000 bytes
  EXPECT_EQ(ti.tcpi_total_retrans, 1u);
  EXPECT_EQ(ti.tcpi_retransmits, 1u);
  EXPECT_EQ(ti.tcpi_rto, 400000u);
  EXPECT_EQ(ti.tcpi_ca_state, 4u);      // TCP_CA_Loss
  skiff_close(c.fd);
}

// TCP_SYNCNT (as Linux): the SYN retransmissions of this connection attempt, 1..127; the default reads back.
TEST(TcpOptions, SyncntBoundsTheSynRetries) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_SYNCNT), 6);  // [tcp] syn-retries (Linux's tcp_syn_retries)
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 128), -1);
  ASSERT_EQ(set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 2), 0);
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  size_t syns = 0;
  for (int i = 0; i < 300 && state_of(fd) == TCP_SYN_SENT; ++i) {
    for (const auto& t : out_of(h)) syns += t.has(tf::kSyn);
    h.advance(100ms);
  }
  for (const auto& t : out_of(h)) syns += t.has(tf::kSyn);
  EXPECT_EQ(syns, 3u) << "the SYN and two retransmissions";
  EXPECT_EQ(so_error(fd), ETIMEDOUT);
}

// TCP_WINDOW_CLAMP (as Linux): the window we advertise never exceeds it (at least 2,304 bytes, half of
// Linux's SOCK_MIN_RCVBUF); inherited from a listener; 0 only before connecting.
TEST(TcpOptions, WindowClampBoundsTheAdvertisedWindow) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(kLocalPort);
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_WINDOW_CLAMP, 100), 0);
  EXPECT_EQ(get_int(l, IPPROTO_TCP, TCP_WINDOW_CLAMP), 2304) << "raised to the floor";
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_WINDOW_CLAMP, 5000), 0);
  h.inject(tcp_frame(h, TcpSpec{.sport = kPeerPort, .dport = kLocalPort, .seq = 1000, .flags = tf::kSyn,
                                .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wnd, 5000u) << "the SYN-ACK's window (no scaling without the peer's option)";
  const uint32_t iss = out[0].seq;
  h.inject(tcp_frame(h, TcpSpec{.sport = kPeerPort, .dport = kLocalPort, .seq = 1001, .ack = iss + 1, .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_WINDOW_CLAMP), 5000);
  // Data read at once: every ACK still offers at most the clamp.
  uint32_t seq = 1001;
  size_t acks = 0;
  for (int i = 0; i < 5; ++i) {
    h.inject(tcp_frame(h, TcpSpec{.sport = kPeerPort, .dport = kLocalPort, .seq = seq, .ack = iss + 1,
                                  .flags = tf::kAck | tf::kPsh, .payload = pattern(1000)}));
    seq += 1000;
    Bytes buf(4096);
    EXPECT_EQ(skiff_recv(fd, buf.data(), buf.size(), MSG_DONTWAIT), 1000);
    h.advance(50ms);
    for (const auto& t : out_of(h)) {
      EXPECT_LE(t.wnd, 5000u);
      ++acks;
    }
  }
  EXPECT_GE(acks, 5u);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0), -1) << "0 only before connecting";
  EXPECT_EQ(errno, EINVAL);
}

// SO_INCOMING_CPU on TCP (Linux's tcp_v4_rcv updates it for every segment, listeners aside): a connection
// that heard from its peer reports the CPU its shard runs on (this thread's); a listener and a connection
// still in SYN-SENT what was set (-1 at first). SO_COOKIE: distinct for a listener and what it accepted.
TEST(TcpOptions, IncomingCpuIsTheShardsOnceASegmentCame) {
  StackHarness h;
  const auto get_cpu = [](int fd) { return get_int(fd, SOL_SOCKET, SO_INCOMING_CPU); };
  Conn c = accept_conn(h);
  // Pinned to the CPU it is on, as a shard's lcore is, so the answer can be compared.
  cpu_set_t old_set, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof old_set, &old_set), 0);
  const int here = sched_getcpu();
  CPU_ZERO(&one);
  CPU_SET(here, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(get_cpu(c.fd), here);
  ASSERT_EQ(sched_setaffinity(0, sizeof old_set, &old_set), 0);
  // A value set does not hide it (Linux reports the value set until the next segment comes).
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_INCOMING_CPU, 12345), 0);
  EXPECT_NE(get_cpu(c.fd), 12345);
  EXPECT_EQ(get_cpu(c.lfd), -1);
  ASSERT_EQ(set_int(c.lfd, SOL_SOCKET, SO_INCOMING_CPU, 3), 0);
  EXPECT_EQ(get_cpu(c.lfd), 3);
  uint64_t a = 0, b = 0;
  socklen_t len = sizeof a;
  ASSERT_EQ(skiff_getsockopt(c.lfd, SOL_SOCKET, SO_COOKIE, &a, &len), 0);
  ASSERT_EQ(skiff_getsockopt(c.fd, SOL_SOCKET, SO_COOKIE, &b, &len), 0);
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);
  skiff_close(c.fd);
  skiff_close(c.lfd);
  // An active open not yet answered.
  const int s = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin_of(StackHarness::kPeerIp, 80);
  ASSERT_EQ(skiff_connect(s, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  EXPECT_EQ(get_cpu(s), -1);
  skiff_close(s);
}
