// IPv4 reassembly: any order, duplicates, overlaps, bounds, timeouts (RFC 791 §3.2, RFC 815, RFC 5722's
// overlap rule, RFC 1122 §3.2.1.4 time exceeded).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "stack_harness.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::test;
namespace it = wire::icmp_type;

namespace {
const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;

Ipv4Spec spec(uint16_t id = 0x777, uint8_t proto = 1) {
  return Ipv4Spec{.src = kPeer, .dst = kOur, .proto = proto, .id = id};
}

// An echo request of `n` data bytes, as fragments of `chunk` payload bytes.
std::vector<Bytes> echo_frags(StackHarness& h, size_t n, size_t chunk, uint16_t id = 0x777, Bytes* icmp_out = nullptr) {
  Bytes msg = icmp_echo(it::kEchoRequest, 0x99, id, pattern(n, static_cast<uint8_t>(id)));
  if (icmp_out) *icmp_out = msg;
  std::vector<Bytes> frames;
  for (auto& f : fragments(spec(id), msg, chunk)) frames.push_back(h.from_peer(f));
  return frames;
}

// Collects the (possibly fragmented) echo reply and checks it mirrors `request`.
void expect_echo_reply(StackHarness& h, const Bytes& request) {
  auto out = h.sent();
  ASSERT_FALSE(out.empty());
  std::vector<SentIp> frags;
  for (auto& f : out) {
    auto ip = parse_ip(f);
    ASSERT_TRUE(ip);
    EXPECT_TRUE(ip->checksum_ok);
    EXPECT_LE(ip->total_len, 1500);
    frags.push_back(*ip);
  }
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), request.size());
  EXPECT_EQ((*whole)[0], it::kEchoReply);
  EXPECT_TRUE(std::equal(request.begin() + 8, request.end(), whole->begin() + 8));
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(whole->data(), whole->size())));
}
}  // namespace

TEST(Reass, InOrderReverseAndShuffled) {
  StackHarness h;
  h.learn_peer();
  std::mt19937 rng(7);
  for (int order = 0; order < 3; ++order) {
    Bytes req;
    auto frames = echo_frags(h, 4000, 1480, static_cast<uint16_t>(100 + order), &req);
    if (order == 1) std::reverse(frames.begin(), frames.end());
    if (order == 2) std::shuffle(frames.begin(), frames.end(), rng);
    for (auto& f : frames) h.inject(f);
    expect_echo_reply(h, req);
  }
  EXPECT_EQ(h.shard().stats.ip_reasm_oks, 3u);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(Reass, TinyFragmentsBuildAChain) {
  StackHarness h;
  h.learn_peer();
  Bytes req;
  auto frames = echo_frags(h, 120, 8, 5, &req);  // 16 fragments of 8 bytes
  for (auto& f : frames) h.inject(f);
  expect_echo_reply(h, req);
}

TEST(Reass, ExactDuplicateIsDroppedAndTheDatagramStillCompletes) {
  StackHarness h;
  h.learn_peer();
  Bytes req;
  auto frames = echo_frags(h, 3000, 1480, 6, &req);
  h.inject(frames[0]);
  h.inject(frames[0]);
  for (size_t i = 1; i < frames.size(); ++i) h.inject(frames[i]);
  EXPECT_EQ(h.drops(Drop::FragDuplicate), 1u);
  expect_echo_reply(h, req);
}

TEST(Reass, OverlapDiscardsTheWholeDatagram) {
  StackHarness h;
  h.learn_peer();
  const Bytes payload = pattern(64);
  Ipv4Spec a = spec(9);
  a.flags_frag = 0x2000 | 0;  // [0, 32) MF
  Ipv4Spec b = spec(9);
  b.flags_frag = 0x2000 | 2;  // [16, 48) MF: overlaps
  h.inject(h.from_peer(ipv4(a, Bytes(payload.begin(), payload.begin() + 32))));
  h.inject(h.from_peer(ipv4(b, Bytes(payload.begin() + 16, payload.begin() + 48))));
  EXPECT_EQ(h.drops(Drop::FragOverlap), 2u);  // the held fragment and the offender
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
  // Teardrop: a fragment inside another.
  Ipv4Spec c = spec(10);
  c.flags_frag = 0x2000 | 0;
  Ipv4Spec d = spec(10);
  d.flags_frag = 1;  // [8, 16) last, inside [0, 32)
  h.inject(h.from_peer(ipv4(c, Bytes(payload.begin(), payload.begin() + 32))));
  h.inject(h.from_peer(ipv4(d, Bytes(payload.begin(), payload.begin() + 8))));
  EXPECT_GE(h.drops(Drop::FragOverlap) + h.drops(Drop::FragInconsistent), 4u);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Reass, PingOfDeathIsRejected) {
  StackHarness h;
  Ipv4Spec s = spec(11);
  s.flags_frag = static_cast<uint16_t>(65528 / 8);  // last fragment at offset 65528
  h.inject(h.from_peer(ipv4(s, pattern(100))));
  EXPECT_EQ(h.drops(Drop::FragTooBig), 1u);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
}

// The datagram's size is the first fragment's header plus the data: a first fragment with 40 bytes of options
// and data up to 65,512 make 65,572 bytes, which no 16-bit length can say. Before, the total wrapped to a
// value below the header length and the re-parsed view was used unchecked: a remote crash. Found in review.
TEST(Reass, FirstFragmentOptionsPushingPast65535AreRejected) {
  StackHarness h;
  Ipv4Spec first = spec(21);
  first.options = Bytes(40, 1);  // NOPs
  first.flags_frag = 0x2000;
  h.inject(h.from_peer(ipv4(first, pattern(1440))));
  size_t n = 1;
  for (uint32_t off = 1440; off < 65512; off += 1480, ++n) {
    Ipv4Spec s = spec(21);
    const uint32_t len = std::min<uint32_t>(1480, 65512 - off);
    s.flags_frag = static_cast<uint16_t>((off + len < 65512 ? 0x2000 : 0) | off / 8);
    h.inject(h.from_peer(ipv4(s, pattern(len))));
  }
  EXPECT_EQ(h.shard().stats.ip_reasm_oks, 0u);
  EXPECT_EQ(h.shard().stats.ip_reasm_fails, 1u);
  EXPECT_EQ(h.drops(Drop::FragTooBig), n);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.buffers_in_use(), 0u);
}

// The mirror case: options on a later fragment are not part of the datagram, so a last fragment with 40
// bytes of options ending at 65,500 makes a legal 65,520-byte datagram (it was refused as too big).
TEST(Reass, LaterFragmentOptionsDoNotCountAgainstTheSize) {
  StackHarness h;
  h.learn_peer();
  Bytes msg = icmp_echo(it::kEchoRequest, 0x99, 22, pattern(65500 - 8, 3));
  auto frags = fragments(spec(22), msg, 1480);
  ASSERT_GT(frags.size(), 2u);
  // Rebuild the last fragment with options: same offset and data, a longer header.
  const size_t last_off = (frags.size() - 1) * 1480;
  Ipv4Spec s = spec(22);
  s.options = Bytes(40, 1);
  s.flags_frag = static_cast<uint16_t>(last_off / 8);
  frags.back() = ipv4(s, Bytes(msg.begin() + static_cast<long>(last_off), msg.end()));
  for (auto& f : frags) h.inject(h.from_peer(f));
  EXPECT_EQ(h.drops(Drop::FragTooBig), 0u);
  EXPECT_EQ(h.shard().stats.ip_reasm_oks, 1u);
  EXPECT_EQ(h.shard().stats.icmp_in_echos, 1u);
}

TEST(Reass, NonLastFragmentsMustBeMultiplesOfEight) {
  StackHarness h;
  Ipv4Spec s = spec(12);
  s.flags_frag = 0x2000;
  h.inject(h.from_peer(ipv4(s, pattern(30))));
  h.inject(h.from_peer(ipv4(s, Bytes{})));
  EXPECT_EQ(h.drops(Drop::FragBadLen), 2u);
}

TEST(Reass, InconsistentLengthsDiscard) {
  StackHarness h;
  Ipv4Spec last1 = spec(13), last2 = spec(13);
  last1.flags_frag = 4;  // last fragment at 32 -> total 40
  last2.flags_frag = 6;  // another last fragment at 48 -> total 56: disagrees
  h.inject(h.from_peer(ipv4(last1, pattern(8))));
  h.inject(h.from_peer(ipv4(last2, pattern(8))));
  EXPECT_EQ(h.drops(Drop::FragInconsistent), 2u);
  Ipv4Spec l = spec(14), beyond = spec(14);
  l.flags_frag = 2;                // last at 16 -> total 24
  beyond.flags_frag = 0x2000 | 4;  // data at 32 beyond the end
  h.inject(h.from_peer(ipv4(l, pattern(8))));
  h.inject(h.from_peer(ipv4(beyond, pattern(8))));
  EXPECT_EQ(h.drops(Drop::FragInconsistent), 4u);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
}

TEST(Reass, TimeoutSendsTimeExceededOnlyWithTheFirstFragment) {
  StackHarness h;
  h.learn_peer();
  auto frames = echo_frags(h, 3000, 1480, 21);
  h.inject(frames[0]);  // first fragment only
  auto frames2 = echo_frags(h, 3000, 1480, 22);
  h.inject(frames2[1]);  // a middle fragment only
  EXPECT_EQ(h.shard().reass.datagrams(), 2u);
  h.advance(29s);
  EXPECT_TRUE(h.sent().empty());
  h.advance(2s);
  EXPECT_EQ(h.drops(Drop::FragTimeout), 2u);
  auto out = h.sent();
  // The neighbour entry went stale meanwhile: a unicast ARP refresh may precede the ICMP error.
  std::erase_if(out, [](const Bytes& f) { return f[12] == 0x08 && f[13] == 0x06; });
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->dst, kPeer);
  EXPECT_EQ(ip->payload[0], it::kTimeExceeded);
  EXPECT_EQ(ip->payload[1], wire::icmp_time_exceeded::kReassembly);
  EXPECT_EQ(wire::load_be16(ip->payload.data() + 8 + 4), 21);  // quotes the datagram's IP ID
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
}

TEST(Reass, NoTimeExceededAboutAnIcmpError) {
  StackHarness h;
  h.learn_peer();
  Bytes err = icmp(it::kDestUnreachable, 3, 0, pattern(2000));
  auto frags = fragments(spec(31), err, 1480);
  h.inject(h.from_peer(frags[0]));
  h.advance(31s);
  EXPECT_EQ(h.drops(Drop::FragTimeout), 1u);
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.shard().stats.icmp_err_suppressed, 1u);
}

TEST(Reass, NoTimeExceededAboutADatagramSentAsALinkLayerBroadcast) {
  // RFC 1122 §3.2.2: no ICMP error about a datagram that came as a link-layer broadcast, also when the
  // error is the reassembly timeout's. Regression: the timeout's error forgot how the fragment came.
  StackHarness h;
  h.learn_peer();
  auto frags = fragments(spec(33), icmp(it::kEchoRequest, 0, 0, pattern(3000)), 1480);
  h.inject(eth(MacAddr::broadcast(), StackHarness::kPeerMac, 0x0800, frags[0]));
  EXPECT_EQ(h.shard().reass.datagrams(), 1u);
  h.advance(31s);
  EXPECT_EQ(h.drops(Drop::FragTimeout), 1u);
  auto out = h.sent();
  std::erase_if(out, [](const Bytes& f) { return f[12] == 0x08 && f[13] == 0x06; });
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(h.shard().stats.icmp_err_suppressed, 1u);
}

TEST(Reass, TableIsBoundedOldestEvicted) {
  HarnessOptions o;
  o.cfg.ipv4.reass_max_datagrams = 4;
  StackHarness h(o);
  for (uint16_t id = 0; id < 10; ++id) h.inject(echo_frags(h, 3000, 1480, static_cast<uint16_t>(200 + id))[1]);
  EXPECT_EQ(h.shard().reass.datagrams(), 4u);
  EXPECT_EQ(h.drops(Drop::FragTableFull), 6u);
}

TEST(Reass, MemoryIsBounded) {
  HarnessOptions o;
  o.cfg.ipv4.reass_max_bytes = 64 * 1024;
  StackHarness h(o);
  for (uint16_t id = 0; id < 200; ++id) h.inject(echo_frags(h, 3000, 1480, static_cast<uint16_t>(id))[0]);
  EXPECT_LE(h.shard().reass.bytes_held(), 64u * 1024u);
  EXPECT_GT(h.drops(Drop::FragNoMemory), 0u);
  EXPECT_LT(h.buffers_in_use(), 40u);
}

TEST(Reass, FragmentCountIsBounded) {
  HarnessOptions o;
  o.cfg.ipv4.reass_max_frags = 4;
  StackHarness h(o);
  auto frames = echo_frags(h, 100, 8, 41);  // 14 fragments
  for (auto& f : frames) h.inject(f);
  EXPECT_GE(h.drops(Drop::FragTooMany), 1u);
  EXPECT_TRUE(h.sent().empty());
  h.advance(31s);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
}

TEST(Reass, FloodOfIncompleteDatagramsStaysBoundedThenDrains) {
  StackHarness h;
  for (uint32_t i = 0; i < 5000; ++i) {
    Ipv4Spec s = spec(static_cast<uint16_t>(i));
    s.src = Ipv4Addr(Ipv4Addr::of(10, 0, 0, 0).host() + 3 + (i % 200));
    s.flags_frag = 0x2000 | static_cast<uint16_t>(i % 50);
    h.inject(h.from_peer(ipv4(s, pattern(64))));
  }
  EXPECT_LE(h.shard().reass.datagrams(), h.stack().config().ipv4.reass_max_datagrams);
  h.advance(31s);
  EXPECT_EQ(h.shard().reass.datagrams(), 0u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
}
