#pragma once
// The stack options every Skiff app shares, after DPDK's EAL arguments and "--":
//   --ip A.B.C.D/PREFIX  --gw A.B.C.D  --mtu N  --mac XX:XX:XX:XX:XX:XX  --config FILE
//   --pool-size N  --mbuf-size N  --idle-sleep USEC  --link-wait MSEC
// --config reads an INI file (DPDK rte_cfgfile) with the same keys in [stack] and tunables in [neigh],
// [ipv4] and [icmp]; command-line values override the file. Anything else is left for the app.

#include <string>
#include <vector>

#include "core/config.hh"

namespace skiff {

struct ParsedOptions {
  StackConfig cfg;
  std::vector<std::string> app_args;  // in order, stack options removed
  std::string error;                  // one line naming the option; empty when fine
};

ParsedOptions parse_stack_options(const std::vector<std::string>& args);
// Applies one key of the INI file's section (also used by tests); returns an error line or "".
std::string apply_config_key(StackConfig& cfg, const std::string& section, const std::string& key,
                             const std::string& value);
std::string load_config_file(StackConfig& cfg, const std::string& path);
// Help text for the shared options.
const char* stack_options_help();

}  // namespace skiff
