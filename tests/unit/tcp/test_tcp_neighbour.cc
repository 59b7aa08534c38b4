// TCP and the neighbour table: forward progress (snd_una advancing) confirms the next hop's ARP entry, as
// Linux's dst_confirm, so a transfer that runs longer than the reachable time (30 s) never stops to
// re-resolve, even when the peer answers no ARP request after the first one.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

bool is_arp_request(const Bytes& f) {
  return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 1;
}

}  // namespace

TEST(TcpNeighbour, ForwardProgressKeepsTheEntryReachable) {
  StackHarness h;
  Conn c = accept_conn(h);  // the peer's ARP request taught us its MAC at t = 0
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  size_t arp_requests = 0;
  Bytes got, want;
  // 100 s (more than reachable + stale_grace = 40 s): a write every 250 ms, each acknowledged at once.
  for (int i = 0; i < 400; ++i) {
    const Bytes d = pattern(500, static_cast<uint8_t>(i));
    want.insert(want.end(), d.begin(), d.end());
    ASSERT_EQ(skiff_send(c.fd, d.data(), d.size(), MSG_DONTWAIT), 500);
    const std::vector<Bytes> frames = h.sent();
    for (const Bytes& f : frames) arp_requests += is_arp_request(f);
    const auto segs = tcp_only(frames);
    ASSERT_EQ(segs.size(), 1u) << "write " << i << " was held (neighbour not reachable?)";
    got.insert(got.end(), segs[0].payload.begin(), segs[0].payload.end());
    c.nxt = segs[0].seq + static_cast<uint32_t>(segs[0].payload.size());
    c.ack();
    h.advance(250ms);
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(arp_requests, 0u);
  EXPECT_EQ(h.drops(Drop::ArpResolveFailed), 0u);
  const NeighEntry* e = h.shard().ports()[0]->neigh.lookup(StackHarness::kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, NeighState::Reachable);
  // Confirmed recently, but at most once a second (a clock compare per ACK, not a table write).
  EXPECT_LE(h.shard().now() - e->confirmed, 1250ms);
  EXPECT_GE(h.shard().now() - e->confirmed, 250ms);
  skiff_close(c.fd);
}

TEST(TcpNeighbour, NoProgressNoConfirmation) {
  // ACKs that acknowledge nothing new (the peer only talks) prove nothing about our path: the entry ages
  // as usual and is re-checked with a unicast request once it goes stale.
  StackHarness h;
  Conn c = accept_conn(h);
  size_t arp_requests = 0;
  for (int i = 0; i < 140; ++i) {
    c.push(pattern(100, static_cast<uint8_t>(i)));
    for (const Bytes& f : h.sent()) arp_requests += is_arp_request(f);
    h.advance(250ms);
  }
  EXPECT_GE(arp_requests, 1u);
  skiff_close(c.fd);
}

// ARP gives up on the peer (3 probes, 1 s apart): the queued SYNs come back as host unreachable (Linux's
// arp_error_report -> ipv4_link_failure), so connect() fails with EHOSTUNREACH after ~3 s instead of
// ETIMEDOUT after two minutes of SYNs.
TEST(TcpNeighbour, ConnectToAHostThatNeverAnswersArpFailsWithEhostunreach) {
  StackHarness h;  // the peer's MAC is never learnt
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  ASSERT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  int epfd = skiff_epoll_create1(0);
  epoll_event ev{.events = EPOLLOUT, .data = {.fd = fd}};
  ASSERT_EQ(skiff_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev), 0);
  size_t arp_requests = 0, segments = 0;
  Duration failed_at{};
  for (int ms = 0; ms < 5000 && failed_at == Duration{}; ms += 10) {
    for (const Bytes& f : h.sent()) {
      arp_requests += is_arp_request(f);
      segments += !is_arp_request(f);
    }
    if (state_of(fd) == TCP_CLOSE) failed_at = std::chrono::milliseconds(ms);
    h.advance(10ms);
  }
  EXPECT_EQ(arp_requests, 3u);
  EXPECT_EQ(segments, 0u);  // nothing left without a MAC to go to
  EXPECT_GE(failed_at, 3000ms);
  EXPECT_LE(failed_at, 3100ms);
  epoll_event got{};
  ASSERT_EQ(skiff_epoll_wait(epfd, &got, 1, 0), 1);
  EXPECT_TRUE(got.events & EPOLLERR);
  EXPECT_TRUE(got.events & EPOLLHUP);
  const sockaddr_in b = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&b), sizeof b), -1);
  EXPECT_EQ(errno, EHOSTUNREACH);
  EXPECT_GE(h.drops(Drop::ArpResolveFailed), 1u);  // the SYN (and its retransmission) were dropped ...
  EXPECT_GE(h.shard().stats.icmp_in_errors, 1u);   // ... and reported to their socket
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(h.shard().stats.tcp_attempt_fails, 1u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
  skiff_close(epfd);
  skiff_close(fd);
}
