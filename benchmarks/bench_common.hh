#pragma once
// Shared by the benchmark executables: bench_main.cc starts DPDK EAL once (pinned to one core), runs the
// registered benchmarks, then runs the teardown hooks before rte_eal_cleanup(), so objects that hold DPDK
// resources (stacks, pools, ports) built lazily by a benchmark are released while EAL is still up.

#include <functional>

namespace skiff::bench {

// The lcore EAL was started on (the benchmarks run on it).
unsigned bench_lcore();
// Registers `fn` to run after the benchmarks, before EAL shuts down (last registered runs first).
void at_teardown(std::function<void()> fn);

}  // namespace skiff::bench
