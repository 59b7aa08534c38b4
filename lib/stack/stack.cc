#include "stack/stack.hh"

#include <rte_errno.h>
#include <rte_ring.h>

#include <thread>

#include "base/log.hh"
#include "tcp/tcp.hh"

namespace skiff {

Stack::Stack(std::string name, const StackConfig& cfg) : name_(std::move(name)), cfg_(cfg) {}

Stack::~Stack() {
  release_shards();  // shards free their buffers back into the pools first
  pools_.clear();
  small_pools_.clear();
}

void Stack::release_shards() {
  // Cut every link first: a shard closing its sockets must not message a peer already gone.
  for (auto& s : shards_) s->detach();
  shards_.clear();
  for (rte_ring* r : rings_) rte_ring_free(r);
  rings_.clear();
}

bool Stack::make_pools(unsigned shards) {
  for (unsigned i = 0; i < shards; ++i) {
    PktPoolConfig pc;
    pc.count = cfg_.pool_size;
    pc.data_room = static_cast<uint16_t>(cfg_.mbuf_data + RTE_PKTMBUF_HEADROOM);
    auto p = std::make_unique<PktPool>(name_ + "_pool" + std::to_string(i), pc);
    if (!p->ok()) return false;
    pools_.push_back(std::move(p));
    if (cfg_.mbuf_data >= 2 * kSmallBufData) {
      PktPoolConfig sc;
      sc.count = cfg_.pool_size / 2;
      sc.cache = std::min(sc.cache, sc.count / 2);  // rte_mempool refuses a cache over count / 1.5
      sc.data_room = static_cast<uint16_t>(kSmallBufData + RTE_PKTMBUF_HEADROOM);
      auto sp = std::make_unique<PktPool>(name_ + "_small" + std::to_string(i), sc);
      if (!sp->ok()) return false;
      small_pools_.push_back(std::move(sp));
    }
  }
  return true;
}

unsigned Stack::add_iface(NetDevice* dev, std::optional<wire::Ipv4Cidr> addr) {
  auto ifc = std::make_unique<Iface>();
  ifc->index = static_cast<unsigned>(ifaces_.size());
  ifc->dev = dev;
  ifc->mac = dev->mac;
  ifc->mtu = dev->mtu;
  ifc->caps = dev->caps;
  if (addr) {
    ifc->addr = *addr;
    routes_.add(Route{.dest = *addr, .gateway = {}, .iface = ifc->index, .src = addr->addr});
    // The host's loopback net (RFC 1122 §3.2.1.3 (g): never outside the host), as Linux's `lo`: what is sent
    // there is taken in locally, from 127.0.0.1.
    bool have_loopback = false;
    for (const Route& r : routes_.routes()) have_loopback |= r.dest.addr.is_loopback();
    if (!have_loopback)
      routes_.add(Route{.dest = {wire::Ipv4Addr::of(127, 0, 0, 0), 8}, .gateway = {}, .iface = ifc->index,
                        .src = wire::Ipv4Addr::of(127, 0, 0, 1)});
  }
  ifaces_.push_back(std::move(ifc));
  return ifaces_.back()->index;
}

bool Stack::set_gateway(wire::Ipv4Addr gw) {
  for (auto& ifc : ifaces_) {
    if (ifc->addr.prefix_len && ifc->addr.contains(gw)) {
      routes_.add(Route{.dest = {wire::Ipv4Addr::any(), 0}, .gateway = gw, .iface = ifc->index,
                        .src = ifc->addr.addr});
      return true;
    }
  }
  return false;
}

bool Stack::build_shards(Clock& clock) {
  std::vector<Iface*> ifs;
  for (auto& i : ifaces_) ifs.push_back(i.get());
  const unsigned n = static_cast<unsigned>(pools_.size());
  for (unsigned s = 0; s < n; ++s) {
    auto sh = std::make_unique<Shard>(s, cfg_, clock, *pools_[s], ifs, routes_, static_cast<uint16_t>(s), name_);
    sh->small_pool = small_pool(s);
    for (auto& sp : sh->ports()) {
      const NetDevice& dev = *sp->ifc->dev;
      sp->poll_rx = s < std::max<uint16_t>(dev.rx_queues, 1);
      if (s >= std::max<uint16_t>(dev.tx_queues, 1)) {
        sp->tx_via = static_cast<int>(s % std::max<uint16_t>(dev.tx_queues, 1));
        sp->txq = static_cast<uint16_t>(sp->tx_via);
      }
    }
    shards_.push_back(std::move(sh));
  }
  if (n <= 1) return true;
  rss_hash_ = std::make_unique<RssHash>();
  const RssMap map(n, reta_size_);
  std::vector<Shard*> peers;
  for (auto& s : shards_) peers.push_back(s.get());
  for (unsigned s = 0; s < n; ++s) {
    const std::string in = name_ + "_in" + std::to_string(s), ctl = name_ + "_ctl" + std::to_string(s);
    // Inboxes carry steered frames (a burst per owner per poll); control rings carry messages.
    rte_ring* rin = rte_ring_create(in.c_str(), 8192, SOCKET_ID_ANY, RING_F_SC_DEQ);
    rte_ring* rctl = rte_ring_create(ctl.c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (rin) rings_.push_back(rin);
    if (rctl) rings_.push_back(rctl);
    if (!rin || !rctl) {
      SKIFF_LOG(Error, "%s: cannot create the rings between shards: %s", name_.c_str(), rte_strerror(rte_errno));
      return false;
    }
    shards_[s]->attach(peers, rin, rctl, rss_hash_.get(), map);
  }
  return true;
}

bool Stack::run_on_all(const std::function<void(Shard&)>& fn, Duration timeout) {
  if (!running.load(std::memory_order_acquire)) {
    for (auto& s : shards_) fn(*s);
    return true;
  }
  auto left = std::make_shared<std::atomic<unsigned>>(0);
  Shard* me = this_shard();
  bool mine = false;
  for (auto& s : shards_) mine |= s.get() == me;
  for (auto& s : shards_) {
    if (s.get() == me) {
      fn(*s);
      continue;
    }
    left->fetch_add(1);
    auto task = [fn, left](Shard& sh) {
      fn(sh);
      left->fetch_sub(1, std::memory_order_release);
    };
    // The control ring is multi-producer: posting from any thread is safe.
    while (!shards_[0]->post(s->id, task)) std::this_thread::yield();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (left->load(std::memory_order_acquire) != 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (mine) {
      me->poll_once();
    } else {
      std::this_thread::yield();
    }
  }
  return true;
}

bool Stack::collect(ShardStats* stats, DropCounters* drops, Duration timeout) {
  // Shared: after a timeout a late shard still writes its part safely.
  struct Parts {
    std::vector<ShardStats> st;
    std::vector<DropCounters> dr;
  };
  auto parts = std::make_shared<Parts>();
  parts->st.resize(shards_.size());
  parts->dr.resize(shards_.size());
  if (!run_on_all(
          [parts](Shard& s) {
            parts->st[s.id] = s.stats;
            parts->dr[s.id] = s.drops;
          },
          timeout))
    return false;
  const auto& st = parts->st;
  const auto& dr = parts->dr;
  if (stats) {
    *stats = ShardStats{};
    for (auto& x : st) {
#define SKIFF_X(name, desc) stats->name += x.name;
      SKIFF_SHARD_STATS(SKIFF_X)
#undef SKIFF_X
    }
  }
  if (drops) {
    *drops = DropCounters{};
    for (auto& x : dr)
      for (size_t i = 0; i < kDropCount; ++i) drops->n[i] += x.n[i];
  }
  return true;
}

bool Stack::set_reta(const std::vector<uint16_t>& reta) {
  RssMap probe(shard_count(), static_cast<unsigned>(reta.size()));
  if (!probe.set_reta(reta.data(), static_cast<unsigned>(reta.size()))) return false;
  reta_size_ = static_cast<unsigned>(reta.size());
  // Connections stay on their shards: each tuple that changes owner is lent by its new owner before any
  // shard switches to the new map, and the old owner's loan is taken back only once every shard has
  // (tcp.hh: plan, lend, switch, settle; each step done on every shard before the next begins).
  const unsigned n = shard_count();
  if (n == 1) return run_on_all([probe](Shard& s) { s.rss_map = probe; });
  auto moves = std::make_shared<std::vector<std::vector<TcpTupleMove>>>(n);
  const auto each_move = [moves](Shard& s, void (*fn)(Shard&, const TcpTupleMove&)) {
    for (const auto& list : *moves)
      for (const TcpTupleMove& m : list) fn(s, m);
  };
  if (!running.load(std::memory_order_acquire)) {
    // One thread runs every shard (tests, before start): the steps in turn.
    for (auto& sh : shards_) tcp_reta_plan(*sh, probe, (*moves)[sh->id]);
    for (auto& sh : shards_) each_move(*sh, tcp_reta_lend);
    for (auto& sh : shards_) sh->rss_map = probe;
    for (auto& sh : shards_) each_move(*sh, tcp_reta_settle);
    return true;
  }
  // Shards running on their lcores: one task per shard, its steps separated by barriers at which each
  // shard waits (without polling, a few microseconds) for the others. No shard receives a segment between
  // its plan and the switch, so no connection is made that the plan misses, and no shard uses the new map
  // before every new owner recorded its loans. If some shard does not reach the first barrier within the
  // timeout (it is not polling), nothing has changed yet: every shard leaves, and set_reta returns false.
  struct Sync {
    std::atomic<int> arrived[3] = {0, 0, 0};
    std::atomic<unsigned> finished{0};
    std::atomic<bool> aborted{false};
  };
  auto sync = std::make_shared<Sync>();
  constexpr int kAborted = -(1 << 20);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  const auto barrier = [sync, n, deadline](int step) {
    std::atomic<int>& a = sync->arrived[step];
    if (a.fetch_add(1, std::memory_order_acq_rel) < 0) return false;
    for (;;) {
      int v = a.load(std::memory_order_acquire);
      if (v == static_cast<int>(n)) return true;
      if (v < 0) return false;
      // Only the first step may give up: past it every shard is inside its task and arrives.
      if (step == 0 && std::chrono::steady_clock::now() >= deadline &&
          a.compare_exchange_strong(v, kAborted, std::memory_order_acq_rel))
        return false;
      std::this_thread::yield();
    }
  };
  const auto task = [probe, moves, sync, each_move, barrier](Shard& s) {
    tcp_reta_plan(s, probe, (*moves)[s.id]);
    if (barrier(0)) {
      each_move(s, tcp_reta_lend);
      barrier(1);
      s.rss_map = probe;
      barrier(2);
      each_move(s, tcp_reta_settle);
    } else {
      sync->aborted.store(true, std::memory_order_relaxed);
    }
    sync->finished.fetch_add(1, std::memory_order_release);
  };
  Shard* me = this_shard();
  Shard* mine = nullptr;
  for (auto& sh : shards_) {
    if (sh.get() == me) {
      mine = sh.get();
      continue;
    }
    while (!shards_[0]->post(sh->id, task)) std::this_thread::yield();
  }
  if (mine) task(*mine);  // after posting to the others: its barrier waits for them
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (sync->finished.load(std::memory_order_acquire) != n) {
    if (std::chrono::steady_clock::now() >= until) return false;
    if (mine) {
      mine->poll_once();
    } else {
      std::this_thread::yield();
    }
  }
  return !sync->aborted.load(std::memory_order_relaxed);
}

ShardStats Stack::total_stats() const {
  ShardStats t;
  for (auto& s : shards_) {
#define SKIFF_X(name, desc) t.name += s->stats.name;
    SKIFF_SHARD_STATS(SKIFF_X)
#undef SKIFF_X
  }
  return t;
}

DropCounters Stack::total_drops() const {
  DropCounters t;
  for (auto& s : shards_)
    for (size_t i = 0; i < kDropCount; ++i) t.n[i] += s->drops.n[i];
  return t;
}

void Stack::print_counters(FILE* out) const {
  for (auto& s : shards_) {
    std::string prefix = name_ + ".shard" + std::to_string(s->id) + ".";
    skiff::print_counters(out, prefix.c_str(), s->stats, s->drops);
    fprintf(out, "%s%-24s %12u  packet buffers in use (pool of %u)\n", prefix.c_str(), "pool_in_use",
            s->pool.in_use(), s->pool.capacity());
    if (s->small_pool)
      fprintf(out, "%s%-24s %12u  small buffers in use (pool of %u)\n", prefix.c_str(), "small_pool_in_use",
              s->small_pool->in_use(), s->small_pool->capacity());
    // Memory a flood could pin: sockets, connection table entries, neighbour entries and packets waiting for
    // ARP, datagrams held for reassembly (always printed, like pool_in_use, so tools can check the baseline).
    size_t neigh = 0, neigh_q = 0;
    for (auto& sp : s->ports()) {
      neigh += sp->neigh.size();
      neigh_q += sp->neigh.queued_total();
    }
    fprintf(out, "%s%-24s %12llu  TCP sockets allocated (listeners, connections, TIME-WAIT)\n", prefix.c_str(),
            "tcp_socks_in_use", static_cast<unsigned long long>(s->socks.in_use_now(tcp_prot)));
    fprintf(out, "%s%-24s %12zu  TCP connection table entries\n", prefix.c_str(), "tcp_conns", s->tcp.connections());
    fprintf(out, "%s%-24s %12zu  neighbour (ARP) entries\n", prefix.c_str(), "neigh_entries", neigh);
    fprintf(out, "%s%-24s %12zu  packets queued awaiting ARP\n", prefix.c_str(), "neigh_queued", neigh_q);
    fprintf(out, "%s%-24s %12zu  datagrams held in reassembly\n", prefix.c_str(), "reass_datagrams",
            s->reass.datagrams());
  }
  // The devices' own counters: frames lost before any shard saw them (always printed, so that a tool can
  // tell a lossless link from one without counters).
  for (unsigned i = 0; i < ifaces_.size(); ++i) {
    DeviceStats ds;
    if (!ifaces_[i]->dev || !ifaces_[i]->dev->read_stats(&ds)) continue;
    const std::string prefix = name_ + ".port" + std::to_string(i) + ".";
    const struct {
      const char* name;
      uint64_t v;
      const char* desc;
    } rows[] = {
        {"rx_packets", ds.rx_packets, "frames the device received"},
        {"rx_missed", ds.rx_missed, "frames the device dropped: RX queue full"},
        {"rx_errors", ds.rx_errors, "frames the device received in error"},
        {"rx_nombuf", ds.rx_nombuf, "receive buffer allocation failures"},
        {"tx_packets", ds.tx_packets, "frames the device sent"},
        {"tx_errors", ds.tx_errors, "frames the device failed to send"},
    };
    for (const auto& r : rows)
      fprintf(out, "%s%-24s %12llu  %s (%s)\n", prefix.c_str(), r.name, static_cast<unsigned long long>(r.v), r.desc,
              ifaces_[i]->dev->name());
  }
}

}  // namespace skiff
