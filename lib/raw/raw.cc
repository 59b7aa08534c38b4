#include "raw/raw.hh"

#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>

#include "inet/cmsg.hh"
#include "inet/inet.hh"
#include "sock/iov.hh"
#include "stack/shard.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

using wire::Ipv4Addr;
using wire::Ipv4View;

namespace {

RawSock* raw_sk(Sock* sk) { return reinterpret_cast<RawSock*>(sk); }

bool raw_has_proto(Shard& sh, uint8_t proto) {
  for (InetSock* s : sh.raw.socks())
    if (static_cast<uint8_t>(s->sk.protocol) == proto) return true;
  return false;
}

int raw_init(Sock* sk) {
  sk->state = sk_state::kClose;
  inet_sk(sk)->num = sk->protocol;  // Linux keeps the protocol in inet_num for raw sockets
  Shard& sh = *sk->shard;
  const bool first = !raw_has_proto(sh, static_cast<uint8_t>(sk->protocol));
  sh.raw.add(inet_sk(sk));
  if (first) sh.announce_raw(static_cast<uint8_t>(sk->protocol), true);
  return 0;
}

void raw_destroy(Sock* sk) {
  mc_leave_all(sk);
  sock_rqueue_purge(sk);
}

void raw_unhash(Sock* sk) {
  Shard& sh = *sk->shard;
  sh.raw.remove(inet_sk(sk));
  if (!raw_has_proto(sh, static_cast<uint8_t>(sk->protocol))) sh.announce_raw(static_cast<uint8_t>(sk->protocol), false);
}

void raw_close(Sock* sk, int64_t) {
  raw_unhash(sk);
  raw_destroy(sk);
  sk->shard->socks.free_sock(sk);
}

int raw_connect(Sock* sk, const sockaddr* addr, socklen_t len) {
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
  if (sin->sin_family != AF_INET) return -EAFNOSUPPORT;
  InetSock* is = inet_sk(sk);
  const Ipv4Addr dst(ntohl(sin->sin_addr.s_addr));
  auto rt = sk->shard->routes.lookup(dst);
  if (!rt) return -ENETUNREACH;
  if (inet_is_broadcast(*sk->shard, dst) && !sk->broadcast) return -EACCES;
  if (is->saddr.is_any()) is->saddr = rt->src;  // as __ip4_datagram_connect (see udp_connect)
  if (is->rcv_saddr.is_any()) is->rcv_saddr = rt->src;
  is->daddr = dst;
  is->dport = ntohs(sin->sin_port);  // kept for getpeername, as ip4_datagram_connect (it filters nothing here)
  is->ip_ident = static_cast<uint16_t>(sk->shard->rng.next());  // a new peer: a new start (inet_id)
  sk->state = sk_state::kEstablished;
  return 0;
}

// Linux's raw sockets disconnect with __udp_disconnect: the peer goes and so do the addresses (raw_bind fixes
// no SOCK_BINDADDR_LOCK), including what connect() filled in.
int raw_disconnect(Sock* sk, int) {
  InetSock* is = inet_sk(sk);
  is->daddr = Ipv4Addr::any();
  is->dport = 0;
  is->rcv_saddr = is->saddr = Ipv4Addr::any();
  sk->state = sk_state::kClose;
  return 0;
}

// The checks in Linux's raw_sendmsg order: the 16-bit length, MSG_OOB, the address (by msg_namelen), the
// control messages, the route, broadcast permission; then what the build of the packet checks: without
// IP_HDRINCL ip_append_data's size bound (and no shutdown or pending-error check: its buffers come from
// alloc_skb), with it sock_alloc_send_skb's pending error and shut-down send side.
ssize_t raw_sendmsg(Sock* sk, const msghdr* msg, int flags) {
  InetSock* is = inet_sk(sk);
  Shard& sh = *sk->shard;
  size_t len = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) len += msg->msg_iov[i].iov_len;
  if (len > 0xffff) return -EMSGSIZE;
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  Ipv4Addr dst;
  if (msg->msg_namelen) {
    if (msg->msg_namelen < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
    const auto* sin = static_cast<const sockaddr_in*>(msg->msg_name);
    if (sin->sin_family != AF_INET && sin->sin_family != AF_UNSPEC) return -EAFNOSUPPORT;
    dst = Ipv4Addr(ntohl(sin->sin_addr.s_addr));
  } else {
    if (sk->state != sk_state::kEstablished) return -EDESTADDRREQ;
    dst = is->daddr;
  }
  // Control messages (IP_PKTINFO, IP_TTL, IP_TOS; Linux's raw_sendmsg takes them too): for this datagram.
  InetCmsgSend cm;
  if (msg->msg_controllen) [[unlikely]] {
    if (const int e = inet_cmsg_send(msg, &cm, /*udp=*/false)) return e;
  }
  // IP_MULTICAST_IF, as raw_sendmsg (with IP_HDRINCL too: its route is chosen the same way).
  if (dst.is_multicast()) [[unlikely]] {
    if (!cm.oif) cm.oif = is->mc_index;
    if (cm.addr.is_any() && !is->hdrincl) cm.addr = is->mc_addr;
  }
  RouteResult cm_route;
  const bool cm_routed = cm.oif || (!is->hdrincl && !cm.addr.is_any());
  if (cm_routed) {
    if (const int e = inet_cmsg_route(sh, dst, cm, &cm_route)) return e;
  } else if (!sh.routes.lookup(dst)) {
    return -ENETUNREACH;
  }
  if (inet_is_broadcast(sh, dst) && !sk->broadcast) return -EACCES;
  if (!is->hdrincl) {
    if (len > 0xffff - Ipv4View::kMinHeaderLen) return -EMSGSIZE;
  } else {
    if (sk->err) return -std::exchange(sk->err, 0);
    if (sk->shutdown & kSendShutdown) return -EPIPE;
  }
  Pktbuf p = inet_build_payload(sh, msg->msg_iov, msg->msg_iovlen, len);
  if (!p) return -ENOBUFS;
  if (is->hdrincl) {
    // The application wrote the IP header; we check it and fill what Linux fills (raw_send_hdrinc).
    if (len < Ipv4View::kMinHeaderLen || p.seg_len() < Ipv4View::kMinHeaderLen) return -EINVAL;
    Ipv4View ip(p.data(), p.seg_len());
    const size_t hl = ip.header_len();
    if (ip.version() != 4 || hl < Ipv4View::kMinHeaderLen || hl > len || hl > p.seg_len()) return -EINVAL;
    ip.set_total_len(static_cast<uint16_t>(len));
    if (ip.src().is_any()) {
      auto rt = sh.routes.lookup(ip.dst());
      if (!rt) return -ENETUNREACH;
      ip.set_src(rt->src);
    }
    // An ID of 0 is chosen for it (raw_send_hdrinc -> ip_select_ident without a socket): stays 0 with DF.
    if (ip.ident() == 0 && !(ip.flags_frag() & Ipv4View::kFlagDF))
      ip.set_ident(sh.ip_ident_hashed(ip.src(), ip.dst(), ip.proto(), 1));
    const int rc = ipv4_output_hdrincl(sh, std::move(p), cm_routed ? &cm_route : nullptr,
                                       (is->mc_flags & InetSock::kMcLoop) != 0);
    return rc < 0 ? rc : static_cast<ssize_t>(len);
  }
  const Ipv4Addr src = !cm.addr.is_any() ? cm.addr : is->saddr;  // any = the route's source (raw_sendmsg)
  const int rc = ipv4_output(sh, std::move(p),
                             Ipv4Tx{.src = src, .dst = dst, .proto = static_cast<uint8_t>(sk->protocol),
                                    .ttl = cm.ttl.value_or(dst.is_multicast() ? is->mc_ttl : is->ttl),
                                    .tos = cm.tos.value_or(is->tos),
                                    .df = is->pmtudisc == IP_PMTUDISC_DO, .route = cm_routed ? &cm_route : nullptr,
                                    .ident = is->daddr.is_any() ? nullptr : &is->ip_ident,
                                    .mc_loop = (is->mc_flags & InetSock::kMcLoop) != 0,
                                    .mc_local = dst.is_multicast() && !cm.ttl && is->mc_ttl == 0});
  return rc < 0 ? rc : static_cast<ssize_t>(len);
}

ssize_t raw_recvmsg(Sock* sk, msghdr* msg, int flags, socklen_t* addr_len) {
  if (flags & MSG_OOB) return -EOPNOTSUPP;
  if (flags & MSG_ERRQUEUE) return inet_recv_error(sk, msg, addr_len);  // IP_RECVERR's queue
  if (sk->err) return -std::exchange(sk->err, 0);  // a pending error first (__skb_try_recv_datagram)
  rte_mbuf* m = sk->receive_queue.front();
  if (!m) {
    if ((sk->shutdown & kRcvShutdown) && !(flags & MSG_DONTWAIT)) return 0;  // as UDP: EAGAIN if non-blocking
    return -EAGAIN;
  }
  Pktbuf view(m);
  const uint32_t dlen = view.len();
  const size_t copied = pkt_copy_to_iov(view, 0, dlen, msg->msg_iov, msg->msg_iovlen);
  if (msg->msg_name) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(view.meta()->src_addr);
    memcpy(msg->msg_name, &sin, std::min<size_t>(msg->msg_namelen, sizeof sin));
    *addr_len = sizeof sin;
  }
  msg->msg_flags = copied < dlen ? MSG_TRUNC : 0;
  inet_cmsg_recv(sk, msg, *view.meta());
  (void)view.release();
  if (!(flags & MSG_PEEK)) sock_rqueue_pop(sk).reset();
  return static_cast<ssize_t>((flags & MSG_TRUNC) ? dlen : copied);
}

int raw_ioctl(Sock* sk, unsigned long cmd, void* arg) {
  switch (cmd) {
    case SIOCINQ: {
      if (!arg) return -EFAULT;
      rte_mbuf* m = sk->receive_queue.front();
      *static_cast<int*>(arg) = m ? static_cast<int>(m->pkt_len) : 0;
      return 0;
    }
    case SIOCOUTQ:
      if (!arg) return -EFAULT;
      *static_cast<int*>(arg) = 0;
      return 0;
    default:
      return -kNoIoctlCmd;
  }
}

uint32_t raw_poll(Sock* sk) {
  uint32_t mask = 0;
  if (sk->err || !sk->error_queue.empty()) mask |= EPOLLERR;
  if (sk->shutdown & kRcvShutdown) mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
  if (sk->shutdown == (kRcvShutdown | kSendShutdown)) mask |= EPOLLHUP;
  if (!sk->receive_queue.empty()) mask |= EPOLLIN | EPOLLRDNORM;
  mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;  // datagram_poll: writable (no send buffer held), shut down or not
  return mask;
}

// SOL_RAW as do_raw_setsockopt: ICMP_FILTER on a non-ICMP socket is EOPNOTSUPP, any other name
// ENOPROTOOPT; a short filter overwrites only the bytes given (raw_seticmpfilter).
int raw_setsockopt(Sock* sk, int level, int optname, const void* optval, socklen_t optlen) {
  if (level == SOL_RAW) {
    if (optname != ICMP_FILTER) return -ENOPROTOOPT;
    if (sk->protocol != IPPROTO_ICMP) return -EOPNOTSUPP;
    const size_t n = std::min<size_t>(optlen, sizeof(uint32_t));
    if (n && !optval) return -EFAULT;
    if (n) memcpy(&raw_sk(sk)->icmp_filter, optval, n);
    return 0;
  }
  return ip_setsockopt(sk, level, optname, optval, optlen);
}

int raw_getsockopt(Sock* sk, int level, int optname, void* optval, socklen_t* optlen) {
  if (level == SOL_RAW) {
    if (optname != ICMP_FILTER) return -ENOPROTOOPT;
    if (sk->protocol != IPPROTO_ICMP) return -EOPNOTSUPP;
    if (static_cast<int>(*optlen) < 0) return -EINVAL;
    const socklen_t n = std::min<socklen_t>(*optlen, sizeof(uint32_t));
    memcpy(optval, &raw_sk(sk)->icmp_filter, n);
    *optlen = n;
    return 0;
  }
  return ip_getsockopt(sk, level, optname, optval, optlen);
}

void raw_shutdown(Sock*, int) {}

}  // namespace

const Proto raw_prot = {
    .name = "RAW",
    .obj_size = sizeof(RawSock),
    .construct = construct_sock<RawSock>,
    .destruct = destruct_sock<RawSock>,
    .slab = true,
    .slab_capacity = &SockConfig::raw_slab,
    .index = 2,
    .init = raw_init,
    .destroy = raw_destroy,
    .close = raw_close,
    .connect = raw_connect,
    .disconnect = raw_disconnect,
    .accept = nullptr,
    .ioctl = raw_ioctl,
    .shutdown = raw_shutdown,
    .setsockopt = raw_setsockopt,
    .getsockopt = raw_getsockopt,
    .sendmsg = raw_sendmsg,
    .recvmsg = raw_recvmsg,
    .backlog_rcv = nullptr,
    .hash = nullptr,
    .unhash = raw_unhash,
    .get_port = nullptr,
    .poll = raw_poll,
};

void raw_input(Shard& sh, const Pktbuf& p, const Ipv4Rx& rx) {
  for (InetSock* is : sh.raw.socks()) {
    Sock* sk = &is->sk;
    if (sk->protocol != rx.proto) continue;
    if (!is->rcv_saddr.is_any() && is->rcv_saddr != rx.dst) continue;
    if (!is->daddr.is_any() && is->daddr != rx.src) continue;  // (shutdown(SHUT_RD) stops nothing, as Linux)
    if (rx.dst.is_multicast() && !mc_sock_allows(sk, rx.dst, rx.port->ifc->index, rx.src)) continue;  // raw_v4_match
    if (rx.proto == IPPROTO_ICMP && p.seg_len() >= 1) {
      const uint8_t type = p.data()[0];
      if (type < 32 && (raw_sk(sk)->icmp_filter & (1u << type))) continue;
    }
    if (sk->rmem_alloc >= sk->rcvbuf) {  // refused whatever its size (Rmem::Raw): no copy made
      sh.drops.add(Drop::RawRcvbufFull);
      continue;
    }
    // A private copy, IP header included (the datagram itself goes on to ICMP, which may rewrite it).
    rte_mbuf* whole = p.mbuf();
    rte_pktmbuf_prepend(whole, rx.hdr_len);
    Pktbuf c = sh.copy_for_queue(whole, 0);
    rte_pktmbuf_adj(whole, rx.hdr_len);
    if (!c) {
      sh.drops.add(Drop::NoMbuf);
      continue;
    }
    PktMeta* m = c.meta();
    m->src_addr = rx.src.host();
    m->dst_addr = rx.dst.host();
    m->src_port = 0;
    m->ttl = rx.ttl;
    m->tos = rx.tos;
    m->steer_iface = static_cast<uint8_t>(rx.port->ifc->index);  // for IP_PKTINFO
    m->rx_time_ns = static_cast<uint64_t>(sh.now().ns());        // for SO_TIMESTAMP
    m->truesize = c.mbuf()->buf_len * c.nb_segs();
    if (!sock_rmem_charge(sk, m->truesize, Rmem::Raw)) {
      sh.drop(std::move(c), Drop::RawRcvbufFull);
      continue;
    }
    sk->receive_queue.push(std::move(c));
    ++sh.stats.raw_in_delivers;
    sock_wake(sk, EPOLLIN | EPOLLRDNORM);
  }
}

void raw_icmp_error(Shard& sh, const Ipv4Rx& rx, const Pktbuf& icmp, uint8_t type, uint8_t code, uint32_t info,
                    const uint8_t* quote, size_t len) {
  const Ipv4View ip(const_cast<uint8_t*>(quote), len);
  for (InetSock* is : sh.raw.socks()) {
    Sock* sk = &is->sk;
    // raw_v4_match on the quoted datagram: our protocol, from our bound address, to our peer.
    if (sk->protocol != ip.proto()) continue;
    if (!is->rcv_saddr.is_any() && is->rcv_saddr != ip.src()) continue;
    if (!is->daddr.is_any() && is->daddr != ip.dst()) continue;
    // Unconnected and without IP_RECVERR, nobody could tell which send it was about.
    if (!is->recverr && sk->state != sk_state::kEstablished) continue;
    int err = EHOSTUNREACH;  // time exceeded, and what has no errno of its own
    bool hard = false;
    uint32_t ee_info = 0;
    if (type == wire::icmp_type::kSourceQuench || type == wire::icmp_type::kRedirect) continue;  // (raw_err)
    if (type == wire::icmp_type::kParamProblem) {
      err = EPROTO;
      hard = true;
      ee_info = info >> 24;
    } else if (type == wire::icmp_type::kDestUnreachable && code <= 15) {
      if (code == wire::icmp_unreach::kFragNeeded) {
        err = EMSGSIZE;
        hard = is->pmtudisc != IP_PMTUDISC_DONT;
        ee_info = info & 0xffff;
      } else {
        err = icmp_error_to_errno(type, code);
        hard = icmp_error_is_hard(type, code);
      }
    }
    if (is->recverr) {
      // The payload is what was quoted after the datagram's IP header; with IP_HDRINCL the header too (raw_err).
      const uint32_t off =
          wire::IcmpView::kHeaderLen + (is->hdrincl ? 0 : static_cast<uint32_t>(ip.header_len()));
      inet_queue_err(sk,
                     InetSockErr{.err = err, .origin = SO_EE_ORIGIN_ICMP, .type = type, .code = code, .info = ee_info,
                                 .addr = ip.dst(), .port = 0},
                     &rx, &icmp, off, icmp.len() > off ? icmp.len() - off : 0);
    }
    if (is->recverr || hard) {
      sk->err = err;
      sock_wake(sk, EPOLLERR);
    }
  }
}

}  // namespace skiff
