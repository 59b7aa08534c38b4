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

/* TCP_INFO's whole answer: Linux 6.18's struct tcp_info, field for field (glibc's netinet/tcp.h declares only
 * its first 104 bytes, the kernel headers of older releases less than this). getsockopt(IPPROTO_TCP,
 * TCP_INFO) fills min(*optlen, sizeof) bytes, so a caller with a shorter struct gets its prefix, as from
 * Linux. The AccECN counters (received_ce .. accecn_opt_seen) stay 0: Skiff speaks RFC 3168 ECN, which
 * Linux does not count there either. */
struct skiff_tcp_info {
  unsigned char tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes, tcpi_backoff, tcpi_options;
  unsigned char tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
  unsigned char tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2;
  unsigned int tcpi_rto, tcpi_ato, tcpi_snd_mss, tcpi_rcv_mss;
  unsigned int tcpi_unacked, tcpi_sacked, tcpi_lost, tcpi_retrans, tcpi_fackets;
  unsigned int tcpi_last_data_sent, tcpi_last_ack_sent, tcpi_last_data_recv, tcpi_last_ack_recv;
  unsigned int tcpi_pmtu, tcpi_rcv_ssthresh, tcpi_rtt, tcpi_rttvar, tcpi_snd_ssthresh, tcpi_snd_cwnd, tcpi_advmss,
      tcpi_reordering;
  unsigned int tcpi_rcv_rtt, tcpi_rcv_space;
  unsigned int tcpi_total_retrans;
  unsigned long long tcpi_pacing_rate, tcpi_max_pacing_rate;
  unsigned long long tcpi_bytes_acked, tcpi_bytes_received;
  unsigned int tcpi_segs_out, tcpi_segs_in;
  unsigned int tcpi_notsent_bytes, tcpi_min_rtt, tcpi_data_segs_in, tcpi_data_segs_out;
  unsigned long long tcpi_delivery_rate;
  unsigned long long tcpi_busy_time, tcpi_rwnd_limited, tcpi_sndbuf_limited;
  unsigned int tcpi_delivered, tcpi_delivered_ce;
  unsigned long long tcpi_bytes_sent, tcpi_bytes_retrans;
  unsigned int tcpi_dsack_dups, tcpi_reord_seen, tcpi_rcv_ooopack, tcpi_snd_wnd, tcpi_rcv_wnd, tcpi_rehash;
  unsigned short tcpi_total_rto, tcpi_total_rto_recoveries;
  unsigned int tcpi_total_rto_time;
  unsigned int tcpi_received_ce, tcpi_delivered_e1_bytes, tcpi_delivered_e0_bytes, tcpi_delivered_ce_bytes,
      tcpi_received_e1_bytes, tcpi_received_e0_bytes, tcpi_received_ce_bytes;
  unsigned short tcpi_accecn_fail_mode, tcpi_accecn_opt_seen;
};

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
