// SOL_SOCKET and IPPROTO_IP options, with Linux's lengths, ranges and errnos
// (net/core/sock.c sock_setsockopt/sk_getsockopt, net/ipv4/ip_sockglue.c).

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <vector>

#include "api/skiff.h"  // IP_BIND_ADDRESS_NO_PORT
#include "inet/cmsg.hh"
#include "inet/inet.hh"
#include "stack/shard.hh"

namespace skiff {

namespace {

constexpr int kMinSndbuf = 4608;  // Linux SOCK_MIN_SNDBUF
constexpr int kMinRcvbuf = 2304;  // Linux SOCK_MIN_RCVBUF

int get_int(const void* optval, socklen_t optlen, int* out) {
  if (!optval || optlen < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  memcpy(out, optval, sizeof(int));
  return 0;
}

// Copies `lv` bytes of `v` out, truncated to the caller's length (Linux: len = min(len, lv)).
int put(void* optval, socklen_t* optlen, const void* v, socklen_t lv) {
  const socklen_t n = std::min(*optlen, lv);
  if (n) memcpy(optval, v, static_cast<size_t>(n));
  *optlen = n;
  return 0;
}

// SO_LINGER's "for ever" as Linux reports it: (int)(LONG_MAX / HZ) with HZ = 250; any non-zero time is a
// graceful close here.
constexpr int kLingerForever = static_cast<int>(static_cast<uint32_t>((INT64_MAX / 250) & 0xffffffffu));

int put_int(void* optval, socklen_t* optlen, int v) { return put(optval, optlen, &v, sizeof v); }

int set_timeout(const void* optval, socklen_t optlen, int64_t* ns) {
  if (!optval || optlen < static_cast<socklen_t>(sizeof(timeval))) return -EINVAL;
  timeval tv;
  memcpy(&tv, optval, sizeof tv);
  if (tv.tv_usec < 0 || tv.tv_usec >= 1'000'000) return -EDOM;
  if (tv.tv_sec < 0) {
    *ns = -1;  // Linux (sock_set_timeout): a negative timeout is 0 jiffies, i.e. do not wait at all
    return 0;
  }
  *ns = int64_t{tv.tv_sec} * 1'000'000'000 + int64_t{tv.tv_usec} * 1000;
  return 0;
}

int get_timeout(void* optval, socklen_t* optlen, int64_t ns) {
  if (ns < 0) ns = 0;  // "do not wait" reads back as {0, 0}, as Linux's sock_get_timeout shows 0 jiffies
  timeval tv{static_cast<time_t>(ns / 1'000'000'000), static_cast<suseconds_t>((ns % 1'000'000'000) / 1000)};
  return put(optval, optlen, &tv, sizeof tv);
}

}  // namespace

// Linux's rt_tos2priority: the priority band an IP_TOS value implies (ip_tos2prio, by the TOS bits).
int tos_to_priority(uint8_t tos) {
  static const uint8_t kPrio[16] = {0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4};
  return kPrio[(tos & 0x1e) >> 1];
}

int sock_setsockopt(Sock* sk, int optname, const void* optval, socklen_t optlen) {
  const SockConfig& cfg = sk->shard->cfg.sock;
  // sk_setsockopt reads an int before looking at the name: shorter is EINVAL, even for unknown names.
  if (optlen < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  if (optname == SO_LINGER) {
    if (!optval || optlen < static_cast<socklen_t>(sizeof(linger))) return -EINVAL;
    linger l;
    memcpy(&l, optval, sizeof l);
    sk->linger_on = l.l_onoff != 0;
    // Off keeps the time, as Linux. A negative time is, as an unsigned long in Linux, past the longest
    // timeout: "linger for ever", a graceful close (not 0, the abortive one); it reads back as Linux's
    // MAX_SCHEDULE_TIMEOUT / HZ cut to an int (Debian's HZ = 250).
    if (sk->linger_on) sk->linger_secs = l.l_linger < 0 ? kLingerForever : l.l_linger;
    return 0;
  }
  if (optname == SO_RCVTIMEO) return set_timeout(optval, optlen, &sk->rcvtimeo_ns);
  if (optname == SO_SNDTIMEO) return set_timeout(optval, optlen, &sk->sndtimeo_ns);
  int val;
  switch (optname) {
    case SO_TYPE:
    case SO_PROTOCOL:
    case SO_DOMAIN:
    case SO_ERROR:
    case SO_ACCEPTCONN:
    case SO_PEERNAME:
      return -ENOPROTOOPT;  // read-only
    case SO_REUSEADDR:
    case SO_REUSEPORT:
    case SO_KEEPALIVE:
    case SO_BROADCAST:
    case SO_SNDBUF:
    case SO_RCVBUF:
    case SO_RCVLOWAT:
    case SO_DONTROUTE:
    case SO_DEBUG:
    case SO_OOBINLINE:
    case SO_PRIORITY:
    case SO_TIMESTAMP:
    case SO_TIMESTAMPNS:
    case SO_INCOMING_CPU:
      break;
    default:
      return -ENOPROTOOPT;  // SO_COOKIE too: read-only
  }
  if (const int e = get_int(optval, optlen, &val)) return e;
  const bool on = val != 0;
  switch (optname) {
    case SO_REUSEADDR: sk->reuseaddr = on; break;
    case SO_REUSEPORT: sk->reuseport = on; break;
    case SO_KEEPALIVE:
      sk->keepalive = on;
      if (sk->prot->setsockopt) sk->prot->setsockopt(sk, SOL_SOCKET, SO_KEEPALIVE, optval, optlen);
      break;
    case SO_BROADCAST: sk->broadcast = on; break;
    case SO_SNDBUF: {
      // Linux doubles the value to leave room for bookkeeping; the doubled value is what getsockopt returns.
      const uint32_t v = std::min<uint32_t>(static_cast<uint32_t>(val), static_cast<uint32_t>(cfg.wmem_max));
      sk->sndbuf = std::max(static_cast<int>(v) * 2, kMinSndbuf);
      sock_wake(sk, EPOLLOUT);
      sk->userlocks |= kSndbufLock;
      break;
    }
    case SO_RCVBUF: {
      const uint32_t v = std::min<uint32_t>(static_cast<uint32_t>(val), static_cast<uint32_t>(cfg.rmem_max));
      sk->rcvbuf = std::max(static_cast<int>(v) * 2, kMinRcvbuf);
      sk->userlocks |= kRcvbufLock;
      break;
    }
    case SO_RCVLOWAT:
      if (val < 0) val = INT_MAX;
      sk->rcvlowat = val ? val : 1;
      // TCP caps it, grows the buffer to hold it and wakes a reader it now lets in (tcp_set_rcvlowat).
      if (sk->prot->setsockopt) sk->prot->setsockopt(sk, SOL_SOCKET, SO_RCVLOWAT, optval, optlen);
      break;
    case SO_DONTROUTE: sk->dontroute = on; break;  // stored and reported; routing ignores it
    case SO_OOBINLINE: sk->oobinline = on; break;  // no urgent data on datagram sockets
    case SO_PRIORITY: sk->priority = val; break;
    case SO_INCOMING_CPU:  // any int, as Linux (it steers nothing here); shown until the next datagram
      sk->incoming_cpu = val;
      sk->cpu_heard = false;
      break;
    case SO_TIMESTAMP:
    case SO_TIMESTAMPNS:
      // One setting (Linux's sock_set_timestamp): the last one set on wins, either off clears it.
      sk->tstamp = on ? (optname == SO_TIMESTAMPNS ? kTstampNs : kTstampUs) : 0;
      break;
    default: break;  // accepted and ignored: SO_DEBUG
  }
  return 0;
}

int sock_getsockopt(Sock* sk, int optname, void* optval, socklen_t* optlen) {
  if (!optval || !optlen) return -EFAULT;
  switch (optname) {
    case SO_TYPE: return put_int(optval, optlen, sk->type);
    case SO_PROTOCOL: return put_int(optval, optlen, sk->protocol);
    case SO_DOMAIN: return put_int(optval, optlen, AF_INET);
    case SO_ERROR: {  // sock_error(), else the soft error; reading clears what it returns
      int e = std::exchange(sk->err, 0);
      if (!e) e = std::exchange(sk->err_soft, 0);
      return put_int(optval, optlen, e);
    }
    case SO_ACCEPTCONN: return put_int(optval, optlen, sk->state == sk_state::kListen);
    case SO_REUSEADDR: return put_int(optval, optlen, sk->reuseaddr);
    case SO_REUSEPORT: return put_int(optval, optlen, sk->reuseport);
    case SO_KEEPALIVE: return put_int(optval, optlen, sk->keepalive);
    case SO_BROADCAST: return put_int(optval, optlen, sk->broadcast);
    case SO_SNDBUF: return put_int(optval, optlen, sk->sndbuf);
    case SO_RCVBUF: return put_int(optval, optlen, sk->rcvbuf);
    case SO_RCVLOWAT: return put_int(optval, optlen, sk->rcvlowat);
    case SO_DONTROUTE: return put_int(optval, optlen, sk->dontroute);
    case SO_OOBINLINE: return put_int(optval, optlen, sk->oobinline);
    case SO_PRIORITY: return put_int(optval, optlen, sk->priority);
    case SO_DEBUG: return put_int(optval, optlen, 0);
    case SO_TIMESTAMP: return put_int(optval, optlen, sk->tstamp == kTstampUs);
    case SO_TIMESTAMPNS: return put_int(optval, optlen, sk->tstamp == kTstampNs);
    case SO_LINGER: {
      linger l{sk->linger_on ? 1 : 0, sk->linger_secs};
      return put(optval, optlen, &l, sizeof l);
    }
    case SO_RCVTIMEO: return get_timeout(optval, optlen, sk->rcvtimeo_ns);
    case SO_SNDTIMEO: return get_timeout(optval, optlen, sk->sndtimeo_ns);
    case SO_INCOMING_CPU: {
      // Linux: the CPU that last processed a segment of a TCP socket (tcp_v4_rcv's sk_incoming_cpu_update; not
      // for listeners) or a datagram of a connected UDP socket (__udp_queue_rcv_skb), else what was set (-1 at
      // first). Every packet of a Skiff socket is processed by its shard, on this thread: such a socket
      // reports the CPU it runs on (pin lcores for a stable answer). A connected UDP socket shows a value set
      // until its next datagram, as Linux; a TCP connection that heard from its peer always reports the CPU
      // (Linux: a value set until the next segment) and one closed since reports the value set (Linux: the
      // last CPU).
      const bool heard = sk->cpu_heard || (sk->type == SOCK_STREAM && sk->state != sk_state::kClose &&
                                           sk->state != sk_state::kListen && sk->state != sk_state::kSynSent);
      return put_int(optval, optlen, heard ? sched_getcpu() : sk->incoming_cpu);
    }
    case SO_COOKIE: {
      // Linux's sock_gen_cookie: a non-zero 64-bit value unique to the socket, the same on every read; shorter
      // than 8 bytes is EINVAL. Unique within the stack (not across processes): a per-shard sequence with the
      // shard's id in the low 6 bits (at most 64 shards).
      if (*optlen < static_cast<socklen_t>(sizeof(uint64_t))) return -EINVAL;
      Shard& sh = *sk->shard;
      if (!sk->cookie) sk->cookie = (++sh.cookie_seq << 6) | sh.id;
      return put(optval, optlen, &sk->cookie, sizeof sk->cookie);
    }
    default: return -ENOPROTOOPT;
  }
}

namespace {

// IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP (struct ip_mreq or ip_mreqn), MCAST_JOIN_GROUP, MCAST_LEAVE_GROUP
// (struct group_req), as Linux's do_ip_setsockopt: a connection-oriented socket refuses them (EPROTO; Linux
// lets a TCP socket join by MCAST_JOIN_GROUP, Skiff does not), a group that is not multicast is EINVAL, an
// interface that does not exist ENODEV.
int ip_membership(Sock* sk, int optname, const void* optval, socklen_t optlen) {
  if (sk->type == SOCK_STREAM) return -EPROTO;
  const bool join = optname == IP_ADD_MEMBERSHIP || optname == MCAST_JOIN_GROUP;
  wire::Ipv4Addr group, addr;
  int ifindex = 0;
  if (optname == MCAST_JOIN_GROUP || optname == MCAST_LEAVE_GROUP) {
    if (optlen < static_cast<socklen_t>(sizeof(group_req))) return -EINVAL;
    if (!optval) return -EFAULT;
    group_req gr;
    memcpy(&gr, optval, sizeof gr);
    if (gr.gr_group.ss_family != AF_INET) return -EINVAL;
    sockaddr_in sin;
    memcpy(&sin, &gr.gr_group, sizeof sin);
    group = wire::Ipv4Addr(ntohl(sin.sin_addr.s_addr));
    ifindex = static_cast<int>(gr.gr_interface);
  } else {
    if (optlen < static_cast<socklen_t>(sizeof(ip_mreq))) return -EINVAL;
    if (!optval) return -EFAULT;
    ip_mreqn m{};
    memcpy(&m, optval, optlen >= static_cast<socklen_t>(sizeof(ip_mreqn)) ? sizeof(ip_mreqn) : sizeof(ip_mreq));
    group = wire::Ipv4Addr(ntohl(m.imr_multiaddr.s_addr));
    addr = wire::Ipv4Addr(ntohl(m.imr_address.s_addr));
    ifindex = m.imr_ifindex;
  }
  if (!group.is_multicast()) return -EINVAL;
  const int iface = mc_find_iface(*sk->shard, group, addr, ifindex);
  if (iface < 0) return join || (addr.is_any() && !ifindex) ? -ENODEV : -EADDRNOTAVAIL;
  return join ? mc_join(sk, group, static_cast<unsigned>(iface)) : mc_leave(sk, group, static_cast<unsigned>(iface));
}

wire::Ipv4Addr sin_addr_of(const sockaddr_storage& ss) {
  sockaddr_in sin;
  memcpy(&sin, &ss, sizeof sin);
  return wire::Ipv4Addr(ntohl(sin.sin_addr.s_addr));
}

bool is_source_option(int optname) {
  switch (optname) {
    case IP_ADD_SOURCE_MEMBERSHIP:
    case IP_DROP_SOURCE_MEMBERSHIP:
    case IP_BLOCK_SOURCE:
    case IP_UNBLOCK_SOURCE:
    case MCAST_JOIN_SOURCE_GROUP:
    case MCAST_LEAVE_SOURCE_GROUP:
    case MCAST_BLOCK_SOURCE:
    case MCAST_UNBLOCK_SOURCE: return true;
    default: return false;
  }
}

// One source of a membership's filter (RFC 3678 §4.1.2 / §5.1.2): IP_ADD_SOURCE_MEMBERSHIP,
// IP_DROP_SOURCE_MEMBERSHIP (INCLUDE), IP_BLOCK_SOURCE, IP_UNBLOCK_SOURCE (EXCLUDE) with struct
// ip_mreq_source, and the MCAST_* forms with struct group_source_req, as Linux's do_ip_setsockopt /
// do_mcast_group_source: the exact length or EINVAL, a family other than AF_INET EADDRNOTAVAIL, a group that
// is not multicast EINVAL, an unknown interface ENODEV; joining a source first joins the group (INCLUDE)
// unless the socket is a member already. A stream socket gets EPROTO (Linux lets TCP join this way).
int ip_source_membership(Sock* sk, int optname, const void* optval, socklen_t optlen) {
  if (sk->type == SOCK_STREAM) return -EPROTO;
  wire::Ipv4Addr group, source, addr;
  int ifindex = 0;
  if (optname == MCAST_JOIN_SOURCE_GROUP || optname == MCAST_LEAVE_SOURCE_GROUP || optname == MCAST_BLOCK_SOURCE ||
      optname == MCAST_UNBLOCK_SOURCE) {
    if (optlen != static_cast<socklen_t>(sizeof(group_source_req))) return -EINVAL;
    if (!optval) return -EFAULT;
    group_source_req r;
    memcpy(&r, optval, sizeof r);
    if (r.gsr_group.ss_family != AF_INET || r.gsr_source.ss_family != AF_INET) return -EADDRNOTAVAIL;
    group = sin_addr_of(r.gsr_group);
    source = sin_addr_of(r.gsr_source);
    ifindex = static_cast<int>(r.gsr_interface);
  } else {
    if (optlen != static_cast<socklen_t>(sizeof(ip_mreq_source))) return -EINVAL;
    if (!optval) return -EFAULT;
    ip_mreq_source m;
    memcpy(&m, optval, sizeof m);
    group = wire::Ipv4Addr(ntohl(m.imr_multiaddr.s_addr));
    addr = wire::Ipv4Addr(ntohl(m.imr_interface.s_addr));
    source = wire::Ipv4Addr(ntohl(m.imr_sourceaddr.s_addr));
  }
  const bool join = optname == IP_ADD_SOURCE_MEMBERSHIP || optname == MCAST_JOIN_SOURCE_GROUP;
  const bool exclude = optname == IP_BLOCK_SOURCE || optname == IP_UNBLOCK_SOURCE ||
                       optname == MCAST_BLOCK_SOURCE || optname == MCAST_UNBLOCK_SOURCE;
  const bool add = join || optname == IP_BLOCK_SOURCE || optname == MCAST_BLOCK_SOURCE;
  if (!group.is_multicast()) return -EINVAL;
  const int iface = mc_find_iface(*sk->shard, group, addr, ifindex);
  if (iface < 0) return -ENODEV;
  if (join) {
    const int rc = mc_join(sk, group, static_cast<unsigned>(iface), McMembership::kInclude);
    if (rc && rc != -EADDRINUSE) return rc;
  }
  return mc_source(sk, add, exclude ? McMembership::kExclude : McMembership::kInclude, group, source,
                   static_cast<unsigned>(iface));
}

constexpr socklen_t kMsfilterSize0 = offsetof(ip_msfilter, imsf_slist);
constexpr socklen_t kGroupFilterSize0 = offsetof(group_filter, gf_slist);
constexpr socklen_t msfilter_size(uint32_t n) { return kMsfilterSize0 + static_cast<socklen_t>(n * sizeof(uint32_t)); }
constexpr socklen_t group_filter_size(uint32_t n) {
  return kGroupFilterSize0 + static_cast<socklen_t>(n * sizeof(sockaddr_storage));
}

// IP_MSFILTER (struct ip_msfilter) and MCAST_MSFILTER (struct group_filter): a membership's whole filter
// (RFC 3678 §4.2 / §5.2), as Linux's ip_mc_msfilter: more than igmp_max_msf sources ENOBUFS, a length short of
// the header or of the sources given EINVAL, a mode other than MCAST_INCLUDE / MCAST_EXCLUDE EINVAL, no
// membership EINVAL, INCLUDE with no sources leaves the group.
int ip_set_msfilter(Sock* sk, int optname, const void* optval, socklen_t optlen) {
  if (sk->type == SOCK_STREAM) return -EPROTO;
  wire::Ipv4Addr group, addr;
  int ifindex = 0;
  uint32_t fmode, numsrc;
  std::vector<wire::Ipv4Addr> sources;
  const auto* b = static_cast<const uint8_t*>(optval);
  if (optname == IP_MSFILTER) {
    if (optlen < kMsfilterSize0) return -EINVAL;
    if (!optval) return -EFAULT;
    ip_msfilter m;
    memcpy(&m, b, kMsfilterSize0);
    if (m.imsf_numsrc > kMcMaxSources) return -ENOBUFS;
    if (msfilter_size(m.imsf_numsrc) > optlen) return -EINVAL;
    group = wire::Ipv4Addr(ntohl(m.imsf_multiaddr.s_addr));
    addr = wire::Ipv4Addr(ntohl(m.imsf_interface.s_addr));
    fmode = m.imsf_fmode;
    numsrc = m.imsf_numsrc;
    for (uint32_t i = 0; i < numsrc; ++i) {
      uint32_t a;
      memcpy(&a, b + kMsfilterSize0 + 4 * i, 4);
      sources.push_back(wire::Ipv4Addr(ntohl(a)));
    }
  } else {
    if (optlen < kGroupFilterSize0) return -EINVAL;
    if (!optval) return -EFAULT;
    group_filter gf;
    memcpy(&gf, b, kGroupFilterSize0);
    if (gf.gf_numsrc > kMcMaxSources) return -ENOBUFS;
    if (group_filter_size(gf.gf_numsrc) > optlen) return -EINVAL;
    if (gf.gf_group.ss_family != AF_INET) return -EADDRNOTAVAIL;
    group = sin_addr_of(gf.gf_group);
    ifindex = static_cast<int>(gf.gf_interface);
    fmode = gf.gf_fmode;
    numsrc = gf.gf_numsrc;
    for (uint32_t i = 0; i < numsrc; ++i) {
      sockaddr_storage ss;
      memcpy(&ss, b + kGroupFilterSize0 + sizeof ss * i, sizeof ss);
      if (ss.ss_family != AF_INET) return -EADDRNOTAVAIL;
      sources.push_back(sin_addr_of(ss));
    }
  }
  if (!group.is_multicast()) return -EINVAL;
  if (fmode != MCAST_INCLUDE && fmode != MCAST_EXCLUDE) return -EINVAL;
  const int iface = mc_find_iface(*sk->shard, group, addr, ifindex);
  if (iface < 0) return -ENODEV;
  return mc_set_filter(sk, group, static_cast<unsigned>(iface),
                       fmode == MCAST_INCLUDE ? McMembership::kInclude : McMembership::kExclude, sources);
}

// getsockopt(IP_MSFILTER / MCAST_MSFILTER), as Linux's ip_mc_msfget / ip_mc_gsfget: the caller names the
// group, the interface and how many sources it has room for (also bounded here by its length); it gets the
// mode, the number of sources in all and as many as fit. No membership: EADDRNOTAVAIL.
int ip_get_msfilter(Sock* sk, int optname, void* optval, socklen_t* optlen) {
  auto* b = static_cast<uint8_t*>(optval);
  const McMembership* m = nullptr;
  if (optname == IP_MSFILTER) {
    if (*optlen < kMsfilterSize0) return -EINVAL;
    ip_msfilter q;
    memcpy(&q, b, kMsfilterSize0);
    const wire::Ipv4Addr group(ntohl(q.imsf_multiaddr.s_addr));
    if (!group.is_multicast()) return -EINVAL;
    const int iface = mc_find_iface(*sk->shard, group, wire::Ipv4Addr(ntohl(q.imsf_interface.s_addr)), 0);
    if (iface < 0) return -ENODEV;
    m = mc_membership(sk, group, static_cast<unsigned>(iface));
    if (!m) return -EADDRNOTAVAIL;
    const uint32_t count = static_cast<uint32_t>(m->sources.size());
    const uint32_t copy = std::min({count, q.imsf_numsrc, static_cast<uint32_t>((*optlen - kMsfilterSize0) / 4)});
    q.imsf_fmode = m->mode == McMembership::kInclude ? MCAST_INCLUDE : MCAST_EXCLUDE;
    q.imsf_numsrc = count;
    memcpy(b, &q, kMsfilterSize0);
    for (uint32_t i = 0; i < copy; ++i) {
      const uint32_t a = htonl(m->sources[i].host());
      memcpy(b + kMsfilterSize0 + 4 * i, &a, 4);
    }
    *optlen = msfilter_size(copy);
    return 0;
  }
  if (*optlen < kGroupFilterSize0) return -EINVAL;
  group_filter q;
  memcpy(&q, b, kGroupFilterSize0);
  if (q.gf_group.ss_family != AF_INET) return -EINVAL;
  const wire::Ipv4Addr group = sin_addr_of(q.gf_group);
  if (!group.is_multicast()) return -EINVAL;
  if (q.gf_interface >= 1 && sk->shard->port_for(q.gf_interface - 1))
    m = mc_membership(sk, group, q.gf_interface - 1);
  if (!m) return -EADDRNOTAVAIL;
  const uint32_t count = static_cast<uint32_t>(m->sources.size());
  const uint32_t copy =
      std::min({count, q.gf_numsrc, static_cast<uint32_t>((*optlen - kGroupFilterSize0) / sizeof(sockaddr_storage))});
  q.gf_fmode = m->mode == McMembership::kInclude ? MCAST_INCLUDE : MCAST_EXCLUDE;
  q.gf_numsrc = count;
  memcpy(b, &q, kGroupFilterSize0);
  for (uint32_t i = 0; i < copy; ++i) {
    sockaddr_storage ss{};
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(m->sources[i].host());
    memcpy(&ss, &sin, sizeof sin);
    memcpy(b + kGroupFilterSize0 + sizeof ss * i, &ss, sizeof ss);
  }
  *optlen = group_filter_size(copy);
  return 0;
}

// IP_MULTICAST_IF: an address (struct in_addr), struct ip_mreq or struct ip_mreqn; INADDR_ANY without an index
// clears it. As Linux: EINVAL on a stream socket or under 4 bytes, EADDRNOTAVAIL for an unknown address or
// interface.
int ip_multicast_if(Sock* sk, const void* optval, socklen_t optlen) {
  if (sk->type == SOCK_STREAM || optlen < static_cast<socklen_t>(sizeof(in_addr))) return -EINVAL;
  if (!optval) return -EFAULT;
  ip_mreqn m{};
  if (optlen >= static_cast<socklen_t>(sizeof(ip_mreqn))) {
    memcpy(&m, optval, sizeof m);
  } else if (optlen >= static_cast<socklen_t>(sizeof(ip_mreq))) {
    memcpy(&m, optval, sizeof(ip_mreq));
  } else {
    memcpy(&m.imr_address, optval, sizeof(in_addr));
  }
  InetSock* is = inet_sk(sk);
  const wire::Ipv4Addr addr(ntohl(m.imr_address.s_addr));
  if (!m.imr_ifindex && addr.is_any()) {
    is->mc_index = 0;
    is->mc_addr = {};
    return 0;
  }
  Shard& sh = *sk->shard;
  int iface = -1;
  if (m.imr_ifindex > 0) {
    if (sh.port_for(static_cast<unsigned>(m.imr_ifindex - 1))) iface = m.imr_ifindex - 1;
  } else if (!m.imr_ifindex) {
    for (auto& sp : sh.ports())
      if (sp->ifc->is_our_addr(addr)) iface = static_cast<int>(sp->ifc->index);
  }
  if (iface < 0) return -EADDRNOTAVAIL;
  is->mc_index = static_cast<uint8_t>(iface + 1);
  is->mc_addr = addr;
  return 0;
}

}  // namespace

int ip_setsockopt(Sock* sk, int level, int optname, const void* optval, socklen_t optlen) {
  if (level != IPPROTO_IP) return -ENOPROTOOPT;
  InetSock* is = inet_sk(sk);
  if (is_source_option(optname)) return ip_source_membership(sk, optname, optval, optlen);
  switch (optname) {
    case IP_ADD_MEMBERSHIP:
    case IP_DROP_MEMBERSHIP:
    case MCAST_JOIN_GROUP:
    case MCAST_LEAVE_GROUP: return ip_membership(sk, optname, optval, optlen);
    case IP_MSFILTER:
    case MCAST_MSFILTER: return ip_set_msfilter(sk, optname, optval, optlen);
    case IP_MULTICAST_IF: return ip_multicast_if(sk, optval, optlen);
    default: break;
  }
  // Linux accepts a single byte for these integer options.
  int val = 0;
  switch (optname) {
    case IP_TTL:
    case IP_TOS:
    case IP_HDRINCL:
    case IP_RECVERR:
    case IP_MTU_DISCOVER:
    case IP_PKTINFO:
    case IP_RECVTTL:
    case IP_RECVTOS:
    case IP_MULTICAST_TTL:
    case IP_MULTICAST_LOOP:
    case IP_MULTICAST_ALL:
    case IP_BIND_ADDRESS_NO_PORT:
    case IP_LOCAL_PORT_RANGE:
      // An int, or a single byte; optlen 0 means 0 (IP_TTL alone refuses it).
      if (optlen >= static_cast<socklen_t>(sizeof(int))) {
        if (!optval) return -EFAULT;
        memcpy(&val, optval, sizeof(int));
      } else if (optlen >= 1) {
        if (!optval) return -EFAULT;
        val = *static_cast<const unsigned char*>(optval);
      } else if (optname == IP_TTL) {
        return -EINVAL;
      }
      break;
    default:
      return -ENOPROTOOPT;
  }
  switch (optname) {
    case IP_TTL:
      if (val != -1 && (val < 1 || val > 255)) return -EINVAL;
      is->ttl = val == -1 ? 0 : static_cast<uint8_t>(val);
      return 0;
    case IP_MULTICAST_LOOP:
    case IP_MULTICAST_ALL: {
      if (optlen < 1) return -EINVAL;
      if (optname == IP_MULTICAST_ALL && val != 0 && val != 1) return -EINVAL;
      const uint8_t bit = optname == IP_MULTICAST_LOOP ? InetSock::kMcLoop : InetSock::kMcAll;
      is->mc_flags = static_cast<uint8_t>(val ? is->mc_flags | bit : is->mc_flags & ~bit);
      return 0;
    }
    case IP_MULTICAST_TTL:  // (datagrams to groups leave on the link of the route or IP_MULTICAST_IF)
      if (sk->type == SOCK_STREAM || optlen < 1) return -EINVAL;
      if (val == -1) val = 1;
      if (val < 0 || val > 255) return -EINVAL;
      is->mc_ttl = static_cast<uint8_t>(val);
      return 0;
    case IP_TOS:
      if (sk->type == SOCK_STREAM) val = (val & ~3) | (is->tos & 3);  // TCP keeps the ECN bits
      if (is->tos != static_cast<uint8_t>(val)) {
        is->tos = static_cast<uint8_t>(val);
        sk->priority = tos_to_priority(is->tos);  // __ip_sock_set_tos
      }
      return 0;
    case IP_HDRINCL:
      if (sk->type != SOCK_RAW) return -ENOPROTOOPT;
      is->hdrincl = val != 0;
      return 0;
    case IP_RECVERR:
      is->recverr = val != 0;
      if (!is->recverr) inet_purge_errors(sk);  // as Linux: what was queued goes with the option
      return 0;
    case IP_BIND_ADDRESS_NO_PORT:
      is->bind_no_port = val != 0;
      return 0;
    case IP_LOCAL_PORT_RANGE: {
      // Exactly a u32: the lowest ephemeral port | the highest << 16 (either 0: the stack's); both given,
      // the lowest must not exceed the highest (Linux 6.3+).
      const uint16_t lo = static_cast<uint16_t>(val), hi = static_cast<uint16_t>(static_cast<uint32_t>(val) >> 16);
      if (optlen != static_cast<socklen_t>(sizeof(uint32_t))) return -EINVAL;
      if (lo && hi && lo > hi) return -EINVAL;
      is->local_port_range = static_cast<uint32_t>(val);
      return 0;
    }
    case IP_MTU_DISCOVER:
      if (val < IP_PMTUDISC_DONT || val > IP_PMTUDISC_OMIT) return -EINVAL;
      is->pmtudisc = static_cast<uint8_t>(val);
      return 0;
    case IP_PKTINFO:
    case IP_RECVTTL:
    case IP_RECVTOS: {
      // Control messages on recvmsg() (inet/cmsg.hh); stored on any socket, as Linux, used by UDP and raw.
      const uint8_t bit = optname == IP_PKTINFO ? kCmsgPktinfo : optname == IP_RECVTTL ? kCmsgTtl : kCmsgTos;
      is->cmsg_flags = static_cast<uint8_t>(val ? is->cmsg_flags | bit : is->cmsg_flags & ~bit);
      return 0;
    }
  }
  return -ENOPROTOOPT;
}

int ip_getsockopt(Sock* sk, int level, int optname, void* optval, socklen_t* optlen) {
  if (level != IPPROTO_IP) return -EOPNOTSUPP;  // Linux returns EOPNOTSUPP for a foreign level here
  if (!optval || !optlen) return -EFAULT;
  InetSock* is = inet_sk(sk);
  int val;
  switch (optname) {
    case IP_TTL: val = is->ttl ? is->ttl : sk->shard->cfg.ipv4.default_ttl; break;
    case IP_TOS: val = is->tos; break;
    case IP_MULTICAST_TTL: val = is->mc_ttl; break;
    case IP_MULTICAST_LOOP: val = (is->mc_flags & InetSock::kMcLoop) != 0; break;
    case IP_MULTICAST_ALL: val = (is->mc_flags & InetSock::kMcAll) != 0; break;
    case IP_MULTICAST_IF: {
      // The address set (not the index), in at most an in_addr's length (Linux).
      const in_addr a{htonl(is->mc_addr.host())};
      const socklen_t n = std::min<socklen_t>(*optlen, sizeof a);
      memcpy(optval, &a, static_cast<size_t>(n));
      *optlen = n;
      return 0;
    }
    case IP_MSFILTER:
    case MCAST_MSFILTER: return ip_get_msfilter(sk, optname, optval, optlen);
    case IP_HDRINCL: val = is->hdrincl; break;
    case IP_RECVERR: val = is->recverr; break;
    case IP_BIND_ADDRESS_NO_PORT: val = is->bind_no_port; break;
    case IP_LOCAL_PORT_RANGE: val = static_cast<int>(is->local_port_range); break;
    case IP_MTU_DISCOVER: val = is->pmtudisc; break;
    case IP_PKTINFO: val = (is->cmsg_flags & kCmsgPktinfo) != 0; break;
    case IP_RECVTTL: val = (is->cmsg_flags & kCmsgTtl) != 0; break;
    case IP_RECVTOS: val = (is->cmsg_flags & kCmsgTos) != 0; break;
    case IP_MTU: {
      if (sk->state != sk_state::kEstablished || is->daddr.is_any()) return -ENOTCONN;
      auto rt = sk->shard->routes.lookup(is->daddr);
      ShardPort* sp = rt ? sk->shard->port_for(rt->iface) : nullptr;
      if (!sp) return -ENOTCONN;
      val = sk->shard->pmtu.path_mtu(is->daddr, sp->ifc->mtu, sk->shard->now());  // RFC 1191
      break;
    }
    default: return -ENOPROTOOPT;
  }
  // Linux hands back one byte when asked for fewer than an int and the value fits.
  if (*optlen < static_cast<socklen_t>(sizeof(int)) && *optlen > 0 && val >= 0 && val <= 255) {
    const unsigned char c = static_cast<unsigned char>(val);
    memcpy(optval, &c, 1);
    *optlen = 1;
    return 0;
  }
  return put_int(optval, optlen, val);
}

}  // namespace skiff
