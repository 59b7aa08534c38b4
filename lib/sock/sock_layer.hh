#pragma once
// The socket layer's share of a shard: descriptors, the protocols' slab caches and in-use counts
// (sk_prot_alloc / sk_free), ephemeral ports, and the list of sockets whose readiness changed during
// this poll iteration.

#include <array>
#include <memory>

#include "core/config.hh"
#include "sock/fdtable.hh"
#include "sock/ports.hh"
#include "sock/proto.hh"
#include "sock/slab.hh"

namespace skiff {

class Shard;

class SockLayer {
 public:
  SockLayer(Shard& sh, const SockConfig& cfg, unsigned shard_id, const std::string& stack_name);
  ~SockLayer();
  SockLayer(const SockLayer&) = delete;
  SockLayer& operator=(const SockLayer&) = delete;

  // sk_prot_alloc: a zeroed, constructed object of the protocol's type, from its slab or mimalloc.
  Sock* alloc_sock(const Proto& p);
  // sk_free: destructs and returns the memory where it came from.
  void free_sock(Sock* sk);
  const SlabStats& slab_stats(const Proto& p);
  uint64_t in_use(const Proto& p) { return slab_stats(p).in_use; }
  // Objects of protocol `p` in use now, without creating its slab (0 when it has none yet).
  uint64_t in_use_now(const Proto& p) const { return slabs_[p.index] ? slabs_[p.index]->stats().in_use : 0; }

  // Queues a readiness change for delivery at the end of the poll iteration.
  void wake(Sock* sk, uint32_t events);
  // Delivers queued readiness changes to epoll sets and callbacks. Returns how many sockets it visited.
  unsigned dispatch();
  // Takes a socket off the wake list (it is being freed).
  void forget(Sock* sk);
  bool in_dispatch() const { return in_dispatch_; }

  FdTable fds;
  EphemeralPorts ports;
  const SockConfig& cfg;

 private:
  ProtoSlab& slab(const Proto& p);
  void deliver_callbacks(Sock* sk, uint32_t events);

  Shard& sh_;
  unsigned shard_id_;
  std::string stack_name_;
  std::array<std::unique_ptr<ProtoSlab>, kMaxProtos> slabs_;
  Sock* wake_head_ = nullptr;
  Sock* wake_tail_ = nullptr;
  Sock* dispatching_ = nullptr;  // the rest of the list being delivered
  bool in_dispatch_ = false;
};

}  // namespace skiff
