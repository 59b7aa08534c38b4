#include "stack/stats.hh"

#include "core/drop.hh"

namespace skiff {

void print_counters(FILE* out, const char* prefix, const ShardStats& s, const DropCounters& d) {
#define SKIFF_X(name, desc) \
  if (s.name) fprintf(out, "%s%-24s %12llu  %s\n", prefix, #name, static_cast<unsigned long long>(s.name), desc);
  SKIFF_SHARD_STATS(SKIFF_X)
#undef SKIFF_X
  for (size_t i = 0; i < kDropCount; ++i) {
    const Drop r = static_cast<Drop>(i);
    if (d[r])
      fprintf(out, "%sdrop.%-19s %12llu  %s\n", prefix, drop_name(r), static_cast<unsigned long long>(d[r]),
              drop_description(r));
  }
}

}  // namespace skiff
