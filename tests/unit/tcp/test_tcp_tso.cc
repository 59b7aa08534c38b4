// TSO (TCP segmentation offload): on a device that offers it, full-sized new segments that both windows
// take leave as one frame of up to 64 KiB for the device to cut (RTE_MBUF_F_TX_TCP_SEG, tso_segsz = MSS,
// checksum field = pseudo-header sum without the length). Retransmissions, segments cut by the window and
// the FIN go one by one. On receive, a large segment a device merged (vhost delivers a virtio guest's TSO
// frames this way: RX_LRO, L4 checksum "none" = verified) is taken whole.
#include "tcp_test_util.hh"
#include "wire/checksum.hh"

using namespace tcpt;

namespace {

HarnessOptions tso_device() {
  HarnessOptions o;
  o.caps.tx_tcp_csum = true;
  o.caps.tx_tso = true;
  return o;
}

struct TxFrame {
  uint64_t ol_flags;
  uint16_t tso_segsz;
  uint8_t l4_len;
  uint32_t pkt_len;
};

// The frames the stack handed to the device, with their offload metadata (left in place for out()).
std::vector<TxFrame> tx_meta(StackHarness& h) {
  h.shard().flush();
  std::vector<TxFrame> v;
  for (rte_mbuf* m : h.dev().tx)
    v.push_back({m->ol_flags, static_cast<uint16_t>(m->tso_segsz), static_cast<uint8_t>(m->l4_len), m->pkt_len});
  return v;
}

uint16_t pseudo_no_len() {
  return wire::csum_fold16(wire::pseudo_header_sum(StackHarness::kOurIp, StackHarness::kPeerIp, 6, 0));
}

// The checksum field as stored (the raw 16 bits, in memory order).
uint16_t checksum_field(const SentTcp& t) {
  uint16_t v;
  memcpy(&v, t.ip.payload.data() + 16, 2);
  return v;
}

}  // namespace

TEST(TcpTso, FullSegmentsLeaveAsOneFrameForTheDeviceToCut) {
  StackHarness h(tso_device());
  Conn c = accept_conn(h);  // MSS 1000, initial window 10 segments
  ASSERT_EQ(c.send(10'000), 10'000);
  const auto meta = tx_meta(h);
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_TRUE(meta[0].ol_flags & RTE_MBUF_F_TX_TCP_SEG);
  EXPECT_EQ(meta[0].tso_segsz, 1000u);
  EXPECT_EQ(meta[0].l4_len, 20u);
  EXPECT_EQ(meta[0].pkt_len, 14u + 20u + 20u + 10'000u);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, pattern(10'000, 1));
  EXPECT_EQ(out[0].ip.total_len, 20u + 20u + 10'000u);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_TRUE(out[0].has(tf::kAck) && out[0].has(tf::kPsh));
  EXPECT_EQ(checksum_field(out[0]), pseudo_no_len());
  EXPECT_EQ(h.shard().stats.tcp_out_tso, 1u);
  c.ack();
  EXPECT_EQ(info(c.fd).tcpi_unacked, 0u);
  skiff_close(c.fd);
}

TEST(TcpTso, WithoutTheOffloadEverySegmentIsItsOwnFrame) {
  HarnessOptions o;
  o.caps.tx_tcp_csum = true;
  StackHarness h(o);
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(10'000), 10'000);
  const auto meta = tx_meta(h);
  ASSERT_EQ(meta.size(), 10u);
  for (const auto& f : meta) EXPECT_FALSE(f.ol_flags & RTE_MBUF_F_TX_TCP_SEG);
  EXPECT_EQ(h.shard().stats.tcp_out_tso, 0u);
  skiff_close(c.fd);
}

TEST(TcpTso, FrameStopsAtThePeersWindowAndTheFinGoesAlone) {
  StackHarness h(tso_device());
  Conn c = accept_conn(h, {.wnd = 2500});
  ASSERT_EQ(c.send(3000), 3000);
  auto meta = tx_meta(h);
  ASSERT_EQ(meta.size(), 1u);  // two segments fit; the third would pass the window (and 500 bytes is too small)
  EXPECT_TRUE(meta[0].ol_flags & RTE_MBUF_F_TX_TCP_SEG);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 2000u);
  ASSERT_EQ(skiff_shutdown(c.fd, SHUT_WR), 0);
  EXPECT_TRUE(c.out().empty());
  c.wnd = 65535;
  c.ack();  // the window opens: the last segment leaves, with the FIN, on its own
  meta = tx_meta(h);
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_FALSE(meta[0].ol_flags & RTE_MBUF_F_TX_TCP_SEG);
  out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  const Bytes all = pattern(3000, 1);
  EXPECT_EQ(out[0].payload, Bytes(all.begin() + 2000, all.end()));
  EXPECT_TRUE(out[0].has(tf::kFin));
  skiff_close(c.fd);
}

TEST(TcpTso, RetransmissionGoesOneSegmentAtATime) {
  StackHarness h(tso_device());
  Conn c = accept_conn(h);
  ASSERT_EQ(c.send(5000), 5000);
  ASSERT_EQ(tx_meta(h).size(), 1u);
  (void)c.out_track();
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 5s, got));  // the RTO
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, c.iss + 1);
  const Bytes all = pattern(5000, 1);
  EXPECT_EQ(got[0].payload, Bytes(all.begin(), all.begin() + 1000));
  skiff_close(c.fd);
}

TEST(TcpTso, LargeMergedSegmentIsTakenWhole) {
  StackHarness h;
  Conn c = accept_conn(h);
  const Bytes data = pattern(20'000, 7);
  Bytes frame = tcp_frame(h, c.seg(tf::kAck | tf::kPsh, data));
  // As vhost hands over a guest's TSO frame: no valid checksum in the packet, integrity vouched for.
  frame[14 + 20 + 16] ^= 0x5a;
  h.inject(frame, RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE | RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  c.snd += static_cast<uint32_t>(data.size());
  EXPECT_EQ(read_all(c.fd), data);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);  // 2 * RMSS and more: ACKed at once
  EXPECT_EQ(out[0].ack, c.snd);
  EXPECT_EQ(h.total_drops(), 0u);
  skiff_close(c.fd);
}
