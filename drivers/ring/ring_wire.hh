#pragma once
// RingWire: two NetDevices joined back to back by rte_rings, queue q of one end feeding queue q of the other,
// without ethdev in between. For in-process pairs whose numbers should show the stack, not the wire: the
// net_ring PMD keeps every queue's packet counters in one array (24 bytes a queue) and writes them on every
// burst, empty or not, so shards polling neighbouring queues write the same cache lines. Here a queue's only
// state is its rings, each on cache lines of its own; like a NIC queue, polling one touches nothing another
// shard writes. (On the lent 16-core VMs the two wires scaled alike within run-to-run spread:
// docs/performance.md, "Scaling with cores".) No offloads (as net_ring): checksums are computed in software.
//
//   std::string err;
//   auto wire = make_ring_wire("w", 4, 4096, &err);   // wire->a, wire->b: 4 queue pairs each

#include <cstdint>
#include <memory>
#include <string>

#include "netif/device.hh"

struct rte_ring;

namespace skiff {

struct RingWireRings;

class RingWireEnd final : public NetDevice {
 public:
  RingWireEnd(std::string name, std::shared_ptr<RingWireRings> rings, bool side_b);
  ~RingWireEnd() override;
  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  const char* name() const override { return name_.c_str(); }

 private:
  std::string name_;
  std::shared_ptr<RingWireRings> rings_;  // shared with the other end; the last end frees them
  rte_ring* const* rx_;  // rx_[q]: what the other end sent on its queue q
  rte_ring* const* tx_;
};

struct RingWire {
  std::unique_ptr<RingWireEnd> a, b;
};

// `queues` queue pairs per end (1..64), `ring_size` a power of two. nullptr with `err` set on failure.
std::unique_ptr<RingWire> make_ring_wire(const std::string& name, uint16_t queues, unsigned ring_size,
                                         std::string* err);

}  // namespace skiff
