#pragma once
// A Stack is one Skiff instance: its interfaces, routes, packet pools and shards (one per lcore).
// Several stacks can live in one process (the demo wires two together over a net_ring pair).
//
// Setup order: make_pools() → configure devices with pool(i) for queue i → add_iface() → build_shards().

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct rte_ring;

#include "base/clock.hh"
#include "core/config.hh"
#include "mem/pktpool.hh"
#include "netif/iface.hh"
#include "netif/route.hh"
#include "stack/shard.hh"

namespace skiff {

class Stack {
 public:
  Stack(std::string name, const StackConfig& cfg);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // One packet pool per shard; false (with a logged reason) if memory is short. Where the buffers are
  // at least twice kSmallBufData (jumbo MTU, an af_packet framesz), each shard also gets a pool of small
  // buffers (half as many) that small datagrams are copied into before they wait in a socket's queue.
  bool make_pools(unsigned shards);
  PktPool& pool(unsigned shard) { return *pools_[shard]; }
  PktPool* small_pool(unsigned shard) { return shard < small_pools_.size() ? small_pools_[shard].get() : nullptr; }
  unsigned shard_count() const { return static_cast<unsigned>(pools_.size()); }

  // Adds an interface over `dev`; `addr` may be empty (no IPv4 address). Returns its index.
  unsigned add_iface(NetDevice* dev, std::optional<wire::Ipv4Cidr> addr);
  // Adds the default route via `gw`; false if no interface's subnet contains it.
  bool set_gateway(wire::Ipv4Addr gw);
  void add_route(const Route& r) { routes_.add(r); }

  // The RSS redirection table size the devices use (before build_shards; default kRssRetaSize).
  void set_reta_size(unsigned n) { reta_size_ = n; }
  // Creates the shards. Shard i uses queue i of every interface that has one; a shard beyond a device's
  // RX queues receives through another shard (software steering) and one beyond its TX queues sends
  // through shard i % tx_queues. With several shards, every shard gets an inbox and a control ring.
  // False (with a logged reason) if the rings cannot be created.
  bool build_shards(Clock& clock);
  // Destroys the shards (before the devices stop and the pools go).
  void release_shards();
  // Runs `fn` on every shard, each on its own thread, and waits (up to `timeout`) until all have run it;
  // false on timeout. While the shards are not polling (`running` false) it runs them here. A shard
  // thread may call it: its own part runs at once and it keeps polling while it waits.
  bool run_on_all(const std::function<void(Shard&)>& fn, Duration timeout = 5s);
  // Counters summed over shards, collected by message from the shards themselves (consistent per shard).
  bool collect(ShardStats* stats, DropCounters* drops, Duration timeout = 5s);
  // Replaces the RSS redirection table of every shard (entries < shard_count(), reta size entries); new
  // active opens follow it at once. Devices are reprogrammed by whoever owns them (Runtime).
  bool set_reta(const std::vector<uint16_t>& reta);
  // Set by Runtime while the shards poll on their lcores.
  std::atomic<bool> running{false};
  Shard& shard(unsigned i) { return *shards_[i]; }
  Iface& iface(unsigned i) { return *ifaces_[i]; }
  unsigned iface_count() const { return static_cast<unsigned>(ifaces_.size()); }
  const std::string& name() const { return name_; }
  const StackConfig& config() const { return cfg_; }

  // Counters summed over shards (read while shards are stopped, or accept a racy snapshot).
  ShardStats total_stats() const;
  DropCounters total_drops() const;
  void print_counters(FILE* out) const;

 private:
  std::string name_;
  StackConfig cfg_;
  std::vector<std::unique_ptr<PktPool>> pools_;
  std::vector<std::unique_ptr<PktPool>> small_pools_;
  std::vector<std::unique_ptr<Iface>> ifaces_;
  RouteTable routes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<RssHash> rss_hash_;
  std::vector<rte_ring*> rings_;
  unsigned reta_size_ = kRssRetaSize;
};

}  // namespace skiff
