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

// Owner of a received frame (data at the Ethernet header; `len` bytes contiguous). Returns `self` for
// anything it cannot parse: the local input path then drops it with its reason.
unsigned frame_owner(const RssHash& h, const RssMap& m, const uint8_t* f, uint32_t len, unsigned self);
// Owner of an IPv4 datagram (data at the IP header).
unsigned ip_owner(const RssHash& h, const RssMap& m, const uint8_t* ip, uint32_t len, unsigned self);

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
