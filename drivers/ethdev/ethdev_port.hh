#pragma once
// EthdevPort: a Skiff NetDevice over any DPDK ethdev (PMD). Configures queues (one RX/TX pair per shard),
// enables the checksum offloads the PMD offers, sets the MTU and waits for link.

#include <cstdint>
#include <memory>
#include <optional>
#include <atomic>
#include <string>
#include <vector>

#include "base/time.hh"
#include "netif/device.hh"

struct rte_mempool;

namespace skiff {

struct EthdevPortConfig {
  uint16_t queues = 1;
  std::vector<rte_mempool*> pools;      // pools[q] feeds RX queue q
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  std::optional<uint16_t> mtu;
  std::optional<wire::MacAddr> mac;
  bool offloads = true;                 // use checksum offloads where offered
  bool rss = true;                      // with several queues: Skiff's symmetric key and RETA, if offered
  unsigned shards = 1;                  // the stack's shard count (RETA entry i -> shard i % shards)
  Duration link_wait = 5s;
};

class EthdevPort final : public NetDevice {
 public:
  // Configures and starts `port_id`; nullptr with `err` set on failure.
  static std::unique_ptr<EthdevPort> open(uint16_t port_id, const EthdevPortConfig& cfg, std::string* err);
  ~EthdevPort() override;

  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  const char* name() const override { return name_.c_str(); }
  bool read_stats(DeviceStats* out) const override;
  void set_mc_addrs(const std::vector<wire::MacAddr>& macs) override;

  uint16_t port_id() const { return port_; }
  const std::string& driver() const { return driver_; }
  bool link_up() const;
  // Waits up to `d` for link; returns whether it came up.
  bool wait_link(Duration d) const;
  std::string describe() const;
  // RSS as programmed: the RETA size (0 = no RSS: one queue, or the device has none).
  unsigned reta_size() const { return reta_size_; }
  // Reprograms the RETA (entries are shard numbers; queue = shard when it has one); false if refused.
  bool set_reta(const std::vector<uint16_t>& shard_of_entry);

 private:
  explicit EthdevPort(uint16_t port) : port_(port) {}
  uint16_t port_;
  std::string name_, driver_;
  bool started_ = false;
  unsigned reta_size_ = 0;
  uint16_t queues_ = 1;
  bool allmulti_ = false;  // the device takes no multicast list: all multicast is passed
  // net_af_packet: the kernel interface whose packet sockets (the PMD's, one per queue) count the frames their
  // rings had no room for; read_stats adds them to rx_missed (the PMD does not). 0: not af_packet.
  unsigned afp_ifindex_ = 0;
  mutable std::atomic<uint64_t> afp_drops_{0};  // PACKET_STATISTICS resets on read: the sum so far
};

// The buffer data size a port needs to receive its largest frame without truncation: net_af_packet copies
// each frame (up to its `framesz` devarg, default 2048) into one buffer, and its socket reassembles IP
// fragments (PACKET_FANOUT_FLAG_DEFRAG) so datagrams arrive whole. 0 when any buffer size works.
uint32_t ethdev_rx_buf_need(uint16_t port_id);

// The queue count a port can give `wanted` shards (RX and TX alike); 0 if the port is unknown.
uint16_t ethdev_max_queues(uint16_t port_id);

// Waits (at most 1 s) until the EAL interrupt thread has finished what it is doing: PMDs (memif) tear
// connections down there, and EAL cleanup or a port close must not run under that. Needs EAL initialised.
void eal_intr_barrier();
// Before rte_eal_cleanup: waits as eal_intr_barrier does, then keeps the interrupt thread parked in a
// callback until the process exits, so that nothing runs there while EAL releases its memory. Nothing that
// needs the interrupt thread (link events, alarms, memif control) works afterwards.
void eal_intr_park();

// Lists the ethdev ports EAL probed (vdevs given with --vdev, or devices created in code).
std::vector<uint16_t> ethdev_ports();

}  // namespace skiff
