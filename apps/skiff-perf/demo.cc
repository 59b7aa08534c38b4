// skiff-perf --demo: no NIC, no configuration, no hugepages. The same iperf3-protocol client and server
// run three workloads (TCP bulk, 1-byte TCP request/response, 18-byte UDP datagrams) first between two
// Skiff stacks in this process, wired back to back by a net_ring pair, then between two sockets of the
// Linux kernel over loopback; then one table compares them. Both sides run on one thread (one core) in
// both cases: the client and the server share the event loop.

#include <unistd.h>

#include <rte_eal.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "ethdev/ethdev_port.hh"
#include "ethdev/ring_pair.hh"
#include "runtime/runtime.hh"
#include "skiff-perf/app.hh"
#include "skiff-perf/peers.hh"
#include "stack/stack.hh"

namespace perf {

namespace {

struct Instance {
  std::unique_ptr<skiff::Stack> stack;
  std::unique_ptr<skiff::EthdevPort> port;
};

bool make_instance(Instance& in, const std::string& name, uint16_t port_id, const char* cidr) {
  skiff::StackConfig cfg;
  cfg.ip = skiff::wire::Ipv4Cidr::parse(cidr);
  cfg.pool_size = 16383;
  cfg.neigh.reachable = std::chrono::hours(1);
  cfg.tcp.rmem_default = cfg.tcp.wmem_default = 1 << 20;
  in.stack = std::make_unique<skiff::Stack>(name, cfg);
  if (!in.stack->make_pools(1)) return false;
  skiff::EthdevPortConfig pc;
  pc.pools.push_back(in.stack->pool(0).raw());
  pc.link_wait = std::chrono::seconds(1);
  std::string err;
  in.port = skiff::EthdevPort::open(port_id, pc, &err);
  if (!in.port) {
    fprintf(stderr, "skiff-perf --demo: %s: %s\n", name.c_str(), err.c_str());
    return false;
  }
  in.stack->add_iface(in.port.get(), cfg.ip);
  in.stack->build_shards(skiff::MonotonicClock::instance());
  return true;
}

enum Test { kBulk, kRR, kUdp, kTests };

bool kernel_has_cubic() {
  FILE* f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "r");
  if (!f) return false;
  char line[512] = {};
  const bool ok = fgets(line, sizeof line, f) != nullptr;
  fclose(f);
  if (!ok) return false;
  const std::string names = std::string(" ") + line;
  return names.find(" cubic") != std::string::npos;
}
const char* const kNames[kTests] = {"TCP bulk (128 KiB writes)", "TCP request/response, 1 byte", "UDP, 18-byte datagrams"};

Options test_options(Test t, const std::string& host, uint16_t port, double secs) {
  Options o;
  o.role = Options::Role::Client;
  o.host = host;
  o.port = port;
  o.time = secs;
  o.time_set = true;
  o.interval = secs >= 2 ? 1 : secs / 2;
  // One congestion control on both sides: CUBIC, Skiff's default and Linux's usual one. A host may
  // default to BBR, whose pacing holds loopback bulk to a fraction of what CUBIC moves.
  if (t != kUdp && kernel_has_cubic()) o.congestion = "cubic";
  if (t == kRR) {
    o.workload = Workload::RR;
    o.rr_size = 1;
  } else if (t == kUdp) {
    o.udp = true;
    o.len = 18;
    o.rate = 0;  // -b 0: unlimited
    o.rate_set = true;
  }
  return o;
}

std::string value_text(Test t, double v) {
  char b[64];
  if (t == kBulk) {
    snprintf(b, sizeof b, "%.2f Gbit/s", v / 1e9);
  } else if (t == kRR) {
    snprintf(b, sizeof b, "%s trans/s", fmt_count(v).c_str());
  } else {
    snprintf(b, sizeof b, "%s pkt/s", fmt_count(v).c_str());
  }
  return b;
}

// Runs one client test against the server already listening on `loop`; prints progress on one line.
std::optional<Summary> run_one(Loop& loop, Net& net, Test t, const std::string& host, uint16_t port, double secs,
                               const char* who, int step, int steps) {
  printf("[%d/%d] %-6s %-30s", step, steps, who, kNames[t]);
  fflush(stdout);
  Output quiet;
  quiet.text = getenv("SKIFF_PERF_DEMO_VERBOSE") ? stdout : nullptr;  // the client's own report (debugging)
  Options o = test_options(t, host, port, secs);
  Client cl(loop, net, o, quiet);
  cl.on_interval = [t](const Line& l) {
    const double v = t == kBulk ? l.bps() : t == kRR ? l.tps() : (l.end > l.start ? static_cast<double>(l.total - std::min(l.total, l.lost)) / (l.end - l.start) : 0);
    if (t == kBulk) {
      printf(" %.1f", v / 1e9);
    } else {
      printf(" %s", fmt_count(v).c_str());
    }
    fflush(stdout);
  };
  cl.start();
  if (!loop.run_until([&] { return cl.done(); })) {
    cl.terminate();
    printf("  interrupted\n");
    return std::nullopt;
  }
  if (cl.exit_code() != 0 || !cl.run()) {
    printf("  failed: %s\n", cl.error().c_str());
    return std::nullopt;
  }
  Summary s = cl.run()->summary();
  if (t == kBulk) {
    printf("  -> %s\n", value_text(t, s.received_bps).c_str());
  } else if (t == kRR) {
    printf("  -> %s (p50 %s, p99 %s)\n", value_text(t, s.tps).c_str(), fmt_ns(s.p50_ns).c_str(),
           fmt_ns(s.p99_ns).c_str());
  } else {
    const double pps = s.seconds > 0 ? static_cast<double>(s.packets_received) / s.seconds : 0;
    const double loss = s.packets_sent ? 100.0 * static_cast<double>(s.packets_lost) / static_cast<double>(s.packets_sent) : 0;
    printf("  -> %s received (%.1f%% lost)\n", value_text(t, pps).c_str(), loss);
  }
  fflush(stdout);
  return s;
}

struct Results {
  std::optional<Summary> r[kTests];
};

void run_all(Loop& loop, Net& client, const std::string& host, uint16_t port, double secs, const char* who,
             int first_step, Results* res) {
  for (int t = 0; t < kTests && !skiff::stop_requested(); ++t) {
    res->r[t] = run_one(loop, client, static_cast<Test>(t), host, port, secs, who, first_step + t, 2 * kTests);
    // Let the connections of the finished test close before the next one starts.
    const Time until = Clock::now() + std::chrono::milliseconds(100);
    while (Clock::now() < until) loop.run_once();
  }
}

std::string cell(const std::optional<double>& v, const char* fmt, double scale) {
  if (!v) return "n/a";
  char b[48];
  snprintf(b, sizeof b, fmt, *v / scale);
  return b;
}

void print_row(const char* what, std::optional<double> skiff, std::optional<double> kern, const char* fmt,
               double scale, bool lower_is_better) {
  std::string ratio = "n/a";
  if (skiff && kern && *skiff > 0 && *kern > 0) {
    char b[48];
    const double r = lower_is_better ? *kern / *skiff : *skiff / *kern;
    snprintf(b, sizeof b, "%.2fx%s", r, lower_is_better ? (r >= 1 ? " lower" : " higher") : "");
    ratio = b;
  }
  printf("  %-34s %16s %16s %16s\n", what, cell(skiff, fmt, scale).c_str(), cell(kern, fmt, scale).c_str(), ratio.c_str());
}

}  // namespace

int run_demo(double secs) {
  const std::string prefix = "--file-prefix=skiff-perf-demo-" + std::to_string(getpid());
  if (!skiff::eal_init({"skiff-perf", "--no-pci", "--no-huge", "-m", "512", prefix, "--log-level=lib.eal:error",
                        "--no-telemetry"}))
    return 1;
  skiff::Runtime::install_signal_handlers();
  printf("skiff-perf demo: the same iperf3-protocol client and server, over two Skiff stacks in this process\n"
         "(a net_ring pair, no NIC, no hugepages) and over the Linux kernel (loopback). Client and server share\n"
         "one thread (one core) in both cases. %.0f s per test; the numbers after each name are per-second\n"
         "intervals.\n\n", secs);
  fflush(stdout);
  Results sk, kn;
  int rc = 1;
  auto ids = skiff::make_ring_pair("perfdemo", 1, 8192);
  if (ids) {
    Instance alpha, beta;
    if (make_instance(alpha, "alpha", ids->first, "10.0.0.1/24") &&
        make_instance(beta, "beta", ids->second, "10.0.0.2/24")) {
      alpha.stack->shard(0).start();
      beta.stack->shard(0).start();
      {
        auto cnet = make_skiff_net(alpha.stack->shard(0));
        auto snet = make_skiff_net(beta.stack->shard(0));
        Loop loop;
        loop.interrupted = [] { return skiff::stop_requested(); };
        Output quiet;
        quiet.text = nullptr;
        Options so;
        so.role = Options::Role::Server;
        so.interval = 0;
        Server srv(loop, *snet, so, quiet);
        std::string err;
        if (srv.start(&err)) {
          run_all(loop, *cnet, "10.0.0.2", srv.port(), secs, "Skiff", 1, &sk);
        } else {
          fprintf(stderr, "skiff-perf --demo: Skiff server: %s\n", err.c_str());
        }
        const Time until = Clock::now() + std::chrono::milliseconds(100);
        while (Clock::now() < until) loop.run_once();
      }
      if (getenv("SKIFF_PRINT_COUNTERS")) {
        alpha.stack->print_counters(stdout);
        beta.stack->print_counters(stdout);
      }
      alpha.stack->release_shards();
      beta.stack->release_shards();
    }
  }
  if (!skiff::stop_requested()) {
    auto net = make_kernel_net();
    Loop loop;
    loop.interrupted = [] { return skiff::stop_requested(); };
    Output quiet;
    quiet.text = nullptr;
    Options so;
    so.role = Options::Role::Server;
    so.interval = 0;
    so.port = 0;  // any free port
    so.bind_host = "127.0.0.1";
    Server srv(loop, *net, so, quiet);
    std::string err;
    if (srv.start(&err)) {
      run_all(loop, *net, "127.0.0.1", srv.port(), secs, "kernel", kTests + 1, &kn);
    } else {
      fprintf(stderr, "skiff-perf --demo: kernel server: %s\n", err.c_str());
    }
  }

  auto get = [](const Results& r, Test t, auto fn) -> std::optional<double> {
    if (!r.r[t]) return std::nullopt;
    return fn(*r.r[t]);
  };
  auto bulk = [](const Summary& s) { return s.received_bps; };
  auto tps = [](const Summary& s) { return s.tps; };
  auto p50 = [](const Summary& s) { return s.p50_ns; };
  auto p99 = [](const Summary& s) { return s.p99_ns; };
  auto pps = [](const Summary& s) { return s.seconds > 0 ? static_cast<double>(s.packets_received) / s.seconds : 0.0; };
  auto loss = [](const Summary& s) {
    return s.packets_sent ? 100.0 * static_cast<double>(s.packets_lost) / static_cast<double>(s.packets_sent) : 0.0;
  };
  printf("\n  %-34s %16s %16s %16s\n", "", "Skiff", "Linux kernel", "Skiff vs kernel");
  print_row("TCP bulk, Gbit/s", get(sk, kBulk, bulk), get(kn, kBulk, bulk), "%.2f", 1e9, false);
  print_row("TCP RR 1 byte, transactions/s", get(sk, kRR, tps), get(kn, kRR, tps), "%.0f", 1, false);
  print_row("  RR latency p50, us", get(sk, kRR, p50), get(kn, kRR, p50), "%.2f", 1e3, true);
  print_row("  RR latency p99, us", get(sk, kRR, p99), get(kn, kRR, p99), "%.2f", 1e3, true);
  print_row("UDP 18 B, packets/s received", get(sk, kUdp, pps), get(kn, kUdp, pps), "%.0f", 1, false);
  {
    const auto a = get(sk, kUdp, loss), b = get(kn, kUdp, loss);
    printf("  %-34s %16s %16s\n", "  UDP loss (sender outran receiver)", cell(a, "%.1f%%", 1).c_str(),
           cell(b, "%.1f%%", 1).c_str());
  }
  bool all = true;
  for (int t = 0; t < kTests; ++t) all &= sk.r[t].has_value() && kn.r[t].has_value();
  printf("\n%s\n", all ? "Demo OK: every test ran over both stacks."
                       : "Demo incomplete: some tests failed (see above).");
  rc = all ? 0 : 1;
  fflush(stdout);
  skiff::eal_intr_park();  // nothing may run on the interrupt thread while EAL releases memory
  rte_eal_cleanup();
  return rc;
}

}  // namespace perf
