#pragma once
// Helpers shared by the socket-layer tests, and the differential framework: a scenario is written once
// against `Side` (a table of the socket calls plus addresses and a "peer"), then run on the kernel's sockets
// (127.0.0.1) and on Skiff's (a StackHarness, 10.0.0.2/24), and the two logs of return values and errnos
// must be equal entry by entry.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api/skiff.h"
#include "stack_harness.hh"
#include "wire/checksum.hh"
#include "wire/endian.hh"
#include "wire/icmp.hh"
#include "wire/udp.hh"

namespace skiff::test::sock {

inline const Ipv4Addr kOur = StackHarness::kOurIp;
inline const Ipv4Addr kPeer = StackHarness::kPeerIp;
inline const Ipv4Addr kBcast = Ipv4Addr::of(10, 0, 0, 255);
inline const Ipv4Addr kLoop = Ipv4Addr::of(127, 0, 0, 1);
inline const Ipv4Addr kLoopPeer = Ipv4Addr::of(127, 0, 0, 2);     // the kernel side's peer
inline const Ipv4Addr kNonLocal = Ipv4Addr::of(198, 51, 100, 7);  // TEST-NET-2: nobody's address

inline sockaddr_in sin(Ipv4Addr a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(a.host());
  return s;
}
inline const sockaddr* sa(const sockaddr_in& s) {
  return reinterpret_cast<const sockaddr*>(&s);
}
inline sockaddr* sa(sockaddr_in& s) {
  return reinterpret_cast<sockaddr*>(&s);
}
inline Ipv4Addr addr_of(const sockaddr_in& s) {
  return Ipv4Addr(ntohl(s.sin_addr.s_addr));
}

// A UDP datagram from `src`:sport to us (or `dst`), as a frame from the peer's MAC.
inline Bytes udp_frame(StackHarness& h, uint16_t sport, uint16_t dport, const Bytes& payload,
                       Ipv4Addr dst = kOur, Ipv4Addr src = kPeer, bool csum = true) {
  return h.from_peer(
      ipv4(Ipv4Spec{.src = src, .dst = dst, .proto = 17}, udp(src, dst, sport, dport, payload, csum)));
}

// A msghdr over one iovec, with an optional name and control buffer.
inline msghdr msg_of(iovec* iov, sockaddr_in* name = nullptr, void* ctl = nullptr, size_t clen = 0) {
  msghdr m{};
  m.msg_name = name;
  m.msg_namelen = name ? sizeof *name : 0;
  m.msg_iov = iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = clen;
  return m;
}

// One error read off the error queue (recvmsg MSG_ERRQUEUE | MSG_DONTWAIT): its return (errno in `err`
// when -1), msg_flags, the name, and the IP_RECVERR control message with its offender address.
struct QueuedErr {
  ssize_t rc = -1;
  int err = 0;
  int flags = 0;
  sockaddr_in name{};
  sock_extended_err ee{};
  sockaddr_in offender{};
  bool have_ee = false;
};
inline QueuedErr read_error(int fd) {
  QueuedErr q;
  uint8_t buf[2048];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) uint8_t ctl[256];
  msghdr m = msg_of(&iov, &q.name, ctl, sizeof ctl);
  q.rc = skiff_recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
  q.err = q.rc < 0 ? errno : 0;
  q.flags = m.msg_flags;
  if (q.rc < 0) return q;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) {
      memcpy(&q.ee, CMSG_DATA(c), sizeof q.ee);
      memcpy(&q.offender, CMSG_DATA(c) + sizeof q.ee, sizeof q.offender);
      q.have_ee = true;
    }
  return q;
}

// A UDP socket (non-blocking unless told) bound to INADDR_ANY:port.
inline int bound_udp(uint16_t port, int flags = SOCK_NONBLOCK) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | flags, 0);
  EXPECT_GE(fd, 3) << strerror(errno);
  const sockaddr_in a = sin(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, sa(a), sizeof a), 0) << strerror(errno);
  return fd;
}

inline uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  EXPECT_EQ(skiff_getsockname(fd, sa(a), &len), 0) << strerror(errno);
  return ntohs(a.sin_port);
}

// The UDP datagrams among transmitted frames.
struct SentUdp {
  SentIp ip;
  uint16_t sport = 0, dport = 0, len = 0, csum = 0;
  Bytes payload;
};
inline std::vector<SentUdp> sent_udp(const std::vector<Bytes>& frames) {
  std::vector<SentUdp> out;
  for (const auto& f : frames) {
    auto ip = parse_ip(f);
    if (!ip || ip->proto != 17 || ip->payload.size() < 8) continue;
    SentUdp u;
    u.ip = *ip;
    u.sport = wire::load_be16(ip->payload.data());
    u.dport = wire::load_be16(ip->payload.data() + 2);
    u.len = wire::load_be16(ip->payload.data() + 4);
    u.csum = wire::load_be16(ip->payload.data() + 6);
    u.payload.assign(ip->payload.begin() + 8, ip->payload.end());
    out.push_back(std::move(u));
  }
  return out;
}

// An ICMP error (type/code) from the peer quoting the IP datagram inside `frame` (one we sent): its header
// and 8 bytes (RFC 792's minimum), or with `whole` as much as fits 576 bytes (RFC 1812 §4.3.2.3, as Linux).
inline Bytes icmp_error_about(StackHarness& h, const Bytes& frame,
                              uint8_t type = wire::icmp_type::kDestUnreachable,
                              uint8_t code = wire::icmp_unreach::kPort, bool whole = false) {
  const size_t ihl = (frame[14] & 0xf) * 4u;
  const size_t want = whole ? 576 - 20 - 8 : ihl + 8;
  Bytes quote(frame.begin() + 14,
              frame.begin() + static_cast<long>(14 + std::min(frame.size() - 14, want)));
  return h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = kOur, .proto = 1}, icmp(type, code, 0, quote)));
}

// ---------------------------------------------------------------------------------------------------------
// The differential framework.

// The socket calls, as function pointers: the kernel's (libc) or Skiff's.
struct Api {
  int (*socket)(int, int, int);
  int (*socketpair)(int, int, int, int*);
  int (*bind)(int, const sockaddr*, socklen_t);
  int (*connect)(int, const sockaddr*, socklen_t);
  int (*listen)(int, int);
  int (*accept)(int, sockaddr*, socklen_t*);
  int (*accept4)(int, sockaddr*, socklen_t*, int);
  int (*getsockname)(int, sockaddr*, socklen_t*);
  int (*getpeername)(int, sockaddr*, socklen_t*);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*recv)(int, void*, size_t, int);
  ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t);
  ssize_t (*recvfrom)(int, void*, size_t, int, sockaddr*, socklen_t*);
  ssize_t (*sendmsg)(int, const msghdr*, int);
  ssize_t (*recvmsg)(int, msghdr*, int);
  int (*sendmmsg)(int, mmsghdr*, unsigned, int);
  int (*recvmmsg)(int, mmsghdr*, unsigned, int, timespec*);
  int (*shutdown)(int, int);
  int (*setsockopt)(int, int, int, const void*, socklen_t);
  int (*getsockopt)(int, int, int, void*, socklen_t*);
  int (*close)(int);
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*write)(int, const void*, size_t);
  ssize_t (*readv)(int, const iovec*, int);
  ssize_t (*writev)(int, const iovec*, int);
  int (*fcntl)(int, int, ...);
  int (*ioctl)(int, unsigned long, ...);
  int (*epoll_create)(int);
  int (*epoll_create1)(int);
  int (*epoll_ctl)(int, int, int, epoll_event*);
  int (*epoll_wait)(int, epoll_event*, int, int);
};

namespace detail {
inline int k_recvmmsg(int fd, mmsghdr* m, unsigned n, int f, timespec* t) {
  return ::recvmmsg(fd, m, n, f, t);
}
inline int k_sendmmsg(int fd, mmsghdr* m, unsigned n, int f) {
  return ::sendmmsg(fd, m, n, f);
}
}  // namespace detail

inline const Api kKernelApi = {
    ::socket,
    ::socketpair,
    ::bind,
    ::connect,
    ::listen,
    ::accept,
    ::accept4,
    ::getsockname,
    ::getpeername,
    ::send,
    ::recv,
    ::sendto,
    ::recvfrom,
    ::sendmsg,
    ::recvmsg,
    detail::k_sendmmsg,
    detail::k_recvmmsg,
    ::shutdown,
    ::setsockopt,
    ::getsockopt,
    ::close,
    ::read,
    ::write,
    ::readv,
    ::writev,
    ::fcntl,
    ::ioctl,
    ::epoll_create,
    ::epoll_create1,
    ::epoll_ctl,
    ::epoll_wait,
};

inline const Api kSkiffApi = {
    skiff_socket,     skiff_socketpair, skiff_bind,         skiff_connect,       skiff_listen,
    skiff_accept,     skiff_accept4,    skiff_getsockname,  skiff_getpeername,   skiff_send,
    skiff_recv,       skiff_sendto,     skiff_recvfrom,     skiff_sendmsg,       skiff_recvmsg,
    skiff_sendmmsg,   skiff_recvmmsg,   skiff_shutdown,     skiff_setsockopt,    skiff_getsockopt,
    skiff_close,      skiff_read,       skiff_write,        skiff_readv,         skiff_writev,
    skiff_fcntl,      skiff_ioctl,      skiff_epoll_create, skiff_epoll_create1, skiff_epoll_ctl,
    skiff_epoll_wait,
};

struct Entry {
  std::string what;
  long rc;
  int err;  // errno when rc == -1, else 0
};

// One side of a differential run. Scenarios use only this interface, so they run unchanged on both.
class Side {
 public:
  static constexpr int kPeers = 2;

  Side(const Api& a, StackHarness* h) : api(a), h_(h) {
    kernel = h == nullptr;
    local = kernel ? kLoop : kOur;
    peer = kernel ? kLoopPeer : kPeer;
    bcast = kernel ? Ipv4Addr::of(127, 255, 255, 255) : kBcast;
    nonlocal = kNonLocal;
  }
  ~Side() {
    for (int fd : fds_) api.close(fd);
    for (int fd : peer_fd_)
      if (fd >= 0) ::close(fd);
  }
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;

  const Api& api;
  bool kernel;
  Ipv4Addr local, peer, bcast, nonlocal;
  std::vector<Entry> log;

  // Records a call's outcome (rc, and errno when it failed); returns rc. errno is read first thing.
  long call(const std::string& what, long rc) {
    const int e = errno;
    log.push_back({what, rc, rc == -1 ? e : 0});
    return rc;
  }
  // Records a value (not a call).
  void val(const std::string& what, long v) { log.push_back({what, v, 0}); }
  // Creates a socket (the descriptor number is not compared, only success/errno); closed at the end.
  int socket(const std::string& what, int domain, int type, int protocol) {
    const int fd = api.socket(domain, type, protocol);
    const int e = errno;
    log.push_back({what, fd >= 0 ? 0 : fd, fd >= 0 ? 0 : e});
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int udp(int flags = SOCK_NONBLOCK) { return socket("socket(udp)", AF_INET, SOCK_DGRAM | flags, 0); }
  int epoll(const std::string& what, int flags = 0) {
    const int fd = api.epoll_create1(flags);
    const int e = errno;
    log.push_back({what, fd >= 0 ? 0 : fd, fd >= 0 ? 0 : e});
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // Tracks a descriptor made some other way (accept) so it is closed at the end.
  void track(int fd) {
    if (fd >= 0) fds_.push_back(fd);
  }
  // Closes a tracked descriptor, recording the result.
  long close(const std::string& what, int fd) {
    for (auto it = fds_.begin(); it != fds_.end(); ++it)
      if (*it == fd) {
        fds_.erase(it);
        break;
      }
    return call(what, api.close(fd));
  }

  sockaddr_in addr(Ipv4Addr a, uint16_t port) const { return sin(a, port); }
  // Names an address the same way on both sides: any, local, peer, bcast, nonlocal or other.
  std::string name_of(Ipv4Addr a) const {
    if (a.is_any()) return "any";
    if (a == local) return "local";
    if (a == peer) return "peer";
    if (a == bcast) return "bcast";
    if (a == nonlocal) return "nonlocal";
    return "other";
  }
  // Records getsockname: address class and whether the port is 0 / ephemeral (32768..60999) / other.
  void name(const std::string& what, int fd, bool peer_name = false) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int rc = peer_name ? api.getpeername(fd, sa(a), &len) : api.getsockname(fd, sa(a), &len);
    if (call(what, rc) < 0) return;
    val(what + " len", len);
    val(what + " family", a.sin_family);
    const uint16_t p = ntohs(a.sin_port);
    std::string pn = p == 0                                       ? "0"
                     : (p == peer_port_[0] || p == peer_port_[1]) ? "peer's"
                     : (p >= 32768 && p <= 60999)                 ? "ephemeral"
                                                                  : "fixed";
    log.push_back({what + " addr=" + name_of(addr_of(a)) + " port=" + pn, 0, 0});
  }
  uint16_t port_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (api.getsockname(fd, sa(a), &len) < 0) return 0;
    return ntohs(a.sin_port);
  }
  // An int option's value (or -1000 - errno on failure), recorded.
  int opt(const std::string& what, int fd, int level, int name) {
    int v = 0;
    socklen_t len = sizeof v;
    const int rc = api.getsockopt(fd, level, name, &v, &len);
    if (call(what, rc) < 0) return -1000 - errno;
    val(what + " value", v);
    val(what + " len", len);
    return v;
  }
  long setopt(const std::string& what, int fd, int level, int name, int v, socklen_t len = sizeof(int)) {
    return call(what, api.setsockopt(fd, level, name, &v, len));
  }

  // A peer endpoint (k = 0 or 1): its port. Kernel: a helper socket on 127.0.0.1; Skiff: 10.0.0.1:5000+k.
  uint16_t peer_port(int k = 0) {
    if (!kernel) return peer_port_[k] = static_cast<uint16_t>(5000 + k);
    if (peer_fd_[k] < 0) {
      peer_fd_[k] = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      const sockaddr_in a = sin(kLoopPeer, 0);
      EXPECT_EQ(::bind(peer_fd_[k], sa(a), sizeof a), 0);
      sockaddr_in b{};
      socklen_t len = sizeof b;
      ::getsockname(peer_fd_[k], sa(b), &len);
      peer_port_[k] = ntohs(b.sin_port);
    }
    return peer_port_[k];
  }
  // A port nobody listens on.
  uint16_t closed_port() {
    if (!kernel) return 4444;
    const int t = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in a = sin(kLoopPeer, 0);
    ::bind(t, sa(a), sizeof a);
    sockaddr_in b{};
    socklen_t len = sizeof b;
    ::getsockname(t, sa(b), &len);
    ::close(t);
    return ntohs(b.sin_port);
  }
  // The peer (endpoint k) sends `payload` to local:port. `fd` (optional) is the socket expected to get it.
  void deliver(uint16_t port, const Bytes& payload, int k = 0, int fd = -1, Ipv4Addr to = Ipv4Addr::any()) {
    if (to.is_any()) to = local;
    if (kernel) {
      const uint16_t pp = peer_port(k);
      (void)pp;
      const sockaddr_in a = sin(to, port);
      if (to == bcast) {
        const int on = 1;
        ::setsockopt(peer_fd_[k], SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
      }
      EXPECT_EQ(::sendto(peer_fd_[k], payload.data(), payload.size(), 0, sa(a), sizeof a),
                static_cast<ssize_t>(payload.size()))
          << strerror(errno);
      if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 200);
      }
    } else {
      h_->inject(udp_frame(*h_, peer_port(k), port, payload, to));
      settle();
    }
  }
  // What peer endpoint k received since the last call (payloads, oldest first); their source addresses in
  // `from` if given.
  std::vector<Bytes> peer_received(int k = 0, std::vector<Ipv4Addr>* from = nullptr) {
    std::vector<Bytes> out;
    if (kernel) {
      peer_port(k);
      for (;;) {
        pollfd p{peer_fd_[k], POLLIN, 0};
        if (::poll(&p, 1, out.empty() ? 100 : 0) <= 0) break;
        uint8_t buf[65536];
        sockaddr_in src{};
        socklen_t slen = sizeof src;
        const ssize_t n = ::recvfrom(peer_fd_[k], buf, sizeof buf, MSG_DONTWAIT, sa(src), &slen);
        if (n < 0) break;
        out.emplace_back(buf, buf + n);
        if (from) from->push_back(Ipv4Addr(ntohl(src.sin_addr.s_addr)));
      }
    } else {
      for (auto& u : sent_udp(h_->sent())) unclaimed_.push_back(std::move(u));
      for (auto it = unclaimed_.begin(); it != unclaimed_.end();) {
        if (it->ip.dst == peer && it->dport == peer_port(k)) {
          out.push_back(it->payload);
          if (from) from->push_back(it->ip.src);
          it = unclaimed_.erase(it);
        } else {
          ++it;
        }
      }
    }
    return out;
  }
  // The peer answers the last datagram sent to a closed port with ICMP port unreachable; waits until `fd`
  // has the error.
  void refuse_last(int fd) {
    if (kernel) {
      pollfd p{fd, POLLERR, 0};
      ::poll(&p, 1, 500);
      return;
    }
    auto frames = h_->sent();
    ASSERT_FALSE(frames.empty()) << "nothing was sent to refuse";
    for (auto& u : sent_udp(frames)) unclaimed_.push_back(std::move(u));
    h_->inject(icmp_error_about(*h_, frames.back(), wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kPort, true));
    settle();
  }
  // Lets readiness changes reach epoll sets (Skiff delivers them at the end of a poll iteration).
  void settle() {
    if (!kernel) h_->shard().dispatch_events();
  }
  // epoll_wait that does not block: the kernel gets a short grace for loopback delivery.
  int wait(const std::string& what, int ep, epoll_event* ev, int max) {
    settle();
    const int n = api.epoll_wait(ep, ev, max, kernel ? 10 : 0);
    call(what, n);
    return n;
  }
  // Records the events reported for `fd`'s data (ev.data.fd) after a wait.
  void events(const std::string& what, int ep, int max = 8) {
    epoll_event ev[8]{};
    const int n = wait(what, ep, ev, max);
    for (int i = 0; i < n; ++i) {
      std::ostringstream os;
      os << what << " #" << i << " events=0x" << std::hex << ev[i].events << " tag=" << std::dec
         << ev[i].data.u32;
      log.push_back({os.str(), 0, 0});
    }
  }
  StackHarness* harness() { return h_; }

 private:
  StackHarness* h_;
  std::vector<int> fds_;
  int peer_fd_[kPeers] = {-1, -1};
  uint16_t peer_port_[kPeers] = {0, 0};
  std::vector<SentUdp> unclaimed_;  // Skiff: datagrams sent but not yet asked for
};

using Scenario = void (*)(Side&);

inline std::string describe(const Entry& e) {
  std::ostringstream os;
  os << e.rc;
  if (e.rc == -1) os << " (" << strerrorname_np(e.err) << ")";
  return os.str();
}

// Runs `sc` on the kernel and on Skiff and compares the logs. `need_root`: skip unless root (raw sockets).
inline void run_diff(Scenario sc, bool need_root = false) {
  if (need_root && geteuid() != 0) GTEST_SKIP() << "needs root for raw kernel sockets";
  signal(SIGPIPE, SIG_IGN);
  const int probe = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (probe < 0) GTEST_SKIP() << "no kernel sockets here: " << strerror(errno);
  ::close(probe);
  std::vector<Entry> klog, slog;
  {
    Side k(kKernelApi, nullptr);
    sc(k);
    klog = k.log;
  }
  {
    StackHarness h;
    h.learn_peer();
    {
      Side s(kSkiffApi, &h);
      sc(s);
      slog = s.log;
    }
    h.sent();
  }
  const size_t n = std::max(klog.size(), slog.size());
  if (getenv("SKIFF_DIFF_LOG")) {  // every step of both runs, to read what was compared
    for (size_t i = 0; i < n; ++i) {
      const Entry* k = i < klog.size() ? &klog[i] : nullptr;
      const Entry* s = i < slog.size() ? &slog[i] : nullptr;
      printf("%3zu %-70s linux %-22s skiff %s\n", i, (k ? k->what : s->what).c_str(), k ? describe(*k).c_str() : "-",
             s ? describe(*s).c_str() : "-");
    }
  }
  int mismatches = 0;
  for (size_t i = 0; i < n; ++i) {
    const Entry* k = i < klog.size() ? &klog[i] : nullptr;
    const Entry* s = i < slog.size() ? &slog[i] : nullptr;
    if (k && s && k->what == s->what && k->rc == s->rc && k->err == s->err) continue;
    ++mismatches;
    ADD_FAILURE() << "step " << i << ": " << (k ? k->what : s->what)
                  << "\n  linux: " << (k ? describe(*k) : "-")
                  << (k && s && k->what != s->what ? " [" + k->what + "]" : "")
                  << "\n  skiff: " << (s ? describe(*s) : "-")
                  << (k && s && k->what != s->what ? " [" + s->what + "]" : "");
    if (mismatches > 20) break;
  }
}

}  // namespace skiff::test::sock

// One differential scenario: DIFF(Name) { ... uses `Side& s` ... }
#define SKIFF_DIFF_IMPL(suite, name, root)               \
  static void diff_##name(::skiff::test::sock::Side& s); \
  TEST(suite, name) {                                    \
    ::skiff::test::sock::run_diff(diff_##name, root);    \
  }                                                      \
  static void diff_##name(::skiff::test::sock::Side& s)
#define DIFF(name) SKIFF_DIFF_IMPL(ErrnoDiff, name, false)
#define DIFF_ROOT(name) SKIFF_DIFF_IMPL(ErrnoDiff, name, true)
