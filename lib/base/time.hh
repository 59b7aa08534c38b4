#pragma once
// Time as Skiff sees it: a monotonic Instant (nanoseconds since an arbitrary origin) and a Duration.
// No code reads a clock behind your back: time enters as a parameter or through the shard.

#include <chrono>
#include <cstdint>

namespace skiff {

using Duration = std::chrono::nanoseconds;
using namespace std::chrono_literals;

class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant from_ns(uint64_t ns) { return Instant(ns); }
  static constexpr Instant max() { return Instant(UINT64_MAX); }
  constexpr uint64_t ns() const { return ns_; }

  constexpr Instant operator+(Duration d) const { return Instant(ns_ + static_cast<uint64_t>(d.count())); }
  constexpr Instant operator-(Duration d) const { return Instant(ns_ - static_cast<uint64_t>(d.count())); }
  constexpr Instant& operator+=(Duration d) { ns_ += static_cast<uint64_t>(d.count()); return *this; }
  constexpr Duration operator-(Instant o) const { return Duration(static_cast<int64_t>(ns_ - o.ns_)); }
  constexpr auto operator<=>(const Instant&) const = default;

 private:
  constexpr explicit Instant(uint64_t ns) : ns_(ns) {}
  uint64_t ns_ = 0;
};

constexpr int64_t to_ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
constexpr int64_t to_us(Duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

}  // namespace skiff
