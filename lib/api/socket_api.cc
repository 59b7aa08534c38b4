// The C API: the calls of Linux's sys_socketcall, close/read/write/readv/writev/fcntl/ioctl, and epoll,
// on Skiff descriptors. Each call finds the socket (sockfd_lookup), dispatches through its ProtoOps
// (which reach the transport's Proto), turns a negative errno into -1 + errno, and implements blocking
// by running the shard's poll loop until the socket is ready.

#include <fcntl.h>
#include <linux/net.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstring>

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

// Runs the shard until `sock` polls ready for `mask` (or an error/hang-up), the timeout passes (EAGAIN, as
// Linux reports an expired SO_RCVTIMEO/SO_SNDTIMEO) or a stop is requested (EINTR).
int wait_ready(Socket* sock, uint32_t mask, int64_t timeout_ns) {
  Shard& sh = *sock->sk->shard;
  if (sh.socks.in_dispatch()) return -EAGAIN;  // inside an event callback: cannot wait
  const int fd = sock->fd;
  const Instant deadline = timeout_ns > 0 ? sh.now() + Duration(timeout_ns) : Instant::max();
  for (;;) {
    int err = 0;
    if (sh.socks.fds.socket(fd, &err) != sock || !sock->sk) return -EBADF;  // closed meanwhile
    if (sock->ops->poll(sock) & (mask | EPOLLERR | EPOLLHUP)) return 0;
    if (stop_requested()) return -EINTR;
    if (sh.now() >= deadline) return -EAGAIN;
    sh.pump();
  }
}

ssize_t do_sendmsg(int fd, const msghdr* msg, int flags) {
  int err = 0;
  Socket* sock = lookup(fd, &err);
  if (!sock) return err;
  if (!msg || (msg->msg_iovlen && !msg->msg_iov)) return -EFAULT;
  if (msg->msg_iovlen > IOV_MAX) return -EMSGSIZE;
  for (;;) {
    const ssize_t n = sock->ops->sendmsg(sock, msg, flags);
    if (n != -EAGAIN || nonblocking(sock, flags)) return n;
    const int w = wait_ready(sock, EPOLLOUT, sock->sk->sndtimeo_ns);
    if (w) return w;
  }
}

ssize_t do_recvmsg(int fd, msghdr* msg, int flags) {
  int err = 0;
  Socket* sock = lookup(fd, &err);
  if (!sock) return err;
  if (!msg || (msg->msg_iovlen && !msg->msg_iov)) return -EFAULT;
  if (msg->msg_iovlen > IOV_MAX) return -EMSGSIZE;
  const socklen_t namelen = msg->msg_namelen;
  for (;;) {
    msg->msg_namelen = namelen;
    const ssize_t n = sock->ops->recvmsg(sock, msg, flags);
    if (n != -EAGAIN || nonblocking(sock, flags)) {
      if (n >= 0 && !msg->msg_name) msg->msg_namelen = 0;
      return n;
    }
    const int w = wait_ready(sock, EPOLLIN, sock->sk->rcvtimeo_ns);
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
  for (;;) {
    const int r = sock->ops->accept(sock, ns, flags);
    if (r == 0) break;
    if (r != -EAGAIN || sock->nonblock) {
      sh.socks.fds.release(nfd);
      return r;
    }
    const int w = wait_ready(sock, EPOLLIN, sock->sk->rcvtimeo_ns);
    if (w) {
      sh.socks.fds.release(nfd);
      return w;
    }
  }
  if (addr && len) {
    const int r = ns->ops->getname(ns, addr, len, true);
    if (r) {
      // The connection went away already: Linux returns ECONNABORTED.
      ns->ops->release(ns);
      sh.socks.fds.release(nfd);
      return -ECONNABORTED;
    }
  }
  return nfd;
}

}  // namespace

extern "C" {

int skiff_socket(int domain, int type, int protocol) {
  Shard* sh = this_shard();
  if (!sh) return fail<int>(-ENXIO);
  const int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base < 0 || base >= SOCK_PACKET + 1) return fail<int>(-EINVAL);  // Linux: type >= SOCK_MAX
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
  if (!addr) return fail<int>(-EFAULT);
  return ret(s->ops->bind(s, addr, len));
}

int skiff_connect(int fd, const sockaddr* addr, socklen_t len) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  if (!addr) return fail<int>(-EFAULT);
  int r = s->ops->connect(s, addr, len, s->nonblock ? O_NONBLOCK : 0);
  if (r == -EINPROGRESS && !s->nonblock) {
    // A blocking connect waits for the handshake (then reports its outcome through SO_ERROR semantics).
    const int w = wait_ready(s, EPOLLOUT, s->sk->sndtimeo_ns);
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

int skiff_getsockname(int fd, sockaddr* addr, socklen_t* len) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  if (!addr || !len) return fail<int>(-EFAULT);
  return ret(s->ops->getname(s, addr, len, false));
}

int skiff_getpeername(int fd, sockaddr* addr, socklen_t* len) {
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  if (!addr || !len) return fail<int>(-EFAULT);
  return ret(s->ops->getname(s, addr, len, true));
}

ssize_t skiff_sendmsg(int fd, const msghdr* msg, int flags) { return ret(do_sendmsg(fd, msg, flags)); }

ssize_t skiff_recvmsg(int fd, msghdr* msg, int flags) {
  if (flags & MSG_WAITALL) {
    // Stream sockets fill the whole buffer (or stop at EOF/error); datagram sockets ignore it.
    int err = 0;
    Socket* s = lookup(fd, &err);
    if (!s) return fail<ssize_t>(err);
    if (s->type == SOCK_STREAM && !(flags & MSG_PEEK)) {
      size_t want = 0;
      for (size_t i = 0; i < msg->msg_iovlen; ++i) want += msg->msg_iov[i].iov_len;
      size_t got = 0;
      std::vector<iovec> rest(msg->msg_iov, msg->msg_iov + msg->msg_iovlen);
      while (got < want) {
        msghdr m = *msg;
        // Skip what is already filled.
        size_t skip = got, first = 0;
        while (first < rest.size() && skip >= msg->msg_iov[first].iov_len) skip -= msg->msg_iov[first++].iov_len;
        std::vector<iovec> v(msg->msg_iov + first, msg->msg_iov + msg->msg_iovlen);
        v[0].iov_base = static_cast<uint8_t*>(v[0].iov_base) + skip;
        v[0].iov_len -= skip;
        m.msg_iov = v.data();
        m.msg_iovlen = v.size();
        const ssize_t n = do_recvmsg(fd, &m, flags & ~MSG_WAITALL);
        if (n < 0) return got ? static_cast<ssize_t>(got) : fail<ssize_t>(static_cast<int>(n));
        if (n == 0) break;
        got += static_cast<size_t>(n);
        if (nonblocking(s, flags)) break;
      }
      return static_cast<ssize_t>(got);
    }
  }
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
  m.msg_name = const_cast<sockaddr*>(to);
  m.msg_namelen = to ? tolen : 0;
  return skiff_sendmsg(fd, &m, flags);
}

ssize_t skiff_recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) {
  iovec iov{buf, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = from && fromlen ? from : nullptr;
  m.msg_namelen = from && fromlen ? *fromlen : 0;
  const ssize_t n = skiff_recvmsg(fd, &m, flags);
  if (n >= 0 && from && fromlen) *fromlen = m.msg_namelen;
  return n;
}

int skiff_sendmmsg(int fd, mmsghdr* msgs, unsigned int vlen, int flags) {
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
  Shard* sh = this_shard();
  const Instant deadline =
      timeout && sh ? sh->now() + Duration(int64_t{timeout->tv_sec} * 1'000'000'000 + timeout->tv_nsec)
                    : Instant::max();
  unsigned i = 0;
  for (; i < vlen; ++i) {
    int f = flags & ~MSG_WAITFORONE;
    if ((flags & MSG_WAITFORONE) && i > 0) f |= MSG_DONTWAIT;
    const ssize_t n = do_recvmsg(fd, &msgs[i].msg_hdr, f);
    if (n < 0) {
      if (i == 0) return fail<int>(static_cast<int>(n));
      break;
    }
    msgs[i].msg_len = static_cast<unsigned>(n);
    if (sh && sh->now() >= deadline) {
      ++i;
      break;
    }
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

ssize_t skiff_read(int fd, void* buf, size_t len) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(fd) : nullptr;
  if (e && e->kind == FdKind::Epoll) return fail<ssize_t>(-EINVAL);
  return skiff_recv(fd, buf, len, 0);
}

ssize_t skiff_write(int fd, const void* buf, size_t len) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(fd) : nullptr;
  if (e && e->kind == FdKind::Epoll) return fail<ssize_t>(-EINVAL);
  return skiff_send(fd, buf, len, 0);
}

ssize_t skiff_readv(int fd, const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail<ssize_t>(-EINVAL);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = static_cast<size_t>(iovcnt);
  return skiff_recvmsg(fd, &m, 0);
}

ssize_t skiff_writev(int fd, const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail<ssize_t>(-EINVAL);
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
    if (cmd == F_GETFL) return O_RDWR;
    if (cmd == F_GETFD || cmd == F_SETFD) return 0;
    return fail<int>(-EINVAL);
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
  int err = 0;
  Socket* s = lookup(fd, &err);
  if (!s) return fail<int>(err);
  if (request == FIONBIO) {
    if (!arg) return fail<int>(-EFAULT);
    s->nonblock = *static_cast<int*>(arg) != 0;
    return 0;
  }
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
  return fd;
}

int skiff_epoll_create(int size) {
  if (size <= 0) return fail<int>(-EINVAL);
  return skiff_epoll_create1(0);
}

int skiff_epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(epfd) : nullptr;
  if (!e) return fail<int>(-EBADF);
  FdEntry* t = sh->socks.fds.entry(fd);
  if (!t) return fail<int>(-EBADF);
  if (e->kind != FdKind::Epoll || epfd == fd) return fail<int>(-EINVAL);
  if (t->kind != FdKind::Socket) return fail<int>(-EPERM);  // nesting epoll sets is not supported
  if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && !event) return fail<int>(-EFAULT);
  return ret(e->epoll->ctl(op, fd, &t->socket, event));
}

int skiff_epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  Shard* sh = this_shard();
  FdEntry* e = sh ? sh->socks.fds.entry(epfd) : nullptr;
  if (!e) return fail<int>(-EBADF);
  if (e->kind != FdKind::Epoll) return fail<int>(-EINVAL);
  if (maxevents <= 0) return fail<int>(-EINVAL);
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
  for (;;) {
    n = udp_recv_zc(s->sk, &p, &sin);
    if (n != -EAGAIN || s->nonblock) break;
    const int w = wait_ready(s, EPOLLIN, s->sk->rcvtimeo_ns);
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
