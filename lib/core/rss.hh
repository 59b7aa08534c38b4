#pragma once
// Receive-side scaling in software and for the NIC: one symmetric Toeplitz key for every port, so both
// directions of a flow hash alike, and the owner shard of a flow is the same whoever computes it (a NIC
// with RSS programmed by us, another Skiff at the far end of a link, or a shard steering in software).
//
//   owner(flow) = reta[hash & (reta_size - 1)],  reta[i] = i % shards
//
// The key repeats 0x6d5a: the Toeplitz hash then only sees the tuple through 16-bit windows, and swapping
// source and destination (which moves fields by 32 or 16 bits) leaves it unchanged.

#include <array>
#include <cstdint>

#include "wire/addr.hh"

namespace skiff {

inline constexpr unsigned kRssKeyLen = 52;  // enough for every NIC's key size (40 or 52 bytes)
inline constexpr unsigned kRssRetaSize = 128;     // default redirection table size
inline constexpr unsigned kRssRetaMax = 512;      // the largest we model (NICs use 64..512)

const uint8_t* rss_key();

// Table-driven Toeplitz hash over the IPv4 tuple (12 lookups instead of a loop over every set bit);
// identical to DPDK's rte_softrss() with the same key and tuple layout.
class RssHash {
 public:
  RssHash();
  // Flow: source address, destination address, source port, destination port (host order).
  // Inline: every received frame of a multi-shard stack is hashed (12 table lookups).
  uint32_t flow(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t sport, uint16_t dport) const {
    const uint32_t s = src.host(), d = dst.host();
    return t_[0][s >> 24] ^ t_[1][(s >> 16) & 0xff] ^ t_[2][(s >> 8) & 0xff] ^ t_[3][s & 0xff] ^ t_[4][d >> 24] ^
           t_[5][(d >> 16) & 0xff] ^ t_[6][(d >> 8) & 0xff] ^ t_[7][d & 0xff] ^ t_[8][sport >> 8] ^
           t_[9][sport & 0xff] ^ t_[10][dport >> 8] ^ t_[11][dport & 0xff];
  }
  // Addresses only (fragments, ICMP queries, anything without ports).
  uint32_t addrs(wire::Ipv4Addr src, wire::Ipv4Addr dst) const { return flow(src, dst, 0, 0); }

 private:
  std::array<std::array<uint32_t, 256>, 12> t_{};
};

// Which shard owns a hash, and how to pick a local port whose flow comes home.
class RssMap {
 public:
  // `reta_size`: a power of two in [8, kRssRetaMax] (a NIC's own table size; every entry i maps to
  // i % shards). `shards` at most 64.
  explicit RssMap(unsigned shards = 1, unsigned reta_size = kRssRetaSize);
  unsigned shards() const { return shards_; }
  unsigned reta_size() const { return reta_size_; }
  unsigned owner(uint32_t hash) const { return reta_[hash & (reta_size_ - 1)]; }
  unsigned owner_of(const RssHash& h, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t sport, uint16_t dport) const {
    return shards_ == 1 ? 0 : owner(h.flow(src, dst, sport, dport));
  }
  uint16_t reta_entry(unsigned i) const { return reta_[i & (reta_size_ - 1)]; }
  // Replaces the table (entries must be < shards); the port-steering basis is recomputed.
  bool set_reta(const uint16_t* entries, unsigned n);

  // For a connection from (laddr, lport) to (raddr, rport): flips low bits of `lport` (at most the low
  // `adjust_bits()` bits, so the port stays within 2^adjust_bits of the candidate) so that the flow's owner
  // is `shard`. O(1): the hash is linear over GF(2), and a basis for the port bits' contribution to the
  // RETA index is precomputed. Returns the adjusted port (the candidate itself when shards == 1).
  uint16_t steer_port(const RssHash& h, wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport,
                      unsigned shard, uint32_t pick) const;
  unsigned adjust_bits() const { return adjust_bits_; }

 private:
  void build_basis();
  unsigned shards_;
  unsigned reta_size_;
  std::array<uint16_t, kRssRetaMax> reta_{};
  unsigned adjust_bits_ = 16;
  // solve_[v] = port bits to flip to XOR the RETA index by v (valid when the basis spans every index).
  std::array<uint16_t, kRssRetaMax> solve_{};
  bool solvable_ = false;
};

}  // namespace skiff
