// ARP (RFC 826) and neighbour resolution.
//
// Merge rule (RFC 826 "Packet Reception"): an existing entry for the sender is updated by any valid ARP
// packet; a new entry is created only when we are the target. A MAC learnt less than `locktime` ago is
// not overridden (as Linux's locktime), which blunts flapping and cheap poisoning races.

#include "base/log.hh"
#include "stack/shard.hh"
#include "wire/igmp.hh"
#include "wire/arp.hh"
#include "wire/icmp.hh"
#include "wire/ethernet.hh"

namespace skiff {

using wire::ArpView;
using wire::Ipv4Addr;
using wire::MacAddr;

namespace {

Drop arp_drop(wire::WireError e) {
  switch (e) {
    case wire::WireError::BadHwType: return Drop::ArpBadHwType;
    case wire::WireError::BadProtoType: return Drop::ArpBadProtoType;
    case wire::WireError::BadHwLen: return Drop::ArpBadHwLen;
    case wire::WireError::BadProtoLen: return Drop::ArpBadProtoLen;
    case wire::WireError::BadOp: return Drop::ArpBadOp;
    default: return Drop::ArpTruncated;
  }
}

void send_queued(Shard& sh, ShardPort& sp, NeighEntry* e) {
  rte_mbuf* m = sp.neigh.take_queue(e);
  while (m) {
    rte_mbuf* next = pkt_meta(m)->qnext;
    eth_output(sh, sp, e->mac, static_cast<uint16_t>(wire::EtherType::Ipv4), Pktbuf(m));
    m = next;
  }
}

// The entry now maps to `mac`, confirmed at `now`; packets waiting for its resolution go out.
void set_reachable(Shard& sh, ShardPort& sp, NeighEntry* e, const MacAddr& mac, Instant now) {
  if (e->state != NeighState::Reachable || e->mac != mac) e->updated = now;
  const bool was_incomplete = e->state == NeighState::Incomplete;
  e->mac = mac;
  e->state = NeighState::Reachable;
  e->confirmed = now;
  e->probes = 0;
  if (was_incomplete) {
    ++sh.stats.arp_resolved;
    send_queued(sh, sp, e);
  }
}

void sync_to(Shard& sh, ShardPort& sp, const NeighEntry* e, unsigned target) {
  const unsigned ifidx = sp.ifc->index;
  const Ipv4Addr ip = e->ip;
  const MacAddr mac = e->mac;
  sh.send(target, [ifidx, ip, mac](Shard& s) {
    if (ShardPort* p = s.port_for(ifidx)) neigh_apply_sync(s, *p, ip, mac);
  });
}

// `garp`: a gratuitous ARP, which overrides the locktime (Linux's arp_process: a host that moved, or a
// failover address taken over, announces itself and is believed at once).
void confirm(Shard& sh, ShardPort& sp, NeighEntry* e, const MacAddr& mac, bool garp = false) {
  const Instant now = sh.now();
  if (e->state == NeighState::Reachable && e->mac != mac) {
    if (now - e->updated < sh.cfg.neigh.locktime && !garp) {
      ++sh.stats.arp_mac_change_ignored;
      return;
    }
    ++sh.stats.arp_mac_changes;
  }
  set_reachable(sh, sp, e, mac, now);
  // Shard 0 owns the stack's ARP: every confirmation refreshes the other shards' copies.
  if (sh.nshards > 1 && sh.id == 0)
    for (unsigned i = 1; i < sh.nshards; ++i) sync_to(sh, sp, e, i);
}

void request(Shard& sh, ShardPort& sp, NeighEntry* e, bool unicast) {
  if (sh.nshards > 1 && sh.id != 0) {
    // Only shard 0 speaks ARP (and receives it): ask it; its answer comes back as a sync.
    const unsigned ifidx = sp.ifc->index, from = sh.id;
    const Ipv4Addr ip = e->ip;
    sh.send(0, [ifidx, ip, from](Shard& s) {
      if (ShardPort* p = s.port_for(ifidx)) neigh_remote_resolve(s, *p, ip, from);
    });
    e->last_request = sh.now();
    if (e->probes < 255) ++e->probes;
    return;
  }
  const MacAddr eth_dst = unicast ? e->mac : MacAddr::broadcast();
  arp_send(sh, sp, 1, eth_dst, MacAddr::zero(), e->ip, sp.ifc->addr.addr);
  e->last_request = sh.now();
  if (e->probes < 255) ++e->probes;
}

}  // namespace

void arp_send(Shard& sh, ShardPort& sp, uint16_t op, const MacAddr& eth_dst, const MacAddr& tha, Ipv4Addr tpa,
              Ipv4Addr spa) {
  Pktbuf p = sh.alloc_pkt();
  if (!p) return;
  uint8_t* d = p.append(wire::EthView::kMinFrame - wire::EthView::kHeaderLen);  // pad to the minimum frame
  memset(d, 0, wire::EthView::kMinFrame - wire::EthView::kHeaderLen);
  ArpView(d, ArpView::kLen).build(static_cast<wire::ArpOp>(op), sp.ifc->mac, spa, tha, tpa);
  if (op == 1) {
    ++sh.stats.arp_out_requests;
  } else {
    ++sh.stats.arp_out_replies;
  }
  eth_output(sh, sp, eth_dst, static_cast<uint16_t>(wire::EtherType::Arp), std::move(p));
}

void arp_input(Shard& sh, ShardPort& sp, Pktbuf p) {
  auto arp = ArpView::checked(p.first_seg());
  if (!arp) return sh.drop(std::move(p), arp_drop(arp.err));
  const Iface& ifc = *sp.ifc;
  const MacAddr sha = arp->sha();
  const Ipv4Addr spa = arp->spa();
  const Ipv4Addr tpa = arp->tpa();
  const uint16_t op = arp->oper();

  if (sha.is_multicast() || sha.is_zero() || spa.is_broadcast() || spa.is_multicast() || ifc.is_broadcast(spa))
    return sh.drop(std::move(p), Drop::ArpBadSender);
  if (sha == ifc.mac) return sh.drop(std::move(p), Drop::EthSrcInvalid);  // our own frame, reflected
  if (!spa.is_any() && ifc.is_our_addr(spa)) {
    // Someone else claims our address. RFC 5227 §2.4 (b): defend it with one announcement, at most once per
    // DEFEND_INTERVAL (10 s); beyond that keep using it and only count the conflicts.
    const Instant now = sh.now();
    if (!sp.defended || now - sp.last_defend >= 10s) {
      sp.defended = true;
      sp.last_defend = now;
      arp_send(sh, sp, 1, MacAddr::broadcast(), MacAddr::zero(), ifc.addr.addr, ifc.addr.addr);
      ++sh.stats.arp_defended;
    }
    return sh.drop(std::move(p), Drop::ArpAddrConflict);
  }

  // Gratuitous (arp_is_garp): the sender names itself as the target; a reply also names its own hardware
  // address as the target's.
  const bool garp = spa == tpa && (op != static_cast<uint16_t>(wire::ArpOp::Reply) || arp->tha() == sha);
  bool merged = false;
  if (!spa.is_any()) {  // spa 0.0.0.0 is an RFC 5227 probe: nothing to learn
    if (NeighEntry* e = sp.neigh.lookup(spa)) {
      confirm(sh, sp, e, sha, garp);
      merged = true;
    }
  }
  if (!ifc.is_our_addr(tpa) || ifc.addr.addr.is_any()) return sh.drop(std::move(p), Drop::ArpNotForUs);
  if (!merged && !spa.is_any()) {
    if (NeighEntry* e = sp.neigh.create(spa, sh.now())) confirm(sh, sp, e, sha);
  }
  if (op == static_cast<uint16_t>(wire::ArpOp::Request)) {
    ++sh.stats.arp_in_requests;
    // Reply to the sender (for a probe, tpa-less: RFC 5227 replies are broadcast-safe when unicast to sha).
    arp_send(sh, sp, 2, sha, sha, spa, ifc.addr.addr);
  } else {
    ++sh.stats.arp_in_replies;
  }
}

void neigh_output(Shard& sh, ShardPort& sp, Ipv4Addr nh, Pktbuf p) {
  constexpr auto kIpv4 = static_cast<uint16_t>(wire::EtherType::Ipv4);
  const Iface& ifc = *sp.ifc;
  if (ifc.is_broadcast(nh)) return eth_output(sh, sp, MacAddr::broadcast(), kIpv4, std::move(p));
  if (nh.is_multicast()) {
    // RFC 1112 §6.4: 01-00-5E and the group's low 23 bits; no resolution.
    return eth_output(sh, sp, wire::igmp::group_mac(nh), kIpv4, std::move(p));
  }
  const Instant now = sh.now();
  const NeighConfig& nc = sh.cfg.neigh;
  NeighEntry* e = sp.neigh.lookup(nh);
  if (e && e->state == NeighState::Reachable) {
    const Duration age = now - e->confirmed;
    e->last_used = now;
    if (age <= nc.reachable) return eth_output(sh, sp, e->mac, kIpv4, std::move(p));
    if (age <= nc.reachable + nc.stale_grace) {
      // Stale: keep using it, and refresh with a unicast request at most once per retrans interval.
      if (now - e->last_request >= nc.retrans) request(sh, sp, e, true);
      return eth_output(sh, sp, e->mac, kIpv4, std::move(p));
    }
    // Too old to trust: resolve again, holding packets meanwhile.
    e->state = NeighState::Incomplete;
    e->probes = 0;
    e->last_request = Instant{};
  }
  if (!e) {
    e = sp.neigh.create(nh, now);
    if (!e) return sh.drop(std::move(p), Drop::ArpTableFull);
  }
  e->last_used = now;
  if (!sp.neigh.enqueue(e, p)) return sh.drop(std::move(p), Drop::ArpQueueFull);
  if (e->probes == 0 || now - e->last_request >= nc.retrans) request(sh, sp, e, false);
}

void neigh_remote_resolve(Shard& sh, ShardPort& sp, Ipv4Addr ip, unsigned from) {
  const Instant now = sh.now();
  const NeighConfig& nc = sh.cfg.neigh;
  NeighEntry* e = sp.neigh.lookup(ip);
  if (!e) {
    e = sp.neigh.create(ip, now);
    if (!e) return;  // table full: the asking shard gives up after its probes
  }
  e->last_used = now;
  if (e->state == NeighState::Reachable) {
    const Duration age = now - e->confirmed;
    if (age <= nc.reachable + nc.stale_grace) sync_to(sh, sp, e, from);  // usable (stale ones are too)
    if (age > nc.reachable && now - e->last_request >= nc.retrans) request(sh, sp, e, true);
    return;
  }
  if (e->probes == 0 || now - e->last_request >= nc.retrans) request(sh, sp, e, false);
}

void neigh_apply_sync(Shard& sh, ShardPort& sp, Ipv4Addr ip, const MacAddr& mac) {
  NeighEntry* e = sp.neigh.lookup(ip);
  if (!e) return;  // this shard has not needed it
  const Instant now = sh.now();
  set_reachable(sh, sp, e, mac, now);
}

void neigh_tick(Shard& sh, ShardPort& sp) {
  const Instant now = sh.now();
  const NeighConfig& nc = sh.cfg.neigh;
  // Packets of entries that failed, chained (through qnext) to be reported once the walk is over: reporting
  // runs the sockets' error handlers, which may send (and so touch this table).
  rte_mbuf* failed = nullptr;
  rte_mbuf** failed_tail = &failed;
  sp.neigh.for_each([&](NeighEntry& e) {
    if (e.state == NeighState::Incomplete) {
      if (now - e.last_request < nc.retrans) return;
      if (e.probes >= nc.max_probes) {
        sh.drops.add(Drop::ArpResolveFailed, e.qlen);
        if (rte_mbuf* q = sp.neigh.take_queue(&e)) {
          *failed_tail = q;
          while (pkt_meta(q)->qnext) q = pkt_meta(q)->qnext;
          failed_tail = &pkt_meta(q)->qnext;
        }
        sp.neigh.remove(&e);
        return;
      }
      request(sh, sp, &e, false);
    } else if (now - e.last_used > nc.gc_idle && now - e.confirmed > nc.reachable) {
      sp.neigh.remove(&e);  // idle and unconfirmed: reclaim
    }
  });
  // As Linux's arp_error_report -> ipv4_link_failure: each dropped datagram comes back to its sender as ICMP
  // host unreachable (a connect() to a dead on-link host fails with EHOSTUNREACH after the probes).
  while (failed) {
    rte_mbuf* next = pkt_meta(failed)->qnext;
    icmp_local_error(sh, sp, Pktbuf(failed), wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kHost);
    failed = next;
  }
}

}  // namespace skiff
