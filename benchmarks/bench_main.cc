// Benchmark main: starts DPDK EAL once, in-memory (no PCI, no hugepages), on one core, then runs Google
// Benchmark. The core is the last CPU this process may run on (pin with `taskset -c N`); EAL pins the main
// thread there, so mempool per-lcore caches behave as on a real shard.

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_common.hh"

namespace skiff::bench {
namespace {
unsigned g_lcore = 0;
std::vector<std::function<void()>>& teardown_hooks() {
  static std::vector<std::function<void()>> hooks;
  return hooks;
}

unsigned pick_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  unsigned last = 0;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) last = c;
  return last;
}
}  // namespace

unsigned bench_lcore() { return g_lcore; }
void at_teardown(std::function<void()> fn) { teardown_hooks().push_back(std::move(fn)); }

}  // namespace skiff::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  skiff::bench::g_lcore = skiff::bench::pick_cpu();
  std::string prefix = "--file-prefix=skiff-bench-";
  prefix += std::to_string(getpid());
  std::string lcore = std::to_string(skiff::bench::g_lcore);
  std::vector<std::string> args = {"skiff-bench", "--no-pci", "--no-huge", "-m", "1024", prefix,
                                   "--no-telemetry", "--log-level=*:error", "-l", lcore};
  // SKIFF_BENCH_PMD_DIR: a folder of PMD plugins for EAL to load (`-d`), for a machine without DPDK
  // installed (a bundle, docs/performance.md); SKIFF_BENCH_MEM: EAL memory in MiB (default 1024).
  if (const char* d = getenv("SKIFF_BENCH_PMD_DIR")) {
    args.push_back("-d");
    args.push_back(d);
  }
  if (const char* m = getenv("SKIFF_BENCH_MEM")) args[4] = m;
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  if (rte_eal_init(static_cast<int>(av.size()), av.data()) < 0) {
    fprintf(stderr, "skiff-bench: EAL init failed\n");
    return 1;
  }
  benchmark::AddCustomContext("skiff.lcore", lcore);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  auto& hooks = skiff::bench::teardown_hooks();
  for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) (*it)();
  hooks.clear();
  rte_eal_cleanup();
  return 0;
}
