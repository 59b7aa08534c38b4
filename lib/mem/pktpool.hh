#pragma once
// PktPool: a pool of packet buffers (rte_pktmbuf pool) owned by one shard, with a per-lcore cache.

#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "mem/pktbuf.hh"

namespace skiff {

// Data bytes of a small buffer: what a stack whose buffers are at least twice as large keeps a second pool
// of, for small datagrams waiting in socket queues (Shard::condense).
inline constexpr uint16_t kSmallBufData = 2048;

struct PktPoolConfig {
  unsigned count = 8191;      // buffers (a power of two minus one suits rte_mempool)
  unsigned cache = 256;       // per-lcore cache size
  uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE;  // 2048 + headroom
  int socket = SOCKET_ID_ANY;
};

class PktPool {
 public:
  // Creates the pool; check ok() (rte_errno says why on failure).
  PktPool(const std::string& name, const PktPoolConfig& cfg);
  ~PktPool();
  PktPool(const PktPool&) = delete;
  PktPool& operator=(const PktPool&) = delete;

  bool ok() const { return mp_ != nullptr; }
  rte_mempool* raw() const { return mp_; }
  Pktbuf alloc() { return Pktbuf(rte_pktmbuf_alloc(mp_)); }
  int alloc_bulk(rte_mbuf** out, unsigned n) { return rte_pktmbuf_alloc_bulk(mp_, out, n); }
  unsigned available() const { return rte_mempool_avail_count(mp_); }
  unsigned in_use() const { return rte_mempool_in_use_count(mp_); }
  unsigned capacity() const { return mp_->size; }

 private:
  rte_mempool* mp_ = nullptr;
};

}  // namespace skiff
