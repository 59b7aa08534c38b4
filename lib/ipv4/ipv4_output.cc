// IPv4 output: route, build the header, fragment if needed, resolve the next hop.

#include <cerrno>

#include "stack/shard.hh"
#include "wire/igmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

using wire::Ipv4View;

namespace {

// `built`: the header came from Ipv4View::build, checksum included (else it is summed here).
void finish_header(Shard& sh, const Iface& ifc, Pktbuf& p, Ipv4View ip, bool built) {
  rte_mbuf* m = p.mbuf();
  m->l2_len = 14;
  m->l3_len = static_cast<uint8_t>(ip.header_len());
  if (ifc.caps.tx_ipv4_csum) {
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    ip.set_checksum_raw(0);
  } else {
    m->ol_flags |= RTE_MBUF_F_TX_IPV4;
    if (!built) ip.fill_checksum();
  }
  ++sh.stats.ip_out_requests;
}

// RFC 791 §3.2 fragmentation: copies the payload of `p` (data at the L4 header) into fragments of at most
// `mtu` bytes each. The payload per fragment is a multiple of 8 except for the last.
void fragment_and_send(Shard& sh, ShardPort& sp, wire::Ipv4Addr nh, Pktbuf p, const Ipv4Tx& tx, wire::Ipv4Addr src,
                       uint8_t ttl, uint16_t mtu) {
  constexpr uint16_t hl = Ipv4View::kMinHeaderLen;
  const uint32_t payload = p.len();
  const uint32_t chunk = (mtu - hl) & ~7u;
  const uint16_t id = sh.ip_ident_hashed(src, tx.dst, tx.proto, 1);  // no DF: fragmented
  ++sh.stats.ip_frag_oks;
  for (uint32_t off = 0; off < payload; off += chunk) {
    const uint32_t n = std::min(chunk, payload - off);
    // The fragment: its header, then `n` payload bytes copied over as many buffers as they need.
    Pktbuf f = sh.alloc_pkt();
    if (!f) return;  // counted as NoMbuf; the rest of the datagram is lost with it
    const uint16_t first = static_cast<uint16_t>(std::min<uint32_t>(n, f.tailroom() - hl));
    uint8_t* h = f.append(static_cast<uint16_t>(hl + first));
    if (!p.copy_out(off, first, h + hl)) return sh.drop(std::move(f), Drop::NoMbuf);
    for (uint32_t done = first; done < n;) {
      Pktbuf seg = sh.alloc_pkt();
      if (!seg) return;
      const uint16_t k = static_cast<uint16_t>(std::min<uint32_t>(n - done, seg.tailroom()));
      if (!p.copy_out(off + done, k, seg.append(k)) || !f.chain(std::move(seg)))
        return sh.drop(std::move(f), Drop::NoMbuf);
      done += k;
    }
    const bool last = off + n >= payload;
    Ipv4View ip(h, hl);
    ip.build(src, tx.dst, tx.proto, static_cast<uint16_t>(hl + n), id, ttl, tx.tos,
             static_cast<uint16_t>((last ? 0 : Ipv4View::kFlagMF) | (off / 8)));
    finish_header(sh, *sp.ifc, f, ip, true);
    ++sh.stats.ip_frag_creates;
    neigh_output(sh, sp, nh, std::move(f));
  }
}

// A datagram (data at its IP header, the header complete) to one of the host's own addresses: Linux's
// RTN_LOCAL route through `lo`. It never reaches the wire or ARP; IPv4 input takes it in at the shard's next
// iteration. Whole: `lo`'s MTU is 64 KiB, so nothing is fragmented and a TSO frame stays one segment. Its
// IP checksum counts as checked, and so does a transport checksum the stack left to the device (which never
// sees it: the field holds only the pseudo-header's sum); any other is checked on input as a received one
// (one a raw socket wrote may be wrong).
void local_out(Shard& sh, ShardPort& sp, Pktbuf p) {
  ++sh.stats.ip_out_requests;
  rte_mbuf* m = p.mbuf();
  const bool l4_offloaded = m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG);
  m->ol_flags = (m->ol_flags & (RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL)) | RTE_MBUF_F_RX_IP_CKSUM_GOOD |
                (l4_offloaded ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0);
  m->tso_segsz = 0;
  sh.loop_enqueue(sp, std::move(p));
}

}  // namespace

int ipv4_output_hdrincl(Shard& sh, Pktbuf p, const RouteResult* route, bool mc_loop) {
  Ipv4View ip(p.data(), p.seg_len());
  const wire::Ipv4Addr dst = ip.dst();
  auto rt = route ? std::optional<RouteResult>(*route) : sh.routes.lookup(dst);
  // As ipv4_output: a group, or the limited broadcast (from the interface of its source, if one of ours), is
  // reached on the link itself, never through a gateway.
  if (rt && (dst.is_multicast() || dst.is_broadcast())) {
    rt->next_hop = dst;
    if (dst.is_broadcast() && !route)
      for (auto& port : sh.ports())
        if (port->ifc->is_our_addr(ip.src())) rt->iface = port->ifc->index;
  }
  ShardPort* sp = rt ? sh.port_for(rt->iface) : nullptr;
  if (!sp) {
    sh.drop(std::move(p), Drop::Ipv4NoRoute);
    return -ENETUNREACH;
  }
  if (sh.is_local_addr(ip.dst())) [[unlikely]] {
    ip.fill_checksum();
    local_out(sh, *sp, std::move(p));
    return 0;
  }
  if (p.len() > sp->ifc->mtu) {
    sh.drop(std::move(p), Drop::Ipv4FragNeeded);
    return -EMSGSIZE;
  }
  finish_header(sh, *sp->ifc, p, ip, false);
  // Copies for the host itself: a group it joined there (IP_MULTICAST_LOOP), or any broadcast (Linux's
  // ip_mc_output).
  if (dst.is_multicast()) [[unlikely]] {
    if (mc_loop && sh.mc.accepts(sp->ifc->index, dst, ip.src(), ip.proto() == wire::igmp::kProto))
      ipv4_loop_copy(sh, *sp, p);
  } else if (dst.is_broadcast() || sp->ifc->is_broadcast(dst)) [[unlikely]] {
    ipv4_loop_copy(sh, *sp, p);
  }
  neigh_output(sh, *sp, rt->next_hop, std::move(p));
  return 0;
}

int ipv4_output(Shard& sh, Pktbuf p, const Ipv4Tx& tx) {
  auto rt = tx.route ? std::optional<RouteResult>(*tx.route) : sh.routes.lookup(tx.dst);
  if (rt && tx.dst.is_broadcast() && !tx.route) {
    // The limited broadcast never goes through a gateway: it leaves on the link itself (RFC 1122
    // §3.3.6), on the interface of the source address if there is one.
    rt->next_hop = tx.dst;
    for (auto& port : sh.ports())
      if (!tx.src.is_any() && port->ifc->is_our_addr(tx.src)) rt->iface = port->ifc->index;
  }
  // A multicast group is reached on the link of the route's interface, never through its gateway (Linux's
  // __mkroute_output for RTN_MULTICAST); neigh_output maps the group to its Ethernet address.
  if (rt && tx.dst.is_multicast()) rt->next_hop = tx.dst;
  ShardPort* sp = rt ? sh.port_for(rt->iface) : nullptr;
  if (!sp) {
    sh.drop(std::move(p), Drop::Ipv4NoRoute);
    return -ENETUNREACH;
  }
  const wire::Ipv4Addr src = tx.src.is_any() ? (rt->src.is_any() ? sp->ifc->addr.addr : rt->src) : tx.src;
  // The host itself, whatever route covers it (Linux looks up its local table first): 127/8, or one of our
  // addresses.
  const bool local = sh.is_local_addr(tx.dst);
  if (src.is_loopback() && !local) [[unlikely]] {
    // A loopback source never leaves the host (RFC 1122 §3.2.1.3 (g); Linux's __mkroute_output: EINVAL).
    sh.drop(std::move(p), Drop::Ipv4BadSrc);
    return -EINVAL;
  }
  const uint8_t ttl = tx.mc_local ? 0 : tx.ttl ? tx.ttl : sh.cfg.ipv4.default_ttl;
  constexpr uint16_t hl = Ipv4View::kMinHeaderLen;
  const uint32_t total = p.len() + hl;
  // A TSO frame is cut to the MTU by the device; it must only fit the IPv4 length field.
  const bool tso = p.ol_flags() & RTE_MBUF_F_TX_TCP_SEG;
  const uint16_t mtu = tx.mtu && tx.mtu < sp->ifc->mtu ? tx.mtu : sp->ifc->mtu;
  const bool too_big = total > (local ? Ipv4View::kMaxDatagram : mtu) && !(tso && total <= Ipv4View::kMaxDatagram);
  if (too_big && (tx.df || local || total > Ipv4View::kMaxDatagram)) {
    sh.drop(std::move(p), Drop::Ipv4FragNeeded);
    return -EMSGSIZE;
  }
  if (tx.dst.is_multicast()) [[unlikely]] {
    if (tx.mc_loop && sh.mc.accepts(sp->ifc->index, tx.dst, src, tx.proto == wire::igmp::kProto)) ipv4_mc_loopback(sh, *sp, p, tx, src, ttl);
    if (tx.mc_local) return 0;  // TTL 0: the host's own members only
  } else if (tx.dst.is_broadcast() || sp->ifc->is_broadcast(tx.dst)) [[unlikely]] {
    // A broadcast reaches the host's own sockets too, whatever IP_MULTICAST_LOOP says (Linux's
    // ip_mc_output loops every RTCF_BROADCAST datagram back).
    ipv4_mc_loopback(sh, *sp, p, tx, src, ttl);
  }
  if (too_big) {
    fragment_and_send(sh, *sp, rt->next_hop, std::move(p), tx, src, ttl, mtu);
    return 0;
  }
  // The IP ID (Linux's ip_select_ident_segs; RFC 6864, RFC 7739): a DF datagram is atomic, its ID only has
  // to differ from its neighbours' for a receiver's GRO: a connected socket's own counter (one flow's
  // segments number consecutively whatever else the shard sends), else 0; a datagram that may be fragmented
  // takes the hashed per-destination counter. A TSO frame reserves one per segment the device cuts.
  uint16_t segs = 1;
  if (tso) [[unlikely]] {
    const uint32_t seg_payload = p.mbuf()->tso_segsz;
    const uint32_t data = p.len() - p.mbuf()->l4_len;
    if (seg_payload) segs = static_cast<uint16_t>((data + seg_payload - 1) / seg_payload);
  }
  uint16_t id = 0;
  if (!tx.df) {
    id = sh.ip_ident_hashed(src, tx.dst, tx.proto, segs);
  } else if (tx.ident) {
    id = *tx.ident;
    *tx.ident = static_cast<uint16_t>(id + segs);
  }
  uint8_t* h = p.prepend(hl);
  if (!h) {
    sh.drop(std::move(p), Drop::NoMbuf);
    return -ENOBUFS;
  }
  Ipv4View ip(h, hl);
  ip.build(src, tx.dst, tx.proto, static_cast<uint16_t>(total), id, ttl, tx.tos, tx.df ? Ipv4View::kFlagDF : 0);
  if (local) [[unlikely]] {
    local_out(sh, *sp, std::move(p));
    return 0;
  }
  finish_header(sh, *sp->ifc, p, ip, true);
  neigh_output(sh, *sp, rt->next_hop, std::move(p));
  return 0;
}

}  // namespace skiff
