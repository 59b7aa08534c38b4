// IPv4 input (RFC 791, RFC 1122 §3.2.1): validate, reassemble, deliver.

#include "stack/shard.hh"
#include "tcp/tcp.hh"
#include "wire/icmp.hh"
#include "wire/igmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

using wire::Ipv4View;

namespace {
// True if a raw socket of this protocol received a copy.
bool raw_deliver(Shard& sh, const Pktbuf& p, const Ipv4Rx& rx) {
  const uint64_t before = sh.stats.raw_in_delivers;
  raw_input(sh, p, rx);
  return sh.stats.raw_in_delivers != before;
}

}  // namespace

uint64_t ipv4_raw_copy_shards(const Shard& sh, const Pktbuf& p, const Ipv4Rx& rx) {
  uint64_t mask = sh.dir.raw_shards(rx.proto);
  if (rx.proto == static_cast<uint8_t>(wire::IpProto::Icmp) && p.seg_len() >= 8 + 20) {
    const uint8_t t = p.data()[0];
    if (t == wire::icmp_type::kDestUnreachable || t == wire::icmp_type::kTimeExceeded ||
        t == wire::icmp_type::kParamProblem || t == wire::icmp_type::kSourceQuench)
      mask |= sh.dir.raw_shards(p.data()[8 + 9]);  // the quoted datagram's protocol
  }
  return mask;
}

bool ipv4_raw_fanout(Shard& sh, Pktbuf& p, const Ipv4Rx& rx, uint64_t mask) {
  bool any = false;
  rte_mbuf* m = p.mbuf();
  rte_pktmbuf_prepend(m, rx.hdr_len);  // the header is still in front of the payload
  for (unsigned t = 0; mask; ++t, mask >>= 1) {
    if (!(mask & 1)) continue;
    Pktbuf c(rte_pktmbuf_copy(m, sh.pool.raw(), 0, UINT32_MAX));
    if (!c) {
      sh.drops.add(Drop::NoMbuf);
      continue;
    }
    any |= sh.steer_to(t, std::move(c), SteerKind::RxRaw, rx.port->ifc->index, rx.link_bcast ? 1 : 0);
  }
  rte_pktmbuf_adj(m, rx.hdr_len);
  return any;
}

namespace {

Drop ipv4_drop(wire::WireError e) {
  switch (e) {
    case wire::WireError::BadVersion: return Drop::Ipv4BadVersion;
    case wire::WireError::BadHeaderLen: return Drop::Ipv4BadHeaderLen;
    case wire::WireError::BadTotalLen: return Drop::Ipv4BadTotalLen;
    default: return Drop::Ipv4Truncated;
  }
}
}  // namespace

bool ipv4_restore_header(Pktbuf& p, const Ipv4Rx& rx) {
  if (!p.prepend(rx.hdr_len)) return false;
  // The transport may have cut trailing bytes (UDP's own length): the header says what is left, or the
  // other shard's ipv4_input would refuse the datagram as longer than its frame.
  Ipv4View ip(p.data(), rx.hdr_len);
  if (ip.total_len() != p.len()) {
    ip.set_total_len(static_cast<uint16_t>(p.len()));
    ip.fill_checksum();
  }
  return true;
}

bool ipv4_forward_to_shard(Shard& sh, Pktbuf& p, const Ipv4Rx& rx, unsigned target) {
  if (sh.nshards == 1 || sh.fallback_pass || target == sh.id) return false;
  if (!ipv4_restore_header(p, rx)) return false;
  ++sh.stats.steer_fallback;
  sh.steer_to(target, std::move(p), SteerKind::RxFallback, rx.port->ifc->index, rx.link_bcast ? 1 : 0);
  return true;
}

bool ipv4_forward_to_port_home(Shard& sh, Pktbuf& p, const Ipv4Rx& rx, PortDirectory::Proto proto, uint16_t port) {
  if (sh.nshards == 1 || sh.fallback_pass) return false;
  const int home = sh.dir.home(proto, port, sh.id);
  return home >= 0 && ipv4_forward_to_shard(sh, p, rx, static_cast<unsigned>(home));
}

namespace {

// What the transports are told of a datagram with header `ip` that came in on `sp`.
Ipv4Rx rx_of(const Ipv4View& ip, ShardPort& sp, bool link_bcast, bool ip_bcast) {
  Ipv4Rx rx;
  rx.src = ip.src();
  rx.dst = ip.dst();
  rx.proto = ip.proto();
  rx.tos = ip.tos();
  rx.ttl = ip.ttl();
  rx.hdr_len = static_cast<uint16_t>(ip.header_len());
  rx.link_bcast = link_bcast;
  rx.ip_bcast = ip_bcast;
  rx.port = &sp;
  return rx;
}

}  // namespace

void ipv4_raw_copy_input(Shard& sh, ShardPort& sp, Pktbuf p) {
  auto ip = Ipv4View::checked(p.first_seg(), p.len());
  if (!ip) return sh.drop(std::move(p), ipv4_drop(ip.err));
  const Ipv4Rx rx = rx_of(*ip, sp, pkt_meta(p.mbuf())->steer_flags & 1,
                          ip->dst().is_multicast() || sp.ifc->is_broadcast(ip->dst()));
  p.adj(rx.hdr_len);
  raw_input(sh, p, rx);
  if (rx.proto == static_cast<uint8_t>(wire::IpProto::Icmp)) icmp_raw_copy_error(sh, p, rx);
}

void ipv4_mc_loopback(Shard& sh, ShardPort& sp, const Pktbuf& l4, const Ipv4Tx& tx, wire::Ipv4Addr src,
                      uint8_t ttl) {
  Pktbuf c(rte_pktmbuf_copy(l4.mbuf(), sh.pool.raw(), 0, UINT32_MAX));
  if (!c) return sh.drops.add(Drop::NoMbuf);
  uint8_t* h = c.prepend(Ipv4View::kMinHeaderLen);
  if (!h) return sh.drop(std::move(c), Drop::NoMbuf);
  Ipv4View ip(h, Ipv4View::kMinHeaderLen);
  ip.build(src, tx.dst, tx.proto, static_cast<uint16_t>(c.len()), 0, ttl, tx.tos, 0);
  // The transport checksum may be left to the device (it never sees this copy): it counts as checked.
  c.ol_flags() = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  ++sh.stats.ip_mc_looped;
  sh.loopback_pass = true;
  ipv4_input(sh, sp, std::move(c), true);
  sh.loopback_pass = false;
}

void ipv4_loop_copy(Shard& sh, ShardPort& sp, const Pktbuf& dgram) {
  Pktbuf c(rte_pktmbuf_copy(dgram.mbuf(), sh.pool.raw(), 0, UINT32_MAX));
  if (!c) return sh.drops.add(Drop::NoMbuf);
  Ipv4View ip(c.data(), c.seg_len());
  ip.fill_checksum();  // (the original's may be left to the device)
  // The IP header counts as checked; the transport's, which its writer computed, is checked on input.
  c.ol_flags() = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  ++sh.stats.ip_mc_looped;
  sh.loopback_pass = true;
  ipv4_input(sh, sp, std::move(c), true);
  sh.loopback_pass = false;
}

void ipv4_input(Shard& sh, ShardPort& sp, Pktbuf p, bool link_bcast) {
  ++sh.stats.ip_in_receives;
  auto ip = Ipv4View::checked(p.first_seg(), p.len());
  if (!ip) return sh.drop(std::move(p), ipv4_drop(ip.err));
  switch (p.rx_ip_csum()) {
    case RxCsum::Good: break;
    case RxCsum::Bad: return sh.drop(std::move(p), Drop::Ipv4BadChecksum);
    default:
      if (!ip->checksum_ok()) return sh.drop(std::move(p), Drop::Ipv4BadChecksum);
  }
  // No TTL check: a host must not discard a datagram for its TTL (RFC 1122 §3.2.1.7); that is a router's
  // business (Linux's ip_rcv looks at it only when forwarding). A TTL of 0 is delivered like any other.

  const Iface& ifc = *sp.ifc;
  const wire::Ipv4Addr src = ip->src(), dst = ip->dst();
  const bool mcast = dst.is_multicast();
  // RFC 1122 §3.2.1.3: discard datagrams from martian sources, as Linux's ip_route_input_slow and
  // ip_route_input_mc do: any of the host's own addresses (and 127/8), unless the datagram is one we sent
  // ourselves or one another shard checked already; a broadcast or group address; and 0/8 ("this network",
  // a host that does not know its address yet, as a DHCP client) except to the limited broadcast, or to a
  // link-local group (224.0.0.0/24) or with IGMP.
  const bool ours = sh.loopback_pass || sh.fallback_pass;
  const bool zeronet_ok = dst.is_broadcast() || (mcast && ((dst.host() >> 8) == 0xe00000 ||
                                                           ip->proto() == wire::igmp::kProto));
  if (src.is_broadcast() || src.is_multicast() || src.is_class_e() || ifc.is_broadcast(src) ||
      ((src.host() >> 24) == 0 && !zeronet_ok) || (!ours && sh.is_local_addr(src)))
    return sh.drop(std::move(p), Drop::Ipv4BadSrc);
  // Any of the host's addresses, whichever interface it came in on (RFC 1122 §3.3.4.2's weak host model, as
  // Linux); 127/8 only from ourselves (from the wire it is a martian destination).
  const bool ip_bcast = mcast || ifc.is_broadcast(dst);
  if (!ip_bcast && !ifc.is_our_addr(dst) && !(sh.is_local_addr(dst) && (ours || !dst.is_loopback())))
    return sh.drop(std::move(p), Drop::Ipv4NotForUs);
  // A group the host joined on this interface, or all-systems (Linux's ip_check_mc_rcu).
  // (Linux's ip_check_mc_rcu: a source the host's filters keep out is dropped here; IGMP is exempt.)
  if (mcast && !sh.mc.accepts(ifc.index, dst, src, ip->proto() == wire::igmp::kProto)) [[unlikely]]
    return sh.drop(std::move(p), sh.mc.accepts(ifc.index, dst, src, true) ? Drop::Ipv4McSourceFiltered
                                                                           : Drop::Ipv4McNotJoined);
  // Options, as Linux's ip_rcv_options: a malformed one earns a parameter problem pointing at it (RFC 1122
  // §3.2.1.8; suppressed as every ICMP error is for a broadcast), and a source route is dropped, as Linux
  // does with accept_source_route at 0 (RFC 7126 §4.3: a host is no router to be steered through).
  if (ip->header_len() > Ipv4View::kMinHeaderLen) [[unlikely]] {
    const wire::Ipv4OptionCheck oc = wire::ipv4_check_options(ip->options());
    if (oc.bad_at) {
      sh.drops.add(Drop::Ipv4BadOptions);
      const Ipv4Rx rx = rx_of(*ip, sp, link_bcast, ip_bcast);
      if (p.len() > ip->total_len()) p.truncate(ip->total_len());
      p.adj(rx.hdr_len);
      return icmp_send_error(sh, std::move(p), rx, wire::icmp_type::kParamProblem, 0, uint32_t{oc.bad_at} << 24);
    }
    if (oc.source_route) return sh.drop(std::move(p), Drop::Ipv4SourceRoute);
  }
  // IGMP (to a group or to us) is shard 0's, which keeps the host's membership state: handed there before any
  // raw socket here sees a copy (a looped copy says so: its source, ours, is no martian there either).
  if (ip->proto() == wire::igmp::kProto && sh.id != 0) [[unlikely]] {
    sh.steer_to(0, std::move(p), SteerKind::RxIp, sp.ifc->index,
                static_cast<uint8_t>((link_bcast ? kSteerLinkBcast : 0) | (sh.loopback_pass ? kSteerLooped : 0)));
    return;
  }

  // Remove link-layer padding: the datagram ends where the IP header says.
  if (p.len() > ip->total_len()) p.truncate(ip->total_len());

  if (ip->is_fragment()) {
    ++sh.stats.ip_reasm_reqds;
    p = sh.reass.feed(sh, std::move(p), link_bcast);
    if (!p) return;
    ++sh.stats.ip_reasm_oks;
    ip = Ipv4View::checked(p.first_seg(), p.len());  // the header now describes the whole datagram
    if (!ip) [[unlikely]]
      return sh.drop(std::move(p), Drop::Ipv4BadTotalLen);  // assemble() bounds it; never trust that blindly
    if (sh.nshards > 1) {
      // Fragments gather on the addresses' owner; the whole datagram belongs to its flow's owner.
      const unsigned o = ip_owner(*sh.rss_hash, sh.rss_map, p.data(), p.seg_len(), sh.id);
      if (o != sh.id) {
        sh.steer_to(o, std::move(p), SteerKind::RxIp, sp.ifc->index,
                    static_cast<uint8_t>((link_bcast ? kSteerLinkBcast : 0) | (sh.loopback_pass ? kSteerLooped : 0)));
        return;
      }
    }
  }

  const Ipv4Rx rx = rx_of(*ip, sp, link_bcast, ip_bcast);
  p.mbuf()->l3_len = rx.hdr_len;
  p.adj(rx.hdr_len);

  // Raw sockets get a copy of everything of their protocol first (Linux's raw_local_deliver).
  // (Not again on a fallback pass: the shard that received it fanned a copy out to this one already.)
  bool raw_taken = !sh.raw.empty() && !sh.fallback_pass && raw_deliver(sh, p, rx);
  if (sh.nshards > 1 && !sh.fallback_pass) {
    // Raw sockets on other shards see it too (as every raw socket does in Linux), and an ICMP error goes to
    // the raw sockets of the protocol it quotes as well (raw_icmp_error, run on the copy).
    const uint64_t others = ipv4_raw_copy_shards(sh, p, rx) & ~(uint64_t{1} << sh.id);
    if (others) raw_taken |= ipv4_raw_fanout(sh, p, rx, others);
  }
  switch (rx.proto) {
    case static_cast<uint8_t>(wire::IpProto::Tcp):
      ++sh.stats.ip_in_delivers;
      return tcp_input(sh, std::move(p), rx);
    case static_cast<uint8_t>(wire::IpProto::Udp):
      ++sh.stats.ip_in_delivers;
      return udp_input(sh, std::move(p), rx);
    case static_cast<uint8_t>(wire::IpProto::Icmp):
      ++sh.stats.ip_in_delivers;
      return icmp_input(sh, std::move(p), rx);
    case wire::igmp::kProto:
      ++sh.stats.ip_in_delivers;
      return igmp_input(sh, std::move(p), rx);
    default:
      if (raw_taken) {
        ++sh.stats.ip_in_delivers;
        return;
      }
      // RFC 1122 §3.2.2.1: protocol unreachable (suppressed for broadcasts by icmp_send_error).
      sh.drops.add(Drop::Ipv4UnknownProto);
      return icmp_send_error(sh, std::move(p), rx, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kProtocol);
  }
}

}  // namespace skiff
