// UDP through the socket layer, and socket allocation.
//
//  BM_SockAlloc/{Slab,Mimalloc,Malloc}: allocating + freeing one UDP socket object (zeroed, as
//    sk_prot_alloc does) from the per-shard slab (rte_mempool with an lcore cache), from mimalloc (what a
//    protocol without a slab uses), and from glibc malloc, for comparison.
//  BM_SocketCreateClose: skiff_socket() + skiff_close() through the registry, descriptor table and slab.
//  BM_UdpEchoNetRing/N: the stack on one end of a net_ring pair runs a UDP echo server on the socket API
//    (an on_readable callback doing recvfrom + sendto per datagram, as skiff-echo does); the benchmark is
//    the peer, sending bursts of 32 datagrams of N payload bytes and turning each echo back into a request
//    (addresses and ports swapped: both checksums stay valid, the sum being commutative).
//  BM_UdpRecvGro/mode:{0,1,2}: the peer sends bursts of 32 datagrams of 1,000 bytes (one flow) to a socket
//    that the application drains with recvmsg() after each poll: 0, one call per datagram into the start of
//    one buffer (each overwriting the last); 1, one call per datagram, each placed after the last in a 64 KiB
//    buffer (the bytes kept, as mode 2 keeps them); 2, UDP_GRO: one call per train (the burst, gathered
//    whole). pps counts datagrams read.

#include <benchmark/benchmark.h>
#include <netinet/udp.h>
#include <rte_ethdev.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

#include "api/skiff.h"
#include "api/skiff.hh"
#include "bench_common.hh"
#include "ring_world.hh"
#include "sock/slab.hh"
#include "udp/udp.hh"
#include "wire/ethernet.hh"
#include "wire/ipv4.hh"
#include "wire/udp.hh"

namespace {

using namespace skiff;
using bench::kPeerIp;
using bench::kStackIp;
using bench::RingWorld;
using wire::EthView;
using wire::Ipv4View;
using wire::UdpView;

constexpr uint16_t kEchoPort = 7;
constexpr uint16_t kPeerPort = 40000;
constexpr size_t kL3 = EthView::kHeaderLen;
constexpr size_t kL4 = kL3 + Ipv4View::kMinHeaderLen;
constexpr size_t kData = kL4 + UdpView::kHeaderLen;

void BM_SockAlloc(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  ProtoSlab slab("bench_slab" + std::to_string(kind), sizeof(UdpSock), kind == 0 ? 4096 : 0);
  bool from_slab = false;
  for (auto _ : state) {
    void* p;
    if (kind == 2) {
      p = malloc(sizeof(UdpSock));
      memset(p, 0, sizeof(UdpSock));
    } else {
      p = slab.alloc(&from_slab);
    }
    benchmark::DoNotOptimize(p);
    if (kind == 2) {
      free(p);
    } else {
      slab.free(p, from_slab);
    }
  }
  if (slab.stats().in_use != 0) state.SkipWithError("objects leaked");
  state.SetLabel(kind == 0 ? "slab (rte_mempool)" : kind == 1 ? "mimalloc" : "malloc");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SockAlloc)->Arg(0)->Arg(1)->Arg(2)->ArgName("kind");

RingWorld& world() {
  static RingWorld* w = [] {
    auto* nw = new RingWorld();
    bench::at_teardown([nw] {
      set_this_shard(&nw->stack->shard(0));
      delete nw;
    });
    return nw;
  }();
  return *w;
}

void BM_SocketCreateClose(benchmark::State& state) {
  RingWorld& w = world();
  if (!w.error.empty()) return state.SkipWithError(w.error.c_str());
  Shard& sh = w.stack->shard(0);
  set_this_shard(&sh);
  for (auto _ : state) {
    const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return state.SkipWithError("socket failed");
    skiff_close(fd);
  }
  if (sh.socks.in_use(udp_prot) != 0) return state.SkipWithError("sockets leaked");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SocketCreateClose);

// Builds a request frame from the peer to the echo port.
bool fill_request(rte_mbuf* m, const wire::MacAddr& peer, const wire::MacAddr& stack, size_t n) {
  const size_t len = kData + n;
  auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
  if (!d) return false;
  EthView eth(d, len);
  eth.set_dst(stack);
  eth.set_src(peer);
  eth.set_ethertype(wire::EtherType::Ipv4);
  Ipv4View ip(d + kL3, len - kL3);
  ip.build(kPeerIp, kStackIp, 17, static_cast<uint16_t>(len - kL3), 0x4242, 64, 0, 0);
  ip.fill_checksum();
  UdpView u(d + kL4, len - kL4);
  u.set_src_port(kPeerPort);
  u.set_dst_port(kEchoPort);
  u.set_length(static_cast<uint16_t>(UdpView::kHeaderLen + n));
  u.set_checksum_raw(0);
  for (size_t i = 0; i < n; ++i) d[kData + i] = static_cast<uint8_t>(i * 13 + 1);
  const uint64_t ph = wire::pseudo_header_sum(kPeerIp, kStackIp, 17, static_cast<uint16_t>(UdpView::kHeaderLen + n));
  uint16_t c = wire::csum_finish(wire::csum_partial(d + kL4, UdpView::kHeaderLen + n, ph));
  u.set_checksum_raw(c ? c : 0xffff);
  return true;
}

// Checks an echo and turns it into the next request in place; false if it is not the expected echo.
bool echo_to_request(rte_mbuf* m, size_t n, bool check_payload) {
  if (m->nb_segs != 1 || m->pkt_len != kData + n) return false;
  uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
  EthView eth(d, m->data_len);
  Ipv4View ip(d + kL3, m->data_len - kL3);
  UdpView u(d + kL4, m->data_len - kL4);
  if (ip.src() != kStackIp || ip.dst() != kPeerIp || u.src_port() != kEchoPort || u.dst_port() != kPeerPort)
    return false;
  if (check_payload) {
    if (!ip.checksum_ok()) return false;
    const uint64_t ph = wire::pseudo_header_sum(kStackIp, kPeerIp, 17, u.length());
    if (!wire::csum_ok(wire::csum_partial(d + kL4, u.length(), ph))) return false;
    for (size_t i = 0; i < n; ++i)
      if (d[kData + i] != static_cast<uint8_t>(i * 13 + 1)) return false;
  }
  const wire::MacAddr a = eth.dst(), b = eth.src();
  eth.set_dst(b);
  eth.set_src(a);
  ip.set_src(kPeerIp);
  ip.set_dst(kStackIp);
  u.set_src_port(kPeerPort);
  u.set_dst_port(kEchoPort);
  return true;
}

void BM_UdpEchoNetRing(benchmark::State& state) {
  RingWorld& w = world();
  if (!w.error.empty()) return state.SkipWithError(w.error.c_str());
  const size_t n = static_cast<size_t>(state.range(0));
  Shard& sh = w.stack->shard(0);
  set_this_shard(&sh);
  // The echo server, on the socket API.
  auto sock = net::Socket::udp(SOCK_NONBLOCK);
  if (!sock) return state.SkipWithError("socket");
  sock->set_option(SOL_SOCKET, SO_RCVBUF, 1 << 20);
  if (!sock->bind({wire::Ipv4Addr::any(), kEchoPort})) return state.SkipWithError("bind");
  std::array<uint8_t, 2048> buf{};
  uint64_t echoed = 0;
  sock->on_readable([&](net::SocketRef s) {
    for (;;) {
      net::Endpoint from;
      auto r = s.recv_from(buf, &from);
      if (!r) break;
      if (s.send_to({buf.data(), *r}, from)) ++echoed;
    }
  });
  std::array<rte_mbuf*, kBurst> pkts{};
  if (w.peer_pool->alloc_bulk(pkts.data(), kBurst) != 0) return state.SkipWithError("no mbufs");
  for (rte_mbuf* m : pkts)
    if (!fill_request(m, w.peer->mac, w.port->mac, n)) return state.SkipWithError("frame too big");
  uint64_t packets = 0;
  const char* err = nullptr;
  uint16_t held = kBurst;
  bool first = true;
  for (auto _ : state) {
    if (rte_eth_tx_burst(w.port_a, 0, pkts.data(), kBurst) != kBurst) {
      err = "peer TX ring full";
      break;
    }
    held = 0;
    sh.poll_once();
    held = rte_eth_rx_burst(w.port_a, 0, pkts.data(), kBurst);
    if (held != kBurst) {
      err = "echoes missing";
      break;
    }
    for (uint16_t i = 0; i < kBurst; ++i)
      if (!echo_to_request(pkts[i], n, first)) err = "malformed echo";
    first = false;
    if (err) break;
    packets += kBurst;
  }
  rte_pktmbuf_free_bulk(pkts.data(), held);
  sock->close();
  w.drain();
  if (err) return state.SkipWithError(err);
  if (echoed != packets) return state.SkipWithError("socket echo count differs");
  state.counters["pps"] = benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(kData + n) + " B frames, bursts of " + std::to_string(kBurst));
}
BENCHMARK(BM_UdpEchoNetRing)->Arg(18)->Arg(64)->Arg(1472)->ArgName("payload");

void BM_UdpRecvGro(benchmark::State& state) {
  RingWorld& w = world();
  if (!w.error.empty()) return state.SkipWithError(w.error.c_str());
  const bool gro = state.range(0) == 2;
  const bool advance = state.range(0) != 0;  // each datagram read past the last (kept, as a train keeps them)
  constexpr size_t kPayload = 1000;
  Shard& sh = w.stack->shard(0);
  set_this_shard(&sh);
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int big = 1 << 20, on = gro;
  skiff_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  skiff_setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on);
  const sockaddr_in me{AF_INET, htons(kEchoPort), {htonl(INADDR_ANY)}, {}};
  if (skiff_bind(fd, reinterpret_cast<const sockaddr*>(&me), sizeof me) != 0) {
    skiff_close(fd);
    return state.SkipWithError("bind");
  }
  // One prepared burst; each round sends clones of it (the stack only reads the frames).
  std::array<rte_mbuf*, kBurst> proto{}, pkts{};
  if (w.peer_pool->alloc_bulk(proto.data(), kBurst) != 0) {
    skiff_close(fd);
    return state.SkipWithError("no mbufs");
  }
  for (rte_mbuf* m : proto)
    if (!fill_request(m, w.peer->mac, w.port->mac, kPayload)) {
      rte_pktmbuf_free_bulk(proto.data(), kBurst);
      skiff_close(fd);
      return state.SkipWithError("frame too big");
    }
  static uint8_t buf[65536];
  alignas(cmsghdr) uint8_t ctl[64];
  uint64_t datagrams = 0, calls = 0;
  const char* err = nullptr;
  for (auto _ : state) {
    for (uint16_t i = 0; i < kBurst; ++i) {
      pkts[i] = rte_pktmbuf_clone(proto[i], w.peer_pool->raw());
      if (!pkts[i]) {
        rte_pktmbuf_free_bulk(pkts.data(), i);
        err = "no mbufs for clones";
        break;
      }
    }
    if (err) break;
    const uint16_t sent = rte_eth_tx_burst(w.port_a, 0, pkts.data(), kBurst);
    if (sent != kBurst) {
      rte_pktmbuf_free_bulk(pkts.data() + sent, kBurst - sent);
      err = "peer TX ring full";
      break;
    }
    sh.poll_once();
    size_t got = 0;
    for (;;) {
      const size_t at = advance ? got : 0;
      iovec iov{buf + at, sizeof buf - at};
      msghdr m{};
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = ctl;
      m.msg_controllen = sizeof ctl;
      const ssize_t n = skiff_recvmsg(fd, &m, 0);
      if (n < 0) break;
      got += static_cast<size_t>(n);
      ++calls;
    }
    if (got != kBurst * kPayload) {
      err = "datagrams missing";
      break;
    }
    datagrams += kBurst;
  }
  rte_pktmbuf_free_bulk(proto.data(), kBurst);
  skiff_close(fd);
  w.drain();
  if (err) return state.SkipWithError(err);
  state.counters["pps"] = benchmark::Counter(static_cast<double>(datagrams), benchmark::Counter::kIsRate);
  state.counters["calls_per_burst"] =
      static_cast<double>(calls) / static_cast<double>(std::max<uint64_t>(1, datagrams / kBurst));
  state.SetLabel(gro       ? "UDP_GRO: one recvmsg per train"
                 : advance ? "one recvmsg per datagram, each kept past the last"
                           : "one recvmsg per datagram, into one buffer");
}
BENCHMARK(BM_UdpRecvGro)->Arg(0)->Arg(1)->Arg(2)->ArgName("mode");

}  // namespace
