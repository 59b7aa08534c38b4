#pragma once
// Small compiler helpers used across Skiff.

#define SKIFF_LIKELY(x) __builtin_expect(!!(x), 1)
#define SKIFF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SKIFF_ALWAYS_INLINE inline __attribute__((always_inline))
#define SKIFF_NOINLINE __attribute__((noinline))
#define SKIFF_COLD __attribute__((cold))

namespace skiff {
inline constexpr unsigned kCacheLine = 64;
}  // namespace skiff
