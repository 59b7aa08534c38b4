#include "core/drop.hh"

namespace skiff {

namespace {
constexpr const char* kNames[] = {
#define SKIFF_X(name, desc) #name,
    SKIFF_DROP_REASONS(SKIFF_X)
#undef SKIFF_X
};
constexpr const char* kDescs[] = {
#define SKIFF_X(name, desc) desc,
    SKIFF_DROP_REASONS(SKIFF_X)
#undef SKIFF_X
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kDropCount);
}  // namespace

const char* drop_name(Drop d) { return static_cast<size_t>(d) < kDropCount ? kNames[static_cast<size_t>(d)] : "?"; }
const char* drop_description(Drop d) {
  return static_cast<size_t>(d) < kDropCount ? kDescs[static_cast<size_t>(d)] : "?";
}

uint64_t DropCounters::total() const {
  uint64_t t = 0;
  for (auto v : n) t += v;
  return t;
}

}  // namespace skiff
