#include "multi_harness.hh"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstring>
#include <string>

namespace skiff::test {

namespace {
std::atomic<unsigned> g_multi_seq{0};
}

QueueDevice::QueueDevice(uint16_t queues) : rx(queues), tx(queues) {
  rx_queues = tx_queues = queues;
}

QueueDevice::~QueueDevice() { clear(); }

void QueueDevice::clear() {
  for (auto& q : rx) {
    for (auto* m : q) rte_pktmbuf_free(m);
    q.clear();
  }
  for (auto& q : tx) {
    for (auto* m : q) rte_pktmbuf_free(m);
    q.clear();
  }
}

uint16_t QueueDevice::rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  EXPECT_LT(queue, rx.size()) << "a shard polled a queue the device does not have";
  if (queue >= rx.size()) return 0;
  uint16_t i = 0;
  auto& q = rx[queue];
  while (i < n && !q.empty()) {
    pkts[i++] = q.front();
    q.pop_front();
  }
  return i;
}

uint16_t QueueDevice::tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  EXPECT_LT(queue, tx.size()) << "a shard sent on a queue the device does not have";
  if (queue >= tx.size()) return 0;
  for (uint16_t i = 0; i < n; ++i) tx[queue].push_back(pkts[i]);
  return n;
}

namespace {
std::unique_ptr<Stack> make(const std::string& name, const StackConfig& cfg, QueueDevice& dev, Ipv4Addr ip,
                            unsigned shards, ManualClock& clock) {
  StackConfig c = cfg;
  c.ip = wire::Ipv4Cidr{ip, 24};
  c.pool_size = 4095;
  c.sock.tcp_slab = 2048;  // several stacks of several shards per test binary: keep the slabs small
  c.sock.udp_slab = 256;
  auto st = std::make_unique<Stack>(name, c);
  EXPECT_TRUE(st->make_pools(shards));
  st->add_iface(&dev, c.ip);
  EXPECT_TRUE(st->build_shards(clock));
  return st;
}
}  // namespace

MultiHarness::MultiHarness(const MultiOptions& o) : o_(o), dev_a_(o.a_queues), dev_b_(o.b_queues) {
  const unsigned n = g_multi_seq++;
  dev_a_.mac = MacAddr{{0x02, 0, 0, 0, 0xa, 1}};
  dev_b_.mac = MacAddr{{0x02, 0, 0, 0, 0xb, 2}};
  dev_a_.rss = o.wire == WireModel::Rss;
  dev_b_.rss = o.wire == WireModel::Rss;
  std::string na = "ma", nb = "mb";
  na += std::to_string(n);
  nb += std::to_string(n);
  a_ = make(na, o.cfg, dev_a_, kA, o.a_shards, clock_);
  b_ = make(nb, o.cfg, dev_b_, kB, o.b_shards, clock_);
  for (unsigned i = 0; i < a_->shard_count(); ++i) a(i).start();
  for (unsigned i = 0; i < b_->shard_count(); ++i) b(i).start();
  pump();
}

MultiHarness::~MultiHarness() {
  set_this_shard(nullptr);
  a_->release_shards();
  b_->release_shards();
  dev_a_.clear();
  dev_b_.clear();
  for (unsigned i = 0; i < o_.a_shards; ++i) EXPECT_EQ(a_->pool(i).in_use(), 0u) << "stack a shard " << i << " leaked";
  for (unsigned i = 0; i < o_.b_shards; ++i) EXPECT_EQ(b_->pool(i).in_use(), 0u) << "stack b shard " << i << " leaked";
  for (Stack* s : {a_.get(), b_.get()})
    for (unsigned i = 0; i < s->shard_count(); ++i)
      if (PktPool* small = s->small_pool(i)) {
        EXPECT_EQ(small->in_use(), 0u) << "small buffers leaked, shard " << i;
      }
}

size_t MultiHarness::move(QueueDevice& from, QueueDevice& to, Stack& to_stack, bool a_to_b) {
  size_t n = 0;
  const uint16_t nq = static_cast<uint16_t>(to.rx.size());
  const RssMap map(to_stack.shard_count());
  for (uint16_t q = 0; q < from.tx.size(); ++q) {
    std::vector<rte_mbuf*> frames;
    frames.swap(from.tx[q]);
    for (rte_mbuf* m : frames) {
      Bytes b(m->pkt_len);
      const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
      if (p != b.data()) memcpy(b.data(), p, m->pkt_len);
      const bool rewritten = static_cast<bool>(rewrite);  // then every frame crosses as built from `b`
      if (rewritten) rewrite(a_to_b, b);
      const int copies = filter ? filter(a_to_b, b) : 1;
      uint16_t rq = 0;
      if (nq > 1) {
        switch (o_.wire) {
          case WireModel::Mirror: rq = static_cast<uint16_t>(q % nq); break;
          case WireModel::Rss: {
            // What a NIC with Skiff's key does: hash the tuple (addresses for fragments and non-TCP/UDP).
            rq = static_cast<uint16_t>(frame_owner(hash_, map, b.data(), static_cast<uint32_t>(b.size()), 0) % nq);
            break;
          }
          case WireModel::Spray: rq = static_cast<uint16_t>(spray_++ % nq); break;
        }
      }
      // Frames cross as fresh copies from the receiving queue's pool (as a NIC delivers them).
      for (int c = 0; c < copies; ++c) {
        rte_mbuf* copy = nullptr;
        if (!rewritten) {
          copy = rte_pktmbuf_copy(m, to_stack.pool(rq).raw(), 0, UINT32_MAX);
        } else if ((copy = rte_pktmbuf_alloc(to_stack.pool(rq).raw()))) {
          char* d = rte_pktmbuf_append(copy, static_cast<uint16_t>(b.size()));
          if (d) {
            memcpy(d, b.data(), b.size());
          } else {
            rte_pktmbuf_free(copy);
            copy = nullptr;
          }
        }
        if (!copy) continue;
        copy->ol_flags = 0;
        to.rx[rq].push_back(copy);
        ++carried;
        ++n;
      }
      rte_pktmbuf_free(m);
    }
  }
  return n;
}

size_t MultiHarness::pump(int max_rounds) {
  size_t total = 0;
  Shard* saved = this_shard();
  for (int i = 0; i < max_rounds; ++i) {
    size_t work = 0;
    for (Stack* st : {a_.get(), b_.get()}) {
      for (unsigned s = 0; s < st->shard_count(); ++s) {
        set_this_shard(&st->shard(s));
        work += st->shard(s).poll_once();
      }
    }
    const size_t n = move(dev_a_, dev_b_, *b_, true) + move(dev_b_, dev_a_, *a_, false);
    total += n;
    if (n == 0 && work == 0) break;
  }
  set_this_shard(saved);
  return total;
}

void MultiHarness::advance(Duration d, Duration step) {
  for (Duration t{0}; t < d; t += step) {
    clock_.advance(step);
    pump();
  }
}

uint64_t MultiHarness::sum(Stack& s, uint64_t ShardStats::*field) {
  uint64_t t = 0;
  for (unsigned i = 0; i < s.shard_count(); ++i) t += s.shard(i).stats.*field;
  return t;
}

}  // namespace skiff::test
