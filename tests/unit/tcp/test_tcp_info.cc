// TCP_INFO's whole struct (Linux 6.18's layout, skiff_tcp_info): every counter checked against what
// crossed the wire between two Skiff stacks (manual clock), with the values Linux gives where they are
// defined by convention (measured on 6.18 between two network namespaces): an active open's SYN counts in
// bytes_acked and delivered, a child counts the peer's SYN but not its own SYN-ACK, FINs count as one byte
// and one delivered segment, min_rtt is all ones before a sample.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <random>

#include "api/skiff.h"
#include "pair_harness.hh"
#include "tcp/tcp.hh"
#include "tcp_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using tcpt::sin_of;

namespace {

skiff_tcp_info info(int fd) {
  skiff_tcp_info ti{};
  socklen_t len = sizeof ti;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0) << strerror(errno);
  EXPECT_EQ(len, sizeof ti);
  return ti;
}

// TCP segments seen on the wire, per direction: all, with payload, and payload bytes.
struct WireCount {
  uint32_t segs = 0, data_segs = 0;
  uint64_t bytes = 0;
};

struct Wire {
  WireCount ab, ba;
  uint32_t ab_synack_free = 0;  // (b's SYN-ACKs)
  void count(bool a_to_b, const Bytes& f) {
    if (f.size() < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6) return;
    const size_t ihl = (f[14] & 0xf) * 4u;
    const size_t tot = (size_t{f[16]} << 8) | f[17];
    const size_t thl = (f[14 + ihl + 12] >> 4) * 4u;
    const uint8_t flags = f[14 + ihl + 13];
    WireCount& w = a_to_b ? ab : ba;
    ++w.segs;
    if (!a_to_b && (flags & 0x12) == 0x12) ++ab_synack_free;
    if (const size_t pl = tot - ihl - thl) {
      ++w.data_segs;
      w.bytes += pl;
    }
  }
};

std::vector<uint8_t> data(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 r(seed);
  for (auto& b : v) b = static_cast<uint8_t>(r());
  return v;
}

// Sends `out` from fd on a to fd on b, reading there, until all arrived (the clock moving 50 µs per step, 1 ms every 4th).
void transfer(PairHarness& p, int c, int s, const std::vector<uint8_t>& out) {
  size_t sent = 0, got = 0;
  uint8_t buf[65536];
  for (int i = 0; i < 100000 && got < out.size(); ++i) {
    p.on(p.a());
    if (sent < out.size()) {
      const ssize_t n = skiff_send(c, out.data() + sent, out.size() - sent, 0);
      if (n > 0) sent += static_cast<size_t>(n);
    }
    p.pump(1);  // one hop each way per step: round trips take clock time
    p.on(p.b());
    for (ssize_t n; (n = skiff_recv(s, buf, sizeof buf, 0)) > 0;) got += static_cast<size_t>(n);
    p.clock().advance(i % 4 == 3 ? 1ms : 50us);  // (a round trip takes time, so rates and clocks measure some)
  }
  p.pump();  // the last ACKs home
  ASSERT_EQ(got, out.size());
}

struct Conn {
  int c, s;
};

Conn establish(PairHarness& p, uint16_t port = 7000) {
  p.on(p.b());
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin_of(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(l, reinterpret_cast<const sockaddr*>(&any), sizeof any), 0);
  EXPECT_EQ(skiff_listen(l, 16), 0);
  p.on(p.a());
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const skiff_tcp_info fresh = info(c);
  EXPECT_EQ(fresh.tcpi_min_rtt, ~0u);  // no sample yet (Linux's minmax starts at ~0U)
  EXPECT_EQ(fresh.tcpi_segs_out, 0u);
  const sockaddr_in to = sin_of(PairHarness::kB, port);
  EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  p.clock().advance(100us);
  p.pump();
  p.on(p.b());
  const int s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(s, 0);
  skiff_close(l);
  return {c, s};
}

}  // namespace

TEST(TcpInfo, CountersMatchTheWire) {
  PairHarness p;
  Wire w;
  p.filter = [&](bool a_to_b, const Bytes& f) {
    w.count(a_to_b, f);
    return 1;
  };
  auto [c, s] = establish(p);
  // The handshake, as Linux counts it: the client sent SYN and ACK and got the SYN-ACK, whose ACK covered
  // its SYN (one byte, one segment delivered); the child counts the SYN and the ACK, and its SYN-ACK as
  // delivered but neither sent nor as an acknowledged byte.
  p.on(p.a());
  skiff_tcp_info ci = info(c);
  EXPECT_EQ(ci.tcpi_segs_out, 2u);
  EXPECT_EQ(ci.tcpi_segs_in, 1u);
  EXPECT_EQ(ci.tcpi_bytes_acked, 1u);
  EXPECT_EQ(ci.tcpi_delivered, 1u);
  EXPECT_EQ(ci.tcpi_bytes_received, 0u);
  EXPECT_EQ(ci.tcpi_data_segs_out, 0u);
  EXPECT_EQ(ci.tcpi_min_rtt, 100u);  // the SYN's round trip (100 µs on the manual clock)
  EXPECT_EQ(ci.tcpi_max_pacing_rate, ~0ull);
  p.on(p.b());
  skiff_tcp_info si = info(s);
  EXPECT_EQ(si.tcpi_segs_in, 2u);
  EXPECT_EQ(si.tcpi_segs_out, 0u);
  EXPECT_EQ(si.tcpi_bytes_acked, 0u);
  EXPECT_EQ(si.tcpi_delivered, 1u);
  EXPECT_EQ(si.tcpi_min_rtt, 0u + static_cast<uint32_t>(si.tcpi_rtt));  // the SYN-ACK's round trip, the only one
  EXPECT_LT(si.tcpi_min_rtt, ~0u);
  EXPECT_EQ(w.ab.segs, 2u);
  EXPECT_EQ(w.ba.segs, 1u);

  // 100,000 bytes a -> b, read as they come.
  const auto out = data(100000, 3);
  transfer(p, c, s, out);
  p.advance(200ms);  // every ACK in
  p.on(p.a());
  ci = info(c);
  const uint32_t nseg = (100000 + 1447) / 1448;
  EXPECT_EQ(ci.tcpi_bytes_acked, 100001u);
  EXPECT_EQ(ci.tcpi_bytes_sent, 100000u);
  EXPECT_EQ(ci.tcpi_bytes_retrans, 0u);
  EXPECT_EQ(ci.tcpi_data_segs_out, w.ab.data_segs);
  EXPECT_EQ(w.ab.data_segs, nseg);
  EXPECT_EQ(w.ab.bytes, 100000u);
  EXPECT_EQ(ci.tcpi_delivered, 1 + nseg);
  EXPECT_EQ(ci.tcpi_segs_out, w.ab.segs);
  EXPECT_EQ(ci.tcpi_segs_in, w.ba.segs);
  EXPECT_EQ(ci.tcpi_notsent_bytes, 0u);
  EXPECT_EQ(ci.tcpi_unacked, 0u);
  EXPECT_GT(ci.tcpi_delivery_rate, 0u);
  EXPECT_GT(ci.tcpi_busy_time, 0u);
  EXPECT_EQ(ci.tcpi_rwnd_limited, 0u);
  EXPECT_EQ(ci.tcpi_sndbuf_limited, 0u);
  EXPECT_GT(ci.tcpi_snd_wnd, 0u);
  EXPECT_NE(ci.tcpi_pacing_rate, ~0ull);
  EXPECT_GT(ci.tcpi_pacing_rate, 0u);
  EXPECT_EQ(ci.tcpi_total_rto, 0u);
  p.on(p.b());
  si = info(s);
  EXPECT_EQ(si.tcpi_bytes_received, 100000u);
  EXPECT_EQ(si.tcpi_data_segs_in, nseg);
  EXPECT_EQ(si.tcpi_segs_in, w.ab.segs);
  EXPECT_EQ(si.tcpi_segs_out + w.ab_synack_free, w.ba.segs);
  EXPECT_EQ(si.tcpi_rcv_ooopack, 0u);
  EXPECT_GT(si.tcpi_rcv_wnd, 0u);
  EXPECT_EQ(si.tcpi_busy_time, 0u);  // it sent no data

  // b answers; then a half-closes: its FIN is one more byte and one more segment delivered, and b's
  // bytes_received counts it. (b's own FIN rides its last data below: one segment delivered for both.)
  p.on(p.b());
  ASSERT_EQ(skiff_send(s, "pong", 4, 0), 4);
  p.pump();
  p.on(p.a());
  char buf[8];
  ASSERT_EQ(skiff_recv(c, buf, sizeof buf, 0), 4);
  ASSERT_EQ(skiff_shutdown(c, SHUT_WR), 0);
  p.pump();
  ci = info(c);
  EXPECT_EQ(ci.tcpi_bytes_acked, 100002u);
  EXPECT_EQ(ci.tcpi_delivered, 2 + nseg);
  EXPECT_EQ(ci.tcpi_bytes_received, 4u);
  EXPECT_EQ(ci.tcpi_data_segs_in, 1u);
  p.on(p.b());
  si = info(s);
  EXPECT_EQ(si.tcpi_bytes_received, 100001u);
  EXPECT_EQ(si.tcpi_bytes_acked, 4u);
  EXPECT_EQ(si.tcpi_bytes_sent, 4u);
  EXPECT_EQ(si.tcpi_delivered, 2u);
  ASSERT_EQ(skiff_send(s, "bye", 3, MSG_MORE), 3);  // held (more to come) ...
  ASSERT_EQ(skiff_shutdown(s, SHUT_WR), 0);          // ... and sent with the FIN
  p.pump();
  si = info(s);
  EXPECT_EQ(si.tcpi_bytes_acked, 4u + 3u + 1u);
  EXPECT_EQ(si.tcpi_delivered, 3u);
  EXPECT_EQ(si.tcpi_data_segs_out, 2u);

  // A shorter buffer gets Linux's prefix (glibc's struct tcp_info is 104 bytes).
  tcp_info legacy{};
  socklen_t ll = sizeof legacy;
  ASSERT_EQ(skiff_getsockopt(s, IPPROTO_TCP, TCP_INFO, &legacy, &ll), 0);
  EXPECT_EQ(ll, sizeof legacy);
  EXPECT_EQ(legacy.tcpi_state, si.tcpi_state);
  EXPECT_EQ(legacy.tcpi_total_retrans, si.tcpi_total_retrans);
  p.filter = nullptr;
  skiff_close(s);
  p.on(p.a());
  skiff_close(c);
  p.advance(61s, 500ms);
}

TEST(TcpInfo, RetransmissionsDuplicatesAndTimeouts) {
  PairHarness p;
  auto [c, s] = establish(p);
  // One data segment lost once, one delivered twice: the sender resends one segment's bytes, the receiver
  // queues what came after the hole out of order, and the duplicate comes back as a D-SACK.
  int data_frames = 0;
  Wire w;
  p.filter = [&](bool a_to_b, const Bytes& f) {
    w.count(a_to_b, f);
    if (!a_to_b || f.size() < 100) return 1;
    ++data_frames;
    if (data_frames == 4) return 0;  // (an even one: its ACK also covers the segment before it)
    if (data_frames == 8) return 2;
    return 1;
  };
  const auto out = data(40000, 5);
  transfer(p, c, s, out);
  p.advance(300ms);
  p.on(p.a());
  skiff_tcp_info ci = info(c);
  EXPECT_EQ(ci.tcpi_total_retrans, 1u);
  EXPECT_EQ(ci.tcpi_bytes_retrans, 1448u);
  EXPECT_EQ(ci.tcpi_bytes_sent, 40000u + 1448u);
  EXPECT_EQ(ci.tcpi_data_segs_out, w.ab.data_segs);  // (the duplicate is the wire's, counted once there)
  EXPECT_EQ(ci.tcpi_dsack_dups, 1u);
  EXPECT_EQ(ci.tcpi_bytes_acked, 40001u);
  EXPECT_EQ(ci.tcpi_total_rto, 0u);  // SACK recovered it
  EXPECT_EQ(ci.tcpi_reord_seen, 0u) << "a loss is no reordering";
  EXPECT_EQ(ci.tcpi_reordering, 3u);
  p.on(p.b());
  skiff_tcp_info si = info(s);
  EXPECT_GT(si.tcpi_rcv_ooopack, 0u);
  EXPECT_EQ(si.tcpi_rcv_ooopack, p.b().stats.tcp_ooo_segs);
  EXPECT_EQ(si.tcpi_bytes_received, 40000u);

  // An outage of 2 s (b hears nothing): timeouts, one episode, whose time ends with the first ACK.
  p.filter = [](bool a_to_b, const Bytes&) { return a_to_b ? 0 : 1; };
  p.on(p.a());
  ASSERT_EQ(skiff_send(c, out.data(), 3000, 0), 3000);
  p.advance(2s, 10ms);
  ci = info(c);
  EXPECT_GE(ci.tcpi_total_rto, 2u);
  EXPECT_EQ(ci.tcpi_total_rto_recoveries, 1u);
  EXPECT_GT(ci.tcpi_total_rto_time, 0u);  // running
  EXPECT_EQ(ci.tcpi_notsent_bytes + ci.tcpi_unacked * 1448 >= 3000u, true);
  p.filter = nullptr;
  p.advance(5s, 10ms);
  ci = info(c);
  EXPECT_EQ(ci.tcpi_bytes_acked, 43001u);
  EXPECT_EQ(ci.tcpi_total_rto_recoveries, 1u);
  const uint32_t t = ci.tcpi_total_rto_time;
  EXPECT_GE(t, 1800u);
  EXPECT_LE(t, 7000u);
  p.advance(1s, 100ms);
  EXPECT_EQ(info(c).tcpi_total_rto_time, t);  // the episode ended
  skiff_close(c);
  p.on(p.b());
  skiff_close(s);
  p.advance(61s, 500ms);
}

TEST(TcpInfo, ChronographsSplitBusyTimeByWhatLimitedIt) {
  PairHarness p;
  // b's receive buffer is small (set on the listener, so its first window is small) and b does not read:
  // a's sending stops on b's window.
  p.on(p.b());
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int small = 4096;
  ASSERT_EQ(skiff_setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  const sockaddr_in any = sin_of(Ipv4Addr::any(), 7000);
  ASSERT_EQ(skiff_bind(l, reinterpret_cast<const sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(skiff_listen(l, 16), 0);
  p.on(p.a());
  const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin_of(PairHarness::kB, 7000);
  EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  p.pump();
  p.on(p.b());
  const int s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s, 0);
  p.on(p.a());
  const auto out = data(200000, 9);
  ASSERT_EQ(skiff_send(c, out.data(), 12000, 0), 12000);
  p.advance(2s, 10ms);
  skiff_tcp_info ci = info(c);
  EXPECT_GT(ci.tcpi_rwnd_limited, 1'000'000u);  // most of the 2 s (µs)
  EXPECT_GE(ci.tcpi_busy_time, ci.tcpi_rwnd_limited);
  EXPECT_EQ(ci.tcpi_sndbuf_limited, 0u);
  EXPECT_GT(ci.tcpi_notsent_bytes, 0u);
  // a's application fills its send buffer too: that is now what limits it.
  const int sndbuf = 16384;
  ASSERT_EQ(skiff_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  while (skiff_send(c, out.data(), 4096, 0) > 0) {
  }
  EXPECT_EQ(errno, EAGAIN);
  const uint64_t rwnd_before = info(c).tcpi_rwnd_limited;
  p.advance(1s, 10ms);
  ci = info(c);
  EXPECT_GT(ci.tcpi_sndbuf_limited, 900'000u);
  EXPECT_LT(ci.tcpi_rwnd_limited - rwnd_before, 100'000u);
  // b reads everything: all is delivered and the clocks stop.
  uint8_t buf[65536];
  for (int i = 0; i < 2000; ++i) {
    p.on(p.b());
    while (skiff_recv(s, buf, sizeof buf, 0) > 0) {
    }
    p.advance(1ms);
    p.on(p.a());
    if (info(c).tcpi_bytes_acked == info(c).tcpi_bytes_sent + 1 && info(c).tcpi_notsent_bytes == 0) break;
  }
  p.on(p.a());
  const skiff_tcp_info done = info(c);
  EXPECT_EQ(done.tcpi_unacked, 0u);
  p.advance(500ms, 10ms);
  p.on(p.a());
  ci = info(c);
  EXPECT_EQ(ci.tcpi_busy_time, done.tcpi_busy_time);
  EXPECT_EQ(ci.tcpi_rwnd_limited, done.tcpi_rwnd_limited);
  EXPECT_EQ(ci.tcpi_sndbuf_limited, done.tcpi_sndbuf_limited);
  skiff_close(c);
  p.on(p.b());
  skiff_close(s);
  p.advance(61s, 500ms);
}

TEST(TcpInfo, DisconnectStartsTheCountersAgain) {
  PairHarness p;
  auto [c, s] = establish(p);
  transfer(p, c, s, data(5000, 1));
  p.on(p.a());
  ASSERT_GT(info(c).tcpi_bytes_acked, 5000u);
  sockaddr_in un{};
  un.sin_family = AF_UNSPEC;
  ASSERT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&un), sizeof un), 0);
  const skiff_tcp_info ci = info(c);
  EXPECT_EQ(ci.tcpi_bytes_acked, 0u);
  EXPECT_EQ(ci.tcpi_bytes_sent, 0u);
  EXPECT_EQ(ci.tcpi_segs_out, 0u);
  EXPECT_EQ(ci.tcpi_delivered, 0u);
  EXPECT_EQ(ci.tcpi_busy_time, 0u);
  EXPECT_EQ(ci.tcpi_min_rtt, ~0u);
  skiff_close(c);
  p.pump();
  p.on(p.b());
  skiff_close(s);
  p.advance(61s, 500ms);
}

TEST(TcpInfo, ReceiveSideMeasuresAsLinux) {
  // As Linux 6.18 (measured between two namespaces, timestamps on): a socket that never connected reports
  // none; once connected, the peer's segment size is first guessed at 536 (tcpi_rcv_mss) and the autotuning
  // starts from ten segments of what we announced less the timestamp option (tcpi_rcv_space 14,480,
  // tcpi_advmss 1,448); tcpi_ato is 0 until data arrives. A bulk transfer's full segments set rcv_mss.
  PairHarness p;
  p.on(p.a());
  const int fresh = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const skiff_tcp_info fi = info(fresh);
  EXPECT_EQ(fi.tcpi_rcv_mss, 0u);
  EXPECT_EQ(fi.tcpi_rcv_space, 0u);
  skiff_close(fresh);
  auto [c, s] = establish(p);
  for (const int fd : {c, s}) {
    p.on(fd == c ? p.a() : p.b());
    const skiff_tcp_info ti = info(fd);
    ASSERT_TRUE(ti.tcpi_options & TCPI_OPT_TIMESTAMPS);
    EXPECT_EQ(ti.tcpi_rcv_mss, 536u) << fd;
    EXPECT_EQ(ti.tcpi_advmss, 1448u) << fd;
    EXPECT_EQ(ti.tcpi_rcv_space, 14480u) << fd;
    EXPECT_EQ(ti.tcpi_ato, 0u) << fd;
  }
  transfer(p, c, s, data(400000, 7));
  p.on(p.b());
  const skiff_tcp_info si = info(s);
  EXPECT_EQ(si.tcpi_rcv_mss, 1448u);
  EXPECT_EQ(si.tcpi_ato, 40000u);
  EXPECT_GE(si.tcpi_rcv_space, 14480u);
  p.on(p.a());
  EXPECT_EQ(info(c).tcpi_rcv_mss, 536u);  // (it received no data)
  skiff_close(c);
  p.pump();
  p.on(p.b());
  skiff_close(s);
  p.advance(61s, 500ms);
}

TEST(TcpInfo, ListenerReportsItsAcceptQueueAndBacklog) {
  // As Linux 6.18 (measured): a listener's tcpi_unacked is its accept queue, tcpi_sacked its backlog; of
  // the rest only the congestion window, reordering and the pacing rates are filled.
  PairHarness p;
  p.on(p.b());
  const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const sockaddr_in any = sin_of(Ipv4Addr::any(), 7000);
  ASSERT_EQ(skiff_bind(l, reinterpret_cast<const sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(skiff_listen(l, 8), 0);
  p.on(p.a());
  const sockaddr_in to = sin_of(PairHarness::kB, 7000);
  int cs[2];
  for (int& c : cs) {
    c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_EQ(skiff_connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to), -1);
  }
  p.pump();
  p.on(p.b());
  skiff_tcp_info li = info(l);
  EXPECT_EQ(li.tcpi_state, TCP_LISTEN);
  EXPECT_EQ(li.tcpi_unacked, 2u);
  EXPECT_EQ(li.tcpi_sacked, 8u);
  EXPECT_EQ(li.tcpi_snd_cwnd, 10u);
  EXPECT_EQ(li.tcpi_reordering, 3u);
  EXPECT_EQ(li.tcpi_pacing_rate, ~0ull);
  EXPECT_EQ(li.tcpi_rto, 0u);
  EXPECT_EQ(li.tcpi_min_rtt, 0u);
  const int s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(s, 0);
  EXPECT_EQ(info(l).tcpi_unacked, 1u);
  skiff_close(s);
  skiff_close(l);
  p.on(p.a());
  for (int c : cs) skiff_close(c);
  p.advance(61s, 500ms);
}
