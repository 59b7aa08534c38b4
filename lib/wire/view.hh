#pragma once
// Common base of the header views: a pointer and the length that was checked. Accessors never read past
// the checked region; setters are for building headers in buffers the caller owns.

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/endian.hh"

namespace skiff::wire {

class ViewBase {
 public:
  constexpr ViewBase() = default;
  constexpr ViewBase(uint8_t* p, size_t len) : p_(p), len_(len) {}
  uint8_t* data() const { return p_; }
  size_t buffer_len() const { return len_; }

 protected:
  uint8_t u8(size_t off) const { return p_[off]; }
  uint16_t u16(size_t off) const { return load_be16(p_ + off); }
  uint32_t u32(size_t off) const { return load_be32(p_ + off); }
  void set_u8(size_t off, uint8_t v) { p_[off] = v; }
  void set_u16(size_t off, uint16_t v) { store_be16(p_ + off, v); }
  void set_u32(size_t off, uint32_t v) { store_be32(p_ + off, v); }

  uint8_t* p_ = nullptr;
  size_t len_ = 0;
};

}  // namespace skiff::wire
