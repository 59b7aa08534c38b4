#include "eal_env.hh"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace skiff::test {
namespace {
bool g_ready = false;
}
bool eal_ready() { return g_ready; }
}  // namespace skiff::test

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string prefix = "--file-prefix=skiff-test-" + std::to_string(getpid());
  std::vector<std::string> args = {"skiff-test", "--no-pci",     "--no-huge",   "-m", "512",
                                   prefix,       "--no-telemetry", "--log-level=*:error"};
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
