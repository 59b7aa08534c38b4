#include "mem/pktpool.hh"

#include <atomic>

#include <rte_errno.h>
#include <rte_ring.h>

#include "base/log.hh"
#include "base/tsan.hh"

namespace skiff {

#if defined(SKIFF_TSAN)
// Under ThreadSanitizer: a mempool driver compiled here (instrumented), with the buffers' addresses
// released on put and acquired on get, so buffers recycled between shards are no false races.
namespace {
int tsan_alloc(rte_mempool* mp) {
  const std::string name = std::string("tsan_") + mp->name;
  rte_ring* r = rte_ring_create(name.c_str(), rte_align32pow2(mp->size + 1), mp->socket_id, 0);
  if (!r) return -rte_errno;
  mp->pool_data = r;
  return 0;
}
void tsan_free(rte_mempool* mp) { rte_ring_free(static_cast<rte_ring*>(mp->pool_data)); }
// The ring's multi-producer hand-off is correct on the hardware but not provable to ThreadSanitizer: a
// producer publishes the tail only after waiting, with a relaxed load, for the producer before it, so the
// earlier producer's slot writes do not formally happen before a consumer that acquires the later tail,
// and TSan reports the slot read (seen once in ~10 runs of the threaded tests). In this TSan-only driver the
// ring operations are therefore serialised by a flag with acquire/release ordering, which TSan understands.
// Production builds never compile this (they use DPDK's ring driver, lock-free).
std::atomic_flag g_tsan_ring_busy = ATOMIC_FLAG_INIT;
struct TsanRingGuard {
  TsanRingGuard() {
    while (g_tsan_ring_busy.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~TsanRingGuard() { g_tsan_ring_busy.clear(std::memory_order_release); }
};
int tsan_enqueue(rte_mempool* mp, void* const* objs, unsigned n) {
  for (unsigned i = 0; i < n; ++i) tsan_release(objs[i]);
  TsanRingGuard g;
  return rte_ring_mp_enqueue_bulk(static_cast<rte_ring*>(mp->pool_data), objs, n, nullptr) ? 0 : -ENOBUFS;
}
int tsan_dequeue(rte_mempool* mp, void** objs, unsigned n) {
  {
    TsanRingGuard g;
    if (!rte_ring_mc_dequeue_bulk(static_cast<rte_ring*>(mp->pool_data), objs, n, nullptr)) return -ENOENT;
  }
  for (unsigned i = 0; i < n; ++i) tsan_acquire(objs[i]);
  return 0;
}
unsigned tsan_count(const rte_mempool* mp) {
  // rte_ring_count() reads the indices plainly (a snapshot by design); read them as atomics here.
  const auto* r = static_cast<const rte_ring*>(mp->pool_data);
  const uint32_t prod = __atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED);
  const uint32_t cons = __atomic_load_n(&r->cons.tail, __ATOMIC_RELAXED);
  const uint32_t count = (prod - cons) & r->mask;
  return count > r->capacity ? r->capacity : count;
}
rte_mempool_ops tsan_ops = {
    .name = "skiff_tsan",
    .alloc = tsan_alloc,
    .free = tsan_free,
    .enqueue = tsan_enqueue,
    .dequeue = tsan_dequeue,
    .get_count = tsan_count,
    .calc_mem_size = nullptr,
    .populate = nullptr,
    .get_info = nullptr,
    .dequeue_contig_blocks = nullptr,
};
}  // namespace
RTE_MEMPOOL_REGISTER_OPS(tsan_ops);
#endif

PktPool::PktPool(const std::string& name, const PktPoolConfig& cfg) {
#if defined(SKIFF_TSAN)
  mp_ = rte_pktmbuf_pool_create_by_ops(name.c_str(), cfg.count, cfg.cache, kPktPrivSize, cfg.data_room, cfg.socket,
                                       "skiff_tsan");
#else
  mp_ = rte_pktmbuf_pool_create(name.c_str(), cfg.count, cfg.cache, kPktPrivSize, cfg.data_room, cfg.socket);
#endif
  if (!mp_) SKIFF_LOG(Error, "mbuf pool %s (%u buffers): %s", name.c_str(), cfg.count, rte_strerror(rte_errno));
}

PktPool::~PktPool() {
  if (mp_) rte_mempool_free(mp_);
}

}  // namespace skiff
