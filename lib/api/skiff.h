/* Skiff's C API: POSIX socket calls on Skiff descriptors, with POSIX signatures and errno.
 *
 * Every call acts on the shard (lcore) it is called from: descriptors are small integers per shard. Call
 * them from a shard's poll hook, from an event callback, or from code running on the shard's lcore.
 * Blocking calls (a socket without O_NONBLOCK, no MSG_DONTWAIT) keep the shard's poll loop running while
 * they wait; from inside an event callback they cannot wait and fail with EAGAIN instead.
 * Called from a thread that runs no shard, descriptor calls fail with EBADF and creating calls with ENXIO.
 */
#ifndef SKIFF_H
#define SKIFF_H

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Linux's socket options (linux/in.h) that glibc's netinet/in.h does not define. */
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

/* Declared here so the header also compiles in C without _GNU_SOURCE (struct mmsghdr is a GNU extension). */
struct mmsghdr;
struct timespec;

int skiff_socket(int domain, int type, int protocol);
int skiff_socketpair(int domain, int type, int protocol, int sv[2]);
int skiff_bind(int fd, const struct sockaddr* addr, socklen_t len);
int skiff_connect(int fd, const struct sockaddr* addr, socklen_t len);
int skiff_listen(int fd, int backlog);
int skiff_accept(int fd, struct sockaddr* addr, socklen_t* len);
int skiff_accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags);
int skiff_getsockname(int fd, struct sockaddr* addr, socklen_t* len);
int skiff_getpeername(int fd, struct sockaddr* addr, socklen_t* len);
ssize_t skiff_send(int fd, const void* buf, size_t len, int flags);
ssize_t skiff_recv(int fd, void* buf, size_t len, int flags);
ssize_t skiff_sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* to, socklen_t tolen);
ssize_t skiff_recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* from, socklen_t* fromlen);
ssize_t skiff_sendmsg(int fd, const struct msghdr* msg, int flags);
ssize_t skiff_recvmsg(int fd, struct msghdr* msg, int flags);
int skiff_sendmmsg(int fd, struct mmsghdr* msgs, unsigned int vlen, int flags);
int skiff_recvmmsg(int fd, struct mmsghdr* msgs, unsigned int vlen, int flags, struct timespec* timeout);
int skiff_shutdown(int fd, int how);
int skiff_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen);
int skiff_getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen);
int skiff_close(int fd);
ssize_t skiff_read(int fd, void* buf, size_t len);
ssize_t skiff_write(int fd, const void* buf, size_t len);
ssize_t skiff_readv(int fd, const struct iovec* iov, int iovcnt);
ssize_t skiff_writev(int fd, const struct iovec* iov, int iovcnt);
int skiff_fcntl(int fd, int cmd, ... /* int arg */);
int skiff_ioctl(int fd, unsigned long request, ... /* void* arg */);

/* The multiplexer, as Linux's sys_socketcall: call is SYS_SOCKET .. SYS_SENDMMSG (<linux/net.h>), args as
 * the kernel takes them. */
long skiff_socketcall(int call, unsigned long* args);

/* Events: an epoll-like set that runs inside the shard's poll loop. */
int skiff_epoll_create(int size);
int skiff_epoll_create1(int flags);
int skiff_epoll_ctl(int epfd, int op, int fd, struct epoll_event* event);
int skiff_epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout_ms);

/* Zero-copy UDP/raw receive: hands over the next datagram's packet buffer. *data points at the payload,
 * valid until skiff_pkt_free(pkt). Returns the payload length, or -1 with errno. A datagram larger than one
 * packet buffer cannot be handed over contiguously: EMSGSIZE, and it stays queued for skiff_recv(). */
struct skiff_pkt;
ssize_t skiff_recv_zc(int fd, struct skiff_pkt** pkt, const void** data, struct sockaddr* from, socklen_t* fromlen);
void skiff_pkt_free(struct skiff_pkt* pkt);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_H */
