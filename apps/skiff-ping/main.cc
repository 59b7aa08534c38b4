// skiff-ping: ping(8) from a Skiff stack.
//
//   skiff-ping [EAL args] -- --ip A.B.C.D/P [stack options] [-c N] [-i SEC] [-s BYTES] [-W SEC] [-t TTL] [-q] DEST
//   skiff-ping --demo     two Skiff instances in this process, wired by a net_ring pair, ping each other
//
// Exits 0 when every request got a byte-identical reply, 1 otherwise, 2 on bad options.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/runtime.hh"
#include "skiff-ping/pinger.hh"

using namespace skiff;

int run_demo();

namespace {

void usage(const char* prog) {
  fprintf(stderr,
          "usage: %s [EAL args] -- --ip A.B.C.D/PREFIX [stack options] [ping options] DEST\n"
          "       %s --demo\n"
          "ping options:\n"
          "  -c N      requests to send (default 4)\n"
          "  -i SEC    interval between requests (default 1, may be fractional)\n"
          "  -s BYTES  payload size (default 56; larger than the MTU fragments)\n"
          "  -W SEC    wait this long for replies after the last request (default 2)\n"
          "  -t TTL    IP time to live\n"
          "  -q        print only the summary\n%s",
          prog, prog, stack_options_help());
}

bool parse_num(const std::string& opt, const std::string& v, double lo, double hi, double* out) {
  char* end = nullptr;
  const double d = strtod(v.c_str(), &end);
  if (v.empty() || *end || !(d >= lo && d <= hi)) {
    fprintf(stderr, "skiff-ping: %s: invalid value '%s' (expected %g..%g)\n", opt.c_str(), v.c_str(), lo, hi);
    return false;
  }
  *out = d;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--demo")) return run_demo();
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(argv[0]), 0;
  }
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-ping", &code);
  if (!rt) return code;
  app::PingOptions po;
  bool have_dest = false;
  const auto& a = rt->app_args();
  for (size_t i = 0; i < a.size(); ++i) {
    double v = 0;
    const bool has_val = i + 1 < a.size();
    if (a[i] == "-c" && has_val) {
      if (!parse_num("-c", a[++i], 1, 1e9, &v)) return 2;
      po.count = static_cast<unsigned>(v);
    } else if (a[i] == "-i" && has_val) {
      if (!parse_num("-i", a[++i], 0.0001, 3600, &v)) return 2;
      po.interval = Duration(static_cast<int64_t>(v * 1e9));
    } else if (a[i] == "-s" && has_val) {
      if (!parse_num("-s", a[++i], 0, 65507, &v)) return 2;
      po.size = static_cast<size_t>(v);
    } else if (a[i] == "-W" && has_val) {
      if (!parse_num("-W", a[++i], 0, 3600, &v)) return 2;
      po.timeout = Duration(static_cast<int64_t>(v * 1e9));
    } else if (a[i] == "-t" && has_val) {
      if (!parse_num("-t", a[++i], 1, 255, &v)) return 2;
      po.ttl = static_cast<uint8_t>(v);
    } else if (a[i] == "-q") {
      po.quiet = true;
    } else if (!have_dest && a[i][0] != '-') {
      auto d = wire::Ipv4Addr::parse(a[i]);
      if (!d) {
        fprintf(stderr, "skiff-ping: DEST: invalid address '%s' (expected A.B.C.D)\n", a[i].c_str());
        return 2;
      }
      po.dest = *d;
      have_dest = true;
    } else {
      fprintf(stderr, "skiff-ping: unknown or incomplete option '%s'\n", a[i].c_str());
      usage(argv[0]);
      return 2;
    }
  }
  if (!have_dest) {
    fprintf(stderr, "skiff-ping: DEST: required\n");
    return 2;
  }
  if (!rt->config().ip) {
    fprintf(stderr, "skiff-ping: --ip: required (our address, e.g. --ip 10.0.0.1/24)\n");
    return 2;
  }
  if (!rt->build()) return 1;
  Shard& sh = rt->stack().shard(0);
  app::Pinger pinger(sh, po, stdout);
  sh.start();
  pinger.start();
  std::vector<Shard*> shards{&sh};
  poll_loop(shards, [&](Shard&) {
    pinger.tick();
    if (pinger.done()) Runtime::request_stop();
  }, rt->config().idle_sleep);
  const bool ok = pinger.summary();
  if (getenv("SKIFF_PRINT_COUNTERS")) rt->stack().print_counters(stdout);
  return ok ? 0 : 1;
}
