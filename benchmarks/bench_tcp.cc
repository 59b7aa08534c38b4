// TCP between two Skiff stacks on one core, wired by a net_ring pair ("alpha" 10.0.0.1 client, "beta"
// 10.0.0.2 server), through the socket API:
//
//  BM_TcpBulk/W: one connection, alpha writes W-byte chunks as fast as the windows allow, beta reads
//    them; goodput in bytes/s (both stacks' work on the one core).
//  BM_TcpRR: 1-byte request, 1-byte response, TCP_NODELAY: transactions per second.
//  BM_TcpSegmentCost: the same bulk flow reported per data segment: the send path (alpha) and the
//    receive path (beta) together, plus the ACKs going back.
//  BM_TcpConnectionCycle: one whole short connection per iteration, as a load generator makes them against
//    a web server: socket(), connect() (SYN, SYN-ACK, ACK), accept(), a 64-byte request and its echo, the
//    client closes, the server reads the EOF and closes (FIN both ways); connections per second (both
//    stacks' work on the one core) and frames per connection. alpha skips TIME-WAIT (time_wait 0) so that
//    its ephemeral ports come back at once; beta's socket is freed by the last ACK (LAST-ACK), checked.
//
// Every byte is checked: the receiver compares what arrives with the sender's deterministic pattern.

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/tcp.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <rte_cycles.h>

#include "api/skiff.h"
#include "bench_common.hh"
#include "ethdev/ethdev_port.hh"
#include "ethdev/ring_pair.hh"
#include "stack/stack.hh"
#include "tcp/tcp.hh"

namespace {

using namespace skiff;

constexpr wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 0, 0, 1);
constexpr wire::Ipv4Addr kB = wire::Ipv4Addr::of(10, 0, 0, 2);

struct Side {
  std::unique_ptr<Stack> stack;
  std::unique_ptr<EthdevPort> port;
  Shard& sh() { return stack->shard(0); }
};

struct World {
  Side a, b;
  std::string error;
  int client = -1, server = -1;
  std::string name;
  Duration client_time_wait;

  explicit World(std::string n = "btcp", Duration tw = 60s) : name(std::move(n)), client_time_wait(tw) {
    error = setup();
  }
  std::string side(Side& s, const std::string& stack_name, uint16_t port_id, wire::Ipv4Addr ip) {
    StackConfig cfg;
    cfg.ip = wire::Ipv4Cidr{ip, 24};
    cfg.pool_size = 16383;
    cfg.neigh.reachable = std::chrono::hours(24);
    cfg.tcp.rmem_default = cfg.tcp.wmem_default = 4 << 20;
    if (&s == &a) cfg.tcp.time_wait = client_time_wait;
    s.stack = std::make_unique<Stack>(stack_name, cfg);
    if (!s.stack->make_pools(1)) return "pool";
    EthdevPortConfig pc;
    pc.pools.push_back(s.stack->pool(0).raw());
    pc.link_wait = 1s;
    std::string err;
    s.port = EthdevPort::open(port_id, pc, &err);
    if (!s.port) return err;
    s.stack->add_iface(s.port.get(), cfg.ip);
    s.stack->build_shards(MonotonicClock::instance());
    s.sh().start();
    return {};
  }
  // One round: each side polls until its receive ring is empty (each would run on its own core in a real
  // deployment; on one core, neither may starve the other).
  void poll() {
    for (int i = 0; i < 64; ++i) {
      const uint64_t t0 = rte_rdtsc();
      set_this_shard(&a.sh());
      const unsigned na = a.sh().poll_once();
      const uint64_t t1 = rte_rdtsc();
      set_this_shard(&b.sh());
      const unsigned nb = b.sh().poll_once();
      a_cycles += t1 - t0;
      b_cycles += rte_rdtsc() - t1;
      if (na < kBurst && nb < kBurst) break;
    }
  }
  uint64_t a_cycles = 0, b_cycles = 0;  // time spent in each stack (sender / receiver side)
  std::string setup() {
    auto ids = make_ring_pair(name, 1, 8192);
    if (!ids) return "ring pair";
    if (auto e = side(a, name + "-alpha", ids->first, kA); !e.empty()) return e;
    if (auto e = side(b, name + "-beta", ids->second, kB); !e.empty()) return e;
    set_this_shard(&b.sh());
    const int l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(5001);
    if (skiff_bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) || skiff_listen(l, 8)) return "listen";
    set_this_shard(&a.sh());
    client = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sa.sin_addr.s_addr = htonl(kB.host());
    skiff_connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    for (int i = 0; i < 10000 && server < 0; ++i) {
      poll();
      set_this_shard(&b.sh());
      server = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    }
    skiff_close(l);
    if (server < 0) return "no connection";
    return {};
  }
  ~World() {
    set_this_shard(&a.sh());
    skiff_close(client);
    set_this_shard(&b.sh());
    skiff_close(server);
    for (int i = 0; i < 100; ++i) poll();
    a.stack->release_shards();
    b.stack->release_shards();
    a.port.reset();
    b.port.reset();
  }
};

World& world() {
  static World* w = [] {
    auto* nw = new World();
    bench::at_teardown([nw] { delete nw; });
    return nw;
  }();
  return *w;
}

inline uint8_t pattern_byte(uint64_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }

void bulk(benchmark::State& state, bool per_segment) {
  World& w = world();
  if (!w.error.empty()) return state.SkipWithError(w.error.c_str());
  const size_t chunk = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> out(chunk), in(256 * 1024);
  uint64_t sent = 0, received = 0;
  const uint64_t segs_before = w.a.sh().stats.tcp_out_segs;
  w.a_cycles = w.b_cycles = 0;
  for (auto _ : state) {
    set_this_shard(&w.a.sh());
    for (size_t i = 0; i < chunk; ++i) out[i] = pattern_byte(sent + i);
    uint64_t t0 = rte_rdtsc();
    const ssize_t n = skiff_send(w.client, out.data(), chunk, 0);
    w.a_cycles += rte_rdtsc() - t0;
    if (n > 0) sent += static_cast<uint64_t>(n);
    w.poll();
    set_this_shard(&w.b.sh());
    for (;;) {
      t0 = rte_rdtsc();
      const ssize_t r = skiff_recv(w.server, in.data(), in.size(), 0);
      w.b_cycles += rte_rdtsc() - t0;
      if (r <= 0) break;
      for (ssize_t i = 0; i < r; i += 997)
        if (in[static_cast<size_t>(i)] != pattern_byte(received + static_cast<uint64_t>(i))) {
          state.SkipWithError("data corrupted");
          return;
        }
      received += static_cast<uint64_t>(r);
    }
  }
  // Drain what is still in flight so the next run starts clean. Bounded in time, not in polls: the last
  // partial segment may wait for Nagle (RFC 896) until the receiver's delayed ACK (40 ms) acknowledges an
  // odd full segment, and 100,000 idle polls take less than that.
  const uint64_t drain_end = rte_rdtsc() + 2 * rte_get_tsc_hz();
  while (received < sent && rte_rdtsc() < drain_end) {
    w.poll();
    set_this_shard(&w.b.sh());
    const ssize_t r = skiff_recv(w.server, in.data(), in.size(), 0);
    if (r > 0) received += static_cast<uint64_t>(r);
  }
  if (received != sent) return state.SkipWithError("bytes lost");
  const uint64_t segs = w.a.sh().stats.tcp_out_segs - segs_before;
  state.SetBytesProcessed(static_cast<int64_t>(received));
  if (per_segment && segs) {
    // Each side's own time per data segment: the sender's (send() copy + segmentation + output + ACK
    // processing) and the receiver's (input + in-order queueing + ACKs + recv() copy).
    const double ns_per_cycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
    state.counters["send_ns_per_seg"] = static_cast<double>(w.a_cycles) * ns_per_cycle / static_cast<double>(segs);
    state.counters["recv_ns_per_seg"] = static_cast<double>(w.b_cycles) * ns_per_cycle / static_cast<double>(segs);
    state.counters["segments"] = static_cast<double>(segs);
  }
  state.counters["Gbit/s"] = benchmark::Counter(static_cast<double>(received) * 8 / 1e9, benchmark::Counter::kIsRate);
}

void BM_TcpBulk(benchmark::State& state) { bulk(state, false); }
BENCHMARK(BM_TcpBulk)->Arg(16384)->Arg(65536)->ArgName("chunk")->UseRealTime();

void BM_TcpSegmentCost(benchmark::State& state) { bulk(state, true); }
BENCHMARK(BM_TcpSegmentCost)->Arg(65536)->ArgName("chunk")->UseRealTime();

void BM_TcpRR(benchmark::State& state) {
  World& w = world();
  if (!w.error.empty()) return state.SkipWithError(w.error.c_str());
  int one = 1;
  set_this_shard(&w.a.sh());
  skiff_setsockopt(w.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_this_shard(&w.b.sh());
  skiff_setsockopt(w.server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint8_t c = 0;
  uint64_t done = 0;
  for (auto _ : state) {
    set_this_shard(&w.a.sh());
    uint8_t req = static_cast<uint8_t>(done);
    if (skiff_send(w.client, &req, 1, 0) != 1) return state.SkipWithError("request not sent");
    bool answered = false;
    for (int i = 0; i < 1000 && !answered; ++i) {
      w.poll();
      set_this_shard(&w.b.sh());
      if (skiff_recv(w.server, &c, 1, 0) == 1) skiff_send(w.server, &c, 1, 0);
      set_this_shard(&w.a.sh());
      uint8_t resp = 0;
      if (skiff_recv(w.client, &resp, 1, 0) == 1) {
        if (resp != req) return state.SkipWithError("wrong response");
        answered = true;
      }
    }
    if (!answered) return state.SkipWithError("no response");
    ++done;
  }
  state.counters["transactions/s"] = benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TcpRR)->UseRealTime();

void BM_TcpConnectionCycle(benchmark::State& state) {
  static World* cw = [] {
    auto* nw = new World("bcyc", 0s);
    bench::at_teardown([nw] { delete nw; });
    return nw;
  }();
  World& w = *cw;
  if (!w.error.empty()) return state.SkipWithError(w.error.c_str());
  constexpr uint16_t kCyclePort = 5002;
  set_this_shard(&w.b.sh());
  static int l = -1;
  if (l < 0) {
    l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in la{};
    la.sin_family = AF_INET;
    la.sin_port = htons(kCyclePort);
    if (skiff_bind(l, reinterpret_cast<sockaddr*>(&la), sizeof la) || skiff_listen(l, 128)) {
      return state.SkipWithError("listen");
    }
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(kCyclePort);
  sa.sin_addr.s_addr = htonl(kB.host());
  const uint64_t frames_before = w.a.sh().stats.tx_packets + w.b.sh().stats.tx_packets;
  const uint64_t estab_before = w.b.sh().stats.tcp_passive_opens;
  const size_t conns_a = w.a.sh().tcp.connections(), conns_b = w.b.sh().tcp.connections();
  std::array<uint8_t, 64> req{}, got{};
  uint64_t done = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < req.size(); ++i) req[i] = static_cast<uint8_t>(done + i);
    set_this_shard(&w.a.sh());
    const int c = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c < 0 || (skiff_connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS))
      return state.SkipWithError("connect");
    int s = -1;
    for (int i = 0; i < 100 && s < 0; ++i) {
      w.poll();
      set_this_shard(&w.b.sh());
      s = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    }
    if (s < 0) return state.SkipWithError("not accepted");
    set_this_shard(&w.a.sh());
    if (skiff_send(c, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size()))
      return state.SkipWithError("request not sent");
    bool echoed = false, answered = false;
    for (int i = 0; i < 100 && !answered; ++i) {
      w.poll();
      set_this_shard(&w.b.sh());
      if (!echoed && skiff_recv(s, got.data(), got.size(), 0) == static_cast<ssize_t>(req.size())) {
        echoed = skiff_send(s, got.data(), got.size(), 0) == static_cast<ssize_t>(got.size());
      }
      set_this_shard(&w.a.sh());
      if (echoed && skiff_recv(c, got.data(), got.size(), 0) == static_cast<ssize_t>(req.size())) {
        if (got != req) return state.SkipWithError("wrong echo");
        answered = true;
      }
    }
    if (!answered) return state.SkipWithError("no echo");
    skiff_close(c);  // FIN
    bool eof = false;
    for (int i = 0; i < 100 && !eof; ++i) {
      w.poll();
      set_this_shard(&w.b.sh());
      eof = skiff_recv(s, got.data(), got.size(), 0) == 0;
    }
    if (!eof) return state.SkipWithError("no EOF");
    skiff_close(s);  // FIN back; the client's ACK frees it (LAST-ACK)
    ++done;
  }
  // Every connection must be gone on both sides (nothing leaks from one cycle to the next): back to the
  // world's own connection pair. alpha's TIME-WAIT entries go at the next timer tick (1 ms).
  const auto settled = [&] {
    return w.a.sh().tcp.connections() == conns_a && w.b.sh().tcp.connections() == conns_b;
  };
  const uint64_t settle_end = rte_rdtsc() + rte_get_tsc_hz() / 10;
  while (!settled() && rte_rdtsc() < settle_end) w.poll();
  if (!settled()) return state.SkipWithError("connections left behind");
  if (w.b.sh().stats.tcp_passive_opens - estab_before != done) return state.SkipWithError("accept count");
  state.counters["connections/s"] = benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
  state.counters["frames_per_conn"] =
      done ? static_cast<double>(w.a.sh().stats.tx_packets + w.b.sh().stats.tx_packets - frames_before) /
                 static_cast<double>(done)
           : 0;
}
BENCHMARK(BM_TcpConnectionCycle)->UseRealTime();

}  // namespace
