#pragma once
// Test bootstrap: every test binary links this main, which starts DPDK's EAL once without PCI, hugepages
// or telemetry (a unique --file-prefix per process), then runs the tests.

namespace skiff::test {
// True once EAL is up (tests that need buffers assert it).
bool eal_ready();
}  // namespace skiff::test
