// Does receive coalescing with DPDK's rte_gro pay for Skiff? A burst of 32 in-order, full-sized TCP
// segments of one flow (what a bulk receiver's rx_burst returns) is merged by rte_gro_reassemble_burst
// (lightweight mode, GRO_TCP_IPV4) into one chained mbuf. The benchmarks measure:
//
//  BM_GroBaseline:  fill 32 mbufs from a template and free them (the set-up both variants pay)
//  BM_GroTcp4:      the same plus rte_gro_reassemble_burst on the 32, then free the merged chain
//
// The difference, per segment, is GRO's cost; compare it with the receive path's cost per segment in
// bench_tcp (BM_TcpSegmentCost, receive side) to see what merging could save. Results: docs/performance.md.

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <rte_ether.h>
#include <rte_gro.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <cstring>
#include <vector>

#include "bench_common.hh"

namespace {

constexpr unsigned kBurst = 32;
constexpr uint16_t kMss = 1448;  // 1460 less a timestamps option's worth, as Linux sends
constexpr uint16_t kHdr = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr);

rte_mempool* pool() {
  static rte_mempool* p = [] {
    rte_mempool* m = rte_pktmbuf_pool_create("bench_gro", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    skiff::bench::at_teardown([m] { rte_mempool_free(m); });
    return m;
  }();
  return p;
}

// Segment k of the flow: Ethernet + IPv4 + TCP (ACK|PSH-less, no options) + kMss payload bytes.
void fill(rte_mbuf* m, unsigned k) {
  uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(d);
  memset(eth, 0, sizeof *eth);
  eth->dst_addr.addr_bytes[0] = 0x02;
  eth->src_addr.addr_bytes[0] = 0x02;
  eth->src_addr.addr_bytes[5] = 1;
  eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  memset(ip, 0, sizeof *ip);
  ip->version_ihl = 0x45;
  ip->total_length = htons(sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr) + kMss);
  ip->packet_id = htons(static_cast<uint16_t>(k));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = htonl(0x0a000001);
  ip->dst_addr = htonl(0x0a000002);
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  memset(tcp, 0, sizeof *tcp);
  tcp->src_port = htons(5201);
  tcp->dst_port = htons(40000);
  tcp->sent_seq = htonl(1000 + k * kMss);
  tcp->recv_ack = htonl(1);
  tcp->data_off = (sizeof(rte_tcp_hdr) / 4) << 4;
  tcp->tcp_flags = RTE_TCP_ACK_FLAG;
  tcp->rx_win = htons(65535);
  memset(d + kHdr, static_cast<int>(k), kMss);
  m->data_len = m->pkt_len = kHdr + kMss;
  m->l2_len = sizeof(rte_ether_hdr);
  m->l3_len = sizeof(rte_ipv4_hdr);
  m->l4_len = sizeof(rte_tcp_hdr);
  m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
}

bool alloc_fill(rte_mbuf** ms) {
  if (rte_pktmbuf_alloc_bulk(pool(), ms, kBurst) != 0) return false;
  for (unsigned k = 0; k < kBurst; ++k) fill(ms[k], k);
  return true;
}

void BM_GroBaseline(benchmark::State& state) {
  rte_mbuf* ms[kBurst];
  for (auto _ : state) {
    if (!alloc_fill(ms)) {
      state.SkipWithError("pool");
      return;
    }
    benchmark::DoNotOptimize(ms[kBurst - 1]);
    rte_pktmbuf_free_bulk(ms, kBurst);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}
BENCHMARK(BM_GroBaseline);

void BM_GroTcp4(benchmark::State& state) {
  rte_mbuf* ms[kBurst];
  rte_gro_param param{};
  param.gro_types = RTE_GRO_TCP_IPV4;
  param.max_flow_num = 4;
  param.max_item_per_flow = kBurst;
  uint64_t out = 0;
  for (auto _ : state) {
    if (!alloc_fill(ms)) {
      state.SkipWithError("pool");
      return;
    }
    const uint16_t n = rte_gro_reassemble_burst(ms, kBurst, &param);
    out += n;
    rte_pktmbuf_free_bulk(ms, n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
  // How many packets 32 segments became (1 when everything merged: one 46 KiB chain).
  state.counters["out_per_burst"] = static_cast<double>(out) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_GroTcp4);

}  // namespace
