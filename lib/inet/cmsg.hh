#pragma once
// Ancillary data (control messages) of datagram sockets, as Linux's ip_cmsg_recv/ip_cmsg_send and
// sock_recv_timestamp: what recvmsg() reports beside a datagram when the socket asked for it (SO_TIMESTAMP,
// SO_TIMESTAMPNS, IP_PKTINFO, IP_RECVTTL, IP_RECVTOS), and what sendmsg() takes for one datagram
// (IP_PKTINFO: source address and interface; IP_TTL; IP_TOS).
//
// Interface indexes are 1-based positions in the stack's interface list (Iface::index + 1), 0 = none, as
// Linux's ifindex values never are 0.

#include <sys/socket.h>

#include <optional>

#include "mem/pktbuf.hh"
#include "netif/route.hh"
#include "sock/sock.hh"


namespace skiff {

class Shard;
struct Ipv4Rx;

// InetSock::cmsg_flags (Linux's IP_CMSG_*).
inline constexpr uint8_t kCmsgPktinfo = 1;  // IP_PKTINFO
inline constexpr uint8_t kCmsgTtl = 2;      // IP_RECVTTL
inline constexpr uint8_t kCmsgTos = 4;      // IP_RECVTOS
// Sock::tstamp (SO_TIMESTAMP / SO_TIMESTAMPNS).
inline constexpr uint8_t kTstampUs = 1;
inline constexpr uint8_t kTstampNs = 2;

// Writes the control messages the socket asked for about datagram `m` (received by `sk`'s shard) into
// msg->msg_control, in Linux's order (the timestamp, UDP_GRO when `gro_size` is not 0, then IP_PKTINFO,
// IP_TTL, IP_TOS); sets msg->msg_controllen to what was written and MSG_CTRUNC in msg->msg_flags where
// something did not fit.
void inet_cmsg_recv(Sock* sk, msghdr* msg, const PktMeta& m, int gro_size = 0);
// A stream's recvmsg (Linux's tcp_recv_timestamp): SCM_TIMESTAMP or SCM_TIMESTAMPNS with the arrival time of
// the last segment read from, when the socket asked for one and the segment was stamped (it arrived while the
// option was on: `rx_time_ns` non-zero); else no control message (msg_controllen 0).
void inet_cmsg_tstamp(Sock* sk, msghdr* msg, uint64_t rx_time_ns);

// What a sendmsg()'s control messages asked for one datagram (Linux's struct ipcm_cookie).
struct InetCmsgSend {
  wire::Ipv4Addr addr;        // IP_PKTINFO ipi_spec_dst: the source address (any: the socket's)
  unsigned oif = 0;           // IP_PKTINFO ipi_ifindex: leave by this interface (0: by the route)
  std::optional<uint8_t> ttl;
  std::optional<uint8_t> tos;
  std::optional<uint16_t> gso_size;  // UDP_SEGMENT (UDP sockets only)
};

// Parses msg's control messages: 0, or Linux's errno (-EINVAL for a malformed or unknown message, a TTL or
// TOS out of range; -EFAULT for a length without a buffer). Level IPPROTO_UDP is the transport's own for a
// UDP socket (`udp`: UDP_SEGMENT, as Linux's udp_cmsg_send) and skipped for others (as ip_cmsg_send).
int inet_cmsg_send(const msghdr* msg, InetCmsgSend* out, bool udp);

// The route for a datagram to `dst` with the interface and source `c` asked for: -ENODEV for an interface
// that does not exist, -EINVAL for a multicast, broadcast or zero-network source, -ENETUNREACH for a
// source that is not ours (as Linux without IP_FREEBIND) or where nothing leads to `dst` (by that interface).
int inet_cmsg_route(Shard& sh, wire::Ipv4Addr dst, const InetCmsgSend& c, RouteResult* out);

// ---- The error queue (IP_RECVERR; Linux's ip_icmp_error, ip_local_error, ip_recv_error) ----------------

// One error for recvmsg(MSG_ERRQUEUE): struct sock_extended_err's fields, and the destination of the
// datagram it is about (msg_name).
struct InetSockErr {
  int err = 0;                 // ee_errno
  uint8_t origin = 0;          // SO_EE_ORIGIN_ICMP or SO_EE_ORIGIN_LOCAL
  uint8_t type = 0, code = 0;  // the ICMP message's (0 for a local error)
  uint32_t info = 0;           // ee_info: the next-hop MTU for "fragmentation needed", the MTU for a local EMSGSIZE
  wire::Ipv4Addr addr;         // the datagram's destination ...
  uint16_t port = 0;           // ... and port
};

// Queues `e` with `len` bytes of `payload` (what the ICMP message quoted of the datagram's payload; none for
// a local error); `icmp` is the ICMP datagram (its source is the offender, its TTL/TOS/addresses what
// IP_PKTINFO etc. report), null for a local error. Charged to the receive buffer; where it does not fit, the
// error is not queued (Drop::SockErrQueueFull), as Linux's sock_queue_err_skb.
void inet_queue_err(Sock* sk, const InetSockErr& e, const Ipv4Rx* icmp, const Pktbuf* payload, uint32_t off,
                    uint32_t len);
// recvmsg(MSG_ERRQUEUE): the oldest error's payload, its destination in msg_name, control messages
// (timestamp; for an ICMP error IP_PKTINFO/IP_TTL/IP_TOS as asked; then IP_RECVERR: sock_extended_err and
// the offender), MSG_ERRQUEUE in msg_flags; -EAGAIN with none queued. Reading an ICMP error leaves SO_ERROR
// at the next queued ICMP error's errno, or 0 (Linux's sock_dequeue_err_skb).
ssize_t inet_recv_error(Sock* sk, msghdr* msg, socklen_t* addr_len);
// Frees the error queue (the socket is going).
void inet_purge_errors(Sock* sk);

}  // namespace skiff
