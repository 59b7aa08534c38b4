#pragma once
// Two Skiff stacks wired back to back through a net_ring pair (or a RingWire: the same rings without ethdev),
// queue q of one end feeding queue q of the other (so both ends open the same number; a side with fewer
// queues than shards steers in software). For demos, tests and benchmarks that want real ports and real
// threads without any NIC.
//
//   std::string err;
//   auto w = make_ring_stacks("demo", {.shards = 2}, {.shards = 2}, &err);
//   // w->a and w->b are built; call Shard::start() on every shard, then poll them (one thread each).

#include <memory>
#include <string>

#include "ethdev/ethdev_port.hh"
#include "netif/device.hh"
#include "stack/stack.hh"

namespace skiff {

struct RingSide {
  unsigned shards = 1;
  uint16_t queues = 0;  // 0 = one per shard
  StackConfig cfg;      // cfg.ip must be set
};

struct RingStacks {
  std::unique_ptr<Stack> a, b;
  std::unique_ptr<NetDevice> port_a, port_b;
  RingStacks() = default;
  RingStacks(const RingStacks&) = delete;
  RingStacks& operator=(const RingStacks&) = delete;
  // Shards go first (their TX batches back to the pools), then the ports, then the stacks.
  ~RingStacks();
};

enum class RingKind {
  NetRing,  // DPDK's net_ring PMD through ethdev
  Direct,   // ring/ring_wire.hh: per-queue state on cache lines of its own (scaling measurements)
};

// Creates the pair ("<name>_a" / "<name>_b" ports) and both stacks (named name + "a" / name + "b");
// nullptr with `err` set on failure.
std::unique_ptr<RingStacks> make_ring_stacks(const std::string& name, const RingSide& a, const RingSide& b,
                                             std::string* err, RingKind kind = RingKind::NetRing);

}  // namespace skiff
