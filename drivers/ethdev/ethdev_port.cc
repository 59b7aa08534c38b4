// rte_intr_instance_alloc and friends (eal_intr_park) are experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include "ethdev/ethdev_port.hh"

#include <rte_alarm.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_kvargs.h>
#include <dirent.h>
#include <linux/if_packet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "base/log.hh"
#include "base/random.hh"
#include "base/tsan.hh"
#include "core/rss.hh"

namespace skiff {

namespace {
std::string errstr(const char* what, int rc) {
  return std::string(what) + ": " + rte_strerror(rc < 0 ? -rc : rc);
}
}  // namespace

namespace {
// A numeric device argument ("key=N" in the --vdev string), or `def` when absent.
uint32_t devarg_uint(const rte_eth_dev_info& info, const char* key, uint32_t def) {
  const rte_devargs* da = info.device ? rte_dev_devargs(info.device) : nullptr;
  rte_kvargs* kv = da && da->args ? rte_kvargs_parse(da->args, nullptr) : nullptr;
  if (!kv) return def;
  const char* v = rte_kvargs_get(kv, key);
  const uint32_t r = v ? static_cast<uint32_t>(strtoul(v, nullptr, 10)) : def;
  rte_kvargs_free(kv);
  return r;
}
}  // namespace

uint32_t ethdev_rx_buf_need(uint16_t port_id) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port_id, &info) != 0 || !info.driver_name) return 0;
  if (std::string(info.driver_name) != "net_af_packet") return 0;
  return devarg_uint(info, "framesz", 2048);
}

uint16_t ethdev_max_queues(uint16_t port_id) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port_id, &info) != 0) return 0;
  return std::min(info.max_rx_queues, info.max_tx_queues);
}

std::vector<uint16_t> ethdev_ports() {
  std::vector<uint16_t> v;
  uint16_t p;
  RTE_ETH_FOREACH_DEV(p) v.push_back(p);
  return v;
}

std::unique_ptr<EthdevPort> EthdevPort::open(uint16_t port_id, const EthdevPortConfig& cfg, std::string* err) {
  std::unique_ptr<EthdevPort> port(new EthdevPort(port_id));
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(port_id, &info);
  if (rc) return *err = errstr("rte_eth_dev_info_get", rc), nullptr;
  char devname[RTE_ETH_NAME_MAX_LEN] = "";
  rte_eth_dev_get_name_by_port(port_id, devname);
  port->name_ = devname;
  port->driver_ = info.driver_name ? info.driver_name : "?";
  if (port->driver_ == "net_af_packet") port->afp_ifindex_ = info.if_index;

  if (cfg.queues > info.max_rx_queues || cfg.queues > info.max_tx_queues) {
    *err = port->name_ + ": " + std::to_string(cfg.queues) + " queues requested, device offers " +
           std::to_string(info.max_rx_queues) + " RX / " + std::to_string(info.max_tx_queues) + " TX";
    return nullptr;
  }
  if (cfg.pools.size() < cfg.queues) return *err = "one mbuf pool per queue needed", nullptr;

  rte_eth_conf conf{};
  DeviceCaps& caps = port->caps;
  if (cfg.offloads) {
    const uint64_t rxc = info.rx_offload_capa, txc = info.tx_offload_capa;
    caps.rx_ipv4_csum = rxc & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    caps.rx_udp_csum = rxc & RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    caps.rx_tcp_csum = rxc & RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    caps.tx_ipv4_csum = txc & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    caps.tx_udp_csum = txc & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    caps.tx_tcp_csum = txc & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    if (caps.rx_ipv4_csum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    if (caps.rx_udp_csum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if (caps.rx_tcp_csum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    if (caps.tx_ipv4_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    if (caps.tx_udp_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    if (caps.tx_tcp_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  }
  // Chained buffers (reassembled datagrams) need MULTI_SEGS; net_ring passes pointers and takes anything.
  caps.tx_multi_seg = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) || port->driver_ == "net_ring";
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  // TSO: TCP hands the device up to 64 KiB at once, a header and the queued segments' buffers chained.
  // Not on net_tap: DPDK 22.11's tap compares each segment's frame (headers included) with the MTU and
  // refuses every full-sized one, stopping the burst there (its software segmentation would save little:
  // each segment is still one write() to the kernel).
  if (cfg.offloads && caps.tx_tcp_csum && caps.tx_multi_seg && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
      port->driver_ != "net_tap") {
    caps.tx_tso = true;
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
  }

  // The device's MTU limit as rte_eth_dev_configure enforces it: the smaller of max_mtu and the largest
  // frame less the L2 overhead.
  const uint16_t mtu = cfg.mtu.value_or(0);
  const uint32_t l2_overhead = (info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu)
                                   ? info.max_rx_pktlen - info.max_mtu
                                   : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  const uint32_t dev_max_mtu = std::min<uint32_t>(info.max_mtu, info.max_rx_pktlen - l2_overhead);
  // net_memif advertises a 1518-byte frame (DPDK 22.11) yet moves a frame of any length as a chain of
  // descriptors, both ways, as the memif protocol defines (VPP's memif runs 9000-byte frames the same way).
  // Skiff takes a larger MTU there without asking the device, whose own setting stays 1500.
  const bool any_length = port->driver_ == "net_memif";
  if (mtu && (mtu < info.min_mtu || (mtu > dev_max_mtu && !any_length))) {
    *err = port->name_ + ": MTU " + std::to_string(mtu) + " outside the device's range " +
           std::to_string(info.min_mtu) + ".." + std::to_string(dev_max_mtu);
    return nullptr;
  }
  if (any_length && mtu > dev_max_mtu) {
    // ...but its receive path in 22.11 faults now and then on a frame spread over several buffers: each
    // frame must fit one memif buffer (the vdev's bsize, 2048 by default; both ends should set it).
    const uint32_t bsize = devarg_uint(info, "bsize", 2048);
    if (mtu + uint32_t{RTE_ETHER_HDR_LEN} > bsize) {
      *err = port->name_ + ": MTU " + std::to_string(mtu) + " needs memif buffers of at least " +
             std::to_string(mtu + RTE_ETHER_HDR_LEN) + " bytes (bsize is " + std::to_string(bsize) +
             "): add bsize=" + std::to_string(mtu + RTE_ETHER_HDR_LEN) + " or more to the --vdev arguments";
      return nullptr;
    }
    // A ring of 1,024 jumbo buffers spans ~9 MiB, more than a cache holds: 256 slots measured ~20 % faster.
    const uint32_t rsize = devarg_uint(info, "rsize", 10);
    if ((uint64_t{1} << std::min<uint32_t>(rsize, 16)) * bsize > (4u << 20))
      SKIFF_LOG(Warn, "%s: memif ring of %u x %u-byte buffers spans %llu KiB; rsize=8 (256 slots) is faster with "
                "jumbo frames (docs/tuning.md)", port->name_.c_str(), 1u << std::min<uint32_t>(rsize, 16), bsize,
                static_cast<unsigned long long>(((uint64_t{1} << std::min<uint32_t>(rsize, 16)) * bsize) >> 10));
  }
  if (mtu && mtu <= dev_max_mtu) conf.rxmode.mtu = mtu;

  // RSS: the NIC hashes with Skiff's symmetric key so it agrees with the shards' own owner computation
  // (stack/steer.hh) and both directions of a flow come to one queue.
  uint8_t key[kRssKeyLen];
  const uint64_t want_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP |
                           RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV4_OTHER;
  const bool rss = cfg.rss && cfg.queues > 1 && (info.flow_type_rss_offloads & want_hf);
  if (rss) {
    const unsigned klen = info.hash_key_size ? std::min<unsigned>(info.hash_key_size, kRssKeyLen) : 40;
    memcpy(key, rss_key(), klen);
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key;
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(klen);
    conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & want_hf;
  }
  port->queues_ = cfg.queues;

  rc = rte_eth_dev_configure(port_id, cfg.queues, cfg.queues, &conf);
  if (rc) return *err = port->name_ + ": " + errstr("rte_eth_dev_configure", rc), nullptr;
  uint16_t nrx = cfg.rx_desc, ntx = cfg.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nrx, &ntx);
  const int socket = rte_eth_dev_socket_id(port_id);
  for (uint16_t q = 0; q < cfg.queues; ++q) {
    rte_eth_rxconf rxq = info.default_rxconf;
    rxq.offloads = conf.rxmode.offloads;
    rc = rte_eth_rx_queue_setup(port_id, q, nrx, socket < 0 ? SOCKET_ID_ANY : socket, &rxq, cfg.pools[q]);
    if (rc) return *err = port->name_ + ": " + errstr("rx queue setup", rc), nullptr;
    rte_eth_txconf txq = info.default_txconf;
    txq.offloads = conf.txmode.offloads;
    rc = rte_eth_tx_queue_setup(port_id, q, ntx, socket < 0 ? SOCKET_ID_ANY : socket, &txq);
    if (rc) return *err = port->name_ + ": " + errstr("tx queue setup", rc), nullptr;
  }

  rte_ether_addr ea;
  rte_eth_macaddr_get(port_id, &ea);
  wire::MacAddr mac = wire::MacAddr::load(ea.addr_bytes);
  // net_tap: the port's MAC is the kernel tap interface's own, and a peer in the kernel needs ours to
  // differ; a tap delivers every frame anyway, so Skiff takes its own address without touching the device.
  const bool tap = port->driver_ == "net_tap";
  if (cfg.mac) {
    mac = *cfg.mac;
  } else if (mac.is_zero() || tap) {
    // Devices without an address (net_ring): a random locally administered unicast MAC.
    Rng rng;
    const uint64_t r = rng.next();
    mac = wire::MacAddr{{0x02, uint8_t(r), uint8_t(r >> 8), uint8_t(r >> 16), uint8_t(r >> 24), uint8_t(r >> 32)}};
  }
  if (mac != wire::MacAddr::load(ea.addr_bytes) && !tap) {
    mac.store(ea.addr_bytes);
    rte_eth_dev_default_mac_addr_set(port_id, &ea);  // best effort: some PMDs cannot
  }
  port->mac = mac;

  rc = rte_eth_dev_start(port_id);
  if (rc) return *err = port->name_ + ": " + errstr("rte_eth_dev_start", rc), nullptr;
  port->started_ = true;
  if (rss && info.reta_size >= 8 && info.reta_size <= kRssRetaMax && (info.reta_size & (info.reta_size - 1)) == 0) {
    port->reta_size_ = info.reta_size;
    std::vector<uint16_t> entries(info.reta_size);
    const unsigned shards = std::max(cfg.shards, 1u);
    for (unsigned i = 0; i < info.reta_size; ++i) entries[i] = static_cast<uint16_t>(i % shards);
    if (!port->set_reta(entries)) {
      SKIFF_LOG(Warn, "%s: RETA not programmable; shards steer received flows in software", port->name_.c_str());
      port->reta_size_ = 0;
    }
  } else if (rss) {
    SKIFF_LOG(Warn, "%s: RSS table of %u entries not usable; shards steer received flows in software",
              port->name_.c_str(), info.reta_size);
  }
  port->rx_queues = port->tx_queues = cfg.queues;
  port->rss = port->reta_size_ != 0;
  uint16_t cur_mtu = 1500;
  if (rte_eth_dev_get_mtu(port_id, &cur_mtu) == 0 && cur_mtu) port->mtu = cur_mtu;
  if (mtu) port->mtu = mtu;
  // Frames must fit an mbuf unless the device scatters: cap the MTU we use at the buffer size.
  const uint32_t room = rte_pktmbuf_data_room_size(cfg.pools[0]) - RTE_PKTMBUF_HEADROOM;
  if (port->mtu + 14u > room) {
    if (mtu) SKIFF_LOG(Warn, "%s: MTU %u does not fit a %u-byte buffer: using %u", port->name_.c_str(), mtu, room, room - 14);
    port->mtu = static_cast<uint16_t>(room - 14);
  }

  if (!port->wait_link(cfg.link_wait))
    SKIFF_LOG(Warn, "%s: link is down after %lld ms; continuing (it may come up later)", port->name_.c_str(),
              static_cast<long long>(to_ms(cfg.link_wait)));
  return port;
}

void eal_intr_barrier() {
  // An alarm runs on the interrupt thread, which handles one event at a time (a callback, then the
  // deletions it left pending): when the alarm has run, whatever that thread was doing is finished.
#if defined(SKIFF_TSAN)
  // EAL's alarm list is guarded by locks TSan cannot see (DPDK is not instrumented): every alarm would be
  // reported as a race. The TSan build runs net_ring ports only, which need no barrier.
#else
  std::atomic<bool> done{false};
  auto cb = [](void* arg) { static_cast<std::atomic<bool>*>(arg)->store(true, std::memory_order_release); };
  if (rte_eal_alarm_set(1, cb, &done) != 0) return;
  for (int i = 0; i < 1000 && !done.load(std::memory_order_acquire); ++i) rte_delay_us_sleep(1000);
  // Not run within a second (the thread is busy elsewhere): take the alarm back, so that it cannot fire on
  // this dead frame; if it is running right now, it is one store from done.
  if (!done.load(std::memory_order_acquire) && rte_eal_alarm_cancel(cb, &done) < 0 && rte_errno == EINPROGRESS)
    while (!done.load(std::memory_order_acquire)) std::this_thread::yield();
#endif
}

void eal_intr_park() {
  // The callback never returns: the interrupt thread stays in it (touching nothing but this static flag)
  // until the process exits, so it can neither finish a PMD's deferred teardown nor rebuild its list of
  // event sources while rte_eal_cleanup unmaps the memory those live in. (DPDK releases from 23.x stop the
  // thread in rte_eal_cleanup themselves; 22.11 leaves it running.) Not an alarm: 22.11's cleanup waits for
  // a running alarm callback to return. An event source of its own (an eventfd, handle in libc memory).
  static std::atomic<int> state{0};  // 0 idle, 1 requested, 2 parked
  int expected = 0;
  if (!state.compare_exchange_strong(expected, 1)) return;
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) return;
  rte_intr_handle* ih = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
  auto park = [](void*) {
    state.store(2, std::memory_order_release);
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  };
  if (!ih || rte_intr_fd_set(ih, efd) != 0 || rte_intr_type_set(ih, RTE_INTR_HANDLE_EXT) != 0 ||
      rte_intr_callback_register(ih, park, nullptr) != 0) {
    rte_intr_instance_free(ih);  // (null-safe) cleanup goes on unparked, as before this existed
    close(efd);
    return;
  }
  const uint64_t one = 1;
  if (write(efd, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) return;
  for (int i = 0; i < 1000 && state.load(std::memory_order_acquire) != 2; ++i) rte_delay_us_sleep(1000);
}

namespace {
// DPDK 22.11's memif PMD tears a connection down both on the EAL interrupt thread (when the peer hangs
// up) and in dev_stop/dev_close on the caller's thread, without synchronising the two: when both ends of
// a link close at the same moment, both paths free the same regions and the process crashes at exit. The
// server end therefore waits (up to 500 ms) for a connected client to hang up first; the client closes at
// once, so the two teardowns never overlap. The link reads down as soon as the interrupt thread starts
// its teardown, not when it ends (it then still frees the regions and the control channel): the caller
// waits for that thread to finish (eal_intr_barrier) before stopping the port; before EAL cleanup, which
// would otherwise unmap memory under it (a crash at exit, 1 run in 3), the thread is parked (eal_intr_park).
void settle_memif_server(uint16_t port) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0 || !info.driver_name || !info.device) return;
  if (std::string_view(info.driver_name) != "net_memif") return;
  const rte_devargs* da = rte_dev_devargs(info.device);
  if (!da || !da->args || !strstr(da->args, "role=server")) return;
  for (int i = 0; i < 50; ++i) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port, &link) != 0 || link.link_status == RTE_ETH_LINK_DOWN) return;
    rte_delay_us_sleep(10000);
  }
}
}  // namespace

EthdevPort::~EthdevPort() {
  if (started_) {
    settle_memif_server(port_);
    eal_intr_barrier();
    rte_eth_dev_stop(port_);
    rte_eth_dev_close(port_);
    eal_intr_barrier();
  }
}

namespace {

// The drops of this process's AF_PACKET sockets bound to `ifindex` since the last call (the kernel's
// PACKET_STATISTICS, which resets them): frames a full ring had no room for. Found by their descriptors, as
// DPDK 22.11's net_af_packet keeps its sockets to itself and never asks.
uint64_t afpacket_socket_drops(unsigned ifindex) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  uint64_t drops = 0;
  while (const dirent* e = readdir(d)) {
    char* end = nullptr;
    const long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd == dirfd(d)) continue;
    int domain = 0;
    socklen_t dl = sizeof domain;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0 || domain != AF_PACKET) continue;
    sockaddr_ll ll{};
    socklen_t ll_len = sizeof ll;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&ll), &ll_len) != 0 ||
        static_cast<unsigned>(ll.sll_ifindex) != ifindex)
      continue;
    tpacket_stats st{};
    socklen_t sl = sizeof st;
    if (getsockopt(static_cast<int>(fd), SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) drops += st.tp_drops;
  }
  closedir(d);
  return drops;
}

}  // namespace

bool EthdevPort::read_stats(DeviceStats* out) const {
  rte_eth_stats st{};
  if (rte_eth_stats_get(port_, &st) != 0) return false;
  out->rx_packets = st.ipackets;
  out->rx_missed = st.imissed;
  if (afp_ifindex_) out->rx_missed += afp_drops_ += afpacket_socket_drops(afp_ifindex_);
  out->rx_errors = st.ierrors;
  out->rx_nombuf = st.rx_nombuf;
  out->tx_packets = st.opackets;
  out->tx_errors = st.oerrors;
  return true;
}

void EthdevPort::set_mc_addrs(const std::vector<wire::MacAddr>& macs) {
  if (allmulti_) return;
  std::vector<rte_ether_addr> list(macs.size());
  for (size_t i = 0; i < macs.size(); ++i) memcpy(list[i].addr_bytes, macs[i].b.data(), RTE_ETHER_ADDR_LEN);
  const int rc = rte_eth_dev_set_mc_addr_list(port_, list.data(), static_cast<uint32_t>(list.size()));
  if (rc == 0) return;
  // No multicast list (most virtual devices, which filter nothing anyway): all multicast, filtered by IPv4
  // input. A device that refuses that too passes what it passes.
  const int am = rte_eth_allmulticast_enable(port_);
  allmulti_ = true;
  SKIFF_LOG(Debug, "%s: no multicast address list (%s); all-multicast %s", name_.c_str(), rte_strerror(-rc),
            am == 0 ? "on" : "not offered either");
}

uint16_t EthdevPort::rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  const uint16_t got = rte_eth_rx_burst(port_, queue, pkts, n);
#if defined(SKIFF_TSAN)
  for (uint16_t i = 0; i < got; ++i) tsan_acquire(pkts[i]);  // handed over by the PMD (net_ring: another thread)
#endif
  return got;
}

uint16_t EthdevPort::tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
#if defined(SKIFF_TSAN)
  for (uint16_t i = 0; i < n; ++i) tsan_release(pkts[i]);
#endif
  return rte_eth_tx_burst(port_, queue, pkts, n);
}

bool EthdevPort::set_reta(const std::vector<uint16_t>& shard_of_entry) {
  const unsigned n = static_cast<unsigned>(shard_of_entry.size());
  std::vector<rte_eth_rss_reta_entry64> conf((n + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  for (unsigned i = 0; i < n; ++i) {
    auto& g = conf[i / RTE_ETH_RETA_GROUP_SIZE];
    g.mask |= uint64_t{1} << (i % RTE_ETH_RETA_GROUP_SIZE);
    // A shard without a queue of its own: its flows arrive on another queue and are steered in software.
    g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(shard_of_entry[i] % queues_);
  }
  return rte_eth_dev_rss_reta_update(port_, conf.data(), static_cast<uint16_t>(n)) == 0;
}

bool EthdevPort::link_up() const {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_, &link) != 0) return false;
  return link.link_status == RTE_ETH_LINK_UP;
}

bool EthdevPort::wait_link(Duration d) const {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (!link_up()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string EthdevPort::describe() const {
  std::string s = name_ + " (" + driver_ + ") mac " + mac.to_string() + " mtu " + std::to_string(mtu);
  s += " queues ";
  s += std::to_string(queues_);
  if (reta_size_) {
    s += " rss-reta ";
    s += std::to_string(reta_size_);
  }
  s += " offloads:";
  if (caps.rx_ipv4_csum) s += " rx-ip";
  if (caps.rx_udp_csum) s += " rx-udp";
  if (caps.rx_tcp_csum) s += " rx-tcp";
  if (caps.tx_ipv4_csum) s += " tx-ip";
  if (caps.tx_udp_csum) s += " tx-udp";
  if (caps.tx_tcp_csum) s += " tx-tcp";
  if (caps.tx_tso) s += " tso";
  if (!(caps.rx_ipv4_csum || caps.rx_udp_csum || caps.rx_tcp_csum || caps.tx_ipv4_csum || caps.tx_udp_csum ||
        caps.tx_tcp_csum))
    s += " none (software checksums)";
  return s;
}

}  // namespace skiff
