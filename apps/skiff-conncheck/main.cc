// skiff-conncheck: opens connections from every shard to a TCP echo server, sends each a pattern and checks
// that the same bytes come back. Proves that active opens work from every shard and that every reply
// lands on the shard that opened its connection (RSS-steered ports), and measures connections per second.
//
//   skiff-conncheck [EAL args, e.g. -l 0-1] -- --ip A.B.C.D/P [stack options]
//                   [--conns N] [--bytes B] [--parallel P] [--timeout S] [--fastopen [--no-cookie]] DEST PORT
//
//   --conns N      connections per shard (default 1000)
//   --bytes B      bytes each connection sends and expects back (default 1024)
//   --parallel P   connections in flight per shard at once (default 64)
//   --timeout S    give up after S seconds (default 60)
//   --fastopen     open each connection with sendto(MSG_FASTOPEN) (RFC 7413): the first one to a server asks
//                  for its cookie, later ones carry their first bytes in the SYN
//   --no-cookie    with --fastopen: TCP_FASTOPEN_NO_COOKIE, every SYN carries bytes and no cookie (for a
//                  server that takes SYN data without one)
//
// Prints one line per shard and the stack counters; exits 0 when every connection of every shard echoed
// its bytes intact and was closed cleanly.

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "api/skiff.h"
#include "runtime/runtime.hh"

using namespace skiff;

namespace {

struct Opts {
  unsigned conns = 1000;
  size_t bytes = 1024;
  unsigned parallel = 64;
  unsigned timeout_s = 60;
  bool fastopen = false;
  bool no_cookie = false;
  wire::Ipv4Addr dest;
  uint16_t port = 0;
};

uint8_t pattern_byte(unsigned shard, unsigned conn, size_t i) {
  return static_cast<uint8_t>((i * 131u + conn * 7u + shard * 29u) >> 3);
}

// One shard's work: a window of connections in flight, each sending its pattern and reading it back.
struct ShardRun {
  struct Conn {
    int fd = -1;
    unsigned id = 0;
    size_t sent = 0, got = 0;
    bool connected = false;
  };
  unsigned shard = 0;
  const Opts* o = nullptr;
  std::vector<Conn> live;
  unsigned started = 0, completed = 0, failed = 0, corrupt = 0;
  std::chrono::steady_clock::time_point t0, t1;
  bool done = false;
  std::vector<uint8_t> buf = std::vector<uint8_t>(65536);

  void fail(Conn& c, const char* what, int err) {
    if (failed < 5)
      fprintf(stderr, "skiff-conncheck: shard %u connection %u: %s: %s\n", shard, c.id, what, strerror(err));
    ++failed;
    skiff_close(c.fd);
    c.fd = -1;
  }

  void step() {
    if (done) return;
    if (started == 0) t0 = std::chrono::steady_clock::now();
    while (live.size() < o->parallel && started < o->conns) {
      Conn c;
      c.id = started++;
      c.fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(o->port);
      a.sin_addr.s_addr = htonl(o->dest.host());
      if (c.fd < 0) {
        ++failed;
        continue;
      }
      if (o->fastopen) {
        // The connect takes what its SYN can carry (nothing without a cookie yet: EINPROGRESS).
        const int one = 1;
        if (o->no_cookie && skiff_setsockopt(c.fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one) < 0) {
          fail(c, "setsockopt(TCP_FASTOPEN_NO_COOKIE)", errno);
          continue;
        }
        uint8_t first[1500];
        const size_t n = std::min(sizeof first, o->bytes);
        for (size_t i = 0; i < n; ++i) first[i] = pattern_byte(shard, c.id, i);
        const ssize_t w = skiff_sendto(c.fd, first, n, MSG_FASTOPEN, reinterpret_cast<sockaddr*>(&a), sizeof a);
        if (w < 0 && errno != EINPROGRESS) {
          fail(c, "sendto(MSG_FASTOPEN)", errno);
          continue;
        }
        if (w > 0) c.sent = static_cast<size_t>(w);
      } else if (skiff_connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
        fail(c, "connect", errno);
        continue;
      }
      live.push_back(c);
    }
    for (auto& c : live) {
      if (c.fd < 0) continue;
      if (!c.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        skiff_getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          fail(c, "connect", err);
          continue;
        }
        if (skiff_send(c.fd, "", 0, 0) < 0) {
          if (errno != EAGAIN && errno != ENOTCONN) fail(c, "connect", errno);
          continue;  // still in progress
        }
        c.connected = true;
      }
      while (c.sent < o->bytes) {
        uint8_t out[4096];
        const size_t n = std::min(sizeof out, o->bytes - c.sent);
        for (size_t i = 0; i < n; ++i) out[i] = pattern_byte(shard, c.id, c.sent + i);
        const ssize_t w = skiff_send(c.fd, out, n, 0);
        if (w < 0) {
          if (errno != EAGAIN) fail(c, "send", errno);
          break;
        }
        c.sent += static_cast<size_t>(w);
      }
      if (c.fd < 0) continue;
      for (;;) {
        const ssize_t r = skiff_recv(c.fd, buf.data(), buf.size(), 0);
        if (r < 0) {
          if (errno != EAGAIN) fail(c, "recv", errno);
          break;
        }
        if (r == 0) {
          fail(c, "early EOF", EPIPE);
          break;
        }
        for (ssize_t i = 0; i < r; ++i)
          if (buf[static_cast<size_t>(i)] != pattern_byte(shard, c.id, c.got + static_cast<size_t>(i))) {
            ++corrupt;
            break;
          }
        c.got += static_cast<size_t>(r);
      }
      if (c.fd >= 0 && c.got >= o->bytes) {
        skiff_close(c.fd);
        c.fd = -1;
        ++completed;
      }
    }
    std::erase_if(live, [](const Conn& c) { return c.fd < 0; });
    if (live.empty() && started >= o->conns) {
      done = true;
      t1 = std::chrono::steady_clock::now();
    }
  }
};

void usage() {
  fprintf(stderr,
          "usage: skiff-conncheck [EAL args] -- --ip A.B.C.D/P [stack options] [--conns N] [--bytes B] "
          "[--parallel P] [--timeout S] [--fastopen [--no-cookie]] DEST PORT\n");
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-conncheck", &code);
  if (!rt) return code;
  Opts o;
  std::vector<std::string> pos;
  const auto& a = rt->app_args();
  for (size_t i = 0; i < a.size(); ++i) {
    auto num = [&](unsigned lo, unsigned long hi, const char* what) -> unsigned long {
      char* end = nullptr;
      const unsigned long v = i + 1 < a.size() ? strtoul(a[i + 1].c_str(), &end, 10) : 0;
      if (i + 1 >= a.size() || *end || v < lo || v > hi) {
        fprintf(stderr, "skiff-conncheck: %s: expected %s in %u..%lu\n", a[i].c_str(), what, lo, hi);
        exit(2);
      }
      ++i;
      return v;
    };
    if (a[i] == "--conns") {
      o.conns = static_cast<unsigned>(num(1, 1000000, "a count"));
    } else if (a[i] == "--bytes") {
      o.bytes = num(1, 1ul << 30, "a byte count");
    } else if (a[i] == "--parallel") {
      o.parallel = static_cast<unsigned>(num(1, 65536, "a count"));
    } else if (a[i] == "--timeout") {
      o.timeout_s = static_cast<unsigned>(num(1, 86400, "seconds"));
    } else if (a[i] == "--fastopen") {
      o.fastopen = true;
    } else if (a[i] == "--no-cookie") {
      o.no_cookie = true;
    } else if (a[i].rfind("--", 0) == 0) {
      fprintf(stderr, "skiff-conncheck: unknown option '%s'\n", a[i].c_str());
      usage();
      return 2;
    } else {
      pos.push_back(a[i]);
    }
  }
  auto dest = pos.size() == 2 ? wire::Ipv4Addr::parse(pos[0]) : std::nullopt;
  const long port = pos.size() == 2 ? strtol(pos[1].c_str(), nullptr, 10) : 0;
  if (!dest || port <= 0 || port > 65535) {
    usage();
    return 2;
  }
  if (o.no_cookie && !o.fastopen) {
    fprintf(stderr, "skiff-conncheck: --no-cookie: needs --fastopen\n");
    return 2;
  }
  if (!rt->config().ip) {
    fprintf(stderr, "skiff-conncheck: --ip: required\n");
    return 2;
  }
  o.dest = *dest;
  o.port = static_cast<uint16_t>(port);
  if (!rt->build()) return 1;
  Stack& stack = rt->stack();
  const unsigned n = stack.shard_count();
  for (unsigned i = 0; i < rt->port_count(); ++i) printf("skiff-conncheck: port %u %s\n", i, rt->port(i).describe().c_str());
  printf("skiff-conncheck: %u shard(s), %u connections each to %s:%u, %zu bytes echoed per connection\n", n, o.conns,
         o.dest.to_string().c_str(), o.port, o.bytes);
  fflush(stdout);
  std::vector<ShardRun> runs(n);
  for (unsigned i = 0; i < n; ++i) {
    runs[i].shard = i;
    runs[i].o = &o;
  }
  std::atomic<unsigned> finished{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  bool timed_out = false;
  rt->run([&](Shard& sh) {
    ShardRun& r = runs[sh.id];
    const bool was = r.done;
    r.step();
    if (r.done && !was && finished.fetch_add(1) + 1 == n) Runtime::request_stop();
    if (sh.id == 0 && std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      Runtime::request_stop();
    }
  });
  // Sockets belong to their shards: close what is left on each, here on the main lcore.
  for (unsigned i = 0; i < n; ++i) {
    set_this_shard(&stack.shard(i));
    for (auto& c : runs[i].live)
      if (c.fd >= 0) skiff_close(c.fd);
  }
  bool ok = !timed_out;
  for (auto& r : runs) {
    const double secs = r.done ? std::chrono::duration<double>(r.t1 - r.t0).count() : 0;
    printf("skiff-conncheck: shard %u: %u/%u connections complete, %u failed, %u corrupt%s", r.shard, r.completed,
           o.conns, r.failed, r.corrupt, r.done ? "" : " (unfinished)");
    if (secs > 0) printf(", %.1f connections/s", r.completed / secs);
    printf("\n");
    ok &= r.done && r.completed == o.conns && r.failed == 0 && r.corrupt == 0;
  }
  if (timed_out) printf("skiff-conncheck: timed out after %u s\n", o.timeout_s);
  printf("skiff-conncheck: %s; counters:\n", ok ? "all connections echoed intact" : "FAILED");
  stack.print_counters(stdout);
  fflush(stdout);
  return ok ? 0 : 1;
}
