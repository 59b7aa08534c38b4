// SYN-SENT (RFC 9293 §3.10.7.3): the active open. Our SYN carries the MSS option; a SYN-ACK acknowledging it
// establishes the connection and is ACKed; RST+ACK refuses it; an unacceptable ACK gets <SEQ=SEG.ACK><RST>;
// the SYN is retransmitted with exponential backoff until syn_retries, then ETIMEDOUT; a SYN without ACK is
// a simultaneous open (SYN-RECEIVED, SYN-ACK).
#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

// Starts a connect() to the peer and returns (fd, the SYN we sent).
std::pair<int, SentTcp> start_connect(StackHarness& h) {
  h.learn_peer();
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0);
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  auto out = out_of(h);
  EXPECT_EQ(out.size(), 1u);
  return {fd, out.empty() ? SentTcp{} : out[0]};
}

// The peer's segment to our SYN-SENT socket.
TcpSpec to_us(const SentTcp& syn, uint32_t seq, uint32_t ack, uint8_t flags) {
  return TcpSpec{.sport = kPeerPort, .dport = syn.sport, .seq = seq, .ack = ack, .flags = flags};
}

int connect_again(int fd) {
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  return skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

}  // namespace

TEST(TcpSynSent, SynCarriesMssAndNoAck) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  EXPECT_TRUE(syn.checksum_ok);
  EXPECT_EQ(syn.flags, tf::kSyn);
  EXPECT_EQ(syn.ack, 0u);
  EXPECT_EQ(syn.dport, kPeerPort);
  EXPECT_GE(syn.sport, 1024);
  ASSERT_TRUE(syn.opts.mss);
  EXPECT_EQ(*syn.opts.mss, 1460);  // MTU 1500 - 40
  EXPECT_GT(syn.wnd, 0);
  EXPECT_TRUE(syn.payload.empty());
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, EALREADY);
  skiff_close(fd);
  EXPECT_TRUE(out_of(h).empty());  // closing in SYN-SENT just forgets the connection
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
}

TEST(TcpSynSent, SynAckEstablishesAndIsAcked) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  TcpSpec sa = to_us(syn, 5000, syn.seq + 1, tf::kSyn | tf::kAck);
  sa.opts = mss_opt(1000);
  sa.wnd = 30000;
  h.inject(tcp_frame(h, sa));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, syn.seq + 1);
  EXPECT_EQ(out[0].ack, 5001u);
  EXPECT_EQ(out[0].wnd, 65535);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(connect_again(fd), 0);  // a non-blocking connect reports success once
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, EISCONN);
  const tcp_info ti = info(fd);
  EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(ti.tcpi_snd_mss, 1000u);  // min(peer's 1000, our 1460)
  EXPECT_EQ(so_error(fd), 0);
  // Data flows at once, from ISS+1.
  const Bytes d = pattern(100, 3);
  ASSERT_EQ(skiff_send(fd, d.data(), d.size(), MSG_DONTWAIT), 100);
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, syn.seq + 1);
  EXPECT_EQ(out[0].ack, 5001u);
  EXPECT_EQ(out[0].flags, tf::kAck | tf::kPsh);
  EXPECT_EQ(out[0].payload, d);
  skiff_close(fd);
}

TEST(TcpSynSent, RetransmittedSynAckIsAckedAgain) {
  StackHarness h;
  OpenOpts o;
  o.peer_isn = 5000;
  Conn c = connect_conn(h, o);
  // Our ACK was lost: the peer repeats its SYN-ACK (SEQ=IRS, outside the window): we ACK it again.
  TcpSpec sa = c.seg(tf::kSyn | tf::kAck);
  sa.seq = 5000;
  c.in(sa);
  auto out = c.out();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, c.iss + 1);
  EXPECT_EQ(out[0].ack, 5001u);
  EXPECT_EQ(state_of(c.fd), TCP_ESTABLISHED);
  skiff_close(c.fd);
}

TEST(TcpSynSent, RstAckRefuses) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  h.inject(tcp_frame(h, to_us(syn, 0, syn.seq + 1, tf::kRst | tf::kAck)));
  EXPECT_TRUE(out_of(h).empty());  // never a RST for a RST
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_EQ(h.shard().stats.tcp_attempt_fails, 1u);
  EXPECT_EQ(h.shard().tcp.connections(), 0u);
  EXPECT_EQ(state_of(fd), TCP_CLOSE);
  // The 4-tuple is gone: a late SYN-ACK gets the no-connection RST.
  h.inject(tcp_frame(h, to_us(syn, 5000, syn.seq + 1, tf::kSyn | tf::kAck)));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].seq, syn.seq + 1);
  skiff_close(fd);
}

TEST(TcpSynSent, RstWithoutAckOrWithBadAckIsIgnored) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  // RST without ACK: "drop the segment and return".
  h.inject(tcp_frame(h, to_us(syn, 0, 0, tf::kRst)));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.drops(Drop::TcpBadFlags), 1u);
  // RST whose ACK is not acceptable: dropped, no RST in reply.
  h.inject(tcp_frame(h, to_us(syn, 0, syn.seq + 7, tf::kRst | tf::kAck)));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 1u);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, EALREADY);
  skiff_close(fd);
}

TEST(TcpSynSent, UnacceptableAckGetsRstAtSegAck) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  // SEG.ACK =< ISS or SEG.ACK > SND.NXT: <SEQ=SEG.ACK><CTL=RST>, and the connection stays in SYN-SENT.
  const uint32_t bad[] = {syn.seq, syn.seq - 1000, syn.seq + 2, syn.seq + 0x40000000u};
  for (uint32_t a : bad) {
    h.inject(tcp_frame(h, to_us(syn, 777, a, tf::kAck)));
    auto out = out_of(h);
    ASSERT_EQ(out.size(), 1u) << a;
    EXPECT_EQ(out[0].flags, tf::kRst);
    EXPECT_EQ(out[0].seq, a);
    EXPECT_EQ(out[0].ack, 0u);
    EXPECT_EQ(out[0].sport, syn.sport);
    EXPECT_EQ(out[0].dport, kPeerPort);
  }
  // The same for a SYN-ACK with a bad ACK.
  h.inject(tcp_frame(h, to_us(syn, 777, syn.seq + 5, tf::kSyn | tf::kAck)));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].seq, syn.seq + 5);
  EXPECT_EQ(h.drops(Drop::TcpBadAck), 5u);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  // The right SYN-ACK still completes the handshake.
  h.inject(tcp_frame(h, to_us(syn, 777, syn.seq + 1, tf::kSyn | tf::kAck)));
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].ack, 778u);
  EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
  skiff_close(fd);
}

TEST(TcpSynSent, SegmentWithNeitherSynNorRstIsDropped) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  // An acceptable ACK alone, and a FIN (RFC 9293: no FIN processing in SYN-SENT): dropped, no reply.
  h.inject(tcp_frame(h, to_us(syn, 777, syn.seq + 1, tf::kAck)));
  h.inject(tcp_frame(h, to_us(syn, 777, syn.seq + 1, tf::kAck | tf::kFin)));
  TcpSpec data = to_us(syn, 777, syn.seq + 1, tf::kAck | tf::kPsh);
  data.payload = pattern(10);
  h.inject(tcp_frame(h, data));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(h.drops(Drop::TcpBadFlags), 3u);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  skiff_close(fd);
}

TEST(TcpSynSent, SynRetransmittedWithBackoffThenTimesOut) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  // RTO 1 s, doubled on each expiry (RFC 6298 §5.5): SYNs at 1, 3, 7, 15, 31, 63 s; syn_retries = 6, so the
  // next expiry (127 s) gives up with ETIMEDOUT.
  const int64_t expect_ms[] = {1000, 2000, 4000, 8000, 16000, 32000};
  for (int64_t ms : expect_ms) {
    std::vector<SentTcp> got;
    auto t = advance_until_sent(h, 200s, got);
    ASSERT_TRUE(t);
    const int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(*t).count();
    EXPECT_GE(took, ms);
    EXPECT_LE(took, ms + 2);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags, tf::kSyn);
    EXPECT_EQ(got[0].seq, syn.seq);  // the same SYN
    ASSERT_TRUE(got[0].opts.mss);
    EXPECT_EQ(*got[0].opts.mss, 1460);
    EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  }
  EXPECT_EQ(info(fd).tcpi_retransmits, 6u);
  h.advance(63s);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  h.advance(1s + 2ms);
  EXPECT_TRUE(out_of(h).empty());  // gives up silently
  EXPECT_EQ(state_of(fd), TCP_CLOSE);
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_EQ(h.shard().stats.tcp_attempt_fails, 1u);
  EXPECT_EQ(h.shard().stats.tcp_timeouts, 1u);
  EXPECT_EQ(h.shard().stats.tcp_rto_expired, 6u);
  skiff_close(fd);
}

TEST(TcpSynSent, SimultaneousOpen) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  // RFC 9293 §3.5 figure 8: the peer's SYN crosses ours. We go to SYN-RECEIVED and send SYN-ACK
  // <SEQ=ISS><ACK=IRS+1>, still announcing our MSS.
  TcpSpec psyn = to_us(syn, 300, 0, tf::kSyn);
  psyn.opts = mss_opt(1200);
  h.inject(tcp_frame(h, psyn));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].seq, syn.seq);
  EXPECT_EQ(out[0].ack, 301u);
  ASSERT_TRUE(out[0].opts.mss);
  EXPECT_EQ(*out[0].opts.mss, 1460);
  EXPECT_EQ(state_of(fd), TCP_SYN_RECV);
  EXPECT_EQ(connect_again(fd), -1);
  EXPECT_EQ(errno, EALREADY);
  // Line 6: the peer's SYN-ACK <SEQ=300><ACK=ISS+1> takes us to ESTABLISHED.
  h.inject(tcp_frame(h, to_us(syn, 300, syn.seq + 1, tf::kSyn | tf::kAck)));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
  EXPECT_EQ(info(fd).tcpi_snd_mss, 1200u);
  EXPECT_EQ(connect_again(fd), 0);
  // Both directions work.
  const Bytes d = pattern(50, 4);
  ASSERT_EQ(skiff_send(fd, d.data(), d.size(), MSG_DONTWAIT), 50);
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, syn.seq + 1);
  EXPECT_EQ(out[0].ack, 301u);
  TcpSpec in = to_us(syn, 301, syn.seq + 51, tf::kAck | tf::kPsh);
  in.payload = pattern(20, 5);
  h.inject(tcp_frame(h, in));
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 321u);
  EXPECT_EQ(read_all(fd), in.payload);
  skiff_close(fd);
}

TEST(TcpSynSent, SimultaneousOpenCompletedByAck) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  h.inject(tcp_frame(h, to_us(syn, 300, 0, tf::kSyn)));
  ASSERT_EQ(out_of(h).size(), 1u);  // our SYN-ACK
  // The peer got our SYN-ACK first and answers with a plain ACK.
  h.inject(tcp_frame(h, to_us(syn, 301, syn.seq + 1, tf::kAck)));
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
  EXPECT_EQ(connect_again(fd), 0);
  skiff_close(fd);
}

TEST(TcpSynSent, SimultaneousOpenRetransmitsSynAck) {
  StackHarness h;
  auto [fd, syn] = start_connect(h);
  h.inject(tcp_frame(h, to_us(syn, 300, 0, tf::kSyn)));
  ASSERT_EQ(out_of(h).size(), 1u);
  std::vector<SentTcp> got;
  ASSERT_TRUE(advance_until_sent(h, 2s, got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(got[0].seq, syn.seq);
  EXPECT_EQ(got[0].ack, 301u);
  // TCP_INFO counts this socket's SYN-ACKs as its own (a listener's child's are not: Linux's request socket
  // sends those): the SYN and both SYN-ACKs.
  EXPECT_EQ(xinfo(fd).tcpi_segs_out, 3u);
  EXPECT_EQ(xinfo(fd).tcpi_segs_in, 1u);
  skiff_close(fd);
}
