#include "pair_harness.hh"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstring>
#include <string>

namespace skiff::test {

namespace {
std::atomic<unsigned> g_pair_seq{0};

std::unique_ptr<Stack> make(const std::string& name, const StackConfig& cfg, FakeDevice& dev, Ipv4Addr ip,
                            ManualClock& clock) {
  StackConfig c = cfg;
  c.ip = wire::Ipv4Cidr{ip, 24};
  auto st = std::make_unique<Stack>(name, c);
  EXPECT_TRUE(st->make_pools(1));
  st->add_iface(&dev, c.ip);
  st->build_shards(clock);
  return st;
}
}  // namespace

PairHarness::PairHarness(StackConfig cfg) {
  const unsigned n = g_pair_seq++;
  dev_a_.mac = MacAddr{{0x02, 0, 0, 0, 0xa, 1}};
  dev_b_.mac = MacAddr{{0x02, 0, 0, 0, 0xb, 2}};
  std::string na = "pa", nb = "pb";
  na += std::to_string(n);
  nb += std::to_string(n);
  a_ = make(na, cfg, dev_a_, kA, clock_);
  b_ = make(nb, cfg, dev_b_, kB, clock_);
  a().start();
  b().start();
  pump();
}

PairHarness::~PairHarness() {
  set_this_shard(nullptr);
  a_->release_shards();
  b_->release_shards();
  for (auto* d : {&dev_a_, &dev_b_}) {
    for (auto* m : d->rx) rte_pktmbuf_free(m);
    for (auto* m : d->tx) rte_pktmbuf_free(m);
    d->rx.clear();
    d->tx.clear();
  }
  EXPECT_EQ(a_->pool(0).in_use(), 0u) << "stack a leaked packet buffers";
  EXPECT_EQ(b_->pool(0).in_use(), 0u) << "stack b leaked packet buffers";
  for (Stack* s : {a_.get(), b_.get()})
    if (PktPool* small = s->small_pool(0)) {
      EXPECT_EQ(small->in_use(), 0u) << "small packet buffers leaked";
    }
}

size_t PairHarness::move(FakeDevice& from, FakeDevice& to, bool a_to_b) {
  size_t n = 0;
  std::vector<rte_mbuf*> frames;
  frames.swap(from.tx);
  for (rte_mbuf* m : frames) {
    int copies = 1;
    if (filter) {
      Bytes b(m->pkt_len);
      const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
      if (p != b.data()) memcpy(b.data(), p, m->pkt_len);
      copies = filter(a_to_b, b);
    }
    if (copies <= 0) {
      ++dropped;
      rte_pktmbuf_free(m);
      continue;
    }
    // Frames cross as fresh copies from the receiver's pool (as a NIC would deliver them).
    Shard& rx = a_to_b ? b() : a();
    for (int c = 0; c < copies; ++c) {
      rte_mbuf* copy = rte_pktmbuf_copy(m, rx.pool.raw(), 0, UINT32_MAX);
      if (!copy) {
        ++dropped;
        continue;
      }
      copy->ol_flags = 0;
      to.rx.push_back(copy);
      ++carried;
      ++n;
    }
    rte_pktmbuf_free(m);
  }
  return n;
}

size_t PairHarness::pump(int max_rounds) {
  size_t total = 0;
  Shard* saved = this_shard();
  for (int i = 0; i < max_rounds; ++i) {
    set_this_shard(&a());
    a().poll_once();
    set_this_shard(&b());
    b().poll_once();
    const size_t n = move(dev_a_, dev_b_, true) + move(dev_b_, dev_a_, false);
    total += n;
    if (n == 0 && dev_a_.rx.empty() && dev_b_.rx.empty()) break;
  }
  set_this_shard(saved);
  return total;
}

void PairHarness::advance(Duration d, Duration step) {
  for (Duration t{0}; t < d; t += step) {
    clock_.advance(step);
    pump();
  }
}

}  // namespace skiff::test
