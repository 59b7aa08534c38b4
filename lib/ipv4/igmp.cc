// IPv4 multicast membership and IGMP for a host (ipv4/igmp.hh): RFC 3376 (v3), RFC 2236 (v2), RFC 1112 (v1).

#include "ipv4/igmp.hh"

#include <rte_mbuf.h>

#include <algorithm>
#include <array>
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
// Sources of group-and-source-specific queries remembered for one pending answer; beyond, the answer is the
// group's whole state (a querier cannot make the host keep more).
constexpr size_t kMaxQueriedSources = 64;

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
  // One group record with `srcs`; a list too long for one report is split into several records, except
  // for EXCLUDE records, which start a report of their own when they do not fit this one and are cut short
  // only when they do not fit a whole report (RFC 3376 §4.2.16; Linux's add_grec).
  void add(uint8_t type, Ipv4Addr g, const std::vector<Ipv4Addr>& srcs = {}) {
    const bool cut = type == ig::kModeIsExclude || type == ig::kChangeToExclude;
    if (cut && nrec_ && len_ + 8u + 4u * srcs.size() > max_) flush();
    size_t i = 0;
    do {
      if (len_ + 12u > max_ && nrec_) flush();
      const size_t room = (max_ - len_ - 8u) / 4;
      const size_t n = std::min(srcs.size() - i, room);
      uint8_t* r = buf_ + len_;
      r[0] = type;
      r[1] = 0;  // aux data length
      r[2] = static_cast<uint8_t>(n >> 8);
      r[3] = static_cast<uint8_t>(n);
      const uint32_t gb = g.be();
      memcpy(r + 4, &gb, 4);
      for (size_t k = 0; k < n; ++k) {
        const uint32_t sb = srcs[i + k].be();
        memcpy(r + 8 + 4 * k, &sb, 4);
      }
      len_ = static_cast<uint16_t>(len_ + 8 + 4 * n);
      ++nrec_;
      i += n;
      if (cut) break;
    } while (i < srcs.size());
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

// The group's current state as one record (RFC 3376 §5.2): IS_EX or IS_IN with the interface's sources.
void add_current_state(V3Report& rep, const McTable::Group& e, Ipv4Addr g) {
  rep.add(e.mode() == McTable::kEx ? ig::kModeIsExclude : ig::kModeIsInclude, g, e.state_sources());
}

// Forgets sources no socket lists and no report still tells.
void prune_sources(McTable::Group& e) {
  std::erase_if(e.srcs, [](const McTable::Src& x) { return !x.count[0] && !x.count[1] && !x.retx; });
}

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
      if (e.member() && reported) {
        if (ver != 3) {
          igmp_send_v12(sh, *sp, ver, false, g);
          answered = true;
        } else if (e.answer_gs) {
          // A group-and-source-specific query: IS_IN with the queried sources the host wants; none, no record.
          // (A general answer due now tells the whole state instead, below.)
          std::vector<Ipv4Addr> want;
          if (!general)
            for (Ipv4Addr a : e.answer_srcs)
              if (e.wants(a)) want.push_back(a);
          if (!want.empty()) rep.add(ig::kModeIsInclude, g, want);
        } else {
          add_current_state(rep, e, g);
          answered = true;
        }
      }
      e.answer_gs = false;
      e.answer_srcs.clear();
    }
    if (general && e.member() && reported && !answered && ver == 3) add_current_state(rep, e, g);
    if (e.changes_left && e.change_at <= now) {
      --e.changes_left;
      if (!reported) {
        e.changes_left = e.mode_left = 0;
        for (auto& x : e.srcs) x.retx = 0;
      } else if (ver == 3) {
        if (e.mode_left) {
          // A filter mode change (joining any-source is TO_EX, leaving TO_IN, both with no sources): the
          // new mode with the current sources, whatever changed since.
          --e.mode_left;
          rep.add(e.member() && e.mode() == McTable::kEx ? ig::kChangeToExclude : ig::kChangeToInclude, g,
                  e.member() ? e.state_sources() : std::vector<Ipv4Addr>{});
        } else {
          std::vector<Ipv4Addr> allow, block;
          for (auto& x : e.srcs)
            if (x.retx) {
              --x.retx;
              (x.allow ? allow : block).push_back(x.addr);
            }
          if (!allow.empty()) rep.add(ig::kAllowNew, g, allow);
          if (!block.empty()) rep.add(ig::kBlockOld, g, block);
        }
      } else if (e.member()) {
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
      prune_sources(e);
    }
    if (!e.member() && !e.changes_left) {
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
    if (iface_of(k) == iface && e.member()) {
      const wire::MacAddr m = ig::group_mac(group_of(k));
      if (std::find(macs.begin(), macs.end(), m) == macs.end()) macs.push_back(m);
    }
  sp->ifc->dev->set_mc_addrs(macs);
}

// What the interface's state of a group was: member or not, and the mode and sources.
struct McState {
  bool member = false;
  uint8_t mode = McTable::kIn;  // a group the host is no member of is INCLUDE {} (RFC 3376 §3.2)
  std::vector<Ipv4Addr> srcs;   // sorted
};
McState state_of(const McTable::Group& e) {
  McState st;
  st.member = e.member();
  if (st.member) {
    st.mode = e.mode();
    st.srcs = e.state_sources();
  }
  return st;
}

McTable::Src& src_entry(McTable::Group& e, Ipv4Addr a) {
  for (auto& x : e.srcs)
    if (x.addr == a) return x;
  e.srcs.push_back(McTable::Src{a});
  return e.srcs.back();
}

// Shard 0: the interface's state of `g` changed from `before` (RFC 3376 §5.1): a State-Change Report at once,
// Robustness Variable times in all. A change of filter mode is told by TO_IN / TO_EX with the sources;
// otherwise each source that entered or left the state by ALLOW / BLOCK, each counted on its own. A change
// while a mode change is still being told is merged into it (the record carries the current sources).
// Older queriers hear only joins and leaves. May erase `e` (igmp_send_due).
void igmp_state_changed(Shard& sh, unsigned iface, Ipv4Addr g, McTable::Group& e, const McState& before) {
  const bool is = e.member();
  if (before.member != is) mc_update_filter(sh, iface);
  if (g == ig::kAllSystems) return;
  McTable::IfState& f = sh.mc.ifstate(iface);
  const int ver = igmp_version(f, sh.now());
  if (ver != 3) {
    if (before.member == is) return;
    e.mode_left = 0;
    for (auto& x : e.srcs) x.retx = 0;
    e.changes_left = is ? 2 : 1;
  } else {
    const McState after = state_of(e);
    if (before.mode != after.mode) {
      e.mode_left = f.qrv;
      for (auto& x : e.srcs) x.retx = 0;
    } else if (before.srcs == after.srcs) {
      return;
    } else if (e.mode_left) {
      e.mode_left = f.qrv;
    } else {
      // INCLUDE: a source that came is allowed, one that went blocked; EXCLUDE the other way round.
      const bool inc = after.mode == McTable::kIn;
      for (Ipv4Addr a : after.srcs)
        if (!std::binary_search(before.srcs.begin(), before.srcs.end(), a)) {
          McTable::Src& x = src_entry(e, a);
          x.retx = f.qrv;
          x.allow = inc;
        }
      for (Ipv4Addr a : before.srcs)
        if (!std::binary_search(after.srcs.begin(), after.srcs.end(), a)) {
          McTable::Src& x = src_entry(e, a);
          x.retx = f.qrv;
          x.allow = !inc;
        }
    }
    uint8_t left = e.mode_left;
    for (const auto& x : e.srcs) left = std::max(left, x.retx);
    e.changes_left = left;
  }
  e.change_at = sh.now();
  if (!is) {
    e.answer_at.reset();
    e.answer_gs = false;
    e.answer_srcs.clear();
  }
  igmp_send_due(sh, iface);
}

// A change of the host's counts for one group: sockets by mode, and per source by mode.
struct McDelta {
  int32_t mode[2] = {};
  std::vector<std::pair<Ipv4Addr, std::array<int32_t, 2>>> srcs;

  // Each distinct source once per membership: IP_MSFILTER may list one twice (kept so, as Linux), which must
  // not count as two sockets excluding it.
  void add(const McMembership& m, int32_t sign) {
    mode[m.mode] += sign;
    for (size_t i = 0; i < m.sources.size(); ++i) {
      const Ipv4Addr a = m.sources[i];
      if (std::find(m.sources.begin(), m.sources.begin() + static_cast<std::ptrdiff_t>(i), a) !=
          m.sources.begin() + static_cast<std::ptrdiff_t>(i))
        continue;
      auto it = std::find_if(srcs.begin(), srcs.end(), [a](const auto& x) { return x.first == a; });
      if (it == srcs.end()) {
        srcs.push_back({a, {0, 0}});
        it = srcs.end() - 1;
      }
      it->second[m.mode] += sign;
    }
  }
  bool empty() const {
    if (mode[0] || mode[1]) return false;
    for (const auto& x : srcs)
      if (x.second[0] || x.second[1]) return false;
    return true;
  }
};

// On every shard: some shard's sockets changed their filters of `g` on `iface` by `d`.
void mc_apply(Shard& sh, unsigned iface, Ipv4Addr g, const McDelta& d) {
  const uint64_t k = McTable::key(iface, g);
  McTable::Group& e = sh.mc.groups[k];
  const McState before = sh.id == 0 ? state_of(e) : McState{};
  for (int m = 0; m < 2; ++m) e.sfcount[m] = static_cast<uint32_t>(static_cast<int32_t>(e.sfcount[m]) + d.mode[m]);
  for (const auto& [a, c] : d.srcs) {
    McTable::Src& x = src_entry(e, a);
    for (int m = 0; m < 2; ++m) x.count[m] = static_cast<uint32_t>(static_cast<int32_t>(x.count[m]) + c[m]);
  }
  if (sh.id == 0) igmp_state_changed(sh, iface, g, e, before);
  auto it = sh.mc.groups.find(k);  // (igmp_state_changed may have erased it)
  if (it == sh.mc.groups.end()) return;
  prune_sources(it->second);
  if (!it->second.member() && !it->second.changes_left) sh.mc.groups.erase(it);
}

// A socket of this shard changed its filter of `g` on `iface` from `before` to `after` (null: no membership):
// every shard applies the difference (in order, from this one).
void mc_change(Shard& sh, unsigned iface, Ipv4Addr g, const McMembership* before, const McMembership* after) {
  McDelta d;
  if (before) d.add(*before, -1);
  if (after) d.add(*after, +1);
  if (d.empty()) return;
  for (unsigned t = 0; t < sh.nshards; ++t) {
    if (t == sh.id) continue;
    sh.send(t, [iface, g, d](Shard& s) { mc_apply(s, iface, g, d); });
  }
  mc_apply(sh, iface, g, d);
}

McMembership* find_membership(McList* l, Ipv4Addr group, unsigned iface) {
  for (McMembership& m : *l)
    if (m.group == group && m.iface == iface) return &m;
  return nullptr;
}

}  // namespace

std::vector<Ipv4Addr> McTable::Group::state_sources() const {
  std::vector<Ipv4Addr> v;
  for (const auto& x : srcs)
    if (in_state(x)) v.push_back(x.addr);
  std::sort(v.begin(), v.end());
  return v;
}

bool McTable::Group::wants(Ipv4Addr src) const {
  for (const auto& x : srcs)
    if (x.addr == src) return x.count[kIn] || x.count[kEx] != sfcount[kEx];
  return sfcount[kEx] != 0;
}

bool McTable::accepts(unsigned iface, Ipv4Addr g, Ipv4Addr src, bool igmp) const {
  if (g == ig::kAllSystems) return true;
  auto it = groups.find(key(iface, g));
  if (it == groups.end() || !it->second.member()) return false;
  return igmp || it->second.wants(src);
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

int mc_join(Sock* sk, Ipv4Addr group, unsigned iface, uint8_t mode) {
  McList* l = inet_mc_list(sk);
  if (!l) return -EPROTO;
  if (find_membership(l, group, iface)) return -EADDRINUSE;
  if (l->size() >= kMcMaxMemberships) return -ENOBUFS;
  McMembership m{};
  m.group = group;
  m.iface = static_cast<uint8_t>(iface);
  m.mode = mode;
  l->push_back(m);
  mc_change(*sk->shard, iface, group, nullptr, &m);
  return 0;
}

int mc_leave(Sock* sk, Ipv4Addr group, unsigned iface) {
  McList* l = inet_mc_list(sk);
  if (!l) return -EPROTO;
  for (auto it = l->begin(); it != l->end(); ++it)
    if (it->group == group && it->iface == iface) {
      const McMembership before = std::move(*it);
      l->erase(it);
      mc_change(*sk->shard, iface, group, &before, nullptr);
      return 0;
    }
  return -EADDRNOTAVAIL;
}

int mc_source(Sock* sk, bool add, uint8_t mode, Ipv4Addr group, Ipv4Addr source, unsigned iface) {
  McList* l = inet_mc_list(sk);
  if (!l) return -EPROTO;
  McMembership* m = find_membership(l, group, iface);
  if (!m) return -EINVAL;  // a source filter needs a membership first
  if (m->has_list && m->mode != mode) return -EINVAL;
  const McMembership before = *m;
  // A filter that never had a source list takes the other mode (an any-source join becomes source-specific);
  // as Linux, the switch stands even when what follows fails.
  m->mode = mode;
  auto it = std::find(m->sources.begin(), m->sources.end(), source);
  int rc = 0;
  if (!add) {
    if (it == m->sources.end()) {
      rc = -EADDRNOTAVAIL;
    } else if (m->sources.size() == 1 && mode == McMembership::kInclude) {
      *m = before;  // INCLUDE with no source is no membership: leave (Linux's special case)
      return mc_leave(sk, group, iface);
    } else {
      m->sources.erase(it);
    }
  } else if (m->sources.size() >= kMcMaxSources) {
    rc = -ENOBUFS;
  } else if (it != m->sources.end()) {
    rc = -EADDRNOTAVAIL;
  } else {
    m->sources.push_back(source);
    m->has_list = true;
  }
  mc_change(*sk->shard, iface, group, &before, m);
  return rc;
}

int mc_set_filter(Sock* sk, Ipv4Addr group, unsigned iface, uint8_t mode, const std::vector<Ipv4Addr>& sources) {
  McList* l = inet_mc_list(sk);
  if (!l) return -EPROTO;
  if (mode == McMembership::kInclude && sources.empty()) return mc_leave(sk, group, iface);
  McMembership* m = find_membership(l, group, iface);
  if (!m) return -EINVAL;
  const McMembership before = *m;
  m->mode = mode;
  m->sources = sources;
  m->has_list = !sources.empty();
  mc_change(*sk->shard, iface, group, &before, m);
  return 0;
}

const McMembership* mc_membership(Sock* sk, Ipv4Addr group, unsigned iface) {
  McList* l = inet_mc_list(sk);
  return l ? find_membership(l, group, iface) : nullptr;
}

void mc_leave_all(Sock* sk) {
  McList* l = inet_mc_list(sk);
  if (!l) return;
  for (const McMembership& m : *l) mc_change(*sk->shard, m.iface, m.group, &m, nullptr);
  l->clear();
  l->shrink_to_fit();
}

bool mc_sock_allows(Sock* sk, Ipv4Addr group, unsigned iface, Ipv4Addr src) {
  if (McList* l = inet_mc_list(sk))
    if (const McMembership* m = find_membership(l, group, iface)) {
      const bool listed = std::find(m->sources.begin(), m->sources.end(), src) != m->sources.end();
      return m->mode == McMembership::kInclude ? listed : !listed;
    }
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
      std::array<Ipv4Addr, kMaxQueriedSources> qsrc;  // a group-and-source-specific query's sources
      uint32_t nq = 0;
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
          if (iface_of(k) == iface && e.changes_left && e.member()) {
            e.changes_left = e.mode_left = 0;
            for (auto& x : e.srcs) x.retx = 0;
          }
        older = true;
      } else {
        const uint32_t nsrc = static_cast<uint32_t>(b[10]) << 8 | b[11];
        if (len < ig::kV3QueryMin + 4 * nsrc) return sh.drop(std::move(p), Drop::IgmpTruncated);
        if (nsrc && group.is_any()) return sh.drop(std::move(p), Drop::IgmpBadQuery);  // sources, no group
        if (nsrc <= kMaxQueriedSources) {  // (more: answered about the whole group)
          for (uint32_t i = 0; i < nsrc; ++i) {
            uint32_t a;
            const auto* q = static_cast<const uint8_t*>(rte_pktmbuf_read(p.mbuf(), ig::kV3QueryMin + 4 * i, 4, &a));
            qsrc[nq++] = Ipv4Addr(static_cast<uint32_t>(q[0]) << 24 | static_cast<uint32_t>(q[1]) << 16 |
                                  static_cast<uint32_t>(q[2]) << 8 | q[3]);
          }
        }
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
          any |= iface_of(k) == iface && e.member() && group_of(k) != ig::kAllSystems;
        if (!any) return;
        if (!f.general_at || *f.general_at > at) f.general_at = at;
      } else {
        // A v1/v2 query, or a v3 group(-and-source)-specific one: a timer per group, the earlier one kept
        // (RFC 2236 §3, RFC 3376 §5.2 rules 3-5). A group-and-source-specific query is answered about its
        // sources, added to those of one still pending; a pending answer about the whole group stays so.
        // Each group draws its own delay (RFC 1112 appendix I), so a general query's answers spread out.
        Instant first = Instant::max();
        for (auto& [k, e] : sh.mc.groups) {
          if (iface_of(k) != iface || !e.member() || group_of(k) == ig::kAllSystems) continue;
          if (!group.is_any() && group_of(k) != group) continue;
          const Instant t = random_delay(sh, now, max_resp_ms);
          if (!older && nq) {
            if (!e.answer_at || e.answer_gs) {
              e.answer_gs = true;
              for (uint32_t i = 0; i < nq; ++i)
                if (std::find(e.answer_srcs.begin(), e.answer_srcs.end(), qsrc[i]) == e.answer_srcs.end())
                  e.answer_srcs.push_back(qsrc[i]);
              // Bounded: past kMaxQueriedSources the answer is the group's whole state.
              if (e.answer_srcs.size() > kMaxQueriedSources) {
                e.answer_gs = false;
                e.answer_srcs.clear();
              }
            }
          } else {
            e.answer_gs = false;
            e.answer_srcs.clear();
          }
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
