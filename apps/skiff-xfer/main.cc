// skiff-xfer: moves bytes over TCP on Skiff's blocking C API and checks them with SHA-256.
//
//   skiff-xfer [EAL args] -- --ip A.B.C.D/P [stack options] MODE [options]
//   modes:
//     --connect HOST PORT   connect, send --send BYTES (pseudo-random, seeded), then read until EOF
//     --listen PORT         accept --count N connections one after another; read each until EOF, then
//                           send --send BYTES back (or echo with --echo)
//     --churn HOST PORT     --count N short connections in a row: connect, send 64 bytes, read them
//                           back, close; reports how many completed cleanly
//     --http PORT           a minimal HTTP/1.1 server for curl: --count N requests, each answered with
//                           200 and a body of --send BYTES (the same seeded bytes every time), then closed
//   options: --send BYTES (K/M/G suffixes), --seed N, --count N, --echo, --linger0 (close with RST)
//
// Prints "sent N sha256=..." and "received M sha256=..." per connection; exits 0 on success.

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "api/skiff.h"
#include "common/sha256.hh"
#include "runtime/runtime.hh"
#include "stack/shard.hh"
#include "tcp/tcp.hh"

using namespace skiff;

namespace {

struct Opts {
  std::string mode, host;
  uint16_t port = 0;
  uint64_t send = 0;
  uint32_t seed = 1;
  unsigned count = 1;
  bool echo = false;
  bool linger0 = false;
};

bool parse_size(const std::string& s, uint64_t* out) {
  char* end = nullptr;
  double v = strtod(s.c_str(), &end);
  if (s.empty() || v < 0) return false;
  switch (*end) {
    case 'k': case 'K': v *= 1024; ++end; break;
    case 'm': case 'M': v *= 1024 * 1024; ++end; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; ++end; break;
    default: break;
  }
  if (*end) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

// Deterministic bytes from a seed, generated in blocks.
struct Source {
  std::mt19937_64 rng;
  explicit Source(uint32_t seed) : rng(seed) {}
  void fill(uint8_t* p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = rng();
      memcpy(p + i, &v, 8);
    }
    if (i < n) {
      const uint64_t v = rng();
      memcpy(p + i, &v, n - i);
    }
  }
};

sockaddr_in addr_of(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  return a;
}

bool send_all(int fd, const uint8_t* p, size_t n) {
  while (n) {
    const ssize_t k = skiff_send(fd, p, n, 0);
    if (k < 0) {
      if (errno == EINTR) return false;
      fprintf(stderr, "skiff-xfer: send: %s\n", strerror(errno));
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// Sends `total` bytes from `src` (hashing them); returns false on error.
bool send_stream(int fd, uint64_t total, Source& src, app::Sha256& h) {
  std::vector<uint8_t> buf(256 * 1024);
  while (total) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(total, buf.size()));
    src.fill(buf.data(), n);
    h.update(buf.data(), n);
    if (!send_all(fd, buf.data(), n)) return false;
    total -= n;
  }
  return true;
}

// Reads until EOF, hashing; with `echo_fd` >= 0 sends everything back as it comes. -1 on error.
int64_t recv_stream(int fd, app::Sha256& h, bool echo) {
  std::vector<uint8_t> buf(256 * 1024);
  int64_t total = 0;
  for (;;) {
    const ssize_t n = skiff_recv(fd, buf.data(), buf.size(), 0);
    if (n == 0) return total;
    if (n < 0) {
      fprintf(stderr, "skiff-xfer: recv: %s\n", strerror(errno));
      return -1;
    }
    h.update(buf.data(), static_cast<size_t>(n));
    total += n;
    if (echo && !send_all(fd, buf.data(), static_cast<size_t>(n))) return -1;
  }
}

// One line of the connection's TCP_INFO (Linux's whole struct), for test logs.
void print_tcp_info(int fd) {
  skiff_tcp_info ti{};
  socklen_t tl = sizeof ti;
  if (skiff_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
    printf("tcp_info rtt=%uus rto=%uus cwnd=%u ssthresh=%u total_retrans=%u rcv_space=%u rcv_wnd=%u pmtu=%u snd_mss=%u "
           "ecn=%d ecn_seen=%d bytes_acked=%llu bytes_received=%llu bytes_sent=%llu bytes_retrans=%llu segs_out=%u "
           "segs_in=%u data_segs_out=%u data_segs_in=%u delivered=%u dsack_dups=%u reord_seen=%u reordering=%u rcv_ooopack=%u "
           "total_rto=%u min_rtt=%uus delivery_rate=%llu busy=%lluus rwnd_limited=%lluus sndbuf_limited=%lluus\n",
           ti.tcpi_rtt, ti.tcpi_rto, ti.tcpi_snd_cwnd, ti.tcpi_snd_ssthresh, ti.tcpi_total_retrans, ti.tcpi_rcv_space,
           ti.tcpi_rcv_ssthresh, ti.tcpi_pmtu, ti.tcpi_snd_mss, (ti.tcpi_options & TCPI_OPT_ECN) ? 1 : 0,
           (ti.tcpi_options & TCPI_OPT_ECN_SEEN) ? 1 : 0, ti.tcpi_bytes_acked, ti.tcpi_bytes_received, ti.tcpi_bytes_sent,
           ti.tcpi_bytes_retrans, ti.tcpi_segs_out, ti.tcpi_segs_in, ti.tcpi_data_segs_out, ti.tcpi_data_segs_in,
           ti.tcpi_delivered, ti.tcpi_dsack_dups, ti.tcpi_reord_seen, ti.tcpi_reordering, ti.tcpi_rcv_ooopack, ti.tcpi_total_rto,
           ti.tcpi_min_rtt, ti.tcpi_delivery_rate, ti.tcpi_busy_time, ti.tcpi_rwnd_limited, ti.tcpi_sndbuf_limited);
}

int run_connect(const Opts& o) {
  const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = addr_of(o.host, o.port);
  if (skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) {
    fprintf(stderr, "skiff-xfer: connect %s:%u: %s\n", o.host.c_str(), o.port, strerror(errno));
    return 1;
  }
  Source src(o.seed);
  app::Sha256 hs, hr;
  if (!send_stream(fd, o.send, src, hs)) return 1;
  skiff_shutdown(fd, SHUT_WR);
  printf("sent %llu sha256=%s\n", static_cast<unsigned long long>(o.send), hs.hex().c_str());
  fflush(stdout);
  const int64_t got = recv_stream(fd, hr, false);
  if (got < 0) return 1;
  printf("received %lld sha256=%s\n", static_cast<long long>(got), hr.hex().c_str());
  print_tcp_info(fd);
  skiff_close(fd);
  return 0;
}

int run_listen(const Opts& o) {
  const int l = skiff_socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  skiff_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in a = addr_of("0.0.0.0", o.port);
  if (skiff_bind(l, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0 || skiff_listen(l, 128) < 0) {
    fprintf(stderr, "skiff-xfer: listen on %u: %s\n", o.port, strerror(errno));
    return 1;
  }
  printf("listening on %u\n", o.port);
  fflush(stdout);
  for (unsigned i = 0; i < o.count; ++i) {
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    const int c = skiff_accept(l, reinterpret_cast<sockaddr*>(&peer), &plen);
    if (c < 0) {
      fprintf(stderr, "skiff-xfer: accept: %s\n", strerror(errno));
      return 1;
    }
    app::Sha256 hr, hs;
    const int64_t got = recv_stream(c, hr, o.echo);
    if (got < 0) return 1;
    printf("received %lld sha256=%s\n", static_cast<long long>(got), hr.hex().c_str());
    if (o.send) {
      Source src(o.seed);
      if (!send_stream(c, o.send, src, hs)) return 1;
      printf("sent %llu sha256=%s\n", static_cast<unsigned long long>(o.send), hs.hex().c_str());
    }
    fflush(stdout);
    print_tcp_info(c);
    fflush(stdout);
    if (o.linger0) {
      linger lg{1, 0};
      skiff_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    skiff_close(c);
  }
  skiff_close(l);
  return 0;
}

int run_http(const Opts& o) {
  const int l = skiff_socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  skiff_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in a = addr_of("0.0.0.0", o.port);
  if (skiff_bind(l, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0 || skiff_listen(l, 128) < 0) {
    fprintf(stderr, "skiff-xfer: listen on %u: %s\n", o.port, strerror(errno));
    return 1;
  }
  printf("listening on %u\n", o.port);
  fflush(stdout);
  for (unsigned i = 0; i < o.count; ++i) {
    const int c = skiff_accept(l, nullptr, nullptr);
    if (c < 0) return 1;
    // Read the request head (up to the blank line).
    std::string head;
    char b[2048];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      const ssize_t n = skiff_recv(c, b, sizeof b, 0);
      if (n <= 0) break;
      head.append(b, static_cast<size_t>(n));
    }
    const bool ok = head.rfind("GET ", 0) == 0;
    const std::string status = ok ? "200 OK" : "400 Bad Request";
    const uint64_t body = ok ? o.send : 0;
    const std::string resp = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body) +
                             "\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
    app::Sha256 hs;
    Source src(o.seed);
    if (send_all(c, reinterpret_cast<const uint8_t*>(resp.data()), resp.size()) && send_stream(c, body, src, hs))
      printf("sent %llu sha256=%s\n", static_cast<unsigned long long>(body), hs.hex().c_str());
    fflush(stdout);
    skiff_shutdown(c, SHUT_WR);
    // Wait for the client's FIN so the close is clean on both sides.
    while (skiff_recv(c, b, sizeof b, 0) > 0) {
    }
    skiff_close(c);
  }
  skiff_close(l);
  return 0;
}

int run_churn(const Opts& o) {
  const sockaddr_in a = addr_of(o.host, o.port);
  unsigned ok = 0;
  uint8_t msg[64], back[64];
  for (unsigned i = 0; i < o.count && !stop_requested(); ++i) {
    const int fd = skiff_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      fprintf(stderr, "skiff-xfer: socket: %s\n", strerror(errno));
      break;
    }
    timeval tv{5, 0};
    skiff_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (size_t k = 0; k < sizeof msg; ++k) msg[k] = static_cast<uint8_t>(i + k);
    bool good = skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 && send_all(fd, msg, sizeof msg);
    size_t got = 0;
    while (good && got < sizeof back) {
      const ssize_t n = skiff_recv(fd, back + got, sizeof back - got, 0);
      if (n <= 0) good = false;
      got += n > 0 ? static_cast<size_t>(n) : 0;
    }
    good = good && memcmp(msg, back, sizeof msg) == 0;
    if (o.linger0) {
      linger lg{1, 0};
      skiff_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    skiff_close(fd);
    if (good) {
      ++ok;
    } else {
      fprintf(stderr, "skiff-xfer: connection %u failed: %s\n", i, strerror(errno));
    }
  }
  printf("churn: %u of %u connections completed cleanly\n", ok, o.count);
  return ok == o.count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-xfer", &code);
  if (!rt) return code;
  Opts o;
  const auto& a = rt->app_args();
  for (size_t i = 0; i < a.size(); ++i) {
    auto need = [&](size_t n) {
      if (i + n >= a.size()) {
        fprintf(stderr, "skiff-xfer: %s: missing value\n", a[i].c_str());
        exit(2);
      }
    };
    if (a[i] == "--connect" || a[i] == "--churn") {
      need(2);
      o.mode = a[i].substr(2);
      o.host = a[i + 1];
      o.port = static_cast<uint16_t>(atoi(a[i + 2].c_str()));
      i += 2;
    } else if (a[i] == "--listen" || a[i] == "--http") {
      need(1);
      o.mode = a[i].substr(2);
      o.port = static_cast<uint16_t>(atoi(a[++i].c_str()));
    } else if (a[i] == "--send") {
      need(1);
      if (!parse_size(a[++i], &o.send)) {
        fprintf(stderr, "skiff-xfer: --send: invalid value '%s' (e.g. 100M)\n", a[i].c_str());
        return 2;
      }
    } else if (a[i] == "--seed") {
      need(1);
      o.seed = static_cast<uint32_t>(strtoul(a[++i].c_str(), nullptr, 10));
    } else if (a[i] == "--count") {
      need(1);
      o.count = static_cast<unsigned>(strtoul(a[++i].c_str(), nullptr, 10));
    } else if (a[i] == "--echo") {
      o.echo = true;
    } else if (a[i] == "--linger0") {
      o.linger0 = true;
    } else {
      fprintf(stderr, "skiff-xfer: unknown option '%s'\n", a[i].c_str());
      return 2;
    }
  }
  if (o.mode.empty() || !o.port) {
    fprintf(stderr, "usage: skiff-xfer [EAL args] -- --ip A.B.C.D/P (--connect HOST PORT | --listen PORT | --http PORT | --churn HOST PORT) [--send BYTES] [--count N] [--echo] [--linger0]\n");
    return 2;
  }
  if (!rt->config().ip) {
    fprintf(stderr, "skiff-xfer: --ip: required\n");
    return 2;
  }
  if (!rt->build()) return 1;
  Shard& sh = rt->stack().shard(0);
  set_this_shard(&sh);
  sh.start();
  int rc;
  if (o.mode == "connect") {
    rc = run_connect(o);
  } else if (o.mode == "listen") {
    rc = run_listen(o);
  } else if (o.mode == "http") {
    rc = run_http(o);
  } else {
    rc = run_churn(o);
  }
  // Let the last FINs and ACKs go out before the stack stops: until no connection is left but TIME-WAIT
  // ones (a FIN lost on the way is retransmitted after an RTO, 200 ms or more), 10 s at most; then 50 ms
  // more for the final ACKs.
  const auto closing = [&sh] {
    size_t n = 0;
    sh.tcp.for_each([&n](TcpSock* c) {
      const uint8_t st = sk_of(c)->state;
      if (st != sk_state::kTimeWait && st != sk_state::kListen) ++n;
    });
    return n;
  };
  const Instant until = sh.now() + 10s;
  for (unsigned i = 0; sh.now() < until && !stop_requested(); ++i) {
    if (i % 1024 == 0 && closing() == 0) break;
    sh.poll_once();
  }
  const Instant after = sh.now() + 50ms;
  while (sh.now() < after && !stop_requested()) sh.poll_once();
  if (getenv("SKIFF_PRINT_COUNTERS")) rt->stack().print_counters(stdout);
  return rc;
}
