// TCP Fast Open, client side (RFC 7413 §4.1), as Linux: sendto(MSG_FASTOPEN) connects; with no cookie for
// the server the SYN asks for one (EINPROGRESS, nothing taken), and the SYN-ACK's cookie is kept per server
// with its MSS; with the cookie the SYN brings it and as much data as fits (the count returned). Data the
// SYN-ACK does not acknowledge goes again at once; a retransmitted SYN is a plain one. TCP_FASTOPEN_CONNECT
// defers connect() until the first write when a cookie is cached.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <cstring>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp/tcp_impl.hh"
#include "tcp_builder.hh"
#include "tcp_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace tcpt;

namespace {

constexpr uint32_t kPeerIsn = 5000;
constexpr uint8_t kCookie[8] = {0xc0, 0x0c, 0x1e, 0x01, 0x02, 0x03, 0x04, 0x05};

const sockaddr* peer_addr() {
  static const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  return reinterpret_cast<const sockaddr*>(&a);
}

ssize_t fo_sendto(int fd, const Bytes& data) {
  return skiff_sendto(fd, data.data(), data.size(), MSG_FASTOPEN, peer_addr(), sizeof(sockaddr_in));
}

int new_socket() { return skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0); }

// The one SYN just sent (fails the test if not exactly one segment, a SYN).
SentTcp the_syn(StackHarness& h) {
  auto out = out_of(h);
  EXPECT_EQ(out.size(), 1u);
  if (out.empty()) return {};
  EXPECT_EQ(out[0].flags & ~(tf::kEce | tf::kCwr), tf::kSyn);
  return out[0];
}

// The server's SYN-ACK to `syn`, acknowledging `ack`, with `cookie_len` bytes of kCookie (0: none) and MSS
// 1400; SACK and timestamps offered if `sack`.
void synack(StackHarness& h, const SentTcp& syn, uint32_t ack, int8_t cookie_len, bool sack = false,
            const Bytes& data = {}, bool exp = false) {
  wire::TcpOptions o = mss_opt(1400);
  if (cookie_len > 0) {
    o.fastopen_len = cookie_len;
    o.fastopen_exp = exp;
    std::memcpy(o.fastopen_cookie.data(), kCookie, static_cast<size_t>(cookie_len));
  }
  o.sack_permitted = sack;
  h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = syn.sport, .seq = kPeerIsn, .ack = ack,
                         .flags = tf::kSyn | tf::kAck, .opts = o, .payload = data}));
}

// Puts the server's cookie in the shard's cache, as an earlier connection would have.
void cache_cookie(StackHarness& h, uint16_t mss = 1400) {
  FastOpenEntry& e = h.shard().tcp.fastopen.get(StackHarness::kOurIp, StackHarness::kPeerIp);
  e.cookie_len = 8;
  std::memcpy(e.cookie, kCookie, 8);
  e.mss = mss;
}

}  // namespace

TEST(TcpFastOpenClient, FirstConnectAsksForTheCookieTheNextSendsDataWithIt) {
  StackHarness h;
  h.learn_peer();
  // No cookie yet: the SYN asks for one, carries nothing, and the call takes nothing (Linux: EINPROGRESS).
  const int a = new_socket();
  EXPECT_EQ(fo_sendto(a, pattern(100)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  const SentTcp s1 = the_syn(h);
  EXPECT_EQ(s1.opts.fastopen_len, 0) << "a cookie request (empty option)";
  EXPECT_FALSE(s1.opts.fastopen_exp);
  EXPECT_TRUE(s1.payload.empty());
  EXPECT_EQ(h.shard().stats.tcp_fastopen_cookie_requests, 1u);
  EXPECT_EQ(xinfo(a).tcpi_fastopen_client_fail, 1) << "TFO_COOKIE_UNAVAILABLE";
  synack(h, s1, s1.seq + 1, 8);
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_TRUE(out[0].payload.empty()) << "the data was not taken: the application sends it";
  EXPECT_EQ(state_of(a), TCP_ESTABLISHED);
  EXPECT_EQ(info(a).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  const FastOpenEntry* e = h.shard().tcp.fastopen.find(StackHarness::kOurIp, StackHarness::kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->cookie_len, 8);
  EXPECT_EQ(std::memcmp(e->cookie, kCookie, 8), 0);
  EXPECT_EQ(e->mss, 1400);

  // With the cookie: the SYN brings it and as much data as the server's MSS leaves beside 40 bytes of
  // options (1400 - 40); the call returns that count.
  const int b = new_socket();
  const Bytes data = pattern(2000);
  EXPECT_EQ(fo_sendto(b, data), 1360);
  const SentTcp s2 = the_syn(h);
  ASSERT_EQ(s2.opts.fastopen_len, 8);
  EXPECT_EQ(std::memcmp(s2.opts.fastopen_cookie.data(), kCookie, 8), 0);
  EXPECT_EQ(s2.payload, Bytes(data.begin(), data.begin() + 1360));
  EXPECT_EQ(state_of(b), TCP_SYN_SENT);
  EXPECT_EQ(skiff_send(b, data.data() + 1360, 640, 0), -1) << "still connecting";
  EXPECT_EQ(errno, EAGAIN);
  // The SYN-ACK acknowledges it all: nothing goes again, and the rest is sent as usual.
  synack(h, s2, s2.seq + 1 + 1360, -1);
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, s2.seq + 1 + 1360);
  EXPECT_EQ(state_of(b), TCP_ESTABLISHED);
  EXPECT_NE(info(b).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_active, 1u);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_active_fail, 0u);
  EXPECT_EQ(info(b).tcpi_total_retrans, 0u);
  EXPECT_EQ(xinfo(b).tcpi_fastopen_client_fail, 0);
  EXPECT_EQ(xinfo(b).tcpi_bytes_acked, 1u + 1360u) << "the SYN and its data";
  h.advance(50ms);
  EXPECT_LT(xinfo(b).tcpi_busy_time, 1000u) << "nothing queued since the SYN-ACK: not busy";
  out_of(h);
  EXPECT_EQ(skiff_send(b, data.data() + 1360, 640, 0), 640);
  out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, s2.seq + 1 + 1360);
  EXPECT_EQ(out[0].payload, Bytes(data.begin() + 1360, data.end()));
  // A SYN-ACK without a cookie leaves the cached one.
  EXPECT_EQ(h.shard().tcp.fastopen.find(StackHarness::kOurIp, StackHarness::kPeerIp)->cookie_len, 8);
  skiff_close(a);
  skiff_close(b);
}

TEST(TcpFastOpenClient, DataTheSynAckDoesNotAcknowledgeGoesAgainAtOnce) {
  // A server that took only the SYN (no Fast Open, a wrong cookie, its limit reached): the data follows
  // the handshake's ACK without waiting for a timeout, with and without SACK, and the window is not cut.
  for (bool sack : {false, true}) {
    SCOPED_TRACE(sack ? "SACK" : "no SACK");
    StackHarness h;
    h.learn_peer();
    cache_cookie(h);
    const int fd = new_socket();
    const Bytes data = pattern(300);
    EXPECT_EQ(fo_sendto(fd, data), 300);
    const SentTcp s = the_syn(h);
    EXPECT_EQ(s.payload, data);
    synack(h, s, s.seq + 1, -1, sack);
    // The data again at once, acknowledging the SYN-ACK itself (no bare ACK before it, as Linux).
    auto out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seq, s.seq + 1);
    EXPECT_EQ(out[0].ack, kPeerIsn + 1);
    EXPECT_TRUE(out[0].has(tf::kAck));
    EXPECT_EQ(out[0].payload, data);
    EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
    EXPECT_EQ(h.shard().stats.tcp_fastopen_active_fail, 1u);
    EXPECT_EQ(h.shard().stats.tcp_fastopen_active, 0u);
    EXPECT_EQ(info(fd).tcpi_options & TCPI_OPT_SYN_DATA, 0);
    EXPECT_GE(info(fd).tcpi_snd_cwnd, 10u) << "no congestion response";
    EXPECT_EQ(xinfo(fd).tcpi_fastopen_client_fail, 2) << "TFO_DATA_NOT_ACKED";
    EXPECT_EQ(xinfo(fd).tcpi_bytes_retrans, 300u);
    EXPECT_EQ(xinfo(fd).tcpi_bytes_sent, 600u);
    // Acknowledged, the connection goes on as any other.
    h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = s.sport, .seq = kPeerIsn + 1, .ack = s.seq + 301,
                           .flags = tf::kAck}));
    EXPECT_EQ(skiff_send(fd, "z", 1, 0), 1);
    out = out_of(h);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seq, s.seq + 301);
    EXPECT_EQ(h.shard().tcp.fastopen.find(StackHarness::kOurIp, StackHarness::kPeerIp)->cookie_len, 8) << "the cookie is kept";
    skiff_close(fd);
  }
}

TEST(TcpFastOpenClient, RetransmittedSynIsPlainAndRepeatedLossesTurnFastOpenOff) {
  StackHarness h;
  h.learn_peer();
  cache_cookie(h);
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE(round);
    const int fd = new_socket();
    EXPECT_EQ(fo_sendto(fd, pattern(50)), 50);
    const SentTcp s = the_syn(h);
    EXPECT_EQ(s.payload.size(), 50u);
    // The SYN times out: the retransmission carries neither data nor the option.
    std::vector<SentTcp> got;
    ASSERT_TRUE(advance_until_sent(h, 2s, got));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].flags & ~(tf::kEce | tf::kCwr), tf::kSyn);
    EXPECT_EQ(got[0].seq, s.seq);
    EXPECT_TRUE(got[0].payload.empty());
    EXPECT_EQ(got[0].opts.fastopen_len, -1);
    // Only the plain SYN got through: the data goes after the handshake, and the loss is remembered.
    synack(h, got[0], s.seq + 1, -1);
    bool resent = false;
    for (const SentTcp& t : out_of(h))
      if (t.seq == s.seq + 1 && t.payload == pattern(50)) resent = true;
    EXPECT_TRUE(resent);
    const skiff_tcp_info ti = xinfo(fd);
    EXPECT_EQ(ti.tcpi_fastopen_client_fail, 3) << "TFO_SYN_RETRANSMITTED";
    EXPECT_EQ(ti.tcpi_total_rto, 1u);
    EXPECT_EQ(ti.tcpi_total_rto_recoveries, 1u);
    EXPECT_EQ(ti.tcpi_total_rto_time, 0u) << "from the timeout to the SYN-ACK, which came at once";
    EXPECT_EQ(h.shard().tcp.fastopen.find(StackHarness::kOurIp, StackHarness::kPeerIp)->syn_loss, round);
    skiff_close(fd);
    out_of(h);
  }
  // Two such losses in a row: the next connect is a plain one (no option, no data, nothing taken) for a
  // while (RFC 7413 §4.1.3.1), then Fast Open is tried again.
  const int fd = new_socket();
  EXPECT_EQ(fo_sendto(fd, pattern(50)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  const SentTcp s = the_syn(h);
  EXPECT_EQ(s.opts.fastopen_len, -1);
  EXPECT_TRUE(s.payload.empty());
  skiff_close(fd);
  h.advance(241s);
  h.learn_peer();
  out_of(h);
  const int again = new_socket();
  EXPECT_EQ(fo_sendto(again, pattern(50)), 50);
  EXPECT_EQ(the_syn(h).opts.fastopen_len, 8);
  skiff_close(again);
}

TEST(TcpFastOpenClient, SmallSynAckMssAndNoCachedMss) {
  // No MSS known for the server: the SYN's data is sized for 536 (Linux's default), less 40.
  {
    StackHarness h;
    h.learn_peer();
    cache_cookie(h, 0);
    const int fd = new_socket();
    EXPECT_EQ(fo_sendto(fd, pattern(3000)), 496);
    EXPECT_EQ(the_syn(h).payload.size(), 496u);
    skiff_close(fd);
  }
  // TCP_MAXSEG bounds it too.
  {
    StackHarness h;
    h.learn_peer();
    cache_cookie(h);
    const int fd = new_socket();
    EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 600), 0);
    EXPECT_EQ(fo_sendto(fd, pattern(3000)), 560);
    skiff_close(fd);
  }
}

TEST(TcpFastOpenClient, ExperimentalFormTriedWhenARequestGoesUnanswered) {
  StackHarness h;
  h.learn_peer();
  const int a = new_socket();
  EXPECT_EQ(fo_sendto(a, {}), -1);
  const SentTcp s1 = the_syn(h);
  EXPECT_EQ(s1.opts.fastopen_len, 0);
  EXPECT_FALSE(s1.opts.fastopen_exp);
  synack(h, s1, s1.seq + 1, -1);  // no cookie
  skiff_close(a);
  out_of(h);
  const int b = new_socket();
  EXPECT_EQ(fo_sendto(b, {}), -1);
  const SentTcp s2 = the_syn(h);
  EXPECT_EQ(s2.opts.fastopen_len, 0);
  EXPECT_TRUE(s2.opts.fastopen_exp) << "asked in the experimental form (kind 254)";
  synack(h, s2, s2.seq + 1, 8, false, {}, true);
  skiff_close(b);
  out_of(h);
  const int c = new_socket();
  EXPECT_EQ(fo_sendto(c, pattern(10)), 10);
  const SentTcp s3 = the_syn(h);
  EXPECT_EQ(s3.opts.fastopen_len, 8);
  EXPECT_TRUE(s3.opts.fastopen_exp) << "the cookie goes back in the form it came in";
  skiff_close(c);
}

TEST(TcpFastOpenClient, DataInTheSynAckIsReadable) {
  StackHarness h;
  h.learn_peer();
  cache_cookie(h);
  const int fd = new_socket();
  EXPECT_EQ(fo_sendto(fd, pattern(20)), 20);
  const SentTcp s = the_syn(h);
  const Bytes answer = pattern(33);
  synack(h, s, s.seq + 21, -1, false, answer);
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kPeerIsn + 1 + 33);
  EXPECT_EQ(read_all(fd), answer);
  skiff_close(fd);
}

TEST(TcpFastOpenClient, FastOpenConnectDefersTheSynToTheFirstWrite) {
  StackHarness h;
  h.learn_peer();
  const int fd = new_socket();
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT), 0);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 2), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, -1), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1), 0);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT), 1);
  // No cookie: connect() asks for one and is in progress as usual.
  EXPECT_EQ(skiff_connect(fd, peer_addr(), sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  const SentTcp s1 = the_syn(h);
  EXPECT_EQ(s1.opts.fastopen_len, 0);
  synack(h, s1, s1.seq + 1, 8);
  out_of(h);
  EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
  EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 0), -1) << "not once connected";
  EXPECT_EQ(errno, EINVAL);
  skiff_close(fd);
  out_of(h);

  // With the cookie: connect() succeeds at once, nothing is sent, and the socket is writable.
  const int d = new_socket();
  EXPECT_EQ(set_int(d, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1), 0);
  EXPECT_EQ(skiff_connect(d, peer_addr(), sizeof(sockaddr_in)), 0);
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(state_of(d), TCP_SYN_SENT);
  EXPECT_NE(ready(d) & EPOLLOUT, 0u);
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  EXPECT_EQ(skiff_getpeername(d, reinterpret_cast<sockaddr*>(&peer), &plen), -1);  // SYN-SENT, as Linux
  EXPECT_EQ(errno, ENOTCONN);
  char buf[8];
  EXPECT_EQ(skiff_recv(d, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(skiff_connect(d, peer_addr(), sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, EISCONN);
  // Nothing goes until the write, whose data the SYN carries with the cookie.
  h.advance(5s);
  h.learn_peer();
  EXPECT_TRUE(out_of(h).empty());
  EXPECT_EQ(skiff_send(d, "hello", 5, 0), 5);
  const SentTcp s2 = the_syn(h);
  EXPECT_EQ(s2.opts.fastopen_len, 8);
  EXPECT_EQ(s2.payload, Bytes({'h', 'e', 'l', 'l', 'o'}));
  synack(h, s2, s2.seq + 6, -1);
  out_of(h);
  EXPECT_EQ(state_of(d), TCP_ESTABLISHED);
  EXPECT_NE(info(d).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  skiff_close(d);
  out_of(h);

  // A deferred connect that is closed before any write sends nothing.
  const int q = new_socket();
  EXPECT_EQ(set_int(q, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1), 0);
  EXPECT_EQ(skiff_connect(q, peer_addr(), sizeof(sockaddr_in)), 0);
  skiff_close(q);
  h.advance(3s);
  for (const SentTcp& t : out_of(h)) EXPECT_FALSE(t.has(tf::kSyn));  // (the FIN of `d` may go again)
}

TEST(TcpFastOpenClient, ErrnosAsLinux) {
  StackHarness h;
  h.learn_peer();
  const int fd = new_socket();
  // No address on an unconnected socket; AF_UNSPEC.
  EXPECT_EQ(skiff_send(fd, "x", 1, MSG_FASTOPEN), -1);
  EXPECT_EQ(errno, EINVAL);
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  EXPECT_EQ(skiff_sendto(fd, "x", 1, MSG_FASTOPEN, &unspec, sizeof unspec), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_TRUE(out_of(h).empty());
  // Connecting: EALREADY.
  EXPECT_EQ(fo_sendto(fd, pattern(5)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  const SentTcp s = the_syn(h);
  EXPECT_EQ(fo_sendto(fd, pattern(5)), -1);
  EXPECT_EQ(errno, EALREADY);
  // Once connected, the next MSG_FASTOPEN write is an ordinary one (Linux's __inet_stream_connect finds the
  // socket connected and says so once), later ones EISCONN; so also after a non-blocking connect().
  synack(h, s, s.seq + 1, 8);
  out_of(h);
  EXPECT_EQ(fo_sendto(fd, pattern(5)), 5) << strerror(errno);
  EXPECT_EQ(out_of(h).size(), 1u);
  EXPECT_EQ(fo_sendto(fd, pattern(5)), -1);
  EXPECT_EQ(errno, EISCONN);
  skiff_close(fd);
  out_of(h);
  Conn c = connect_conn(h);
  EXPECT_EQ(fo_sendto(c.fd, pattern(5)), 5);
  EXPECT_EQ(fo_sendto(c.fd, pattern(5)), -1);
  EXPECT_EQ(errno, EISCONN);
  // A listener.
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin_of(Ipv4Addr::any(), 9100);
  EXPECT_EQ(skiff_bind(l, reinterpret_cast<const sockaddr*>(&any), sizeof any), 0);
  EXPECT_EQ(skiff_listen(l, 4), 0);
  EXPECT_EQ(fo_sendto(l, pattern(5)), -1);
  EXPECT_EQ(errno, EISCONN);
  skiff_close(l);
  out_of(h);
  // Refused: the next MSG_FASTOPEN call reports it once and leaves the socket ready for a new connect, which
  // then carries the data (the cookie was cached above).
  const int r = new_socket();
  EXPECT_EQ(fo_sendto(r, pattern(5)), 5);
  const SentTcp rs = the_syn(h);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = rs.sport, .seq = 0, .ack = rs.seq + 6,
                         .flags = tf::kRst | tf::kAck}));
  EXPECT_EQ(fo_sendto(r, pattern(5)), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_EQ(fo_sendto(r, pattern(7)), 7);
  EXPECT_EQ(the_syn(h).payload, pattern(7));
  skiff_close(r);
}

TEST(TcpFastOpenClient, CacheIsBoundedAndKeepsRecentServers) {
  const Ipv4Addr me = StackHarness::kOurIp;
  FastOpenCache c;
  for (uint32_t i = 1; i <= 20000; ++i) c.get(me, Ipv4Addr(0x0a000000u + i)).cookie_len = 8;
  unsigned kept = 0;
  for (uint32_t i = 1; i <= 20000; ++i) kept += c.find(me, Ipv4Addr(0x0a000000u + i)) != nullptr;
  EXPECT_LE(kept, FastOpenCache::kSets * FastOpenCache::kWays);
  EXPECT_GT(kept, FastOpenCache::kSets * FastOpenCache::kWays / 2);
  EXPECT_NE(c.find(me, Ipv4Addr(0x0a000000u + 20000)), nullptr) << "the newest is kept";
  // One server used all along survives a stream of others.
  FastOpenCache d;
  const Ipv4Addr hot(0x0b000001u);
  d.get(me, hot).cookie_len = 8;
  for (uint32_t i = 1; i <= 5000; ++i) {
    d.get(me, Ipv4Addr(0x0c000000u + i));
    ASSERT_NE(d.find(me, hot), nullptr) << i;
  }
  // A cookie is for one address pair: another of our addresses has none for the same server.
  EXPECT_EQ(d.find(Ipv4Addr::of(10, 0, 0, 3), hot), nullptr);
  d.get(Ipv4Addr::of(10, 0, 0, 3), hot).cookie_len = 4;
  EXPECT_EQ(d.find(me, hot)->cookie_len, 8);
  EXPECT_EQ(d.find(Ipv4Addr::of(10, 0, 0, 3), hot)->cookie_len, 4);
}

TEST(TcpFastOpenClient, BlockingCallWaitsForTheConnectionAndSendsTheRest) {
  // As Linux: a blocking sendto(MSG_FASTOPEN) returns once all of it is queued, what the SYN did not carry
  // sent after the handshake; without a cookie all of it goes after the handshake.
  for (bool cookie : {true, false}) {
    SCOPED_TRACE(cookie ? "cookie cached" : "no cookie");
    StackHarness h;
    h.learn_peer();
    if (cookie) cache_cookie(h);
    const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);  // blocking
    EXPECT_EQ(set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
    // A send buffer smaller than the write: the rest is queued as the peer acknowledges (regression: once
    // connected, the call returned what the buffer took).
    EXPECT_EQ(set_int(fd, SOL_SOCKET, SO_SNDBUF, 4608), 0);
    std::vector<SentTcp> seen;
    uint32_t iss = 0;
    int pumps = 0;
    h.shard().pump_hook = [&] {
      ++pumps;
      for (SentTcp& t : out_of(h)) {
        if (t.has(tf::kSyn)) {
          iss = t.seq;
          synack(h, t, t.seq + 1 + static_cast<uint32_t>(t.payload.size()), cookie ? -1 : 8);
        } else if (!t.payload.empty()) {
          h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = t.sport, .seq = kPeerIsn + 1,
                                 .ack = t.seq + static_cast<uint32_t>(t.payload.size()), .flags = tf::kAck}));
        }
        seen.push_back(std::move(t));
      }
    };
    const Bytes data = pattern(20000);
    EXPECT_EQ(fo_sendto(fd, data), 20000);
    EXPECT_GT(pumps, 0);
    h.shard().pump_hook = nullptr;
    for (SentTcp& t : out_of(h)) seen.push_back(std::move(t));
    Bytes got(data.size());
    size_t n = 0;
    for (const SentTcp& t : seen) {
      if (t.payload.empty()) continue;
      const uint32_t off = t.seq + (t.has(tf::kSyn) ? 1 : 0) - (iss + 1);
      ASSERT_LE(off + t.payload.size(), got.size());
      std::memcpy(got.data() + off, t.payload.data(), t.payload.size());
      n += t.payload.size();
    }
    EXPECT_EQ(n, data.size()) << "each byte sent once";
    EXPECT_EQ(got, data);
    EXPECT_EQ(h.shard().stats.tcp_fastopen_active, cookie ? 1u : 0u);
    skiff_close(fd);
  }
}

TEST(TcpFastOpenClient, SendmsgGathersTheSynDataFromSeveralIovecs) {
  StackHarness h;
  h.learn_peer();
  cache_cookie(h);
  const int fd = new_socket();
  char a[] = "ab", b[] = "cdef";
  iovec iov[4] = {{nullptr, 0}, {a, 2}, {nullptr, 0}, {b, 4}};
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(peer_addr());
  m.msg_namelen = sizeof(sockaddr_in);
  m.msg_iov = iov;
  m.msg_iovlen = 4;
  EXPECT_EQ(skiff_sendmsg(fd, &m, MSG_FASTOPEN), 6);
  EXPECT_EQ(the_syn(h).payload, Bytes({'a', 'b', 'c', 'd', 'e', 'f'}));
  skiff_close(fd);
}

TEST(TcpFastOpenClient, BlockingCallWaitsEvenWhenAllWentInTheSyn) {
  // As Linux: the call returns after the handshake; refused, it reports the refusal (not the count) and
  // leaves the socket ready for a new connect; connected, a later MSG_FASTOPEN call is EISCONN.
  for (bool refuse : {true, false}) {
    SCOPED_TRACE(refuse ? "refused" : "accepted");
    StackHarness h;
    h.learn_peer();
    cache_cookie(h);
    const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);  // blocking
    h.shard().pump_hook = [&] {
      for (SentTcp& t : out_of(h)) {
        if (!t.has(tf::kSyn)) continue;
        const uint32_t end = t.seq + 1 + static_cast<uint32_t>(t.payload.size());
        if (refuse) {
          h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = t.sport, .seq = 0, .ack = end,
                                 .flags = tf::kRst | tf::kAck}));
        } else {
          synack(h, t, end, -1);
        }
      }
    };
    const ssize_t n = fo_sendto(fd, pattern(100));
    h.shard().pump_hook = nullptr;
    if (refuse) {
      EXPECT_EQ(n, -1);
      EXPECT_EQ(errno, ECONNREFUSED);
      EXPECT_EQ(state_of(fd), TCP_CLOSE);
    } else {
      EXPECT_EQ(n, 100);
      EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
      EXPECT_EQ(fo_sendto(fd, pattern(5)), -1);
      EXPECT_EQ(errno, EISCONN);
    }
    skiff_close(fd);
  }
}

TEST(TcpFastOpenClient, ReconnectAfterAResetCarriesNothingOfTheOldFastOpen) {
  // A Fast Open connection reset by the peer; the same socket then connects plainly (no disconnect in
  // between): its SYN has no cookie. (The first connect() reports the reset: Linux's socket is still
  // SS_CONNECTING after a MSG_FASTOPEN sendto, so __inet_stream_connect gives sk_err and disconnects it.)
  StackHarness h;
  h.learn_peer();
  cache_cookie(h);
  const int fd = new_socket();
  EXPECT_EQ(fo_sendto(fd, pattern(10)), 10);
  const SentTcp s = the_syn(h);
  synack(h, s, s.seq + 11, -1);
  out_of(h);
  EXPECT_NE(info(fd).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  h.inject(tcp_frame(h, {.sport = kPeerPort, .dport = s.sport, .seq = kPeerIsn + 1, .flags = tf::kRst}));
  EXPECT_EQ(state_of(fd), TCP_CLOSE);
  EXPECT_EQ(skiff_connect(fd, peer_addr(), sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_EQ(skiff_connect(fd, peer_addr(), sizeof(sockaddr_in)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  const SentTcp again = the_syn(h);
  EXPECT_EQ(again.opts.fastopen_len, -1);
  EXPECT_TRUE(again.payload.empty());
  EXPECT_EQ(info(fd).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  skiff_close(fd);
}

// A Fast Open SYN with data too big for the path draws "fragmentation needed": the SYN goes again at once,
// a plain one (Linux's tcp_simple_retransmit takes a Fast Open SYN as lost), and after a SYN-ACK that
// acknowledges only the SYN the data follows cut to the new path's MSS.
TEST(TcpFastOpenClient, FragmentationNeededForTheSynResendsItAtOnce) {
  StackHarness h;
  h.learn_peer();
  cache_cookie(h, 1460);
  const int fd = new_socket();
  const Bytes data = pattern(1420);
  EXPECT_EQ(fo_sendto(fd, data), 1420);
  const SentTcp s = the_syn(h);
  ASSERT_EQ(s.payload.size(), 1420u);
  icmp_about(h, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kFragNeeded, s.sport, kPeerPort, s.seq, 1400,
             1500);
  const SentTcp again = the_syn(h);
  EXPECT_EQ(again.seq, s.seq);
  EXPECT_TRUE(again.payload.empty()) << "a plain SYN";
  EXPECT_EQ(again.opts.fastopen_len, -1);
  EXPECT_EQ(h.shard().stats.tcp_pmtu_lowered, 1u);
  EXPECT_EQ(state_of(fd), TCP_SYN_SENT);
  synack(h, s, s.seq + 1, -1);  // MSS 1400 offered; the path allows 1400 - 40
  size_t resent = 0;
  for (const SentTcp& t : out_of(h)) {
    EXPECT_LE(t.payload.size(), 1360u);
    if (!t.payload.empty()) {
      EXPECT_EQ(t.seq, s.seq + 1 + resent);
    }
    resent += t.payload.size();
  }
  EXPECT_EQ(resent, 1420u);
  EXPECT_EQ(state_of(fd), TCP_ESTABLISHED);
  // The next connection's SYN carries only what the path takes.
  const int fd2 = new_socket();
  EXPECT_EQ(fo_sendto(fd2, data), 1400 - 40 - 40);
  const SentTcp s2 = the_syn(h);
  // That resend is no timeout: with TCP_SYNCNT 1 the SYN's timer still sends it once more (Linux counts only
  // timer resends against the limit).
  const int fd3 = new_socket();
  ASSERT_EQ(set_int(fd3, IPPROTO_TCP, TCP_SYNCNT, 1), 0);
  EXPECT_EQ(fo_sendto(fd3, data), 1320);
  const SentTcp s3 = the_syn(h);
  icmp_about(h, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kFragNeeded, s3.sport, kPeerPort, s3.seq, 1300,
             1400);
  EXPECT_TRUE(the_syn(h).payload.empty());
  size_t timer_syns = 0;
  for (int i = 0; i < 15; ++i) {
    h.advance(100ms);
    for (const SentTcp& t : out_of(h)) timer_syns += t.sport == s3.sport && t.has(tf::kSyn);
  }
  EXPECT_EQ(timer_syns, 1u);
  EXPECT_EQ(state_of(fd3), TCP_SYN_SENT);
  (void)s2;
  skiff_close(fd);
  skiff_close(fd2);
  skiff_close(fd3);
}

// TCP_FASTOPEN_NO_COOKIE (as Linux 6.18, measured): 0 or 1 on a closed socket; the SYN carries the data and
// no Fast Open option, even with a cookie cached, sized by the cached MSS (536 without one). A server that
// takes it acknowledges the data; one that does not gets it again at once, as any unacknowledged SYN data.
TEST(TcpFastOpenClient, NoCookieSendsDataInASynWithoutTheOption) {
  StackHarness h;
  h.learn_peer();
  const int a = new_socket();
  EXPECT_EQ(get_int(a, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE), 0);
  EXPECT_EQ(set_int(a, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 2), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(set_int(a, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, -1), -1);
  ASSERT_EQ(set_int(a, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1), 0);
  EXPECT_EQ(get_int(a, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE), 1);
  // No cookie and no MSS cached: 536 - 40 bytes go in the SYN, with no option; the call returns them.
  const Bytes data = pattern(1000);
  EXPECT_EQ(fo_sendto(a, data), 496);
  const SentTcp s1 = the_syn(h);
  EXPECT_EQ(s1.opts.fastopen_len, -1) << "no Fast Open option at all";
  EXPECT_EQ(s1.payload, Bytes(data.begin(), data.begin() + 496));
  EXPECT_EQ(h.shard().stats.tcp_fastopen_cookie_requests, 0u);
  EXPECT_EQ(set_int(a, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 0), -1) << "only before connecting";
  EXPECT_EQ(errno, EINVAL);
  // A server that takes it (TCP_FASTOPEN_NO_COOKIE on its listener) acknowledges it all.
  synack(h, s1, s1.seq + 1 + 496, -1);
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, tf::kAck);
  EXPECT_EQ(out[0].seq, s1.seq + 1 + 496);
  EXPECT_NE(info(a).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_active, 1u);
  const FastOpenEntry* e = h.shard().tcp.fastopen.find(StackHarness::kOurIp, StackHarness::kPeerIp);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->try_exp, 0) << "no cookie was asked for, so none missing";
  EXPECT_EQ(e->mss, 1400);

  // With a cookie cached the SYN still has no option; a server that takes only the SYN gets the data again
  // right after the handshake.
  cache_cookie(h, 1000);
  const int b = new_socket();
  ASSERT_EQ(set_int(b, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1), 0);
  EXPECT_EQ(fo_sendto(b, data), 960);
  const SentTcp s2 = the_syn(h);
  EXPECT_EQ(s2.opts.fastopen_len, -1);
  EXPECT_EQ(s2.payload.size(), 960u);
  synack(h, s2, s2.seq + 1, -1);
  out = out_of(h);
  ASSERT_GE(out.size(), 1u);
  size_t resent = 0;
  for (const SentTcp& t : out) {
    if (!t.payload.empty()) {
      EXPECT_EQ(t.seq, s2.seq + 1);
      resent += t.payload.size();
    }
  }
  EXPECT_EQ(resent, 960u);
  EXPECT_EQ(h.shard().stats.tcp_fastopen_active_fail, 1u);
  EXPECT_EQ(info(b).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  // TCP_FASTOPEN_CONNECT with it defers connect() to the first write even with no cookie (Linux).
  h.shard().tcp.fastopen.find(StackHarness::kOurIp, StackHarness::kPeerIp)->cookie_len = 0;
  const int c = new_socket();
  ASSERT_EQ(set_int(c, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1), 0);
  ASSERT_EQ(set_int(c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1), 0);
  EXPECT_EQ(skiff_connect(c, peer_addr(), sizeof(sockaddr_in)), 0);
  EXPECT_TRUE(out_of(h).empty()) << "no SYN before the first write";
  EXPECT_EQ(skiff_send(c, data.data(), 100, 0), 100);
  const SentTcp s3 = the_syn(h);
  EXPECT_EQ(s3.opts.fastopen_len, -1);
  EXPECT_EQ(s3.payload.size(), 100u);
  skiff_close(a);
  skiff_close(b);
  skiff_close(c);
}
