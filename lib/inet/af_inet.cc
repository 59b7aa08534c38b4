// AF_INET sockets (after Linux's net/ipv4/af_inet.c): the inetsw registry, inet_create, and the
// socket-level operations shared by the socket types.

#include <netinet/in.h>
#include <linux/sockios.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "inet/inet.hh"
#include "raw/raw.hh"
#include "sock/epoll.hh"
#include "stack/shard.hh"
#include "tcp/tcp.hh"
#include "udp/udp.hh"

namespace skiff {

using wire::Ipv4Addr;

const ProtoOps inet_dgram_ops = {
    .family = AF_INET,
    .release = inet_release,
    .bind = inet_bind,
    .connect = inet_dgram_connect,
    .socketpair = sock_no_socketpair,
    .accept = sock_no_accept,
    .getname = inet_getname,
    .poll = inet_poll,
    .ioctl = inet_ioctl,
    .listen = sock_no_listen,
    .shutdown = inet_shutdown,
    .setsockopt = sock_common_setsockopt,
    .getsockopt = sock_common_getsockopt,
    .sendmsg = inet_sendmsg,
    .recvmsg = inet_recvmsg,
};

const ProtoOps inet_sockraw_ops = inet_dgram_ops;

namespace {

// Lookup order matters as in Linux: the first entry for a type is its default protocol.
const InetProtosw kInetsw[] = {
    {SOCK_STREAM, IPPROTO_TCP, &inet_stream_ops, &tcp_prot, true},
    {SOCK_DGRAM, IPPROTO_UDP, &inet_dgram_ops, &udp_prot, false},
    {SOCK_RAW, IPPROTO_IP, &inet_sockraw_ops, &raw_prot, false},  // IPPROTO_IP: any protocol
};

}  // namespace

const InetProtosw* inetsw_begin() { return kInetsw; }
const InetProtosw* inetsw_end() { return kInetsw + std::size(kInetsw); }

int inet_create(Shard& sh, int family, int type, int protocol, Socket* sock) {
  if (family != AF_INET) return -EAFNOSUPPORT;
  if (protocol < 0 || protocol >= IPPROTO_MAX) return -EINVAL;
  // Linux's lookup_protocol: an exact match, or one of the two wildcards (protocol 0 = the type's
  // default; an entry with IPPROTO_IP = any protocol, but not protocol 0 itself).
  int err = -ESOCKTNOSUPPORT;
  const InetProtosw* answer = nullptr;
  auto scan = [&](const InetProtosw* b, const InetProtosw* e) {
    for (const InetProtosw* a = b; a != e && !answer; ++a) {
      if (a->type != type) continue;
      err = 0;
      if (protocol == a->protocol) {
        if (protocol != IPPROTO_IP) {
          answer = a;
          return;
        }
      } else {
        if (protocol == IPPROTO_IP) {
          protocol = a->protocol;
          answer = a;
          return;
        }
        if (a->protocol == IPPROTO_IP) {
          answer = a;
          return;
        }
      }
      err = -EPROTONOSUPPORT;
    }
  };
  scan(inetsw_begin(), inetsw_end());
  if (!answer) return err ? err : -EPROTONOSUPPORT;

  sock->state = SocketState::Unconnected;
  sock->type = static_cast<uint16_t>(type);
  sock->ops = answer->ops;
  Sock* sk = sh.socks.alloc_sock(*answer->prot);
  if (!sk) return -ENOBUFS;
  sk->socket = sock;
  sk->type = static_cast<uint16_t>(type);
  sk->protocol = static_cast<uint16_t>(protocol);
  sock->sk = sk;
  InetSock* is = inet_sk(sk);
  if (type == SOCK_RAW && protocol == IPPROTO_RAW) is->hdrincl = true;
  if (sk->prot->init) {
    const int e = sk->prot->init(sk);
    if (e) {
      // The proto's init runs last; a failure releases everything.
      sock->sk = nullptr;
      sk->socket = nullptr;
      sk->prot->close(sk, 0);
      sock->ops = nullptr;
      sock->state = SocketState::Free;
      return e;
    }
  }
  return 0;
}

int inet_release(Socket* sock) {
  Sock* sk = sock->sk;
  if (!sk) return 0;
  const int64_t timeout = sk->linger_on ? int64_t{sk->linger_secs} * 1'000'000'000 : 0;
  Epoll::forget_socket(sk);
  sk->callbacks.reset();
  sk->dead = true;
  sock->sk = nullptr;
  sk->socket = nullptr;
  sk->prot->close(sk, timeout);
  return 0;
}

bool inet_is_broadcast(Shard& sh, Ipv4Addr a) {
  if (a.is_broadcast()) return true;
  for (auto& sp : sh.ports())
    if (sp->ifc->is_broadcast(a)) return true;
  return false;
}

bool inet_is_local(Shard& sh, Ipv4Addr a) { return sh.is_local_addr(a); }

int inet_autobind(Sock* sk) {
  InetSock* is = inet_sk(sk);
  if (is->num || !sk->prot->get_port) return 0;
  return sk->prot->get_port(sk, 0) ? kErrAgainNoWait : 0;
}

int inet_bind(Socket* sock, const sockaddr* addr, socklen_t len) {
  Sock* sk = sock->sk;
  InetSock* is = inet_sk(sk);
  Shard& sh = *sk->shard;
  if (!addr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
  const Ipv4Addr a(ntohl(sin->sin_addr.s_addr));
  if (sk->type == SOCK_RAW) {
    // raw_bind: an address only, no family check; not once connected.
    if (sk->state != sk_state::kClose) return -EINVAL;
    const bool bc = inet_is_broadcast(sh, a) || a.is_multicast();
    if (!a.is_any() && !inet_is_local(sh, a) && !bc) return -EADDRNOTAVAIL;
    is->rcv_saddr = a;
    is->saddr = bc ? Ipv4Addr::any() : a;
    return 0;
  }
  if (sin->sin_family != AF_INET) {
    // Linux accepts AF_UNSPEC with INADDR_ANY for compatibility.
    if (sin->sin_family != AF_UNSPEC || !a.is_any()) return -EAFNOSUPPORT;
  }
  const bool bcast = inet_is_broadcast(sh, a) || a.is_multicast();
  if (!a.is_any() && !inet_is_local(sh, a) && !bcast) return -EADDRNOTAVAIL;
  if (sk->state != sk_state::kClose || is->num) return -EINVAL;  // already bound
  is->rcv_saddr = a;
  is->saddr = bcast ? Ipv4Addr::any() : a;
  const uint16_t port = ntohs(sin->sin_port);
  // IP_BIND_ADDRESS_NO_PORT: port 0 takes no port now; connect() picks one for the whole 4-tuple (and, with
  // several shards, one whose replies RSS brings to this shard), listen() or a send any free one. The
  // socket may be bound again until then (as Linux: nothing is held).
  const bool take_port = port || !is->bind_no_port;
  const int err = take_port && sk->prot->get_port ? sk->prot->get_port(sk, port) : 0;
  if (err) {
    is->rcv_saddr = is->saddr = Ipv4Addr::any();
    return err == -EAGAIN ? -EADDRINUSE : err;
  }
  // What the application fixed survives a disconnect (SOCK_BINDADDR_LOCK / SOCK_BINDPORT_LOCK).
  if (!a.is_any()) sk->userlocks |= kBindAddrLock;
  if (port) sk->userlocks |= kBindPortLock;
  return 0;
}

int inet_getname(Socket* sock, sockaddr* addr, socklen_t* len, int peer) {
  Sock* sk = sock->sk;
  InetSock* is = inet_sk(sk);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  if (peer) {
    // accept() (peer 2) names the peer of a connection that was reset while it waited (Linux's inet_getname).
    if (!is->dport || ((sk->state == sk_state::kClose || sk->state == sk_state::kSynSent) && peer == 1))
      return -ENOTCONN;
    sin.sin_port = htons(is->dport);
    sin.sin_addr.s_addr = htonl(is->daddr.host());
  } else {
    const Ipv4Addr a = is->rcv_saddr.is_any() ? is->saddr : is->rcv_saddr;
    sin.sin_port = htons(is->num);  // (a raw socket's num is its protocol, which Linux reports as the port)
    sin.sin_addr.s_addr = htonl(a.host());
  }
  memcpy(addr, &sin, std::min<size_t>(static_cast<size_t>(*len), sizeof sin));
  *len = sizeof sin;
  return 0;
}

int inet_dgram_connect(Socket* sock, const sockaddr* addr, socklen_t len, int) {
  Sock* sk = sock->sk;
  if (!addr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return -EINVAL;
  if (addr->sa_family == AF_UNSPEC) return sk->prot->disconnect(sk, 0);
  if (inet_autobind(sk)) return -EAGAIN;
  return sk->prot->connect(sk, addr, len);
}

int inet_ioctl(Socket* sock, unsigned long cmd, void* arg) {
  Sock* sk = sock->sk;
  // (the argument is checked by the request that uses it: an unknown request is ENOTTY even with NULL)
  return sk->prot->ioctl ? sk->prot->ioctl(sk, cmd, arg) : -kNoIoctlCmd;
}

int inet_shutdown(Socket* sock, int how) {
  Sock* sk = sock->sk;
  if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
  const uint8_t bits = static_cast<uint8_t>(how + 1);  // SHUT_RD -> RCV, SHUT_WR -> SEND, both
  int err = 0;
  if (sock->state == SocketState::Connecting) {
    sock->state = (sk->state == sk_state::kSynSent || sk->state == sk_state::kSynRecv || sk->state == sk_state::kClose)
                      ? SocketState::Disconnecting
                      : SocketState::Connected;
  } else if (sock->state == SocketState::Connected && sk->prot == &tcp_prot && !tcp_sk(sk)->connect_reported) {
    // A non-blocking connect that completed on its own (Linux's socket still SS_CONNECTING): shutdown()
    // looks at it as Linux's does, so connect() then says EISCONN.
    tcp_sk(sk)->connect_reported = true;
    if (sk->state == sk_state::kClose) sock->state = SocketState::Disconnecting;
  }
  switch (sk->state) {
    case sk_state::kClose:
      err = -ENOTCONN;  // still applied: pollers see the hang-up (as Linux)
      sk->shutdown |= bits;
      break;
    case sk_state::kListen:
      if (!(bits & kRcvShutdown)) break;
      [[fallthrough]];
    case sk_state::kSynSent:
      // Shutting down a listener or a connect in progress aborts it (Linux: sk_prot->disconnect).
      err = sk->prot->disconnect(sk, 0);
      sock->state = err ? SocketState::Disconnecting : SocketState::Unconnected;
      break;
    default:
      sk->shutdown |= bits;
      if (sk->prot->shutdown) sk->prot->shutdown(sk, bits);
      break;
  }
  sock_wake(sk, EPOLLIN | EPOLLOUT | EPOLLRDHUP | (sk->shutdown == 3 ? uint32_t{EPOLLHUP} : 0u));
  return err;
}

ssize_t inet_sendmsg(Socket* sock, const msghdr* msg, int flags) {
  Sock* sk = sock->sk;
  const int err = inet_autobind(sk);
  if (err) return err;
  return sk->prot->sendmsg(sk, msg, flags);
}

ssize_t inet_recvmsg(Socket* sock, msghdr* msg, int flags) {
  Sock* sk = sock->sk;
  socklen_t addr_len = 0;
  const ssize_t n = sk->prot->recvmsg(sk, msg, flags, &addr_len);
  if (n >= 0 && msg->msg_name) msg->msg_namelen = addr_len;
  return n;
}

uint32_t inet_poll(Socket* sock) { return sock->sk ? sock->sk->prot->poll(sock->sk) : 0x20 /* POLLNVAL */; }

int sock_common_setsockopt(Socket* sock, int level, int optname, const void* optval, socklen_t optlen) {
  Sock* sk = sock->sk;
  if (level == SOL_SOCKET) return sock_setsockopt(sk, optname, optval, optlen);
  return sk->prot->setsockopt(sk, level, optname, optval, optlen);
}

int sock_common_getsockopt(Socket* sock, int level, int optname, void* optval, socklen_t* optlen) {
  Sock* sk = sock->sk;
  if (level == SOL_SOCKET) return sock_getsockopt(sk, optname, optval, optlen);
  return sk->prot->getsockopt(sk, level, optname, optval, optlen);
}

Pktbuf inet_build_payload(Shard& sh, const iovec* iov, size_t iovlen, size_t len, size_t skip) {
  Pktbuf head;
  size_t vi = 0, voff = 0, done = 0;
  for (; vi < iovlen && skip >= iov[vi].iov_len; ++vi) skip -= iov[vi].iov_len;
  voff = skip;
  do {
    Pktbuf seg = sh.alloc_pkt();
    if (!seg) return {};
    const uint16_t room = seg.tailroom();
    const size_t n = std::min<size_t>(room, len - done);
    uint8_t* d = n ? seg.append(static_cast<uint16_t>(n)) : nullptr;
    size_t put = 0;
    while (put < n) {
      while (vi < iovlen && voff == iov[vi].iov_len) {
        ++vi;
        voff = 0;
      }
      const size_t k = std::min(n - put, iov[vi].iov_len - voff);
      memcpy(d + put, static_cast<const uint8_t*>(iov[vi].iov_base) + voff, k);
      put += k;
      voff += k;
    }
    done += n;
    if (!head) {
      head = std::move(seg);
    } else if (!head.chain(std::move(seg))) {
      return {};
    }
  } while (done < len);
  return head;
}

// Linux's icmp_err_convert table, for destination unreachable codes 0..15.
int icmp_error_to_errno(uint8_t type, uint8_t code) {
  static const int kUnreach[16] = {ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE, EOPNOTSUPP,
                                   ENETUNREACH, EHOSTDOWN,    ENONET,      ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
                                   EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH};
  switch (type) {
    case 3: return code < 16 ? kUnreach[code] : EHOSTUNREACH;
    case 11: return EHOSTUNREACH;  // time exceeded
    case 12: return EPROTO;        // parameter problem
    default: return EHOSTUNREACH;
  }
}

bool icmp_error_is_hard(uint8_t type, uint8_t code) {
  if (type == 12) return true;  // parameter problem
  if (type != 3 || code > 15) return false;
  // The .fatal column of Linux's icmp_err_convert (net/host unreachable, frag needed, TOS variants: soft).
  static const bool kFatal[16] = {false, false, true, true, false, false, true, true,
                                  true,  true,  true, false, false, true, true, true};
  return kFatal[code];
}

}  // namespace skiff
