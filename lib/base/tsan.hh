#pragma once
// ThreadSanitizer annotations for hand-offs through code TSan does not see: DPDK's libraries (the mempool
// driver, PMDs such as net_ring) are not instrumented, so a buffer one thread frees or transmits and
// another allocates or receives would look like a data race. Releasing the buffer's address before the
// hand-off and acquiring it after gives TSan the happens-before edge the hardware already has. No-ops in
// other builds.

#if defined(__SANITIZE_THREAD__)
#define SKIFF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SKIFF_TSAN 1
#endif
#endif

#if defined(SKIFF_TSAN)
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
#endif

namespace skiff {

inline void tsan_release(void* addr) {
#if defined(SKIFF_TSAN)
  __tsan_release(addr);
#else
  (void)addr;
#endif
}

inline void tsan_acquire(void* addr) {
#if defined(SKIFF_TSAN)
  __tsan_acquire(addr);
#else
  (void)addr;
#endif
}

}  // namespace skiff
