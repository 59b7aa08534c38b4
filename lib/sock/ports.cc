#include "sock/ports.hh"

#include "base/siphash.hh"

namespace skiff {

EphemeralPorts::EphemeralPorts(uint16_t lo, uint16_t hi) : lo_(lo <= hi ? lo : hi), hi_(lo <= hi ? hi : lo) {
  for (auto& t : table_) t = static_cast<uint16_t>(rng_.next_u32());
}

uint32_t EphemeralPorts::hash(wire::Ipv4Addr l, wire::Ipv4Addr r, uint16_t rp, uint8_t proto,
                              uint8_t which) const {
  struct {
    uint32_t l, r;
    uint16_t rp;
    uint8_t proto, which;
  } key{l.host(), r.host(), rp, proto, which};
  return static_cast<uint32_t>(siphash24(process_secret(), &key, sizeof key));
}

}  // namespace skiff
