// The receiver's out-of-order queue and its range index (tcp_ooo.hh): reassembly of a stream that arrives
// in any order, in pieces that overlap, duplicate and straddle each other (some longer than one packet
// buffer: trimming their front must cross buffers); SACK blocks that describe exactly
// what is held; the per-connection and shard-wide bounds; PAWS's one tick of slack (RFC 7323 §5.3, as
// Linux's TCP_PAWS_WINDOW).

#include <algorithm>
#include <random>

#include "tcp/tcp_impl.hh"
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// The stream's byte at offset i (from the peer's first data byte).
uint8_t stream_byte(uint32_t i) { return static_cast<uint8_t>((i * 131u) ^ (i >> 7)); }

Bytes stream(uint32_t off, uint32_t len) {
  Bytes b(len);
  for (uint32_t k = 0; k < len; ++k) b[k] = stream_byte(off + k);
  return b;
}

struct Piece {
  uint32_t off, len;
};

// The stream [0, total) cut at random points into pieces (half of them small), plus extra pieces at
// random places that overlap, straddle or repeat the others; in random order.
std::vector<Piece> scrambled(std::mt19937& rng, uint32_t total) {
  std::vector<Piece> v;
  for (uint32_t off = 0; off < total;) {
    const uint32_t len = std::min<uint32_t>(total - off, rng() % 2 ? 1 + rng() % 64 : 1 + rng() % 1000);
    v.push_back({off, len});
    off += len;
  }
  const size_t extra = v.size() / 4;
  for (size_t k = 0; k < extra; ++k) {
    const uint32_t off = rng() % total;
    v.push_back({off, std::min<uint32_t>(total - off, 1 + rng() % 2500)});
  }
  for (size_t k = 0; k < extra / 2; ++k) v.push_back(v[rng() % v.size()]);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

struct Rx {
  StackHarness h;
  Conn c;
  uint32_t r = 0;  // the peer's sequence number of stream offset 0
  explicit Rx(bool ts = false) {
    OpenOpts o;
    o.sack = true;
    o.ts = ts;
    c = accept_conn(h, o);
    r = c.snd;
  }
  void piece(const Piece& p) {
    TcpSpec s = c.seg(tf::kAck, stream(p.off, p.len));
    s.seq = r + p.off;
    c.in(s);
  }
  TcpSock* tp() {
    int err = 0;
    return tcp_sk(h.shard().socks.fds.socket(c.fd, &err)->sk);
  }
};

}  // namespace

TEST(TcpOoo, ScrambledStreamIsReassembledExactlyAndSackDescribesWhatIsHeld) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    Rx t;
    constexpr uint32_t kTotal = 48'000;
    std::vector<bool> have(kTotal, false);  // what the peer has sent so far
    uint32_t delivered = 0;                 // RCV.NXT - r as the stack's ACKs say
    for (const Piece& p : scrambled(rng, kTotal)) {
      t.piece(p);
      for (uint32_t k = p.off; k < p.off + p.len; ++k) have[k] = true;
      for (const SentTcp& s : t.c.out()) {
        const uint32_t ack = s.ack - t.r;
        EXPECT_GE(ack, delivered);
        delivered = std::max(delivered, ack);
        // Everything below the ACK was sent; the byte at it was not yet (else it would be acknowledged).
        EXPECT_TRUE(std::all_of(have.begin(), have.begin() + ack, [](bool b) { return b; }));
        if (ack < kTotal) {
          EXPECT_FALSE(have[ack]);
        }
        std::vector<std::pair<uint32_t, uint32_t>> held;
        Blocks bl = blocks_of(s, t.r);
        // RFC 2883: a first block below the ACK or inside another block reports a duplicate.
        if (!bl.empty() && (bl[0].first < ack || std::any_of(bl.begin() + 1, bl.end(), [&](const auto& o) {
                              return o.first <= bl[0].first && bl[0].second <= o.second;
                            })))
          bl.erase(bl.begin());
        for (const auto& [l, rr] : bl) {
          ASSERT_LT(l, rr);
          ASSERT_LE(rr, kTotal);
          // A block holds nothing the peer did not send, and is maximal: the bytes next to it are missing.
          for (uint32_t k = l; k < rr; ++k) ASSERT_TRUE(have[k]) << "block [" << l << ", " << rr << ") byte " << k;
          EXPECT_FALSE(have[l - 1] && l - 1 >= ack) << "block [" << l << ", " << rr << ") is not maximal";
          if (rr < kTotal) {
            EXPECT_FALSE(have[rr]) << "block [" << l << ", " << rr << ") is not maximal";
          }
          held.emplace_back(l, rr);
        }
        std::sort(held.begin(), held.end());
        for (size_t k = 1; k < held.size(); ++k) EXPECT_LT(held[k - 1].second, held[k].first);
      }
    }
    EXPECT_EQ(delivered, kTotal);
    ssize_t rc = 0;
    const Bytes got = read_all(t.c.fd, &rc);
    const Bytes want = stream(0, kTotal);
    ASSERT_EQ(got.size(), want.size());
    const auto diff = std::mismatch(got.begin(), got.end(), want.begin());
    EXPECT_TRUE(diff.first == got.end()) << "first wrong byte at offset " << (diff.first - got.begin());
    TcpSock* tp = t.tp();
    EXPECT_TRUE(tp->ooo_queue.empty());
    EXPECT_TRUE(tp->ooo_ranges.empty());
    EXPECT_EQ(t.h.shard().tcp.ooo_bufs, 0u);
    EXPECT_EQ(sk_of(tp)->rmem_alloc, 0);
    skiff_close(t.c.fd);
  }
}

TEST(TcpOoo, HolesFilledFromTheBackAndTheFrontDrainInOnePass) {
  // 40 ranges of 100 bytes with 100-byte holes; the holes are filled from the last to the second, so the
  // ranges merge one by one, and the first hole then delivers all 7,900 bytes at once.
  Rx t;
  for (uint32_t k = 0; k < 40; ++k) t.piece({100 + 200 * k, 100});
  t.c.out();
  EXPECT_EQ(t.tp()->ooo_ranges.size(), 40u);
  for (uint32_t k = 39; k >= 1; --k) {
    t.piece({200 * k, 100});
    const auto out = t.c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack - t.r, 0u);
    // The block the filler joined goes first (RFC 2018 §4), and it reaches the end of what is held.
    const auto b = blocks_of(out[0], t.r);
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(b[0], (std::pair<uint32_t, uint32_t>{200 * k - 100, 200 * 39 + 200}));
  }
  EXPECT_EQ(t.tp()->ooo_ranges.size(), 1u);
  t.piece({0, 100});
  const auto out = t.c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack - t.r, 8'000u);
  EXPECT_TRUE(blocks_of(out[0], t.r).empty());
  EXPECT_TRUE(t.tp()->ooo_ranges.empty());
  EXPECT_EQ(read_all(t.c.fd), stream(0, 8'000));
  skiff_close(t.c.fd);
}

TEST(TcpOoo, InOrderSegmentReachingIntoSeveralRangesDeliversThemAll) {
  // A retransmission that covers the hole and overlaps the first ranges (a sender that repacketized).
  Rx t;
  t.piece({1000, 500});
  t.piece({2000, 500});
  t.piece({3000, 500});
  t.c.out();
  t.piece({0, 2200});  // reaches into the second range
  const auto out = t.c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack - t.r, 2'500u);
  EXPECT_EQ(blocks_of(out[0], t.r), (Blocks{{3000, 3500}}));
  EXPECT_EQ(t.tp()->ooo_ranges.size(), 1u);
  EXPECT_EQ(read_all(t.c.fd), stream(0, 2'500));
  skiff_close(t.c.fd);
}

TEST(TcpOoo, ShardWideBoundIsHalfThePool) {
  // Two connections each try to park more segments than half the pool: together they hold no more.
  HarnessOptions ho;
  ho.cfg.pool_size = 1023;
  StackHarness h(ho);
  OpenOpts o;
  o.sack = true;
  Conn a = accept_conn(h, o);
  Conn b = a;  // a second connection from another peer port
  {
    b.pport = kPeerPort + 1;
    b.irs = b.snd = 5000;
    TcpSpec syn{.sport = b.pport, .dport = kLocalPort, .seq = b.irs, .ack = 0, .flags = tf::kSyn, .wnd = 65535};
    wire::TcpOptions so;
    so.mss = 1000;
    so.sack_permitted = true;
    syn.opts = so;
    b.in(syn);
    const auto sa = b.out();
    ASSERT_EQ(sa.size(), 1u);
    b.iss = sa[0].seq;
    b.nxt = b.iss + 1;
    b.snd = b.irs + 1;
    b.ack();
    sockaddr_in peer{};
    socklen_t pl = sizeof peer;
    b.fd = skiff_accept(b.lfd, reinterpret_cast<sockaddr*>(&peer), &pl);
    ASSERT_GE(b.fd, 0);
  }
  const uint32_t half = 1023 / 2;
  for (Conn* c : {&a, &b}) {
    for (uint32_t k = 0; k < 400; ++k) {  // 1-byte segments on alternate bytes: each one its own range
      TcpSpec s = c->seg(tf::kAck, Bytes{1});
      s.seq = c->snd + 1 + 2 * k;
      c->in(s);
    }
    c->out();
  }
  EXPECT_EQ(h.shard().tcp.ooo_bufs, half);
  EXPECT_EQ(h.drops(Drop::TcpOooFull), 800u - half);
  // Aborting the connections gives them back.
  const linger l0{1, 0};
  for (Conn* c : {&a, &b}) {
    ASSERT_EQ(skiff_setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l0, sizeof l0), 0);
    skiff_close(c->fd);
  }
  a.out();
  EXPECT_EQ(h.shard().tcp.ooo_bufs, 0u);
}

TEST(TcpOoo, OutOfOrderSegmentsOfOneBurstGetOneAckWithSackAndOneEachWithout) {
  for (const bool sack : {true, false}) {
    SCOPED_TRACE(sack);
    StackHarness h;
    OpenOpts o;
    o.sack = sack;
    Conn c = accept_conn(h, o);
    const uint32_t r = c.snd;
    std::vector<Bytes> burst;
    for (uint32_t k = 1; k <= 5; ++k) {  // 1000..6000 with holes at 0 and 3000
      if (k == 3) continue;
      TcpSpec s = c.seg(tf::kAck, stream(1000 * k, 1000));
      s.seq = r + 1000 * k;
      burst.push_back(tcp_frame(h, s));
    }
    h.inject_burst(burst);
    auto out = c.out();
    if (sack) {
      // One ACK, after the burst: the newest range first (RFC 2018 §4), then the other.
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].ack, r);
      EXPECT_EQ(blocks_of(out[0], r), (Blocks{{4000, 6000}, {1000, 3000}}));
    } else {
      ASSERT_EQ(out.size(), 4u);  // a duplicate ACK per segment: the sender counts them (RFC 5681)
      for (const auto& a : out) EXPECT_EQ(a.ack, r);
    }
    // The hole's segment, alone: an ACK at once, as always.
    TcpSpec s = c.seg(tf::kAck, stream(0, 1000));
    c.in(s);
    out = c.out();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack - r, 3000u);
    skiff_close(c.fd);
  }
}

TEST(TcpOoo, DeferredAckOfAConnectionResetInTheSameBurstIsNotSent) {
  StackHarness h;
  OpenOpts o;
  o.sack = true;
  Conn c = accept_conn(h, o);
  TcpSpec d = c.seg(tf::kAck, stream(1000, 1000));
  d.seq = c.snd + 1000;
  const TcpSpec rst = c.seg(tf::kRst);
  h.inject_burst({tcp_frame(h, d), tcp_frame(h, rst)});
  EXPECT_TRUE(c.out().empty());
  EXPECT_EQ(state_of(c.fd), TCP_CLOSE);
  EXPECT_EQ(h.shard().tcp.n_deferred_acks, 0u);
  skiff_close(c.fd);
}

TEST(TcpOoo, PawsAllowsOneTickOfReorderingAndDropsOlder) {
  Rx t(/*ts=*/true);
  t.c.ts_val = 1000;
  t.piece({0, 100});  // TS.Recent = 1000
  t.c.out();
  // Reordered by one tick (sent before the segment above): taken.
  t.c.ts_val = 999;
  t.piece({100, 100});
  auto out = t.c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack - t.r, 200u);
  EXPECT_EQ(t.h.drops(Drop::TcpPaws), 0u);
  // Two ticks old: PAWS drops it (and ACKs, as it carries data).
  t.c.ts_val = 998;
  t.piece({200, 100});
  out = t.c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack - t.r, 200u);
  EXPECT_EQ(t.h.drops(Drop::TcpPaws), 1u);
  // An old bare ACK that is not a pure duplicate (it moves the window): dropped without an answer.
  TcpSpec a = t.c.seg(tf::kAck);
  a.seq = t.r + 200;
  a.wnd = 1000;
  a.opts->ts_val = 990;
  t.c.in(a);
  EXPECT_TRUE(t.c.out().empty());
  EXPECT_EQ(t.h.drops(Drop::TcpPaws), 2u);
  skiff_close(t.c.fd);
}
