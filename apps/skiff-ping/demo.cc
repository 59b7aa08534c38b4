// skiff-ping --demo: no NIC, no configuration, no hugepages. Two Skiff instances in this process ("alpha"
// 10.0.0.1/24 and "beta" 10.0.0.2/24), each with its own port, wired back to back by a net_ring pair.
// They resolve each other with ARP and ping each other, small and fragmented, then print their counters.

#include <unistd.h>

#include <cstdio>
#include <string>

#include <rte_eal.h>

#include "ethdev/ethdev_port.hh"
#include "ethdev/ring_pair.hh"
#include "runtime/runtime.hh"
#include "skiff-ping/pinger.hh"

using namespace skiff;

namespace {

struct Instance {
  std::unique_ptr<Stack> stack;
  std::unique_ptr<EthdevPort> port;
};

bool make_instance(Instance& in, const std::string& name, uint16_t port_id, const char* cidr) {
  StackConfig cfg;
  cfg.ip = wire::Ipv4Cidr::parse(cidr);
  cfg.pool_size = 4095;
  in.stack = std::make_unique<Stack>(name, cfg);
  if (!in.stack->make_pools(1)) return false;
  EthdevPortConfig pc;
  pc.pools.push_back(in.stack->pool(0).raw());
  pc.link_wait = 1s;
  std::string err;
  in.port = EthdevPort::open(port_id, pc, &err);
  if (!in.port) {
    fprintf(stderr, "skiff-ping --demo: %s: %s\n", name.c_str(), err.c_str());
    return false;
  }
  in.stack->add_iface(in.port.get(), cfg.ip);
  in.stack->build_shards(MonotonicClock::instance());
  return true;
}

// Runs both shards on this lcore until the pinger is done.
bool ping_round(Instance& from, Instance& to, unsigned count, size_t size, Duration interval, bool quiet = false) {
  Shard& sh = from.stack->shard(0);
  app::PingOptions po;
  po.dest = to.stack->iface(0).addr.addr;
  po.count = count;
  po.size = size;
  po.interval = interval;
  po.timeout = 1s;
  po.quiet = quiet;
  po.label = "  [" + from.stack->name() + "] ";
  app::Pinger pinger(sh, po, stdout);
  pinger.start();
  std::vector<Shard*> both{&from.stack->shard(0), &to.stack->shard(0)};
  while (!pinger.done() && !Runtime::stop_requested()) {
    for (Shard* s : both) s->poll_once();
    pinger.tick();
  }
  sh.on_echo_reply = nullptr;
  const bool ok = pinger.summary();
  fflush(stdout);
  return ok;
}

}  // namespace

int run_demo() {
  const std::string prefix = "--file-prefix=skiff-demo-" + std::to_string(getpid());
  if (!eal_init({"skiff-ping", "--no-pci", "--no-huge", "-m", "256", prefix, "--log-level=lib.eal:error", "--no-telemetry"}))
    return 1;
  Runtime::install_signal_handlers();
  printf("Skiff demo: two stacks in one process, wired back to back by a net_ring pair (no NIC, no hugepages)\n");
  auto ids = make_ring_pair("demo");
  if (!ids) return 1;
  int rc = 1;
  {
    Instance alpha, beta;
    if (!make_instance(alpha, "alpha", ids->first, "10.0.0.1/24") ||
        !make_instance(beta, "beta", ids->second, "10.0.0.2/24"))
      return 1;
    printf("  alpha: %s 10.0.0.1/24\n  beta:  %s 10.0.0.2/24\n\n", alpha.port->describe().c_str(),
           beta.port->describe().c_str());
    alpha.stack->shard(0).start();
    beta.stack->shard(0).start();
    bool ok = true;
    printf("1) alpha pings beta (ARP resolves the first time):\n");
    ok &= ping_round(alpha, beta, 5, 56, 50ms);
    printf("\n2) beta pings alpha with 4000-byte payloads (IPv4 fragmentation and reassembly both ways):\n");
    ok &= ping_round(beta, alpha, 3, 4000, 50ms);
    printf("\n3) a quick burst: alpha pings beta 1000 times, 20 us apart:\n");
    ok &= ping_round(alpha, beta, 1000, 56, 20us, true);
    printf("\nCounters (non-zero):\n");
    alpha.stack->print_counters(stdout);
    beta.stack->print_counters(stdout);
    printf("\n%s\n", ok ? "Demo OK: every ping answered with its payload intact."
                        : "Demo FAILED: some pings were lost or corrupted.");
    rc = ok ? 0 : 1;
    alpha.stack->release_shards();
    beta.stack->release_shards();
  }
  skiff::eal_intr_park();  // nothing may run on the interrupt thread while EAL releases memory
  rte_eal_cleanup();
  return rc;
}
