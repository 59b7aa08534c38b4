#pragma once
// Multi-shard plumbing: which shard owns a frame, the per-shard directory of bound ports on other shards,
// and the message kinds shards exchange through their rings.
//
// Ownership follows the RSS map (core/rss.hh), the same function a NIC with Skiff's key and RETA applies:
//   ARP                      shard 0 (the neighbour tables' writer)
//   IPv4 fragment            addresses hash (as NICs hash fragments), reassembled there, then re-steered
//   TCP / UDP                flow hash over (src, dst, sport, dport)
//   ICMP error               the flow hash of the quoted datagram (the error goes where its socket lives)
//   anything else            addresses hash
// The key is symmetric, so both directions of a flow have one owner.

#include <cstdint>
#include <memory>

#include "core/rss.hh"

namespace skiff {

// What a buffer in a shard's inbox is (PktMeta::steer_kind).
enum class SteerKind : uint8_t {
  None = 0,
  RxFrame,     // a received Ethernet frame, already classified: run eth_input
  RxIp,        // a reassembled datagram (data at the IP header): run ipv4_input
  RxFallback,  // a datagram whose port is bound on the target only (directory): ipv4_input, no re-forward
  RxRaw,       // a copy for the target's raw sockets only (data at the IP header)
  Tx,          // a finished frame to transmit on the port (the sender has no TX queue on it)
};

namespace steer_detail {
constexpr uint16_t kEthIpv4 = 0x0800, kEthArp = 0x0806;
constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

inline bool is_icmp_error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}
}  // namespace steer_detail

// Owner of an IPv4 datagram (data at the IP header). Inline: runs for every received frame.
inline unsigned ip_owner(const RssHash& h, const RssMap& m, const uint8_t* ip, uint32_t len, unsigned self) {
  using namespace steer_detail;
  if (len < 20 || (ip[0] >> 4) != 4) return self;
  const uint32_t ihl = (ip[0] & 0xfu) * 4u;
  if (ihl < 20 || ihl > len) return self;
  const wire::Ipv4Addr src(be32(ip + 12)), dst(be32(ip + 16));
  const uint16_t frag = be16(ip + 6);
  const uint8_t proto = ip[9];
  if (frag & 0x3fff) return m.owner(h.addrs(src, dst));  // MF or an offset: addresses only
  const uint8_t* l4 = ip + ihl;
  const uint32_t l4len = len - ihl;
  if ((proto == kTcp || proto == kUdp) && l4len >= 4) return m.owner(h.flow(src, dst, be16(l4), be16(l4 + 2)));
  if (proto == kIcmp && l4len >= 8 + 20 && is_icmp_error(l4[0])) {
    // The quoted datagram is one we sent: its flow's owner is where the socket lives (the key is
    // symmetric, so hashing the quote as it stands gives the same shard as the reply direction).
    const uint8_t* q = l4 + 8;
    const uint32_t qlen = l4len - 8;
    const uint32_t qihl = (q[0] & 0xfu) * 4u;
    if ((q[0] >> 4) == 4 && qihl >= 20 && qlen >= qihl + 4 && !(be16(q + 6) & 0x1fff) && (q[9] == kTcp || q[9] == kUdp))
      return m.owner(h.flow(wire::Ipv4Addr(be32(q + 12)), wire::Ipv4Addr(be32(q + 16)), be16(q + qihl),
                            be16(q + qihl + 2)));
  }
  return m.owner(h.addrs(src, dst));
}

// Owner of a received frame (data at the Ethernet header; `len` bytes contiguous). Returns `self` for
// anything it cannot parse: the local input path then drops it with its reason.
inline unsigned frame_owner(const RssHash& h, const RssMap& m, const uint8_t* f, uint32_t len, unsigned self) {
  using namespace steer_detail;
  if (len < 14) return self;
  const uint16_t type = be16(f + 12);
  if (type == kEthIpv4) return ip_owner(h, m, f + 14, len - 14, self);
  if (type == kEthArp) return 0;
  return self;
}


// For each TCP/UDP port, which other shards have a socket bound to it explicitly (listeners, bind()), and
// for each IP protocol which shards have raw sockets. Written only by its own shard, from messages the
// other shards send when they bind and unbind; read when a datagram finds no local socket.
class PortDirectory {
 public:
  enum Proto : uint8_t { kTcp = 0, kUdp = 1 };
  void init(unsigned shards);
  void set(Proto p, uint16_t port, unsigned shard, bool on) {
    if (!ports_[p]) return;
    const uint64_t bit = uint64_t{1} << shard;
    ports_[p][port] = on ? (ports_[p][port] | bit) : (ports_[p][port] & ~bit);
  }
  // A shard other than `self` with `port` bound, or -1.
  int home(Proto p, uint16_t port, unsigned self) const {
    if (!ports_[p]) return -1;
    const uint64_t m = ports_[p][port] & ~(uint64_t{1} << self);
    return m ? __builtin_ctzll(m) : -1;
  }
  // The other shards with `port` bound (a bit each).
  uint64_t others(Proto p, uint16_t port) const { return ports_[p] ? ports_[p][port] : 0; }
  void set_raw(uint8_t proto, unsigned shard, bool on) {
    const uint64_t bit = uint64_t{1} << shard;
    raw_[proto] = on ? (raw_[proto] | bit) : (raw_[proto] & ~bit);
  }
  uint64_t raw_shards(uint8_t proto) const { return raw_[proto]; }

 private:
  std::unique_ptr<uint64_t[]> ports_[2];
  uint64_t raw_[256] = {};
};

}  // namespace skiff
