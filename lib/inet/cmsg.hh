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

// InetSock::cmsg_flags (Linux's IP_CMSG_*).
inline constexpr uint8_t kCmsgPktinfo = 1;  // IP_PKTINFO
inline constexpr uint8_t kCmsgTtl = 2;      // IP_RECVTTL
inline constexpr uint8_t kCmsgTos = 4;      // IP_RECVTOS
// Sock::tstamp (SO_TIMESTAMP / SO_TIMESTAMPNS).
inline constexpr uint8_t kTstampUs = 1;
inline constexpr uint8_t kTstampNs = 2;

// Writes the control messages the socket asked for about datagram `m` (received by `sk`'s shard) into
// msg->msg_control, in Linux's order (the timestamp, then IP_PKTINFO, IP_TTL, IP_TOS); sets
// msg->msg_controllen to what was written and MSG_CTRUNC in msg->msg_flags where something did not fit.
void inet_cmsg_recv(Sock* sk, msghdr* msg, const PktMeta& m);

// What a sendmsg()'s control messages asked for one datagram (Linux's struct ipcm_cookie).
struct InetCmsgSend {
  wire::Ipv4Addr addr;        // IP_PKTINFO ipi_spec_dst: the source address (any: the socket's)
  unsigned oif = 0;           // IP_PKTINFO ipi_ifindex: leave by this interface (0: by the route)
  std::optional<uint8_t> ttl;
  std::optional<uint8_t> tos;
};

// Parses msg's control messages: 0, or Linux's errno (-EINVAL for a malformed or unknown message, a TTL or
// TOS out of range; -EFAULT for a length without a buffer).
int inet_cmsg_send(const msghdr* msg, InetCmsgSend* out);

// The route for a datagram to `dst` with the interface and source `c` asked for: -ENODEV for an interface
// that does not exist, -EINVAL for a multicast, broadcast or zero-network source, -ENETUNREACH for a
// source that is not ours (as Linux without IP_FREEBIND) or where nothing leads to `dst` (by that interface).
int inet_cmsg_route(Shard& sh, wire::Ipv4Addr dst, const InetCmsgSend& c, RouteResult* out);

}  // namespace skiff
