#include "ring/ring_wire.hh"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_ring.h>

#include <vector>

#include "base/tsan.hh"

namespace skiff {

// ab[q]: a transmits, b receives; ba[q] the other way round.
struct RingWireRings {
  std::vector<rte_ring*> ab, ba;
  ~RingWireRings() {
    for (auto* v : {&ab, &ba}) {
      for (rte_ring* r : *v) {
        if (!r) continue;
        for (void* m; rte_ring_dequeue(r, &m) == 0;) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(r);
      }
    }
  }
};

RingWireEnd::RingWireEnd(std::string name, std::shared_ptr<RingWireRings> rings, bool side_b)
    : name_(std::move(name)), rings_(std::move(rings)) {
  rx_ = side_b ? rings_->ab.data() : rings_->ba.data();
  tx_ = side_b ? rings_->ba.data() : rings_->ab.data();
  rx_queues = tx_queues = static_cast<uint16_t>(rings_->ab.size());
  const uint64_t r = rte_rand();
  mac = wire::MacAddr{{0x02, uint8_t(r), uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24), uint8_t(r >> 32)}};
  caps.tx_multi_seg = true;  // pointers pass as they are
}

RingWireEnd::~RingWireEnd() = default;

uint16_t RingWireEnd::rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  const unsigned got = rte_ring_dequeue_burst(rx_[queue], reinterpret_cast<void**>(pkts), n, nullptr);
#if defined(SKIFF_TSAN)
  for (unsigned i = 0; i < got; ++i) tsan_acquire(pkts[i]);
#endif
  return static_cast<uint16_t>(got);
}

uint16_t RingWireEnd::tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
#if defined(SKIFF_TSAN)
  for (uint16_t i = 0; i < n; ++i) tsan_release(pkts[i]);
#endif
  return static_cast<uint16_t>(rte_ring_enqueue_burst(tx_[queue], reinterpret_cast<void* const*>(pkts), n, nullptr));
}

std::unique_ptr<RingWire> make_ring_wire(const std::string& name, uint16_t queues, unsigned ring_size,
                                         std::string* err) {
  if (queues == 0 || queues > 64) {
    *err = name + ": queues must be 1..64";
    return nullptr;
  }
  auto rings = std::make_shared<RingWireRings>();
  rings->ab.assign(queues, nullptr);
  rings->ba.assign(queues, nullptr);
  for (uint16_t q = 0; q < queues; ++q) {
    const std::string n1 = name + "_wab" + std::to_string(q), n2 = name + "_wba" + std::to_string(q);
    // One producer (the sending shard) and one consumer (the receiving shard) per ring.
    rings->ab[q] = rte_ring_create(n1.c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rings->ba[q] = rte_ring_create(n2.c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!rings->ab[q] || !rings->ba[q]) {
      *err = name + ": rte_ring_create: " + rte_strerror(rte_errno);
      return nullptr;
    }
  }
  auto w = std::make_unique<RingWire>();
  w->a = std::make_unique<RingWireEnd>(name + "_a", rings, false);
  w->b = std::make_unique<RingWireEnd>(name + "_b", rings, true);
  return w;
}

}  // namespace skiff
