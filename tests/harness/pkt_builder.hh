#pragma once
// Builders for synthetic frames, with knobs to break every field a test wants broken.

#include <cstdint>
#include <optional>
#include <vector>

#include "wire/addr.hh"

namespace skiff::test {

using Bytes = std::vector<uint8_t>;
using wire::Ipv4Addr;
using wire::MacAddr;

Bytes pattern(size_t n, uint8_t seed = 0);

// Ethernet II frame, zero-padded to 60 bytes unless pad is false.
Bytes eth(const MacAddr& dst, const MacAddr& src, uint16_t ethertype, const Bytes& payload, bool pad = true);

struct Ipv4Spec {
  Ipv4Addr src, dst;
  uint8_t proto = 1;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0x1234;
  uint16_t flags_frag = 0;                // raw flags + offset/8 field
  std::optional<uint16_t> total_len;      // override (default: header + payload)
  std::optional<uint8_t> ihl;             // override, in 32-bit words
  std::optional<uint8_t> version;         // override
  Bytes options;                          // appended after the 20-byte header (padded to 4)
  bool bad_checksum = false;
};
Bytes ipv4(const Ipv4Spec& s, const Bytes& payload);

// ICMP message with a correct checksum (unless bad_checksum).
Bytes icmp(uint8_t type, uint8_t code, uint32_t rest, const Bytes& data, bool bad_checksum = false);
Bytes icmp_echo(uint8_t type, uint16_t id, uint16_t seq, const Bytes& data, bool bad_checksum = false);

// ARP packet (28 bytes for Ethernet/IPv4; other hlen/plen change the layout accordingly).
Bytes arp(uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa, uint16_t htype = 1,
          uint16_t ptype = 0x0800, uint8_t hlen = 6, uint8_t plen = 4);

// UDP datagram with a correct checksum (csum=false leaves it 0 = none).
Bytes udp(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, const Bytes& payload, bool csum = true);

// Splits `payload` (the IP payload) into fragment datagrams of at most `chunk` payload bytes each
// (chunk a multiple of 8); returns IP datagrams (no Ethernet header).
std::vector<Bytes> fragments(const Ipv4Spec& s, const Bytes& payload, size_t chunk);

}  // namespace skiff::test
