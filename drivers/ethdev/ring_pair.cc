#include "ethdev/ring_pair.hh"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include <vector>

#include "base/log.hh"

namespace skiff {

std::optional<std::pair<uint16_t, uint16_t>> make_ring_pair(const std::string& name, uint16_t queues,
                                                            unsigned ring_size) {
  std::vector<rte_ring*> ab(queues), ba(queues);
  for (uint16_t q = 0; q < queues; ++q) {
    const std::string n1 = name + "_ab" + std::to_string(q), n2 = name + "_ba" + std::to_string(q);
    ab[q] = rte_ring_create(n1.c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ba[q] = rte_ring_create(n2.c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ab[q] || !ba[q]) {
      SKIFF_LOG(Error, "ring pair %s: %s", name.c_str(), rte_strerror(rte_errno));
      return std::nullopt;
    }
  }
  // a transmits into ab and receives from ba; b the other way round.
  const int a = rte_eth_from_rings((name + "_a").c_str(), ba.data(), queues, ab.data(), queues, SOCKET_ID_ANY);
  const int b = rte_eth_from_rings((name + "_b").c_str(), ab.data(), queues, ba.data(), queues, SOCKET_ID_ANY);
  if (a < 0 || b < 0) {
    SKIFF_LOG(Error, "ring pair %s: rte_eth_from_rings: %s", name.c_str(), rte_strerror(rte_errno));
    return std::nullopt;
  }
  return std::make_pair(static_cast<uint16_t>(a), static_cast<uint16_t>(b));
}

}  // namespace skiff
