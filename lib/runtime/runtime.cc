#include "runtime/runtime.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/log.hh"

namespace skiff {

namespace {
void on_signal(int) { skiff::request_stop(); }

struct LcoreWork {
  std::vector<Shard*> shards;
  const PollHook* hook;
  Duration idle_sleep;
};

int lcore_main(void* arg) {
  auto* w = static_cast<LcoreWork*>(arg);
  poll_loop(w->shards, *w->hook, w->idle_sleep);
  return 0;
}
}  // namespace

void Runtime::request_stop() { skiff::request_stop(); }
bool Runtime::stop_requested() { return skiff::stop_requested(); }

void Runtime::install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // DPDK's vhost-user code (virtio_user) writes to its unix socket without MSG_NOSIGNAL: a vhost peer that
  // exits would kill this process with SIGPIPE on the next control message. Skiff's own sockets report
  // EPIPE without a signal, so the process ignores SIGPIPE, as network servers commonly do.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, nullptr);
}

bool eal_init(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int rc = rte_eal_init(static_cast<int>(copy.size()), argv.data());
  if (rc < 0) {
    fprintf(stderr, "%s: EAL initialisation failed: %s\n", args.empty() ? "skiff" : args[0].c_str(),
            rte_strerror(rte_errno));
    return false;
  }
  return true;
}

void poll_loop(const std::vector<Shard*>& shards, const PollHook& hook, Duration idle_sleep) {
  unsigned idle = 0;
  if (shards.size() == 1) set_this_shard(shards[0]);
  while (!stop_requested()) {
    unsigned got = 0;
    for (Shard* s : shards) {
      set_this_shard(s);
      got += s->poll_once();
      if (hook) hook(*s);
    }
    if (got || idle_sleep.count() == 0) {
      idle = 0;
      continue;
    }
    // Nothing for a while: give the core back briefly (only when --idle-sleep asks for it).
    if (++idle >= 64) std::this_thread::sleep_for(idle_sleep);
  }
  for (Shard* s : shards) s->flush();
}

std::unique_ptr<Runtime> Runtime::init(int argc, char** argv, const std::string& app, int* exit_code) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->app_ = app;
  *exit_code = 1;
  std::vector<std::string> eal, rest;
  bool after = false;
  for (int i = 0; i < argc; ++i) {
    if (!after && i > 0 && strcmp(argv[i], "--") == 0) {
      after = true;
      continue;
    }
    (after ? rest : eal).push_back(argv[i]);
  }
  rt->opts_ = parse_stack_options(rest);
  if (!rt->opts_.error.empty()) {
    fprintf(stderr, "%s: %s\n", app.c_str(), rt->opts_.error.c_str());
    *exit_code = 2;
    return nullptr;
  }
  if (!eal_init(eal)) return nullptr;
  rt->eal_ok_ = true;
  install_signal_handlers();
  *exit_code = 0;
  return rt;
}

bool Runtime::build() {
  StackConfig& cfg = opts_.cfg;
  const unsigned shards = rte_lcore_count();
  if (shards > 64) {
    fprintf(stderr, "%s: %u lcores: Skiff runs at most 64 shards per process\n", app_.c_str(), shards);
    return false;
  }
  if (cfg.queues > shards) {
    fprintf(stderr, "%s: --queues %u: more queues than lcores (%u); every queue needs a shard to poll it\n",
            app_.c_str(), cfg.queues, shards);
    return false;
  }
  const unsigned want_queues = cfg.queues ? cfg.queues : shards;
  // A received frame must fit one buffer (Skiff does not enable scattered receive): an MTU above the
  // default buffer's room raises the buffer size with it, as a device's frame size does below.
  if (cfg.mtu && *cfg.mtu + 14u > cfg.mbuf_data) cfg.mbuf_data = static_cast<uint16_t>(*cfg.mtu + 14u);
  for (uint16_t id : ethdev_ports()) {
    const uint32_t need = ethdev_rx_buf_need(id);
    if (need > cfg.mbuf_data) {
      if (need > 65000) {
        fprintf(stderr, "%s: port %u needs %u-byte buffers; the most is 65000 (lower its framesz)\n", app_.c_str(),
                id, need);
        return false;
      }
      cfg.mbuf_data = static_cast<uint16_t>(need);
    }
  }
  stack_ = std::make_unique<Stack>(app_, cfg);
  if (!stack_->make_pools(shards)) {
    fprintf(stderr, "%s: cannot allocate packet buffers (%u per shard): %s; try a larger -m or --pool-size\n",
            app_.c_str(), cfg.pool_size, rte_strerror(rte_errno));
    return false;
  }
  const auto ids = ethdev_ports();
  if (ids.empty()) {
    fprintf(stderr, "%s: no ports: give a device with --vdev (e.g. --vdev=net_af_packet0,iface=veth0)\n",
            app_.c_str());
    return false;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    EthdevPortConfig pc;
    const uint16_t maxq = ethdev_max_queues(ids[i]);
    pc.queues = static_cast<uint16_t>(std::min<unsigned>(want_queues, std::max<uint16_t>(maxq, 1)));
    if (pc.queues < want_queues)
      SKIFF_LOG(Info, "port %u offers %u queue(s) for %u shards: the shards without one get their flows by "
                "software steering", ids[i], pc.queues, shards);
    pc.rss = cfg.rss;
    pc.shards = shards;
    for (unsigned s = 0; s < shards; ++s) pc.pools.push_back(stack_->pool(s).raw());
    pc.mtu = cfg.mtu;
    if (i == 0) pc.mac = cfg.mac;
    pc.link_wait = cfg.link_wait;
    std::string err;
    auto port = EthdevPort::open(ids[i], pc, &err);
    if (!port) {
      fprintf(stderr, "%s: port %u: %s\n", app_.c_str(), ids[i], err.c_str());
      return false;
    }
    SKIFF_LOG(Info, "port %u: %s", ids[i], port->describe().c_str());
    stack_->add_iface(port.get(), i == 0 ? cfg.ip : std::nullopt);
    ports_.push_back(std::move(port));
  }
  if (cfg.gateway && !stack_->set_gateway(*cfg.gateway)) {
    fprintf(stderr, "%s: --gw %s: not reachable on any interface\n", app_.c_str(), cfg.gateway->to_string().c_str());
    return false;
  }
  for (auto& p : ports_) {
    if (p->reta_size()) {
      stack_->set_reta_size(p->reta_size());  // the shards' map must match the NIC's table
      break;
    }
  }
  if (!stack_->build_shards(MonotonicClock::instance())) {
    fprintf(stderr, "%s: cannot set up the rings between shards (memory?)\n", app_.c_str());
    return false;
  }
  return true;
}

void Runtime::run(const PollHook& hook) {
  const unsigned n = stack_->shard_count();
  std::vector<LcoreWork> work(n);
  unsigned lcore = rte_get_main_lcore();
  std::vector<unsigned> lcores;
  lcores.push_back(lcore);
  RTE_LCORE_FOREACH_WORKER(lcore) lcores.push_back(lcore);
  for (unsigned i = 0; i < n; ++i) {
    stack_->shard(i).start();
    work[i] = LcoreWork{{&stack_->shard(i)}, &hook, opts_.cfg.idle_sleep};
  }
  stack_->running.store(true, std::memory_order_release);
  for (unsigned i = 1; i < n; ++i) rte_eal_remote_launch(lcore_main, &work[i], lcores[i]);
  lcore_main(&work[0]);
  rte_eal_mp_wait_lcore();
  stack_->running.store(false, std::memory_order_release);
}

Runtime::~Runtime() {
  // Shards free their TX batches, then ports stop (returning RX ring buffers to the pools), then pools go.
  if (stack_) stack_->release_shards();
  ports_.clear();
  stack_.reset();
  if (eal_ok_) {
    eal_intr_park();  // a PMD's teardown on the interrupt thread must not race EAL's memory release
    rte_eal_cleanup();
  }
}

}  // namespace skiff
