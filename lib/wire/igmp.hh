#pragma once
// IGMP (RFC 1112 v1, RFC 2236 v2, RFC 3376 v3): message types, well-known groups, field helpers.

#include <cstdint>

#include "wire/addr.hh"

namespace skiff::wire::igmp {

inline constexpr uint8_t kProto = 2;  // IP protocol number

inline constexpr uint8_t kQuery = 0x11;
inline constexpr uint8_t kV1Report = 0x12;
inline constexpr uint8_t kV2Report = 0x16;
inline constexpr uint8_t kV2Leave = 0x17;
inline constexpr uint8_t kV3Report = 0x22;

// RFC 3376 §4.2.12 group record types.
inline constexpr uint8_t kModeIsInclude = 1;
inline constexpr uint8_t kModeIsExclude = 2;
inline constexpr uint8_t kChangeToInclude = 3;
inline constexpr uint8_t kChangeToExclude = 4;
inline constexpr uint8_t kAllowNew = 5;
inline constexpr uint8_t kBlockOld = 6;

inline constexpr Ipv4Addr kAllSystems = Ipv4Addr::of(224, 0, 0, 1);
inline constexpr Ipv4Addr kAllRouters = Ipv4Addr::of(224, 0, 0, 2);
inline constexpr Ipv4Addr kV3Routers = Ipv4Addr::of(224, 0, 0, 22);

inline constexpr uint32_t kMinLen = 8;     // v1/v2 messages, the v3 query's first 8 bytes
inline constexpr uint32_t kV3QueryMin = 12;

// RFC 3376 §4.1.1: Max Resp Code (and QQIC, §4.1.7) below 128 is the value; above, a floating-point
// number: mant = low 4 bits, exp = next 3, value = (mant | 0x10) << (exp + 3).
inline uint32_t decode_code(uint8_t c) {
  return c < 128 ? c : (uint32_t{(c & 0x0fu) | 0x10u} << (((c >> 4) & 0x07u) + 3));
}

// The Ethernet address a group maps to (RFC 1112 §6.4): 01-00-5E and the group's low 23 bits.
inline MacAddr group_mac(Ipv4Addr g) {
  const uint32_t h = g.host();
  return MacAddr{{0x01, 0x00, 0x5e, static_cast<uint8_t>((h >> 16) & 0x7f), static_cast<uint8_t>(h >> 8),
                  static_cast<uint8_t>(h)}};
}
// Whether an Ethernet address is one that groups map to (01-00-5E, the 24th bit clear).
inline bool is_group_mac(const MacAddr& m) { return m.b[0] == 0x01 && m.b[1] == 0x00 && m.b[2] == 0x5e && !(m.b[3] & 0x80); }

}  // namespace skiff::wire::igmp
