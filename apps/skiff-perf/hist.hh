#pragma once
// A latency histogram in nanoseconds: exact below 64 ns, then 32 buckets per power of two (under 3%
// error), up to about 18 minutes. Fixed size, no allocation after construction.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace perf {

class Histogram {
 public:
  static constexpr unsigned kBuckets = 64 * 32;

  void add(uint64_t ns) {
    ++counts_[index(ns)];
    ++count_;
    sum_ += ns;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }
  void merge(const Histogram& o) {
    for (unsigned i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
  void clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // The value at quantile q (0..1): the middle of the bucket holding it, clamped to [min, max].
  uint64_t quantile(double q) const {
    if (!count_) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_));
    if (rank >= count_) rank = count_ - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::clamp(value(i), min(), max_);
    }
    return max_;
  }

 private:
  static unsigned index(uint64_t v) {
    if (v < 64) return static_cast<unsigned>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - 5;
    const unsigned i = (shift + 1) * 32 + static_cast<unsigned>((v >> shift) - 32);
    return std::min(i, kBuckets - 1);
  }
  static uint64_t value(unsigned i) {
    if (i < 64) return i;
    const unsigned shift = i / 32 - 1;
    const uint64_t mant = i % 32 + 32;
    return (mant << shift) + ((uint64_t{1} << shift) >> 1);
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

}  // namespace perf
