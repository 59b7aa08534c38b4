#include "sock/slab.hh"

#include <mimalloc.h>
#include <rte_errno.h>

#include <cstring>

#include "base/log.hh"

namespace skiff {

ProtoSlab::ProtoSlab(const std::string& name, size_t obj_size, unsigned capacity) : obj_size_(obj_size) {
  if (capacity == 0) return;
  const unsigned cache = capacity >= 1024 ? 128 : 0;
  mp_ = rte_mempool_create(name.c_str(), capacity, static_cast<unsigned>(obj_size), cache, 0, nullptr, nullptr,
                           nullptr, nullptr, SOCKET_ID_ANY, 0);
  if (!mp_)
    SKIFF_LOG(Warn, "slab %s (%u x %zu bytes): %s; using the general allocator", name.c_str(), capacity, obj_size,
              rte_strerror(rte_errno));
}

ProtoSlab::~ProtoSlab() {
  if (mp_) rte_mempool_free(mp_);
}

void* ProtoSlab::alloc(bool* from_slab) {
  void* obj = nullptr;
  *from_slab = false;
  if (mp_ && rte_mempool_get(mp_, &obj) == 0) {
    *from_slab = true;
  } else {
    obj = mi_malloc_aligned(obj_size_, 64);
    if (!obj) return nullptr;
    ++stats_.fallback;
  }
  memset(obj, 0, obj_size_);
  ++stats_.allocs;
  ++stats_.in_use;
  return obj;
}

void ProtoSlab::free(void* obj, bool from_slab) {
  if (!obj) return;
  if (from_slab) {
    rte_mempool_put(mp_, obj);
  } else {
    mi_free(obj);
  }
  ++stats_.frees;
  --stats_.in_use;
}

}  // namespace skiff
