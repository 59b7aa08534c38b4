#include "pkt_builder.hh"

#include <cstring>

#include "wire/checksum.hh"
#include "wire/endian.hh"

namespace skiff::test {

namespace {
// Appends without vector::insert (GCC 12 -O3 warns falsely about it: -Warray-bounds).
void append(Bytes& to, const Bytes& from) {
  const size_t old = to.size();
  to.resize(old + from.size());
  if (!from.empty()) memcpy(to.data() + old, from.data(), from.size());
}
}  // namespace

using wire::store_be16;
using wire::store_be32;

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed * 7 + 3);
  return b;
}

Bytes eth(const MacAddr& dst, const MacAddr& src, uint16_t ethertype, const Bytes& payload, bool pad) {
  Bytes f(14);
  dst.store(f.data());
  src.store(f.data() + 6);
  store_be16(f.data() + 12, ethertype);
  append(f, payload);
  if (pad && f.size() < 60) f.resize(60, 0);
  return f;
}

Bytes ipv4(const Ipv4Spec& s, const Bytes& payload) {
  Bytes opts = s.options;
  while (opts.size() % 4) opts.push_back(0);
  const size_t hl = 20 + opts.size();
  Bytes b(hl);
  b[0] = static_cast<uint8_t>((s.version.value_or(4) << 4) | s.ihl.value_or(static_cast<uint8_t>(hl / 4)));
  b[1] = s.tos;
  store_be16(b.data() + 2, s.total_len.value_or(static_cast<uint16_t>(hl + payload.size())));
  store_be16(b.data() + 4, s.id);
  store_be16(b.data() + 6, s.flags_frag);
  b[8] = s.ttl;
  b[9] = s.proto;
  store_be32(b.data() + 12, s.src.host());
  store_be32(b.data() + 16, s.dst.host());
  std::copy(opts.begin(), opts.end(), b.begin() + 20);
  uint16_t c = wire::inet_checksum(b.data(), hl);
  if (s.bad_checksum) c = static_cast<uint16_t>(c ^ 0x5a5a);
  wire::store_raw16(b.data() + 10, c);
  append(b, payload);
  return b;
}

Bytes icmp(uint8_t type, uint8_t code, uint32_t rest, const Bytes& data, bool bad_checksum) {
  Bytes b(8);
  b[0] = type;
  b[1] = code;
  store_be32(b.data() + 4, rest);
  append(b, data);
  uint16_t c = wire::inet_checksum(b.data(), b.size());
  if (bad_checksum) c = static_cast<uint16_t>(c ^ 0x1111);
  wire::store_raw16(b.data() + 2, c);
  return b;
}

Bytes icmp_echo(uint8_t type, uint16_t id, uint16_t seq, const Bytes& data, bool bad_checksum) {
  return icmp(type, 0, (uint32_t{id} << 16) | seq, data, bad_checksum);
}

Bytes arp(uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa, uint16_t htype,
          uint16_t ptype, uint8_t hlen, uint8_t plen) {
  Bytes b(8);
  store_be16(b.data(), htype);
  store_be16(b.data() + 2, ptype);
  b[4] = hlen;
  b[5] = plen;
  store_be16(b.data() + 6, op);
  auto put = [&](const uint8_t* p, size_t n, size_t want) {
    for (size_t i = 0; i < want; ++i) b.push_back(i < n ? p[i] : 0);
  };
  uint8_t sp[4], tp[4];
  store_be32(sp, spa.host());
  store_be32(tp, tpa.host());
  put(sha.b.data(), 6, hlen);
  put(sp, 4, plen);
  put(tha.b.data(), 6, hlen);
  put(tp, 4, plen);
  return b;
}

Bytes udp(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, const Bytes& payload, bool csum) {
  Bytes b(8);
  store_be16(b.data(), sport);
  store_be16(b.data() + 2, dport);
  store_be16(b.data() + 4, static_cast<uint16_t>(8 + payload.size()));
  append(b, payload);
  if (csum) {
    uint64_t s = wire::pseudo_header_sum(src, dst, 17, static_cast<uint16_t>(b.size()));
    uint16_t c = wire::csum_finish(wire::csum_partial(b.data(), b.size(), s));
    if (c == 0) c = 0xffff;
    wire::store_raw16(b.data() + 6, c);
  }
  return b;
}

std::vector<Bytes> fragments(const Ipv4Spec& s, const Bytes& payload, size_t chunk) {
  std::vector<Bytes> out;
  for (size_t off = 0; off < payload.size(); off += chunk) {
    const size_t n = std::min(chunk, payload.size() - off);
    Ipv4Spec f = s;
    const bool last = off + n >= payload.size();
    f.flags_frag = static_cast<uint16_t>((s.flags_frag & 0x4000) | (last ? 0 : 0x2000) | (off / 8));
    out.push_back(ipv4(f, Bytes(payload.begin() + off, payload.begin() + off + n)));
  }
  return out;
}

}  // namespace skiff::test
