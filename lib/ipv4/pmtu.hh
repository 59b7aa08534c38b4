#pragma once
// Path MTU discovery (RFC 1191): what ICMP "fragmentation needed" messages taught a shard about the
// paths to its destinations. Per shard (the owner of a flow hears its ICMP errors), fixed size: a
// set-associative table keyed by a keyed hash of the destination, so a flood of errors about many
// destinations evicts old entries and never allocates. An entry expires after a while (RFC 1191 §6.3:
// the path may have grown again), as Linux's route exceptions do after net.ipv4.route.mtu_expires.

#include <array>
#include <cstdint>

#include "base/siphash.hh"
#include "base/time.hh"
#include "core/config.hh"
#include "wire/addr.hh"

namespace skiff {

class PmtuCache {
 public:
  static constexpr unsigned kWays = 4;
  static constexpr unsigned kSets = 64;

  explicit PmtuCache(const Ipv4Config& cfg);

  // The path MTU learned for `dst` that is still valid at `now`, or 0 (none: the interface's MTU holds).
  uint16_t get(wire::Ipv4Addr dst, Instant now) const;
  // The MTU of the path to `dst` leaving through an interface of MTU `ifc_mtu`.
  uint16_t path_mtu(wire::Ipv4Addr dst, uint16_t ifc_mtu, Instant now) const {
    if (!filled_) return ifc_mtu;  // nothing ever learned: no lookup (the common case, per datagram)
    const uint16_t p = get(dst, now);
    return p && p < ifc_mtu ? p : ifc_mtu;
  }
  // Records that the path to `dst` takes at most `mtu` bytes (already clamped by the caller); keeps the
  // lower of an existing valid entry and `mtu`, and restarts its lifetime. Returns the MTU now recorded.
  uint16_t learn(wire::Ipv4Addr dst, uint16_t mtu, Instant now);
  // Entries currently valid (tests, statistics).
  unsigned size(Instant now) const;
  // Changes whenever a learn() lowers what is known about some destination, or an entry expires (expire):
  // a connection that saw another value last looks its destination up again (one comparison per send, no
  // lookup).
  uint32_t gen() const { return gen_; }
  // Housekeeping (every 100 ms): once an entry expired, gen() moves, so that connections it lowered grow
  // back (RFC 1191 §6.3).
  void expire(Instant now);

 private:
  struct Entry {
    uint32_t dst = 0;
    uint16_t mtu = 0;  // 0: free
    Instant expires{};
  };
  unsigned set_of(wire::Ipv4Addr dst) const;

  Duration ttl_;
  SipKey key_;
  std::array<Entry, kSets * kWays> e_{};
  unsigned filled_ = 0;  // slots ever used
  uint32_t gen_ = 0;
  Instant next_expiry_{};  // no entry expires before this (Instant{}: none valid)
};

// RFC 1191 §5: a router that reports no next-hop MTU (an old one) leaves the host to guess: the largest
// of the RFC's plateau values below the length of the datagram it refused.
uint16_t pmtu_plateau_below(uint16_t total_len);
// The path MTU an ICMP "fragmentation needed" states: its next-hop MTU field (the low 16 bits of the header's
// second word, `info`), or the plateau guess when a router left it 0, never below `floor` (Linux's
// route.min_pmtu: a forged error must not shrink segments to nothing). `refused_len` is the quoted
// datagram's total length.
inline uint16_t pmtu_from_icmp(uint32_t info, uint16_t refused_len, uint16_t floor) {
  const uint16_t mtu = static_cast<uint16_t>(info & 0xffff);
  const uint16_t v = mtu ? mtu : pmtu_plateau_below(refused_len);
  return v > floor ? v : floor;
}

}  // namespace skiff
