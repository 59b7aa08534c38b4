#include "mem/pktpool.hh"

#include <rte_errno.h>

#include "base/log.hh"

namespace skiff {

PktPool::PktPool(const std::string& name, const PktPoolConfig& cfg) {
  mp_ = rte_pktmbuf_pool_create(name.c_str(), cfg.count, cfg.cache, kPktPrivSize, cfg.data_room, cfg.socket);
  if (!mp_) SKIFF_LOG(Error, "mbuf pool %s (%u buffers): %s", name.c_str(), cfg.count, rte_strerror(rte_errno));
}

PktPool::~PktPool() {
  if (mp_) rte_mempool_free(mp_);
}

}  // namespace skiff
