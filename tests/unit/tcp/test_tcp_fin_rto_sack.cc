// A lone FIN is retransmitted on RTO when SACK is on (regression: found by the over-the-wire SYN flood test,
// tests/integration/attack_synflood.sh, as connections stuck in LAST-ACK after the peer's ACK of our FIN was
// lost). With SACK the RTO keeps the scoreboard instead of rewinding SND.NXT, and a FIN sent after all the
// data was acknowledged is on no scoreboard: the RTO fired, backed off and sent nothing, until the
// connection timed out minutes later. Without SACK (go-back-N) the FIN was always resent.
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

Conn conn(StackHarness& h, bool sack) {
  OpenOpts o;
  o.sack = sack;
  o.rtt = 20ms;
  return accept_conn(h, o);
}

// Our FIN, alone, goes unacknowledged: it must come again on every RTO, and the peer's late ACK ends it.
void fin_resent(bool sack, bool peer_first) {
  StackHarness h;
  Conn c = conn(h, sack);
  // Some data first, acknowledged, so the write queue is empty when the FIN leaves.
  ASSERT_EQ(c.send(500, 2), 500);
  ASSERT_EQ(c.out_track().size(), 1u);
  c.ack();
  if (peer_first) {
    c.fin();  // CLOSE-WAIT, then our close: LAST-ACK
    auto out = c.out_track();
    ASSERT_EQ(out.size(), 1u);
  }
  const size_t conns = h.shard().tcp.connections();
  ASSERT_EQ(conns, 1u);
  skiff_close(c.fd);
  auto out = c.out_track();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has(tf::kFin));
  const uint32_t fin_seq = out[0].seq;
  for (int k = 0; k < 3; ++k) {
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 5s, got, 10ms);
    ASSERT_TRUE(t) << "no retransmission of the FIN (round " << k << ", sack " << sack << ")";
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].has(tf::kFin));
    EXPECT_EQ(got[0].seq, fin_seq);
    EXPECT_TRUE(got[0].payload.empty());
  }
  // The peer's ACK of the FIN arrives at last: LAST-ACK ends (FIN-WAIT-1 moves on to FIN-WAIT-2, and the
  // peer's FIN then leaves us in TIME-WAIT; either way nothing more is retransmitted).
  c.ack(fin_seq + 1);
  if (peer_first) {
    EXPECT_EQ(h.shard().tcp.connections(), 0u);
  } else {
    c.fin();
    auto fin_ack = c.out();
    ASSERT_EQ(fin_ack.size(), 1u);
    EXPECT_EQ(fin_ack[0].ack, c.snd);
  }
  std::vector<SentTcp> got;
  EXPECT_FALSE(advance_until_sent(h, 3s, got, 10ms));
  EXPECT_GE(h.shard().stats.tcp_retrans_segs, 3u);
}

}  // namespace

TEST(TcpFinRtoSack, LastAckFinIsResentWithSack) { fin_resent(true, true); }
TEST(TcpFinRtoSack, FinWait1FinIsResentWithSack) { fin_resent(true, false); }
TEST(TcpFinRtoSack, LastAckFinIsResentWithoutSack) { fin_resent(false, true); }
TEST(TcpFinRtoSack, FinWait1FinIsResentWithoutSack) { fin_resent(false, false); }
