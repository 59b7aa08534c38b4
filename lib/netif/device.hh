#pragma once
// A network device as the stack sees it: burst RX/TX on numbered queues, a MAC, an MTU and offload
// capabilities. drivers/ implements it over DPDK ethdev (any PMD); tests implement it in memory.

#include <cstdint>
#include <vector>

#include "wire/addr.hh"

struct rte_mbuf;

namespace skiff {

struct DeviceCaps {
  bool rx_ipv4_csum = false;
  bool rx_udp_csum = false;
  bool rx_tcp_csum = false;
  bool tx_ipv4_csum = false;
  bool tx_udp_csum = false;
  bool tx_tcp_csum = false;
  bool tx_multi_seg = true;   // accepts chained buffers
  bool tx_tso = false;
};

// What the device counts itself (DPDK's rte_eth_stats): above all the frames it dropped before any shard
// saw them (a full RX ring, no buffer, a bad frame), which no shard counter can know of.
struct DeviceStats {
  uint64_t rx_packets = 0;  // frames received into a queue
  uint64_t rx_missed = 0;   // frames dropped because an RX queue was full (imissed)
  uint64_t rx_errors = 0;   // frames received in error (ierrors)
  uint64_t rx_nombuf = 0;   // receive buffer allocation failures (rx_nombuf)
  uint64_t tx_packets = 0;  // frames sent
  uint64_t tx_errors = 0;   // frames the device failed to send (oerrors)
};

class NetDevice {
 public:
  virtual ~NetDevice() = default;
  virtual uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  // Takes ownership of the buffers it accepts (the first return value of them).
  virtual uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  virtual const char* name() const = 0;
  // The device's own counters; false when it keeps none. Called off the data path (a counter dump): the
  // device must allow it while its queues are polled, as DPDK ethdev statistics do.
  virtual bool read_stats(DeviceStats*) const { return false; }
  // The multicast Ethernet addresses the host wants (the groups joined: ipv4/igmp.hh). A device that filters
  // multicast frames passes these; one that cannot be told them passes all multicast. Called from shard 0.
  virtual void set_mc_addrs(const std::vector<wire::MacAddr>&) {}

  wire::MacAddr mac;
  uint16_t mtu = 1500;
  DeviceCaps caps;
  uint16_t rx_queues = 1;  // queues configured (shard i uses queue i; shards beyond have none)
  uint16_t tx_queues = 1;
  bool rss = false;        // the device spreads received flows over its queues with Skiff's RSS map
};

}  // namespace skiff
