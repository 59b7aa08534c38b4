#pragma once
// Entry points shared by main.cc and demo.cc.

#include <functional>

#include "skiff-perf/loop.hh"
#include "skiff-perf/proto.hh"

namespace perf {

// Runs the client or the server of `o` on `loop`/`net` until it is done or interrupted; returns the
// exit status. `settle` runs after the sockets are closed (Skiff: polls a little so FINs leave).
int run_peer(Loop& loop, Net& net, const Options& o, const std::function<void()>& settle);

// skiff-perf --demo: Skiff vs the kernel, embedded (no NIC, no hugepages, no configuration).
int run_demo(double secs_per_test);

}  // namespace perf
