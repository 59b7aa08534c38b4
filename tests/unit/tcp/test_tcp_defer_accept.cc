// TCP_DEFER_ACCEPT on a listener, as Linux: the handshake's bare final ACK is dropped and the connection
// waits in SYN-RECEIVED until the peer's first data (or FIN) completes it; a peer that sends nothing gets
// no SYN-ACK until the last timeout of the deferral, one SYN-ACK then, and its answer completes the
// handshake with nothing to read. The seconds set are kept as a count of SYN-ACK timeouts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <climits>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp_builder.hh"
#include "tcp_test_util.hh"

using namespace skiff;
using namespace skiff::test;
namespace tf = wire::tcp_flag;

namespace {

// A listener with TCP_DEFER_ACCEPT of `defer_secs` (set after listen(), as Linux allows).
int listener(uint16_t port, int defer_secs, int backlog = 16) {
  const int fd = tcpt::listen_on(port, backlog);
  EXPECT_EQ(tcpt::set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer_secs), 0);
  return fd;
}

int defer_of(int fd) { return tcpt::get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT); }

// SYN from the peer's port `sport`; returns our SYN-ACK's sequence number (other frames sent are dropped).
uint32_t syn(StackHarness& h, uint16_t sport) {
  h.inject(tcp_frame(h, {.sport = sport, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1400)}));
  std::vector<SentTcp> synacks;
  for (const SentTcp& t : tcp_only(h.sent()))
    if (t.dport == sport && t.flags == (tf::kSyn | tf::kAck)) synacks.push_back(t);
  EXPECT_EQ(synacks.size(), 1u);
  return synacks.empty() ? 0 : synacks[0].seq;
}

// The SYN and the handshake's bare final ACK from the peer's port `sport`; our ISS.
uint32_t syn_and_bare_ack(StackHarness& h, uint16_t sport) {
  const uint32_t iss = syn(h, sport);
  h.inject(tcp_frame(h, {.sport = sport, .seq = 1001, .ack = iss + 1, .flags = tf::kAck}));
  return iss;
}

int try_accept(int l) { return skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK); }

// Moves the clock in 100 ms steps (timers run at each, as a polling shard runs them).
void step(StackHarness& h, std::chrono::milliseconds d) {
  for (auto t = std::chrono::milliseconds(0); t < d; t += std::chrono::milliseconds(100))
    h.advance(std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100), d - t));
}

size_t synacks_in(const std::vector<SentTcp>& out) {
  size_t n = 0;
  for (const SentTcp& t : out) n += t.flags == (tf::kSyn | tf::kAck);
  return n;
}

}  // namespace

TEST(TcpDeferAccept, SecondsAreKeptAsSynAckTimeoutsAndReadBackAsTheirSum) {
  // Measured on Linux 6.18 (setsockopt then getsockopt on a fresh socket): the smallest number of timeouts
  // (1 s, doubling, at most 120 s) covering the seconds asked for, read back as their sum.
  StackHarness h;
  const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(defer_of(fd), 0);
  const std::pair<int, int> cases[] = {{0, 0},   {1, 1},     {2, 3},     {3, 3},  {4, 7},
                                       {5, 7},   {7, 7},     {8, 15},    {30, 31}, {100, 127},
                                       {1000, 1087}, {-1, 0}, {INT_MAX, 29887}};
  for (auto [set, want] : cases) {
    ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &set, sizeof set), 0) << set;
    EXPECT_EQ(defer_of(fd), want) << "set " << set;
  }
  const short too_short = 1;
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &too_short, sizeof too_short), -1);
  EXPECT_EQ(errno, EINVAL);
  skiff_close(fd);
}

TEST(TcpDeferAccept, BareAckWaitsAndTheFirstDataCompletesTheHandshake) {
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 5);
  EXPECT_EQ(defer_of(l), 7);
  // Connection 1: the bare ACK is held back; nothing to accept, the listener is not readable.
  const uint32_t iss = syn_and_bare_ack(h, 41000);
  EXPECT_TRUE(tcp_only(h.sent()).empty());
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 1u);
  EXPECT_EQ(try_accept(l), -1);
  EXPECT_EQ(errno, EAGAIN);
  const int ep = skiff_epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l;
  ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
  h.advance(0ms);
  EXPECT_EQ(skiff_epoll_wait(ep, &ev, 1, 0), 0);
  // Its first data completes it: accepted with the data to read, the data acknowledged.
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1001, .ack = iss + 1, .flags = tf::kAck | tf::kPsh,
                         .payload = Bytes{'G', 'E', 'T'}}));
  h.advance(0ms);  // as a poll iteration ends: the wake reaches epoll
  EXPECT_EQ(skiff_epoll_wait(ep, &ev, 1, 0), 1);
  skiff_close(ep);
  const int c1 = try_accept(l);
  ASSERT_GE(c1, 0) << strerror(errno);
  char buf[8];
  EXPECT_EQ(skiff_recv(c1, buf, sizeof buf, MSG_DONTWAIT), 3);
  EXPECT_EQ(std::string(buf, 3), "GET");
  EXPECT_EQ(defer_of(c1), 0);  // an accepted connection does not carry the listener's setting (Linux)
  h.advance(500ms);
  bool acked = false;
  for (const SentTcp& t : tcp_only(h.sent())) acked |= t.dport == 41000 && t.ack == 1004;
  EXPECT_TRUE(acked);
  // Connection 2: data in the final ACK itself completes the handshake at once.
  const uint32_t iss2 = syn(h, 41001);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 1001, .ack = iss2 + 1, .flags = tf::kAck | tf::kPsh,
                         .payload = Bytes{'x'}}));
  const int c2 = try_accept(l);
  EXPECT_GE(c2, 0) << strerror(errno);
  // Connection 3: a FIN after the bare ACK completes it too; the reader sees the end of the stream.
  const uint32_t iss3 = syn_and_bare_ack(h, 41002);
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 2u);
  h.inject(tcp_frame(h, {.sport = 41002, .seq = 1001, .ack = iss3 + 1, .flags = tf::kAck | tf::kFin}));
  const int c3 = try_accept(l);
  ASSERT_GE(c3, 0) << strerror(errno);
  EXPECT_EQ(skiff_recv(c3, buf, sizeof buf, MSG_DONTWAIT), 0);
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 2u);
  for (int fd : {c1, c2, c3}) skiff_close(fd);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, SilentPeerGetsOneSynAckAtTheEndAndItsAckCompletesTheHandshake) {
  // 5 s is 3 timeouts (1 + 2 + 4 s): no SYN-ACK at 1 s and 3 s, one at 7 s; the peer's ACK to it is taken
  // as it is (Linux accepts after the deferral even without data).
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 5);
  const uint32_t iss = syn_and_bare_ack(h, 41000);
  EXPECT_TRUE(tcp_only(h.sent()).empty());
  h.advance(1100ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 0u) << "no SYN-ACK at the first timeout";
  h.advance(2000ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 0u) << "nor at the second";
  EXPECT_EQ(try_accept(l), -1);
  h.advance(4000ms);
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u) << "the third timeout sends the SYN-ACK again";
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(out[0].seq, iss);
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1001, .ack = iss + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 1u) << "the deferral is over: this ACK is taken";
  const int c = try_accept(l);
  ASSERT_GE(c, 0) << strerror(errno);
  char b;
  EXPECT_EQ(skiff_recv(c, &b, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, HeldConnectionOutlivesTheSynAckRetriesButNotTheDeferral) {
  // 100 s is 7 timeouts (1 + 2 + ... + 64 = 127 s), more than the 5 SYN-ACK retries a SYN-RECEIVED
  // connection gets otherwise. A peer that acknowledged and then went silent keeps its place until the
  // deferral ends: one SYN-ACK at 127 s, then the connection is dropped silently at the next timeout
  // (Linux's syn_ack_recalc). Without the held ACK, the usual 5 retries end it.
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 100);
  EXPECT_EQ(defer_of(l), 127);
  syn_and_bare_ack(h, 41000);
  syn(h, 41001);  // never answered: an ordinary SYN-RECEIVED connection
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 3u);
  std::vector<SentTcp> to_held, to_other;
  // Seconds pass; the peer's ARP requests keep its neighbour entry fresh (a stale one would queue the
  // SYN-ACK behind an unanswered ARP request).
  auto pass = [&](int secs) {
    for (int s = 0; s < secs; ++s) {
      h.advance(1s);
      for (const SentTcp& t : tcp_only(h.sent())) (t.dport == 41000 ? to_held : to_other).push_back(t);
      if (s % 20 == 0) h.learn_peer();
    }
  };
  pass(126);
  EXPECT_EQ(to_held.size(), 0u) << "nothing to the held connection before 127 s";
  EXPECT_EQ(to_other.size(), 5u) << "the unanswered one got its 5 retries";
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 2u) << "and is gone (1 + 2 + ... + 32 + 64 s)";
  pass(2);
  ASSERT_EQ(to_held.size(), 1u);
  EXPECT_EQ(to_held[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 2u);
  pass(121);
  EXPECT_EQ(to_held.size(), 1u);
  for (const SentTcp& t : to_held) EXPECT_FALSE(t.has(tf::kRst));
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 1u) << "the held connection is gone after its last timeout";
  EXPECT_EQ(try_accept(l), -1);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, OffByDefaultAndOffAgainAtZero) {
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 3);
  int zero = 0;
  ASSERT_EQ(skiff_setsockopt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, &zero, sizeof zero), 0);
  syn_and_bare_ack(h, 41000);
  const int c = try_accept(l);
  EXPECT_GE(c, 0) << strerror(errno);
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 0u);
  if (c >= 0) skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, HeldAckTimesTheSynAckNotTheWait) {
  // The held ACK is the handshake's round trip (20 ms here); the data that completes the handshake 3 s
  // later echoes the SYN-ACK's timestamp and must not be taken as a 3 s sample (Linux's tcp_synack_rtt_meas
  // would): the first RTO comes from 20 ms. The SYN-ACK's backed-off schedule is not disturbed meanwhile.
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 5);
  wire::TcpOptions o = mss_opt(1400);
  o.has_timestamp = true;
  o.ts_val = 100;
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1000, .flags = tf::kSyn, .opts = o}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.has_timestamp);
  const uint32_t iss = out[0].seq, synack_ts = out[0].opts.ts_val;
  h.advance(20ms);
  wire::TcpOptions e;
  e.has_timestamp = true;
  e.ts_val = 120;
  e.ts_ecr = synack_ts;
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1001, .ack = iss + 1, .flags = tf::kAck, .opts = e}));
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 1u);
  h.advance(1100ms);
  h.advance(1900ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 0u);
  e.ts_val = 3100;
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1001, .ack = iss + 1, .flags = tf::kAck | tf::kPsh, .opts = e,
                         .payload = Bytes{'h', 'i'}}));
  const int c = try_accept(l);
  ASSERT_GE(c, 0) << strerror(errno);
  const tcp_info ti = tcpt::info(c);
  EXPECT_GE(ti.tcpi_rtt, 19000u);
  EXPECT_LE(ti.tcpi_rtt, 21000u) << "the wait was taken as a round trip";
  EXPECT_LE(ti.tcpi_rto, 1000000u) << "the RTO kept the SYN-ACK's backoff";
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, RepeatedSynIsAnsweredAndTheScheduleHolds) {
  // The peer sends its SYN again while its ACK is held (its own SYN timer): it gets the SYN-ACK again, and
  // the deferral still ends with the one SYN-ACK at 7 s.
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 5);
  syn_and_bare_ack(h, 41000);
  h.advance(500ms);
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1000, .flags = tf::kSyn, .opts = mss_opt(1400)}));
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 1u);
  size_t n = 0;
  for (int i = 0; i < 60; ++i) {  // to 6.5 s
    h.advance(100ms);
    n += synacks_in(tcp_only(h.sent()));
  }
  EXPECT_EQ(n, 0u);
  h.advance(600ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 1u);
  EXPECT_EQ(try_accept(l), -1);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, ListenersUserTimeoutDoesNotCutTheDeferralShort) {
  // TCP_USER_TIMEOUT (inherited by the children) counts once a connection is established: a held one still
  // gets its SYN-ACK at 7 s with a 2 s user timeout on the listener (Linux: request sockets have none).
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 5);
  const int ut = 2000;
  ASSERT_EQ(skiff_setsockopt(l, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut), 0);
  const uint32_t iss = syn_and_bare_ack(h, 41000);
  step(h, 3100ms);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 2u) << "the held connection is still there at 3 s";
  step(h, 4000ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 1u);
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1001, .ack = iss + 1, .flags = tf::kAck}));
  const int c = try_accept(l);
  EXPECT_GE(c, 0) << strerror(errno);
  if (c >= 0) skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpDeferAccept, ClosingTheListenerFreesHeldConnections) {
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 30);
  for (uint16_t p : {41000, 41001, 41002}) {
    syn_and_bare_ack(h, p);
  }
  EXPECT_EQ(h.drops(Drop::TcpDeferAccept), 3u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 4u);
  skiff_close(l);
  h.advance(10ms);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), 0u);
  h.sent();
}

TEST(TcpDeferAccept, AckDroppedForAFullAcceptQueueCountsAsHeld) {
  // Linux's listen_overflow marks the request acknowledged: with a deferral on, a connection whose ACK met
  // a full accept queue is not sent SYN-ACKs at each timeout and outlives the SYN-ACK retries as a held one.
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 5, 0);  // room for one
  const uint32_t iss1 = syn(h, 41000), iss2 = syn(h, 41001);
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 1001, .ack = iss1 + 1, .flags = tf::kAck | tf::kPsh,
                         .payload = Bytes{'a'}}));
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 1001, .ack = iss2 + 1, .flags = tf::kAck | tf::kPsh,
                         .payload = Bytes{'b'}}));
  EXPECT_EQ(h.drops(Drop::TcpAcceptQueueFull), 1u);
  h.sent();
  step(h, 3100ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 0u) << "no SYN-ACK at 1 s and 3 s";
  step(h, 4000ms);
  EXPECT_EQ(synacks_in(tcp_only(h.sent())), 1u) << "one at 7 s";
  const int c1 = try_accept(l);
  ASSERT_GE(c1, 0);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 1001, .ack = iss2 + 1, .flags = tf::kAck | tf::kPsh,
                         .payload = Bytes{'b'}}));
  const int c2 = try_accept(l);
  EXPECT_GE(c2, 0) << strerror(errno);
  skiff_close(c1);
  if (c2 >= 0) skiff_close(c2);
  skiff_close(l);
  h.sent();
}
