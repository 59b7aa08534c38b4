// skiff-echo: answers ARP and ping on its port(s) (and, as the transports land, echoes UDP and TCP on
// --port, default 7). Prints its counters on SIGINT/SIGTERM and exits cleanly.
//
//   skiff-echo [EAL args] -- --ip A.B.C.D/P [stack options] [--port N]

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/skiff.hh"
#include "runtime/runtime.hh"

using namespace skiff;

namespace {
volatile sig_atomic_t g_dump = 0;
void on_usr1(int) { g_dump = 1; }

// One shard's echo service: a UDP socket on the echo port whose datagrams go straight back.
struct EchoShard {
  net::Socket udp;
  std::vector<uint8_t> buf = std::vector<uint8_t>(65536);
  uint64_t udp_echoed = 0, udp_errors = 0;

  bool start(uint16_t port) {
    auto s = net::Socket::udp(SOCK_NONBLOCK);
    if (!s) return fail("socket", s.error());
    udp = std::move(s.value());
    udp.set_option(SOL_SOCKET, SO_RCVBUF, 4 << 20);
    if (auto r = udp.bind({wire::Ipv4Addr::any(), port}); !r) return fail("bind", r.error());
    udp.on_readable([this](net::SocketRef sock) { drain(sock); });
    return true;
  }
  void drain(net::SocketRef sock) {
    for (;;) {
      net::Endpoint from;
      auto n = sock.recv_from(buf, &from);
      if (!n) break;
      if (sock.send_to({buf.data(), *n}, from)) {
        ++udp_echoed;
      } else {
        ++udp_errors;
      }
    }
  }
  static bool fail(const char* what, int err) {
    fprintf(stderr, "skiff-echo: UDP %s: %s\n", what, strerror(err));
    return false;
  }
};
}  // namespace

static void usage(const char* prog) {
  fprintf(stderr,
          "usage: %s [EAL args] -- --ip A.B.C.D/PREFIX [stack options] [--port N]\n"
          "  --port N   UDP/TCP echo port (default 7)\n%s",
          prog, stack_options_help());
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(argv[0]), 0;
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-echo", &code);
  if (!rt) return code;
  unsigned echo_port = 7;
  const auto& args = rt->app_args();
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--port" && i + 1 < args.size()) {
      char* end = nullptr;
      unsigned long v = strtoul(args[i + 1].c_str(), &end, 10);
      if (!*args[i + 1].c_str() || *end || v == 0 || v > 65535) {
        fprintf(stderr, "skiff-echo: --port: invalid value '%s' (expected 1..65535)\n", args[i + 1].c_str());
        return 2;
      }
      echo_port = static_cast<unsigned>(v);
      ++i;
    } else {
      fprintf(stderr, "skiff-echo: unknown option '%s'\n", args[i].c_str());
      usage(argv[0]);
      return 2;
    }
  }
  if (!rt->config().ip) {
    fprintf(stderr, "skiff-echo: --ip: required (the address to answer on, e.g. --ip 10.0.0.2/24)\n");
    return 2;
  }
  if (!rt->build()) return 1;
  for (unsigned i = 0; i < rt->port_count(); ++i) {
    const Iface& ifc = rt->stack().iface(i);
    printf("skiff-echo: port %u %s %s\n", i, rt->port(i).describe().c_str(),
           ifc.addr.addr.is_any() ? "(no address)" : ifc.addr.to_string().c_str());
  }
  printf("skiff-echo: answering ARP and ping, echoing UDP on port %u; %u shard(s); Ctrl-C prints counters "
         "and exits, SIGUSR1 prints them and goes on\n",
         echo_port, rt->stack().shard_count());
  fflush(stdout);
  signal(SIGUSR1, on_usr1);
  Stack& stack = rt->stack();
  // Each shard sets up its own service on its own lcore, on its first iteration.
  std::vector<std::unique_ptr<EchoShard>> services(stack.shard_count());
  bool failed = false;
  rt->run([&](Shard& sh) {
    auto& svc = services[sh.id];
    if (!svc) {
      svc = std::make_unique<EchoShard>();
      if (!svc->start(static_cast<uint16_t>(echo_port))) {
        failed = true;
        Runtime::request_stop();
      }
    }
    if (g_dump && sh.id == 0) {
      g_dump = 0;
      printf("skiff-echo: counters:\n");
      stack.print_counters(stdout);
      printf("skiff-echo: end of counters\n");
      fflush(stdout);
    }
  });
  uint64_t echoed = 0, errors = 0;
  for (auto& svc : services) {
    if (!svc) continue;
    echoed += svc->udp_echoed;
    errors += svc->udp_errors;
  }
  // Sockets belong to their shards: close them (on this, the main lcore, after the workers stopped).
  for (unsigned i = 0; i < services.size(); ++i) {
    set_this_shard(&stack.shard(i));
    services[i].reset();
  }
  printf("skiff-echo: stopping; udp echoed %llu datagrams (%llu send errors); counters:\n",
         static_cast<unsigned long long>(echoed), static_cast<unsigned long long>(errors));
  rt->stack().print_counters(stdout);
  fflush(stdout);
  return failed ? 1 : 0;
}
