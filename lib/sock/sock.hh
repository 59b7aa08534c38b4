#pragma once
// Socket objects after Linux: a `Socket` is the descriptor-level object (struct socket: SS_* state,
// proto_ops, file flags); a `Sock` is the protocol object (struct sock). Protocol objects nest, each the
// first member of the next: TcpSock ⊃ InetConnectionSock ⊃ InetSock ⊃ Sock, UdpSock ⊃ InetSock ⊃ Sock.
// They are allocated from the protocol's per-shard slab (sk_prot_alloc) and belong to one shard.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sock/pkt_queue.hh"
#include "wire/addr.hh"

namespace skiff {

class Shard;
struct Proto;
struct ProtoOps;
struct Sock;
struct EpItem;

// A send's "EAGAIN, and do not wait for room": what a transport returns where Linux returns EAGAIN without
// blocking (no ephemeral port left to bind to); the socket API hands the caller a plain EAGAIN.
inline constexpr int kErrAgainNoWait = -(0x10000 | EAGAIN);

// struct socket's state (include/uapi/linux/net.h).
enum class SocketState : uint8_t { Free = 0, Unconnected, Connecting, Connected, Disconnecting };
const char* to_string(SocketState s);

// sk->state values, shared with TCP as in Linux (include/net/tcp_states.h).
namespace sk_state {
inline constexpr uint8_t kEstablished = 1;
inline constexpr uint8_t kSynSent = 2;
inline constexpr uint8_t kSynRecv = 3;
inline constexpr uint8_t kFinWait1 = 4;
inline constexpr uint8_t kFinWait2 = 5;
inline constexpr uint8_t kTimeWait = 6;
inline constexpr uint8_t kClose = 7;
inline constexpr uint8_t kCloseWait = 8;
inline constexpr uint8_t kLastAck = 9;
inline constexpr uint8_t kListen = 10;
inline constexpr uint8_t kClosing = 11;
}  // namespace sk_state

// sk->userlocks bits: an explicit bind fixed the address / the port, so a disconnect keeps them.
inline constexpr uint8_t kBindAddrLock = 4;
inline constexpr uint8_t kBindPortLock = 8;
// ... and the application set SO_SNDBUF / SO_RCVBUF itself (no autotuning: SOCK_SNDBUF_LOCK, SOCK_RCVBUF_LOCK).
inline constexpr uint8_t kSndbufLock = 1;
inline constexpr uint8_t kRcvbufLock = 2;

// sk->shutdown bits.
inline constexpr uint8_t kRcvShutdown = 1;
inline constexpr uint8_t kSendShutdown = 2;

// Application callbacks (the C++ API); allocated only for sockets that use them.
struct SockCallbacks {
  std::function<void(int fd)> on_accept;    // a listener has a connection to accept
  std::function<void(int fd)> on_readable;  // data (or EOF/error) to read
  std::function<void(int fd)> on_writable;  // room to send
  std::function<void(int fd)> on_closed;    // the peer closed or the connection failed
};

// The descriptor-level socket (struct socket).
struct Socket {
  SocketState state = SocketState::Free;
  uint16_t type = 0;         // SOCK_STREAM, SOCK_DGRAM, SOCK_RAW
  bool nonblock = false;     // O_NONBLOCK
  bool cloexec = false;
  int fd = -1;
  const ProtoOps* ops = nullptr;
  Sock* sk = nullptr;
};

// struct sock: what every protocol's object starts with.
struct Sock {
  const Proto* prot = nullptr;
  Shard* shard = nullptr;
  Socket* socket = nullptr;      // null once the descriptor is closed (an orphan, e.g. TCP in TIME-WAIT)
  uint16_t type = 0;
  uint16_t protocol = 0;         // as Linux's sk_protocol: a raw socket may name any protocol < IPPROTO_MAX
  uint8_t state = sk_state::kClose;
  uint8_t shutdown = 0;
  bool from_slab = false;
  bool dead = false;             // released by the application

  // SOL_SOCKET options.
  bool reuseaddr = false;
  bool reuseport = false;
  bool keepalive = false;
  bool broadcast = false;
  bool linger_on = false;
  bool oobinline = false;        // SO_OOBINLINE (stored and reported; no urgent data in UDP/raw)
  bool dontroute = false;        // SO_DONTROUTE (stored and reported)
  uint8_t tstamp = 0;            // SO_TIMESTAMP / SO_TIMESTAMPNS: kTstampUs / kTstampNs (inet/cmsg.hh)
  uint8_t userlocks = 0;         // kBindAddrLock / kBindPortLock: what bind() fixed (SOCK_BINDADDR_LOCK...)
  bool cpu_heard = false;        // SO_INCOMING_CPU: a connected UDP socket got a datagram since the option was set
  int priority = 0;              // SO_PRIORITY (IP_TOS sets it too, as Linux's rt_tos2priority)
  int linger_secs = 0;
  int rcvbuf = 212992;           // Linux's default rmem_default / wmem_default
  int sndbuf = 212992;
  int rcvlowat = 1;
  int64_t rcvtimeo_ns = 0;       // SO_RCVTIMEO: 0 = wait forever, < 0 = do not wait (a negative setting)
  int64_t sndtimeo_ns = 0;       // SO_SNDTIMEO, the same

  int err = 0;                   // pending error (SO_ERROR), positive errno
  int err_soft = 0;
  int incoming_cpu = -1;         // SO_INCOMING_CPU as set (a socket that heard reports its shard's CPU)
  uint64_t cookie = 0;           // SO_COOKIE: made on first read, unique within the stack (0: none yet)

  // Receive side.
  PktQueue receive_queue;
  PktQueue error_queue;          // IP_RECVERR: errors for recvmsg(MSG_ERRQUEUE) (inet/cmsg.hh), charged to rcvbuf
  int rmem_alloc = 0;            // bytes charged to rcvbuf
  int wmem_queued = 0;           // bytes charged to sndbuf

  // Events: pending readiness changes are delivered once per poll iteration.
  uint32_t pending_events = 0;
  Sock* wake_next = nullptr;
  bool on_wake_list = false;
  EpItem* epitems = nullptr;     // epoll registrations watching this socket
  std::unique_ptr<SockCallbacks> callbacks;
};

// struct inet_sock: addresses and ports (host order here), IP-level options.
struct InetSock {
  Sock sk;
  wire::Ipv4Addr rcv_saddr;      // bound local address (any = wildcard)
  wire::Ipv4Addr saddr;          // source address used for sending
  wire::Ipv4Addr daddr;          // connected peer
  uint16_t num = 0;              // bound local port
  uint16_t dport = 0;            // connected peer port
  uint8_t ttl = 0;               // 0 = the stack default (IP_TTL)
  uint8_t mc_ttl = 1;            // IP_MULTICAST_TTL: the TTL of datagrams to a multicast group
  uint8_t tos = 0;               // IP_TOS
  bool hdrincl = false;          // IP_HDRINCL (raw)
  bool recverr = false;          // IP_RECVERR
  uint8_t pmtudisc = IP_PMTUDISC_WANT;
  uint8_t cmsg_flags = 0;        // IP_PKTINFO, IP_RECVTTL, IP_RECVTOS: kCmsg* bits (inet/cmsg.hh)
  uint8_t mc_flags = kMcLoop | kMcAll;  // IP_MULTICAST_LOOP, IP_MULTICAST_ALL (both on, as Linux)
  uint16_t ip_ident = 0;         // IP ID of its next DF datagram once connected (Linux's inet_id; random start)
  uint8_t mc_index = 0;          // IP_MULTICAST_IF: interface for datagrams to groups (index + 1; 0: the route's)
  bool bind_no_port = false;     // IP_BIND_ADDRESS_NO_PORT: bind() with port 0 fixes the address only
  wire::Ipv4Addr mc_addr;        // IP_MULTICAST_IF: their source address (any: the interface's)
  InetSock* bind_next = nullptr; // the protocol's port table chain
  uint32_t local_port_range = 0; // IP_LOCAL_PORT_RANGE: lo | hi << 16 (0: the stack's ephemeral range)

  static constexpr uint8_t kMcLoop = 1, kMcAll = 2;
};

// A datagram socket's multicast group memberships (IP_ADD_MEMBERSHIP; Linux's inet->mc_list), kept by UDP and
// raw sockets (TCP refuses them, EPROTO, as Linux), each with its source filter (RFC 3678; Linux's
// ip_mc_socklist): EXCLUDE the sources listed (any-source: none listed) or INCLUDE only those.
struct McMembership {
  static constexpr uint8_t kExclude = 0, kInclude = 1;  // MCAST_EXCLUDE, MCAST_INCLUDE
  wire::Ipv4Addr group;
  uint8_t iface = 0;
  uint8_t mode = kExclude;
  // Whether a source list was ever given (Linux's sflist): only a filter without one may switch mode by
  // IP_ADD_SOURCE_MEMBERSHIP / IP_BLOCK_SOURCE, as Linux.
  bool has_list = false;
  std::vector<wire::Ipv4Addr> sources;
};
using McList = std::vector<McMembership>;

inline Sock* sk_of(InetSock* i) { return &i->sk; }
inline InetSock* inet_sk(Sock* sk) { return reinterpret_cast<InetSock*>(sk); }
static_assert(offsetof(InetSock, sk) == 0);
// The multicast options and IP_BIND_ADDRESS_NO_PORT live in what was padding: TCP's layout after InetSock
// does not move.
static_assert(sizeof(InetSock) == sizeof(Sock) + 48);

// Marks readiness changes; delivered to epoll and callbacks at the end of the poll iteration.
void sock_wake(Sock* sk, uint32_t events);
// Charges a received packet to the socket's receive buffer, or says it does not fit (false). Linux's three
// rules: a datagram is admitted while what is queued does not exceed rcvbuf, so one larger than the buffer
// still arrives and the overshoot is one datagram (UDP's __udp_enqueue_schedule_skb); a raw socket's while
// it is below rcvbuf (__sock_queue_rcv_skb); the error queue only where the whole entry fits below it
// (sock_queue_err_skb).
enum class Rmem : uint8_t { Datagram, Raw, ErrQueue };
bool sock_rmem_charge(Sock* sk, uint32_t truesize, Rmem rule);
void sock_rmem_uncharge(Sock* sk, uint32_t truesize);
// Takes the head of the receive queue off (uncharged) and returns it.
Pktbuf sock_rqueue_pop(Sock* sk);
// Frees the whole receive queue, uncharging it.
void sock_rqueue_purge(Sock* sk);

}  // namespace skiff
