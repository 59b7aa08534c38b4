#include "stack/steer.hh"

#include "base/compiler.hh"

namespace skiff {

namespace {
constexpr uint16_t kEthIpv4 = 0x0800, kEthArp = 0x0806;
constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

bool is_icmp_error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}
}  // namespace

unsigned ip_owner(const RssHash& h, const RssMap& m, const uint8_t* ip, uint32_t len, unsigned self) {
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

unsigned frame_owner(const RssHash& h, const RssMap& m, const uint8_t* f, uint32_t len, unsigned self) {
  if (len < 14) return self;
  const uint16_t type = be16(f + 12);
  if (type == kEthIpv4) return ip_owner(h, m, f + 14, len - 14, self);
  if (type == kEthArp) return 0;
  return self;
}

void PortDirectory::init(unsigned shards) {
  for (auto& p : ports_) p.reset();
  if (shards <= 1) return;
  for (auto& p : ports_) p = std::make_unique<uint64_t[]>(65536);  // zeroed
}

}  // namespace skiff
