// skiff-echo: answers ARP and ping on its port(s) (and, as the transports land, echoes UDP and TCP on
// --port, default 7). Prints its counters on SIGINT/SIGTERM and exits cleanly.
//
//   skiff-echo [EAL args] -- --ip A.B.C.D/P [stack options] [--port N]

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/runtime.hh"

using namespace skiff;

namespace {
volatile sig_atomic_t g_dump = 0;
void on_usr1(int) { g_dump = 1; }
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
  printf("skiff-echo: answering ARP and ping (echo port %u); %u shard(s); Ctrl-C prints counters and exits, "
         "SIGUSR1 prints them and goes on\n",
         echo_port, rt->stack().shard_count());
  fflush(stdout);
  signal(SIGUSR1, on_usr1);
  Stack& stack = rt->stack();
  rt->run([&stack](Shard& sh) {
    if (g_dump && sh.id == 0) {
      g_dump = 0;
      printf("skiff-echo: counters:\n");
      stack.print_counters(stdout);
      printf("skiff-echo: end of counters\n");
      fflush(stdout);
    }
  });
  printf("skiff-echo: stopping; counters:\n");
  rt->stack().print_counters(stdout);
  fflush(stdout);
  return 0;
}
