// SYN cookies (RFC 4987): used only when the SYN queue overflows; a valid ACK creates the connection with
// the options the cookie carried; forged and stale cookie ACKs are refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp_builder.hh"
#include "tcp_test_util.hh"

using namespace skiff;
using namespace skiff::test;
namespace tf = wire::tcp_flag;
using tcpt::listen_on;

namespace {


wire::TcpOptions syn_opts(bool ts) {
  wire::TcpOptions o;
  o.mss = 1400;
  o.wscale = 7;
  o.sack_permitted = true;
  if (ts) {
    o.has_timestamp = true;
    o.ts_val = 12345;
  }
  return o;
}

// Fills the SYN queue (16 entries for a small backlog) with SYNs from other ports.
void fill_syn_queue(StackHarness& h) {
  for (uint16_t i = 0; i < 16; ++i)
    h.inject(tcp_frame(h, {.sport = static_cast<uint16_t>(30000 + i), .seq = 1, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  EXPECT_EQ(tcp_only(h.sent()).size(), 16u);
}

}  // namespace

TEST(TcpSynCookies, OverflowAnswersWithACookieAndTheAckCompletes) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  fill_syn_queue(h);
  const size_t in_use = h.shard().socks.in_use(tcp_prot);
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5000, .flags = tf::kSyn, .opts = syn_opts(true)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  const SentTcp sa = out[0];
  EXPECT_EQ(sa.flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(sa.ack, 5001u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 1u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), in_use);  // stateless: nothing allocated
  ASSERT_TRUE(sa.opts.has_timestamp);
  ASSERT_TRUE(sa.opts.wscale);
  EXPECT_TRUE(sa.opts.sack_permitted);
  // The handshake's third segment, echoing the timestamp, creates an established connection with data.
  wire::TcpOptions ack_opts;
  ack_opts.has_timestamp = true;
  ack_opts.ts_val = 12346;
  ack_opts.ts_ecr = sa.opts.ts_val;
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5001, .ack = sa.seq + 1, .flags = tf::kAck | tf::kPsh, .wnd = 100,
                         .opts = ack_opts, .payload = pattern(10)}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 1u);
  auto acks = tcp_only(h.sent());
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back().ack, 5011u);  // the data was taken
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  const int c = skiff_accept4(l, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
  ASSERT_GE(c, 0) << strerror(errno);
  EXPECT_EQ(ntohs(peer.sin_port), 41000);
  uint8_t buf[32];
  EXPECT_EQ(skiff_recv(c, buf, sizeof buf, 0), 10);
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  EXPECT_EQ(ti.tcpi_snd_wscale, 7);  // carried by the cookie through the timestamp
  EXPECT_TRUE(ti.tcpi_options & TCPI_OPT_SACK);
  EXPECT_EQ(ti.tcpi_snd_mss, 1400u - 12u);  // MSS from the cookie's table (1400), less the TS option
  // As Linux's child from a cookie: it starts with 1 segment in, and counts the ACK (with data) on top.
  const skiff_tcp_info xi = tcpt::xinfo(c);
  EXPECT_EQ(xi.tcpi_segs_in, 2u);
  EXPECT_EQ(xi.tcpi_data_segs_in, 1u);
  EXPECT_EQ(xi.tcpi_delivered, 1u);  // its (stateless) SYN-ACK
  EXPECT_EQ(xi.tcpi_bytes_received, 10u);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, ForgedAndStaleAcksAreRefused) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9000, .flags = tf::kSyn, .opts = syn_opts(false)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  const uint32_t cookie = out[0].seq;
  // Wrong cookie (one bit off), wrong peer ISN, wrong port: all refused with RST, nothing created.
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9001, .ack = (cookie ^ 1) + 1, .flags = tf::kAck}));
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9002, .ack = cookie + 1, .flags = tf::kAck}));
  h.inject(tcp_frame(h, {.sport = 41002, .seq = 9001, .ack = cookie + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_failed, 3u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 0u);
  for (const auto& t : tcp_only(h.sent())) EXPECT_TRUE(t.has(tf::kRst));
  // The right ACK, but three minutes late: stale, even though the SYN queue is overflowing again (so the
  // ACK is checked as a cookie at all: cookie_ack).
  h.advance(180s);
  h.sent();
  h.learn_peer();  // (the neighbour entry expired meanwhile)
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41005, .seq = 1, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 2u);
  h.sent();
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9001, .ack = cookie + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_failed, 4u);
  out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, WithoutTimestampsTheConnectionRunsWithoutOptions) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41003, .seq = 100, .flags = tf::kSyn, .opts = syn_opts(false)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  // The SYN offered window scaling and SACK, but without a timestamp the cookie cannot carry them, so the
  // SYN-ACK must not accept them either. Regression: it did, and the peer then scaled our window fields
  // (by 2^7 here) while we sent them unscaled: it would overrun our receive window 128 times over.
  EXPECT_FALSE(out[0].opts.wscale);
  EXPECT_FALSE(out[0].opts.sack_permitted);
  EXPECT_FALSE(out[0].opts.has_timestamp);
  EXPECT_EQ(out[0].opts.mss, 1460);
  h.inject(tcp_frame(h, {.sport = 41003, .seq = 101, .ack = out[0].seq + 1, .flags = tf::kAck, .wnd = 3000}));
  const int c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(c, 0);
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  EXPECT_EQ(ti.tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_WSCALE | TCPI_OPT_TIMESTAMPS), 0);
  EXPECT_EQ(ti.tcpi_snd_mss, 1400u);  // the MSS travels in the cookie itself
  // The peer's window (3000) is taken as it is, unscaled: two full segments go (the 200 bytes left are
  // below the sender-SWS threshold); and our window fields are plain byte counts.
  int rcvbuf = 0;  // (all free: nothing received)
  socklen_t rl = sizeof rcvbuf;
  ASSERT_EQ(skiff_getsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl), 0);
  const Bytes d = pattern(5000);
  ASSERT_EQ(skiff_send(c, d.data(), d.size(), MSG_DONTWAIT), 5000);
  size_t sent = 0;
  for (const auto& t : tcp_only(h.sent())) {
    sent += t.payload.size();
    EXPECT_EQ(t.wnd, std::min<uint32_t>(static_cast<uint32_t>(rcvbuf), 65535));
  }
  EXPECT_EQ(sent, 2800u);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, NoCookieWhileTheSynQueueHasRoom) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  const size_t before = h.shard().socks.in_use(tcp_prot);
  fill_syn_queue(h);  // 16 SYNs: each gets an ordinary SYN-ACK and a connection object
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), before + 16);
  // The 17th SYN overflows: a cookie, nothing allocated.
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5000, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 1u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), before + 16);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, RoomAgainMeansStatefulAgain) {
  // One handshake of a full SYN queue completes (to the accept queue): the next SYN is answered with state.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  // Fill the SYN queue, remembering the first SYN-ACK to complete that handshake.
  h.inject(tcp_frame(h, {.sport = 30000, .seq = 1, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  auto first = tcp_only(h.sent());
  ASSERT_EQ(first.size(), 1u);
  for (uint16_t i = 1; i < 16; ++i)
    h.inject(tcp_frame(h, {.sport = static_cast<uint16_t>(30000 + i), .seq = 1, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  EXPECT_EQ(tcp_only(h.sent()).size(), 15u);
  h.inject(tcp_frame(h, {.sport = 30000, .seq = 2, .ack = first[0].seq + 1, .flags = tf::kAck}));
  EXPECT_TRUE(tcp_only(h.sent()).empty());
  const size_t before = h.shard().socks.in_use(tcp_prot);
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5000, .flags = tf::kSyn, .opts = mss_opt(1460)}));
  ASSERT_EQ(tcp_only(h.sent()).size(), 1u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_sent, 0u);
  EXPECT_EQ(h.shard().socks.in_use(tcp_prot), before + 1);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, CookieIsBoundToTheFourTupleAndThePeersIsn) {
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  const int l2 = listen_on(7001, 2);
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9000, .flags = tf::kSyn, .opts = syn_opts(false)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  const uint32_t ack = out[0].seq + 1;
  // Another source address, another source port, another listener (destination port: one whose SYN queue
  // never overflowed, so the ACK is not even taken for a cookie), another ISN.
  h.inject(tcp_frame(h, {.src = Ipv4Addr::of(10, 0, 0, 3), .sport = 41001, .seq = 9001, .ack = ack, .flags = tf::kAck}));
  h.inject(tcp_frame(h, {.sport = 41002, .seq = 9001, .ack = ack, .flags = tf::kAck}));
  h.inject(tcp_frame(h, {.sport = 41001, .dport = 7001, .seq = 9001, .ack = ack, .flags = tf::kAck}));
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9101, .ack = ack, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_failed, 3u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 0u);
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  EXPECT_EQ(skiff_accept(l2, nullptr, nullptr), -1);
  // The genuine ACK still works.
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9001, .ack = ack, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 1u);
  const int c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(c, 0);
  skiff_close(c);
  skiff_close(l2);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, CookieIsValidForAtLeastOnePeriod) {
  // 64 s periods; a cookie from this period or the last is accepted (so 64 to 128 s), older ones are not.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9000, .flags = tf::kSyn, .opts = syn_opts(false)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  h.advance(63s);
  h.sent();
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9001, .ack = out[0].seq + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 1u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_failed, 0u);
  const int c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(c, 0);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, CookieConnectionKeepsTheSynAcksTimestampClock) {
  // The cookie SYN-ACK's TSval and the connection's later TSvals come from one clock: if they did not,
  // the peer's PAWS would see the connection's segments as old (half of all offsets) and drop them.
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(7000, 2);
  fill_syn_queue(h);
  wire::TcpOptions so = syn_opts(true);
  so.mss = 1380;  // not in the cookie's MSS table: the next smaller entry (1360) is used
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5000, .flags = tf::kSyn, .opts = so}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.has_timestamp);
  const uint32_t synack_ts = out[0].opts.ts_val;
  const uint32_t iss = out[0].seq;
  h.advance(5ms);
  wire::TcpOptions ao;
  ao.has_timestamp = true;
  ao.ts_val = 12346;
  ao.ts_ecr = synack_ts;
  h.inject(tcp_frame(h, {.sport = 41000, .seq = 5001, .ack = iss + 1, .flags = tf::kAck, .opts = ao}));
  const int c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(c, 0);
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  EXPECT_EQ(ti.tcpi_snd_mss, 1360u - 12u);
  const Bytes d = pattern(100);
  ASSERT_EQ(skiff_send(c, d.data(), d.size(), MSG_DONTWAIT), 100);
  out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.has_timestamp);
  const int32_t ahead = static_cast<int32_t>(out[0].opts.ts_val - synack_ts);
  EXPECT_GE(ahead, 0);   // never older than the SYN-ACK's
  EXPECT_LE(ahead, 64 + 5);  // the cookie's 6 low bits, plus the 5 ms that passed
  EXPECT_EQ(out[0].opts.ts_ecr, 12346u);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, AnAckIsOnlyTakenForACookieWithinTwoMinutesOfAnOverflow) {
  // Linux's cookie_v4_check gives up unless the listener's SYN queue overflowed in the last
  // TCP_SYNCOOKIE_VALID (2 minutes): a listener that sent no cookie answers an ACK with RST, as any other
  // ACK, even one carrying a cookie that would check out. Regression: every ACK to a listener was checked
  // as a cookie, so a blind attacker could open connections by guessing 24-bit hashes at any time.
  StackHarness h;
  h.learn_peer();
  int l = listen_on(7000, 2);
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9000, .flags = tf::kSyn, .opts = syn_opts(false)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  const uint32_t cookie = out[0].seq;
  // A new listener on the same port: the cookie is as valid as before (it names the 4-tuple, not the
  // listener), but this listener never overflowed.
  skiff_close(l);
  h.sent();
  l = listen_on(7000, 2);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9001, .ack = cookie + 1, .flags = tf::kAck}));
  out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].seq, cookie + 1);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 0u);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_failed, 0u);  // not even checked
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  // It overflows: cookies from then on are taken. Three from the same moment.
  fill_syn_queue(h);
  uint32_t c[3];
  for (uint16_t i = 0; i < 3; ++i) {
    const uint16_t port = static_cast<uint16_t>(41002 + i);
    h.inject(tcp_frame(h, {.sport = port, .seq = 7000, .flags = tf::kSyn, .opts = syn_opts(false)}));
    out = tcp_only(h.sent());
    ASSERT_EQ(out.size(), 1u);
    c[i] = out[0].seq;
  }
  h.inject(tcp_frame(h, {.sport = 41002, .seq = 7001, .ack = c[0] + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 1u);
  int a = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(a, 0);
  skiff_close(a);
  // 119 s after the overflow, still; 121 s after, no more (the cookies themselves live 64 to 128 s: both
  // are still fresh by their own clock).
  h.advance(119s);
  h.sent();
  h.learn_peer();  // (the neighbour entry expired meanwhile)
  h.inject(tcp_frame(h, {.sport = 41003, .seq = 7001, .ack = c[1] + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 2u);
  a = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(a, 0);
  skiff_close(a);
  h.sent();
  h.advance(2s);
  h.sent();  // (the closed connections' FINs go again meanwhile)
  h.inject(tcp_frame(h, {.sport = 41004, .seq = 7001, .ack = c[2] + 1, .flags = tf::kAck}));
  out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kRst);
  EXPECT_EQ(out[0].dport, 41004);
  EXPECT_EQ(h.shard().stats.tcp_syncookies_recv, 2u);
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  skiff_close(l);
  h.sent();
}
