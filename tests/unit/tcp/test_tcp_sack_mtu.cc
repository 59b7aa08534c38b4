// SACK blocks on data segments must fit the MTU (regression: found by the over-the-wire SYN flood test,
// tests/integration/attack_synflood.sh, as Ipv4FragNeeded drops of our own segments during an echo
// transfer). The send MSS leaves room for the timestamp option only; a full-sized data segment that also
// carried SACK blocks (4 + 8n bytes) was larger than the MTU and, with DF set, never left. Now a data
// segment carries as many blocks as fit beside its data (none beside a full-sized one), and ACKs without
// data still carry all of them.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

constexpr uint16_t kPeerMss = 1460;  // MTU 1500: the send MSS is 1448 with timestamps

// A connection with SACK and timestamps; the peer has sent data with a hole at its start, so we hold
// out-of-order data and report it in SACK blocks.
Conn conn_with_hole(StackHarness& h, uint32_t* ooo_left) {
  OpenOpts o;
  o.mss = kPeerMss;
  o.sack = true;
  o.ts = true;
  Conn c = accept_conn(h, o);
  *ooo_left = c.snd + 100;
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(200, 3));
  s.seq = *ooo_left;
  c.in(s);
  auto out = c.out_track();  // the duplicate ACK with the block
  EXPECT_EQ(out.size(), 1u);
  if (!out.empty()) {
    EXPECT_EQ(out[0].opts.num_sack, 1u);
  }
  return c;
}

}  // namespace

TEST(TcpSackMtu, FullSizedDataSegmentsLeaveWithoutBlocks) {
  StackHarness h;
  uint32_t left = 0;
  Conn c = conn_with_hole(h, &left);
  ASSERT_EQ(c.send(3 * 1448, 5), 3 * 1448);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& t : out) {
    EXPECT_EQ(t.payload.size(), 1448u);
    EXPECT_LE(t.ip.total_len, 1500u);
    EXPECT_TRUE(t.opts.has_timestamp);
    EXPECT_EQ(t.opts.num_sack, 0u);  // no room
  }
  EXPECT_EQ(h.drops(Drop::Ipv4FragNeeded), 0u);
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(TcpSackMtu, ShorterDataSegmentsCarryTheBlocksThatFit) {
  StackHarness h;
  uint32_t left = 0;
  Conn c = conn_with_hole(h, &left);
  // 1448 - 1430 = 18 bytes of room: one block (12 bytes).
  ASSERT_EQ(c.send(1430, 6), 1430);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LE(out[0].ip.total_len, 1500u);
  ASSERT_EQ(out[0].opts.num_sack, 1u);
  EXPECT_EQ(out[0].opts.sack[0].left.raw(), left);
  EXPECT_EQ(out[0].opts.sack[0].right.raw(), left + 200);
  c.ack();
  // 100 bytes of data: room for all three blocks beside the timestamp.
  ASSERT_EQ(c.send(100, 7), 100);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opts.num_sack, 1u);  // the one block there is
  EXPECT_EQ(h.total_drops(), 0u);
}

TEST(TcpSackMtu, BareAcksStillCarryThreeBlocks) {
  StackHarness h;
  uint32_t left = 0;
  Conn c = conn_with_hole(h, &left);
  // Two more holes: three blocks, all on the duplicate ACK.
  for (uint32_t off : {400u, 700u}) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(100, 4));
    s.seq = c.snd + off;
    c.in(s);
  }
  auto out = c.out_track();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().opts.num_sack, 3u);
  EXPECT_TRUE(out.back().payload.empty());
  // Now a full-sized data segment: it leaves (without blocks), and the next bare ACK has all three.
  ASSERT_EQ(c.send(1448, 8), 1448);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 1448u);
  EXPECT_LE(out[0].ip.total_len, 1500u);
  TcpSpec s = c.seg(tf::kAck | tf::kPsh, pattern(50, 9));
  s.seq = c.snd + 1000;
  c.in(s);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(out[0].opts.num_sack, 3u);
  EXPECT_EQ(h.total_drops(), 0u);
}
