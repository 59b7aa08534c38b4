#pragma once
// Two net_ring ethdevs wired back to back (what one sends, the other receives): a zero-cost wire for
// running two stacks in one process (the demo, benchmarks, tests).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace skiff {

// Creates ports "<name>_a" and "<name>_b" with `queues` queue pairs each; returns their port ids.
std::optional<std::pair<uint16_t, uint16_t>> make_ring_pair(const std::string& name, uint16_t queues = 1,
                                                            unsigned ring_size = 4096);

}  // namespace skiff
