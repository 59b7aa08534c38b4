#include "ipv4/pmtu.hh"

#include "base/random.hh"

namespace skiff {

PmtuCache::PmtuCache(const Ipv4Config& cfg) : ttl_(cfg.pmtu_expires) {
  // A key of its own (not the process secret, which keys other tables): where a destination lands is
  // not predictable from outside, so no one can aim a flood of errors at one set.
  Rng rng;
  key_.k0 = rng.next();
  key_.k1 = rng.next();
}

unsigned PmtuCache::set_of(wire::Ipv4Addr dst) const {
  const uint32_t a = dst.host();
  return static_cast<unsigned>(siphash24(key_, &a, sizeof a) % kSets);
}

uint16_t PmtuCache::get(wire::Ipv4Addr dst, Instant now) const {
  const Entry* s = &e_[set_of(dst) * kWays];
  for (unsigned w = 0; w < kWays; ++w)
    if (s[w].mtu && s[w].dst == dst.host() && now < s[w].expires) return s[w].mtu;
  return 0;
}

uint16_t PmtuCache::learn(wire::Ipv4Addr dst, uint16_t mtu, Instant now) {
  Entry* s = &e_[set_of(dst) * kWays];
  Entry* slot = nullptr;
  uint16_t was = 0;  // the valid value before, if any
  for (unsigned w = 0; w < kWays; ++w) {
    if (s[w].mtu && s[w].dst == dst.host()) {
      slot = &s[w];
      if (now < slot->expires) was = slot->mtu;
      if (was && was < mtu) mtu = was;  // only ever lowered while valid
      break;
    }
  }
  if (!was || mtu < was) ++gen_;
  if (!slot) {
    // A free or expired way, else the one closest to expiry.
    slot = &s[0];
    for (unsigned w = 0; w < kWays; ++w) {
      if (!s[w].mtu || !(now < s[w].expires)) {
        slot = &s[w];
        break;
      }
      if (s[w].expires < slot->expires) slot = &s[w];
    }
  }
  if (!slot->mtu) ++filled_;
  slot->dst = dst.host();
  slot->mtu = mtu;
  slot->expires = now + ttl_;
  if (!next_expiry_.ns() || slot->expires < next_expiry_) next_expiry_ = slot->expires;
  return mtu;
}

void PmtuCache::expire(Instant now) {
  if (!next_expiry_.ns() || now < next_expiry_) return;
  ++gen_;
  next_expiry_ = Instant{};
  for (const Entry& x : e_)
    if (x.mtu && now < x.expires && (!next_expiry_.ns() || x.expires < next_expiry_)) next_expiry_ = x.expires;
}

unsigned PmtuCache::size(Instant now) const {
  unsigned n = 0;
  for (const Entry& x : e_) n += x.mtu && now < x.expires;
  return n;
}

uint16_t pmtu_plateau_below(uint16_t total_len) {
  static constexpr uint16_t kPlateaus[] = {65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};
  for (uint16_t p : kPlateaus)
    if (p < total_len) return p;
  return 68;
}

}  // namespace skiff
