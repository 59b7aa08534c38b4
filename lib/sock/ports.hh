#pragma once
// Ephemeral ports per RFC 6056 Algorithm 4 ("double-hash port selection", what Linux does): the search
// for a 4-tuple starts at F(local, remote, remote port, secret) + table[G(...)] so ports are unpredictable
// to an off-path attacker yet a given destination cycles through the whole range before reusing one.

#include <array>
#include <cstdint>

#include "base/random.hh"
#include "wire/addr.hh"

namespace skiff {

class EphemeralPorts {
 public:
  EphemeralPorts(uint16_t lo, uint16_t hi);
  uint16_t lo() const { return lo_; }
  uint16_t hi() const { return hi_; }
  uint32_t count() const { return uint32_t{hi_} - lo_ + 1; }

  // The range a socket with IP_LOCAL_PORT_RANGE `range` (lo | hi << 16; 0: none) draws from, as Linux's
  // inet_sk_get_local_port_range: each bound it gives replaces the stack's where it lies inside the
  // stack's range, else the stack's stands.
  struct Range {
    uint16_t lo, hi;
  };
  Range range_for(uint32_t range) const {
    Range r{lo_, hi_};
    if (range) {
      const uint16_t sk_lo = static_cast<uint16_t>(range), sk_hi = static_cast<uint16_t>(range >> 16);
      if (r.lo <= sk_lo && sk_lo <= r.hi) r.lo = sk_lo;
      if (r.lo <= sk_hi && sk_hi <= r.hi) r.hi = sk_hi;
    }
    return r;
  }

  // Calls try_port(port) on candidates in RFC 6056 order until it returns true; returns that port or 0.
  template <class F>
  uint16_t pick(wire::Ipv4Addr laddr, wire::Ipv4Addr raddr, uint16_t rport, uint8_t proto, F&& try_port,
                uint32_t range = 0) {
    const Range r = range_for(range);
    const uint32_t n = uint32_t{r.hi} - r.lo + 1;
    const uint32_t offset = hash(laddr, raddr, rport, proto, 0);
    uint16_t& perturb = table_[hash(laddr, raddr, rport, proto, 1) % table_.size()];
    for (uint32_t i = 0; i < n; ++i) {
      const uint16_t port = static_cast<uint16_t>(r.lo + (offset + perturb + i) % n);
      if (try_port(port)) {
        perturb = static_cast<uint16_t>(perturb + i + 1 + (rng_.next_u32() & 1));
        return port;
      }
    }
    return 0;
  }
  // A uniformly random starting point (unconnected sockets: no remote to hash).
  template <class F>
  uint16_t pick_random(F&& try_port, uint32_t range = 0) {
    const Range r = range_for(range);
    const uint32_t n = uint32_t{r.hi} - r.lo + 1;
    const uint32_t start = rng_.below(n);
    for (uint32_t i = 0; i < n; ++i) {
      const uint16_t port = static_cast<uint16_t>(r.lo + (start + i) % n);
      if (try_port(port)) return port;
    }
    return 0;
  }

 private:
  uint32_t hash(wire::Ipv4Addr l, wire::Ipv4Addr r, uint16_t rp, uint8_t proto, uint8_t which) const;

  uint16_t lo_, hi_;
  std::array<uint16_t, 256> table_{};
  Rng rng_;
};

}  // namespace skiff
