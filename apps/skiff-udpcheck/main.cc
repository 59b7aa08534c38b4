// skiff-udpcheck: a UDP echo client on Skiff's C API (blocking calls, SO_RCVTIMEO). Sends one datagram of
// each size to an echo server and checks that the same bytes come back.
//
//   skiff-udpcheck [EAL args] -- --ip A.B.C.D/P [stack options] [--sizes LIST] [--timeout MS] [--cmsg] [--cork]
//                  [--gro SIZE] DEST PORT
//   LIST: comma-separated sizes or ranges, e.g. 1-1472,8000 (the default)
//   --cmsg: send each datagram with its own TTL and TOS as control messages (sendmsg IP_TTL, IP_TOS) and
//           read the echo with recvmsg and IP_RECVTTL, IP_RECVTOS, IP_PKTINFO, SO_TIMESTAMPNS: an echo
//           counts only if it came with the TTL and TOS sent (a server that reflects them, e.g.
//           tests/integration/udp_echo_server.py --reflect), to our address, stamped within the last 2 s.
//   --cork: send each datagram in three parts gathered into one: every other datagram by MSG_MORE on the first
//           two parts, the others between UDP_CORK on and off; with --cmsg the later parts carry other marks
//           (TTL 1, TOS 0), which a corked datagram must not take (only the first part's count).
//   --gro SIZE: the echo comes back as a train of datagrams of SIZE bytes (the last shorter; a server such as
//           tests/integration/udp_echo_server.py --train SIZE): read with UDP_GRO on, gathered into as few
//           reads as arrived together, each read checked against its UDP_GRO control message, the pieces
//           joined and compared. It waits 5 ms after each send, so that the whole train is in the port's
//           receive ring when the read starts; cannot be used with --cmsg.
//
// Exits 0 when every datagram came back byte-identical.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/time.h>
#include <time.h>

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

// --cmsg: what one datagram is sent with, and whether its echo's control messages say it came back so.
struct Marks {
  int ttl;
  uint8_t tos;
};

Marks marks_for(size_t i) {
  return {static_cast<int>(2 + i % 250), static_cast<uint8_t>((i * 4) & 0xfc)};  // DSCP only: ECN bits 0
}

ssize_t send_marked(int fd, const void* data, size_t n, const sockaddr_in& to, Marks mk, int flags = 0) {
  iovec iov{const_cast<void*>(data), n};
  alignas(cmsghdr) uint8_t ctl[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_name = const_cast<sockaddr_in*>(&to);
  m.msg_namelen = sizeof to;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TTL;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &mk.ttl, sizeof(int));
  c = CMSG_NXTHDR(&m, c);
  const int tos = mk.tos;
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TOS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &tos, sizeof(int));
  return skiff_sendmsg(fd, &m, flags);
}

// --cork: datagram `k` of `n` bytes in three parts (some empty for the smallest) gathered into one. Returns n,
// or -1 at the first failure.
ssize_t send_corked(int fd, const uint8_t* data, size_t n, const sockaddr_in& to, size_t k, const Marks* mk) {
  const bool by_more = k % 2 == 0;
  const int on = 1, off = 0;
  if (!by_more && skiff_setsockopt(fd, IPPROTO_UDP, UDP_CORK, &on, sizeof on) != 0) return -1;
  const size_t cut[4] = {0, n / 3, 2 * n / 3, n};
  for (int i = 0; i < 3; ++i) {
    const int flags = by_more && i < 2 ? MSG_MORE : 0;
    const size_t len = cut[i + 1] - cut[i];
    // The later parts name marks of their own: the datagram keeps the first part's.
    const Marks other{1, 0};
    const ssize_t r = mk ? send_marked(fd, data + cut[i], len, to, i == 0 ? *mk : other, flags)
                         : skiff_sendto(fd, data + cut[i], len, flags, reinterpret_cast<const sockaddr*>(&to),
                                        sizeof to);
    if (r != static_cast<ssize_t>(len)) return -1;
  }
  if (!by_more && skiff_setsockopt(fd, IPPROTO_UDP, UDP_CORK, &off, sizeof off) != 0) return -1;
  return static_cast<ssize_t>(n);
}

// Reads one datagram; with `want`, also checks its control messages (and explains a mismatch in *why).
ssize_t recv_marked(int fd, void* buf, size_t len, sockaddr_in* from, const Marks* want, uint32_t our_addr,
                    std::string* why) {
  iovec iov{buf, len};
  alignas(cmsghdr) uint8_t ctl[256];
  msghdr m{};
  m.msg_name = from;
  m.msg_namelen = sizeof *from;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = want ? ctl : nullptr;
  m.msg_controllen = want ? sizeof ctl : 0;
  const ssize_t got = skiff_recvmsg(fd, &m, 0);
  if (got < 0 || !want) return got;
  int ttl = -1, tos = -1;
  bool addr_ok = false, ts_ok = false;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
      tos = *CMSG_DATA(c);
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      addr_ok = ntohl(pi.ipi_addr.s_addr) == our_addr && pi.ipi_ifindex > 0;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec t;
      memcpy(&t, CMSG_DATA(c), sizeof t);
      const double age = static_cast<double>(now.tv_sec - t.tv_sec) + (now.tv_nsec - t.tv_nsec) / 1e9;
      ts_ok = age >= 0 && age < 2;
    }
  }
  if (ttl != want->ttl || tos != want->tos || !addr_ok || !ts_ok) {
    char b[160];
    snprintf(b, sizeof b, "ttl %d (sent %d), tos %d (sent %d), pktinfo %s, timestamp %s", ttl, want->ttl, tos,
             want->tos, addr_ok ? "ok" : "wrong or missing", ts_ok ? "ok" : "wrong or missing");
    *why = b;
  } else {
    why->clear();
  }
  return got;
}

// --gro: what the reads of echo trains saw.
struct GroStats {
  unsigned reads = 0;       // recvmsg calls that returned data
  unsigned datagrams = 0;   // datagrams in them
  unsigned gathered = 0;    // reads that returned several (with a UDP_GRO control message)
};

// --gro: reads the train echoing `n` bytes from `to` into `buf` (up to `cap` bytes). Returns the bytes read
// (n unless something arrived wrong), or -1 at a timeout; a read that disagrees with its UDP_GRO control
// message (a size other than `seg`, several datagrams without one) is explained in *why.
ssize_t recv_train(int fd, uint8_t* buf, size_t cap, size_t n, const sockaddr_in& to, int seg, GroStats* st,
                   std::string* why) {
  size_t total = 0;
  while (total < n) {
    sockaddr_in from{};
    iovec iov{buf + total, cap - total};
    alignas(cmsghdr) uint8_t ctl[64];
    msghdr m{};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    const ssize_t got = skiff_recvmsg(fd, &m, 0);
    if (got < 0) return -1;
    if (from.sin_addr.s_addr != to.sin_addr.s_addr || from.sin_port != to.sin_port) continue;
    int g = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) memcpy(&g, CMSG_DATA(c), sizeof g);
    ++st->reads;
    const size_t len = static_cast<size_t>(got);
    if (g) {
      ++st->gathered;
      st->datagrams += static_cast<unsigned>((len + static_cast<size_t>(g) - 1) / static_cast<size_t>(g));
      if (g != seg || len <= static_cast<size_t>(g))
        *why = "a read of " + std::to_string(len) + " bytes reported UDP_GRO " + std::to_string(g);
    } else {
      ++st->datagrams;
      if (len > static_cast<size_t>(seg))
        *why = "a read of " + std::to_string(len) + " bytes without UDP_GRO (trains of " + std::to_string(seg) + ")";
    }
    total += len;
    if (m.msg_flags & MSG_TRUNC) {
      *why = "a read was cut (MSG_TRUNC)";
      break;
    }
  }
  return static_cast<ssize_t>(total);
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  auto rt = Runtime::init(argc, argv, "skiff-udpcheck", &code);
  if (!rt) return code;
  std::vector<size_t> sizes;
  int timeout_ms = 1000;
  bool cmsg = false, cork = false;
  int gro = 0;  // --gro SIZE
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
    } else if (a[i] == "--cmsg") {
      cmsg = true;
    } else if (a[i] == "--cork") {
      cork = true;
    } else if (a[i] == "--gro" && i + 1 < a.size()) {
      gro = atoi(a[++i].c_str());
      if (gro <= 0 || gro > 65507) {
        fprintf(stderr, "skiff-udpcheck: --gro: invalid value '%s' (a datagram size, 1-65507)\n", a[i].c_str());
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
    fprintf(stderr,
            "usage: skiff-udpcheck [EAL args] -- --ip A.B.C.D/P [--sizes LIST] [--timeout MS] [--cmsg] [--cork] "
            "[--gro SIZE] DEST PORT\n");
    return 2;
  }
  if (gro && cmsg) {
    fprintf(stderr, "skiff-udpcheck: --gro cannot be used with --cmsg\n");
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
  if (cmsg) {
    const int on = 1;
    for (int opt : {IP_RECVTTL, IP_RECVTOS, IP_PKTINFO}) skiff_setsockopt(fd, IPPROTO_IP, opt, &on, sizeof on);
    skiff_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }
  const int on = 1;
  if (gro && skiff_setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) != 0) {
    fprintf(stderr, "skiff-udpcheck: setsockopt UDP_GRO: %s\n", strerror(errno));
    return 1;
  }
  GroStats gst;
  const uint32_t our_addr = rt->config().ip->addr.host();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(dest->host());
  std::mt19937 rng(12345);
  std::vector<uint8_t> out(65536), in(65536);
  unsigned ok = 0, bad = 0, lost = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    const size_t n = sizes[k];
    const Marks mk = marks_for(k);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(rng());
    bool done = false;
    for (int attempt = 0; attempt < 3 && !done && !stop_requested(); ++attempt) {
      if (gro && attempt > 0) {
        // What the last attempt's train left (late) would be read as this one's start: drop it first.
        while (skiff_recv(fd, in.data(), in.size(), MSG_DONTWAIT) >= 0) {
        }
      }
      const ssize_t sent = cork   ? send_corked(fd, out.data(), n, to, k, cmsg ? &mk : nullptr)
                           : cmsg ? send_marked(fd, out.data(), n, to, mk)
                                  : skiff_sendto(fd, out.data(), n, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      if (sent != static_cast<ssize_t>(n)) {
        fprintf(stderr, "skiff-udpcheck: sendto %zu bytes: %s\n", n, strerror(errno));
        break;
      }
      if (gro) {
        // The whole train in the port's ring before the first read (the kernel sends it in well under 5 ms).
        const timespec pause{0, 5'000'000};
        nanosleep(&pause, nullptr);
        std::string why;
        const ssize_t got = recv_train(fd, in.data(), in.size(), n, to, gro, &gst, &why);
        if (got < 0) continue;  // timeout: send again
        if (static_cast<size_t>(got) != n || memcmp(in.data(), out.data(), n) != 0) break;  // lost or corrupted
        if (!why.empty()) {
          ++bad;  // intact, but the reads disagreed with their UDP_GRO messages
          fprintf(stderr, "skiff-udpcheck: echo train of %zu bytes: %s\n", n, why.c_str());
        }
        done = true;
        continue;
      }
      for (;;) {
        sockaddr_in from{};
        std::string why;
        const ssize_t got = recv_marked(fd, in.data(), in.size(), &from, cmsg ? &mk : nullptr, our_addr, &why);
        if (got < 0) break;  // timeout: send again
        if (from.sin_addr.s_addr != to.sin_addr.s_addr || from.sin_port != to.sin_port) continue;
        if (static_cast<size_t>(got) == n && memcmp(in.data(), out.data(), n) == 0) {
          if (!why.empty()) {
            ++bad;
            fprintf(stderr, "skiff-udpcheck: echo of %zu bytes: %s\n", n, why.c_str());
          }
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
  if (gro)
    printf("skiff-udpcheck: UDP_GRO: %u reads returned %u datagrams; %u reads gathered several\n", gst.reads,
           gst.datagrams, gst.gathered);
  if (getenv("SKIFF_PRINT_COUNTERS")) rt->stack().print_counters(stdout);
  return lost || bad ? 1 : 0;
}
