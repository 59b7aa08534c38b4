#pragma once
// The route table: connected subnets and gateways, longest prefix first. Tiny (a handful of entries per
// interface), so a sorted array beats a trie here; rte_lpm would pay off only with many routes.

#include <optional>
#include <vector>

#include "wire/addr.hh"

namespace skiff {

struct Route {
  wire::Ipv4Cidr dest;             // network and prefix
  wire::Ipv4Addr gateway;          // 0.0.0.0 = on-link (connected)
  unsigned iface = 0;
  wire::Ipv4Addr src;              // preferred source address
};

struct RouteResult {
  unsigned iface;
  wire::Ipv4Addr next_hop;
  wire::Ipv4Addr src;
};

class RouteTable {
 public:
  void add(const Route& r);
  void clear() { routes_.clear(); }
  std::optional<RouteResult> lookup(wire::Ipv4Addr dst) const {
    for (const Route& r : routes_) {
      if (r.dest.contains(dst)) return RouteResult{r.iface, r.gateway.is_any() ? dst : r.gateway, r.src};
    }
    return std::nullopt;
  }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;  // sorted by prefix length, longest first
};

}  // namespace skiff
