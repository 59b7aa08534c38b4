#include "stack/steer.hh"

namespace skiff {

void PortDirectory::init(unsigned shards) {
  for (auto& p : ports_) p.reset();
  if (shards <= 1) return;
  for (auto& p : ports_) p = std::make_unique<uint64_t[]>(65536);  // zeroed
}

}  // namespace skiff
