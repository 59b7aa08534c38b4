#pragma once
// TCP sequence numbers: 32-bit modular arithmetic (RFC 9293 §3.4). Only this type compares them.

#include <cstdint>

namespace skiff::wire {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : v_(v) {}
  constexpr uint32_t raw() const { return v_; }

  constexpr SeqNum operator+(uint32_t n) const { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(uint32_t n) const { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(uint32_t n) { v_ += n; return *this; }
  // Signed distance from `o` to this (valid while |distance| < 2^31).
  constexpr int32_t operator-(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_); }

  constexpr bool operator==(const SeqNum&) const = default;
  constexpr bool lt(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_) < 0; }
  constexpr bool le(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_) <= 0; }
  constexpr bool gt(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_) > 0; }
  constexpr bool ge(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_) >= 0; }
  // a <= this < b, over the wrap.
  constexpr bool in_range(SeqNum a, SeqNum b) const { return v_ - a.v_ < b.v_ - a.v_; }

 private:
  uint32_t v_ = 0;
};

constexpr SeqNum seq_max(SeqNum a, SeqNum b) { return a.ge(b) ? a : b; }
constexpr SeqNum seq_min(SeqNum a, SeqNum b) { return a.le(b) ? a : b; }

}  // namespace skiff::wire
