#include "inet/cmsg.hh"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>

#include "inet/inet.hh"
#include "sock/iov.hh"
#include "stack/shard.hh"

namespace skiff {

namespace {

// Linux's put_cmsg: a message that does not fit whole is cut to what is left (MSG_CTRUNC), and none is
// written once not even a header fits.
class CmsgWriter {
 public:
  explicit CmsgWriter(msghdr* msg)
      : msg_(msg), p_(static_cast<uint8_t*>(msg->msg_control)), left_(msg->msg_control ? msg->msg_controllen : 0) {}
  void put(int level, int type, const void* data, size_t len) {
    if (left_ < sizeof(cmsghdr)) {
      msg_->msg_flags |= MSG_CTRUNC;
      return;
    }
    size_t cmlen = CMSG_LEN(len);
    if (left_ < cmlen) {
      msg_->msg_flags |= MSG_CTRUNC;
      cmlen = left_;
    }
    cmsghdr h{};
    h.cmsg_len = cmlen;
    h.cmsg_level = level;
    h.cmsg_type = type;
    memcpy(p_, &h, sizeof h);
    memcpy(p_ + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
    const size_t step = std::min<size_t>(CMSG_SPACE(len), left_);
    p_ += step;
    left_ -= step;
    written_ += step;
  }
  size_t written() const { return written_; }

 private:
  msghdr* msg_;
  uint8_t* p_;
  size_t left_;
  size_t written_ = 0;
};

}  // namespace

namespace {

// SCM_TIMESTAMP / SCM_TIMESTAMPNS (sock_recv_timestamp) for what arrived at `rx_time_ns` by the shard's clock.
void put_tstamp(CmsgWriter& w, Sock* sk, uint64_t rx_time_ns) {
  // Wall-clock time of arrival: now, less the data's age by the shard's clock (which it was stamped with
  // when the receive burst was processed).
  Shard& sh = *sk->shard;
  timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  const int64_t age = std::max<int64_t>(0, sh.now().ns() - static_cast<int64_t>(rx_time_ns));
  const int64_t t = int64_t{rt.tv_sec} * 1'000'000'000 + rt.tv_nsec - age;
  if (sk->tstamp == kTstampNs) {
    const timespec ts{static_cast<time_t>(t / 1'000'000'000), static_cast<long>(t % 1'000'000'000)};
    w.put(SOL_SOCKET, SCM_TIMESTAMPNS, &ts, sizeof ts);
  } else {
    const timeval tv{static_cast<time_t>(t / 1'000'000'000), static_cast<suseconds_t>(t % 1'000'000'000 / 1000)};
    w.put(SOL_SOCKET, SCM_TIMESTAMP, &tv, sizeof tv);
  }
}

// The control messages of ip_cmsg_recv and sock_recv_timestamp for the datagram `m`, in Linux's order.
void put_recv_cmsgs(CmsgWriter& w, Sock* sk, const PktMeta& m, bool ip, int gro_size = 0) {
  if (sk->tstamp) put_tstamp(w, sk, m.rx_time_ns);
  if (gro_size) w.put(SOL_UDP, UDP_GRO, &gro_size, sizeof gro_size);  // udp_cmsg_recv: the segment size
  if (!ip) return;
  const uint8_t flags = inet_sk(sk)->cmsg_flags;
  if (flags & kCmsgPktinfo) {
    // ipi_addr: the header's destination; ipi_spec_dst: the address a reply would come from (the
    // destination when it is ours, else, for a broadcast, the receiving interface's; Linux's
    // fib_compute_spec_dst).
    in_pktinfo pi{};
    const wire::Ipv4Addr dst(m.dst_addr);
    const ShardPort* sp = sk->shard->port_for(m.steer_iface);
    pi.ipi_ifindex = sp ? static_cast<int>(sp->ifc->index + 1) : 0;
    pi.ipi_addr.s_addr = htonl(m.dst_addr);
    const wire::Ipv4Addr spec = sp && !sk->shard->is_local_addr(dst) ? sp->ifc->addr.addr : dst;
    pi.ipi_spec_dst.s_addr = htonl(spec.host());
    w.put(IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
  }
  if (flags & kCmsgTtl) {
    const int ttl = m.ttl;
    w.put(IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  }
  if (flags & kCmsgTos) {
    const uint8_t tos = m.tos;
    w.put(IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  }
}

// What an error queue entry carries in front of its payload.
struct ErrHeader {
  sock_extended_err ee;
  uint32_t addr;  // the datagram's destination (host order)
  uint16_t port;
};

}  // namespace

void inet_cmsg_recv(Sock* sk, msghdr* msg, const PktMeta& m, int gro_size) {
  if (!inet_sk(sk)->cmsg_flags && !sk->tstamp && !gro_size) [[likely]] {
    msg->msg_controllen = 0;
    return;
  }
  CmsgWriter w(msg);
  put_recv_cmsgs(w, sk, m, true, gro_size);
  msg->msg_controllen = w.written();
}

void inet_cmsg_tstamp(Sock* sk, msghdr* msg, uint64_t rx_time_ns) {
  if (!sk->tstamp || !rx_time_ns) {
    msg->msg_controllen = 0;
    return;
  }
  CmsgWriter w(msg);
  put_tstamp(w, sk, rx_time_ns);
  msg->msg_controllen = w.written();
}

void inet_queue_err(Sock* sk, const InetSockErr& e, const Ipv4Rx* icmp, const Pktbuf* payload, uint32_t off,
                    uint32_t len) {
  Shard& sh = *sk->shard;
  // A small buffer where the stack has them and the quote fits (the queue charges a buffer's whole size).
  const bool small = sh.small_pool && sizeof(ErrHeader) + len <= kSmallBufData;
  Pktbuf p = small ? sh.small_pool->alloc() : Pktbuf();
  if (small && !p) ++sh.stats.rx_condense_short;
  if (!p) p = sh.alloc_pkt();
  if (!p) return sh.drops.add(Drop::NoMbuf);
  // The payload is what the ICMP message quoted (576 bytes at most from a conforming router): it fits one
  // buffer behind the header; a longer quote is cut there.
  len = std::min<uint32_t>(len, p.tailroom() > sizeof(ErrHeader) ? p.tailroom() - sizeof(ErrHeader) : 0);
  uint8_t* d = p.append(static_cast<uint16_t>(sizeof(ErrHeader) + len));
  if (!d) return sh.drops.add(Drop::NoMbuf);
  ErrHeader h{};
  h.ee.ee_errno = static_cast<uint32_t>(e.err);
  h.ee.ee_origin = e.origin;
  h.ee.ee_type = e.type;
  h.ee.ee_code = e.code;
  h.ee.ee_info = e.info;
  h.addr = e.addr.host();
  h.port = e.port;
  memcpy(d, &h, sizeof h);
  if (len && !payload->copy_out(off, len, d + sizeof h)) return sh.drops.add(Drop::NoMbuf);
  PktMeta* m = p.meta();
  *m = PktMeta{};
  if (icmp) {
    m->src_addr = icmp->src.host();
    m->dst_addr = icmp->dst.host();
    m->ttl = icmp->ttl;
    m->tos = icmp->tos;
    m->steer_iface = static_cast<uint8_t>(icmp->port->ifc->index);
  }
  m->rx_time_ns = static_cast<uint64_t>(sh.now().ns());
  m->truesize = p.mbuf()->buf_len;
  if (!sock_rmem_charge(sk, m->truesize, Rmem::ErrQueue)) return sh.drop(std::move(p), Drop::SockErrQueueFull);
  sk->error_queue.push(std::move(p));
  sock_wake(sk, EPOLLERR);
}

ssize_t inet_recv_error(Sock* sk, msghdr* msg, socklen_t* addr_len) {
  rte_mbuf* head = sk->error_queue.front();
  if (!head) return -EAGAIN;
  sock_rmem_uncharge(sk, pkt_meta(head)->truesize);
  Pktbuf p = sk->error_queue.pop();
  ErrHeader h;
  p.copy_out(0, sizeof h, &h);
  const uint32_t plen = p.len() - static_cast<uint32_t>(sizeof h);
  const size_t copied = pkt_copy_to_iov(p, sizeof h, plen, msg->msg_iov, msg->msg_iovlen);
  msg->msg_flags = copied < plen ? MSG_TRUNC : 0;
  if (msg->msg_name) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(h.port);
    sin.sin_addr.s_addr = htonl(h.addr);
    memcpy(msg->msg_name, &sin, std::min<size_t>(msg->msg_namelen, sizeof sin));
    *addr_len = sizeof sin;
  }
  const bool from_icmp = h.ee.ee_origin == SO_EE_ORIGIN_ICMP;
  CmsgWriter w(msg);
  put_recv_cmsgs(w, sk, *p.meta(), from_icmp);
  struct {
    sock_extended_err ee;
    sockaddr_in offender;
  } eh{};
  eh.ee = h.ee;
  if (from_icmp) {
    // SO_EE_OFFENDER: who sent the ICMP message.
    eh.offender.sin_family = AF_INET;
    eh.offender.sin_addr.s_addr = htonl(p.meta()->src_addr);
  }
  w.put(IPPROTO_IP, IP_RECVERR, &eh, sizeof eh);
  msg->msg_controllen = w.written();
  msg->msg_flags |= MSG_ERRQUEUE;
  // SO_ERROR follows the queue (Linux's sock_dequeue_err_skb): the next entry's errno if it is an ICMP
  // error; 0 once an ICMP error was read and none follows. More entries: the reader is told again.
  // (An entry's header is in its first buffer: inet_queue_err wrote it there.)
  if (rte_mbuf* next = sk->error_queue.front()) {
    ErrHeader nh;
    memcpy(&nh, rte_pktmbuf_mtod(next, const void*), sizeof nh);
    if (nh.ee.ee_origin == SO_EE_ORIGIN_ICMP) {
      sk->err = static_cast<int>(nh.ee.ee_errno);
    } else if (from_icmp) {
      sk->err = 0;
    }
    sock_wake(sk, EPOLLERR);
  } else if (from_icmp) {
    sk->err = 0;
  }
  return static_cast<ssize_t>(copied);
}

void inet_purge_errors(Sock* sk) {
  while (rte_mbuf* m = sk->error_queue.front()) {
    sock_rmem_uncharge(sk, pkt_meta(m)->truesize);
    sk->error_queue.pop().reset();
  }
}

int inet_cmsg_send(const msghdr* msg, InetCmsgSend* out, bool udp) {
  const size_t total = msg->msg_controllen;
  if (!total) return 0;
  if (!msg->msg_control) return -EFAULT;
  const auto* base = static_cast<const uint8_t*>(msg->msg_control);
  for (size_t off = 0; off <= total && total - off >= sizeof(cmsghdr);) {
    cmsghdr h;
    memcpy(&h, base + off, sizeof h);
    // CMSG_OK: a header's length covers itself and stays inside the buffer.
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > total - off) return -EINVAL;
    const uint8_t* data = base + off + CMSG_LEN(0);
    const size_t dlen = h.cmsg_len - CMSG_LEN(0);
    if (h.cmsg_level == SOL_SOCKET) return -EINVAL;  // SO_MARK, SCM_TXTIME ...: none supported (Linux: EINVAL)
    if (h.cmsg_level == IPPROTO_UDP && udp) {
      // __udp_cmsg_send: UDP_SEGMENT (a 16-bit segment size) and nothing else.
      if (h.cmsg_type != UDP_SEGMENT || h.cmsg_len != CMSG_LEN(sizeof(uint16_t))) return -EINVAL;
      uint16_t g;
      memcpy(&g, data, sizeof g);
      out->gso_size = g;
    }
    if (h.cmsg_level == IPPROTO_IP) {
      switch (h.cmsg_type) {
        case IP_PKTINFO: {
          if (dlen != sizeof(in_pktinfo)) return -EINVAL;
          in_pktinfo pi;
          memcpy(&pi, data, sizeof pi);
          if (pi.ipi_ifindex < 0) return -ENODEV;
          out->oif = static_cast<unsigned>(pi.ipi_ifindex);
          out->addr = wire::Ipv4Addr(ntohl(pi.ipi_spec_dst.s_addr));
          break;
        }
        case IP_TTL: {
          if (dlen != sizeof(int)) return -EINVAL;
          int v;
          memcpy(&v, data, sizeof v);
          if (v < 1 || v > 255) return -EINVAL;
          out->ttl = static_cast<uint8_t>(v);
          break;
        }
        case IP_TOS: {
          int v;
          if (dlen == sizeof(int)) {
            memcpy(&v, data, sizeof v);
          } else if (dlen == 1) {
            v = *data;
          } else {
            return -EINVAL;
          }
          if (v < 0 || v > 255) return -EINVAL;
          out->tos = static_cast<uint8_t>(v);
          break;
        }
        default:
          return -EINVAL;  // IP_RETOPTS (no IP options here) and the rest
      }
    }
    // Other levels are not IP's: skipped, as Linux's ip_cmsg_send does. The next header starts at the
    // aligned end of this one, if that is still inside the buffer (a last message's padding may not be:
    // msg_controllen = cmsg_len is common and valid).
    off += CMSG_ALIGN(h.cmsg_len);
  }
  return 0;
}

int inet_cmsg_route(Shard& sh, wire::Ipv4Addr dst, const InetCmsgSend& c, RouteResult* out) {
  if (!c.addr.is_any()) {
    // As Linux's ip_route_output_key_hash: a multicast, broadcast or zero-network source is invalid; one
    // that is not ours has no route (without IP_FREEBIND / IP_TRANSPARENT, which Skiff has not).
    const uint32_t a = c.addr.host();
    if ((a >> 28) == 0xe || c.addr.is_broadcast() || (a >> 24) == 0) return -EINVAL;
    if (!inet_is_local(sh, c.addr)) return -ENETUNREACH;
  }
  auto rt = sh.routes.lookup(dst);
  if (dst.is_broadcast()) {
    // The limited broadcast leaves on a link, never through a gateway (RFC 1122 §3.3.6): the chosen
    // interface's, else the source address's, else the route's.
    unsigned iface = rt ? rt->iface : 0;
    if (c.oif) {
      iface = c.oif - 1;
    } else if (!c.addr.is_any()) {
      for (auto& port : sh.ports())
        if (port->ifc->is_our_addr(c.addr)) iface = port->ifc->index;
    }
    const ShardPort* sp = sh.port_for(iface);
    if (!sp) return c.oif ? -ENODEV : -ENETUNREACH;
    rt = RouteResult{iface, dst, sp->ifc->addr.addr};
  } else if (c.oif) {
    const ShardPort* sp = sh.port_for(c.oif - 1);
    if (!sp) return -ENODEV;
    if (!rt || rt->iface != c.oif - 1) {
      // Only the link of that interface is reachable through it (no route of ours leads elsewhere by it).
      if (!sp->ifc->addr.contains(dst) && !dst.is_broadcast() && !dst.is_multicast()) return -ENETUNREACH;
      rt = RouteResult{sp->ifc->index, dst, sp->ifc->addr.addr};
    }
  }
  if (!rt) return -ENETUNREACH;
  *out = *rt;
  if (!c.addr.is_any()) out->src = c.addr;
  return 0;
}

}  // namespace skiff
