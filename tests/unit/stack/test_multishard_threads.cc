// Several shards on real threads (one per shard, as lcores run them), over a net_ring pair: the rings
// between shards, messages, software steering and TX hand-off under real concurrency. Built with
// ThreadSanitizer in CI (devtools/run-tests.sh --tsan), where any data race fails the run.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "api/skiff.h"
#include "ethdev/ring_stacks.hh"
#include "ring/ring_wire.hh"

using namespace skiff;

namespace {

constexpr wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 9, 0, 1);
constexpr wire::Ipv4Addr kB = wire::Ipv4Addr::of(10, 9, 0, 2);
std::atomic<unsigned> g_seq{0};

StackConfig config(wire::Ipv4Addr ip) {
  StackConfig c;
  c.ip = wire::Ipv4Cidr{ip, 24};
  c.pool_size = 4095;
  c.sock.tcp_slab = 512;
  c.sock.udp_slab = 64;
  return c;
}

uint8_t byte_at(unsigned shard, unsigned conn, size_t i) {
  return static_cast<uint8_t>((i * 167u) ^ (conn * 13u) ^ (shard * 101u));
}

// A's side of a shard: a listener, every accepted connection echoes (what the send buffer cannot take
// yet waits, and the connection is not read meanwhile).
struct EchoServer {
  struct Conn {
    int fd;
    std::vector<uint8_t> pending;
  };
  int l = -1;
  std::vector<Conn> conns;
  uint8_t buf[16384];
  void start() {
    l = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(7);
    ASSERT_EQ(skiff_bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(skiff_listen(l, 256), 0);
  }
  void step() {
    for (int c; (c = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) conns.push_back(Conn{c, {}});
    for (Conn& c : conns) {
      if (c.fd < 0) continue;
      if (!c.pending.empty()) {
        const ssize_t w = skiff_send(c.fd, c.pending.data(), c.pending.size(), 0);
        if (w > 0) c.pending.erase(c.pending.begin(), c.pending.begin() + w);
        if (!c.pending.empty()) continue;
      }
      const ssize_t n = skiff_recv(c.fd, buf, sizeof buf, 0);
      if (n == 0) {
        skiff_close(c.fd);
        c.fd = -1;
      } else if (n > 0) {
        const ssize_t w = skiff_send(c.fd, buf, static_cast<size_t>(n), 0);
        const size_t sent = w > 0 ? static_cast<size_t>(w) : 0;
        c.pending.assign(buf + sent, buf + n);
      }
    }
  }
  void stop() {
    for (auto& c : conns)
      if (c.fd >= 0) skiff_close(c.fd);
    skiff_close(l);
  }
};

// B's side of a shard: K connections, each sends N bytes and expects them back.
struct Clients {
  struct C {
    int fd = -1;
    size_t sent = 0, got = 0;
    bool ok = true;
  };
  unsigned shard = 0;
  std::vector<C> cs;
  size_t bytes = 0;
  uint8_t buf[16384];
  void start(unsigned k, size_t n) {
    bytes = n;
    cs.resize(k);
    for (auto& c : cs) {
      c.fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(7);
      a.sin_addr.s_addr = htonl(kA.host());
      skiff_connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
  }
  bool step() {
    bool done = true;
    for (unsigned i = 0; i < cs.size(); ++i) {
      C& c = cs[i];
      while (c.sent < bytes) {
        uint8_t out[4096];
        const size_t n = std::min(sizeof out, bytes - c.sent);
        for (size_t j = 0; j < n; ++j) out[j] = byte_at(shard, i, c.sent + j);
        const ssize_t w = skiff_send(c.fd, out, n, 0);
        if (w <= 0) break;
        c.sent += static_cast<size_t>(w);
      }
      for (ssize_t r; (r = skiff_recv(c.fd, buf, sizeof buf, 0)) > 0;) {
        for (ssize_t j = 0; j < r; ++j) c.ok &= buf[j] == byte_at(shard, i, c.got + static_cast<size_t>(j));
        c.got += static_cast<size_t>(r);
      }
      done &= c.got >= bytes;
    }
    return done;
  }
  void stop() {
    for (auto& c : cs) skiff_close(c.fd);
  }
};

// Runs `a_shards` + `b_shards` threads (one per shard) until every client shard is done or 60 s pass.
struct ShardThreads {
  RingStacks& w;
  unsigned conns;
  size_t bytes;
  std::atomic<bool> stop{false};
  std::atomic<unsigned> clients_done{0};
  std::array<std::atomic<bool>, 8> ok{};

  void shard_thread(Stack& st, unsigned i, bool server) {
    ASSERT_EQ(rte_thread_register(), 0);  // an lcore id: per-lcore mempool caches, as on a real lcore
    Shard& sh = st.shard(i);
    set_this_shard(&sh);
    EchoServer srv;
    Clients cl;
    cl.shard = i;
    if (server) {
      srv.start();
    } else {
      // Let the servers listen first (their shards announce the port to each other by message).
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      cl.start(conns, bytes);
    }
    bool mine_done = false;
    while (!stop.load(std::memory_order_relaxed)) {
      sh.poll_once();
      if (server) {
        srv.step();
      } else if (!mine_done && cl.step()) {
        mine_done = true;
        bool all_ok = true;
        for (auto& c : cl.cs) all_ok &= c.ok && c.got == bytes;
        ok[i].store(all_ok);
        clients_done.fetch_add(1);
      }
      std::this_thread::yield();  // more threads than cores here
    }
    if (server) {
      srv.stop();
    } else {
      cl.stop();
    }
    for (int k = 0; k < 100; ++k) sh.poll_once();
    set_this_shard(nullptr);
    rte_thread_unregister();
  }

  bool go(unsigned b_shards) {
    for (unsigned s = 0; s < w.a->shard_count(); ++s) w.a->shard(s).start();
    for (unsigned s = 0; s < w.b->shard_count(); ++s) w.b->shard(s).start();
    w.a->running = w.b->running = true;
    std::vector<std::thread> ts;
    for (unsigned s = 0; s < w.a->shard_count(); ++s) ts.emplace_back([this, s] { shard_thread(*w.a, s, true); });
    for (unsigned s = 0; s < w.b->shard_count(); ++s) ts.emplace_back([this, s] { shard_thread(*w.b, s, false); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    if (midway) {
      // Once every connection is accepted (counted by message, from this thread), while data flows.
      for (ShardStats st; std::chrono::steady_clock::now() < deadline;) {
        if (w.a->collect(&st, nullptr, std::chrono::seconds(10)) && st.tcp_passive_opens >= b_shards * conns) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      midway_before_done = clients_done.load() == 0;
      midway_ok = midway();
    }
    while (clients_done.load() < b_shards && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // Counters by message, from this (non-shard) thread, while the shards run.
    ShardStats st;
    DropCounters dr;
    collected = w.a->collect(&st, &dr, std::chrono::seconds(10));
    a_stats = st;
    a_drops = dr;
    stop = true;
    for (auto& t : ts) t.join();
    w.a->running = w.b->running = false;
    return clients_done.load() == b_shards;
  }
  std::function<bool()> midway;  // run from this thread once every connection is accepted
  bool midway_before_done = false, midway_ok = false;
  bool collected = false;
  ShardStats a_stats;
  DropCounters a_drops;
};

}  // namespace

// 2 shards x 2 queues on both stacks, 4 threads: 16 connections per client shard, 256 KiB echoed each.
TEST(MultiShardThreads, MirroredQueuesEchoIntact) {
  std::string err;
  const std::string name = "mt" + std::to_string(g_seq++);
  auto w = make_ring_stacks(name, RingSide{.shards = 2, .cfg = config(kA)}, RingSide{.shards = 2, .cfg = config(kB)}, &err);
  ASSERT_TRUE(w) << err;
  ShardThreads r{*w, 16, 256 * 1024};
  ASSERT_TRUE(r.go(2)) << "clients did not finish in time";
  EXPECT_TRUE(r.ok[0]);
  EXPECT_TRUE(r.ok[1]);
  ASSERT_TRUE(r.collected);
  EXPECT_EQ(r.a_stats.tcp_passive_opens, 32u);
  EXPECT_EQ(r.a_stats.rx_wrong_shard, 0u);
  EXPECT_EQ(r.a_drops[Drop::SteerRingFull], 0u);
  // Both of a's shards served: mirrored queues keep each client shard's flows on the same-numbered shard.
  EXPECT_EQ(w->a->shard(0).stats.tcp_passive_opens, 16u);
  EXPECT_EQ(w->a->shard(1).stats.tcp_passive_opens, 16u);
}

// One queue for a's 2 shards (software steering and TX hand-off between two threads), b with 1 shard.
TEST(MultiShardThreads, SingleQueueSteeringEchoIntact) {
  std::string err;
  const std::string name = "mt" + std::to_string(g_seq++);
  auto w = make_ring_stacks(name, RingSide{.shards = 2, .queues = 1, .cfg = config(kA)},
                            RingSide{.shards = 1, .cfg = config(kB)}, &err);
  ASSERT_TRUE(w) << err;
  ShardThreads r{*w, 32, 128 * 1024};
  ASSERT_TRUE(r.go(1)) << "clients did not finish in time";
  EXPECT_TRUE(r.ok[0]);
  ASSERT_TRUE(r.collected);
  EXPECT_EQ(r.a_stats.tcp_passive_opens, 32u);
  EXPECT_GT(w->a->shard(1).stats.tcp_passive_opens, 0u);
  EXPECT_GT(w->a->shard(0).stats.steer_out, 0u);
  EXPECT_GT(w->a->shard(1).stats.steer_tx_out, 0u);
  EXPECT_EQ(r.a_drops[Drop::SteerRingFull], 0u);
}

// The same over a RingWire (rings without ethdev, as bench_scale uses): every flow home, data intact.
TEST(MultiShardThreads, MirroredQueuesEchoIntactOverRingWire) {
  std::string err;
  const std::string name = "mt" + std::to_string(g_seq++);
  auto w = make_ring_stacks(name, RingSide{.shards = 2, .cfg = config(kA)}, RingSide{.shards = 2, .cfg = config(kB)},
                            &err, RingKind::Direct);
  ASSERT_TRUE(w) << err;
  EXPECT_EQ(w->port_a->rx_queues, 2u);
  ShardThreads r{*w, 16, 128 * 1024};
  ASSERT_TRUE(r.go(2)) << "clients did not finish in time";
  EXPECT_TRUE(r.ok[0]);
  EXPECT_TRUE(r.ok[1]);
  ASSERT_TRUE(r.collected);
  EXPECT_EQ(r.a_stats.tcp_passive_opens, 32u);
  EXPECT_EQ(r.a_stats.steer_out, 0u);
  EXPECT_EQ(w->a->shard(0).stats.tcp_passive_opens, 16u);
  EXPECT_EQ(w->a->shard(1).stats.tcp_passive_opens, 16u);
}

// A RETA change on a's side while 32 connections echo: every flow moves to the other shard, which forwards
// it (as a loan) to the shard holding its socket. Nothing is reset; every byte comes back intact.
TEST(MultiShardThreads, RetaChangeWhileDataFlows) {
  std::string err;
  const std::string name = "mt" + std::to_string(g_seq++);
  auto w = make_ring_stacks(name, RingSide{.shards = 2, .cfg = config(kA)}, RingSide{.shards = 2, .cfg = config(kB)}, &err);
  ASSERT_TRUE(w) << err;
  ShardThreads r{*w, 16, 512 * 1024};
  Stack& a = *w->a;
  r.midway = [&a] {
    std::vector<uint16_t> reta(kRssRetaSize);
    for (unsigned i = 0; i < kRssRetaSize; ++i) reta[i] = static_cast<uint16_t>(1 - a.shard(0).rss_map.reta_entry(i));
    return a.set_reta(reta);
  };
  ASSERT_TRUE(r.go(2)) << "clients did not finish in time";
  EXPECT_TRUE(r.midway_ok);
  EXPECT_TRUE(r.midway_before_done) << "the transfer ended before the RETA change: nothing was tested";
  EXPECT_TRUE(r.ok[0]);
  EXPECT_TRUE(r.ok[1]);
  ASSERT_TRUE(r.collected);
  EXPECT_EQ(r.a_stats.tcp_passive_opens, 32u);
  EXPECT_EQ(r.a_stats.tcp_out_rsts, 0u);
  EXPECT_EQ(r.a_stats.tcp_tuples_lent, 32u);
  EXPECT_GT(r.a_stats.tcp_lent_forwards, 0u);
  EXPECT_EQ(r.a_drops[Drop::SteerRingFull], 0u);
}

// RingWire itself: queue q of one end feeds queue q of the other only; buffers still on the wire when it
// goes are returned to their pool; bad queue counts are refused.
TEST(RingWire, QueuesAreWiredPairwiseAndLeftoversAreFreed) {
  std::string err;
  EXPECT_FALSE(make_ring_wire("rw_bad0", 0, 64, &err));
  EXPECT_FALSE(err.empty());
  EXPECT_FALSE(make_ring_wire("rw_bad65", 65, 64, &err));
  rte_mempool* mp = rte_pktmbuf_pool_create(("rwp" + std::to_string(g_seq++)).c_str(), 255, 0, 0, 2048, SOCKET_ID_ANY);
  ASSERT_NE(mp, nullptr);
  const unsigned full = rte_mempool_avail_count(mp);
  {
    auto w = make_ring_wire("rw" + std::to_string(g_seq++), 2, 64, &err);
    ASSERT_TRUE(w) << err;
    EXPECT_EQ(w->a->rx_queues, 2u);
    EXPECT_EQ(w->b->tx_queues, 2u);
    EXPECT_NE(w->a->mac, w->b->mac);
    std::array<rte_mbuf*, 4> m{};
    for (auto& x : m) ASSERT_NE(x = rte_pktmbuf_alloc(mp), nullptr);
    ASSERT_EQ(w->a->tx_burst(1, m.data(), 3), 3u);  // a's queue 1 -> b's queue 1
    ASSERT_EQ(w->b->tx_burst(0, m.data() + 3, 1), 1u);  // b's queue 0 -> a's queue 0
    rte_mbuf* got[8];
    EXPECT_EQ(w->b->rx_burst(0, got, 8), 0u);
    EXPECT_EQ(w->a->rx_burst(1, got, 8), 0u);
    ASSERT_EQ(w->b->rx_burst(1, got, 2), 2u);
    EXPECT_EQ(got[0], m[0]);  // in order
    EXPECT_EQ(got[1], m[1]);
    rte_pktmbuf_free(got[0]);
    rte_pktmbuf_free(got[1]);
    // m[2] (b's queue 1) and m[3] (a's queue 0) stay on the wire.
    EXPECT_EQ(rte_mempool_avail_count(mp), full - 2);
  }
  EXPECT_EQ(rte_mempool_avail_count(mp), full);
  rte_mempool_free(mp);
}
