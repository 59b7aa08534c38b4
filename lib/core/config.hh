#pragma once
// Tunables of the stack, with production defaults. Shared by every shard (read-only after start).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/time.hh"
#include "wire/addr.hh"

namespace skiff {

struct NeighConfig {
  size_t capacity = 1024;               // entries per interface per shard
  Duration reachable = 30s;             // an entry is trusted this long after confirmation
  Duration stale_grace = 10s;           // then still used (and refreshed) for this long
  Duration retrans = 1s;                // at most one request per destination per second
  unsigned max_probes = 3;              // requests before an unresolved entry fails
  size_t queue_per_entry = 256;         // packets held while a destination resolves (Linux: ~unres_qlen_bytes)
  size_t queue_total = 1024;            // ... and in all, per interface per shard
  Duration gc_idle = 60s;               // unused entries are reclaimed after this
  Duration locktime = 1s;               // a MAC learnt less than this ago is not overridden
};

struct Ipv4Config {
  uint8_t default_ttl = 64;
  Duration reass_timeout = 30s;         // RFC 791 suggests 15 s; Linux uses 30 s
  size_t reass_max_bytes = 4u << 20;    // buffer memory held by incomplete datagrams, per shard
  size_t reass_max_datagrams = 256;     // incomplete datagrams per shard
  size_t reass_max_frags = 64;          // fragments per datagram
  // Path MTU discovery (RFC 1191): how long a learned path MTU holds (Linux's route.mtu_expires), and the
  // lowest one an ICMP message may set (Linux's route.min_pmtu: lower values are raised to it).
  Duration pmtu_expires = 600s;
  uint16_t min_pmtu = 552;
};

struct IcmpConfig {
  uint32_t error_rate = 1000;           // ICMP errors per second per shard (token bucket)
  uint32_t error_burst = 50;
  // ... and per destination (Linux's icmp_ratelimit and XRLIM_BURST_FACTOR): one error per interval after a
  // burst, checked before the shard's bucket, so one sender cannot use up what every other host may get.
  uint32_t peer_interval_ms = 1000;     // 0: no per-destination limit
  uint32_t peer_burst = 6;
};

struct SockConfig {
  unsigned max_fds = 65536;             // descriptors per shard (EMFILE beyond)
  unsigned somaxconn = 4096;            // listen() backlog clamp
  uint16_t port_lo = 32768;             // ephemeral port range (Linux's ip_local_port_range)
  uint16_t port_hi = 60999;
  unsigned tcp_slab = 16384;            // objects per shard in each protocol's slab (0 = general allocator)
  unsigned udp_slab = 4096;
  unsigned raw_slab = 256;
  int rmem_max = 4 << 20;               // SO_RCVBUF / SO_SNDBUF ceilings (Linux's rmem_max/wmem_max)
  int wmem_max = 4 << 20;
  int rmem_default = 212992;
  int wmem_default = 212992;
};

// TCP tunables (per stack; defaults after Linux where RFC 9293 leaves a choice).
struct TcpConfig {
  Duration rto_initial = 1s;            // RFC 6298 §2.1
  Duration rto_min = 200ms;             // Linux TCP_RTO_MIN
  Duration rto_max = 120s;              // Linux TCP_RTO_MAX
  unsigned retries = 15;                // Linux tcp_retries2: data retransmissions before giving up
  unsigned syn_retries = 6;             // Linux tcp_syn_retries
  unsigned synack_retries = 5;          // Linux tcp_synack_retries
  Duration time_wait = 60s;             // 2*MSL (Linux TCP_TIMEWAIT_LEN)
  Duration fin_timeout = 60s;           // orphaned FIN-WAIT-2 (Linux tcp_fin_timeout)
  Duration delack_min = 40ms;           // Linux TCP_DELACK_MIN
  Duration delack_max = 200ms;          // RFC 9293 §3.8.6.3 allows up to 500 ms
  Duration keepalive_idle = 7200s;      // RFC 1122 §4.2.3.6
  Duration keepalive_intvl = 75s;
  unsigned keepalive_probes = 9;
  uint16_t mss_default = 536;           // RFC 9293 §3.7.1 (no MSS option)
  uint16_t mss_min = 88;                // floor for a peer's MSS option (Linux TCP_MIN_SND_MSS = 48 + headers)
  unsigned challenge_ack_limit = 1000;  // RFC 5961 challenge ACKs per second per shard, on average: each
                                        // second's budget is random in [limit/2, limit*3/2) (CVE-2016-5696);
                                        // and one per connection per 500 ms (Linux's tcp_invalid_ratelimit)
  unsigned init_cwnd_segs = 10;         // RFC 6928
  unsigned ooo_max_segs = 4096;         // out-of-order queue bound (segments) per connection (a 4 MiB window
                                        // of 1448-byte segments is ~2,900); the shard's total is also bounded
                                        // at half its packet pool
  bool syncookies = true;               // SYN cookies when a listener's SYN queue overflows (RFC 4987)
  unsigned fastopen = 1;                // TCP Fast Open (RFC 7413) for listeners that set TCP_FASTOPEN; 0: off
  // Fast Open server keys (Linux's net.ipv4.tcp_fastopen_key): a primary and optionally a backup, 16 bytes
  // each, for listeners without TCP_FASTOPEN_KEY; no key: one drawn at random per process (all shards').
  std::array<uint8_t, 32> fastopen_key{};
  unsigned fastopen_key_count = 0;
  uint32_t notsent_lowat = 0;           // TCP_NOTSENT_LOWAT for every socket (Linux's tcp_notsent_lowat); 0: none
  unsigned ecn = 2;                     // Explicit Congestion Notification (RFC 3168), as Linux's tcp_ecn: 0 off;
                                        // 1 asked for on active opens and granted on passive ones; 2 granted
                                        // when the peer asks, never asked for
  unsigned hystart = 3;                 // CUBIC's HyStart, as Linux's hystart_detect: bit 1 ACK trains, bit 2
                                        // delay increase, 0 off
  int rmem_default = 262144;            // TCP receive buffer
  int wmem_default = 262144;            // TCP send buffer
};

struct StackConfig {
  std::optional<wire::Ipv4Cidr> ip;     // address of port 0
  std::optional<wire::Ipv4Addr> gateway;
  std::optional<uint16_t> mtu;
  std::optional<wire::MacAddr> mac;     // override the port's MAC
  unsigned queues = 0;                  // RX/TX queues per port; 0 = one per shard (lcore), as the device allows
  bool rss = true;                      // program the device's RSS (Skiff's key and RETA) when it has several queues
  unsigned pool_size = 8191;            // packet buffers per shard
  uint16_t mbuf_data = 2048;            // data bytes per packet buffer (headroom comes on top)
  Duration idle_sleep = 0us;            // sleep this long when a poll finds nothing (0 = pure busy-poll)
  Duration link_wait = 5s;              // how long to wait for link up at start
  NeighConfig neigh;
  Ipv4Config ipv4;
  IcmpConfig icmp;
  SockConfig sock;
  TcpConfig tcp;
};

}  // namespace skiff
