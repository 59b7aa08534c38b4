#include "eal_env.hh"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace skiff::test {
namespace {
bool g_ready = false;
}
bool eal_ready() { return g_ready; }
}  // namespace skiff::test

namespace {
// Free 2 MiB hugepages, if hugetlbfs is mounted (tests use them with SKIFF_TEST_HUGE=1, else --no-huge).
long free_hugepages() {
  FILE* m = fopen("/proc/mounts", "r");
  bool mounted = false;
  char line[512];
  while (m && fgets(line, sizeof line, m))
    if (strstr(line, " hugetlbfs ")) mounted = true;
  if (m) fclose(m);
  if (!mounted) return 0;
  FILE* f = fopen("/proc/meminfo", "r");
  long n = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "HugePages_Free: %ld", &n) == 1) break;
  if (f) fclose(f);
  return n;
}
}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string prefix = "--file-prefix=skiff-test-" + std::to_string(getpid());
  std::vector<std::string> args = {"skiff-test", "--no-pci", prefix, "--no-telemetry", "--log-level=*:error"};
  // Hugepages only when asked for: test binaries run in parallel, and several of them sizing up the same
  // free pages at once would race for them (EAL init then fails for the losers).
  if (!getenv("SKIFF_TEST_HUGE") || free_hugepages() < 256) {
    args.insert(args.end(), {"--no-huge", "-m", "512"});
  } else {
    args.insert(args.end(), {"-m", "512", "--huge-unlink"});
  }
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  if (rte_eal_init(static_cast<int>(av.size()), av.data()) < 0) {
    fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  skiff::test::g_ready = true;
  const int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
