#include "netif/route.hh"

#include <algorithm>

namespace skiff {

void RouteTable::add(const Route& r) {
  Route n = r;
  n.dest.addr = n.dest.network();
  auto pos = std::find_if(routes_.begin(), routes_.end(),
                          [&](const Route& e) { return e.dest.prefix_len < n.dest.prefix_len; });
  routes_.insert(pos, n);
}

}  // namespace skiff
