#pragma once
// IPv4 multicast for a host (RFC 1112 "level 2"): sockets join groups (IP_ADD_MEMBERSHIP), the interface
// takes what some socket joined, and IGMP tells the routers: version 3 (RFC 3376) as Linux speaks it by
// default, falling back to version 2 (RFC 2236) or 1 (RFC 1112) while an older querier is heard (RFC 3376
// §7). Source filters (RFC 3678: IP_ADD_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE, IP_MSFILTER, the MCAST_* forms)
// per socket and membership; the interface's state is their merger (RFC 3376 §3.2), kept as Linux keeps it:
// how many sockets are in each mode, and per source how many list it in each mode.
//
// Several shards: every change of a socket's filter is a delta of those counts, which the shard sends to every
// shard (itself included), so every shard holds the same host-wide state (McTable::Group), the one IPv4 input
// filters by. Shard 0 runs IGMP for the host and programs the devices' multicast filters from it.

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/clock.hh"
#include "sock/sock.hh"
#include "wire/addr.hh"

namespace skiff {

class Shard;
class Pktbuf;
struct Ipv4Rx;

class McTable {
 public:
  static constexpr uint8_t kEx = McMembership::kExclude, kIn = McMembership::kInclude;
  struct Src {
    wire::Ipv4Addr addr;
    uint32_t count[2] = {};  // sockets of the host listing it, by their filter mode
    // IGMP (shard 0): ALLOW / BLOCK records still to send for it (RFC 3376 §5.1), and which.
    uint8_t retx = 0;
    bool allow = false;
  };
  struct Group {
    uint32_t sfcount[2] = {};  // sockets of the host with a membership, by filter mode
    std::vector<Src> srcs;     // sources some socket lists (and, on shard 0, ones whose change is being told)
    // IGMP (shard 0 only).
    uint8_t changes_left = 0;  // state-change report rounds still to send (RFC 3376 §5.1: Robustness Variable)
    uint8_t mode_left = 0;     // of which carry a filter mode change (TO_IN / TO_EX with the current sources)
    Instant change_at{};       // when the next is due
    std::optional<Instant> answer_at;  // a query about this group is answered then
    bool answer_gs = false;            // ... a group-and-source-specific one: about answer_srcs only
    std::vector<wire::Ipv4Addr> answer_srcs;

    bool member() const { return sfcount[kEx] + sfcount[kIn] != 0; }
    // The interface state (RFC 3376 §3.2): EXCLUDE when some socket excludes, the sources every excluding
    // socket excludes and no socket includes; else INCLUDE the sources some socket includes.
    uint8_t mode() const { return sfcount[kEx] ? kEx : kIn; }
    bool in_state(const Src& s) const {
      return sfcount[kEx] ? s.count[kEx] == sfcount[kEx] && !s.count[kIn] : s.count[kIn] != 0;
    }
    std::vector<wire::Ipv4Addr> state_sources() const;
    // Whether the host takes a datagram from `src` (Linux's ip_check_mc_rcu).
    bool wants(wire::Ipv4Addr src) const;
  };
  struct IfState {               // shard 0's IGMP state for one interface
    Instant v1_until{}, v2_until{};     // an IGMPv1 / v2 querier was heard: speak its version until then
    std::optional<Instant> general_at;  // a v3 general query is answered then
    uint8_t qrv = 2;                    // Robustness Variable (the querier's QRV, else RFC 3376's default)
  };

  static uint64_t key(unsigned iface, wire::Ipv4Addr g) { return uint64_t{iface} << 32 | g.host(); }
  // Whether a datagram from `src` to `g` arriving on `iface` is for this host: a group some socket of the
  // host joined there, with a filter that lets `src` through (IGMP: any source), or all-systems (224.0.0.1,
  // which every host is a member of: RFC 1112 §4).
  bool accepts(unsigned iface, wire::Ipv4Addr g, wire::Ipv4Addr src, bool igmp = false) const;
  Group* find(unsigned iface, wire::Ipv4Addr g) {
    auto it = groups.find(key(iface, g));
    return it == groups.end() ? nullptr : &it->second;
  }
  IfState& ifstate(unsigned iface) {
    if (ifs.size() <= iface) ifs.resize(iface + 1);
    return ifs[iface];
  }

  std::unordered_map<uint64_t, Group> groups;
  std::vector<IfState> ifs;
};

// Linux's igmp_max_memberships and igmp_max_msf defaults: groups one socket may join, sources one
// membership's filter may list.
inline constexpr size_t kMcMaxMemberships = 20;
inline constexpr size_t kMcMaxSources = 10;

// The memberships of a UDP or raw socket; null for others (TCP).
McList* inet_mc_list(Sock* sk);
// The interface a membership request names (Linux's ip_mc_find_dev): `ifindex` (1-based) if set, else the
// one holding `addr` if set, else the route to the group's. -1: none.
int mc_find_iface(Shard& sh, wire::Ipv4Addr group, wire::Ipv4Addr addr, int ifindex);
// Joins `group` on `iface` with an empty filter of `mode` (any-source: EXCLUDE; IP_ADD_SOURCE_MEMBERSHIP
// joins INCLUDE first, as Linux's ip_mc_join_group_ssm). 0 or Linux's errno: -EADDRINUSE (joined already),
// -ENOBUFS (kMcMaxMemberships reached).
int mc_join(Sock* sk, wire::Ipv4Addr group, unsigned iface, uint8_t mode = McMembership::kExclude);
// IP_DROP_MEMBERSHIP: 0 or -EADDRNOTAVAIL (not a member).
int mc_leave(Sock* sk, wire::Ipv4Addr group, unsigned iface);
// Adds (`add`) or removes `source` to/from the filter of the membership of `group` on `iface`, which must be
// in `mode` (Linux's ip_mc_source): IP_ADD_SOURCE_MEMBERSHIP / IP_DROP_SOURCE_MEMBERSHIP (INCLUDE),
// IP_BLOCK_SOURCE / IP_UNBLOCK_SOURCE (EXCLUDE). Removing the last source of an INCLUDE filter leaves the
// group. -EINVAL: no membership, or a filter of the other mode with sources; -EADDRNOTAVAIL: the source is
// already there (add) or not there (remove); -ENOBUFS: kMcMaxSources listed.
int mc_source(Sock* sk, bool add, uint8_t mode, wire::Ipv4Addr group, wire::Ipv4Addr source, unsigned iface);
// IP_MSFILTER / MCAST_MSFILTER: replaces the filter (Linux's ip_mc_msfilter); INCLUDE with no sources leaves
// the group. -EINVAL: not a member.
int mc_set_filter(Sock* sk, wire::Ipv4Addr group, unsigned iface, uint8_t mode,
                  const std::vector<wire::Ipv4Addr>& sources);
// The membership's filter, or null when there is none (getsockopt: EADDRNOTAVAIL).
const McMembership* mc_membership(Sock* sk, wire::Ipv4Addr group, unsigned iface);
// Leaves every group (the socket is going: Linux's ip_mc_drop_socket).
void mc_leave_all(Sock* sk);
// Whether a socket takes a datagram from `src` to `group` that arrived on `iface` and that the host accepted
// (Linux's ip_mc_sf_allow): it joined the group there with a filter that lets `src` through, or it is no
// member there and has IP_MULTICAST_ALL on (the default: a socket bound to the port gets every group some
// socket of the host joined).
bool mc_sock_allows(Sock* sk, wire::Ipv4Addr group, unsigned iface, wire::Ipv4Addr src);

// IGMP input (`p` at the IGMP header). Several shards: only shard 0 (IPv4 input hands it there).
void igmp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx);
// Sends the IGMP reports that are due (shard 0's housekeeping).
void igmp_tick(Shard& sh);
// Shard 0 at start: programs each device's multicast filter (all-systems).
void mc_start(Shard& sh);

}  // namespace skiff
