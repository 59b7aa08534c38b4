// The IPv4 Identification field (RFC 6864, RFC 7739; Linux's ip_select_ident_segs): a DF datagram is atomic,
// so a connected socket numbers its own (one flow's segments are consecutive whatever else the shard sends,
// which a receiver's GRO wants), a socketless one (a reset) carries 0, and a datagram that may be fragmented
// takes a counter hashed by {source, destination, protocol} that moves on by a random amount when idle: no
// peer can read our traffic to others from the IDs it sees (idle scans).
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

uint16_t ip_id_of(const SentTcp& t) {
  return t.ip.id;
}

}  // namespace

TEST(IpIdent, EachConnectionNumbersItsOwnSegments) {
  StackHarness h;
  Conn a = accept_conn(h, OpenOpts{.mss = 1460});
  Conn b = accept_another(a, 40001, 9000);
  ASSERT_EQ(set_int(a.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(set_int(b.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  std::vector<uint16_t> ids_a, ids_b;
  for (int i = 0; i < 6; ++i) {
    Conn& c = (i % 2) ? b : a;
    ASSERT_EQ(c.send(100, static_cast<uint8_t>(i)), 100);
    const auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].ip.flags_frag & 0x4000);  // DF
    ((i % 2) ? ids_b : ids_a).push_back(ip_id_of(out[0]));
    c.ack();
  }
  // Interleaved with the other connection's, each connection's IDs still count up by one.
  for (size_t i = 1; i < ids_a.size(); ++i)
    EXPECT_EQ(static_cast<uint16_t>(ids_a[i] - ids_a[i - 1]), 1u) << i;
  for (size_t i = 1; i < ids_b.size(); ++i)
    EXPECT_EQ(static_cast<uint16_t>(ids_b[i] - ids_b[i - 1]), 1u) << i;
  skiff_close(a.fd);
  skiff_close(b.fd);
}

TEST(IpIdent, ResetWithoutAConnectionCarriesIdZero) {
  StackHarness h;
  h.learn_peer();
  TcpSpec s{.sport = 40000, .dport = 9, .seq = 1, .ack = 0, .flags = tf::kSyn, .wnd = 1000};
  h.inject(tcp_frame(h, s));
  const auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(tf::kRst));
  EXPECT_TRUE(out[0].ip.flags_frag & 0x4000);
  EXPECT_EQ(out[0].ip.id, 0u);
}

// With IP_PMTUDISC_DONT the segments may be fragmented: the hashed per-destination counter. Back to back
// (the clock still) it counts up by one per datagram to that destination, whatever goes elsewhere.
TEST(IpIdent, WithoutDfTheCounterIsPerDestination) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  const int v = IP_PMTUDISC_DONT;
  ASSERT_EQ(skiff_setsockopt(c.fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  // Another destination (a host behind the default gateway? the harness has one link: a second address
  // on it) gets datagrams in between, from a raw socket without DF.
  const int raw = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_UDP);
  ASSERT_GE(raw, 0);
  // A destination whose counter is not the connection's (one in 2,048 share one, by a secret hash).
  Ipv4Addr other_ip = Ipv4Addr::of(10, 0, 0, 3);
  while (h.shard().ip_ident_bucket(StackHarness::kOurIp, other_ip, 17) ==
         h.shard().ip_ident_bucket(StackHarness::kOurIp, StackHarness::kPeerIp, 6))
    other_ip = Ipv4Addr::of(10, 0, 0, static_cast<uint8_t>(other_ip.host() + 1));
  const sockaddr_in other = sin_of(other_ip, 0);
  std::vector<uint16_t> ids;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(c.send(100, static_cast<uint8_t>(i)), 100);
    const auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].ip.flags_frag & 0x4000);
    ids.push_back(out[0].ip.id);
    c.ack();
    const uint8_t junk[8] = {};
    ASSERT_EQ(
        skiff_sendto(raw, junk, sizeof junk, 0, reinterpret_cast<const sockaddr*>(&other), sizeof other), 8);
    h.sent();  // (the ARP request for it; the datagram waits)
  }
  // The other destination answers ARP: its four datagrams leave, numbered by their own counter.
  const MacAddr mac3{{0x02, 0, 0, 0, 0, 3}};
  h.inject(
      eth(MacAddr::broadcast(), mac3, 0x0806, arp(1, mac3, other_ip, MacAddr::zero(), StackHarness::kOurIp)));
  std::vector<uint16_t> other_ids;
  for (const Bytes& f : h.sent()) {
    if (f.size() < 34 || f[12] != 0x08 || f[13] != 0x00) continue;  // (our ARP reply)
    auto ip = parse_ip(f);
    if (ip && ip->proto == 17) other_ids.push_back(ip->id);
  }
  ASSERT_EQ(other_ids.size(), 4u);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(static_cast<uint16_t>(ids[i] - ids[i - 1]), 1u) << i;
  for (size_t i = 1; i < other_ids.size(); ++i)
    EXPECT_EQ(static_cast<uint16_t>(other_ids[i] - other_ids[i - 1]), 1u) << i;
  skiff_close(raw);
  skiff_close(c.fd);
}

// A SYN-ACK carries ID 0 (Linux's ip_build_and_send_pkt); the connection then numbers from its counter.
TEST(IpIdent, SynAckCarriesIdZero) {
  StackHarness h;
  h.learn_peer();
  const int lfd = listen_on(kLocalPort, 4);
  TcpSpec syn{.sport = 40000, .dport = kLocalPort, .seq = 100, .ack = 0, .flags = tf::kSyn, .wnd = 65535};
  syn.opts = mss_opt(1000);
  h.inject(tcp_frame(h, syn));
  const auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_TRUE(out[0].ip.flags_frag & 0x4000);
  EXPECT_EQ(out[0].ip.id, 0u);
  skiff_close(lfd);
}

// A TSO frame that the device cuts into N segments reserves N IDs (the device numbers them up from the
// frame's): the connection's next frame carries the ID after the last segment's.
TEST(IpIdent, TsoFrameReservesOneIdPerSegment) {
  HarnessOptions o;
  o.caps.tx_tcp_csum = true;
  o.caps.tx_tso = true;
  StackHarness h(o);
  Conn c = accept_conn(h);  // MSS 1000
  ASSERT_EQ(c.send(10'000), 10'000);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].payload.size(), 10'000u);  // one frame of 10 segments
  const uint16_t first = out[0].ip.id;
  c.ack();
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  ASSERT_EQ(c.send(100, 2), 100);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ip.id, static_cast<uint16_t>(first + 10));
  skiff_close(c.fd);
}
