#pragma once
// StackHarness: one Skiff shard on an in-memory device with a manual clock. Tests inject frames, read what
// the stack transmitted, and move time; at teardown every packet buffer must be back in the pool.
//
//   StackHarness h;                       // we are 10.0.0.2/24 (kOurMac), the peer 10.0.0.1 (kPeerMac)
//   h.inject(h.from_peer_ip(ipv4_spec, payload));
//   auto out = h.sent();                  // frames the stack sent, oldest first
//   h.advance(1s);                        // runs timers

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "base/clock.hh"
#include "netif/device.hh"
#include "pkt_builder.hh"
#include "stack/stack.hh"

namespace skiff::test {

class FakeDevice final : public NetDevice {
 public:
  FakeDevice();
  ~FakeDevice() override;
  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  const char* name() const override { return "fake0"; }
  bool read_stats(DeviceStats* out) const override {
    if (stats) *out = *stats;
    return stats.has_value();
  }

  void set_mc_addrs(const std::vector<wire::MacAddr>& macs) override { mc_addrs = macs; }

  std::optional<DeviceStats> stats;  // the device's own counters (none unless a test sets them)
  std::vector<wire::MacAddr> mc_addrs;  // the multicast filter the stack last asked for
  std::deque<rte_mbuf*> rx;   // frames the device will "receive"
  std::vector<rte_mbuf*> tx;  // frames the stack handed over
  uint16_t tx_room = UINT16_MAX;  // accept at most this many per burst (simulate a full queue)
};

struct HarnessOptions {
  StackConfig cfg;
  wire::Ipv4Cidr addr = {wire::Ipv4Addr::of(10, 0, 0, 2), 24};
  uint16_t mtu = 1500;
  DeviceCaps caps;
  bool start = true;  // run Shard::start() (gratuitous ARP; cleared from the TX log)
  // A second interface (dev2(), index 1), for tests of a host on two networks: with addr2, or with no
  // address when only iface2 is set.
  bool iface2 = false;
  std::optional<wire::Ipv4Cidr> addr2;
  std::optional<wire::Ipv4Addr> gateway;  // a default route through it (shards copy the routes when built)
};

// A transmitted IPv4 frame, parsed for assertions.
struct SentIp {
  MacAddr eth_dst, eth_src;
  Ipv4Addr src, dst;
  uint8_t proto = 0, ttl = 0, tos = 0;
  uint16_t id = 0, flags_frag = 0, total_len = 0;
  size_t ihl = 0;
  bool checksum_ok = false;
  Bytes payload;  // the IP payload
};
// Parses an Ethernet/IPv4 frame; fails the current test (and returns nullopt) if it is not one.
std::optional<SentIp> parse_ip(const Bytes& frame);
// Reassembles parsed fragments (any order) of one datagram; nullopt if incomplete.
std::optional<Bytes> reassemble(std::vector<SentIp> frags);

class StackHarness {
 public:
  static constexpr MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
  static constexpr MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};
  static constexpr Ipv4Addr kOurIp = Ipv4Addr::of(10, 0, 0, 2);
  static constexpr Ipv4Addr kPeerIp = Ipv4Addr::of(10, 0, 0, 1);

  explicit StackHarness(const HarnessOptions& o = {});
  ~StackHarness();

  // Hands a frame to the shard as if received (then flushes TX); `ol_flags` as a NIC would set them.
  void inject(const Bytes& frame, uint64_t ol_flags = 0);
  // Hands frames to the shard as one receive burst (each must fit one buffer), then flushes TX.
  void inject_burst(const std::vector<Bytes>& frames);
  // Wraps an IP datagram in an Ethernet frame from the peer to us.
  Bytes from_peer(const Bytes& ip_datagram) const;
  // Frames transmitted since the last call (the buffers are freed).
  std::vector<Bytes> sent();
  // Moves the clock and runs due timers.
  void advance(Duration d);
  // Teaches the stack the peer's MAC (an ARP request from the peer for us) and discards the reply.
  void learn_peer();

  Shard& shard() { return stack_->shard(0); }
  Stack& stack() { return *stack_; }
  ManualClock& clock() { return clock_; }
  FakeDevice& dev() { return dev_; }
  FakeDevice& dev2() { return dev2_; }
  uint64_t drops(Drop d) { return shard().drops[d]; }
  uint64_t total_drops() { return shard().drops.total(); }
  unsigned buffers_in_use() { return stack_->pool(0).in_use(); }

 private:
  ManualClock clock_;
  FakeDevice dev_;
  FakeDevice dev2_;
  std::unique_ptr<Stack> stack_;
};

}  // namespace skiff::test
