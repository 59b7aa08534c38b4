// skiff-udpcheck: a UDP echo client on Skiff's C API (blocking calls, SO_RCVTIMEO). Sends one datagram of
// each size to an echo server and checks that the same bytes come back.
//
//   skiff-udpcheck [EAL args] -- --ip A.B.C.D/P [stack options] [--sizes LIST] [--timeout MS] DEST PORT
//   LIST: comma-separated sizes or ranges, e.g. 1-1472,8000 (the default)
//
// Exits 0 when every datagram came back byte-identical.

#include <arpa/inet.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "api/skiff.h"
#include "runtime/runtime.hh"

using namespace skiff;

namespace {

bool parse_sizes(const std::string& s, std::vector<size_t>* out) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    const std::string item = s.substr(pos, comma - pos);
    char* end = nullptr;
    const unsigned long a = strtoul(item.c_str(), &end, 10);
    unsigned long b = a;
    if (*end == '-') b = strtoul(end + 1, &end, 10);
    if (item.empty() || *end || a == 0 || b < a || b > 65507) return false;
    for (unsigned long n = a; n <= b; ++n) out->push_back(n);
    pos = comma + 1;
  }
  return !out->empty();
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-udpcheck", &code);
  if (!rt) return code;
  std::vector<size_t> sizes;
  int timeout_ms = 1000;
  std::vector<std::string> pos;
  const auto& a = rt->app_args();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--sizes" && i + 1 < a.size()) {
      if (!parse_sizes(a[++i], &sizes)) {
        fprintf(stderr, "skiff-udpcheck: --sizes: invalid value '%s' (expected e.g. 1-1472,8000)\n", a[i].c_str());
        return 2;
      }
    } else if (a[i] == "--timeout" && i + 1 < a.size()) {
      timeout_ms = atoi(a[++i].c_str());
      if (timeout_ms <= 0) {
        fprintf(stderr, "skiff-udpcheck: --timeout: invalid value '%s' (milliseconds > 0)\n", a[i].c_str());
        return 2;
      }
    } else {
      pos.push_back(a[i]);
    }
  }
  if (sizes.empty()) parse_sizes("1-1472,8000", &sizes);
  auto dest = pos.size() == 2 ? wire::Ipv4Addr::parse(pos[0]) : std::nullopt;
  const int port = pos.size() == 2 ? atoi(pos[1].c_str()) : 0;
  if (!dest || port <= 0 || port > 65535) {
    fprintf(stderr, "usage: skiff-udpcheck [EAL args] -- --ip A.B.C.D/P [--sizes LIST] [--timeout MS] DEST PORT\n");
    return 2;
  }
  if (!rt->config().ip) {
    fprintf(stderr, "skiff-udpcheck: --ip: required\n");
    return 2;
  }
  if (!rt->build()) return 1;
  Shard& sh = rt->stack().shard(0);
  set_this_shard(&sh);
  sh.start();

  const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  skiff_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(dest->host());
  std::mt19937 rng(12345);
  std::vector<uint8_t> out(65536), in(65536);
  unsigned ok = 0, bad = 0, lost = 0;
  for (size_t n : sizes) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(rng());
    bool done = false;
    for (int attempt = 0; attempt < 3 && !done && !stop_requested(); ++attempt) {
      if (skiff_sendto(fd, out.data(), n, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != static_cast<ssize_t>(n)) {
        fprintf(stderr, "skiff-udpcheck: sendto %zu bytes: %s\n", n, strerror(errno));
        break;
      }
      for (;;) {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        const ssize_t got = skiff_recvfrom(fd, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (got < 0) break;  // timeout: send again
        if (from.sin_addr.s_addr != to.sin_addr.s_addr || from.sin_port != to.sin_port) continue;
        if (static_cast<size_t>(got) == n && memcmp(in.data(), out.data(), n) == 0) {
          done = true;
        } else if (static_cast<size_t>(got) != n || attempt == 2) {
          // A late echo of an earlier datagram can arrive first: keep reading until the timeout.
          continue;
        }
        break;
      }
    }
    if (done) {
      ++ok;
    } else {
      ++lost;
      fprintf(stderr, "skiff-udpcheck: no intact echo for %zu bytes\n", n);
    }
  }
  skiff_close(fd);
  printf("skiff-udpcheck: %u datagrams echoed intact, %u lost or corrupted, %u mismatched\n", ok, lost, bad);
  if (getenv("SKIFF_PRINT_COUNTERS")) rt->stack().print_counters(stdout);
  return lost || bad ? 1 : 0;
}
