#include "stack/shard.hh"

#include <rte_prefetch.h>

#include <atomic>

#include "base/log.hh"
#include "sock/epoll.hh"
#include "tcp/tcp.hh"
#include "wire/arp.hh"
#include "wire/ethernet.hh"

namespace skiff {

namespace {
constexpr Duration kHousekeepingPeriod = 100ms;
}

Shard::Shard(unsigned shard_id, const StackConfig& config, Clock& clock, PktPool& pkt_pool,
             std::vector<Iface*> ifaces, const RouteTable& rt, uint16_t queue, const std::string& stack_name)
    : id(shard_id),
      cfg(config),
      routes(rt),
      timers(clock.now()),
      reass(config.ipv4),
      icmp_errors(config.icmp.error_rate, config.icmp.error_burst),
      pool(pkt_pool),
      socks(*this, config.sock, shard_id, stack_name),
      tcp_challenge(config.tcp.challenge_ack_limit, config.tcp.challenge_ack_limit),
      clock_(clock),
      now_(clock.now()),
      ip_id_(static_cast<uint16_t>(rng.next())),
      housekeeping_(&Shard::housekeeping, this) {
  for (Iface* ifc : ifaces) ports_.push_back(std::make_unique<ShardPort>(ifc, queue, queue, config.neigh));
}

namespace {
thread_local Shard* t_shard = nullptr;
}
Shard* this_shard() { return t_shard; }
void set_this_shard(Shard* sh) { t_shard = sh; }

namespace {
std::atomic<bool> g_stop{false};
}
void request_stop() { g_stop.store(true, std::memory_order_relaxed); }
bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
void clear_stop() { g_stop.store(false, std::memory_order_relaxed); }

Shard::~Shard() {
  close_all_sockets();
  tcp_destroy_all(*this);
  if (t_shard == this) t_shard = nullptr;
  timers.cancel(housekeeping_);
  flush();
  for (auto& sp : ports_) {
    // Whatever the device would not take is ours to free.
    for (uint16_t i = 0; i < sp->tx_len; ++i) rte_pktmbuf_free(sp->tx[i]);
    sp->tx_len = 0;
  }
  reass.clear();
}

void Shard::start() {
  update_clock();
  for (auto& sp : ports_) {
    const Iface& ifc = *sp->ifc;
    if (ifc.addr.addr.is_any()) continue;
    // RFC 5227 §2.3 announcement: a request with sender = target = our address.
    arp_send(*this, *sp, 1, wire::MacAddr::broadcast(), wire::MacAddr::zero(), ifc.addr.addr, ifc.addr.addr);
    ++stats.arp_gratuitous;
  }
  timers.arm(housekeeping_, now_ + kHousekeepingPeriod);
}

void Shard::close_all_sockets() {
  socks.fds.for_each([&](int fd, FdEntry& e) {
    if (e.kind == FdKind::Socket && e.socket.ops) e.socket.ops->release(&e.socket);
    if (e.kind == FdKind::Epoll) delete e.epoll;
    socks.fds.release(fd);
  });
}

void Shard::housekeeping(void* ctx, Timer* t, Instant now) {
  auto* sh = static_cast<Shard*>(ctx);
  for (auto& sp : sh->ports_) neigh_tick(*sh, *sp);
  sh->reass.expire(*sh, now);
  sh->timers.arm(*t, now + kHousekeepingPeriod);
}

Pktbuf Shard::alloc_pkt() {
  Pktbuf p = pool.alloc();
  if (!p) drops.add(Drop::NoMbuf);
  return p;
}

unsigned Shard::poll_once() {
  update_clock();
  ++stats.polls;
  unsigned total = 0;
  rte_mbuf* pkts[kBurst];
  for (auto& spp : ports_) {
    ShardPort& sp = *spp;
    const uint16_t n = sp.ifc->dev->rx_burst(sp.rxq, pkts, kBurst);
    if (n) {
      input(sp, pkts, n);
      total += n;
    }
  }
  run_timers();
  dispatch_events();
  flush();
  return total;
}

void Shard::input(ShardPort& sp, rte_mbuf** pkts, uint16_t n) {
  stats.rx_packets += n;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    stats.rx_bytes += pkts[i]->pkt_len;
    eth_input(*this, sp, Pktbuf(pkts[i]));
  }
}

void Shard::run_timers() { timers.advance(now_); }

void Shard::transmit(ShardPort& sp, Pktbuf p) {
  if (sp.tx_len == kTxBatch) {
    flush_port(sp);
    if (sp.tx_len == kTxBatch) return drop(std::move(p), Drop::TxFull);
  }
  stats.tx_bytes += p.len();
  sp.tx[sp.tx_len++] = p.release();
}

void Shard::flush_port(ShardPort& sp) {
  if (!sp.tx_len) return;
  const uint16_t sent = sp.ifc->dev->tx_burst(sp.txq, sp.tx.data(), sp.tx_len);
  stats.tx_packets += sent;
  if (sent < sp.tx_len) {
    // Keep the rest for the next iteration: the device is momentarily full (nothing is lost unless the
    // batch itself overflows, counted as TxFull).
    const uint16_t left = sp.tx_len - sent;
    for (uint16_t i = 0; i < left; ++i) sp.tx[i] = sp.tx[sent + i];
    sp.tx_len = left;
  } else {
    sp.tx_len = 0;
  }
}

void Shard::flush() {
  for (auto& sp : ports_) flush_port(*sp);
}

}  // namespace skiff
