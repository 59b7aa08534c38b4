#pragma once
// Link and network addresses.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::wire {

struct MacAddr {
  std::array<uint8_t, 6> b{};

  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static constexpr MacAddr zero() { return MacAddr{}; }
  static MacAddr load(const uint8_t* p) {
    MacAddr m;
    memcpy(m.b.data(), p, 6);
    return m;
  }
  void store(uint8_t* p) const { memcpy(p, b.data(), 6); }
  constexpr bool is_broadcast() const { return *this == broadcast(); }
  constexpr bool is_multicast() const { return b[0] & 1; }  // includes broadcast
  constexpr bool is_zero() const { return *this == zero(); }
  constexpr bool operator==(const MacAddr&) const = default;
  std::string to_string() const;
  static std::optional<MacAddr> parse(std::string_view s);
};

// An IPv4 address, held in host byte order (arithmetic and masks read naturally).
class Ipv4Addr {
 public:
  constexpr Ipv4Addr() = default;
  constexpr explicit Ipv4Addr(uint32_t host) : v_(host) {}
  static constexpr Ipv4Addr of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr((uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | d);
  }
  static constexpr Ipv4Addr any() { return Ipv4Addr(0); }
  static constexpr Ipv4Addr broadcast() { return Ipv4Addr(0xffffffffu); }
  static std::optional<Ipv4Addr> parse(std::string_view s);

  constexpr uint32_t host() const { return v_; }
  constexpr uint32_t be() const { return __builtin_bswap32(v_); }
  constexpr bool is_any() const { return v_ == 0; }
  constexpr bool is_broadcast() const { return v_ == 0xffffffffu; }
  constexpr bool is_multicast() const { return (v_ >> 28) == 0xe; }
  constexpr bool is_loopback() const { return (v_ >> 24) == 127; }
  constexpr bool is_class_e() const { return (v_ >> 28) == 0xf; }
  constexpr auto operator<=>(const Ipv4Addr&) const = default;
  std::string to_string() const;

 private:
  uint32_t v_ = 0;
};

constexpr uint32_t prefix_mask(unsigned prefix_len) {
  return prefix_len == 0 ? 0u : (prefix_len >= 32 ? 0xffffffffu : ~((1u << (32 - prefix_len)) - 1));
}

// An address with its prefix, e.g. 10.0.0.1/24.
struct Ipv4Cidr {
  Ipv4Addr addr;
  uint8_t prefix_len = 32;

  constexpr uint32_t mask() const { return prefix_mask(prefix_len); }
  constexpr Ipv4Addr network() const { return Ipv4Addr(addr.host() & mask()); }
  constexpr Ipv4Addr directed_broadcast() const { return Ipv4Addr(addr.host() | ~mask()); }
  constexpr bool contains(Ipv4Addr a) const { return (a.host() & mask()) == (addr.host() & mask()); }
  static std::optional<Ipv4Cidr> parse(std::string_view s);
  std::string to_string() const;
};

}  // namespace skiff::wire
