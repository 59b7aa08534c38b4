// skiff-echo: answers ARP and ping on its port(s) (and, as the transports land, echoes UDP and TCP on
// --port, default 7). Prints its counters on SIGINT/SIGTERM and exits cleanly. --join GROUP (repeatable) makes
// the UDP socket join an IPv4 multicast group on the first port (MCAST_JOIN_GROUP): datagrams to GROUP:port
// are echoed back to their sender. --join GROUP,SOURCE joins source-specifically (MCAST_JOIN_SOURCE_GROUP:
// only SOURCE's datagrams), --block GROUP,SOURCE keeps SOURCE out of a group joined with --join GROUP
// (MCAST_BLOCK_SOURCE). --tcp-defer-accept S sets TCP_DEFER_ACCEPT on the TCP listener, --tcp-fastopen N
// TCP_FASTOPEN (RFC 7413: clients with its cookie send their first data in the SYN), and
// --tcp-fastopen-no-cookie TCP_FASTOPEN_NO_COOKIE as well (clients need no cookie).
//
//   skiff-echo [EAL args] -- --ip A.B.C.D/P [stack options] [--port N] [--join GROUP[,SOURCE]]...
//              [--block GROUP,SOURCE]... [--tcp-defer-accept S] [--tcp-fastopen N [--tcp-fastopen-no-cookie]]

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>

#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

#include "api/skiff.h"
#include "api/skiff.hh"
#include "runtime/runtime.hh"

using namespace skiff;

namespace {
volatile sig_atomic_t g_dump = 0;
void on_usr1(int) { g_dump = 1; }

// One shard's echo service: a UDP socket on the echo port whose datagrams go straight back, and a TCP
// listener whose connections get their bytes back (RFC 862), with backpressure: a connection that cannot
// take more is not read until its pending bytes drain.
struct EchoShard {
  net::Socket udp, tcp;
  std::vector<uint8_t> buf = std::vector<uint8_t>(65536);
  uint64_t udp_echoed = 0, udp_errors = 0, tcp_accepted = 0, tcp_echoed_bytes = 0;
  struct Conn {
    net::Socket sock;
    std::vector<uint8_t> pending;  // read but not yet sent back
    bool eof = false;
  };
  std::unordered_map<int, std::unique_ptr<Conn>> conns;

  struct McOpt {
    wire::Ipv4Addr group, source;  // source any: any-source
    bool block = false;
  };
  static void put_sin(sockaddr_storage* ss, wire::Ipv4Addr a) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(a.host());
    memcpy(ss, &sin, sizeof sin);
  }

  bool start(uint16_t port, const std::vector<McOpt>& groups, int defer_accept_s, int fastopen_qlen,
             bool fastopen_no_cookie) {
    auto s = net::Socket::udp(SOCK_NONBLOCK);
    if (!s) return fail("UDP socket", s.error());
    udp = std::move(s.value());
    udp.set_option(SOL_SOCKET, SO_RCVBUF, 4 << 20);
    if (auto r = udp.bind({wire::Ipv4Addr::any(), port}); !r) return fail("UDP bind", r.error());
    for (const McOpt& o : groups) {
      // On the first port (by the route to the group, a host without one would have none).
      int rc;
      const char* what;
      if (o.source.is_any()) {
        group_req r{};
        r.gr_interface = 1;
        put_sin(&r.gr_group, o.group);
        rc = skiff_setsockopt(udp.fd(), IPPROTO_IP, MCAST_JOIN_GROUP, &r, sizeof r);
        what = "MCAST_JOIN_GROUP";
      } else {
        group_source_req r{};
        r.gsr_interface = 1;
        put_sin(&r.gsr_group, o.group);
        put_sin(&r.gsr_source, o.source);
        rc = skiff_setsockopt(udp.fd(), IPPROTO_IP, o.block ? MCAST_BLOCK_SOURCE : MCAST_JOIN_SOURCE_GROUP, &r,
                              sizeof r);
        what = o.block ? "MCAST_BLOCK_SOURCE" : "MCAST_JOIN_SOURCE_GROUP";
      }
      if (rc != 0) return fail(what, errno);
    }
    udp.on_readable([this](net::SocketRef sock) { drain(sock); });
    auto t = net::Socket::tcp(SOCK_NONBLOCK);
    if (!t) return fail("TCP socket", t.error());
    tcp = std::move(t.value());
    tcp.set_option(SOL_SOCKET, SO_REUSEADDR, 1);
    if (defer_accept_s) tcp.set_option(IPPROTO_TCP, TCP_DEFER_ACCEPT, defer_accept_s);
    if (fastopen_qlen) tcp.set_option(IPPROTO_TCP, TCP_FASTOPEN, fastopen_qlen);
    if (fastopen_no_cookie) tcp.set_option(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
    if (auto r = tcp.bind({wire::Ipv4Addr::any(), port}); !r) return fail("TCP bind", r.error());
    if (auto r = tcp.listen(1024); !r) return fail("TCP listen", r.error());
    tcp.on_accept([this](net::SocketRef l) { accept_all(l); });
    return true;
  }
  void accept_all(net::SocketRef l) {
    for (;;) {
      auto c = l.accept(nullptr, SOCK_NONBLOCK);
      if (!c) break;
      ++tcp_accepted;
      auto conn = std::make_unique<Conn>();
      conn->sock = std::move(c.value());
      conn->sock.set_option(IPPROTO_TCP, TCP_NODELAY, 1);
      const int fd = conn->sock.fd();
      conn->sock.on_readable([this](net::SocketRef s) { pump(s.fd()); });
      conn->sock.on_writable([this](net::SocketRef s) { pump(s.fd()); });
      conn->sock.on_closed([this](net::SocketRef s) { pump(s.fd()); });
      conns[fd] = std::move(conn);
    }
  }
  // Moves what can be moved on one connection: flush pending, read more (only when nothing is pending),
  // and finish once the peer is done and everything went back.
  void pump(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    Conn& c = *it->second;
    for (;;) {
      while (!c.pending.empty()) {
        auto n = c.sock.send(c.pending);
        if (!n) {
          if (n.error() == EAGAIN) return;  // wait for on_writable
          conns.erase(it);                  // reset or broken: close
          return;
        }
        tcp_echoed_bytes += *n;
        c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<long>(*n));
      }
      if (c.eof) {
        conns.erase(it);  // all echoed: close (FIN)
        return;
      }
      auto n = c.sock.recv(buf);
      if (!n) {
        if (n.error() == EAGAIN) return;
        conns.erase(it);
        return;
      }
      if (*n == 0) {
        c.eof = true;
        continue;
      }
      c.pending.assign(buf.begin(), buf.begin() + static_cast<long>(*n));
    }
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
          "usage: %s [EAL args] -- --ip A.B.C.D/PREFIX [stack options] [--port N] [--join GROUP[,SOURCE]]...\n"
          "       [--block GROUP,SOURCE]... [--tcp-defer-accept S] [--tcp-fastopen N [--tcp-fastopen-no-cookie]]\n"
          "  --port N              UDP/TCP echo port (default 7)\n"
          "  --join GROUP          join IPv4 multicast group GROUP (repeatable): its datagrams to the port are echoed\n"
          "  --join GROUP,SOURCE   join GROUP for SOURCE's datagrams only (source-specific; repeatable)\n"
          "  --block GROUP,SOURCE  keep SOURCE's datagrams to GROUP (joined with --join GROUP) out\n"
          "  --tcp-defer-accept S  TCP_DEFER_ACCEPT on the TCP listener: a connection is accepted when its first\n"
          "                        data arrives, or after S seconds (rounded up to whole SYN-ACK timeouts)\n"
          "  --tcp-fastopen N      TCP_FASTOPEN on the TCP listener (RFC 7413): a client with our cookie sends its\n"
          "                        first data in the SYN; at most N such connections in their handshake at once\n"
          "  --tcp-fastopen-no-cookie  and TCP_FASTOPEN_NO_COOKIE: SYN data is taken without a cookie (trusted paths)\n%s",
          prog, stack_options_help());
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(argv[0]), 0;
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-echo", &code);
  if (!rt) return code;
  unsigned echo_port = 7;
  int defer_accept_s = 0;
  int fastopen_qlen = 0;
  bool fastopen_no_cookie = false;
  std::vector<EchoShard::McOpt> groups;
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
    } else if (args[i] == "--tcp-defer-accept" && i + 1 < args.size()) {
      char* end = nullptr;
      unsigned long v = strtoul(args[i + 1].c_str(), &end, 10);
      if (!*args[i + 1].c_str() || *end || v > 3600) {
        fprintf(stderr, "skiff-echo: --tcp-defer-accept: invalid value '%s' (expected 0..3600 seconds)\n",
                args[i + 1].c_str());
        return 2;
      }
      defer_accept_s = static_cast<int>(v);
      ++i;
    } else if (args[i] == "--tcp-fastopen" && i + 1 < args.size()) {
      char* end = nullptr;
      unsigned long v = strtoul(args[i + 1].c_str(), &end, 10);
      if (!*args[i + 1].c_str() || *end || v > 65535) {
        fprintf(stderr, "skiff-echo: --tcp-fastopen: invalid value '%s' (expected 0..65535)\n", args[i + 1].c_str());
        return 2;
      }
      fastopen_qlen = static_cast<int>(v);
      ++i;
    } else if (args[i] == "--tcp-fastopen-no-cookie") {
      fastopen_no_cookie = true;
    } else if ((args[i] == "--join" || args[i] == "--block") && i + 1 < args.size()) {
      const bool block = args[i] == "--block";
      const std::string& v = args[i + 1];
      const size_t comma = v.find(',');
      const auto g = wire::Ipv4Addr::parse(v.substr(0, comma));
      const auto src = comma == std::string::npos ? std::optional<wire::Ipv4Addr>(wire::Ipv4Addr::any())
                                                  : wire::Ipv4Addr::parse(v.substr(comma + 1));
      if (!g || !g->is_multicast() || !src || (block && src->is_any())) {
        fprintf(stderr,
                "skiff-echo: %s: invalid value '%s' (expected an IPv4 multicast group, 224.0.0.0/4%s)\n",
                args[i].c_str(), v.c_str(), block ? ", a comma and a source address" : ", and optionally ,SOURCE");
        return 2;
      }
      groups.push_back(EchoShard::McOpt{*g, *src, block});
      ++i;
    } else {
      fprintf(stderr, "skiff-echo: unknown option '%s'\n", args[i].c_str());
      usage(argv[0]);
      return 2;
    }
  }
  // TCP_FASTOPEN_NO_COOKIE does nothing on a listener without TCP_FASTOPEN (as in Linux): say so.
  if (fastopen_no_cookie && !fastopen_qlen) {
    fprintf(stderr, "skiff-echo: --tcp-fastopen-no-cookie needs --tcp-fastopen N (N > 0)\n");
    return 2;
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
  printf("skiff-echo: answering ARP and ping, echoing UDP and TCP on port %u; %u shard(s); Ctrl-C prints counters "
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
      if (!svc->start(static_cast<uint16_t>(echo_port), groups, defer_accept_s, fastopen_qlen, fastopen_no_cookie)) {
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
  uint64_t echoed = 0, errors = 0, accepted = 0, tcp_bytes = 0;
  for (auto& svc : services) {
    if (!svc) continue;
    echoed += svc->udp_echoed;
    errors += svc->udp_errors;
    accepted += svc->tcp_accepted;
    tcp_bytes += svc->tcp_echoed_bytes;
  }
  // Sockets belong to their shards: close them (on this, the main lcore, after the workers stopped).
  for (unsigned i = 0; i < services.size(); ++i) {
    set_this_shard(&stack.shard(i));
    services[i].reset();
  }
  printf("skiff-echo: stopping; udp echoed %llu datagrams (%llu send errors); tcp accepted %llu connections, "
         "echoed %llu bytes; counters:\n",
         static_cast<unsigned long long>(echoed), static_cast<unsigned long long>(errors),
         static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(tcp_bytes));
  rt->stack().print_counters(stdout);
  fflush(stdout);
  return failed ? 1 : 0;
}
