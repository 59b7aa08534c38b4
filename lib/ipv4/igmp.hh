#pragma once
// IPv4 multicast for a host (RFC 1112 "level 2"): sockets join groups (IP_ADD_MEMBERSHIP), the interface
// takes what some socket joined, and IGMP tells the routers: version 3 (RFC 3376) as Linux speaks it by
// default, falling back to version 2 (RFC 2236) or 1 (RFC 1112) while an older querier is heard (RFC 3376
// §7). Any-source membership: a group is joined in EXCLUDE mode with no sources (source filters,
// IP_ADD_SOURCE_MEMBERSHIP and IP_MSFILTER, are not offered).
//
// Several shards: each shard counts its own sockets' memberships; when its first one to a group comes or its
// last one goes it tells every shard (itself included), so every shard holds the same host-wide view of which
// shards are members of which group (McTable::Group::shards), the one IPv4 input filters by. Shard 0 runs
// IGMP for the host and programs the devices' multicast filters from that view.

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
  struct Group {
    uint32_t local = 0;   // memberships of this shard's sockets
    uint64_t shards = 0;  // the shards with memberships, one bit each (the host-wide view)
    // IGMP (shard 0 only).
    uint8_t changes_left = 0;  // state-change reports still to send (RFC 3376 §5.1: Robustness Variable times)
    bool leaving = false;      // what they announce: the host left (else joined)
    Instant change_at{};       // when the next is due
    std::optional<Instant> answer_at;  // a query about this group is answered then
  };
  struct IfState {               // shard 0's IGMP state for one interface
    Instant v1_until{}, v2_until{};     // an IGMPv1 / v2 querier was heard: speak its version until then
    std::optional<Instant> general_at;  // a v3 general query is answered then
    uint8_t qrv = 2;                    // Robustness Variable (the querier's QRV, else RFC 3376's default)
  };

  static uint64_t key(unsigned iface, wire::Ipv4Addr g) { return uint64_t{iface} << 32 | g.host(); }
  // Whether a datagram to `g` arriving on `iface` is for this host: a group some socket of the host joined
  // there, or all-systems (224.0.0.1, which every host is a member of: RFC 1112 §4).
  bool accepts(unsigned iface, wire::Ipv4Addr g) const;
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

// Linux's igmp_max_memberships default: groups one socket may join.
inline constexpr size_t kMcMaxMemberships = 20;

// The memberships of a UDP or raw socket; null for others (TCP).
McList* inet_mc_list(Sock* sk);
// The interface a membership request names (Linux's ip_mc_find_dev): `ifindex` (1-based) if set, else the
// one holding `addr` if set, else the route to the group's. -1: none.
int mc_find_iface(Shard& sh, wire::Ipv4Addr group, wire::Ipv4Addr addr, int ifindex);
// IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP: 0 or Linux's errno (-EADDRINUSE: joined already; -ENOBUFS:
// kMcMaxMemberships reached; -EADDRNOTAVAIL: not a member).
int mc_join(Sock* sk, wire::Ipv4Addr group, unsigned iface);
int mc_leave(Sock* sk, wire::Ipv4Addr group, unsigned iface);
// Leaves every group (the socket is going: Linux's ip_mc_drop_socket).
void mc_leave_all(Sock* sk);
// Whether a socket takes a datagram to `group` that arrived on `iface` and that the host accepted (Linux's
// ip_mc_sf_allow): it joined the group there, or it has IP_MULTICAST_ALL on (the default: a socket bound
// to the port gets every group some socket of the host joined).
bool mc_sock_allows(Sock* sk, wire::Ipv4Addr group, unsigned iface);

// IGMP input (`p` at the IGMP header). Several shards: only shard 0 (IPv4 input hands it there).
void igmp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx);
// Sends the IGMP reports that are due (shard 0's housekeeping).
void igmp_tick(Shard& sh);
// Shard 0 at start: programs each device's multicast filter (all-systems).
void mc_start(Shard& sh);

}  // namespace skiff
