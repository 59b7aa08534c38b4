#pragma once
// MultiHarness: two Skiff stacks with several shards each, wired back to back through in-memory
// multi-queue devices, one manual clock, one thread. "a" is 10.0.0.1, "b" is 10.0.0.2. How a frame sent
// on TX queue q of one side picks an RX queue on the other is the wire model:
//   Mirror  RX queue = q (memif, virtio_user <-> vhost: queue pairs are mapped one to one)
//   Rss     RX queue = the owner under the receiver's RSS map (a NIC programmed with Skiff's key/RETA)
//   Spray   RX queue = round robin (an RSS the stack does not control, e.g. af_packet fanout)
// A side with one queue receives everything on queue 0 (the single-queue case: software steering).
//
//   MultiHarness h({.a_shards = 2, .b_shards = 2});
//   h.on(h.a(1)); int l = listen_on(7000);
//   h.pump();

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "pkt_builder.hh"
#include "stack/stack.hh"

namespace skiff::test {

class QueueDevice final : public NetDevice {
 public:
  explicit QueueDevice(uint16_t queues);
  ~QueueDevice() override;
  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  const char* name() const override { return "qdev"; }
  void clear();

  std::vector<std::deque<rte_mbuf*>> rx;
  std::vector<std::vector<rte_mbuf*>> tx;
};

enum class WireModel { Mirror, Rss, Spray };

struct MultiOptions {
  unsigned a_shards = 2, b_shards = 2;
  uint16_t a_queues = 2, b_queues = 2;
  WireModel wire = WireModel::Mirror;
  StackConfig cfg;
};

class MultiHarness {
 public:
  static constexpr Ipv4Addr kA = Ipv4Addr::of(10, 0, 0, 1);
  static constexpr Ipv4Addr kB = Ipv4Addr::of(10, 0, 0, 2);
  // Returns how many copies of a frame to deliver (0 = drop).
  using Filter = std::function<int(bool a_to_b, const Bytes& frame)>;
  // Changes a frame on the wire (before the filter); a changed frame crosses as one buffer.
  using Rewrite = std::function<void(bool a_to_b, Bytes& frame)>;

  explicit MultiHarness(const MultiOptions& o = {});
  ~MultiHarness();

  Stack& stack_a() { return *a_; }
  Stack& stack_b() { return *b_; }
  Shard& a(unsigned i = 0) { return a_->shard(i); }
  Shard& b(unsigned i = 0) { return b_->shard(i); }
  void on(Shard& sh) { set_this_shard(&sh); }
  ManualClock& clock() { return clock_; }

  // Polls every shard of both stacks and carries frames until nothing moves (bounded); returns frames
  // carried.
  size_t pump(int max_rounds = 20000);
  void advance(Duration d, Duration step = 1ms);
  // Sum of a counter over a stack's shards.
  uint64_t sum(Stack& s, uint64_t ShardStats::*field);

  Filter filter;
  Rewrite rewrite;
  uint64_t carried = 0;

 private:
  size_t move(QueueDevice& from, QueueDevice& to, Stack& to_stack, bool a_to_b);
  MultiOptions o_;
  ManualClock clock_;
  QueueDevice dev_a_, dev_b_;
  std::unique_ptr<Stack> a_, b_;
  RssHash hash_;
  unsigned spray_ = 0;
};

}  // namespace skiff::test
