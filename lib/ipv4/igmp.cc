// IPv4 multicast membership and IGMP for a host (ipv4/igmp.hh): RFC 3376 (v3), RFC 2236 (v2), RFC 1112 (v1).

#include "ipv4/igmp.hh"

#include <rte_mbuf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "raw/raw.hh"
#include "stack/shard.hh"
#include "udp/udp.hh"
#include "wire/checksum.hh"
#include "wire/ethernet.hh"
#include "wire/igmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

using wire::Ipv4Addr;
namespace ig = wire::igmp;

namespace {

// RFC 3376 §8.11 / RFC 2236 §8.10: the spread of unsolicited (state-change) report retransmissions.
constexpr Duration kV3UnsolicitedInterval = std::chrono::seconds(1);
constexpr Duration kV2UnsolicitedInterval = std::chrono::seconds(10);
// RFC 3376 §8.2 / §8.14: Query Interval 125 s; Query Response Interval 10 s. The Older Version Querier
// Present Timeout (§8.12) is Robustness Variable x Query Interval + Query Response Interval.
constexpr int64_t kQueryIntervalMs = 125'000;
constexpr int64_t kQueryResponseIntervalMs = 10'000;
constexpr size_t kIpHdrLen = 24;  // 20 + the Router Alert option (RFC 2113), which every IGMP message carries

Ipv4Addr group_of(uint64_t key) { return Ipv4Addr(static_cast<uint32_t>(key)); }
unsigned iface_of(uint64_t key) { return static_cast<unsigned>(key >> 32); }

int igmp_version(const McTable::IfState& f, Instant now) {
  if (f.v1_until > now) return 1;
  if (f.v2_until > now) return 2;
  return 3;
}

Instant random_delay(Shard& sh, Instant now, int64_t max_ms) {
  const auto ms = max_ms > 1 ? sh.rng.below(static_cast<uint32_t>(max_ms)) : 0;
  return now + std::chrono::milliseconds(ms);
}

// Sends one IGMP message `msg` (its checksum filled here) to `dst` from the interface's address: TTL 1,
// Router Alert, DF, the Internet Control precedence (as Linux's igmp_send_report / igmpv3_newpack).
void igmp_send(Shard& sh, ShardPort& sp, Ipv4Addr dst, uint8_t* msg, uint16_t len) {
  msg[2] = msg[3] = 0;
  const uint16_t c = wire::inet_checksum(msg, len);
  memcpy(msg + 2, &c, 2);
  Pktbuf p = sh.alloc_pkt();
  if (!p) return;
  uint8_t* h = p.append(static_cast<uint16_t>(kIpHdrLen + len));
  if (!h) return sh.drop(std::move(p), Drop::NoMbuf);
  wire::Ipv4View ip(h, kIpHdrLen);
  ip.set_version_ihl(kIpHdrLen);
  ip.set_tos(0xc0);
  ip.set_total_len(static_cast<uint16_t>(kIpHdrLen + len));
  ip.set_ident(0);
  ip.set_flags_frag(wire::Ipv4View::kFlagDF);
  ip.set_ttl(1);
  ip.set_proto(ig::kProto);
  ip.set_src(sp.ifc->addr.addr);
  ip.set_dst(dst);
  h[20] = 0x94;  // Router Alert: copied, class 0, number 20; length 4; value 0 (examine)
  h[21] = 0x04;
  h[22] = h[23] = 0;
  ip.fill_checksum();
  memcpy(h + kIpHdrLen, msg, len);
  p.mbuf()->l3_len = kIpHdrLen;
  ++sh.stats.ip_out_requests;
  eth_output(sh, sp, ig::group_mac(dst), static_cast<uint16_t>(wire::EtherType::Ipv4), std::move(p));
}

// A v1 or v2 membership report for `g` (sent to the group itself), or a v2 leave (to all-routers).
void igmp_send_v12(Shard& sh, ShardPort& sp, int version, bool leave, Ipv4Addr g) {
  uint8_t m[8] = {};
  m[0] = leave ? ig::kV2Leave : version == 1 ? ig::kV1Report : ig::kV2Report;
  const uint32_t gb = g.be();
  memcpy(m + 4, &gb, 4);
  igmp_send(sh, sp, leave ? ig::kAllRouters : g, m, sizeof m);
  ++(leave ? sh.stats.igmp_out_leaves : sh.stats.igmp_out_reports);
}

// Gathers v3 group records into as few reports as the MTU allows (RFC 3376 §4.2), sent to 224.0.0.22.
class V3Report {
 public:
  V3Report(Shard& sh, ShardPort& sp)
      : sh_(sh), sp_(sp), max_(static_cast<uint16_t>(std::min<size_t>(sizeof buf_, sp.ifc->mtu - kIpHdrLen))) {}
  ~V3Report() { flush(); }
  void add(uint8_t type, Ipv4Addr g) {
    if (len_ + 8u > max_) flush();
    uint8_t* r = buf_ + len_;
    r[0] = type;
    r[1] = 0;  // aux data length
    r[2] = r[3] = 0;  // number of sources
    const uint32_t gb = g.be();
    memcpy(r + 4, &gb, 4);
    len_ = static_cast<uint16_t>(len_ + 8);
    ++nrec_;
  }
  void flush() {
    if (!nrec_) return;
    memset(buf_, 0, 8);
    buf_[0] = ig::kV3Report;
    buf_[6] = static_cast<uint8_t>(nrec_ >> 8);
    buf_[7] = static_cast<uint8_t>(nrec_);
    igmp_send(sh_, sp_, ig::kV3Routers, buf_, len_);
    ++sh_.stats.igmp_out_reports;
    len_ = 8;
    nrec_ = 0;
  }

 private:
  Shard& sh_;
  ShardPort& sp_;
  uint8_t buf_[1480];
  uint16_t max_;
  uint16_t len_ = 8;
  uint16_t nrec_ = 0;
};

// Shard 0: sends what is due on `iface`: answers to queries, state-change reports and their
// retransmissions; forgets groups left once their leave has been told.
void igmp_send_due(Shard& sh, unsigned iface) {
  ShardPort* sp = sh.port_for(iface);
  if (!sp) return;
  McTable::IfState& f = sh.mc.ifstate(iface);
  const Instant now = sh.now();
  const int ver = igmp_version(f, now);
  V3Report rep(sh, *sp);
  const bool general = f.general_at && *f.general_at <= now;
  if (general) f.general_at.reset();
  for (auto it = sh.mc.groups.begin(); it != sh.mc.groups.end();) {
    if (iface_of(it->first) != iface) {
      ++it;
      continue;
    }
    const Ipv4Addr g = group_of(it->first);
    McTable::Group& e = it->second;
    const bool reported = g != ig::kAllSystems;  // all-systems is never reported (RFC 3376 §5)
    bool answered = false;
    if (e.answer_at && *e.answer_at <= now) {
      e.answer_at.reset();
      if (e.shards && reported) {
        if (ver == 3) {
          rep.add(ig::kModeIsExclude, g);
        } else {
          igmp_send_v12(sh, *sp, ver, false, g);
        }
        answered = true;
      }
    }
    if (general && e.shards && reported && !answered && ver == 3) rep.add(ig::kModeIsExclude, g);
    if (e.changes_left && e.change_at <= now) {
      --e.changes_left;
      if (!reported) {
        e.changes_left = 0;
      } else if (ver == 3) {
        rep.add(e.leaving ? ig::kChangeToInclude : ig::kChangeToExclude, g);
      } else if (!e.leaving) {
        igmp_send_v12(sh, *sp, ver, false, g);
      } else {
        if (ver == 2) igmp_send_v12(sh, *sp, 2, true, g);  // IGMPv1 has no leave
        e.changes_left = 0;
      }
      if (e.changes_left)
        e.change_at = random_delay(sh, now, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                ver == 3 ? kV3UnsolicitedInterval : kV2UnsolicitedInterval)
                                                .count()) +
                      std::chrono::milliseconds(1);
    }
    if (!e.local && !e.shards && !e.changes_left) {
      it = sh.mc.groups.erase(it);
    } else {
      ++it;
    }
  }
}

// Shard 0: gives the device the Ethernet addresses of the groups the host is a member of on `iface`.
void mc_update_filter(Shard& sh, unsigned iface) {
  ShardPort* sp = sh.port_for(iface);
  if (!sp || !sp->ifc->dev) return;
  std::vector<wire::MacAddr> macs{ig::group_mac(ig::kAllSystems)};
  for (const auto& [k, e] : sh.mc.groups)
    if (iface_of(k) == iface && e.shards) {
      const wire::MacAddr m = ig::group_mac(group_of(k));
      if (std::find(macs.begin(), macs.end(), m) == macs.end()) macs.push_back(m);
    }
  sp->ifc->dev->set_mc_addrs(macs);
}

// Shard 0: the host joined (`joined`) or left `g` on `iface` (RFC 3376 §5.1: a state-change report at
// once, repeated Robustness Variable times in all).
void igmp_membership_changed(Shard& sh, unsigned iface, Ipv4Addr g, McTable::Group& e, bool joined) {
  mc_update_filter(sh, iface);
  if (g == ig::kAllSystems) return;
  McTable::IfState& f = sh.mc.ifstate(iface);
  e.leaving = !joined;
  e.changes_left = igmp_version(f, sh.now()) == 3 ? f.qrv : (joined ? 2 : 1);
  e.change_at = sh.now();
  if (!joined) e.answer_at.reset();
  igmp_send_due(sh, iface);
}

// On every shard: shard `from` now has (or no longer has) members of `g` on `iface`.
void mc_apply(Shard& sh, unsigned iface, Ipv4Addr g, unsigned from, bool on) {
  const uint64_t k = McTable::key(iface, g);
  McTable::Group& e = sh.mc.groups[k];
  const bool was = e.shards != 0;
  const uint64_t bit = uint64_t{1} << from;
  e.shards = on ? (e.shards | bit) : (e.shards & ~bit);
  const bool is = e.shards != 0;
  if (sh.id == 0 && was != is) igmp_membership_changed(sh, iface, g, sh.mc.groups[k], is);
  auto it = sh.mc.groups.find(k);
  if (it != sh.mc.groups.end() && !it->second.local && !it->second.shards && !it->second.changes_left)
    sh.mc.groups.erase(it);
}

// This shard's sockets hold one more (`on`) or one fewer membership of `g` on `iface`.
void mc_ref(Shard& sh, unsigned iface, Ipv4Addr g, bool on) {
  McTable::Group& e = sh.mc.groups[McTable::key(iface, g)];
  if (on ? e.local++ != 0 : --e.local != 0) return;
  // This shard's first membership, or its last: every shard learns it (in order, from this one).
  const unsigned from = sh.id;
  for (unsigned t = 0; t < sh.nshards; ++t) {
    if (t == sh.id) continue;
    sh.send(t, [iface, g, from, on](Shard& s) { mc_apply(s, iface, g, from, on); });
  }
  mc_apply(sh, iface, g, from, on);
}

}  // namespace

bool McTable::accepts(unsigned iface, Ipv4Addr g) const {
  if (g == ig::kAllSystems) return true;
  auto it = groups.find(key(iface, g));
  return it != groups.end() && it->second.shards != 0;
}

McList* inet_mc_list(Sock* sk) {
  if (sk->prot == &udp_prot) return &reinterpret_cast<UdpSock*>(sk)->mc;
  if (sk->prot == &raw_prot) return &reinterpret_cast<RawSock*>(sk)->mc;
  return nullptr;
}

int mc_find_iface(Shard& sh, Ipv4Addr group, Ipv4Addr addr, int ifindex) {
  if (ifindex > 0) return sh.port_for(static_cast<unsigned>(ifindex - 1)) ? ifindex - 1 : -1;
  if (ifindex < 0) return -1;
  if (!addr.is_any()) {
    for (auto& sp : sh.ports())
      if (sp->ifc->is_our_addr(addr)) return static_cast<int>(sp->ifc->index);
    return -1;
  }
  auto rt = sh.routes.lookup(group);
  return rt && sh.port_for(rt->iface) ? static_cast<int>(rt->iface) : -1;
}

int mc_join(Sock* sk, Ipv4Addr group, unsigned iface) {
  McList* l = inet_mc_list(sk);
  if (!l) return -EPROTO;
  for (const McMembership& m : *l)
    if (m.group == group && m.iface == iface) return -EADDRINUSE;
  if (l->size() >= kMcMaxMemberships) return -ENOBUFS;
  l->push_back(McMembership{group, static_cast<uint8_t>(iface)});
  mc_ref(*sk->shard, iface, group, true);
  return 0;
}

int mc_leave(Sock* sk, Ipv4Addr group, unsigned iface) {
  McList* l = inet_mc_list(sk);
  if (!l) return -EPROTO;
  for (auto it = l->begin(); it != l->end(); ++it)
    if (it->group == group && it->iface == iface) {
      l->erase(it);
      mc_ref(*sk->shard, iface, group, false);
      return 0;
    }
  return -EADDRNOTAVAIL;
}

void mc_leave_all(Sock* sk) {
  McList* l = inet_mc_list(sk);
  if (!l) return;
  for (const McMembership& m : *l) mc_ref(*sk->shard, m.iface, m.group, false);
  l->clear();
  l->shrink_to_fit();
}

bool mc_sock_allows(Sock* sk, Ipv4Addr group, unsigned iface) {
  if (McList* l = inet_mc_list(sk))
    for (const McMembership& m : *l)
      if (m.group == group && m.iface == iface) return true;
  return inet_sk(sk)->mc_flags & InetSock::kMcAll;
}

void mc_start(Shard& sh) {
  if (sh.id != 0) return;
  for (auto& sp : sh.ports()) mc_update_filter(sh, sp->ifc->index);
}

void igmp_tick(Shard& sh) {
  if (sh.id != 0 || sh.mc.groups.empty()) return;
  for (auto& sp : sh.ports()) igmp_send_due(sh, sp->ifc->index);
}

void igmp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx) {
  const uint32_t len = p.len();
  if (len < ig::kMinLen) return sh.drop(std::move(p), Drop::IgmpTruncated);
  if (!wire::csum_ok(p.csum_partial(0, len, 0))) return sh.drop(std::move(p), Drop::IgmpBadChecksum);
  uint8_t h[ig::kV3QueryMin];
  const auto* b = static_cast<const uint8_t*>(rte_pktmbuf_read(p.mbuf(), 0, std::min<uint32_t>(len, sizeof h), h));
  const unsigned iface = rx.port->ifc->index;
  McTable::IfState& f = sh.mc.ifstate(iface);
  const Instant now = sh.now();
  Ipv4Addr group(static_cast<uint32_t>(b[4]) << 24 | static_cast<uint32_t>(b[5]) << 16 |
                       static_cast<uint32_t>(b[6]) << 8 | b[7]);
  switch (b[0]) {
    case ig::kQuery: {
      // RFC 3376 §7.1: 8 bytes is v1 (Max Resp Code 0) or v2; 12 or more is v3; 9 to 11 is ignored.
      if (len > ig::kMinLen && len < ig::kV3QueryMin) return sh.drop(std::move(p), Drop::IgmpBadQuery);
      if (len == ig::kMinLen && b[1] == 0) group = Ipv4Addr::any();  // a v1 query's group field is unused
      if (!group.is_any() && !group.is_multicast()) return sh.drop(std::move(p), Drop::IgmpBadQuery);
      int64_t max_resp_ms;
      bool older = false;
      if (len == ig::kMinLen) {
        // An older querier (RFC 3376 §7.2.1): speak its version for the Older Version Querier Present
        // Timeout; pending v3 reports are not sent.
        const Instant until = now + std::chrono::milliseconds(f.qrv * kQueryIntervalMs + kQueryResponseIntervalMs);
        if (b[1] == 0) {
          f.v1_until = until;
          max_resp_ms = 10'000;  // RFC 2236 §4: a v1 query means 10 seconds
        } else {
          f.v2_until = until;
          max_resp_ms = int64_t{b[1]} * 100;
        }
        f.general_at.reset();
        for (auto& [k, e] : sh.mc.groups)
          if (iface_of(k) == iface && e.changes_left && !e.leaving) e.changes_left = 0;
        older = true;
      } else {
        const uint32_t nsrc = static_cast<uint32_t>(b[10]) << 8 | b[11];
        if (len < ig::kV3QueryMin + 4 * nsrc) return sh.drop(std::move(p), Drop::IgmpTruncated);
        if (nsrc && group.is_any()) return sh.drop(std::move(p), Drop::IgmpBadQuery);  // sources, no group
        max_resp_ms = int64_t{ig::decode_code(b[1])} * 100;
        // RFC 3376 §4.1.6: adopt the querier's QRV; 0 means the default (as Linux).
        f.qrv = (b[8] & 0x07) ? (b[8] & 0x07) : 2;
        older = igmp_version(f, now) != 3;
        if (older && f.v1_until > now) {
          // A v3 query while a v1 querier is heard: a v1 general query (Linux's igmp_heard_query).
          group = Ipv4Addr::any();
          max_resp_ms = 10'000;
        }
      }
      ++sh.stats.igmp_in_queries;
      Instant at = random_delay(sh, now, max_resp_ms);
      if (group.is_any() && !older) {
        // RFC 3376 §5.2 rule 1/2: one answer for the interface, the earlier of the pending and the new (none
        // when the host is in no group there: a later join must not find it pending).
        bool any = false;
        for (const auto& [k, e] : sh.mc.groups)
          any |= iface_of(k) == iface && e.shards && group_of(k) != ig::kAllSystems;
        if (!any) return;
        if (!f.general_at || *f.general_at > at) f.general_at = at;
      } else {
        // A v1/v2 query, or a v3 group(-and-source)-specific one: a timer per group, the earlier one kept
        // (RFC 2236 §3, RFC 3376 §5.2 rules 3/4). The answer to a group-and-source-specific query is the
        // group's whole state (EXCLUDE, no sources): Skiff keeps no source lists. Each group draws its own
        // delay (RFC 1112 appendix I), so a general query's answers spread out.
        Instant first = Instant::max();
        for (auto& [k, e] : sh.mc.groups) {
          if (iface_of(k) != iface || !e.shards || group_of(k) == ig::kAllSystems) continue;
          if (!group.is_any() && group_of(k) != group) continue;
          const Instant t = random_delay(sh, now, max_resp_ms);
          if (!e.answer_at || *e.answer_at > t) e.answer_at = t;
          first = std::min(first, *e.answer_at);
        }
        at = first;
      }
      if (at <= now) igmp_send_due(sh, iface);
      return;
    }
    case ig::kV1Report:
    case ig::kV2Report: {
      // RFC 2236 §3: in v1/v2 mode another member's report for a group answers the query for us too.
      ++sh.stats.igmp_in_reports;
      if (igmp_version(f, now) != 3)
        if (McTable::Group* e = sh.mc.find(iface, group)) e->answer_at.reset();
      return;
    }
    case ig::kV2Leave:
    case ig::kV3Report:
      ++sh.stats.igmp_in_reports;  // for routers
      return;
    default:
      return sh.drop(std::move(p), Drop::IgmpUnknownType);
  }
}

}  // namespace skiff
