// Scaling with shards: two Skiff stacks wired back to back with N queues each ("a" 10.0.0.1 server,
// "b" 10.0.0.2 client), N shards per stack. The wire is a RingWire (drivers/ring/ring_wire.hh: rte_rings,
// each queue's state on cache lines of its own, as a NIC's queues are); the *NetRing variants use DPDK's
// net_ring PMD instead, whose per-queue counters share cache lines (what that costs, next to the stack's own
// scaling). Thread i runs shard i of BOTH stacks (client and server of
// the same flows on one core), pinned to CPU i of this process's affinity set, so N shards use exactly N
// cores and every added core brings one more client+server pair. Flows stay on their shard: queue i of b
// feeds queue i of a and back, and active opens pick ports that land home.
//
//   BM_ScaleRR/N:   32 connections per shard, 1-byte request, 1-byte response, TCP_NODELAY; transactions
//                   per second (all shards) and per shard.
//   BM_ScaleBulk/N: one connection per shard, b writes 64 KiB chunks, a reads them; goodput per shard and
//                   total, in Gbit/s.
//
//   BM_Scale{RR,Bulk}Independent/N: control, N fully independent one-shard stack pairs.
//   BM_ScaleMachine{Alu,Copy}/N: controls without Skiff (the host's clock and byte traffic with N busy cores).
//   BM_ScalePaired{RR,Bulk,RRIndependent}/N: 1 and N shards measured back to back, 7 times; median ratio.
//   Every windowed variant also reports `stolen`: the share of its CPUs' time the hypervisor took away
//   during the windows (/proc/stat's steal column; 0 outside a VM).
//
// Each iteration is a 200 ms window of the running threads (manual time), after a 300 ms warm-up; N is
// skipped when this process may run on fewer than N CPUs. `scaling` = total / (N x the 1-shard figure
// measured in the same run). Method and figures: docs/performance.md ("Scaling with cores").

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <rte_lcore.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "api/skiff.h"
#include "bench_common.hh"
#include "ethdev/ring_stacks.hh"

namespace {

using namespace skiff;
using Clock = std::chrono::steady_clock;

constexpr wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 0, 0, 1);
constexpr wire::Ipv4Addr kB = wire::Ipv4Addr::of(10, 0, 0, 2);
constexpr uint16_t kPort = 5201;
constexpr unsigned kRrConns = 32;
constexpr size_t kChunk = 64 * 1024;

enum class Mode { RR, Bulk };

// The CPUs this process may run on, read before main() (EAL then pins the main thread to one of them).
std::vector<unsigned> read_allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}
const std::vector<unsigned> g_cpus = read_allowed_cpus();
const std::vector<unsigned>& allowed_cpus() { return g_cpus; }

// Pins the calling thread to `cpu`.
void pin_to(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Socket buffer size: 4 MiB unless SKIFF_SCALE_BUF (bytes, 4 KiB..4 MiB) says otherwise; what bulk keeps in
// flight per connection, so its cache footprint per shard.
size_t socket_buffer() {
  static const size_t buf = [] {
    const char* e = std::getenv("SKIFF_SCALE_BUF");
    const size_t v = e ? static_cast<size_t>(std::strtoull(e, nullptr, 0)) : 0;
    return v >= 4096 && v <= (size_t{4} << 20) ? v : size_t{4} << 20;
  }();
  return buf;
}

StackConfig config(wire::Ipv4Addr ip) {
  StackConfig c;
  c.ip = wire::Ipv4Cidr{ip, 24};
  c.pool_size = 8191;
  c.neigh.reachable = std::chrono::hours(24);
  const size_t buf = socket_buffer();
  c.tcp.rmem_default = c.tcp.wmem_default = buf;
  c.sock.rmem_max = c.sock.wmem_max = static_cast<int>(buf);  // autotuning's ceiling
  c.sock.tcp_slab = 256;
  c.sock.udp_slab = 16;
  return c;
}

struct alignas(64) Slot {
  std::atomic<uint64_t> done{0};  // transactions (RR) or bytes received (bulk)
  std::atomic<bool> ready{false};
  std::atomic<bool> failed{false};
  // Both of the thread's shards, client and server, added up; written by the thread as it ends.
  uint64_t polls = 0, rx_packets = 0, steered = 0, wrong_shard = 0;
};

// The server side of one shard: accepts, then echoes (RR) or drains (bulk).
struct Server {
  Mode mode;
  int l = -1;
  std::vector<int> conns;
  uint8_t buf[kChunk];
  uint64_t received = 0;
  bool start() {
    l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    skiff_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kPort);
    return l >= 0 && skiff_bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && skiff_listen(l, 1024) == 0;
  }
  void step() {
    for (int c; (c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
      const int one = 1;
      skiff_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conns.push_back(c);
    }
    for (int c : conns) {
      for (ssize_t n; (n = skiff_recv(c, buf, sizeof buf, 0)) > 0;) {
        if (mode == Mode::RR) {
          skiff_send(c, buf, static_cast<size_t>(n), 0);  // 1 byte into an empty send buffer: always taken
        } else {
          received += static_cast<uint64_t>(n);
        }
      }
    }
  }
  void stop() {
    for (int c : conns) skiff_close(c);
    skiff_close(l);
  }
};

// The client side of one shard.
struct Client {
  Mode mode;
  struct Conn {
    int fd = -1;
    bool connected = false, outstanding = false;
  };
  std::vector<Conn> conns;
  uint8_t buf[kChunk];
  uint64_t transactions = 0;
  bool start() {
    conns.resize(mode == Mode::RR ? kRrConns : 1);
    for (Conn& c : conns) {
      c.fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c.fd < 0) return false;
      const int one = 1;
      skiff_setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(kPort);
      a.sin_addr.s_addr = htonl(kA.host());
      if (skiff_connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) return false;
    }
    return true;
  }
  // True once every connection is established.
  bool step() {
    bool all = true;
    for (Conn& c : conns) {
      if (!c.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        skiff_getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        sockaddr_in peer{};
        socklen_t plen = sizeof peer;
        c.connected = skiff_getpeername(c.fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0;
        all &= c.connected;
        continue;
      }
      if (mode == Mode::Bulk) {
        while (skiff_send(c.fd, buf, sizeof buf, 0) > 0) {
        }
        continue;
      }
      if (c.outstanding && skiff_recv(c.fd, buf, 1, 0) == 1) {
        c.outstanding = false;
        ++transactions;
      }
      if (!c.outstanding && skiff_send(c.fd, buf, 1, 0) == 1) c.outstanding = true;
    }
    return all;
  }
  void stop() {
    for (Conn& c : conns) skiff_close(c.fd);
  }
};

struct Run {
  Mode mode;
  unsigned n;
  bool independent;
  RingKind kind;
  std::unique_ptr<RingStacks> w;              // N shards per stack
  std::vector<std::unique_ptr<RingStacks>> ws;  // independent: N one-shard pairs
  std::vector<Slot> slots;
  std::vector<std::thread> threads;
  std::atomic<unsigned> listening{0};
  std::atomic<bool> stop{false};
  std::string error;

  Run(Mode m, unsigned shards, bool indep, RingKind k)
      : mode(m), n(shards), independent(indep), kind(k), slots(shards) {
    static unsigned seq = 0;
    if (independent) {
      for (unsigned i = 0; i < n; ++i) {
        ws.push_back(make_ring_stacks("scale" + std::to_string(seq++), RingSide{.shards = 1, .cfg = config(kA)},
                                      RingSide{.shards = 1, .cfg = config(kB)}, &error, kind));
        if (!ws.back()) return;
        ws.back()->a->shard(0).start();
        ws.back()->b->shard(0).start();
        ws.back()->a->running = ws.back()->b->running = true;
      }
    } else {
      w = make_ring_stacks("scale" + std::to_string(seq++), RingSide{.shards = n, .cfg = config(kA)},
                           RingSide{.shards = n, .cfg = config(kB)}, &error, kind);
      if (!w) return;
      for (unsigned s = 0; s < n; ++s) {
        w->a->shard(s).start();
        w->b->shard(s).start();
      }
      w->a->running = w->b->running = true;
    }
    const std::vector<unsigned> cpus = allowed_cpus();
    for (unsigned i = 0; i < n; ++i) threads.emplace_back([this, i, cpu = cpus[i]] { body(i, cpu); });
  }

  void body(unsigned i, unsigned cpu) {
    pin_to(cpu);
    if (rte_thread_register() != 0) {
      slots[i].failed = true;
      return;
    }
    Shard& sa = independent ? ws[i]->a->shard(0) : w->a->shard(i);
    Shard& sb = independent ? ws[i]->b->shard(0) : w->b->shard(i);
    Server srv{mode};
    Client cli{mode};
    set_this_shard(&sa);
    if (!srv.start()) slots[i].failed = true;
    listening.fetch_add(1);
    // Every shard's listener exists (and has been announced by message) before any client connects.
    while (listening.load() < n) {
      sa.poll_once();
      sb.poll_once();
    }
    for (int k = 0; k < 1000; ++k) {
      sa.poll_once();
      sb.poll_once();
    }
    set_this_shard(&sb);
    if (!cli.start()) slots[i].failed = true;
    bool ready = false;
    while (!stop.load(std::memory_order_relaxed)) {
      set_this_shard(&sa);
      sa.poll_once();
      srv.step();
      set_this_shard(&sb);
      sb.poll_once();
      if (cli.step() && !ready) {
        ready = true;
        slots[i].ready.store(true);
      }
      slots[i].done.store(mode == Mode::RR ? cli.transactions : srv.received, std::memory_order_relaxed);
    }
    for (const Shard* sh : {&sa, &sb}) {
      slots[i].polls += sh->stats.polls;
      slots[i].rx_packets += sh->stats.rx_packets;
      slots[i].steered += sh->stats.steer_out + sh->stats.steer_tx_out;
      slots[i].wrong_shard += sh->stats.rx_wrong_shard;
    }
    set_this_shard(&sb);
    cli.stop();
    set_this_shard(&sa);
    srv.stop();
    for (int k = 0; k < 2000; ++k) {
      sa.poll_once();
      sb.poll_once();
    }
    set_this_shard(nullptr);
    rte_thread_unregister();
  }

  bool wait_ready(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      bool all = true;
      for (auto& s : slots) {
        if (s.failed) return false;
        all &= s.ready.load();
      }
      if (all) return true;
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  uint64_t total() const {
    uint64_t t = 0;
    for (auto& s : slots) t += s.done.load(std::memory_order_relaxed);
    return t;
  }
  void finish() {
    stop = true;
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
  ~Run() {
    finish();
    if (w) w->a->running = w->b->running = false;
    for (auto& x : ws)
      if (x) x->a->running = x->b->running = false;
  }
};

// The 1-shard figure of this process's run, per variant, for the scaling ratio.
using Variant = std::tuple<Mode, bool, RingKind>;
std::map<Variant, double>& one_shard_rate() {
  static std::map<Variant, double> m;
  return m;
}

bool ok(const Run& r) { return r.independent ? r.ws.size() == r.n && r.ws.back() : static_cast<bool>(r.w); }

// Empty once every connection is up and the 300 ms warm-up (windows open, caches fill) is over; else why not.
std::string prepare(Run& run) {
  if (!ok(run)) return run.error;
  if (!run.wait_ready(std::chrono::seconds(20))) return "connections not established";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return {};
}

// Time the host took from the first `n` CPUs of this process (the shards' CPUs), in seconds: the "steal"
// column of /proc/stat, what a virtual machine's kernel counts while its vCPU was ready to run but the
// hypervisor ran something else. -1 where /proc/stat cannot be read.
double stolen_seconds(unsigned n) {
  static const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  FILE* f = std::fopen("/proc/stat", "re");
  if (!f) return -1;
  const auto& cpus = allowed_cpus();
  double sum = 0;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    unsigned cpu;
    unsigned long long v[8];
    if (std::sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) != 9)
      continue;
    const auto used = cpus.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(n, cpus.size()));
    if (std::find(cpus.begin(), used, cpu) != used) sum += static_cast<double>(v[7]) * tick;
  }
  std::fclose(f);
  return sum;
}

// One 200 ms window per benchmark iteration (manual time): the count `total` grew by in each, summed.
// Returns the rate over all windows (per second). Also sets the counter `stolen`: the share of the n CPUs'
// time the host took away during the windows (see stolen_seconds; the rate per CPU-second actually given
// is rate / (1 - stolen)).
template <typename Total>
double measure_windows(benchmark::State& state, unsigned n, const Total& total) {
  uint64_t sum = 0;
  double secs = 0, stolen = 0;
  bool steal_known = true;
  for (auto _ : state) {
    const double s0 = stolen_seconds(n);
    const auto t0 = Clock::now();
    const uint64_t c0 = total();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t c1 = total();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    const double s1 = stolen_seconds(n);
    state.SetIterationTime(dt);
    sum += c1 - c0;
    secs += dt;
    if (s0 < 0 || s1 < 0) steal_known = false;
    stolen += s1 - s0;
  }
  state.counters["stolen"] = steal_known && secs > 0 ? std::clamp(stolen / (n * secs), 0.0, 1.0) : 0;
  return secs > 0 ? static_cast<double>(sum) / secs : 0;
}

void scale(benchmark::State& state, Mode mode, bool independent = false, RingKind kind = RingKind::Direct) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  if (allowed_cpus().size() < n) {
    state.SkipWithError("fewer CPUs than shards");
    return;
  }
  Run run(mode, n, independent, kind);
  const std::string err = prepare(run);
  if (!err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  const double rate = measure_windows(state, n, [&] { return run.total(); });
  run.finish();
  // What the shards did over the whole run (warm-up included): frames per poll iteration, and frames
  // that went through another shard (0 when every flow is home).
  uint64_t polls = 0, rx = 0, steered = 0, wrong = 0;
  for (const Slot& s : run.slots) {
    polls += s.polls;
    rx += s.rx_packets;
    steered += s.steered;
    wrong += s.wrong_shard;
  }
  state.counters["rx_per_poll"] = polls ? static_cast<double>(rx) / static_cast<double>(polls) : 0;
  state.counters["steered"] = static_cast<double>(steered + wrong);
  const Variant v{mode, independent, kind};
  if (n == 1) one_shard_rate()[v] = rate;
  if (mode == Mode::RR) {
    state.counters["tps"] = rate;
    state.counters["tps_per_shard"] = rate / n;
  } else {
    state.counters["Gbit/s"] = rate * 8 / 1e9;
    state.counters["Gbit/s_per_shard"] = rate * 8 / 1e9 / n;
  }
  const auto it = one_shard_rate().find(v);
  if (it != one_shard_rate().end() && it->second > 0) state.counters["scaling"] = rate / (n * it->second);
}

// Paired: each iteration measures 1 shard, then N shards, back to back (each a fresh pair of stacks, 300 ms
// warm-up, 600 ms measured), and takes their ratio; `scaling` is the median of the iterations' ratios. On a
// shared host whose speed drifts over minutes (the 1-shard figure moved by a quarter between runs on lent
// machines), a ratio of two figures taken seconds apart is steadier than one of figures taken minutes apart.
double measure(Mode mode, unsigned n, bool independent, std::string* err) {
  Run run(mode, n, independent, RingKind::Direct);
  *err = prepare(run);
  if (!err->empty()) return -1;
  const auto t0 = Clock::now();
  const uint64_t c0 = run.total();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const uint64_t c1 = run.total();
  return static_cast<double>(c1 - c0) / std::chrono::duration<double>(Clock::now() - t0).count();
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

void paired(benchmark::State& state, Mode mode, bool independent = false) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  if (allowed_cpus().size() < n) {
    state.SkipWithError("fewer CPUs than shards");
    return;
  }
  std::vector<double> ratios, r1s, rns;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    std::string err;
    const double r1 = measure(mode, 1, independent, &err);
    const double rn = r1 > 0 ? measure(mode, n, independent, &err) : -1;
    if (r1 <= 0 || rn <= 0) {
      state.SkipWithError(err.c_str());
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    r1s.push_back(r1);
    rns.push_back(rn);
    ratios.push_back(rn / (n * r1));
  }
  const double unit = mode == Mode::RR ? 1 : 8 / 1e9;  // transactions/s, or Gbit/s
  state.counters[mode == Mode::RR ? "tps_1" : "Gbit/s_1"] = median_of(r1s) * unit;
  state.counters[mode == Mode::RR ? "tps_N" : "Gbit/s_N"] = median_of(rns) * unit;
  state.counters["scaling"] = median_of(ratios);
  state.counters["scaling_min"] = *std::min_element(ratios.begin(), ratios.end());
  state.counters["scaling_max"] = *std::max_element(ratios.begin(), ratios.end());
}

void BM_ScaleRR(benchmark::State& state) { scale(state, Mode::RR); }
void BM_ScaleBulk(benchmark::State& state) { scale(state, Mode::Bulk); }
// Control: N independent one-shard stack pairs, each over its own net_ring pair (nothing shared between the
// threads at all, not even a port), to tell the stack's own scaling from the machine's and the wire's.
void BM_ScaleRRIndependent(benchmark::State& state) { scale(state, Mode::RR, true); }
void BM_ScaleBulkIndependent(benchmark::State& state) { scale(state, Mode::Bulk, true); }
void BM_ScalePairedRR(benchmark::State& state) { paired(state, Mode::RR); }
void BM_ScalePairedBulk(benchmark::State& state) { paired(state, Mode::Bulk); }
void BM_ScalePairedRRIndependent(benchmark::State& state) { paired(state, Mode::RR, true); }
void BM_ScaleRRNetRing(benchmark::State& state) { scale(state, Mode::RR, false, RingKind::NetRing); }
void BM_ScaleBulkNetRing(benchmark::State& state) { scale(state, Mode::Bulk, false, RingKind::NetRing); }

// Machine controls, no Skiff at all: N threads pinned as the shards are, each repeating a fixed piece of
// work. They show what the host gives N busy cores, apart from any network stack:
//   BM_ScaleMachineAlu/N:  a dependent integer chain (the core's clock: a host that slows its cores as more
//                          of them get busy shows it here); M steps/s.
//   BM_ScaleMachineCopy/N: bulk's byte traffic without the stack: 64 KiB chunks copied into a per-thread
//                          ring the size of the socket buffers (SKIFF_SCALE_BUF) and back out; Gbit/s of
//                          chunks through the ring, as bulk counts what the receiver reads.
enum class Work { Alu, Copy };

void machine(benchmark::State& state, Work work) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  if (allowed_cpus().size() < n) {
    state.SkipWithError("fewer CPUs than shards");
    return;
  }
  std::vector<Slot> slots(n);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < n; ++i) {
    threads.emplace_back([&, i, cpu = allowed_cpus()[i]] {
      pin_to(cpu);
      uint64_t done = 0;
      if (work == Work::Alu) {
        uint64_t x = 0x9e3779b97f4a7c15ull + i;
        while (!stop.load(std::memory_order_relaxed)) {
          for (int k = 0; k < 4096; ++k) {  // xorshift64: each step depends on the last
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
          }
          benchmark::DoNotOptimize(x);
          done += 4096;
          slots[i].done.store(done, std::memory_order_relaxed);
        }
      } else {
        const size_t ring_size = std::max(socket_buffer() / kChunk, size_t{1}) * kChunk;
        std::vector<uint8_t> src(kChunk, static_cast<uint8_t>(i)), dst(kChunk), ring(ring_size);
        size_t off = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          std::memcpy(ring.data() + off, src.data(), kChunk);
          std::memcpy(dst.data(), ring.data() + off, kChunk);
          benchmark::DoNotOptimize(dst.data());
          benchmark::ClobberMemory();
          off = off + kChunk == ring_size ? 0 : off + kChunk;
          done += kChunk;
          slots[i].done.store(done, std::memory_order_relaxed);
        }
      }
    });
  }
  const auto total = [&] {
    uint64_t t = 0;
    for (auto& sl : slots) t += sl.done.load(std::memory_order_relaxed);
    return t;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double rate = measure_windows(state, n, total);
  stop = true;
  for (auto& t : threads) t.join();
  const double shown = work == Work::Alu ? rate / 1e6 : rate * 8 / 1e9;
  const char* unit = work == Work::Alu ? "Msteps/s" : "Gbit/s";
  state.counters[unit] = shown;
  state.counters[std::string(unit) + "_per_core"] = shown / n;
}

void BM_ScaleMachineAlu(benchmark::State& state) { machine(state, Work::Alu); }
void BM_ScaleMachineCopy(benchmark::State& state) { machine(state, Work::Copy); }

BENCHMARK(BM_ScaleRR)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleBulk)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleBulkIndependent)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleRRIndependent)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScalePairedRR)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(7)->Unit(benchmark::kSecond);
BENCHMARK(BM_ScalePairedBulk)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(7)->Unit(benchmark::kSecond);
BENCHMARK(BM_ScalePairedRRIndependent)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(7)->Unit(benchmark::kSecond);
BENCHMARK(BM_ScaleMachineAlu)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleMachineCopy)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleRRNetRing)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScaleBulkNetRing)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);

}  // namespace
