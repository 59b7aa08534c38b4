#pragma once
// A stack on one end of a net_ring pair, with the benchmark playing the peer on the other end:
// "beta" (10.0.0.2/24 by default) behind port B, polled with Shard::poll_once(); the peer drives port A
// with rte_eth_tx_burst/rte_eth_rx_burst. The constructor resolves ARP both ways so the first measured
// frame already flows. Used by bench_echo (ICMP) and bench_udp (UDP sockets).

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <memory>
#include <string>

#include "ethdev/ethdev_port.hh"
#include "ethdev/ring_pair.hh"
#include "stack/stack.hh"
#include "wire/arp.hh"
#include "wire/ethernet.hh"

namespace skiff::bench {

inline constexpr wire::Ipv4Addr kPeerIp = wire::Ipv4Addr::of(10, 0, 0, 1);
inline constexpr wire::Ipv4Addr kStackIp = wire::Ipv4Addr::of(10, 0, 0, 2);

// The stack's configuration for benchmarks: the peer never answers ARP refreshes mid-loop, so keep its
// entry trusted for the whole run.
inline StackConfig bench_config() {
  StackConfig cfg;
  cfg.ip = wire::Ipv4Cidr{kStackIp, 24};
  cfg.pool_size = 4095;
  cfg.neigh.reachable = std::chrono::hours(24);
  return cfg;
}

struct RingWorld {
  explicit RingWorld(const StackConfig& cfg = bench_config()) : cfg_(cfg) { error = setup(); }
  uint16_t port_a = 0, port_b = 0;
  std::unique_ptr<PktPool> peer_pool;
  std::unique_ptr<EthdevPort> peer;  // port A (the benchmark drives it with rte_eth_*_burst)
  std::unique_ptr<Stack> stack;      // "beta", on port B
  std::unique_ptr<EthdevPort> port;
  std::string error;
  StackConfig cfg_;


  std::string setup() {
    auto ids = make_ring_pair("bring");
    if (!ids) return "make_ring_pair";
    port_a = ids->first;
    port_b = ids->second;
    PktPoolConfig ppc;
    ppc.count = 4095;
    peer_pool = std::make_unique<PktPool>("bring_peer", ppc);
    if (!peer_pool->ok()) return "peer packet pool";
    EthdevPortConfig pc;
    pc.pools.push_back(peer_pool->raw());
    pc.link_wait = 1s;
    std::string err;
    peer = EthdevPort::open(port_a, pc, &err);
    if (!peer) return err;

    stack = std::make_unique<Stack>("beta", cfg_);
    if (!stack->make_pools(1)) return "stack packet pool";
    EthdevPortConfig sc;
    sc.pools.push_back(stack->pool(0).raw());
    sc.link_wait = 1s;
    port = EthdevPort::open(port_b, sc, &err);
    if (!port) return err;
    stack->add_iface(port.get(), stack->config().ip);
    stack->build_shards(MonotonicClock::instance());
    Shard& sh = stack->shard(0);
    sh.start();  // gratuitous ARP
    sh.poll_once();
    drain();

    // Pre-resolve: the peer asks for 10.0.0.2, which teaches the stack the peer's MAC; expect the reply.
    rte_mbuf* m = peer_pool->alloc().release();
    if (!m) return "peer mbuf";
    auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, wire::EthView::kMinFrame));
    if (!d) {
      rte_pktmbuf_free(m);
      return "peer mbuf too small";
    }
    std::fill_n(d, wire::EthView::kMinFrame, uint8_t{0});
    wire::EthView eth(d, wire::EthView::kMinFrame);
    eth.set_dst(wire::MacAddr::broadcast());
    eth.set_src(peer->mac);
    eth.set_ethertype(wire::EtherType::Arp);
    wire::ArpView(d + wire::EthView::kHeaderLen, wire::ArpView::kLen)
        .build(wire::ArpOp::Request, peer->mac, kPeerIp, wire::MacAddr::zero(), kStackIp);
    if (rte_eth_tx_burst(port_a, 0, &m, 1) != 1) {
      rte_pktmbuf_free(m);
      return "peer ARP request not sent";
    }
    sh.poll_once();
    rte_mbuf* rx[kBurst];
    const uint16_t n = rte_eth_rx_burst(port_a, 0, rx, kBurst);
    bool replied = false;
    for (uint16_t i = 0; i < n; ++i) {
      auto a = wire::ArpView::checked({rte_pktmbuf_mtod(rx[i], uint8_t*) + wire::EthView::kHeaderLen,
                                       rx[i]->data_len - wire::EthView::kHeaderLen});
      if (a && a->oper() == 2 && a->spa() == kStackIp && a->tha() == peer->mac) replied = true;
    }
    rte_pktmbuf_free_bulk(rx, n);
    if (!replied) return "no ARP reply from the stack";
    NeighEntry* e = sh.port_for(0)->neigh.lookup(kPeerIp);
    if (!e || e->state != NeighState::Reachable || e->mac != peer->mac) return "peer not resolved";
    return {};
  }

  // Frees whatever sits in either direction of the ring pair (after the stack has flushed).
  void drain() {
    if (stack) stack->shard(0).flush();
    rte_mbuf* m[kBurst];
    for (uint16_t p : {port_a, port_b}) {
      uint16_t n;
      while ((n = rte_eth_rx_burst(p, 0, m, kBurst)) > 0) rte_pktmbuf_free_bulk(m, n);
    }
  }

  ~RingWorld() {
    if (stack && port) drain();
    if (stack) stack->release_shards();
    port.reset();
    peer.reset();
    stack.reset();
    peer_pool.reset();
  }
};

}  // namespace skiff::bench
