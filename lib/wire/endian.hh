#pragma once
// Byte order lives in the type: Be16/Be32 hold network-order bytes; .host() converts explicitly.

#include <cstdint>
#include <cstring>

namespace skiff::wire {

inline uint16_t load_be16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  v = __builtin_bswap16(v);
  memcpy(p, &v, 2);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  memcpy(p, &v, 4);
}
// Little-endian 64-bit values (key material in the formats Linux uses; little-endian hosts: x86-64,
// aarch64).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
inline void store_le64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }

// A 16-bit value in network byte order.
class Be16 {
 public:
  constexpr Be16() = default;
  static constexpr Be16 from_host(uint16_t h) { return Be16(__builtin_bswap16(h)); }
  static constexpr Be16 from_raw(uint16_t raw) { return Be16(raw); }
  constexpr uint16_t host() const { return __builtin_bswap16(raw_); }
  constexpr uint16_t raw() const { return raw_; }
  constexpr bool operator==(const Be16&) const = default;

 private:
  constexpr explicit Be16(uint16_t raw) : raw_(raw) {}
  uint16_t raw_ = 0;
};

// A 32-bit value in network byte order.
class Be32 {
 public:
  constexpr Be32() = default;
  static constexpr Be32 from_host(uint32_t h) { return Be32(__builtin_bswap32(h)); }
  static constexpr Be32 from_raw(uint32_t raw) { return Be32(raw); }
  constexpr uint32_t host() const { return __builtin_bswap32(raw_); }
  constexpr uint32_t raw() const { return raw_; }
  constexpr bool operator==(const Be32&) const = default;

 private:
  constexpr explicit Be32(uint32_t raw) : raw_(raw) {}
  uint32_t raw_ = 0;
};

static_assert(sizeof(Be16) == 2 && sizeof(Be32) == 4);

}  // namespace skiff::wire
