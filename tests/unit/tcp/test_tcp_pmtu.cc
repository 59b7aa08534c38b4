// Path MTU discovery (RFC 1191, with RFC 5927's checks): an ICMP "fragmentation needed" quoting a segment
// we have in flight lowers the connection's path MTU and send MSS, the queued data is cut to the new
// size and what was in flight is sent again at once (Linux's tcp_simple_retransmit: no congestion
// response). Every TCP segment leaves with DF set, so without this a path narrower than the interface
// (a tunnel, PPPoE) would swallow every full-sized segment for good.
#include "ipv4/pmtu.hh"
#include "tcp_test_util.hh"
#include "wire/icmp.hh"

using namespace tcpt;

namespace {

const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;
namespace it = wire::icmp_type;
namespace iu = wire::icmp_unreach;

// ICMP destination unreachable / fragmentation needed from a router (here: the peer's address, as the
// harness has one neighbour) about a datagram of `total_len` bytes we sent to the peer whose TCP header
// began with ports `sport` -> `dport` and sequence number `seq`; `mtu` is the next-hop MTU field.
Bytes frag_needed(StackHarness& h, uint16_t sport, uint16_t dport, uint32_t seq, uint16_t mtu,
                  uint16_t total_len = 1500) {
  Bytes tcp8(8);
  wire::store_be16(tcp8.data(), sport);
  wire::store_be16(tcp8.data() + 2, dport);
  wire::store_be32(tcp8.data() + 4, seq);
  const Bytes quote = ipv4(Ipv4Spec{.src = kOur, .dst = kPeer, .proto = 6, .flags_frag = 0x4000, .total_len = total_len},
                           tcp8);
  return h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1},
                          icmp(it::kDestUnreachable, iu::kFragNeeded, mtu, quote)));
}

void frag_needed_about(StackHarness& h, const Conn& c, uint32_t seq, uint16_t mtu, uint16_t total_len = 1500) {
  h.inject(frag_needed(h, c.lport, c.pport, seq, mtu, total_len));
}

// The bytes of `segs` laid out by sequence number from `base` (each must lie in [base, base + n)).
Bytes assemble(const std::vector<SentTcp>& segs, uint32_t base, size_t n) {
  Bytes b(n, 0);
  for (const auto& t : segs) {
    const uint32_t off = t.seq - base;
    EXPECT_LE(off + t.payload.size(), n);
    if (off + t.payload.size() <= n) std::copy(t.payload.begin(), t.payload.end(), b.begin() + off);
  }
  return b;
}

// A connection (the peer's MSS 1460) with one full-sized segment in flight from `*base`.
Conn one_segment_in_flight(StackHarness& h, uint32_t* base) {
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  *base = c.nxt;
  EXPECT_EQ(c.send(1460, 2), 1460);
  EXPECT_EQ(c.out_track().size(), 1u);
  return c;
}

int ip_mtu(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_IP, IP_MTU, &v, &len), 0) << strerror(errno);
  return v;
}

}  // namespace

TEST(TcpPmtu, FragNeededLowersTheMssAndResendsTheFlightCutToIt) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  ASSERT_EQ(info(c.fd).tcpi_snd_mss, 1460u);
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(3 * 1460, 7), 3 * 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& t : out) EXPECT_EQ(t.ip.total_len, 1500u);
  for (const auto& t : out) EXPECT_TRUE(t.ip.flags_frag & 0x4000) << "TCP segments leave with DF";

  // A router on the way takes 1200 bytes at most.
  frag_needed_about(h, c, base, 1200);
  out = c.out_track();
  ASSERT_FALSE(out.empty()) << "the flight is resent at once, not after an RTO";
  size_t bytes = 0;
  for (const auto& t : out) {
    EXPECT_LE(t.ip.total_len, 1200u);
    EXPECT_LE(t.payload.size(), 1160u);
    bytes += t.payload.size();
  }
  EXPECT_EQ(out.front().seq, base);
  EXPECT_EQ(bytes, 3u * 1460);
  EXPECT_EQ(assemble(out, base, 3 * 1460), pattern(3 * 1460, 7));
  EXPECT_EQ(out.size(), 6u);  // each 1460-byte segment as 1160 + 300

  const tcp_info ti = info(c.fd);
  EXPECT_EQ(ti.tcpi_pmtu, 1200u);
  EXPECT_EQ(ti.tcpi_snd_mss, 1160u);
  EXPECT_EQ(ip_mtu(c.fd), 1200);
  EXPECT_EQ(so_error(c.fd), 0) << "news about the path, not an error of the connection";
  EXPECT_EQ(h.shard().stats.tcp_pmtu_lowered, 1u);
  EXPECT_EQ(h.total_drops(), 0u);

  // Acknowledged, the connection carries on at the new size, with its window intact (no loss response).
  c.ack();
  ASSERT_EQ(c.send(2 * 1160, 8), 2 * 1160);
  out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& t : out) EXPECT_EQ(t.payload.size(), 1160u);
  EXPECT_GE(info(c.fd).tcpi_snd_cwnd * 1160u, 10u * 1160);
}

TEST(TcpPmtu, WithSackOnlyWhatThePeerLacksIsResent) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460, .sack = true, .ts = true});
  const uint32_t mss = info(c.fd).tcpi_snd_mss;  // 1448: timestamps take 12
  ASSERT_EQ(mss, 1448u);
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(4 * mss, 3), static_cast<ssize_t>(4 * mss));
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 4u);
  // The peer got the third segment (it went another way, or was small enough somewhere): SACKed.
  c.sack(base, {{base + 2 * mss, base + 3 * mss}});
  (void)c.out_track();

  frag_needed_about(h, c, base, 1000);
  out = c.out_track();
  const uint32_t new_mss = 1000 - 40 - 12;
  EXPECT_EQ(info(c.fd).tcpi_snd_mss, new_mss);
  size_t bytes = 0;
  for (const auto& t : out) {
    EXPECT_LE(t.ip.total_len, 1000u);
    const bool in_sacked = t.seq >= base + 2 * mss && t.seq < base + 3 * mss;
    EXPECT_FALSE(in_sacked) << "SACKed data resent at " << t.seq - base;
    bytes += t.payload.size();
  }
  EXPECT_EQ(bytes, 3u * mss) << "the three segments the peer lacks, cut to " << new_mss;
  EXPECT_EQ(h.total_drops(), 0u);
  // Everything acknowledged: the scoreboard is empty again and new data leaves at the new size.
  c.ack(base + 4 * mss);
  ASSERT_EQ(c.send(new_mss, 4), static_cast<ssize_t>(new_mss));
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), new_mss);
}

TEST(TcpPmtu, UnsentDataIsCutTooAndLeavesAtTheNewSize) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  const uint32_t base = c.nxt;
  // More than the initial window (10 segments): some of it waits in the queue at the old size.
  ASSERT_EQ(c.send(14 * 1460, 5), 14 * 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 10u);
  frag_needed_about(h, c, base + 1460, 1400);
  out = c.out_track();
  ASSERT_EQ(c.nxt - base, 10u * 1460);  // the flight again (no SACK: back to snd_una), in pieces
  for (const auto& t : out) EXPECT_LE(t.payload.size(), 1360u);
  std::vector<SentTcp> all = out;
  // One ACK of it all: the four queued segments leave at once as 1360 + 100 pieces. The short pieces
  // have data behind them, so Nagle does not hold them for an ACK each; only the last one waits (Nagle
  // proper: data may still join it) for the next ACK.
  c.ack();
  auto more = c.out_track();
  EXPECT_EQ(more.size(), 7u);
  all.insert(all.end(), more.begin(), more.end());
  c.ack();
  more = c.out_track();
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].payload.size(), 100u);
  all.insert(all.end(), more.begin(), more.end());
  for (const auto& t : all) EXPECT_LE(t.ip.total_len, 1400u);
  ASSERT_EQ(c.nxt - base, 14u * 1460);
  EXPECT_EQ(assemble(all, base, 14 * 1460), pattern(14 * 1460, 5));
  EXPECT_GT(h.shard().stats.tcp_pmtu_resegmented, 0u);
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(TcpPmtu, ErrorsThatWouldNotLowerItOrQuoteNoFlightChangeNothing) {
  StackHarness h;
  uint32_t base = 0;
  Conn c = one_segment_in_flight(h, &base);
  // An MTU at or above the current one: RFC 1191 §6.1, ICMP never raises it.
  frag_needed_about(h, c, base, 1500);
  frag_needed_about(h, c, base, 9000);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().stats.tcp_pmtu_ignored, 2u);
  // A sequence number we have not sent (a blind attacker's guess): RFC 5927 §4.1.
  frag_needed_about(h, c, base + 100000, 576);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(h.shard().stats.tcp_icmp_out_of_window, 1u);
  EXPECT_EQ(h.drops(Drop::IcmpErrorUnmatched), 1u);
  EXPECT_EQ(info(c.fd).tcpi_snd_mss, 1460u);
  EXPECT_EQ(info(c.fd).tcpi_pmtu, 1500u);
  EXPECT_EQ(h.shard().stats.tcp_pmtu_lowered, 0u);
  EXPECT_EQ(h.shard().pmtu.size(h.shard().now()), 0u);
}

TEST(TcpPmtu, ATinyMtuIsRaisedToTheFloor) {
  StackHarness h;
  uint32_t base = 0;
  Conn c = one_segment_in_flight(h, &base);
  frag_needed_about(h, c, base, 68);  // legal for IPv4, but segments of 28 bytes would only burn CPU
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 3u);  // 1460 bytes as 512 + 512 + 436
  EXPECT_EQ(out[0].payload.size(), 512u);
  EXPECT_EQ(info(c.fd).tcpi_pmtu, 552u);
  EXPECT_EQ(info(c.fd).tcpi_snd_mss, 512u);
}

TEST(TcpPmtu, NoNextHopMtuMeansThePlateauBelowTheRefusedDatagram) {
  StackHarness h;
  uint32_t base = 0;
  Conn c = one_segment_in_flight(h, &base);
  frag_needed_about(h, c, base, 0, 1500);  // an RFC 792 router: no MTU field
  auto out = c.out_track();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(info(c.fd).tcpi_pmtu, 1492u);  // RFC 1191 §7's plateau below 1500
  EXPECT_EQ(out[0].payload.size(), 1452u);
  EXPECT_EQ(pmtu_plateau_below(1492), 1006u);
  EXPECT_EQ(pmtu_plateau_below(68), 68u);
}

TEST(TcpPmtu, ANewConnectionToThatDestinationStartsFromWhatWasLearned) {
  StackHarness h;
  uint32_t base = 0;
  Conn c = one_segment_in_flight(h, &base);
  frag_needed_about(h, c, base, 1280);
  (void)c.out_track();
  ASSERT_EQ(h.shard().pmtu.get(kPeer, h.shard().now()), 1280u);

  // Our own open to the same peer: the send MSS follows the path from the start; what we announce still
  // follows our interface (as Linux: the path limits what we send, not what we can take).
  OpenOpts o{.mss = 1460};
  o.peer_isn = 5000;
  Conn d = connect_conn(h, o);
  EXPECT_EQ(info(d.fd).tcpi_pmtu, 1280u);
  EXPECT_EQ(info(d.fd).tcpi_snd_mss, 1240u);
  EXPECT_EQ(info(d.fd).tcpi_advmss, 1460u);

  // Past the cache's lifetime (10 min) the path is tried at full size again (RFC 1191 §6.3).
  h.advance(601s);
  EXPECT_EQ(h.shard().pmtu.get(kPeer, h.shard().now()), 0u);
}

TEST(TcpPmtu, AnotherConnectionToTheSameDestinationFollowsWithoutAnIcmpOfItsOwn) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  OpenOpts o{.mss = 1460};
  o.peer_isn = 5000;
  Conn d = connect_conn(h, o);
  // d has a full-sized segment in flight when c's ICMP arrives.
  const uint32_t dbase = d.nxt;
  ASSERT_EQ(d.send(1460, 4), 1460);
  ASSERT_EQ(d.out_track().size(), 1u);
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(1460, 2), 1460);
  (void)c.out_track();
  frag_needed_about(h, c, base, 1280);
  (void)c.out_track();
  EXPECT_EQ(info(c.fd).tcpi_pmtu, 1280u);
  EXPECT_EQ(info(d.fd).tcpi_pmtu, 1500u) << "not yet: d has not sent since";

  // d's next send takes the shard's news: its segments fit the path, and what it had in flight (too large
  // for the same path) goes again at the new size.
  ASSERT_EQ(d.send(2000, 5), 2000);
  auto out = d.out_track();
  ASSERT_FALSE(out.empty());
  for (const auto& t : out) EXPECT_LE(t.ip.total_len, 1280u);
  EXPECT_EQ(out.front().seq, dbase) << "the flight resent from snd_una";
  EXPECT_EQ(d.nxt - dbase, 3460u);
  Bytes want = pattern(1460, 4);
  const Bytes more = pattern(2000, 5);
  want.insert(want.end(), more.begin(), more.end());
  EXPECT_EQ(assemble(out, dbase, 3460), want);
  EXPECT_EQ(info(d.fd).tcpi_pmtu, 1280u);
  EXPECT_EQ(info(d.fd).tcpi_snd_mss, 1240u);
  EXPECT_EQ(h.shard().stats.tcp_pmtu_lowered, 2u);  // c by its ICMP, d from the cache
  EXPECT_EQ(h.total_drops(), 0u);
}

// RFC 1191 §6.3: a lowered path MTU is not kept for good. Once what taught it expires, the connection
// sends at the interface's size again (as Linux re-reads its route's MTU); a path still narrow says so again.
TEST(TcpPmtu, ALoweredPathMtuGrowsBackOnceItExpires) {
  HarnessOptions ho;
  ho.cfg.ipv4.pmtu_expires = 30s;
  StackHarness h(ho);
  uint32_t base = 0;
  Conn c = one_segment_in_flight(h, &base);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);  // each send leaves whole
  frag_needed_about(h, c, base, 1200);
  (void)c.out_track();
  c.ack();
  ASSERT_EQ(info(c.fd).tcpi_snd_mss, 1160u);
  ASSERT_EQ(c.send(1460, 3), 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  c.ack();
  // Not yet expired: still the narrow size.
  h.advance(20s);
  ASSERT_EQ(c.send(1460, 4), 1460);
  out = c.out_track();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& t : out) EXPECT_LE(t.ip.total_len, 1200u);
  c.ack();
  h.advance(11s);
  ASSERT_EQ(c.send(1460, 5), 1460);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u) << "full-sized again";
  EXPECT_EQ(out[0].ip.total_len, 1500u);
  EXPECT_TRUE(out[0].ip.flags_frag & 0x4000);
  EXPECT_EQ(info(c.fd).tcpi_pmtu, 1500u);
  EXPECT_EQ(info(c.fd).tcpi_snd_mss, 1460u);
  EXPECT_EQ(h.shard().stats.tcp_pmtu_raised, 1u);
  // The path is still narrow: the router says so again, and down it goes.
  frag_needed_about(h, c, out[0].seq, 1200);
  out = c.out_track();
  ASSERT_FALSE(out.empty());
  for (const auto& t : out) EXPECT_LE(t.ip.total_len, 1200u);
  EXPECT_EQ(h.shard().stats.tcp_pmtu_lowered, 2u);
  EXPECT_EQ(h.total_drops(), 0u);
}

// IP_PMTUDISC_DONT on a TCP socket (as Linux): its segments leave without DF, for routers to fragment, and
// "fragmentation needed" lowers nothing (the shard still learns the path for other sockets).
TEST(TcpPmtu, ASocketWithoutDiscoveryClearsDfAndKeepsItsMss) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1460});
  ASSERT_EQ(set_int(c.fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT), 0);
  const uint32_t base = c.nxt;
  ASSERT_EQ(c.send(1460, 2), 1460);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ip.flags_frag & 0x4000) << "no DF";
  frag_needed_about(h, c, base, 1200);
  EXPECT_TRUE(c.out_track().empty()) << "nothing resent";
  EXPECT_EQ(info(c.fd).tcpi_snd_mss, 1460u);
  EXPECT_EQ(h.shard().stats.tcp_pmtu_ignored, 1u);
  EXPECT_EQ(h.shard().pmtu.get(kPeer, h.shard().now()), 1200u) << "learned for the others";
  // Back to discovery: DF again.
  ASSERT_EQ(set_int(c.fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT), 0);
  c.ack();
  ASSERT_EQ(c.send(100, 3), 100);
  out = c.out_track();
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out[0].ip.flags_frag & 0x4000);
}

TEST(PmtuCache, LowersOnlyExpiresAndStaysBounded) {
  Ipv4Config cfg;
  PmtuCache pc(cfg);
  const Instant t0 = Instant::from_ns(1'000'000'000);
  const Ipv4Addr a(0x0a000001), b(0x0a000002);
  EXPECT_EQ(pc.get(a, t0), 0u);
  EXPECT_EQ(pc.path_mtu(a, 1500, t0), 1500u);
  EXPECT_EQ(pc.learn(a, 1400, t0), 1400u);
  EXPECT_EQ(pc.learn(a, 1450, t0), 1400u) << "a valid entry is only lowered";
  EXPECT_EQ(pc.learn(a, 1300, t0), 1300u);
  EXPECT_EQ(pc.get(b, t0), 0u);
  EXPECT_EQ(pc.path_mtu(a, 1500, t0), 1300u);
  EXPECT_EQ(pc.path_mtu(a, 1000, t0), 1000u) << "never above the interface";
  EXPECT_EQ(pc.get(a, t0 + cfg.pmtu_expires), 0u);
  EXPECT_EQ(pc.learn(a, 1450, t0 + cfg.pmtu_expires), 1450u) << "an expired entry starts over";
  // A flood of errors about many destinations: the table keeps its size and the newest entries.
  for (uint32_t i = 0; i < 100000; ++i) pc.learn(Ipv4Addr(0x0b000000 + i), 1000, t0 + cfg.pmtu_expires);
  EXPECT_LE(pc.size(t0 + cfg.pmtu_expires), PmtuCache::kSets * PmtuCache::kWays);
  EXPECT_EQ(pc.get(Ipv4Addr(0x0b000000 + 99999), t0 + cfg.pmtu_expires), 1000u);
}

// UDP learns the path MTU too (Linux's udp_err): IP_MTU reports it, IP_PMTUDISC_DO refuses a datagram
// above it, IP_PMTUDISC_WANT sends one without DF (a router fragments it), a connected socket hears
// EMSGSIZE once.
TEST(UdpPmtu, FragNeededIsRememberedForTheDestination) {
  StackHarness h;
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  const sockaddr_in to = sin_of(kPeer, 9);
  ASSERT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO), 0);
  const Bytes dgram = pattern(1400, 1);
  ASSERT_EQ(skiff_send(fd, dgram.data(), dgram.size(), 0), 1400);
  auto frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  auto ip = parse_ip(frames[0]);
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->flags_frag & 0x4000);
  EXPECT_EQ(ip_mtu(fd), 1500);

  // The router's error quotes the datagram we sent.
  const size_t ihl = (frames[0][14] & 0xf) * 4u;
  const Bytes quote(frames[0].begin() + 14, frames[0].begin() + static_cast<long>(14 + ihl + 8));
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1},
                            icmp(it::kDestUnreachable, iu::kFragNeeded, 1200, quote))));
  EXPECT_EQ(so_error(fd), EMSGSIZE);
  EXPECT_EQ(ip_mtu(fd), 1200);
  EXPECT_EQ(skiff_send(fd, dgram.data(), dgram.size(), 0), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_EQ(skiff_send(fd, dgram.data(), 1172, 0), 1172);  // 1172 + 8 + 20 = 1200 still goes
  ASSERT_EQ(set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT), 0);
  (void)h.sent();
  ASSERT_EQ(skiff_send(fd, dgram.data(), dgram.size(), 0), 1400);
  frames = h.sent();
  // Above the path MTU: fragmented here to the path's size (as Linux), the fragments without DF.
  ASSERT_EQ(frames.size(), 2u);
  std::vector<SentIp> frags;
  for (const Bytes& f : frames) {
    auto fi = parse_ip(f);
    ASSERT_TRUE(fi);
    EXPECT_LE(fi->total_len, 1200u);
    EXPECT_FALSE(fi->flags_frag & 0x4000);
    frags.push_back(*fi);
  }
  const auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 1408u);
  EXPECT_EQ(Bytes(whole->begin() + 8, whole->end()), dgram);
  // One that fits the path goes whole, with DF (discovery goes on).
  ASSERT_EQ(skiff_send(fd, dgram.data(), 1000, 0), 1000);
  frames = h.sent();
  ASSERT_EQ(frames.size(), 1u);
  ip = parse_ip(frames[0]);
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->flags_frag & 0x4000);
  skiff_close(fd);
}

// Source quench (deprecated, RFC 6633) is ignored: no error even with IP_RECVERR, nothing resent.
TEST(TcpIcmp, SourceQuenchIsIgnored) {
  StackHarness h;
  uint32_t base = 0;
  Conn c = one_segment_in_flight(h, &base);
  ASSERT_EQ(set_int(c.fd, IPPROTO_IP, IP_RECVERR, 1), 0);
  Bytes tcp8(8);
  wire::store_be16(tcp8.data(), c.lport);
  wire::store_be16(tcp8.data() + 2, c.pport);
  wire::store_be32(tcp8.data() + 4, base);
  const Bytes quote = ipv4(Ipv4Spec{.src = kOur, .dst = kPeer, .proto = 6, .total_len = 1500}, tcp8);
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1}, icmp(it::kSourceQuench, 0, 0, quote))));
  int err = -1;
  socklen_t len = sizeof err;
  ASSERT_EQ(skiff_getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(info(c.fd).tcpi_state, TCP_ESTABLISHED);
}
