#pragma once
// The two dispatch tables, after Linux:
//   ProtoOps  (struct proto_ops): the socket-level calls for one socket type (inet_stream_ops,
//             inet_dgram_ops, inet_sockraw_ops), with sock_no_* stubs for what the type cannot do.
//   Proto     (struct proto): the transport's calls (tcp_prot, udp_prot, raw_prot), its object size and
//             whether it has a per-shard slab cache.
// All functions return 0 / a length, or a negative errno.

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <new>

#include "core/config.hh"

namespace skiff {

struct Socket;
struct Sock;

struct ProtoOps {
  int family;
  int (*release)(Socket* sock);
  int (*bind)(Socket* sock, const sockaddr* addr, socklen_t len);
  int (*connect)(Socket* sock, const sockaddr* addr, socklen_t len, int flags);
  int (*socketpair)(Socket* a, Socket* b);
  int (*accept)(Socket* sock, Socket* newsock, int flags);
  int (*getname)(Socket* sock, sockaddr* addr, socklen_t* len, int peer);  // 0 ours, 1 the peer's, 2 for accept()
  uint32_t (*poll)(Socket* sock);
  int (*ioctl)(Socket* sock, unsigned long cmd, void* arg);
  int (*listen)(Socket* sock, int backlog);
  int (*shutdown)(Socket* sock, int how);
  int (*setsockopt)(Socket* sock, int level, int optname, const void* optval, socklen_t optlen);
  int (*getsockopt)(Socket* sock, int level, int optname, void* optval, socklen_t* optlen);
  ssize_t (*sendmsg)(Socket* sock, const msghdr* msg, int flags);
  ssize_t (*recvmsg)(Socket* sock, msghdr* msg, int flags);
};

struct Proto {
  const char* name;
  size_t obj_size;
  Sock* (*construct)(void* mem);  // placement-constructs the protocol's object in zeroed memory
  void (*destruct)(Sock* sk);     // runs its destructor (memory is returned by the slab)
  bool slab;                     // allocate from a per-shard slab cache (else the general allocator)
  unsigned SockConfig::*slab_capacity;  // objects per shard in that slab
  unsigned index;                // slot in the per-shard slab and counter arrays
  int (*init)(Sock* sk);
  void (*destroy)(Sock* sk);
  void (*close)(Sock* sk, int64_t timeout_ns);
  int (*connect)(Sock* sk, const sockaddr* addr, socklen_t len);
  int (*disconnect)(Sock* sk, int flags);
  Sock* (*accept)(Sock* sk, int flags, int* err);
  int (*ioctl)(Sock* sk, unsigned long cmd, void* arg);
  void (*shutdown)(Sock* sk, int how);
  int (*setsockopt)(Sock* sk, int level, int optname, const void* optval, socklen_t optlen);
  int (*getsockopt)(Sock* sk, int level, int optname, void* optval, socklen_t* optlen);
  ssize_t (*sendmsg)(Sock* sk, const msghdr* msg, int flags);
  ssize_t (*recvmsg)(Sock* sk, msghdr* msg, int flags, socklen_t* addr_len);
  int (*backlog_rcv)(Sock* sk, void* pkt);
  int (*hash)(Sock* sk);
  void (*unhash)(Sock* sk);
  int (*get_port)(Sock* sk, uint16_t port);
  uint32_t (*poll)(Sock* sk);    // readiness (EPOLL* bits), used by the socket-level poll
};

inline constexpr unsigned kMaxProtos = 4;

// "This protocol has no such ioctl" (the kernel's internal ENOIOCTLCMD); the API turns it into ENOTTY.
inline constexpr int kNoIoctlCmd = 515;

// Constructs/destroys the concrete object type T (whose first member chain starts with a Sock).
template <class T>
Sock* construct_sock(void* mem) {
  return reinterpret_cast<Sock*>(new (mem) T());
}
template <class T>
void destruct_sock(Sock* sk) {
  reinterpret_cast<T*>(sk)->~T();
}  // tcp, udp, raw (+ one spare)

// sock_no_*: the "not supported" stubs (net/core/sock.c).
int sock_no_socketpair(Socket*, Socket*);
int sock_no_accept(Socket*, Socket*, int);
int sock_no_listen(Socket*, int);

}  // namespace skiff
