// LISTEN (RFC 9293 §3.10.7.2): SYN gets SYN-ACK with our MSS; ACK to a listener gets RST; RST is ignored;
// the third ACK completes the handshake and the connection waits for accept(); backlog bounds.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp_builder.hh"
#include "tcp_test_util.hh"

using namespace skiff;
using namespace skiff::test;
namespace tf = wire::tcp_flag;
using tcpt::listen_on;

namespace {


}  // namespace

TEST(TcpListen, SynGetsSynAckWithOurMss) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000);
  h.inject(tcp_frame(h, {.seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1400)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  const SentTcp& sa = out[0];
  EXPECT_TRUE(sa.checksum_ok);
  EXPECT_EQ(sa.flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(sa.ack, 1001u);
  EXPECT_EQ(sa.sport, 7000);
  EXPECT_EQ(sa.dport, 40000);
  ASSERT_TRUE(sa.opts.mss);
  EXPECT_EQ(*sa.opts.mss, 1460);
  EXPECT_GT(sa.wnd, 0);
  // Complete the handshake; the connection is then accepted.
  h.inject(tcp_frame(h, {.seq = 1001, .ack = sa.seq + 1, .flags = tf::kAck}));
  EXPECT_TRUE(h.sent().empty());
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  const int c = skiff_accept4(l, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
  ASSERT_GE(c, 0) << strerror(errno);
  EXPECT_EQ(ntohs(peer.sin_port), 40000);
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpListen, AckToAListenerGetsRst) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000);
  h.inject(tcp_frame(h, {.seq = 5, .ack = 777, .flags = tf::kAck}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].seq, 777u);  // RFC 9293: <SEQ=SEG.ACK><CTL=RST>
  skiff_close(l);
}

TEST(TcpListen, RstToAListenerIsIgnored) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000);
  h.inject(tcp_frame(h, {.seq = 5, .flags = tf::kRst}));
  EXPECT_TRUE(h.sent().empty());
  EXPECT_EQ(h.drops(Drop::TcpListenRst), 1u);
  skiff_close(l);
}

TEST(TcpListen, NoListenerGetsRstAck) {
  StackHarness h;
  h.learn_peer();
  h.inject(tcp_frame(h, {.seq = 100, .flags = tf::kSyn}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst | tf::kAck);
  EXPECT_EQ(out[0].seq, 0u);
  EXPECT_EQ(out[0].ack, 101u);
  EXPECT_EQ(h.drops(Drop::TcpNoSocket), 1u);
  // Never a RST for a RST.
  h.inject(tcp_frame(h, {.seq = 100, .flags = tf::kRst}));
  EXPECT_TRUE(h.sent().empty());
}

TEST(TcpListen, SynQueueAndAcceptQueueAreBounded) {
  HarnessOptions o;
  o.cfg.tcp.syncookies = false;  // with cookies the overflow is answered statelessly (test_tcp_syncookies)
  StackHarness h(o);
  h.learn_peer();
  const int l = listen_on(7000, 2);
  // 20 SYNs from different ports: at most max(backlog, 16) wait in SYN-RECEIVED.
  for (uint16_t i = 0; i < 20; ++i) h.inject(tcp_frame(h, {.sport = static_cast<uint16_t>(41000 + i), .seq = 1, .flags = tf::kSyn}));
  EXPECT_EQ(tcp_only(h.sent()).size(), 16u);
  EXPECT_EQ(h.drops(Drop::TcpSynQueueFull), 4u);
  skiff_close(l);
  h.sent();
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 0u);
}

namespace {

// A handshake from peer port `sport`; true if the SYN was answered (and the ACK then sent).
bool handshake(StackHarness& h, uint16_t sport) {
  h.inject(tcp_frame(h, {.sport = sport, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1400)}));
  auto out = tcp_only(h.sent());
  if (out.empty()) return false;
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  h.inject(tcp_frame(h, {.sport = sport, .seq = 1001, .ack = out[0].seq + 1, .flags = tf::kAck}));
  EXPECT_TRUE(h.sent().empty());
  return true;
}

}  // namespace

TEST(TcpListen, BacklogZeroStillTakesOneConnection) {
  // listen(fd, 0): Linux's sk_acceptq_is_full is `>`, so one connection still completes and waits.
  // Regression: the accept queue counted as full at 0 >= 0 and every SYN was dropped.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 0);
  ASSERT_TRUE(handshake(h, 41000));
  const int c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(c, 0) << strerror(errno);
  // Accepted: room for one again.
  ASSERT_TRUE(handshake(h, 41001));
  EXPECT_FALSE(handshake(h, 41002));  // one waits already
  EXPECT_EQ(h.drops(Drop::TcpAcceptQueueFull), 1u);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpListen, BacklogOfTwoQueuesThreeConnections) {
  // Linux: backlog N holds N + 1 completed connections; the SYN after that is dropped (the peer sends it
  // again), with or without SYN cookies.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  for (uint16_t i = 0; i < 3; ++i) ASSERT_TRUE(handshake(h, static_cast<uint16_t>(41000 + i))) << i;
  EXPECT_FALSE(handshake(h, 41003));
  EXPECT_EQ(h.drops(Drop::TcpAcceptQueueFull), 1u);
  EXPECT_EQ(h.shard().stats.tcp_listen_overflows, 1u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 0u);
  int fds[3];
  for (int& fd : fds) {
    fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    EXPECT_GE(fd, 0);
  }
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_TRUE(handshake(h, 41003));  // the repeated SYN finds room now
  for (int fd : fds) skiff_close(fd);
  skiff_close(l);
  h.sent();
}

TEST(TcpListen, FinalAckFindingTheAcceptQueueFullIsDroppedAndTheHandshakeCompletesLater) {
  // Two handshakes in flight on listen(fd, 0) (room for one): the second ACK finds the queue full. As Linux
  // (tcp_check_req, tcp_abort_on_overflow off) the ACK is dropped and the connection stays in SYN-RECEIVED;
  // its SYN-ACK goes again on the timer, and the peer's answer completes it once accept() made room.
  // Regression: the ACK was taken and the queue grew past the backlog (up to the SYN queue's size).
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 0);
  std::vector<SentTcp> synacks;
  for (uint16_t p : {41000, 41001}) {
    h.inject(tcp_frame(h, {.sport = p, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1400)}));
    auto out = tcp_only(h.sent());
    ASSERT_EQ(out.size(), 1u);
    synacks.push_back(out[0]);
  }
  for (size_t i = 0; i < 2; ++i)
    h.inject(tcp_frame(h, {.sport = static_cast<uint16_t>(41000 + i), .seq = 1001, .ack = synacks[i].seq + 1,
                           .flags = tf::kAck}));
  EXPECT_TRUE(tcp_only(h.sent()).empty());
  EXPECT_EQ(h.drops(Drop::TcpAcceptQueueFull), 1u);
  EXPECT_EQ(h.shard().stats.tcp_listen_overflows, 1u);
  const int a = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(a, 0) << strerror(errno);
  EXPECT_EQ(skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK), -1);  // the second is not established yet
  EXPECT_EQ(errno, EAGAIN);
  // The SYN-ACK's retransmission timer (1 s) sends it again; the peer answers with its ACK.
  h.advance(1100ms);
  auto again = tcp_only(h.sent());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(again[0].dport, 41001);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 1001, .ack = again[0].seq + 1, .flags = tf::kAck}));
  const int b = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(b, 0) << strerror(errno);
  skiff_close(a);
  if (b >= 0) skiff_close(b);
  skiff_close(l);
  h.sent();
}
