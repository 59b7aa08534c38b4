#pragma once
// AF_INET: the protocol registry (Linux's inetsw), socket creation (inet_create), the socket-level
// operations shared by the types (inet_bind, inet_getname, ...), and IP/socket-level options.

#include <sys/uio.h>

#include "mem/pktbuf.hh"
#include "sock/proto.hh"
#include "sock/sock.hh"
#include "wire/addr.hh"

namespace skiff {

class Shard;

// One registry entry (struct inet_protosw).
struct InetProtosw {
  int type;                  // SOCK_STREAM, SOCK_DGRAM, SOCK_RAW
  int protocol;              // IPPROTO_*; IPPROTO_IP = wildcard (raw)
  const ProtoOps* ops;
  const Proto* prot;
  bool connection_sock;      // INET_PROTOSW_ICSK
};

// The registry, in lookup order.
const InetProtosw* inetsw_begin();
const InetProtosw* inetsw_end();

extern const ProtoOps inet_dgram_ops;
extern const ProtoOps inet_sockraw_ops;

// socket(): resolves {family, type, protocol} and creates the socket in `sock` (whose fd is set).
// Errors as Linux: -EAFNOSUPPORT, -ESOCKTNOSUPPORT, -EPROTONOSUPPORT, -EINVAL, -ENOBUFS.
int inet_create(Shard& sh, int family, int type, int protocol, Socket* sock);
// Releases the protocol object behind `sock` (close()).
int inet_release(Socket* sock);

// Shared pieces of the ops tables.
int inet_bind(Socket* sock, const sockaddr* addr, socklen_t len);
int inet_getname(Socket* sock, sockaddr* addr, socklen_t* len, int peer);
int inet_dgram_connect(Socket* sock, const sockaddr* addr, socklen_t len, int flags);
int inet_ioctl(Socket* sock, unsigned long cmd, void* arg);
int inet_shutdown(Socket* sock, int how);
ssize_t inet_sendmsg(Socket* sock, const msghdr* msg, int flags);
ssize_t inet_recvmsg(Socket* sock, msghdr* msg, int flags);
int sock_common_setsockopt(Socket* sock, int level, int optname, const void* optval, socklen_t optlen);
int sock_common_getsockopt(Socket* sock, int level, int optname, void* optval, socklen_t* optlen);
uint32_t inet_poll(Socket* sock);

// SOL_SOCKET options (sock_setsockopt / sock_getsockopt).
int sock_setsockopt(Sock* sk, int optname, const void* optval, socklen_t optlen);
int sock_getsockopt(Sock* sk, int optname, void* optval, socklen_t* optlen);
// IPPROTO_IP options (ip_setsockopt / ip_getsockopt); other levels get -ENOPROTOOPT.
int ip_setsockopt(Sock* sk, int level, int optname, const void* optval, socklen_t optlen);
int ip_getsockopt(Sock* sk, int level, int optname, void* optval, socklen_t* optlen);

// Autobinds an unbound socket to an ephemeral port (inet_autobind): 0, or kErrAgainNoWait with none free.
int inet_autobind(Sock* sk);
// True if `a` is a broadcast address on any of the shard's interfaces.
bool inet_is_broadcast(Shard& sh, wire::Ipv4Addr a);
// True if `a` is one of the shard's interface addresses.
bool inet_is_local(Shard& sh, wire::Ipv4Addr a);
// Copies `len` bytes of an iovec, from byte `skip` on, into packet buffers (chained as needed), with headroom
// for the headers.
Pktbuf inet_build_payload(Shard& sh, const iovec* iov, size_t iovlen, size_t len, size_t skip = 0);

// ICMP error -> errno (Linux's icmp_err_convert), and whether it is a hard error.
int icmp_error_to_errno(uint8_t type, uint8_t code);
bool icmp_error_is_hard(uint8_t type, uint8_t code);

}  // namespace skiff
