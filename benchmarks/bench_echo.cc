// The IPv4 + ICMP echo path, per packet, in bursts of 32 (kBurst).
//
//  BM_EchoStackOnly: one Stack on an in-memory device. Each iteration hands 32 echo requests to
//    Shard::input (eth_input -> ipv4_input -> icmp_input -> in-place reply -> ipv4_output -> neigh_output ->
//    eth_output -> TX batch), flushes, and takes the 32 replies from the device.
//  BM_EchoNetRing: the same stack ("beta", 10.0.0.2/24) behind a net_ring ethdev, polled with
//    Shard::poll_once(); the benchmark is the peer ("alpha", 10.0.0.1) on the other end of the ring pair,
//    sending 32 requests with rte_eth_tx_burst and reading 32 replies with rte_eth_rx_burst.
//
// Both run on one core and include the peer's work: every reply is checked and turned back into the next
// request in place (type 0 -> 8 with an RFC 1624 checksum update, MACs and IPs swapped back), so the loop
// allocates nothing. A missing, extra or malformed reply aborts the benchmark with SkipWithError; the
// stack's own counters must show exactly one echo reply per request and no drops.
//
// Argument: ICMP data bytes (18 = minimum 60-byte frame, 64 on the wire with FCS; 56 = ping's default;
// 1472 = a full 1514-byte frame).

#include <benchmark/benchmark.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "bench_common.hh"
#include "ring_world.hh"
#include "ethdev/ethdev_port.hh"
#include "ethdev/ring_pair.hh"
#include "stack/stack.hh"
#include "wire/arp.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"

namespace {

using namespace skiff;
using wire::EthView;
using wire::IcmpView;
using wire::Ipv4Addr;
using wire::Ipv4View;
using wire::MacAddr;

using bench::bench_config;
using bench::kPeerIp;
using bench::kStackIp;
using bench::RingWorld;
constexpr size_t kL3 = EthView::kHeaderLen;                          // IP header offset
constexpr size_t kL4 = EthView::kHeaderLen + Ipv4View::kMinHeaderLen;  // ICMP header offset


// One echo flow: the addresses and the reference request frame every recycled request must match.
struct Flow {
  MacAddr peer_mac, stack_mac;
  size_t data_len = 0;
  size_t frame_len = 0;
  std::array<uint8_t, 1514> ref{};

  Flow(const MacAddr& peer, const MacAddr& stack, size_t data) : peer_mac(peer), stack_mac(stack), data_len(data) {
    frame_len = kL4 + IcmpView::kHeaderLen + data;
    EthView eth(ref.data(), frame_len);
    eth.set_dst(stack_mac);
    eth.set_src(peer_mac);
    eth.set_ethertype(wire::EtherType::Ipv4);
    Ipv4View ip(ref.data() + kL3, frame_len - kL3);
    ip.build(kPeerIp, kStackIp, static_cast<uint8_t>(wire::IpProto::Icmp), static_cast<uint16_t>(frame_len - kL3),
             0x0101, 64, 0, 0);
    ip.fill_checksum();
    uint8_t* ic = ref.data() + kL4;
    IcmpView icmp(ic, frame_len - kL4);
    icmp.set_type(wire::icmp_type::kEchoRequest);
    icmp.set_code(0);
    icmp.set_echo(0xbe9c, 1);
    for (size_t i = 0; i < data; ++i) ic[IcmpView::kHeaderLen + i] = static_cast<uint8_t>(i * 7 + 3);
    icmp.set_checksum_raw(0);
    icmp.set_checksum_raw(wire::inet_checksum(ic, frame_len - kL4));
  }

  // Fills a fresh buffer with the reference request.
  bool fill(rte_mbuf* m) const {
    rte_pktmbuf_reset(m);
    auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len)));
    if (!d) return false;
    memcpy(d, ref.data(), frame_len);
    return true;
  }

  // Checks a reply cheaply (every packet) and turns it back into a request in place.
  bool reply_to_request(rte_mbuf* m) const {
    if (m->nb_segs != 1 || m->pkt_len != frame_len) return false;
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    if (MacAddr::load(p) != peer_mac || MacAddr::load(p + 6) != stack_mac) return false;
    if (wire::load_be16(p + 12) != static_cast<uint16_t>(wire::EtherType::Ipv4)) return false;
    if (p[kL3] != 0x45 || p[kL3 + 9] != static_cast<uint8_t>(wire::IpProto::Icmp)) return false;
    if (wire::load_be32(p + kL3 + 12) != kStackIp.host() || wire::load_be32(p + kL3 + 16) != kPeerIp.host())
      return false;
    if (p[kL4] != wire::icmp_type::kEchoReply || p[kL4 + 1] != 0) return false;
    // Back to a request: swapping the addresses leaves the IPv4 header sum unchanged.
    stack_mac.store(p);
    peer_mac.store(p + 6);
    uint32_t src, dst;
    memcpy(&src, p + kL3 + 12, 4);
    memcpy(&dst, p + kL3 + 16, 4);
    memcpy(p + kL3 + 12, &dst, 4);
    memcpy(p + kL3 + 16, &src, 4);
    const uint16_t old_word = wire::load_raw16(p + kL4);
    p[kL4] = wire::icmp_type::kEchoRequest;
    const uint16_t new_word = wire::load_raw16(p + kL4);
    wire::store_raw16(p + kL4 + 2, wire::csum_update16(wire::load_raw16(p + kL4 + 2), old_word, new_word));
    m->ol_flags = 0;  // as a NIC delivers it: no checksum verdicts
    return true;
  }

  // Full check of a recycled request: identical to the reference but for the IP ident and header checksum
  // (which the stack rewrote), both checksums valid.
  bool request_intact(rte_mbuf* m) const {
    if (m->nb_segs != 1 || m->pkt_len != frame_len) return false;
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const size_t ident = kL3 + 4, csum = kL3 + 10;
    if (memcmp(p, ref.data(), ident) != 0 || memcmp(p + ident + 2, ref.data() + ident + 2, csum - ident - 2) != 0 ||
        memcmp(p + csum + 2, ref.data() + csum + 2, frame_len - csum - 2) != 0)
      return false;
    return wire::csum_ok(wire::csum_partial(p + kL3, Ipv4View::kMinHeaderLen)) &&
           wire::csum_ok(wire::csum_partial(p + kL4, frame_len - kL4));
  }
};

void report(benchmark::State& state, uint64_t packets, const Flow& flow) {
  state.counters["pps"] = benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(flow.frame_len) + " B frames, bursts of " + std::to_string(kBurst));
}

// Counters that must move in lockstep with the packets sent.
struct StackCheck {
  uint64_t echo_reps = 0, drops = 0, rx = 0;
  static StackCheck of(Shard& sh) { return {sh.stats.icmp_out_echo_reps, sh.drops.total(), sh.stats.rx_packets}; }
};
bool stack_counts_ok(benchmark::State& state, Shard& sh, const StackCheck& before, uint64_t packets) {
  const StackCheck after = StackCheck::of(sh);
  if (after.drops != before.drops) {
    state.SkipWithError("the stack dropped packets");
    return false;
  }
  if (after.echo_reps - before.echo_reps != packets || after.rx - before.rx != packets) {
    state.SkipWithError("stack counters disagree with the replies received");
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Stack only: an in-memory device that keeps what the stack transmits for the benchmark to take back.

class RecycleDevice final : public NetDevice {
 public:
  RecycleDevice() { mac = MacAddr{{0x02, 0x5b, 0, 0, 0, 0x02}}; }
  ~RecycleDevice() override { rte_pktmbuf_free_bulk(tx_.data(), tx_len_); }
  uint16_t rx_burst(uint16_t, rte_mbuf**, uint16_t) override { return 0; }  // input is fed by Shard::input
  uint16_t tx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) override {
    const uint16_t room = static_cast<uint16_t>(tx_.size() - tx_len_);
    const uint16_t take = n < room ? n : room;
    memcpy(tx_.data() + tx_len_, pkts, take * sizeof(rte_mbuf*));
    tx_len_ = static_cast<uint16_t>(tx_len_ + take);
    return take;
  }
  const char* name() const override { return "bench-mem0"; }
  // Moves up to `max` transmitted frames into `out`; returns how many.
  uint16_t take(rte_mbuf** out, uint16_t max) {
    const uint16_t n = tx_len_ < max ? tx_len_ : max;
    memcpy(out, tx_.data(), n * sizeof(rte_mbuf*));
    memmove(tx_.data(), tx_.data() + n, (tx_len_ - n) * sizeof(rte_mbuf*));
    tx_len_ = static_cast<uint16_t>(tx_len_ - n);
    return n;
  }

 private:
  std::array<rte_mbuf*, 4 * kTxBatch> tx_{};
  uint16_t tx_len_ = 0;
};

struct MemWorld {
  ManualClock clock;
  RecycleDevice dev;
  std::unique_ptr<Stack> stack;
  MacAddr peer_mac{{0x02, 0x5b, 0, 0, 0, 0x01}};
  std::string error;

  MemWorld() {
    stack = std::make_unique<Stack>("bmem", bench_config());
    if (!stack->make_pools(1)) {
      error = "packet pool";
      return;
    }
    stack->add_iface(&dev, stack->config().ip);
    stack->build_shards(clock);
    Shard& sh = stack->shard(0);
    // Resolve the peer as an ARP exchange would (static entry, as after ARP).
    ShardPort& sp = *sh.port_for(0);
    NeighEntry* e = sp.neigh.create(kPeerIp, sh.now());
    if (!e) {
      error = "neighbour entry";
      return;
    }
    e->mac = peer_mac;
    e->state = NeighState::Reachable;
    e->confirmed = e->updated = sh.now();
  }
  ~MemWorld() {
    if (stack) stack->release_shards();
    rte_mbuf* left[4 * kTxBatch];
    rte_pktmbuf_free_bulk(left, dev.take(left, 4 * kTxBatch));
  }
};

MemWorld& mem_world() {
  static MemWorld* w = [] {
    auto* nw = new MemWorld();
    skiff::bench::at_teardown([nw] { delete nw; });
    return nw;
  }();
  return *w;
}

void BM_EchoStackOnly(benchmark::State& state) {
  MemWorld& w = mem_world();
  if (!w.error.empty()) return state.SkipWithError(("setup failed: " + w.error).c_str());
  Shard& sh = w.stack->shard(0);
  ShardPort& sp = *sh.port_for(0);
  const Flow flow(w.peer_mac, w.dev.mac, static_cast<size_t>(state.range(0)));
  std::array<rte_mbuf*, kBurst> pkts{};
  if (rte_pktmbuf_alloc_bulk(sh.pool.raw(), pkts.data(), kBurst) != 0) return state.SkipWithError("no mbufs");
  for (rte_mbuf* m : pkts)
    if (!flow.fill(m)) {
      rte_pktmbuf_free_bulk(pkts.data(), kBurst);
      return state.SkipWithError("frame does not fit an mbuf");
    }

  const StackCheck before = StackCheck::of(sh);
  uint64_t packets = 0;
  bool first = true;
  const char* err = nullptr;
  uint16_t held = kBurst;  // buffers in `pkts` we own
  for (auto _ : state) {
    sh.update_clock();
    sh.input(sp, pkts.data(), kBurst);
    held = 0;
    sh.flush();
    held = w.dev.take(pkts.data(), kBurst);
    if (held != kBurst) {
      err = "echo replies missing";
      break;
    }
    for (uint16_t i = 0; i < kBurst; ++i)
      if (!flow.reply_to_request(pkts[i])) err = "malformed echo reply";
    if (first) {
      for (uint16_t i = 0; i < kBurst && !err; ++i)
        if (!flow.request_intact(pkts[i])) err = "echo reply payload or checksum wrong";
      first = false;
    }
    if (err) break;
    packets += kBurst;
  }
  if (!err)
    for (uint16_t i = 0; i < held; ++i)
      if (!flow.request_intact(pkts[i])) err = "echo reply payload or checksum wrong (last burst)";
  rte_pktmbuf_free_bulk(pkts.data(), held);
  if (err) return state.SkipWithError(err);
  if (!stack_counts_ok(state, sh, before, packets)) return;
  report(state, packets, flow);
}

// ---------------------------------------------------------------------------------------------------------
// Over net_ring: the stack on port B of a ring pair, the benchmark playing the peer on port A.

RingWorld& ring_world() {
  static RingWorld* w = [] {
    auto* nw = new RingWorld();
    skiff::bench::at_teardown([nw] { delete nw; });
    return nw;
  }();
  return *w;
}

void BM_EchoNetRing(benchmark::State& state) {
  RingWorld& w = ring_world();
  if (!w.error.empty()) return state.SkipWithError(("setup failed: " + w.error).c_str());
  Shard& sh = w.stack->shard(0);
  const Flow flow(w.peer->mac, w.port->mac, static_cast<size_t>(state.range(0)));
  std::array<rte_mbuf*, kBurst> pkts{};
  if (w.peer_pool->alloc_bulk(pkts.data(), kBurst) != 0) return state.SkipWithError("no mbufs");
  for (rte_mbuf* m : pkts)
    if (!flow.fill(m)) {
      rte_pktmbuf_free_bulk(pkts.data(), kBurst);
      return state.SkipWithError("frame does not fit an mbuf");
    }

  const uint16_t a = w.port_a;
  const StackCheck before = StackCheck::of(sh);
  uint64_t packets = 0;
  bool first = true;
  const char* err = nullptr;
  uint16_t held = kBurst;
  for (auto _ : state) {
    const uint16_t sent = rte_eth_tx_burst(a, 0, pkts.data(), kBurst);
    if (sent != kBurst) {
      // Keep the unsent ones so they are freed below.
      memmove(pkts.data(), pkts.data() + sent, (kBurst - sent) * sizeof(rte_mbuf*));
      held = static_cast<uint16_t>(kBurst - sent);
      err = "ring full: requests not sent";
      break;
    }
    held = 0;
    sh.poll_once();
    held = rte_eth_rx_burst(a, 0, pkts.data(), kBurst);
    if (held != kBurst) {
      err = "echo replies missing";
      break;
    }
    for (uint16_t i = 0; i < kBurst; ++i)
      if (!flow.reply_to_request(pkts[i])) err = "malformed echo reply (or a non-echo frame from the stack)";
    if (first) {
      for (uint16_t i = 0; i < kBurst && !err; ++i)
        if (!flow.request_intact(pkts[i])) err = "echo reply payload or checksum wrong";
      first = false;
    }
    if (err) break;
    packets += kBurst;
  }
  if (!err)
    for (uint16_t i = 0; i < held; ++i)
      if (!flow.request_intact(pkts[i])) err = "echo reply payload or checksum wrong (last burst)";
  rte_pktmbuf_free_bulk(pkts.data(), held);
  if (err) {
    w.drain();
    return state.SkipWithError(err);
  }
  // Nothing else may have come out of the stack.
  rte_mbuf* extra[kBurst];
  const uint16_t n_extra = rte_eth_rx_burst(a, 0, extra, kBurst);
  rte_pktmbuf_free_bulk(extra, n_extra);
  if (n_extra) return state.SkipWithError("the stack sent frames that were not echo replies");
  if (!stack_counts_ok(state, sh, before, packets)) return;
  report(state, packets, flow);
}

}  // namespace

BENCHMARK(BM_EchoStackOnly)->Arg(18)->Arg(56)->Arg(1472);
BENCHMARK(BM_EchoNetRing)->Arg(18)->Arg(56)->Arg(1472);
