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
