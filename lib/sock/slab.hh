#pragma once
// ProtoSlab: a per-protocol, per-shard object cache (sk_prot_alloc's kmem_cache), over an rte_mempool with
// a per-lcore cache (lock-free), so an object freed on another lcore (cross-shard close) is also safe.
// When the slab is exhausted, objects come from the general allocator (mimalloc) and are counted.

#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace skiff {

struct SlabStats {
  uint64_t in_use = 0;       // objects allocated and not yet freed (slab + fallback)
  uint64_t allocs = 0;
  uint64_t frees = 0;
  uint64_t fallback = 0;     // served by mimalloc because the slab was empty (or absent)
};

class ProtoSlab {
 public:
  // `capacity` 0 = no slab: everything from mimalloc.
  ProtoSlab(const std::string& name, size_t obj_size, unsigned capacity);
  ~ProtoSlab();
  ProtoSlab(const ProtoSlab&) = delete;
  ProtoSlab& operator=(const ProtoSlab&) = delete;

  // Zeroed memory for one object; *from_slab says where it came from. nullptr when memory is exhausted.
  void* alloc(bool* from_slab);
  void free(void* obj, bool from_slab);

  size_t obj_size() const { return obj_size_; }
  bool has_slab() const { return mp_ != nullptr; }
  const SlabStats& stats() const { return stats_; }

 private:
  rte_mempool* mp_ = nullptr;
  size_t obj_size_;
  SlabStats stats_;
};

}  // namespace skiff
