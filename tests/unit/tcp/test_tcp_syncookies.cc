// SYN cookies (RFC 4987): used only when the SYN queue overflows; a valid ACK creates the connection with
// the options the cookie carried; forged and stale cookie ACKs are refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp_builder.hh"

using namespace skiff;
using namespace skiff::test;
namespace tf = wire::tcp_flag;

namespace {

int listener(uint16_t port, int backlog) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  EXPECT_EQ(skiff_bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(skiff_listen(fd, backlog), 0);
  return fd;
}

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
  const int l = listener(7000, 2);
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
  skiff_close(c);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, ForgedAndStaleAcksAreRefused) {
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 2);
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
  // The right ACK, but three minutes late: stale.
  h.advance(180s);
  h.inject(tcp_frame(h, {.sport = 41001, .seq = 9001, .ack = cookie + 1, .flags = tf::kAck}));
  EXPECT_EQ(h.shard().stats.tcp_syncookies_failed, 4u);
  EXPECT_EQ(skiff_accept(l, nullptr, nullptr), -1);
  skiff_close(l);
  h.sent();
}

TEST(TcpSynCookies, WithoutTimestampsTheConnectionRunsWithoutOptions) {
  StackHarness h;
  h.learn_peer();
  const int l = listener(7000, 2);
  fill_syn_queue(h);
  h.inject(tcp_frame(h, {.sport = 41003, .seq = 100, .flags = tf::kSyn, .opts = syn_opts(false)}));
  auto out = tcp_only(h.sent());
  ASSERT_EQ(out.size(), 1u);
  h.inject(tcp_frame(h, {.sport = 41003, .seq = 101, .ack = out[0].seq + 1, .flags = tf::kAck}));
  const int c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(c, 0);
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  ASSERT_EQ(skiff_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  EXPECT_EQ(ti.tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_WSCALE | TCPI_OPT_TIMESTAMPS), 0);
  skiff_close(c);
  skiff_close(l);
  h.sent();
}
