#pragma once
// Helpers for the packet-level TCP tests: the test plays the peer (10.0.0.1) by hand against one Skiff
// stack (10.0.0.2) in a StackHarness, building each segment the peer sends and checking each segment the
// stack sends. Every socket is non-blocking: a blocking call would spin forever on the manual clock.
//
//   StackHarness h;
//   Conn c = accept_conn(h);              // passive open: the peer connects to our listener on 7000
//   c.push(pattern(100));                 // the peer sends 100 bytes at its SND.NXT
//   auto out = c.out();                   // what the stack sent (TCP only)
//   EXPECT_EQ(out[0].ack, c.snd);

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "api/skiff.h"
#include "tcp/tcp.hh"
#include "tcp_builder.hh"
#include "wire/endian.hh"

namespace tcpt {

using namespace skiff;
using namespace skiff::test;
using namespace std::chrono_literals;
namespace tf = skiff::wire::tcp_flag;

inline constexpr uint16_t kLocalPort = 7000;  // our listener
inline constexpr uint16_t kPeerPort = 40000;  // the peer's port

inline sockaddr_in sin_of(Ipv4Addr a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(a.host());
  return s;
}

inline int set_int(int fd, int level, int name, int v) { return skiff_setsockopt(fd, level, name, &v, sizeof v); }

// An ICMP error from the peer about a segment we sent from `sport` to `dport` with sequence number `seq`,
// whose IP header said `total_len`; `rest` is the message's second word (the next-hop MTU of a
// "fragmentation needed").
inline void icmp_about(StackHarness& h, uint8_t type, uint8_t code, uint16_t sport, uint16_t dport, uint32_t seq,
                       uint32_t rest = 0, uint16_t total_len = 60) {
  Bytes tcp8(8);
  wire::store_be16(tcp8.data(), sport);
  wire::store_be16(tcp8.data() + 2, dport);
  wire::store_be32(tcp8.data() + 4, seq);
  const Ipv4Addr ours = StackHarness::kOurIp, peer = StackHarness::kPeerIp;
  const Bytes quote =
      ipv4(Ipv4Spec{.src = ours, .dst = peer, .proto = 6, .flags_frag = 0x4000, .total_len = total_len}, tcp8);
  h.inject(h.from_peer(ipv4(Ipv4Spec{.src = peer, .dst = ours, .proto = 1}, icmp(type, code, rest, quote))));
}

inline int listen_on(uint16_t port = kLocalPort, int backlog = 16) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  const sockaddr_in a = sin_of(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  EXPECT_EQ(skiff_listen(fd, backlog), 0) << strerror(errno);
  return fd;
}

inline tcp_info info(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0) << strerror(errno);
  return ti;
}

// ... the whole of it (Linux 6.18's layout).
inline skiff_tcp_info xinfo(int fd) {
  skiff_tcp_info ti{};
  socklen_t len = sizeof ti;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0) << strerror(errno);
  return ti;
}

inline int state_of(int fd) { return info(fd).tcpi_state; }

// The events a level-triggered epoll reports for `fd` now (EPOLLIN | EPOLLOUT asked).
inline uint32_t ready(int fd) {
  const int ep = skiff_epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.fd = fd;
  EXPECT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  epoll_event out[1];
  const int n = skiff_epoll_wait(ep, out, 1, 0);
  skiff_close(ep);
  return n == 1 ? out[0].events : 0;
}

inline int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

inline int so_error(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  EXPECT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  return err;
}

// Everything readable now (MSG_DONTWAIT); `rc` gets the last return value (0 = EOF, -1 = errno).
inline Bytes read_all(int fd, ssize_t* rc = nullptr) {
  Bytes got;
  uint8_t buf[4096];
  for (;;) {
    const ssize_t n = skiff_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) {
      if (rc) *rc = n;
      return got;
    }
    const size_t old = got.size();
    got.resize(old + static_cast<size_t>(n));
    memcpy(got.data() + old, buf, static_cast<size_t>(n));
  }
}

// Sequence space a segment the stack sent occupies (SYN and FIN count one each).
inline uint32_t seg_space(const SentTcp& t) {
  return static_cast<uint32_t>(t.payload.size()) + (t.has(tf::kSyn) ? 1u : 0u) + (t.has(tf::kFin) ? 1u : 0u);
}

// The TCP segments the stack sent. The peer also answers ARP requests for its address (the stack re-checks
// its neighbour after tens of seconds and holds packets meanwhile), and what they released is included.
inline std::vector<SentTcp> out_of(StackHarness& h) {
  std::vector<SentTcp> got;
  for (int round = 0; round < 8; ++round) {
    const std::vector<Bytes> frames = h.sent();
    bool answered = false;
    for (const Bytes& f : frames) {
      const bool arp_request = f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 1;
      if (arp_request && wire::load_be32(f.data() + 38) == StackHarness::kPeerIp.host()) {
        h.inject(eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x0806,
                     arp(2, StackHarness::kPeerMac, StackHarness::kPeerIp, StackHarness::kOurMac, StackHarness::kOurIp)));
        answered = true;
      }
    }
    for (SentTcp& t : tcp_only(frames)) got.push_back(std::move(t));
    if (!answered) break;
  }
  return got;
}

using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

// The SACK blocks of a segment the stack sent, relative to `base`.
inline Blocks blocks_of(const SentTcp& t, uint32_t base) {
  Blocks b;
  for (uint8_t i = 0; i < t.opts.num_sack; ++i)
    b.emplace_back(t.opts.sack[i].left.raw() - base, t.opts.sack[i].right.raw() - base);
  return b;
}

// Moves the clock in `step`s (running timers each time) until the stack sends something or `limit`
// passes; returns the time that took (or nullopt) and leaves what was sent in `got`.
inline std::optional<Duration> advance_until_sent(StackHarness& h, Duration limit, std::vector<SentTcp>& got,
                                                  Duration step = 1ms) {
  Duration t{};
  while (t < limit) {
    h.advance(step);
    t += step;
    got = out_of(h);
    if (!got.empty()) return t;
  }
  return std::nullopt;
}

// One connection as the peer sees it.
struct Conn {
  StackHarness* h = nullptr;
  int fd = -1;                 // our socket
  int lfd = -1;                // our listener (passive opens)
  uint16_t lport = kLocalPort;  // our port
  uint16_t pport = kPeerPort;   // the peer's port
  uint32_t iss = 0;            // our initial sequence number
  uint32_t irs = 0;            // the peer's initial sequence number
  uint32_t snd = 0;            // the peer's SND.NXT (what we should acknowledge)
  uint32_t nxt = 0;            // our SND.NXT as the peer has seen it (what the peer acknowledges)
  uint16_t wnd = 65535;        // the window the peer advertises
  bool ts = false;             // timestamps negotiated: every segment from seg() carries one
  uint32_t ts_val = 100;       // the peer's timestamp clock (TSval it sends)
  uint32_t ts_ecr = 0;         // the newest TSval the peer saw from us (out_track updates it)

  // A segment from the peer at its SND.NXT, acknowledging all we sent (ACK field set even if the flag
  // is not; the stack must ignore it then).
  TcpSpec seg(uint8_t flags, Bytes payload = {}) const {
    TcpSpec s{.sport = pport, .dport = lport, .seq = snd, .ack = nxt, .flags = flags, .wnd = wnd,
              .payload = std::move(payload)};
    if (ts) {
      wire::TcpOptions o;
      o.has_timestamp = true;
      o.ts_val = ts_val;
      o.ts_ecr = ts_ecr;
      s.opts = o;
    }
    return s;
  }
  // A bare ACK of `a` carrying SACK blocks [left, right) (absolute sequence numbers), first block first.
  void sack(uint32_t a, std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) const {
    TcpSpec s = seg(tf::kAck);
    s.ack = a;
    wire::TcpOptions o = s.opts.value_or(wire::TcpOptions{});
    for (const auto& [l, r] : blocks) o.sack[o.num_sack++] = {wire::SeqNum(l), wire::SeqNum(r)};
    s.opts = o;
    in(s);
  }
  void in(const TcpSpec& s) const { h->inject(tcp_frame(*h, s)); }
  // The peer sends data (ACK|PSH) and advances its SND.NXT.
  void push(const Bytes& data, uint8_t flags = tf::kAck | tf::kPsh) {
    in(seg(flags, data));
    snd += static_cast<uint32_t>(data.size());
  }
  // The peer sends its FIN (with ACK) and advances its SND.NXT.
  void fin(const Bytes& data = {}) {
    in(seg(tf::kAck | tf::kFin, data));
    snd += static_cast<uint32_t>(data.size()) + 1;
  }
  // A bare ACK of everything we sent (or of `ack`).
  void ack(std::optional<uint32_t> a = std::nullopt) {
    TcpSpec s = seg(tf::kAck);
    if (a) s.ack = *a;
    in(s);
  }
  std::vector<SentTcp> out() const { return out_of(*h); }
  // Reads what the stack sent and records how far our sequence space went.
  std::vector<SentTcp> out_track() {
    auto o = out();
    for (const auto& t : o) {
      const uint32_t end = t.seq + seg_space(t);
      if (static_cast<int32_t>(end - nxt) > 0) nxt = end;
      if (t.opts.has_timestamp) ts_ecr = t.opts.ts_val;
    }
    return o;
  }
  ssize_t send(size_t n, uint8_t seed = 1) const {
    const Bytes b = pattern(n, seed);
    return skiff_send(fd, b.data(), b.size(), MSG_DONTWAIT);
  }
};

struct OpenOpts {
  uint32_t peer_isn = 1000;
  std::optional<uint16_t> mss = 1000;  // the MSS option the peer sends (nullopt: none)
  uint16_t wnd = 65535;                // the peer's window
  int rcvbuf = 0;                      // SO_RCVBUF on our listener / socket (0: default)
  int listen_backlog = 16;
  Duration rtt{};                      // the handshake's round trip (the stack takes its first RTT sample from it)
  bool sack = false;                   // the peer's SYN offers SACK (RFC 2018)
  bool ts = false;                     // ... and timestamps (RFC 7323); then Conn::seg sends them throughout
  std::optional<uint8_t> wscale;       // ... and window scaling with this shift
  uint8_t syn_flags = 0;               // more flags on the peer's SYN or SYN-ACK (ECE, CWR: RFC 3168)
  bool accept = true;                  // accept_conn accepts it (false: it stays in the accept queue)
};

// The options of the peer's SYN (or SYN-ACK) for `o`.
inline std::optional<wire::TcpOptions> syn_options(const OpenOpts& o, uint32_t ts_val, uint32_t ts_ecr = 0) {
  if (!o.mss && !o.sack && !o.ts && !o.wscale) return std::nullopt;
  wire::TcpOptions w;
  w.mss = o.mss;
  w.sack_permitted = o.sack;
  w.wscale = o.wscale;
  if (o.ts) {
    w.has_timestamp = true;
    w.ts_val = ts_val;
    w.ts_ecr = ts_ecr;
  }
  return w;
}

// Passive open: the peer connects to our listener on kLocalPort; the connection is accepted.
inline Conn accept_conn(StackHarness& h, const OpenOpts& o = {}) {
  h.learn_peer();
  Conn c;
  c.h = &h;
  c.wnd = o.wnd;
  c.lfd = listen_on(kLocalPort, o.listen_backlog);
  if (o.rcvbuf) {
    EXPECT_EQ(set_int(c.lfd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf), 0);
  }
  c.irs = o.peer_isn;
  c.snd = o.peer_isn;
  TcpSpec syn = c.seg(static_cast<uint8_t>(tf::kSyn | o.syn_flags));
  syn.ack = 0;
  syn.opts = syn_options(o, c.ts_val);
  c.in(syn);
  auto out = c.out();
  if (out.size() != 1 || (out[0].flags & ~tf::kEce) != (tf::kSyn | tf::kAck)) {
    ADD_FAILURE() << "no SYN-ACK";
    return c;
  }
  c.ts = o.ts && out[0].opts.has_timestamp;
  c.ts_ecr = out[0].opts.ts_val;
  c.iss = out[0].seq;
  c.snd = o.peer_isn + 1;
  c.nxt = c.iss + 1;
  if (o.rtt.count()) h.advance(o.rtt);
  c.ack();
  EXPECT_TRUE(c.out().empty());
  if (!o.accept) return c;
  c.fd = skiff_accept4(c.lfd, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(c.fd, 0) << strerror(errno);
  return c;
}

// Another passive open on the listener of `first` (accept_conn), from peer port `pport` with ISN `isn`
// (no options but the MSS of 1000); the connection is accepted.
inline Conn accept_another(const Conn& first, uint16_t pport, uint32_t isn) {
  Conn c = first;
  c.pport = pport;
  c.irs = c.snd = isn;
  c.ts = false;
  c.fd = -1;
  TcpSpec syn = c.seg(tf::kSyn);
  syn.ack = 0;
  syn.opts = mss_opt(1000);
  c.in(syn);
  auto out = c.out();
  if (out.size() != 1 || out[0].flags != (tf::kSyn | tf::kAck)) {
    ADD_FAILURE() << "no SYN-ACK";
    return c;
  }
  c.iss = out[0].seq;
  c.nxt = c.iss + 1;
  c.snd = isn + 1;
  c.ack();
  EXPECT_TRUE(c.out().empty());
  c.fd = skiff_accept4(c.lfd, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(c.fd, 0) << strerror(errno);
  return c;
}

// Active open: we connect to the peer's kPeerPort; the peer answers with a SYN-ACK.
inline Conn connect_conn(StackHarness& h, const OpenOpts& o = {}) {
  h.learn_peer();
  Conn c;
  c.h = &h;
  c.wnd = o.wnd;
  c.fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (o.rcvbuf) {
    EXPECT_EQ(set_int(c.fd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf), 0);
  }
  const sockaddr_in a = sin_of(StackHarness::kPeerIp, kPeerPort);
  EXPECT_EQ(skiff_connect(c.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  auto out = c.out();
  if (out.size() != 1 || (out[0].flags & ~(tf::kEce | tf::kCwr)) != tf::kSyn) {
    ADD_FAILURE() << "no SYN";
    return c;
  }
  c.lport = out[0].sport;
  c.iss = out[0].seq;
  c.nxt = c.iss + 1;
  c.irs = o.peer_isn;
  c.snd = o.peer_isn;
  c.ts = o.ts;
  c.ts_ecr = out[0].opts.ts_val;
  TcpSpec sa = c.seg(static_cast<uint8_t>(tf::kSyn | tf::kAck | o.syn_flags));
  sa.opts = syn_options(o, c.ts_val, c.ts_ecr);
  if (o.rtt.count()) h.advance(o.rtt);
  c.in(sa);
  c.snd = o.peer_isn + 1;
  out = c.out();
  EXPECT_EQ(out.size(), 1u);
  if (!out.empty()) {
    EXPECT_EQ(out[0].flags, tf::kAck);
  }
  return c;
}

}  // namespace tcpt
