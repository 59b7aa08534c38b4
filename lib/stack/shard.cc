#include "stack/shard.hh"

#include "base/siphash.hh"

#include <rte_prefetch.h>
#include <rte_ring.h>

#include <atomic>
#include <cstring>

#include "base/log.hh"
#include "base/tsan.hh"
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
      pmtu(config.ipv4),
      icmp_errors(config.icmp.error_rate, config.icmp.error_burst),
      icmp_peers(std::chrono::milliseconds(config.icmp.peer_interval_ms), config.icmp.peer_burst, Rng().next()),
      pool(pkt_pool),
      socks(*this, config.sock, shard_id, stack_name),
      clock_(clock),
      now_(clock.now()),
      now_ms_(static_cast<uint64_t>(now_.ns()) / 1'000'000),
      housekeeping_(&Shard::housekeeping, this) {
  for (Iface* ifc : ifaces) ports_.push_back(std::make_unique<ShardPort>(ifc, queue, queue, config.neigh));
  for (uint16_t& c : idents_) c = static_cast<uint16_t>(rng.next());
  loop_q_.reserve(kLoopQueue);
  loop_run_.reserve(kLoopQueue);
}

size_t Shard::ip_ident_bucket(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t proto) const {
  const struct {
    uint32_t s, d, p;
  } key{src.host(), dst.host(), proto};
  return siphash24(process_secret(), &key, sizeof key) & (kIdentBuckets - 1);
}

uint16_t Shard::ip_ident_hashed(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t proto, uint16_t segs) {
  const size_t b = ip_ident_bucket(src, dst, proto);
  // As Linux: a bucket unused for a while moves on by a random amount below the time it sat (in ms here,
  // jiffies there), so its next value cannot be told from its last.
  const uint32_t now = static_cast<uint32_t>(now_ms_);
  uint32_t delta = 0;
  if (ident_stamp_[b] != now) {
    delta = rng.below(now - ident_stamp_[b]);
    ident_stamp_[b] = now;
  }
  const uint16_t id = static_cast<uint16_t>(idents_[b] + delta);
  idents_[b] = static_cast<uint16_t>(id + segs);
  return id;
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
  detach();
  tcp_destroy_all(*this);
  if (t_shard == this) t_shard = nullptr;
  timers.cancel(housekeeping_);
  for (rte_mbuf* m : loop_q_) rte_pktmbuf_free(m);
  loop_q_.clear();
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
  // Shard 0 speaks ARP for the stack (the others would announce the same address again).
  for (auto& sp : ports_) {
    if (id != 0) break;
    const Iface& ifc = *sp->ifc;
    if (ifc.addr.addr.is_any()) continue;
    // RFC 5227 §2.3 announcement: a request with sender = target = our address.
    arp_send(*this, *sp, 1, wire::MacAddr::broadcast(), wire::MacAddr::zero(), ifc.addr.addr, ifc.addr.addr);
    ++stats.arp_gratuitous;
  }
  mc_start(*this);
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
  sh->pmtu.expire(now);
  igmp_tick(*sh);
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
    if (!sp.poll_rx) continue;
    const uint16_t n = sp.ifc->dev->rx_burst(sp.rxq, pkts, kBurst);
    if (n) {
      ++stats.rx_bursts;
      input(sp, pkts, n);
      total += n;
    }
  }
  if (nshards > 1) {
    total += drain_inbox();
    total += drain_ctl();
  }
  if (!loop_q_.empty()) [[unlikely]]
    total += drain_loopback();
  run_timers();
  dispatch_events();
  flush();
  return total;
}

void Shard::input(ShardPort& sp, rte_mbuf** pkts, uint16_t n) {
  stats.rx_packets += n;
  if (nshards > 1) {
    // One pass: a frame this shard owns is processed at once; frames owned by other shards are collected
    // and handed over at the end of the burst, one ring operation per owner.
    rte_mbuf* foreign[kBurst];
    uint8_t owner[kBurst];
    for (uint16_t off = 0; off < n; off += kBurst) {
      const uint16_t cnt = std::min<uint16_t>(kBurst, static_cast<uint16_t>(n - off));
      unsigned nf = 0;
      for (uint16_t i = 0; i < cnt; ++i) {
        rte_mbuf* m = pkts[off + i];
        if (i + 1 < cnt) rte_prefetch0(rte_pktmbuf_mtod(pkts[off + i + 1], void*));
        const unsigned o = frame_owner(*rss_hash, rss_map, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, id);
        if (o == id) {
          stats.rx_bytes += m->pkt_len;
          eth_input(*this, sp, Pktbuf(m));
        } else {
          foreign[nf] = m;
          owner[nf++] = static_cast<uint8_t>(o);
        }
      }
      if (nf) steer_burst(sp, foreign, owner, static_cast<uint16_t>(nf));
    }
    return;
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    stats.rx_bytes += pkts[i]->pkt_len;
    eth_input(*this, sp, Pktbuf(pkts[i]));
  }
}

void Shard::run_timers() { timers.advance(now_); }

void Shard::loop_enqueue(ShardPort& sp, Pktbuf p) {
  ++stats.ip_local_looped;
  if (nshards > 1) {
    const unsigned o = ip_owner(*rss_hash, rss_map, p.data(), p.seg_len(), id);
    if (o != id) {
      steer_to(o, std::move(p), SteerKind::RxIp, sp.ifc->index, kSteerLooped);
      return;
    }
  }
  if (loop_q_.size() >= kLoopQueue) return drop(std::move(p), Drop::LoopbackQueueFull);
  rte_mbuf* m = p.release();
  m->port = static_cast<uint16_t>(sp.ifc->index);
  loop_q_.push_back(m);
}

unsigned Shard::drain_loopback() {
  unsigned n = 0;
  for (int round = 0; round < 4 && !loop_q_.empty(); ++round) {
    loop_run_.swap(loop_q_);  // (both keep their reserved room: nothing is allocated)
    for (rte_mbuf* m : loop_run_) {
      Pktbuf p(m);
      ShardPort* sp = port_for(m->port);
      if (!sp) {
        drop(std::move(p), Drop::Ipv4NoRoute);
        continue;
      }
      loopback_pass = true;
      ipv4_input(*this, *sp, std::move(p), false);
      loopback_pass = false;
      ++n;
    }
    loop_run_.clear();
  }
  return n;
}

void Shard::transmit(ShardPort& sp, Pktbuf p) {
  if (sp.tx_len == kTxBatch) {
    flush_port(sp);
    if (sp.tx_len == kTxBatch) return drop(std::move(p), Drop::TxFull);
  }
  stats.tx_bytes += p.len();
  const bool small = p.len() < kTxSmallFrame;
  sp.tx[sp.tx_len++] = p.release();
  if (small && ++sp.tx_small >= kTxSmallFlush) flush_port(sp);
}

void Shard::flush_port(ShardPort& sp) {
  sp.tx_small = 0;
  if (!sp.tx_len) return;
  uint16_t sent;
  if (sp.tx_via >= 0) {
    // No TX queue of our own on this port: the shard that has one sends for us.
    Shard* via = peer(static_cast<unsigned>(sp.tx_via));
    if (!via) {
      for (uint16_t i = 0; i < sp.tx_len; ++i) rte_pktmbuf_free(sp.tx[i]);
      drops.add(Drop::SteerRingFull, sp.tx_len);
      sp.tx_len = 0;
      return;
    }
    for (uint16_t i = 0; i < sp.tx_len; ++i) {
      PktMeta* pm = pkt_meta(sp.tx[i]);
      pm->steer_kind = static_cast<uint8_t>(SteerKind::Tx);
      pm->steer_iface = static_cast<uint8_t>(sp.ifc->index);
      pm->steer_flags = 0;
    }
    tsan_release(via->inbox_);
    sent = static_cast<uint16_t>(
        rte_ring_mp_enqueue_burst(via->inbox_, reinterpret_cast<void**>(sp.tx.data()), sp.tx_len, nullptr));
    stats.steer_tx_out += sent;
  } else {
    sent = sp.ifc->dev->tx_burst(sp.txq, sp.tx.data(), sp.tx_len);
    stats.tx_packets += sent;
  }
  if (sent == 0) {
    // A device that takes nothing for over a second is not momentarily full: it refuses the first frame
    // (some PMDs stop a burst at a frame they cannot send) or its peer is gone. Drop that frame, so one
    // frame cannot block the queue for good; TCP resends what it carried.
    if (!sp.tx_stalled_since) {
      sp.tx_stalled_since = now_;
    } else if (now_ - *sp.tx_stalled_since > kTxStallLimit) {
      rte_pktmbuf_free(sp.tx[0]);
      drops.add(Drop::TxStalled);
      sent = 1;
      sp.tx_stalled_since = now_;
    }
  } else {
    sp.tx_stalled_since.reset();
  }
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
  if (tcp.n_deferred_acks) tcp_flush_deferred_acks(*this);
  for (auto& sp : ports_) flush_port(*sp);
}

// ---- Several shards ----

void Shard::attach(std::vector<Shard*> peers, rte_ring* inbox, rte_ring* ctl, const RssHash* hash, const RssMap& map) {
  peers_ = std::move(peers);
  nshards = static_cast<unsigned>(peers_.size());
  inbox_ = inbox;
  ctl_ = ctl;
  rss_hash = hash;
  rss_map = map;
  dir.init(nshards);
}

void Shard::detach() {
  peers_.clear();
  for (auto& [t, m] : backlog_) delete m;
  backlog_.clear();
  void* obj;
  if (inbox_)
    while (rte_ring_sc_dequeue(inbox_, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  if (ctl_)
    while (rte_ring_sc_dequeue(ctl_, &obj) == 0) delete static_cast<Msg*>(obj);
}

bool Shard::post(unsigned target, Msg fn) {
  Shard* t = peer(target);
  if (!t || !t->ctl_) return false;
  auto* m = new Msg(std::move(fn));
  // The shard rings have several producers, and a producer waits for the one before it with a relaxed load
  // (DPDK's ring), which TSan does not take as an order between them: each hand-off through a ring is
  // marked as a release by the producer and an acquire by the consumer (no-ops outside TSan builds).
  tsan_release(t->ctl_);
  if (rte_ring_mp_enqueue(t->ctl_, m) != 0) {
    delete m;
    return false;
  }
  return true;
}

void Shard::send(unsigned target, Msg fn) {
  Shard* t = peer(target);
  if (!t || !t->ctl_) return;
  auto* m = new Msg(std::move(fn));
  // Order per target: once something waits, everything after it waits too.
  bool waiting = false;
  for (auto& b : backlog_) waiting |= b.first == target;
  tsan_release(t->ctl_);
  if (waiting || rte_ring_mp_enqueue(t->ctl_, m) != 0) {
    backlog_.emplace_back(target, m);
    ++stats.ctl_deferred;
    return;
  }
  ++stats.ctl_sent;
}

void Shard::send_others(const Msg& fn) {
  for (unsigned i = 0; i < nshards; ++i)
    if (i != id) send(i, fn);
}

bool Shard::steer_to(unsigned target, Pktbuf p, SteerKind kind, unsigned iface, uint8_t flags) {
  Shard* t = peer(target);
  if (!t) return drop(std::move(p), Drop::SteerRingFull), false;
  PktMeta* pm = pkt_meta(p.mbuf());
  pm->steer_kind = static_cast<uint8_t>(kind);
  pm->steer_iface = static_cast<uint8_t>(iface);
  pm->steer_flags = flags;
  rte_mbuf* m = p.release();
  tsan_release(t->inbox_);
  if (rte_ring_mp_enqueue(t->inbox_, m) != 0) {
    drops.add(Drop::SteerRingFull);
    rte_pktmbuf_free(m);
    return false;
  }
  ++stats.steer_out;
  return true;
}

void Shard::steer_burst(ShardPort& sp, rte_mbuf** pkts, const uint8_t* owner, uint16_t n) {
  rte_mbuf* group[kBurst];
  bool done[kBurst] = {};
  const bool hw = sp.ifc->dev->rx_queues > 1;  // a multi-queue device should have put it on its owner
  for (uint16_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    const unsigned t = owner[i];
    // Everything for owner t in this burst, in arrival order.
    unsigned g = 0;
    for (uint16_t j = i; j < n; ++j) {
      if (done[j] || owner[j] != t) continue;
      done[j] = true;
      PktMeta* pm = pkt_meta(pkts[j]);
      pm->steer_kind = static_cast<uint8_t>(SteerKind::RxFrame);
      pm->steer_iface = static_cast<uint8_t>(sp.ifc->index);
      pm->steer_flags = 0;
      stats.rx_bytes += pkts[j]->pkt_len;
      group[g++] = pkts[j];
    }
    if (hw) stats.rx_wrong_shard += g;
    Shard* ts = peer(t);
    if (ts) tsan_release(ts->inbox_);
    const unsigned sent =
        ts ? rte_ring_mp_enqueue_burst(ts->inbox_, reinterpret_cast<void**>(group), g, nullptr) : 0;
    stats.steer_out += sent;
    for (unsigned k = sent; k < g; ++k) {
      drops.add(Drop::SteerRingFull);
      rte_pktmbuf_free(group[k]);
    }
  }
}

unsigned Shard::drain_inbox() {
  void* objs[kBurst];
  unsigned total = 0;
  for (int round = 0; round < 8; ++round) {
    const unsigned n = rte_ring_sc_dequeue_burst(inbox_, objs, kBurst, nullptr);
    if (!n) break;
    tsan_acquire(inbox_);
    total += n;
    for (unsigned i = 0; i < n; ++i) {
      auto* m = static_cast<rte_mbuf*>(objs[i]);
      if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(static_cast<rte_mbuf*>(objs[i + 1]), void*));
      const PktMeta* pm = pkt_meta(m);
      const auto kind = static_cast<SteerKind>(pm->steer_kind);
      const bool bcast = pm->steer_flags & 1;
      ShardPort* sp = port_for(pm->steer_iface);
      Pktbuf p(m);
      if (!sp) {
        drop(std::move(p), Drop::SteerRingFull);
        continue;
      }
      switch (kind) {
        case SteerKind::RxFrame:
          ++stats.steer_in;
          eth_input(*this, *sp, std::move(p));
          break;
        case SteerKind::RxIp:
          ++stats.steer_in;
          loopback_pass = pm->steer_flags & kSteerLooped;
          ipv4_input(*this, *sp, std::move(p), bcast);
          loopback_pass = false;
          break;
        case SteerKind::RxFallback:
          ++stats.steer_in;
          fallback_pass = true;
          ipv4_input(*this, *sp, std::move(p), bcast);
          fallback_pass = false;
          break;
        case SteerKind::RxRaw:
          ipv4_raw_copy_input(*this, *sp, std::move(p));
          break;
        case SteerKind::Tx:
          transmit(*sp, std::move(p));
          break;
        default:
          drop(std::move(p), Drop::SteerRingFull);
      }
    }
  }
  return total;
}

unsigned Shard::drain_ctl() {
  unsigned ran = 0;
  // Our own messages that found a peer's ring full: try again, in order per target.
  if (!backlog_.empty()) {
    std::vector<std::pair<unsigned, Msg*>> keep;
    uint64_t blocked = 0;  // targets that refused (stay in order behind the first refusal)
    for (auto& [t, m] : backlog_) {
      Shard* ts = peer(t);
      if (!ts) {
        delete m;
        continue;
      }
      tsan_release(ts->ctl_);
      if (!(blocked & (uint64_t{1} << t)) && rte_ring_mp_enqueue(ts->ctl_, m) == 0) {
        ++stats.ctl_sent;
        continue;
      }
      blocked |= uint64_t{1} << t;
      keep.emplace_back(t, m);
    }
    backlog_.swap(keep);
  }
  void* objs[16];
  for (int round = 0; round < 4; ++round) {
    const unsigned n = rte_ring_sc_dequeue_burst(ctl_, objs, 16, nullptr);
    if (!n) break;
    tsan_acquire(ctl_);
    for (unsigned i = 0; i < n; ++i) {
      std::unique_ptr<Msg> m(static_cast<Msg*>(objs[i]));
      ++stats.ctl_received;
      ++ran;
      (*m)(*this);
    }
  }
  return ran;
}

Pktbuf Shard::condense(Pktbuf p) {
  if (!small_pool || !p.is_contiguous() || p.len() > kSmallBufData || p.mbuf()->buf_len <= kSmallBufData * 2)
    return p;
  Pktbuf c = small_pool->alloc();
  if (!c) {
    ++stats.rx_condense_short;
    return p;
  }
  uint8_t* d = c.append(static_cast<uint16_t>(p.len()));
  memcpy(d, p.data(), p.len());
  *c.meta() = *p.meta();
  c.meta()->qnext = nullptr;
  c.mbuf()->ol_flags = p.mbuf()->ol_flags;
  c.mbuf()->packet_type = p.mbuf()->packet_type;
  ++stats.rx_condensed;
  return c;
}

Pktbuf Shard::copy_for_queue(rte_mbuf* m, uint32_t off) {
  if (small_pool && m->pkt_len - off <= kSmallBufData) {
    if (rte_mbuf* c = rte_pktmbuf_copy(m, small_pool->raw(), off, UINT32_MAX)) return Pktbuf(c);
    ++stats.rx_condense_short;
  }
  return Pktbuf(rte_pktmbuf_copy(m, pool.raw(), off, UINT32_MAX));
}

void Shard::announce_port(PortDirectory::Proto proto, uint16_t port, bool on) {
  if (nshards == 1) return;
  const unsigned from = id;
  send_others([proto, port, from, on](Shard& s) { s.dir.set(proto, port, from, on); });
}

void Shard::announce_raw(uint8_t proto, bool on) {
  if (nshards == 1) return;
  const unsigned from = id;
  send_others([proto, from, on](Shard& s) { s.dir.set_raw(proto, from, on); });
}

}  // namespace skiff
