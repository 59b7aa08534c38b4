// UDP (RFC 768, RFC 1122 §4.1.3): lookup by best match, checksums (offloaded where the device can),
// a receive queue bounded by SO_RCVBUF, ICMP port unreachable for closed ports, ICMP errors reported on
// connected sockets.

#include "udp/udp.hh"

#include <sys/epoll.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <linux/errqueue.h>
#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

#include "base/siphash.hh"
#include "inet/cmsg.hh"
#include "inet/inet.hh"
#include "ipv4/igmp.hh"
#include "sock/iov.hh"
#include "stack/shard.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/udp.hh"

namespace skiff {

using wire::Ipv4Addr;
using wire::UdpView;

namespace {

constexpr uint8_t kProtoUdp = static_cast<uint8_t>(wire::IpProto::Udp);
constexpr size_t kMaxPayload = 65535 - 20 - 8;

UdpSock* udp_sk(Sock* sk) { return reinterpret_cast<UdpSock*>(sk); }

// How well socket `s` matches a datagram: -1 not at all; more for each of its bound address, connected
// address and connected port that names the datagram's (RFC 1122 §4.1.3.3).
int match_score(const InetSock* s, Ipv4Addr saddr, uint16_t sport, Ipv4Addr daddr) {
  int score = 1;
  if (!s->rcv_saddr.is_any()) {
    if (s->rcv_saddr != daddr) return -1;
    score += 4;
  }
  if (!s->daddr.is_any()) {
    if (s->daddr != saddr) return -1;
    score += 4;
  }
  if (s->dport) {
    if (s->dport != sport) return -1;
    score += 4;
  }
  return score;
}

// Best match for a datagram: a connected socket beats a bound address beats a wildcard. Among equal
// SO_REUSEPORT sockets a keyed hash of the 4-tuple picks one, as Linux's reuseport_select_sock: each with the
// same share (reciprocal_scale of the hash over their count), the same one for every datagram of a flow, and
// which one a sender cannot choose by its ports (the key is secret).
InetSock* lookup(Shard& sh, Ipv4Addr saddr, uint16_t sport, Ipv4Addr daddr, uint16_t dport) {
  InetSock* best = nullptr;
  int best_score = -1;
  uint32_t equals = 0;  // reuseport sockets with the best score, when the first of them is one
  for (InetSock* s = sh.udp.bucket(dport); s; s = s->bind_next) {
    const int score = match_score(s, saddr, sport, daddr);
    if (score > best_score) {
      best = s;
      best_score = score;
      equals = s->sk.reuseport ? 1 : 0;
    } else if (score == best_score && equals && s->sk.reuseport) {
      ++equals;
    }
  }
  if (equals < 2) return best;
  struct {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
  } tuple{saddr.host(), daddr.host(), sport, dport};
  const uint32_t hash = static_cast<uint32_t>(siphash24(process_secret(), &tuple, sizeof tuple));
  uint32_t pick = static_cast<uint32_t>((uint64_t{hash} * equals) >> 32);
  for (InetSock* s = best; s; s = s->bind_next) {
    if (!s->sk.reuseport || match_score(s, saddr, sport, daddr) != best_score) continue;
    if (pick-- == 0) return s;
  }
  return best;
}

// `copied`: p is a copy made by Shard::copy_for_queue (small already where it could be).
bool deliver(Shard& sh, InetSock* is, Pktbuf p, const Ipv4Rx& rx, uint16_t sport, uint16_t dport,
             bool copied = false) {
  Sock* sk = &is->sk;
  // (shutdown(SHUT_RD) does not stop delivery: Linux keeps queueing datagrams for the socket.)
  // A full receive buffer refuses a datagram whatever its size (Rmem::Datagram): before it is copied.
  if (sk->rmem_alloc > sk->rcvbuf) {
    ++udp_sk(sk)->drops;
    sh.drop(std::move(p), Drop::UdpRcvbufFull);
    return false;
  }
  if (!copied) p = sh.condense(std::move(p));
  PktMeta* m = p.meta();
  m->src_addr = rx.src.host();
  m->dst_addr = rx.dst.host();
  m->src_port = sport;
  m->dst_port = dport;
  m->ttl = rx.ttl;
  m->tos = rx.tos;
  m->steer_iface = static_cast<uint8_t>(rx.port->ifc->index);  // for IP_PKTINFO
  m->rx_time_ns = static_cast<uint64_t>(sh.now().ns());        // for SO_TIMESTAMP
  m->offset = 0;
  m->truesize = p.mbuf()->buf_len * p.nb_segs();
  if (sk->state == sk_state::kEstablished) sk->cpu_heard = true;  // SO_INCOMING_CPU (Linux: connected only)
  if (!sock_rmem_charge(sk, m->truesize, Rmem::Datagram)) {
    ++udp_sk(sk)->drops;
    sh.drop(std::move(p), Drop::UdpRcvbufFull);
    return false;
  }
  sk->receive_queue.push(std::move(p));
  ++sh.stats.udp_in_datagrams;
  sock_wake(sk, EPOLLIN | EPOLLRDNORM);
  return true;
}

bool port_conflict(Shard& sh, InetSock* me, uint16_t port) {
  for (InetSock* s = sh.udp.bucket(port); s; s = s->bind_next) {
    if (s == me) continue;
    const bool addr_overlap = s->rcv_saddr.is_any() || me->rcv_saddr.is_any() || s->rcv_saddr == me->rcv_saddr;
    if (!addr_overlap) continue;
    if (s->sk.reuseaddr && me->sk.reuseaddr) continue;
    if (s->sk.reuseport && me->sk.reuseport) continue;
    return true;
  }
  return false;
}

int udp_get_port(Sock* sk, uint16_t port) {
  Shard& sh = *sk->shard;
  InetSock* me = inet_sk(sk);
  if (port == 0) {
    port = sh.socks.ports.pick_random(
        [&](uint16_t p) { return sh.ephemeral_ours(PortDirectory::kUdp, p) && !port_conflict(sh, me, p); },
        me->local_port_range);
    if (port == 0) return -EAGAIN;  // Linux: every ephemeral port is taken
  } else if (port_conflict(sh, me, port)) {
    return -EADDRINUSE;
  }
  me->num = port;
  const bool first = !sh.udp.bucket(port);
  sh.udp.add(me);
  if (first) sh.announce_port(PortDirectory::kUdp, port, true);
  return 0;
}

void udp_unhash(Sock* sk) {
  InetSock* me = inet_sk(sk);
  if (!me->num) return;
  Shard& sh = *sk->shard;
  sh.udp.remove(me);
  if (!sh.udp.bucket(me->num)) sh.announce_port(PortDirectory::kUdp, me->num, false);
}

int udp_init(Sock* sk) {
  sk->state = sk_state::kClose;
  return 0;
}

void udp_destroy(Sock* sk) {
  udp_sk(sk)->cork.reset();  // a gathered datagram not yet sent is discarded (udp_flush_pending_frames)
  udp_sk(sk)->cork_pending = false;
  mc_leave_all(sk);
  sock_rqueue_purge(sk);
  inet_purge_errors(sk);
}

void udp_close(Sock* sk, int64_t) {
  udp_unhash(sk);
  udp_destroy(sk);
  sk->shard->socks.free_sock(sk);
}

// __udp_disconnect: forgets the peer, and whatever bind() did not fix: the source address, and a port
// chosen by the stack (autobind, or bind to port 0), which goes back to the pool.
int udp_disconnect(Sock* sk, int) {
  InetSock* is = inet_sk(sk);
  sk->state = sk_state::kClose;
  is->daddr = Ipv4Addr::any();
  is->dport = 0;
  if (!(sk->userlocks & kBindAddrLock)) is->rcv_saddr = is->saddr = Ipv4Addr::any();
  if (!(sk->userlocks & kBindPortLock) && is->num) {
    udp_unhash(sk);
    is->num = 0;
  }
  return 0;
}

// ip4_datagram_connect: fixes the peer; sends without an address go there and only its datagrams arrive.
int udp_connect(Sock* sk, const sockaddr* addr, socklen_t len) {
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
  if (sin->sin_family != AF_INET) return -EAFNOSUPPORT;
  InetSock* is = inet_sk(sk);
  Shard& sh = *sk->shard;
  Ipv4Addr dst(ntohl(sin->sin_addr.s_addr));
  if (dst.is_any()) dst = Ipv4Addr::of(127, 0, 0, 1);  // Linux maps INADDR_ANY to loopback
  auto rt = sh.routes.lookup(dst);
  if (!rt) return -ENETUNREACH;
  if (inet_is_broadcast(sh, dst) && !sk->broadcast) return -EACCES;
  // __ip4_datagram_connect: the route's source becomes the sending address where none is set (a socket bound
  // to a broadcast or multicast address has none), and the receiving address where the socket was bound to
  // the wildcard: from now on only datagrams to that address arrive (disconnect undoes what bind did not fix).
  // A loopback source never leaves the host (Linux's __mkroute_output: EINVAL).
  if (!sh.is_local_addr(dst) && (is->saddr.is_loopback() || is->rcv_saddr.is_loopback())) return -EINVAL;
  if (is->saddr.is_any()) is->saddr = rt->src;
  if (is->rcv_saddr.is_any()) is->rcv_saddr = rt->src;
  if (!is->num) {
    const int err = udp_get_port(sk, 0);
    if (err) return err;
  }
  is->daddr = dst;
  is->dport = ntohs(sin->sin_port);
  is->ip_ident = static_cast<uint16_t>(sk->shard->rng.next());  // a new peer: a new start (inet_id)
  sk->state = sk_state::kEstablished;
  return 0;
}

// What every datagram of one sendmsg() carries.
struct UdpTx {
  uint16_t sport, dport;
  Ipv4Addr src, dst;
  uint16_t path;  // the MTU the datagrams go by
};

// Puts the UDP header in front of `len` bytes of payload with its checksum (RFC 768), or the pseudo-header
// sum for the device to complete (`offload`).
bool udp_add_header(Pktbuf& p, const UdpTx& tx, size_t len, bool offload) {
  auto* h = p.prepend(UdpView::kHeaderLen);
  if (!h) return false;
  UdpView u(h, UdpView::kHeaderLen);
  const uint16_t ulen = static_cast<uint16_t>(len + UdpView::kHeaderLen);
  u.set_src_port(tx.sport);
  u.set_dst_port(tx.dport);
  u.set_length(ulen);
  u.set_checksum_raw(0);
  const uint64_t phdr = wire::pseudo_header_sum(tx.src, tx.dst, kProtoUdp, ulen);
  if (offload) {
    u.set_checksum_raw(wire::csum_fold16(phdr));
    p.ol_flags() |= RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4;
    p.mbuf()->l4_len = UdpView::kHeaderLen;
  } else {
    uint16_t c = wire::csum_finish(p.csum_partial(0, p.len(), phdr));
    if (c == 0) c = 0xffff;  // RFC 768: zero means "no checksum"
    u.set_checksum_raw(c);
  }
  return true;
}

// Up to this many datagrams from one sendmsg() with UDP_SEGMENT (Linux's UDP_MAX_SEGMENTS since 6.10; 64
// before).
constexpr size_t kUdpMaxSegments = 128;

// UDP_SEGMENT (Linux's UDP GSO, udp_send_skb): the payload leaves as datagrams of `gso` bytes each, the last
// one shorter where it does not divide, each with its own UDP and IP header. Linux hands the device one
// large buffer to cut; here the datagrams are built in one pass and handed to the device together, all or
// none (no buffers: nothing sent).
ssize_t udp_send_segments(Sock* sk, ShardPort& sp, const iovec* iov, size_t iovlen, size_t len, uint16_t gso,
                          const UdpTx& tx, const Ipv4Tx& ip) {
  Shard& sh = *sk->shard;
  // Each datagram must fit the MTU it goes by, and there is a bound on how many (Linux: EINVAL for both).
  if (wire::Ipv4View::kMinHeaderLen + UdpView::kHeaderLen + gso > tx.path) return -EINVAL;
  if (len > gso * kUdpMaxSegments) return -EINVAL;
  const size_t n = len > gso ? (len + gso - 1) / gso : 1;
  Pktbuf dgrams[kUdpMaxSegments];
  const bool offload = sp.ifc->caps.tx_udp_csum;
  for (size_t i = 0; i < n; ++i) {
    const size_t off = i * gso;
    const size_t seg = std::min<size_t>(gso, len - off);
    dgrams[i] = inet_build_payload(sh, iov, iovlen, seg, off);
    if (!dgrams[i] || !udp_add_header(dgrams[i], tx, seg, offload)) return -ENOBUFS;
  }
  for (size_t i = 0; i < n; ++i) {
    const int rc = ipv4_output(sh, std::move(dgrams[i]), ip);
    // Where the first goes, all go (one route, one neighbour); a later refusal is the device's to count,
    // as a GSO buffer cut by the device is to Linux.
    if (rc < 0 && i == 0) return rc;
    if (rc >= 0) ++sh.stats.udp_out_datagrams;
  }
  return static_cast<ssize_t>(len);
}

// Where a datagram goes: its destination and the control messages of the send that named it.
struct UdpDest {
  Ipv4Addr dst;
  uint16_t dport = 0;
  InetCmsgSend cm;
};

}  // namespace

// UDP_CORK / MSG_MORE (Linux's corked udp_sendmsg, ip_append_data): one datagram gathered from several sends,
// to the destination and with the control messages of the first; it leaves on the first send without
// MSG_MORE while UDP_CORK is off, or when UDP_CORK is turned off.
struct UdpCork {
  UdpDest dest;
  std::vector<uint8_t> data;  // the payload so far
  size_t limit = 0;           // the most it may hold: kMaxPayload, or under IP_PMTUDISC_DO / PROBE the MTU's room
};

namespace {

// What udp_transmit does: send a datagram; check a corked datagram's first part (all checks, nothing sent;
// returns how large the datagram may grow);
// send a corked datagram whose first part passed them (Linux checks those parts once, when the first is
// taken: a pending error, a shut-down send side or broadcast permission does not stop it later).
enum class UdpTxMode : uint8_t { kSend, kCheck, kPushCorked };
ssize_t udp_transmit(Sock* sk, const UdpDest& d, const iovec* iov, size_t iovlen, size_t len, UdpTxMode mode);

// Forgets the gathered bytes; a buffer grown past a few KiB goes back to the allocator.
void udp_cork_clear(UdpSock* us) {
  us->cork_pending = false;
  if (us->cork->data.capacity() > 4096) {
    std::vector<uint8_t>().swap(us->cork->data);
  } else {
    us->cork->data.clear();
  }
}

// Sends the gathered datagram (udp_push_pending_frames): its length, or the error of sending it.
ssize_t udp_push_pending(Sock* sk) {
  UdpSock* us = udp_sk(sk);
  UdpCork& c = *us->cork;
  const iovec v{c.data.data(), c.data.size()};
  const ssize_t rc = udp_transmit(sk, c.dest, &v, 1, c.data.size(), UdpTxMode::kPushCorked);
  udp_cork_clear(us);
  return rc;
}

// Adds a send's payload to the gathered datagram. One that would pass the limit discards it all (EMSGSIZE,
// as ip_append_data's failure flushes the pending frames; an MTU's limit is also told to the error queue
// with IP_RECVERR, as ip_local_error).
ssize_t udp_append(Sock* sk, const msghdr* msg, size_t len, bool corkreq) {
  UdpSock* us = udp_sk(sk);
  UdpCork& c = *us->cork;
  const size_t at = c.data.size();
  if (at + len > c.limit) {
    InetSock* is = inet_sk(sk);
    if (is->recverr && c.limit < kMaxPayload)
      inet_queue_err(sk,
                     InetSockErr{.err = EMSGSIZE, .origin = SO_EE_ORIGIN_LOCAL,
                                 .info = static_cast<uint32_t>(c.limit + UdpView::kHeaderLen + 20u),
                                 .addr = c.dest.dst, .port = is->dport},
                     nullptr, nullptr, 0, 0);
    udp_cork_clear(us);
    return -EMSGSIZE;
  }
  // Grown by doubling, but never past the limit: a socket's buffer stays within one datagram.
  if (c.data.capacity() < at + len) c.data.reserve(std::min(c.limit, std::max(at + len, 2 * c.data.capacity())));
  c.data.resize(at + len);
  size_t off = at;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) {
    if (!msg->msg_iov[i].iov_len) continue;
    memcpy(c.data.data() + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
    off += msg->msg_iov[i].iov_len;
  }
  if (corkreq) return static_cast<ssize_t>(len);
  const ssize_t rc = udp_push_pending(sk);
  return rc < 0 ? rc : static_cast<ssize_t>(len);
}

// The checks come in Linux's order: the 16-bit length, MSG_OOB, the address, the route and broadcast
// permission, then (ip_make_skb) the size that fits a datagram, a pending error and a shut-down send side.
// While a corked datagram is pending, a send only adds to it (its address and control messages are not
// looked at, as Linux).
ssize_t udp_sendmsg(Sock* sk, const msghdr* msg, int flags) {
  InetSock* is = inet_sk(sk);
  UdpSock* us = udp_sk(sk);
  size_t len = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) len += msg->msg_iov[i].iov_len;
  if (len > 0xffff) return -EMSGSIZE;
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  const bool corkreq = us->corkflag || (flags & MSG_MORE);
  if (us->cork_pending) [[unlikely]]
    return udp_append(sk, msg, len, corkreq);

  UdpDest d;
  if (msg->msg_name) {
    if (msg->msg_namelen < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
    const auto* sin = static_cast<const sockaddr_in*>(msg->msg_name);
    if (sin->sin_family != AF_INET) {
      if (sin->sin_family != AF_UNSPEC) return -EAFNOSUPPORT;
    }
    d.dst = Ipv4Addr(ntohl(sin->sin_addr.s_addr));
    d.dport = ntohs(sin->sin_port);
    if (d.dport == 0) return -EINVAL;
  } else {
    if (sk->state != sk_state::kEstablished) return -EDESTADDRREQ;
    d.dst = is->daddr;
    d.dport = is->dport;
  }
  // Control messages (IP_PKTINFO, IP_TTL, IP_TOS, UDP_SEGMENT) for this send alone.
  if (msg->msg_controllen) [[unlikely]] {
    if (const int e = inet_cmsg_send(msg, &d.cm, /*udp=*/true)) return e;
  }
  if (corkreq) [[unlikely]] {
    // The first part of a corked datagram: every check a send makes, then gathered.
    const ssize_t limit = udp_transmit(sk, d, nullptr, 0, len, UdpTxMode::kCheck);
    if (limit < 0) return limit;
    if (!us->cork) us->cork = std::make_unique<UdpCork>();
    if (!d.cm.gso_size) d.cm.gso_size = us->gso_size;  // the socket's UDP_SEGMENT as it is now
    us->cork->dest = d;
    us->cork->limit = static_cast<size_t>(limit);
    us->cork_pending = true;
    return udp_append(sk, msg, len, true);
  }
  return udp_transmit(sk, d, msg->msg_iov, msg->msg_iovlen, len, UdpTxMode::kSend);
}

// One datagram of `len` bytes (`iov`) to `d` (with UDP_SEGMENT, several): the route, the checks, the send.
ssize_t udp_transmit(Sock* sk, const UdpDest& d, const iovec* iov, size_t iovlen, size_t len, UdpTxMode mode) {
  const bool check_only = mode == UdpTxMode::kCheck;
  const bool checked = mode == UdpTxMode::kPushCorked;
  InetSock* is = inet_sk(sk);
  Shard& sh = *sk->shard;
  // INADDR_ANY is the host (Linux's ip_route_output_key_hash_rcu: 127.0.0.1 through lo).
  const Ipv4Addr dst = d.dst.is_any() ? Ipv4Addr::of(127, 0, 0, 1) : d.dst;
  const uint16_t dport = d.dport;
  InetCmsgSend cm = d.cm;
  if (dst.is_multicast()) [[unlikely]] {
    // To a group: IP_MULTICAST_IF's interface and address unless the message names its own (udp_sendmsg).
    if (!cm.oif) cm.oif = is->mc_index;
    if (cm.addr.is_any()) cm.addr = is->mc_addr;
  }
  RouteResult cm_route;
  const bool cm_routed = cm.oif || !cm.addr.is_any();
  std::optional<RouteResult> rt;
  if (cm_routed) [[unlikely]] {
    if (const int e = inet_cmsg_route(sh, dst, cm, &cm_route)) return e;
    rt = cm_route;
  } else {
    rt = sh.routes.lookup(dst);
  }
  if (!rt) return -ENETUNREACH;
  if (!checked) {
    if (inet_is_broadcast(sh, dst) && !sk->broadcast) return -EACCES;
    if (len > kMaxPayload) return -EMSGSIZE;
    if (sk->err) return -std::exchange(sk->err, 0);  // sock_alloc_send_skb: sock_error() first
    if (sk->shutdown & kSendShutdown) return -EPIPE;
  }
  if (!is->num) {
    const int err = udp_get_port(sk, 0);
    if (err) return err;
  }
  // The socket's sending address (udp_sendmsg's inet_saddr: none for a socket bound to a broadcast or
  // multicast address, whose datagrams leave from the route's source), else the route's.
  const Ipv4Addr src = !cm.addr.is_any() ? cm.addr : !is->saddr.is_any() ? is->saddr : rt->src;
  ShardPort* sp = sh.port_for(rt->iface);
  if (!sp) return -ENETUNREACH;

  // The path MTU (RFC 1191) where ICMP taught one: IP_PMTUDISC_DO refuses a datagram above it; WANT and DONT
  // fragment it here to the path's size (as Linux's ip_sk_use_pmtu), WANT sending whole datagrams with DF;
  // PROBE, INTERFACE and OMIT go by the interface alone, PROBE always with DF (as Linux).
  const bool use_pmtu = is->pmtudisc < IP_PMTUDISC_PROBE;
  const uint16_t path = use_pmtu ? sh.pmtu.path_mtu(dst, sp->ifc->mtu, sh.now()) : sp->ifc->mtu;
  const UdpTx tx{.sport = is->num, .dport = dport, .src = src, .dst = dst, .path = path};
  // The TTL: IP_TTL's control message, else IP_MULTICAST_TTL to a group, else IP_TTL (__ip_make_skb).
  const Ipv4Tx ip{.src = src, .dst = dst, .proto = kProtoUdp,
                  .ttl = cm.ttl.value_or(dst.is_multicast() ? is->mc_ttl : is->ttl),
                  .tos = cm.tos.value_or(is->tos), .df = is->pmtudisc != IP_PMTUDISC_DONT &&
                                                          is->pmtudisc < IP_PMTUDISC_INTERFACE,
                  .mtu = path, .route = cm_routed ? &cm_route : nullptr,
                  .ident = is->daddr.is_any() ? nullptr : &is->ip_ident,  // connected: its own IDs (inet_id)
                  .mc_loop = (is->mc_flags & InetSock::kMcLoop) != 0,
                  .mc_local = dst.is_multicast() && !cm.ttl && is->mc_ttl == 0};
  const uint16_t gso = cm.gso_size.value_or(udp_sk(sk)->gso_size);
  if (gso) [[unlikely]]
    return check_only ? static_cast<ssize_t>(kMaxPayload) : udp_send_segments(sk, *sp, iov, iovlen, len, gso, tx, ip);

  const bool fits = len + UdpView::kHeaderLen + 20u <= sp->ifc->mtu;
  const bool fits_path = len + UdpView::kHeaderLen + 20u <= path;
  if ((!fits_path && is->pmtudisc == IP_PMTUDISC_DO) || (!fits && is->pmtudisc == IP_PMTUDISC_PROBE)) {
    // With IP_RECVERR the error queue says which MTU refused it (Linux's ip_local_error).
    if (is->recverr)
      inet_queue_err(sk,
                     InetSockErr{.err = EMSGSIZE, .origin = SO_EE_ORIGIN_LOCAL, .info = path, .addr = dst,
                                 .port = is->dport},  // the connected port, 0 unconnected (as Linux)
                     nullptr, nullptr, 0, 0);
    return -EMSGSIZE;
  }
  if (check_only) {
    // What a corked datagram may grow to: no more than these MTUs let through whole.
    if (is->pmtudisc == IP_PMTUDISC_DO) return path - UdpView::kHeaderLen - 20;
    if (is->pmtudisc == IP_PMTUDISC_PROBE) return sp->ifc->mtu - UdpView::kHeaderLen - 20;
    return static_cast<ssize_t>(kMaxPayload);
  }
  // Copy the payload into buffers (the one copy on send), leaving headroom for UDP + IP + Ethernet.
  Pktbuf p = inet_build_payload(sh, iov, iovlen, len);
  if (!p) return -ENOBUFS;
  if (!udp_add_header(p, tx, len, fits && fits_path && sp->ifc->caps.tx_udp_csum)) return -ENOBUFS;
  Ipv4Tx one = ip;
  one.df = ip.df && (is->pmtudisc != IP_PMTUDISC_WANT || fits_path);  // WANT: DF while it fits the path
  const int rc = ipv4_output(sh, std::move(p), one);
  if (rc < 0) return rc;
  ++sh.stats.udp_out_datagrams;
  return static_cast<ssize_t>(len);
}

// UDP_GRO on receive (what Linux's GRO hands a socket with UDP_GRO: udp_gro_receive_segment's rules): after a
// datagram of `gso` bytes, the following queued datagrams join it while they are from the same source to the
// same address and interface with the same TTL and TOS, each of `gso` bytes but the last, which may be
// shorter and ends the train; at most 64 in all and 65,507 bytes (one IP datagram's worth). Skiff gathers at
// read time, and only datagrams that fit the buffer whole: none is ever cut.
constexpr unsigned kGroMaxSegs = 64;  // Linux's UDP_GRO_CNT_MAX
constexpr size_t kGroMaxBytes = 65535 - 20 - UdpView::kHeaderLen;

bool gro_joins(const PktMeta& first, const PktMeta& m) {
  return m.src_addr == first.src_addr && m.src_port == first.src_port && m.dst_addr == first.dst_addr &&
         m.ttl == first.ttl && m.tos == first.tos && m.steer_iface == first.steer_iface;
}

// As __skb_recv_udp: a pending error comes first (even with datagrams queued); MSG_OOB is ignored; with
// nothing queued after shutdown(SHUT_RD) a blocking call returns 0 and a non-blocking one EAGAIN.
ssize_t udp_recvmsg(Sock* sk, msghdr* msg, int flags, socklen_t* addr_len) {
  if (flags & MSG_ERRQUEUE) return inet_recv_error(sk, msg, addr_len);  // IP_RECVERR's queue
  if (sk->err) return -std::exchange(sk->err, 0);
  rte_mbuf* m = sk->receive_queue.front();
  if (!m) {
    if ((sk->shutdown & kRcvShutdown) && !(flags & MSG_DONTWAIT)) return 0;
    return -EAGAIN;
  }
  Pktbuf view(m);  // borrowed: released below unless consumed
  const uint32_t dlen = view.len();
  size_t copied = pkt_copy_to_iov(view, 0, dlen, msg->msg_iov, msg->msg_iovlen);
  const PktMeta* meta = view.meta();
  if (msg->msg_name) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(meta->src_port);
    sin.sin_addr.s_addr = htonl(meta->src_addr);
    memcpy(msg->msg_name, &sin, std::min<size_t>(msg->msg_namelen, sizeof sin));
    *addr_len = sizeof sin;
  }
  msg->msg_flags = copied < dlen ? MSG_TRUNC : 0;
  // UDP_GRO: the datagrams that follow this whole one in a train (its size reported when there are some).
  unsigned segs = 1;
  if (udp_sk(sk)->gro && copied == dlen && dlen) [[unlikely]] {
    const size_t room = std::min(iov_room(msg->msg_iov, msg->msg_iovlen), kGroMaxBytes);
    uint32_t last = dlen;
    for (rte_mbuf* n = meta->qnext; n && segs < kGroMaxSegs && last == dlen; n = pkt_meta(n)->qnext) {
      const uint32_t len = n->pkt_len;
      if (!len || len > dlen || copied + len > room || !gro_joins(*meta, *pkt_meta(n))) break;
      Pktbuf next(n);  // borrowed
      copied += pkt_copy_to_iov(next, 0, len, msg->msg_iov, msg->msg_iovlen, copied);
      (void)next.release();
      last = len;
      ++segs;
    }
  }
  inet_cmsg_recv(sk, msg, *meta, segs > 1 ? static_cast<int>(dlen) : 0);
  (void)view.release();
  if (!(flags & MSG_PEEK))
    for (unsigned i = 0; i < segs; ++i) sock_rqueue_pop(sk).reset();
  return static_cast<ssize_t>((flags & MSG_TRUNC) && segs == 1 ? dlen : copied);
}

int udp_ioctl(Sock* sk, unsigned long cmd, void* arg) {
  switch (cmd) {
    case SIOCINQ: {  // FIONREAD: the size of the next datagram's payload (Linux semantics)
      if (!arg) return -EFAULT;
      rte_mbuf* m = sk->receive_queue.front();
      *static_cast<int*>(arg) = m ? static_cast<int>(m->pkt_len) : 0;
      return 0;
    }
    case SIOCOUTQ:
      if (!arg) return -EFAULT;
      *static_cast<int*>(arg) = 0;  // datagrams leave at once
      return 0;
    default:
      return -kNoIoctlCmd;
  }
}

uint32_t udp_poll(Sock* sk) {
  uint32_t mask = 0;
  if (sk->err || !sk->error_queue.empty()) mask |= EPOLLERR;
  if (sk->shutdown & kRcvShutdown) mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
  if (sk->shutdown == (kRcvShutdown | kSendShutdown)) mask |= EPOLLHUP;
  if (!sk->receive_queue.empty()) mask |= EPOLLIN | EPOLLRDNORM;
  mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;  // datagram_poll: writable (no send buffer held), shut down or not
  return mask;
}

// Level IPPROTO_UDP (Linux's udp_lib_setsockopt/getsockopt): UDP_SEGMENT, the datagram size of every send
// (0: off); UDP_CORK; UDP_GRO (recvmsg gathers trains of equal datagrams); the encapsulations are not offered
// (ENOPROTOOPT).
int udp_setsockopt(Sock* sk, int level, int optname, const void* optval, socklen_t optlen) {
  if (level != IPPROTO_UDP) return ip_setsockopt(sk, level, optname, optval, optlen);
  if (optlen < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  if (!optval) return -EFAULT;
  int val;
  memcpy(&val, optval, sizeof val);
  switch (optname) {
    case UDP_SEGMENT:
      if (val < 0 || val > 0xffff) return -EINVAL;
      udp_sk(sk)->gso_size = static_cast<uint16_t>(val);
      return 0;
    case UDP_CORK: {
      // Turning it off sends what was gathered (a failure to send is not this call's, as Linux).
      UdpSock* us = udp_sk(sk);
      us->corkflag = val != 0;
      if (!val && us->cork_pending) (void)udp_push_pending(sk);
      return 0;
    }
    case UDP_GRO:
      udp_sk(sk)->gro = val != 0;
      return 0;
    default:
      return -ENOPROTOOPT;
  }
}

int udp_getsockopt(Sock* sk, int level, int optname, void* optval, socklen_t* optlen) {
  if (level != IPPROTO_UDP) return ip_getsockopt(sk, level, optname, optval, optlen);
  if (!optlen) return -EFAULT;
  if (static_cast<int>(*optlen) < 0) return -EINVAL;  // Linux reads it as an int
  int val;
  switch (optname) {
    case UDP_SEGMENT:
      val = udp_sk(sk)->gso_size;
      break;
    case UDP_CORK:
      val = udp_sk(sk)->corkflag;
      break;
    case UDP_GRO:
      val = udp_sk(sk)->gro;
      break;
    default:
      return -ENOPROTOOPT;
  }
  const socklen_t n = std::min<socklen_t>(*optlen, sizeof val);
  if (n && !optval) return -EFAULT;
  memcpy(optval, &val, static_cast<size_t>(n));
  *optlen = n;
  return 0;
}

void udp_shutdown(Sock*, int) {}

}  // namespace

void UdpTable::add(InetSock* s) {
  InetSock*& head = ports_[s->num];
  s->bind_next = head;
  head = s;
  ++bound_;
}

void UdpTable::remove(InetSock* s) {
  for (InetSock** p = &ports_[s->num]; *p; p = &(*p)->bind_next) {
    if (*p == s) {
      *p = s->bind_next;
      s->bind_next = nullptr;
      --bound_;
      return;
    }
  }
}

const Proto udp_prot = {
    .name = "UDP",
    .obj_size = sizeof(UdpSock),
    .construct = construct_sock<UdpSock>,
    .destruct = destruct_sock<UdpSock>,
    .slab = true,
    .slab_capacity = &SockConfig::udp_slab,
    .index = 1,
    .init = udp_init,
    .destroy = udp_destroy,
    .close = udp_close,
    .connect = udp_connect,
    .disconnect = udp_disconnect,
    .accept = nullptr,
    .ioctl = udp_ioctl,
    .shutdown = udp_shutdown,
    .setsockopt = udp_setsockopt,
    .getsockopt = udp_getsockopt,
    .sendmsg = udp_sendmsg,
    .recvmsg = udp_recvmsg,
    .backlog_rcv = nullptr,
    .hash = nullptr,
    .unhash = udp_unhash,
    .get_port = udp_get_port,
    .poll = udp_poll,
};

void udp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx) {
  if (p.seg_len() < UdpView::kHeaderLen) return sh.drop(std::move(p), Drop::UdpTruncated);
  auto u = UdpView::checked(p.first_seg(), p.len());
  if (!u) return sh.drop(std::move(p), u.err == wire::WireError::Truncated ? Drop::UdpTruncated : Drop::UdpBadLen);
  const uint16_t ulen = u->length();
  const uint16_t sport = u->src_port(), dport = u->dst_port();
  if (ulen < p.len()) p.truncate(ulen);  // the IP payload may carry trailing bytes: UDP's length rules
  if (u->checksum_raw() != 0) {
    switch (p.rx_l4_csum()) {
      case RxCsum::Good: break;
      case RxCsum::Bad: return sh.drop(std::move(p), Drop::UdpBadChecksum);
      default: {
        const uint64_t ph = wire::pseudo_header_sum(rx.src, rx.dst, kProtoUdp, ulen);
        if (!wire::csum_ok(p.csum_partial(0, ulen, ph))) return sh.drop(std::move(p), Drop::UdpBadChecksum);
      }
    }
  }
  if (rx.ip_bcast) [[unlikely]] {
    // Broadcast and multicast: every matching socket gets a copy (RFC 1122 §4.1.3.3 leaves it to us; Linux's
    // __udp4_lib_mcast_deliver), of every shard: the others with the port bound get the datagram too.
    bool any = false;
    if (sh.nshards > 1 && !sh.fallback_pass) {
      uint64_t others = sh.dir.others(PortDirectory::kUdp, dport);
      if (others && ipv4_restore_header(p, rx)) {
        for (unsigned t = 0; others; ++t, others >>= 1) {
          if (!(others & 1)) continue;
          Pktbuf c(rte_pktmbuf_copy(p.mbuf(), sh.pool.raw(), 0, UINT32_MAX));
          if (!c) {
            sh.drops.add(Drop::NoMbuf);
            continue;
          }
          ++sh.stats.udp_mc_fanout;
          any |= sh.steer_to(t, std::move(c), SteerKind::RxFallback, rx.port->ifc->index, rx.link_bcast ? 1 : 0);
        }
        p.adj(rx.hdr_len);
      }
    }
    const bool mcast = rx.dst.is_multicast();
    const unsigned iface = rx.port->ifc->index;
    for (InetSock* s = sh.udp.bucket(dport); s; s = s->bind_next) {
      if (!s->rcv_saddr.is_any() && s->rcv_saddr != rx.dst) continue;
      if (s->dport && (s->dport != sport || s->daddr != rx.src)) continue;
      if (mcast && !mc_sock_allows(&s->sk, rx.dst, iface, rx.src)) continue;
      any = true;
      if (s->sk.rmem_alloc > s->sk.rcvbuf) {  // refused whatever its size (as in deliver): no copy made
        ++udp_sk(&s->sk)->drops;
        sh.drops.add(Drop::UdpRcvbufFull);
        continue;
      }
      Pktbuf c = sh.copy_for_queue(p.mbuf(), UdpView::kHeaderLen);
      if (!c) {
        sh.drops.add(Drop::NoMbuf);
        continue;
      }
      deliver(sh, s, std::move(c), rx, sport, dport, true);
    }
    if (!any) return sh.drop(std::move(p), Drop::UdpNoSocket);
    return;
  }
  InetSock* s = lookup(sh, rx.src, sport, rx.dst, dport);
  if (!s) {
    if (ipv4_forward_to_port_home(sh, p, rx, PortDirectory::kUdp, dport)) return;
    ++sh.stats.udp_no_ports;
    sh.drops.add(Drop::UdpNoSocket);
    return icmp_send_error(sh, std::move(p), rx, wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kPort);
  }
  p.adj(UdpView::kHeaderLen);
  deliver(sh, s, std::move(p), rx, sport, dport);
}

void udp_err(Shard& sh, const Ipv4Rx& rx, const Pktbuf& icmp, uint8_t type, uint8_t code, uint32_t info,
             const uint8_t* quote, size_t len) {
  // The quote: the IP header we sent, then at least 8 bytes of our UDP header.
  wire::Ipv4View ip(const_cast<uint8_t*>(quote), len);
  const size_t hl = ip.header_len();
  if (len < hl + UdpView::kHeaderLen) return sh.drops.add(Drop::IcmpErrorUnmatched);
  UdpView u(const_cast<uint8_t*>(quote) + hl, UdpView::kHeaderLen);
  // We sent src:sport -> dst:dport; find that socket as if the reply came back.
  InetSock* s = lookup(sh, ip.dst(), u.dst_port(), ip.src(), u.src_port());
  if (!s) return sh.drops.add(Drop::IcmpErrorUnmatched);
  if (type == wire::icmp_type::kSourceQuench) return;  // deprecated (RFC 6633): ignored, as Linux's udp_err
  if (type == wire::icmp_type::kDestUnreachable && code == wire::icmp_unreach::kFragNeeded) {
    // RFC 1191: the path to the destination takes less (a router without the next-hop MTU field leaves
    // us to guess it, §5). Remembered for the shard (IP_MTU, IP_PMTUDISC_DO sends, TCP's MSS), never
    // below the floor. As Linux's udp_err: EMSGSIZE, a hard error unless the socket does no discovery.
    sh.pmtu.learn(ip.dst(), pmtu_from_icmp(info, ip.total_len(), sh.cfg.ipv4.min_pmtu), sh.now());
    if (s->pmtudisc == IP_PMTUDISC_DONT) return;
  }
  const int err = icmp_error_to_errno(type, code);
  const bool hard = icmp_error_is_hard(type, code) ||
                    (type == wire::icmp_type::kDestUnreachable && code == wire::icmp_unreach::kFragNeeded);
  // RFC 1122 §4.1.3.3 / Linux: report on connected sockets (or with IP_RECVERR).
  if (!s->recverr && (!hard || s->sk.state != sk_state::kEstablished)) return;
  if (s->recverr) {
    // And the error queue (Linux's ip_icmp_error): what the message quoted of the datagram's payload, and
    // ee_info as Linux's icmp_unreach / icmp_param_prob give it (the next-hop MTU; the pointer).
    uint32_t ee_info = 0;
    if (type == wire::icmp_type::kDestUnreachable && code == wire::icmp_unreach::kFragNeeded) ee_info = info & 0xffff;
    if (type == wire::icmp_type::kParamProblem) ee_info = info >> 24;
    const uint32_t off = wire::IcmpView::kHeaderLen + static_cast<uint32_t>(hl + UdpView::kHeaderLen);
    inet_queue_err(&s->sk,
                   InetSockErr{.err = err, .origin = SO_EE_ORIGIN_ICMP, .type = type, .code = code, .info = ee_info,
                               .addr = ip.dst(), .port = u.dst_port()},
                   &rx, &icmp, off, icmp.len() > off ? icmp.len() - off : 0);
  }
  s->sk.err = err;
  sock_wake(&s->sk, EPOLLERR);
}

int udp_recv_zc(Sock* sk, Pktbuf* out, sockaddr_in* from) {
  if (sk->receive_queue.empty()) {
    if (sk->err) return -std::exchange(sk->err, 0);
    return (sk->shutdown & kRcvShutdown) ? 0 : -EAGAIN;
  }
  // The caller gets one pointer: a datagram spread over several buffers (reassembled, or received
  // scattered) is moved into its first buffer if it fits there; if not it stays queued (EMSGSIZE) for a
  // copying receive.
  rte_mbuf* head = sk->receive_queue.front();
  if (head->nb_segs > 1 && rte_pktmbuf_linearize(head) != 0) return -EMSGSIZE;
  Pktbuf p = sock_rqueue_pop(sk);
  if (from) {
    *from = sockaddr_in{};
    from->sin_family = AF_INET;
    from->sin_port = htons(p.meta()->src_port);
    from->sin_addr.s_addr = htonl(p.meta()->src_addr);
  }
  const int n = static_cast<int>(p.len());
  *out = std::move(p);
  return n;
}

}  // namespace skiff
