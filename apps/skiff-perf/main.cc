// skiff-perf: an iperf3-compatible benchmark (client and server, TCP and UDP, the iperf3 3.12+ wire
// protocol) with request/response modes iperf3 lacks, over Skiff or - with --kernel - over Linux sockets,
// and an embedded Skiff-versus-kernel demo. See docs/performance.md ("skiff-perf").
//
//   skiff-perf [EAL args] -- --ip A.B.C.D/P [stack options] (-s | -c HOST) [iperf3 options]
//   skiff-perf --kernel (-s | -c HOST) [iperf3 options]
//   skiff-perf --demo [SECS]

#include <rte_lcore.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/runtime.hh"
#include "skiff-perf/app.hh"
#include "skiff-perf/peers.hh"

namespace perf {

int run_peer(Loop& loop, Net& net, const Options& o, const std::function<void()>& settle) {
  Output out;
  out.json = o.json;
  loop.interrupted = [] { return skiff::stop_requested(); };
  int rc = 0;
  if (o.role == Options::Role::Server) {
    Server srv(loop, net, o, out);
    std::string err;
    if (!srv.start(&err)) {
      fprintf(stderr, "skiff-perf: error - %s\n", err.c_str());
      return 1;
    }
    if (!loop.run_until([&] { return srv.done(); })) {
      srv.terminate();
      const Time until = Clock::now() + std::chrono::milliseconds(100);
      while (Clock::now() < until) loop.run_once();
    }
  } else {
    Client cl(loop, net, o, out);
    cl.start();
    if (!loop.run_until([&] { return cl.done(); })) {
      cl.terminate();
      const Time until = Clock::now() + std::chrono::milliseconds(100);
      while (Clock::now() < until) loop.run_once();
    }
    rc = cl.exit_code();
  }
  if (settle) settle();
  return rc;
}

}  // namespace perf

namespace {

using namespace perf;

int usage_error(const std::string& e) {
  fprintf(stderr, "skiff-perf: %s\n", e.c_str());
  return 2;
}

int main_kernel(const std::vector<std::string>& args) {
  Options o;
  if (auto e = parse_options(args, &o); !e.empty()) return usage_error(e);
  skiff::Runtime::install_signal_handlers();
  auto net = make_kernel_net();
  Loop loop;
  return run_peer(loop, *net, o, {});
}

int main_skiff(int argc, char** argv) {
  int code = 0;
  auto rt = skiff::Runtime::init(argc, argv, "skiff-perf", &code);
  if (!rt) return code;
  Options o;
  if (auto e = parse_options(rt->app_args(), &o); !e.empty()) return usage_error(e);
  if (!rt->config().ip) return usage_error("--ip: required (or use --kernel, or --demo)");
  if (rte_lcore_count() != 1)
    return usage_error("give EAL exactly one lcore (-l N): skiff-perf runs one shard in one event loop");
  if (!rt->build()) return 1;
  skiff::Shard& sh = rt->stack().shard(0);
  skiff::set_this_shard(&sh);
  sh.start();
  int rc;
  {
    auto net = make_skiff_net(sh);
    Loop loop;
    rc = run_peer(loop, *net, o, [&] {
      // Let the last FINs and ACKs leave before the stack stops.
      const Time until = Clock::now() + std::chrono::milliseconds(200);
      while (Clock::now() < until) loop.run_once();
    });
  }
  if (getenv("SKIFF_PRINT_COUNTERS")) rt->stack().print_counters(stdout);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> all(argv + 1, argv + argc);
  bool kernel = false, demo = false, help = false;
  for (const auto& a : all) {
    kernel |= a == "--kernel";
    demo |= a == "--demo";
    help |= a == "-h" || a == "--help";
  }
  if (help) {
    printf("%s\n%s", usage_text(), skiff::stack_options_help());
    return 0;
  }
  if (demo) {
    Options o;
    std::vector<std::string> rest;
    for (const auto& a : all)
      if (a != "--") rest.push_back(a);
    if (auto e = parse_options(rest, &o); !e.empty()) return usage_error(e);
    return run_demo(o.demo_time);
  }
  if (kernel) {
    std::vector<std::string> rest;
    for (const auto& a : all)
      if (a != "--") rest.push_back(a);
    return main_kernel(rest);
  }
  if (all.empty()) {
    fprintf(stderr, "%s", usage_text());
    return 2;
  }
  return main_skiff(argc, argv);
}
