// The C API: the calls of Linux's sys_socketcall, close/read/write/readv/writev/fcntl/ioctl, and epoll,
// on Skiff descriptors. Each call finds the socket (sockfd_lookup), dispatches through its ProtoOps
// (which reach the transport's Proto), turns a negative errno into -1 + errno, and implements blocking
// by running the shard's poll loop until the socket is ready.

#include <fcntl.h>
#include <linux/net.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstring>
#include <vector>

#include "api/skiff.h"
#include "inet/inet.hh"
#include "sock/epoll.hh"
#include "stack/shard.hh"
#include "udp/udp.hh"

using namespace skiff;

namespace {

template <class T>
T fail(int neg_errno) {
  errno = -neg_errno;
  return static_cast<T>(-1);
}

template <class T>
T ret(T v) {
  if (v < 0) return fail<T>(static_cast<int>(v));
  return v;
}

// Looks up a socket descriptor on the calling shard.
Socket* lookup(int fd, int* err) {
  Shard* sh = this_shard();
  if (!sh) {
    *err = -EBADF;
    return nullptr;
  }
  return sh->socks.fds.socket(fd, err);
}

bool nonblocking(const Socket* s, int flags) { return s->nonblock || (flags & MSG_DONTWAIT); }

// move_addr_to_kernel: an address the caller passes in. Longer than sockaddr_storage (or negative) is EINVAL;
// a null pointer with a length is EFAULT; length 0 gives a zeroed address (the protocol rejects it).
int copy_addr_in(const sockaddr* addr, socklen_t len, sockaddr_storage* out) {
  if (len > sizeof(sockaddr_storage)) return -EINVAL;
  *out = sockaddr_storage{};
  if (len) {
    if (!addr) return -EFAULT;
    memcpy(out, addr, len);
  }
  return 0;
}

// move_addr_to_user: copies min(*len, klen) bytes out and reports klen (negative *len: EINVAL).
int copy_addr_out(const sockaddr_storage& k, socklen_t klen, sockaddr* addr, socklen_t* len) {
  if (!len) return -EFAULT;
  int ulen = static_cast<int>(*len);
  if (ulen > static_cast<int>(klen)) ulen = static_cast<int>(klen);
  if (ulen < 0) return -EINVAL;
  if (ulen) {
    if (!addr) return -EFAULT;
    memcpy(addr, &k, static_cast<size_t>(ulen));
  }
  *len = klen;
  return 0;
}

size_t iov_total(const iovec* iov, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

// When a blocking call that starts now gives up: SO_RCVTIMEO/SO_SNDTIMEO's `timeout_ns` (0: never; below 0:
// at once, as Linux's 0-jiffy timeout from a negative setting). One deadline per call, however often it waits.
Instant deadline_of(Socket* sock, int64_t timeout_ns) {
  Shard& sh = *sock->sk->shard;
  if (timeout_ns == 0) return Instant::max();
  return timeout_ns < 0 ? sh.now() : sh.now() + Duration(timeout_ns);
}

// Runs the shard until `ready()` (wait_ready: `sock` polls ready for `mask`, or an error/hang-up), the deadline
// passes (EAGAIN, as Linux reports an expired SO_RCVTIMEO/SO_SNDTIMEO), a stop is requested (EINTR) or the
// descriptor is closed (EBADF). The shard runs at least once before readiness counts: the caller has just been told
// EAGAIN, so what poll shows now (an error-queue entry's EPOLLERR, say) did not let it make progress, and returning
// at once would spin without the stack ever running or the deadline ever passing.
template <class Ready>
int wait_for(Socket* sock, Instant deadline, Ready&& ready) {
  Shard& sh = *sock->sk->shard;
  if (sh.socks.in_dispatch()) return -EAGAIN;  // inside an event callback: cannot wait
  const int fd = sock->fd;
  const uint32_t gen = sh.socks.fds.gen(fd);
  for (bool pumped = false;; pumped = true) {
    int err = 0;
    // Closed meanwhile, perhaps reopened in the same slot by an event callback (same fd, same Socket).
    if (sh.socks.fds.socket(fd, &err) != sock || !sock->sk || sh.socks.fds.gen(fd) != gen) return -EBADF;
    if (pumped && ready()) return 0;
    if (stop_requested()) return -EINTR;
    if (sh.now() >= deadline) return -EAGAIN;
    sh.pump();
  }
}

int wait_ready(Socket* sock, uint32_t mask, Instant deadline) {
  return wait_for(sock, deadline, [&] { return sock->ops->poll(sock) & (mask | EPOLLERR | EPOLLHUP); });
}

// The part of m's iovecs after its first `skip` bytes, into `out` (cleared first).
void iov_after(const msghdr& m, size_t skip, std::vector<iovec>& out) {
  out.clear();
  for (size_t i = 0; i < m.msg_iovlen; ++i) {
    const iovec& v = m.msg_iov[i];
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    out.push_back({static_cast<uint8_t*>(v.iov_base) + skip, v.iov_len - skip});
    skip = 0;
  }
}

size_t iov_total(const msghdr& m);
ssize_t send_all(Socket* sock, const msghdr& m, int flags, size_t done, Instant deadline);

// A blocking write whose first `done` bytes went with a connect (do_sendmsg): it waits for the connection as
// connect() would (EINPROGRESS if that takes longer than SO_SNDTIMEO, as Linux's), then sends the rest as
// any blocking write. The first call after the wait keeps MSG_FASTOPEN, so the socket is found connected
// (a later MSG_FASTOPEN or connect() gets EISCONN) or the failed connect is reported (and the socket
// disconnected) as on Linux, also when all of it went in the SYN.
ssize_t send_rest(Socket* sock, const msghdr& m, int flags, size_t done, Instant deadline) {
  if (const int w = wait_ready(sock, EPOLLOUT, deadline)) {
    return done ? static_cast<ssize_t>(done) : w == -EAGAIN ? -EINPROGRESS : w;
  }
  std::vector<iovec> rest;  // (a connect's control path, not a packet's)
  iov_after(m, done, rest);
  msghdr r = m;
  r.msg_iov = rest.data();
  r.msg_iovlen = rest.size();
  r.msg_name = nullptr;
  r.msg_namelen = 0;
  for (bool first = true;; first = false) {
    const ssize_t k = sock->ops->sendmsg(sock, &r, first ? flags : flags & ~MSG_FASTOPEN);
    if (k >= 0) {
      // Connected: a stream write queues all of it (send_all), as any blocking write.
      done += static_cast<size_t>(k);
      return done < iov_total(m) && sock->type == SOCK_STREAM ? send_all(sock, m, flags & ~MSG_FASTOPEN, done, deadline)
                                                               : static_cast<ssize_t>(done);
    }
    if (k != -EAGAIN) return k;  // (the connection failed: its error, as Linux)
    if (const int w = wait_ready(sock, EPOLLOUT, deadline)) return done ? static_cast<ssize_t>(done) : w;
  }
}

size_t iov_total(const msghdr& m) {
  size_t n = 0;
  for (size_t i = 0; i < m.msg_iovlen; ++i) n += m.msg_iov[i].iov_len;
  return n;
}

// A blocking stream write that queued only `done` bytes (the send buffer filled): it waits for room and
// queues the rest, as Linux's tcp_sendmsg_locked (sk_stream_wait_memory) does, until all of it is queued.
// SO_SNDTIMEO running out, a signal (stop request) or an error ends it with the count queued so far.
ssize_t send_all(Socket* sock, const msghdr& m, int flags, size_t done, Instant deadline) {
  std::vector<iovec> rest;  // (a blocking write's slow path, not a packet's)
  rest.reserve(m.msg_iovlen);
  msghdr r = m;
  r.msg_name = nullptr;
  r.msg_namelen = 0;
  r.msg_control = nullptr;
  r.msg_controllen = 0;
  const size_t want = iov_total(m);
  while (done < want) {
    if (wait_ready(sock, EPOLLOUT, deadline)) break;
    // The connection failed while waiting: the count, and the error stays for SO_ERROR and the next call
    // (Linux's sk_stream_wait_memory: do_error returns what was copied, sk_err untouched).
    if (sock->sk->err || (sock->sk->shutdown & kSendShutdown)) break;
    iov_after(m, done, rest);
    r.msg_iov = rest.data();
    r.msg_iovlen = rest.size();
    const ssize_t k = sock->ops->sendmsg(sock, &r, flags);
    if (k == -EAGAIN) continue;
    if (k <= 0) break;  // an error after some was queued: the count (Linux's do_error: copied)
    done += static_cast<size_t>(k);
  }
  return static_cast<ssize_t>(done);
}

ssize_t do_sendmsg(int fd, const msghdr* msg, int flags) {
  int err = 0;
  Socket* sock = lookup(fd, &err);
  if (!sock) return err;
  if (!msg || (msg->msg_iovlen && !msg->msg_iov)) return -EFAULT;
  if (static_cast<int>(msg->msg_namelen) < 0 && msg->msg_name) return -EINVAL;
  if (msg->msg_iovlen > IOV_MAX) return -EMSGSIZE;
  msghdr m = *msg;  // __copy_msghdr: no name means length 0; at most a sockaddr_storage
  if (!m.msg_name) m.msg_namelen = 0;
  if (m.msg_namelen > sizeof(sockaddr_storage)) m.msg_namelen = sizeof(sockaddr_storage);
  if (sock->nonblock) flags |= MSG_DONTWAIT;  // as sock_sendmsg sees an O_NONBLOCK file
  const Instant deadline = deadline_of(sock, sock->sk->sndtimeo_ns);
  for (;;) {
    const ssize_t n = sock->ops->sendmsg(sock, &m, flags);
    if (n == kErrAgainNoWait) return -EAGAIN;  // (no port to bind to: Linux's inet_send_prepare does not wait)
    if ((n == -EINPROGRESS || n >= 0) && sock->state == SocketState::Connecting && !nonblocking(sock, flags))
        [[unlikely]] {
      // A write that connects (TCP Fast Open: MSG_FASTOPEN, or the first after a connect() that
      // TCP_FASTOPEN_CONNECT deferred) answers what its SYN took, or EINPROGRESS; a blocking one waits for
      // the connection, as connect() would, and sends the rest (Linux's tcp_sendmsg_fastopen).
      return send_rest(sock, m, flags, n > 0 ? static_cast<size_t>(n) : 0, deadline);
    }
    if (n > 0 && sock->type == SOCK_STREAM && !nonblocking(sock, flags)) [[unlikely]] {
      if (const size_t want = iov_total(m); static_cast<size_t>(n) < want) return send_all(sock, m, flags, static_cast<size_t>(n), deadline);
    }
    if (n != -EAGAIN || nonblocking(sock, flags)) return n;
    const int w = wait_ready(sock, EPOLLOUT, deadline);
    if (w) return w;
  }
}

// A blocking read on a stream socket, as Linux's tcp_recvmsg_locked: it returns once `target` bytes are
// read (all that was asked with MSG_WAITALL, else SO_RCVLOWAT's mark, at most the length asked), at the
// end of the stream, on an error (after data: the count, the error kept for the next call), or when
// SO_RCVTIMEO's one deadline for the whole call passes or a stop comes (the count so far, else EAGAIN or
// EINTR). With MSG_PEEK it waits until that many bytes are queued and peeks once.
ssize_t recv_stream_blocking(Socket* sock, msghdr* msg, int flags, Instant deadline) {
  const size_t want = iov_total(*msg);
  const size_t target =
      (flags & MSG_WAITALL) ? want : std::min<size_t>(static_cast<size_t>(std::max(sock->sk->rcvlowat, 1)), want);
  const socklen_t namelen = msg->msg_namelen;
  const size_t controllen = msg->msg_controllen;
  auto queued = [&] {
    int q = 0;
    return sock->ops->ioctl(sock, SIOCINQ, &q) == 0 ? static_cast<size_t>(std::max(q, 0)) : size_t{0};
  };
  auto ended = [&] { return (sock->ops->poll(sock) & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0; };
  const bool peek = flags & MSG_PEEK;
  size_t got = 0;
  std::vector<iovec> rest;
  for (;;) {
    // After data, an error stays for the next call (Linux's tcp_recvmsg breaks on sk_err once it copied).
    if (got && (sock->ops->poll(sock) & EPOLLERR)) return static_cast<ssize_t>(got);
    if (peek && queued() < target && !ended()) {
      // (A socket with nothing to wait for, a listener say, answers at once.)
      msghdr probe = *msg;
      if (const ssize_t n = sock->ops->recvmsg(sock, &probe, flags | MSG_DONTWAIT); n != -EAGAIN && n <= 0) return n;
      const int w = wait_for(sock, deadline, [&] { return queued() >= target || ended(); });
      if (w == -EBADF) return w;
      if (w) {
        // Out of time (or stopped): what is queued, peeked, else the reason.
        msg->msg_namelen = namelen;
        const ssize_t n = sock->ops->recvmsg(sock, msg, flags | MSG_DONTWAIT);
        return n == -EAGAIN ? w : n;
      }
      continue;
    }
    msghdr m = *msg;
    m.msg_namelen = namelen;
    m.msg_controllen = controllen;
    if (got) {
      iov_after(*msg, got, rest);
      m.msg_iov = rest.data();
      m.msg_iovlen = rest.size();
    }
    const ssize_t n = sock->ops->recvmsg(sock, &m, flags | MSG_DONTWAIT);
    if (n >= 0 || !got) {
      // What the call reports besides the bytes goes back to the caller's msghdr, as each recvmsg does.
      msg->msg_flags = m.msg_flags;
      msg->msg_controllen = m.msg_controllen;
      msg->msg_namelen = m.msg_namelen;
    }
    if (peek) return n;  // (enough queued, or the stream ended: one peek)
    if (n == 0) return static_cast<ssize_t>(got);  // end of stream
    if (n > 0) {
      got += static_cast<size_t>(n);
      if (got >= target) return static_cast<ssize_t>(got);
      continue;
    }
    if (n != -EAGAIN) return got ? static_cast<ssize_t>(got) : n;
    const int w = wait_for(sock, deadline, [&] { return queued() > 0 || ended(); });
    if (w) return got ? static_cast<ssize_t>(got) : w;
  }
}

ssize_t do_recvmsg(int fd, msghdr* msg, int flags) {
  int err = 0;
  Socket* sock = lookup(fd, &err);
  if (!sock) return err;
  if (!msg || (msg->msg_iovlen && !msg->msg_iov)) return -EFAULT;
  if (static_cast<int>(msg->msg_namelen) < 0 && msg->msg_name) return -EINVAL;
  if (msg->msg_iovlen > IOV_MAX) return -EMSGSIZE;
  if (sock->nonblock) flags |= MSG_DONTWAIT;  // as sock_recvmsg sees an O_NONBLOCK file
  const socklen_t namelen = msg->msg_namelen;
  const Instant deadline = deadline_of(sock, sock->sk->rcvtimeo_ns);
  if (sock->type == SOCK_STREAM && !nonblocking(sock, flags) && !(flags & (MSG_ERRQUEUE | MSG_OOB)))
    return recv_stream_blocking(sock, msg, flags, deadline);
  for (;;) {
    msg->msg_namelen = namelen;  // (left as the caller set it when there is no msg_name, as Linux does)
    const ssize_t n = sock->ops->recvmsg(sock, msg, flags);
    // An empty error queue is EAGAIN at once, blocking or not (Linux's ip_recv_error never waits).
    if (n != -EAGAIN || nonblocking(sock, flags) || (flags & MSG_ERRQUEUE)) return n;
    const int w = wait_ready(sock, EPOLLIN, deadline);
    if (w) return w;
  }
}

int do_accept(int fd, sockaddr* addr, socklen_t* len, int flags) {
  int err = 0;
  Socket* sock = lookup(fd, &err);
  if (!sock) return err;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  Shard& sh = *sock->sk->shard;
  const int nfd = sh.socks.fds.alloc(FdKind::Socket);
  if (nfd < 0) return nfd;
  Socket* ns = &sh.socks.fds.entry(nfd)->socket;
  ns->fd = nfd;
  ns->type = sock->type;
  ns->ops = sock->ops;
  ns->nonblock = flags & SOCK_NONBLOCK;
  ns->cloexec = flags & SOCK_CLOEXEC;
  const Instant deadline = deadline_of(sock, sock->sk->rcvtimeo_ns);
  for (;;) {
    const int r = sock->ops->accept(sock, ns, flags);
    if (r == 0) break;
    if (r != -EAGAIN || sock->nonblock) {
      sh.socks.fds.release(nfd);
      return r;
    }
    const int w = wait_ready(sock, EPOLLIN, deadline);
    if (w) {
      sh.socks.fds.release(nfd);
      return w;
    }
  }
  if (addr) {
    sockaddr_storage k{};
    socklen_t klen = sizeof k;
    int r = ns->ops->getname(ns, reinterpret_cast<sockaddr*>(&k), &klen, 2);
    if (r) r = -ECONNABORTED;  // the connection went away already: Linux returns ECONNABORTED
    if (!r) r = copy_addr_out(k, klen, addr, len);
    if (r) {
      ns->ops->release(ns);
      sh.socks.fds.release(nfd);
      return r;
    }
  }
  return nfd;
}

}  // namespace

extern "C" {

int skiff_socket(int domain, int type, int protocol) {
  Shard* sh = this_shard();
  if (!sh) return fail<int>(-ENXIO);
  // __sys_socket_create / __sock_create: stray flag bits, then the family's range, then the type's range
  // (so socket(12345, 15, 0) is EAFNOSUPPORT but socket(AF_INET, 15, 0) is EINVAL); inet_create does the rest.
  constexpr int kTypeMask = 0xf;  // SOCK_TYPE_MASK
  constexpr int kSockMax = SOCK_PACKET + 1;
  const int flags = type & ~kTypeMask;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return fail<int>(-EINVAL);
  if (domain < 0 || domain >= AF_MAX) return fail<int>(-EAFNOSUPPORT);
  const int base = type & kTypeMask;
  if (base >= kSockMax) return fail<int>(-EINVAL);
  const int fd = sh->socks.fds.alloc(FdKind::Socket);
  if (fd < 0) return fail<int>(fd);
  Socket* s = &sh->socks.fds.entry(fd)->socket;
  s->fd = fd;
  s->nonblock = flags & SOCK_NONBLOCK;
  s->cloexec = flags & SOCK_CLOEXEC;
  const int err = inet_create(*sh, domain, base, protocol, s);
  if (err) {
    sh->socks.fds.release(fd);
    return fail<int>(err);
  }
  return fd;
}

int skiff_socketpair(int domain, int type, int protocol, int sv[2]) {
  // socketpair belongs to AF_UNIX. As Linux does, create a socket of the asked kind (so a bad domain, type
  // or protocol gets its own errno), then let its ops refuse: inet sockets answer EOPNOTSUPP.
  if (!sv) return fail<int>(-EFAULT);
  const int fd = skiff_socket(domain, type, protocol);
  if (fd < 0) return -1;
  int err = 0;
  Socket* s = lookup(fd, &err);
  const int r = s->ops->socketpair(s, s);
  skiff_close(fd);
  return fail<int>(r ? r : -EOPNOTSUPP);
}

int skiff_bind(int fd, const sockaddr* addr, socklen_t len) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  sockaddr_storage k;
  if (const int e = copy_addr_in(addr, len, &k)) return fail<int>(e);
  return ret(s->ops->bind(s, reinterpret_cast<const sockaddr*>(&k), len));
}

int skiff_connect(int fd, const sockaddr* addr, socklen_t len) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  sockaddr_storage k;
  if (const int e = copy_addr_in(addr, len, &k)) return fail<int>(e);
  addr = reinterpret_cast<const sockaddr*>(&k);
  int r = s->ops->connect(s, addr, len, s->nonblock ? O_NONBLOCK : 0);
  if (r == -EINPROGRESS && !s->nonblock) {
    // A blocking connect waits for the handshake (then reports its outcome through SO_ERROR semantics).
    const int w = wait_ready(s, EPOLLOUT, deadline_of(s, s->sk->sndtimeo_ns));
    if (w) return fail<int>(w == -EAGAIN ? -EINPROGRESS : w);
    r = s->ops->connect(s, addr, len, O_NONBLOCK);
    if (r == -EISCONN) r = 0;
  }
  return ret(r);
}

int skiff_listen(int fd, int backlog) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  const int max = static_cast<int>(s->sk->shard->cfg.sock.somaxconn);
  if (backlog < 0 || backlog > max) backlog = max;  // Linux clamps to somaxconn (negative too)
  return ret(s->ops->listen(s, backlog));
}

int skiff_accept(int fd, sockaddr* addr, socklen_t* len) { return ret(do_accept(fd, addr, len, 0)); }
int skiff_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) { return ret(do_accept(fd, addr, len, flags)); }

namespace {
int do_getname(int fd, sockaddr* addr, socklen_t* len, bool peer) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return err;
  sockaddr_storage k{};
  socklen_t klen = sizeof k;
  const int r = s->ops->getname(s, reinterpret_cast<sockaddr*>(&k), &klen, peer);
  if (r) return r;
  return copy_addr_out(k, klen, addr, len);
}
}  // namespace

int skiff_getsockname(int fd, sockaddr* addr, socklen_t* len) { return ret(do_getname(fd, addr, len, false)); }
int skiff_getpeername(int fd, sockaddr* addr, socklen_t* len) { return ret(do_getname(fd, addr, len, true)); }

ssize_t skiff_sendmsg(int fd, const msghdr* msg, int flags) { return ret(do_sendmsg(fd, msg, flags)); }

ssize_t skiff_recvmsg(int fd, msghdr* msg, int flags) {
  return ret(do_recvmsg(fd, msg, flags));
}

ssize_t skiff_send(int fd, const void* buf, size_t len, int flags) {
  iovec iov{const_cast<void*>(buf), len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  return skiff_sendmsg(fd, &m, flags);
}

ssize_t skiff_recv(int fd, void* buf, size_t len, int flags) {
  iovec iov{buf, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  return skiff_recvmsg(fd, &m, flags);
}

ssize_t skiff_sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t tolen) {
  iovec iov{const_cast<void*>(buf), len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  sockaddr_storage k;
  if (to) {
    int err = 0;
    if (!lookup(fd, &err)) return fail<ssize_t>(err);
    if (const int e = copy_addr_in(to, tolen, &k)) return fail<ssize_t>(e);
    m.msg_name = &k;
    m.msg_namelen = tolen;
  }
  return skiff_sendmsg(fd, &m, flags);
}

ssize_t skiff_recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) {
  iovec iov{buf, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = from && fromlen ? from : nullptr;
  m.msg_namelen = from && fromlen ? *fromlen : 0;
  // Linux's __sys_recvfrom reads the address length only after receiving (move_addr_to_user): a negative
  // one costs the datagram and returns EINVAL (recvmsg refuses a negative msg_namelen before receiving).
  sockaddr_in scratch{};
  const bool bad_len = m.msg_name && static_cast<int>(m.msg_namelen) < 0;
  if (bad_len) {
    m.msg_name = &scratch;
    m.msg_namelen = sizeof scratch;
  }
  const ssize_t n = skiff_recvmsg(fd, &m, flags);
  if (n >= 0 && bad_len) return fail<ssize_t>(-EINVAL);
  if (n >= 0 && from && fromlen) *fromlen = m.msg_namelen;
  return n;
}

int skiff_sendmmsg(int fd, mmsghdr* msgs, unsigned int vlen, int flags) {
  int err = 0;
  if (!lookup(fd, &err)) return fail<int>(err);
  if (vlen > UIO_MAXIOV) vlen = UIO_MAXIOV;
  unsigned i = 0;
  for (; i < vlen; ++i) {
    const ssize_t n = do_sendmsg(fd, &msgs[i].msg_hdr, flags);
    if (n < 0) {
      if (i == 0) return fail<int>(static_cast<int>(n));
      break;  // Linux returns the count sent; the error shows on the next call
    }
    msgs[i].msg_len = static_cast<unsigned>(n);
  }
  return static_cast<int>(i);
}

int skiff_recvmmsg(int fd, mmsghdr* msgs, unsigned int vlen, int flags, timespec* timeout) {
  if (vlen > UIO_MAXIOV) vlen = UIO_MAXIOV;
  if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000))
    return fail<int>(-EINVAL);
  int err = 0;
  Socket* sock = lookup(fd, &err);
  if (!sock) return fail<int>(err);
  // do_recvmmsg reports a pending error (SO_ERROR) before looking at the queue.
  if (!(flags & MSG_ERRQUEUE) && sock->sk->err) return fail<int>(-std::exchange(sock->sk->err, 0));
  Shard* sh = this_shard();
  const Instant deadline =
      timeout && sh ? sh->now() + Duration(int64_t{timeout->tv_sec} * 1'000'000'000 + timeout->tv_nsec)
                    : Instant::max();
  Instant last_at{};  // when the last datagram was taken (the time left is reckoned from there)
  unsigned i = 0;
  for (; i < vlen; ++i) {
    int f = flags & ~MSG_WAITFORONE;
    if ((flags & MSG_WAITFORONE) && i > 0) f |= MSG_DONTWAIT;
    const ssize_t n = do_recvmsg(fd, &msgs[i].msg_hdr, f);
    if (n < 0) {
      if (i == 0) return fail<int>(static_cast<int>(n));
      // What was received is returned; the error waits for the next call (do_recvmmsg puts it in sk_err).
      // (A callback run while waiting may have closed the descriptor: then there is nobody to tell.)
      int lerr = 0;
      if (n != -EAGAIN && lookup(fd, &lerr) == sock && sock->sk) sock->sk->err = static_cast<int>(-n);
      break;
    }
    msgs[i].msg_len = static_cast<unsigned>(n);
    if (sh) last_at = sh->now();
    if (sh && sh->now() >= deadline) {
      ++i;
      break;
    }
  }
  // Linux's do_recvmmsg hands back the time left after the last datagram (0 once it ran out) when it
  // returns datagrams (a wait after it that brought nothing does not count).
  if (timeout && sh && i > 0) {
    const int64_t left = std::max<int64_t>((deadline - last_at).count(), 0);
    timeout->tv_sec = static_cast<time_t>(left / 1'000'000'000);
    timeout->tv_nsec = static_cast<long>(left % 1'000'000'000);
  }
  return static_cast<int>(i);
}

int skiff_shutdown(int fd, int how) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  return ret(s->ops->shutdown(s, how));
}

int skiff_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  if (optlen > INT_MAX) return fail<int>(-EINVAL);
  if (optlen && !optval) return fail<int>(-EFAULT);
  return ret(s->ops->setsockopt(s, level, optname, optval, optlen));
}

int skiff_getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  if (!optlen || (*optlen && !optval)) return fail<int>(-EFAULT);
  if (*optlen > INT_MAX) return fail<int>(-EINVAL);  // Linux reads a negative int
  return ret(s->ops->getsockopt(s, level, optname, optval, optlen));
}

int skiff_close(int fd) {
  Shard* sh = this_shard();
  if (!sh) return fail<int>(-EBADF);
  FdEntry* e = sh->socks.fds.entry(fd);
  if (!e) return fail<int>(-EBADF);
  if (e->kind == FdKind::Socket) {
    if (e->socket.ops) e->socket.ops->release(&e->socket);
  } else {
    delete e->epoll;
  }
  sh->socks.fds.release(fd);
  return 0;
}

namespace {
// The vfs checks of read/write/readv/writev: a bad descriptor is EBADF, an epoll descriptor (no read or
// write) EINVAL.
int rw_check(int fd) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(fd) : nullptr;
  if (!e) return -EBADF;
  if (e->kind == FdKind::Epoll) return -EINVAL;
  return 0;
}
}  // namespace

ssize_t skiff_read(int fd, void* buf, size_t len) {
  if (const int e = rw_check(fd)) return fail<ssize_t>(e);
  if (len == 0) return 0;  // sock_read_iter: a zero-length read returns 0 and consumes nothing
  return skiff_recv(fd, buf, len, 0);
}

ssize_t skiff_write(int fd, const void* buf, size_t len) {
  if (const int e = rw_check(fd)) return fail<ssize_t>(e);
  return skiff_send(fd, buf, len, 0);  // (a zero-length write sends an empty datagram, as Linux)
}

ssize_t skiff_readv(int fd, const iovec* iov, int iovcnt) {
  if (const int e = rw_check(fd)) return fail<ssize_t>(e);
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail<ssize_t>(-EINVAL);
  if (iovcnt && !iov) return fail<ssize_t>(-EFAULT);
  if (iov_total(iov, static_cast<size_t>(iovcnt)) == 0) return 0;  // vfs_readv: nothing to read
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<size_t>(iovcnt);
  return skiff_recvmsg(fd, &m, 0);
}

ssize_t skiff_writev(int fd, const iovec* iov, int iovcnt) {
  if (const int e = rw_check(fd)) return fail<ssize_t>(e);
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail<ssize_t>(-EINVAL);
  if (iovcnt && !iov) return fail<ssize_t>(-EFAULT);
  if (iov_total(iov, static_cast<size_t>(iovcnt)) == 0) return 0;  // vfs_writev: nothing sent
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<size_t>(iovcnt);
  return skiff_sendmsg(fd, &m, 0);
}

int skiff_fcntl(int fd, int cmd, ...) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(fd) : nullptr;
  if (!e) return fail<int>(-EBADF);
  va_list ap;
  va_start(ap, cmd);
  const int arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, int) : 0;
  va_end(ap);
  if (e->kind != FdKind::Socket) {
    switch (cmd) {
      case F_GETFL: return O_RDWR | (e->nonblock ? O_NONBLOCK : 0);
      case F_SETFL: e->nonblock = arg & O_NONBLOCK; return 0;
      case F_GETFD: return e->cloexec ? FD_CLOEXEC : 0;
      case F_SETFD: e->cloexec = arg & FD_CLOEXEC; return 0;
      default: return fail<int>(-EINVAL);
    }
  }
  Socket* s = &e->socket;
  switch (cmd) {
    case F_GETFL: return O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
    case F_SETFL: s->nonblock = arg & O_NONBLOCK; return 0;
    case F_GETFD: return s->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD: s->cloexec = arg & FD_CLOEXEC; return 0;
    default: return fail<int>(-EINVAL);
  }
}

int skiff_ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(fd) : nullptr;
  if (!e) return fail<int>(-EBADF);
  // do_vfs_ioctl's generic requests, for any descriptor.
  const bool is_sock = e->kind == FdKind::Socket;
  switch (request) {
    case FIOCLEX:
    case FIONCLEX:
      (is_sock ? e->socket.cloexec : e->cloexec) = request == FIOCLEX;
      return 0;
    case FIONBIO:
      if (!arg) return fail<int>(-EFAULT);
      (is_sock ? e->socket.nonblock : e->nonblock) = *static_cast<int*>(arg) != 0;
      return 0;
    default: break;
  }
  if (!is_sock) return fail<int>(-EINVAL);  // the epoll file's ioctl knows only its own requests
  Socket* s = &e->socket;
  const int r = s->ops->ioctl(s, request, arg);
  if (r == -kNoIoctlCmd) return fail<int>(-ENOTTY);
  return ret(r);
}

long skiff_socketcall(int call, unsigned long* a) {
  if (!a) return fail<long>(-EFAULT);
  auto p = [&](int i) { return reinterpret_cast<void*>(a[i]); };
  auto i = [&](int k) { return static_cast<int>(a[k]); };
  switch (call) {
    case SYS_SOCKET: return skiff_socket(i(0), i(1), i(2));
    case SYS_BIND: return skiff_bind(i(0), static_cast<sockaddr*>(p(1)), static_cast<socklen_t>(a[2]));
    case SYS_CONNECT: return skiff_connect(i(0), static_cast<sockaddr*>(p(1)), static_cast<socklen_t>(a[2]));
    case SYS_LISTEN: return skiff_listen(i(0), i(1));
    case SYS_ACCEPT: return skiff_accept(i(0), static_cast<sockaddr*>(p(1)), static_cast<socklen_t*>(p(2)));
    case SYS_GETSOCKNAME:
      return skiff_getsockname(i(0), static_cast<sockaddr*>(p(1)), static_cast<socklen_t*>(p(2)));
    case SYS_GETPEERNAME:
      return skiff_getpeername(i(0), static_cast<sockaddr*>(p(1)), static_cast<socklen_t*>(p(2)));
    case SYS_SOCKETPAIR: return skiff_socketpair(i(0), i(1), i(2), static_cast<int*>(p(3)));
    case SYS_SEND: return skiff_send(i(0), p(1), a[2], i(3));
    case SYS_RECV: return skiff_recv(i(0), p(1), a[2], i(3));
    case SYS_SENDTO:
      return skiff_sendto(i(0), p(1), a[2], i(3), static_cast<sockaddr*>(p(4)), static_cast<socklen_t>(a[5]));
    case SYS_RECVFROM:
      return skiff_recvfrom(i(0), p(1), a[2], i(3), static_cast<sockaddr*>(p(4)), static_cast<socklen_t*>(p(5)));
    case SYS_SHUTDOWN: return skiff_shutdown(i(0), i(1));
    case SYS_SETSOCKOPT: return skiff_setsockopt(i(0), i(1), i(2), p(3), static_cast<socklen_t>(a[4]));
    case SYS_GETSOCKOPT: return skiff_getsockopt(i(0), i(1), i(2), p(3), static_cast<socklen_t*>(p(4)));
    case SYS_SENDMSG: return skiff_sendmsg(i(0), static_cast<msghdr*>(p(1)), i(2));
    case SYS_RECVMSG: return skiff_recvmsg(i(0), static_cast<msghdr*>(p(1)), i(2));
    case SYS_ACCEPT4:
      return skiff_accept4(i(0), static_cast<sockaddr*>(p(1)), static_cast<socklen_t*>(p(2)), i(3));
    case SYS_RECVMMSG:
      return skiff_recvmmsg(i(0), static_cast<mmsghdr*>(p(1)), static_cast<unsigned>(a[2]), i(3),
                            static_cast<timespec*>(p(4)));
    case SYS_SENDMMSG: return skiff_sendmmsg(i(0), static_cast<mmsghdr*>(p(1)), static_cast<unsigned>(a[2]), i(3));
    default: return fail<long>(-EINVAL);
  }
}

int skiff_epoll_create1(int flags) {
  Shard* sh = this_shard();
  if (!sh) return fail<int>(-ENXIO);
  if (flags & ~EPOLL_CLOEXEC) return fail<int>(-EINVAL);
  const int fd = sh->socks.fds.alloc(FdKind::Epoll);
  if (fd < 0) return fail<int>(fd);
  sh->socks.fds.entry(fd)->epoll = new Epoll();
  sh->socks.fds.entry(fd)->cloexec = flags & EPOLL_CLOEXEC;
  return fd;
}

int skiff_epoll_create(int size) {
  if (size <= 0) return fail<int>(-EINVAL);
  return skiff_epoll_create1(0);
}

int skiff_epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  // In Linux's order (epoll_ctl, do_epoll_ctl): the event is read first, then the descriptors.
  const bool has_event = op != EPOLL_CTL_DEL;  // ep_op_has_event: an unknown op reads its event too
  if (has_event && !event) return fail<int>(-EFAULT);
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(epfd) : nullptr;
  if (!e) return fail<int>(-EBADF);
  FdEntry* t = sh->socks.fds.entry(fd);
  if (!t) return fail<int>(-EBADF);
  if (t->kind != FdKind::Socket && t->kind != FdKind::Epoll) return fail<int>(-EPERM);  // cannot be polled
  if (e->kind != FdKind::Epoll || epfd == fd) return fail<int>(-EINVAL);
  // EPOLLEXCLUSIVE (one waiter woken: every waiter of a shard is its one thread, so it changes nothing here)
  // is checked as Linux does: only at ADD, only with the bits it allows, not on an epoll set.
  constexpr uint32_t kExclusiveOk = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
  if (has_event && (event->events & EPOLLEXCLUSIVE) &&
      (op == EPOLL_CTL_MOD || t->kind == FdKind::Epoll || (event->events & ~kExclusiveOk)))
    return fail<int>(-EINVAL);
  if (t->kind != FdKind::Socket) return fail<int>(-EPERM);  // nesting epoll sets is not supported
  return ret(e->epoll->ctl(op, fd, &t->socket, event));
}

int skiff_epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(epfd) : nullptr;
  if (!e) return fail<int>(-EBADF);  // (the descriptor first, as Linux 6.x; the differential test holds it)
  if (e->kind != FdKind::Epoll) return fail<int>(-EINVAL);
  constexpr int kMaxEvents = static_cast<int>(INT_MAX / sizeof(epoll_event));  // EP_MAX_EVENTS
  if (maxevents <= 0 || maxevents > kMaxEvents) return fail<int>(-EINVAL);
  if (!events) return fail<int>(-EFAULT);
  Epoll* ep = e->epoll;
  int n = ep->harvest(events, maxevents);
  if (n || timeout_ms == 0 || sh->socks.in_dispatch()) return n;
  const Instant deadline = timeout_ms > 0 ? sh->now() + std::chrono::milliseconds(timeout_ms) : Instant::max();
  while (!n) {
    if (stop_requested()) return fail<int>(-EINTR);
    sh->pump();
    // The set may have been closed by a callback while we pumped.
    e = sh->socks.fds.entry(epfd);
    if (!e || e->kind != FdKind::Epoll || e->epoll != ep) return fail<int>(-EBADF);
    n = ep->harvest(events, maxevents);
    if (sh->now() >= deadline) break;
  }
  return n;
}

ssize_t skiff_recv_zc(int fd, skiff_pkt** pkt, const void** data, sockaddr* from, socklen_t* fromlen) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<ssize_t>(err);
  if (!pkt || !data) return fail<ssize_t>(-EFAULT);
  if (s->type != SOCK_DGRAM || s->sk->prot != &udp_prot) return fail<ssize_t>(-EOPNOTSUPP);
  Pktbuf p;
  sockaddr_in sin{};
  int n;
  const Instant deadline = deadline_of(s, s->sk->rcvtimeo_ns);
  for (;;) {
    n = udp_recv_zc(s->sk, &p, &sin);
    if (n != -EAGAIN || s->nonblock) break;
    const int w = wait_ready(s, EPOLLIN, deadline);
    if (w) return fail<ssize_t>(w);
  }
  if (n < 0) return fail<ssize_t>(n);
  if (from && fromlen) {
    memcpy(from, &sin, std::min<size_t>(*fromlen, sizeof sin));
    *fromlen = sizeof sin;
  }
  if (!p) {  // end of stream
    *pkt = nullptr;
    *data = nullptr;
    return 0;
  }
  *data = p.data();
  *pkt = reinterpret_cast<skiff_pkt*>(p.release());
  return n;
}

void skiff_pkt_free(skiff_pkt* pkt) {
  if (pkt) rte_pktmbuf_free(reinterpret_cast<rte_mbuf*>(pkt));
}

}  // extern "C"
