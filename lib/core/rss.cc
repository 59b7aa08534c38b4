#include "core/rss.hh"

namespace skiff {

namespace {
constexpr std::array<uint8_t, kRssKeyLen> make_key() {
  std::array<uint8_t, kRssKeyLen> k{};
  for (unsigned i = 0; i < kRssKeyLen; ++i) k[i] = (i % 2) ? 0x5a : 0x6d;
  return k;
}
constexpr std::array<uint8_t, kRssKeyLen> kKey = make_key();

// The 32-bit key window starting at bit `b` (bit 0 = MSB of key byte 0).
uint32_t window(unsigned b) {
  uint32_t w = 0;
  for (unsigned i = 0; i < 32; ++i) {
    const unsigned bit = b + i;
    const unsigned v = (kKey[bit / 8] >> (7 - bit % 8)) & 1;
    w = (w << 1) | v;
  }
  return w;
}
}  // namespace

const uint8_t* rss_key() { return kKey.data(); }

RssHash::RssHash() {
  // Input bit i (0 = MSB of tuple byte 0) contributes window(i) when set; tabulate per byte value.
  for (unsigned byte = 0; byte < 12; ++byte) {
    for (unsigned v = 0; v < 256; ++v) {
      uint32_t h = 0;
      for (unsigned bit = 0; bit < 8; ++bit)
        if (v & (0x80u >> bit)) h ^= window(byte * 8 + bit);
      t_[byte][v] = h;
    }
  }
}

RssMap::RssMap(unsigned shards, unsigned reta_size)
    : shards_(shards ? (shards > 64 ? 64 : shards) : 1), reta_size_(kRssRetaSize) {
  if (reta_size >= 8 && reta_size <= kRssRetaMax && (reta_size & (reta_size - 1)) == 0) reta_size_ = reta_size;
  for (unsigned i = 0; i < reta_size_; ++i) reta_[i] = static_cast<uint16_t>(i % shards_);
  build_basis();
}

bool RssMap::set_reta(const uint16_t* entries, unsigned n) {
  if (n != reta_size_) return false;
  for (unsigned i = 0; i < n; ++i)
    if (entries[i] >= shards_) return false;
  for (unsigned i = 0; i < n; ++i) reta_[i] = entries[i];
  build_basis();
  return true;
}

void RssMap::build_basis() {
  // The local port sits in the destination-port field of an incoming segment (tuple bits 80..95). Port
  // bit p (0 = LSB) is tuple bit 95 - p; its contribution to the RETA index is the low k bits of its
  // window. Find the fewest low port bits whose contributions span all reta_size indices.
  unsigned k = 0;
  while ((1u << k) < reta_size_) ++k;
  solvable_ = false;
  adjust_bits_ = 16;
  for (unsigned nb = k; nb <= 16 && !solvable_; ++nb) {
    // Gaussian elimination over GF(2): rows = index bits, keep for each pivot the port-bit combination.
    std::array<uint16_t, 16> vec{}, comb{};
    for (unsigned p = 0; p < nb; ++p) {
      vec[p] = static_cast<uint16_t>(window(95 - p) & (reta_size_ - 1));
      comb[p] = static_cast<uint16_t>(1u << p);
    }
    std::array<int, 16> pivot_of{};
    pivot_of.fill(-1);
    unsigned rank = 0;
    for (unsigned bit = 0; bit < k; ++bit) {
      int piv = -1;
      for (unsigned p = 0; p < nb; ++p) {
        bool used = false;
        for (unsigned b2 = 0; b2 < bit; ++b2) used |= pivot_of[b2] == static_cast<int>(p);
        if (!used && (vec[p] >> bit) & 1) {
          piv = static_cast<int>(p);
          break;
        }
      }
      if (piv < 0) continue;
      pivot_of[bit] = piv;
      ++rank;
      for (unsigned p = 0; p < nb; ++p) {
        if (static_cast<int>(p) != piv && ((vec[p] >> bit) & 1)) {
          vec[p] ^= vec[piv];
          comb[p] ^= comb[piv];
        }
      }
    }
    if (rank < k) continue;
    // Now vec[pivot_of[bit]] is exactly 1 << bit: index bit `bit` flips with comb[pivot_of[bit]].
    for (unsigned v = 0; v < reta_size_; ++v) {
      uint16_t flip = 0;
      for (unsigned bit = 0; bit < k; ++bit)
        if ((v >> bit) & 1) flip ^= comb[pivot_of[bit]];
      solve_[v] = flip;
    }
    adjust_bits_ = nb;
    solvable_ = true;
  }
}

uint16_t RssMap::steer_port(const RssHash& h, wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr,
                            uint16_t rport, unsigned shard, uint32_t pick) const {
  if (shards_ == 1) return lport;
  // The incoming direction: from the remote end to us (the key is symmetric, so either works).
  const unsigned idx = h.flow(raddr, laddr, rport, lport) & (reta_size_ - 1);
  if (reta_[idx] == shard) return lport;
  if (solvable_) {
    // Any index that maps to `shard`; `pick` chooses which (so ports stay unpredictable). The RETA is
    // walked from a random start: with i % shards tables the first hit is within `shards` entries.
    const unsigned start = pick & (reta_size_ - 1);
    for (unsigned i = 0; i < reta_size_; ++i) {
      const unsigned target = (start + i) & (reta_size_ - 1);
      if (reta_[target] == shard) return static_cast<uint16_t>(lport ^ solve_[idx ^ target]);
    }
    return lport;  // the shard has no RETA entry: nothing lands there
  }
  // No basis (cannot happen with the symmetric key): search.
  for (unsigned x = 1; x < 65536; ++x) {
    const uint16_t p = static_cast<uint16_t>(lport ^ x);
    if (reta_[h.flow(raddr, laddr, rport, p) & (reta_size_ - 1)] == shard) return p;
  }
  return lport;
}

}  // namespace skiff
