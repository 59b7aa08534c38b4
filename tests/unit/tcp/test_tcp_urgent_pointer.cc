// An urgent pointer past the segment's data is legal (RFC 9293 §3.10.7.4: the urgent data may end in a later
// segment). Regression: found by the over-the-wire battery (tests/integration/attack_battery.sh, class
// urgent) when a Linux sender used MSG_OOB behind queued data: Linux sets URG, with the pointer
// snd_up - seq (up to 0xffff), on every segment it sends before the urgent byte, bare ACKs included.
// Skiff dropped all of them (TcpBadUrgent), and the stream stalled for good. Urgent data is read inline;
// only a zero pointer (URGENT/11's underflow) is refused.
#include "tcp_test_util.hh"

using namespace tcpt;

TEST(TcpUrgentPointer, PointerPastTheDataIsTakenInline) {
  StackHarness h;
  Conn c = accept_conn(h);
  const uint32_t start = c.snd;
  Bytes all;
  // Three segments before the urgent byte (pointers 30, 20, 10 bytes ahead of each segment's start, past its
  // 10 bytes of data), then the one holding it, then one beyond, as Linux sends them.
  for (uint16_t up : {30, 20, 10}) {
    TcpSpec s = c.seg(tf::kAck | tf::kPsh | tf::kUrg, pattern(10, static_cast<uint8_t>(up)));
    s.urg = up;
    c.in(s);
    c.snd += 10;
    for (uint8_t b : s.payload) all.push_back(b);
  }
  TcpSpec s = c.seg(tf::kAck | tf::kPsh | tf::kUrg, pattern(10, 7));
  s.urg = 0xffff;  // Linux caps a pointer further ahead at 0xffff
  c.in(s);
  c.snd += 10;
  for (uint8_t b : s.payload) all.push_back(b);
  EXPECT_EQ(h.total_drops(), 0u);
  EXPECT_EQ(read_all(c.fd), all);
  auto out = c.out();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().ack, start + 40);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpUrgentPointer, BareAckWithUrgentPointerIsAnAck) {
  StackHarness h;
  Conn c = accept_conn(h);
  // Our data in flight, acknowledged by a bare ACK that carries URG (the peer is in urgent mode).
  ASSERT_EQ(c.send(100, 3), 100);
  ASSERT_EQ(c.out_track().size(), 1u);
  TcpSpec a = c.seg(tf::kAck | tf::kUrg);
  a.urg = 500;
  c.in(a);
  EXPECT_EQ(h.total_drops(), 0u);
  EXPECT_EQ(info(c.fd).tcpi_unacked, 0u);  // the ACK was taken
  skiff_close(c.fd);
}

TEST(TcpUrgentPointer, ZeroPointerIsStillDropped) {
  StackHarness h;
  Conn c = accept_conn(h);
  TcpSpec s = c.seg(tf::kAck | tf::kPsh | tf::kUrg, pattern(10, 9));
  s.urg = 0;
  c.in(s);
  EXPECT_EQ(h.drops(Drop::TcpBadUrgent), 1u);
  EXPECT_TRUE(c.out().empty());
  skiff_close(c.fd);
}
