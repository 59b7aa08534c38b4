// Ethernet II input and output.
#include "stack/shard.hh"
#include "wire/ethernet.hh"
#include "wire/igmp.hh"

namespace skiff {

void eth_input(Shard& sh, ShardPort& sp, Pktbuf p) {
  auto eth = wire::EthView::checked(p.first_seg());
  if (!eth) return sh.drop(std::move(p), Drop::EthRunt);
  const wire::MacAddr dst = eth->dst();
  const Iface& ifc = *sp.ifc;
  bool bcast = false;
  if (dst != ifc.mac) {
    // Broadcast, or an IPv4 group's address (whether the host joined that group is IPv4 input's question:
    // one Ethernet address stands for 32 groups).
    if (!dst.is_broadcast() && !wire::igmp::is_group_mac(dst)) return sh.drop(std::move(p), Drop::EthNotForUs);
    bcast = true;
  }
  const wire::MacAddr src = eth->src();
  if (src.is_multicast() || src == ifc.mac) return sh.drop(std::move(p), Drop::EthSrcInvalid);
  const uint16_t type = eth->ethertype();
  p.mbuf()->l2_len = wire::EthView::kHeaderLen;
  p.adj(wire::EthView::kHeaderLen);
  switch (type) {
    case static_cast<uint16_t>(wire::EtherType::Ipv4):
      return ipv4_input(sh, sp, std::move(p), bcast);
    case static_cast<uint16_t>(wire::EtherType::Arp):
      return arp_input(sh, sp, std::move(p));
    default:
      return sh.drop(std::move(p), Drop::EthUnknownType);
  }
}

void eth_output(Shard& sh, ShardPort& sp, const wire::MacAddr& dst, uint16_t ethertype, Pktbuf p) {
  uint8_t* h = p.prepend(wire::EthView::kHeaderLen);
  if (!h) return sh.drop(std::move(p), Drop::NoMbuf);  // our own buffers always reserve headroom
  wire::EthView eth(h, wire::EthView::kHeaderLen);
  eth.set_dst(dst);
  eth.set_src(sp.ifc->mac);
  eth.set_ethertype(static_cast<wire::EtherType>(ethertype));
  p.mbuf()->l2_len = wire::EthView::kHeaderLen;
  sh.transmit(sp, std::move(p));
}

}  // namespace skiff
