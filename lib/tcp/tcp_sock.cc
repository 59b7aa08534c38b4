// TCP's socket side: tcp_prot (connect, listen, accept, close, shutdown, send/recv, options, TCP_INFO,
// poll) and inet_stream_ops, plus the state bookkeeping shared by input and timers.

#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "api/skiff.h"
#include "base/siphash.hh"
#include "inet/cmsg.hh"
#include "inet/inet.hh"
#include "sock/epoll.hh"
#include "tcp/tcp_impl.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

namespace tf = wire::tcp_flag;
using wire::Ipv4Addr;

namespace tcp {

void set_state(TcpSock* tp, uint8_t st) {
  Sock* sk = sk_of(tp);
  Shard& sh = *sk->shard;
  const uint8_t old = sk->state;
  if (old == st) return;
  // A Fast Open connection's handshake is over when it is established (the SYN-ACK's ACK came) or gone; one
  // closed before that (FIN-WAIT-1) still waits for the ACK (rcv_established_and_later).
  if (tp->fastopen_child && (st == sk_state::kEstablished || st == sk_state::kClose)) fastopen_release(tp);
  // tcpCurrEstab (RFC 4022): connections in ESTABLISHED or CLOSE-WAIT.
  const auto counted = [](uint8_t s) { return s == sk_state::kEstablished || s == sk_state::kCloseWait; };
  if (counted(st) && !counted(old)) ++sh.stats.tcp_curr_estab;
  if (!counted(st) && counted(old)) --sh.stats.tcp_curr_estab;
  if (st == sk_state::kEstablished) tp->was_connected = true;
  sk->state = st;
  // The descriptor's state follows the calls, not the connection (Linux changes sock->state only in
  // connect, accept and shutdown): a connection that closes, is reset or times out leaves a connected
  // socket connected (connect() says EISCONN, listen() EINVAL) and a connecting one connecting (the next
  // connect() reports the error). Skiff marks a connection that completes on its own as connected, where
  // Linux waits for the next connect() to look (connect_reported keeps the difference).
  if (Socket* s = sk->socket) {
    if (st == sk_state::kSynSent) s->state = SocketState::Connecting;
    if (st == sk_state::kEstablished && s->state == SocketState::Connecting) s->state = SocketState::Connected;
  }
}

void set_error(TcpSock* tp, int err) {
  Sock* sk = sk_of(tp);
  sk->err = err;
  sock_wake(sk, EPOLLERR);
}

SeqNum new_isn(Shard& sh, Ipv4Addr laddr, uint16_t lport, Ipv4Addr raddr, uint16_t rport) {
  // RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock.
  struct {
    uint32_t l, r;
    uint16_t lp, rp;
  } key{laddr.host(), raddr.host(), lport, rport};
  const uint32_t f = static_cast<uint32_t>(siphash24(process_secret(), &key, sizeof key));
  const uint32_t m = static_cast<uint32_t>(sh.now().ns() / 4000);
  return SeqNum(m + f);
}

uint32_t ts_offset_for(Ipv4Addr laddr, Ipv4Addr raddr) {
  struct {
    uint32_t tag, l, r;
  } key{0x74737666u /* "tsvf": not an ISN key */, laddr.host(), raddr.host()};
  return static_cast<uint32_t>(siphash24(process_secret(), &key, sizeof key));
}

FastOpenKeys fastopen_keys_from(const uint8_t* bytes, unsigned count) {
  FastOpenKeys k;
  k.count = static_cast<uint8_t>(std::min(count, 2u));
  for (unsigned i = 0; i < k.count; ++i) {
    // Little-endian 64-bit halves, as Linux reads them (get_unaligned_le64): the same bytes, the same key.
    k.key[i].k0 = wire::load_le64(bytes + 16 * i);
    k.key[i].k1 = wire::load_le64(bytes + 16 * i + 8);
  }
  return k;
}

const FastOpenKeys& fastopen_keys_of(Shard& sh, const TcpSock* lp) {
  if (lp && lp->icsk.fastopen_keys) return *lp->icsk.fastopen_keys;
  FastOpenKeys& k = sh.tcp.fastopen_keys;
  if (k.count == 0) [[unlikely]] {
    const TcpConfig& cfg = sh.cfg.tcp;
    if (cfg.fastopen_key_count) {
      k = fastopen_keys_from(cfg.fastopen_key.data(), cfg.fastopen_key_count);
    } else {
      // One key for the whole process, so every shard makes and accepts the same cookies; drawn from the
      // process secret (a one-way function of it, as the other keys drawn from it).
      const uint64_t tag0 = 0x74666b30u /* "tfk0" */, tag1 = 0x74666b31u;
      k.key[0] = SipKey{siphash24(process_secret(), &tag0, sizeof tag0), siphash24(process_secret(), &tag1, sizeof tag1)};
      k.count = 1;
    }
  }
  return k;
}

void fastopen_cookie(const SipKey& key, Ipv4Addr client, Ipv4Addr server, uint8_t* out) {
  uint8_t pair[8];
  wire::store_be32(pair, client.host());
  wire::store_be32(pair + 4, server.host());
  const uint64_t h = siphash24(key, pair, sizeof pair);
  static_assert(kFastOpenCookieLen == sizeof h);
  wire::store_le64(out, h);
}

void fastopen_release(TcpSock* tp) {
  tp->fastopen_child = false;
  tp->fastopen_send_cookie = false;
  if (TcpSock* lp = std::exchange(tp->fastopen_listener, nullptr)) --lp->icsk.fastopen_len;
}

void init_sock(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  const TcpConfig& cfg = sk->shard->cfg.tcp;
  init_timers(tp);
  sk->state = sk_state::kClose;
  sk->rcvbuf = cfg.rmem_default;
  sk->sndbuf = cfg.wmem_default;
  tp->rto_us = std::chrono::duration_cast<std::chrono::microseconds>(cfg.rto_initial).count();
  tp->mss = tp->peer_mss = cfg.mss_default;
  tp->notsent_lim = cfg.notsent_lowat;
  if (!tp->cc) {
    tp->cc = cong_default();
    tp->cc->init(tp);
  }
}

void set_mss(TcpSock* tp, uint16_t peer_mss) {
  Shard& sh = shard_of(tp);
  const TcpConfig& cfg = sh.cfg.tcp;
  // A peer MSS below the floor (down to 0) is raised to it: tiny segments would only burn CPU (and a zero
  // would divide by zero in window arithmetic).
  tp->peer_mss = std::max(peer_mss, cfg.mss_min);
  uint16_t m = std::min(tp->peer_mss, tp->advmss);
  if (tp->pmtu) m = std::min<uint16_t>(m, static_cast<uint16_t>(tp->pmtu - 40));  // RFC 1191: the path's MTU
  if (tp->user_mss) m = std::min(m, tp->user_mss);
  m = std::max<uint16_t>(m, cfg.mss_min);
  // The send MSS counts payload: every segment carries 12 bytes of timestamp option (RFC 7323 §2.2 note).
  if (tp->ts_ok) m = static_cast<uint16_t>(m - 12);
  tp->mss = m;
}

uint32_t initial_window(TcpSock* tp) {
  // Ten segments (RFC 6928), or `init-cwnd`, whatever the MSS, as Linux's tcp_init_cwnd counts packets: RFC
  // 6928's byte cap, min(10*MSS, max(2*MSS, 14600)), would give a jumbo-frame connection two segments and
  // make an init-cwnd above 10 do nothing at the usual MSS.
  return cfg_of(tp).init_cwnd_segs * tp->mss;
}

void init_cwnd(TcpSock* tp) {
  tp->cwnd = initial_window(tp);
  tp->ssthresh = 0x7fffffff;
  tp->cwnd_stamp = shard_of(tp).now();
}

void free_write_queue(TcpSock* tp) {
  tp->num_sack_runs = 0;
  tp->write_queue.purge();
  tp->send_head = nullptr;
  tp->write_bytes = 0;
  sk_of(tp)->wmem_queued = 0;
}

namespace {

void unlink_child(TcpSock* tp) {
  TcpSock* lp = tp->parent;
  if (!lp) return;
  InetConnectionSock& l = lp->icsk;
  if (embryonic(tp)) {
    --l.syn_len;
  } else {
    for (TcpSock** p = &l.accept_head; *p; p = &(*p)->accept_next) {
      if (*p != tp) continue;
      *p = tp->accept_next;
      if (l.accept_tail == tp) {
        l.accept_tail = nullptr;
        for (TcpSock* q = l.accept_head; q; q = q->accept_next) l.accept_tail = q;
      }
      --l.accept_len;
      break;
    }
  }
  tp->parent = nullptr;
  tp->accept_next = nullptr;
}

// Whether a socket on this shard holds `port` explicitly (bind() or listen()): the other shards send
// datagrams for that port here when they have no socket for them.
bool port_homed(Shard& sh, uint16_t port) {
  for (InetSock* s = sh.tcp.port_bucket(port); s; s = s->bind_next)
    if (tcp_sk(&s->sk)->bound_explicitly || tcp_sk(&s->sk)->homed || s->sk.state == sk_state::kListen) return true;
  return false;
}

void unbind(Shard& sh, TcpSock* tp) {
  InetSock* is = inet_of(tp);
  sh.tcp.bind_remove(is);
  tp->bound = false;
  if ((tp->bound_explicitly || tp->homed) && sh.nshards > 1) {
    tp->homed = false;
    if (!port_homed(sh, is->num)) sh.announce_port(PortDirectory::kTcp, is->num, false);
  }
}

// The messages of 4-tuple loans (TcpTable::lend). A loan is named by the borrower and its seq.
struct Tuple {
  Ipv4Addr l;
  uint16_t lp;
  Ipv4Addr r;
  uint16_t rp;
};
Tuple tuple_of(TcpSock* tp) {
  const InetSock* is = inet_of(tp);
  return {is->rcv_saddr, is->num, is->daddr, is->dport};
}
TcpTable::Lent loan_of(const Shard& sh, const TcpSock* tp) { return {static_cast<uint8_t>(sh.id), tp->lend_seq}; }
// Records at `owner` the loan `me` of `t`, with no answer (the borrower holds the connection already).
void send_lend(Shard& sh, unsigned owner, Tuple t, TcpTable::Lent me) {
  sh.send(owner, [t, me](Shard& o) {
    // A loan under another seq (a withdrawal still on its way) stays; this one's give-back will not match it.
    if (o.tcp.lend(t.l, t.lp, t.r, t.rp, me)) ++o.stats.tcp_tuples_lent;
  });
}
void send_take_back(Shard& sh, unsigned owner, Tuple t, TcpTable::Lent me) {
  sh.send(owner, [t, me](Shard& o) { o.tcp.take_back(t.l, t.lp, t.r, t.rp, me); });
}

// Gives a lent 4-tuple back to the shard that lent it (or withdraws the request still out).
void give_back_tuple(Shard& sh, TcpSock* tp) {
  if (!tp->lend_pending && !tp->lent) return;
  send_take_back(sh, tp->lent_by, tuple_of(tp), loan_of(sh, tp));
  tp->lend_pending = tp->lent = false;
}

void tuple_answer(Shard& sh, Tuple t, uint32_t seq, bool ok);

// Asks `owner`, the shard RSS gives the socket's 4-tuple to, to lend it; the SYN waits for the answer.
void request_tuple(Shard& sh, TcpSock* tp, unsigned owner) {
  tp->lend_pending = true;
  tp->lent_by = static_cast<uint8_t>(owner);
  tp->lend_seq = ++sh.tcp.lend_seq;
  sh.send(owner, [t = tuple_of(tp), me = loan_of(sh, tp)](Shard& o) {
    const bool ok = o.tcp.lend(t.l, t.lp, t.r, t.rp, me);
    ++(ok ? o.stats.tcp_tuples_lent : o.stats.tcp_tuples_refused);
    o.send(me.shard, [t, me, ok](Shard& b) { tuple_answer(b, t, me.seq, ok); });
  });
}

// The owner shard's answer to a connect()'s request for its 4-tuple (seq: which request).
void tuple_answer(Shard& sh, Tuple t, uint32_t seq, bool ok) {
  TcpSock* tp = sh.tcp.lookup(t.l, t.lp, t.r, t.rp);
  if (!tp || !tp->lend_pending || tp->lend_seq != seq || sk_of(tp)->state != sk_state::kSynSent) {
    // The socket went away meanwhile (its withdrawal is on its way to the owner, behind this request).
    return;
  }
  tp->lend_pending = false;
  if (!ok) {
    sk_of(tp)->err = EADDRNOTAVAIL;
    done(tp);  // a socket with a descriptor (a closed one withdrew its request): still here
    if (!tp->bound_explicitly && tp->bound) {
      // As Linux's inet_hash_connect: a port connect() picked is not kept; a retry picks another.
      unbind(sh, tp);
      inet_of(tp)->num = 0;
    }
    return;
  }
  const unsigned owner = sh.flow_owner(t.l, t.lp, t.r, t.rp);
  if (owner != tp->lent_by) {
    // The RSS map changed while the request was out (Stack::set_reta): the tuple has another owner now.
    send_take_back(sh, tp->lent_by, t, loan_of(sh, tp));
    if (owner != sh.id) return request_tuple(sh, tp, owner);
  } else {
    tp->lent = true;
  }
  if (tp->fastopen_defer) return;  // TCP_FASTOPEN_CONNECT: the first write sends the SYN
  send_syn(tp);
  arm_rto(tp);
}

}  // namespace

void note_foreign_child(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  if (sh.nshards == 1) return;
  const Tuple t = tuple_of(tp);
  const unsigned owner = sh.flow_owner(t.l, t.lp, t.r, t.rp);
  if (owner == sh.id) return;
  tp->lent = true;
  tp->lent_by = static_cast<uint8_t>(owner);
  tp->lend_seq = ++sh.tcp.lend_seq;
  send_lend(sh, owner, t, loan_of(sh, tp));  // the owner forwarded the SYN here: it holds no such connection
}

// Out of the connection table (and any 4-tuple lent to it given back).
void unhash(TcpSock* tp) {
  if (!tp->hashed) return;
  give_back_tuple(shard_of(tp), tp);
  shard_of(tp).tcp.remove(tp);
}

void destroy_closed(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  Shard& sh = *sk->shard;
  forget_deferred_ack(tp);
  cancel_timers(tp);
  unhash(tp);
  if (tp->bound) unbind(sh, tp);
  free_write_queue(tp);
  ooo_purge(tp);
  sock_rqueue_purge(sk);
  sh.socks.free_sock(sk);
}

void done(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  // A connection in its listener's accept queue stays there, closed, with what it received and its error
  // (Linux's tcp_done frees only an orphan): accept() hands it out, and the application reads the data that
  // came before a RST, then ECONNRESET, then 0. So does a Fast Open child, queued with its SYN's data
  // before its handshake completed (Linux's reqsk_fastopen_remove keeps it there). A handshake still under
  // way just goes.
  const bool queued = tp->parent && !embryonic(tp);
  const bool child = tp->parent != nullptr && !queued;
  tp->fastopen_defer = false;  // (a deferred connect whose 4-tuple was refused: no SYN is owed any more)
  if (child) unlink_child(tp);
  set_state(tp, sk_state::kClose);
  cancel_timers(tp);
  unhash(tp);
  free_write_queue(tp);
  ooo_purge(tp);
  sk->shutdown = kRcvShutdown | kSendShutdown;
  if (queued) return;
  if (tp->orphan || child || !sk->socket) {
    destroy_closed(tp);
    return;
  }
  sock_wake(sk, EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP | (sk->err ? uint32_t{EPOLLERR} : 0u));
}

void enter_time_wait(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  set_state(tp, sk_state::kTimeWait);
  cancel_timers(tp);  // RACK's reordering timer too: nothing is left to retransmit
  free_write_queue(tp);
  sk_of(tp)->shutdown = kRcvShutdown | kSendShutdown;
  sh.timers.arm(tp->tw_timer, sh.now() + cfg_of(tp).time_wait);
  if (!tp->orphan) sock_wake(sk_of(tp), EPOLLIN | EPOLLHUP | EPOLLRDHUP);
}

}  // namespace tcp

using namespace tcp;

namespace {

// Can `me` (bound to me->rcv_saddr) use `port` next to what is bound there (inet_csk_bind_conflict)?
// Two sockets with SO_REUSEADDR share a port unless the other one listens; one that starts listening asks
// again (Linux's inet_csk_listen_start: get_port with its own state LISTEN), so of two such sockets either
// may listen, but only one.
bool bind_conflict(Shard& sh, InetSock* me, uint16_t port) {
  for (InetSock* s = sh.tcp.port_bucket(port); s; s = s->bind_next) {
    if (s == me) continue;
    const bool overlap = s->rcv_saddr.is_any() || me->rcv_saddr.is_any() || s->rcv_saddr == me->rcv_saddr;
    if (!overlap) continue;
    if (s->sk.reuseport && me->sk.reuseport) continue;
    const bool other_listens = s->sk.state == sk_state::kListen;
    if (s->sk.reuseaddr && me->sk.reuseaddr && !other_listens) continue;
    if (s->sk.state == sk_state::kTimeWait && me->sk.reuseaddr) continue;
    return true;
  }
  return false;
}

int tcp_get_port(Sock* sk, uint16_t port) {
  Shard& sh = *sk->shard;
  InetSock* me = inet_sk(sk);
  TcpSock* tp = tcp_sk(sk);
  if (port == 0) {
    port = sh.socks.ports.pick_random(
        [&](uint16_t p) {
          return sh.ephemeral_ours(PortDirectory::kTcp, p) && !sh.tcp.port_bucket(p) &&
                 !bind_conflict(sh, me, p);
        },
        me->local_port_range);
    if (!port) return -EADDRINUSE;
  } else if (bind_conflict(sh, me, port)) {
    return -EADDRINUSE;
  }
  me->num = port;
  tp->bound = true;
  const bool first = !tcp::port_homed(sh, port);
  tp->bound_explicitly = true;
  sh.tcp.bind_add(me);
  if (first) sh.announce_port(PortDirectory::kTcp, port, true);
  return 0;
}

int tcp_init(Sock* sk) {
  init_sock(tcp_sk(sk));
  return 0;
}

void tcp_destroy(Sock*) {}

namespace {
// connect()'s first half (Linux's tcp_v4_connect up to tcp_connect): route, source port, ISN; SYN-SENT.
int connect_init(Sock* sk, const sockaddr* addr, socklen_t len) {
  TcpSock* tp = tcp_sk(sk);
  // A socket reset out of its last connection comes here without tcp_disconnect: nothing of that one's
  // Fast Open goes into this one's SYN.
  tp->fastopen_defer = tp->syn_fastopen = tp->syn_data_acked = tp->syn_pmtu_resent = false;
  tp->fastopen_cookie_len = 0;
  InetSock* is = inet_sk(sk);
  Shard& sh = *sk->shard;
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
  if (sin->sin_family != AF_INET) return -EAFNOSUPPORT;
  // INADDR_ANY is the host (Linux's ip_route_output_key_hash_rcu: 127.0.0.1 through lo).
  const Ipv4Addr dst = sin->sin_addr.s_addr ? Ipv4Addr(ntohl(sin->sin_addr.s_addr)) : Ipv4Addr::of(127, 0, 0, 1);
  const uint16_t dport = ntohs(sin->sin_port);
  if (dst.is_multicast() || inet_is_broadcast(sh, dst)) return -ENETUNREACH;
  auto rt = sh.routes.lookup(dst);
  ShardPort* sp = rt ? sh.port_for(rt->iface) : nullptr;
  if (!sp) return -ENETUNREACH;
  const Ipv4Addr src = is->rcv_saddr.is_any() ? rt->src : is->rcv_saddr;
  // A loopback source never leaves the host (Linux's __mkroute_output: EINVAL).
  if (src.is_loopback() && !sh.is_local_addr(dst)) return -EINVAL;
  if (!is->num) {
    // RFC 6056 Algorithm 4: a port whose 4-tuple is free and that nobody bound explicitly. With several
    // shards each candidate is first moved (flipping a few low bits, O(1): core/rss.hh) to the nearest
    // port whose replies the RSS map sends to this shard, so the connection never needs steering.
    const bool steer = sh.nshards > 1;
    const EphemeralPorts::Range range = sh.socks.ports.range_for(is->local_port_range);
    const uint16_t lo = range.lo, hi = range.hi;
    uint16_t chosen = 0;
    const auto try_port = [&](uint16_t cand, bool steered) {
      const uint16_t p =
          steered ? sh.rss_map.steer_port(*sh.rss_hash, src, cand, dst, dport, sh.id, sh.rng.next_u32()) : cand;
      if (p < lo || p > hi) return false;
      if (sh.tcp.lookup(src, p, dst, dport) || sh.tcp.lent(src, p, dst, dport)) return false;
      if (steer && sh.dir.others(PortDirectory::kTcp, p)) return false;  // bound or listening on another shard
      for (InetSock* s = sh.tcp.port_bucket(p); s; s = s->bind_next)
        if (tcp_sk(&s->sk)->bound_explicitly || s->sk.state == sk_state::kListen) return false;
      chosen = p;
      return true;
    };
    sh.socks.ports.pick(src, dst, dport, IPPROTO_TCP, [&](uint16_t cand) { return try_port(cand, steer); },
                        is->local_port_range);
    // A narrow IP_LOCAL_PORT_RANGE may hold no port RSS brings home (steer_port moves a candidate out of
    // it): then any free port of the range, served by lending (below).
    if (!chosen && steer)
      sh.socks.ports.pick(src, dst, dport, IPPROTO_TCP, [&](uint16_t cand) { return try_port(cand, false); },
                          is->local_port_range);
    if (!chosen) return -EADDRNOTAVAIL;
    const uint16_t port = chosen;
    if (steer && sh.flow_owner(src, port, dst, dport) == sh.id) ++sh.stats.tcp_steered_opens;
    is->num = port;
    if (steer && sh.flow_owner(src, port, dst, dport) != sh.id) {
      // The RSS map gives this shard nothing: replies reach us through the other shards' directories.
      ++sh.stats.tcp_unsteered_opens;
      if (!tcp::port_homed(sh, port)) sh.announce_port(PortDirectory::kTcp, port, true);
      tp->homed = true;
    }
    tp->bound = true;
    sh.tcp.bind_add(is);
  } else if (sh.tcp.lookup(src, is->num, dst, dport) || sh.tcp.lent(src, is->num, dst, dport)) {
    return -EADDRNOTAVAIL;  // this 4-tuple is taken (e.g. in TIME-WAIT), here or lent to another shard
  }
  is->saddr = src;
  is->rcv_saddr = src;
  is->daddr = dst;
  is->dport = dport;
  is->ip_ident = static_cast<uint16_t>(sk->shard->rng.next());  // tcp_v4_connect: inet_id drawn
  init_path_mtu(tp, sp->ifc->mtu);
  tp->mss = std::min<uint16_t>({sh.cfg.tcp.mss_default, tp->advmss, static_cast<uint16_t>(tp->pmtu - 40)});
  tp->iss = new_isn(sh, src, is->num, dst, dport);
  tp->rcv_wscale = choose_rcv_wscale(tp);
  tp->ts_offset = ts_offset_for(src, dst);
  tp->snd_una = tp->snd_sml = tp->iss;
  tp->snd_nxt = tp->snd_max = tp->iss + 1;
  tp->recover = tp->iss;
  tp->retransmits = tp->zero_wnd_rtos = 0;
  tp->st.rto_stamp = {};  // (no timeout episode of an earlier attempt runs on: Linux's tcp_clear_retrans)
  tp->ecn_flags = sh.cfg.tcp.ecn == 1 ? kEcnSynOffered : 0;  // RFC 3168 §6.1.1: an ECN-setup SYN
  sk->err = 0;  // an error the last connection left, unread (Linux's tcp_connect_init)
  set_state(tp, sk_state::kSynSent);
  sh.tcp.add(tp);
  ++sh.stats.tcp_active_opens;
  return 0;
}

// connect()'s second half: the SYN goes (unless deferred for Fast Open, then the first write sends it).
void connect_start(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  const InetSock* is = inet_of(tp);
  const unsigned owner = sh.flow_owner(is->saddr, is->num, is->daddr, is->dport);
  if (owner != sh.id) {
    // RSS gives the 4-tuple to another shard, whose connections this shard cannot see: the SYN waits until
    // that shard lends it (tuple_answer), or the connect fails with EADDRNOTAVAIL as Linux's would.
    request_tuple(sh, tp, owner);
    return;
  }
  if (tp->fastopen_defer) return;
  send_syn(tp);
  arm_rto(tp);
}

// Fast Open for a connect to this server (RFC 7413 §4.1.2): with its cookie cached our SYN brings it (and
// data: true), else our SYN asks for one; with TCP_FASTOPEN_NO_COOKIE it brings data and no option at all
// (Linux's tcp_fastopen_cookie_check). Not while SYNs with data to the server keep going unanswered
// (§4.1.3.1: two in a row give a plain handshake for 4 minutes, doubling with each further one up to
// 17 hours, as older Linux kernels did per destination in tcp_send_syn_data; current ones have a global
// blackhole detector instead). `entry`: the server's cache entry (nullptr: none).
bool fastopen_prepare(TcpSock* tp, const FastOpenEntry** entry = nullptr) {
  Shard& sh = shard_of(tp);
  const FastOpenEntry* e = sh.tcp.fastopen.find(inet_of(tp)->saddr, inet_of(tp)->daddr);
  if (entry) *entry = e;
  tp->syn_fastopen = false;
  tp->fastopen_cookie_len = 0;
  tp->fastopen_exp = false;
  if (e && e->syn_loss > 1 && sh.now() - e->last_syn_loss < 60s * (1 << std::min<int>(e->syn_loss, 10))) return false;
  tp->syn_fastopen = true;
  if (tp->fastopen_no_cookie) return true;
  if (e && e->cookie_len) {
    tp->fastopen_cookie_len = e->cookie_len;
    std::memcpy(tp->fastopen_cookie, e->cookie, e->cookie_len);
    tp->fastopen_exp = e->exp;
    return true;
  }
  tp->fastopen_exp = e && e->try_exp == 1;
  ++sh.stats.tcp_fastopen_cookie_requests;
  tp->st.fastopen_client_fail = kTfoCookieUnavailable;
  return false;
}

// Queues what of `msg` the Fast Open SYN carries: one segment, as much as the server's MSS (cached in `e`;
// 536 if unknown) and the path leave beside the largest set of options (40 bytes; Linux's tcp_send_syn_data).
size_t fastopen_queue(TcpSock* tp, const FastOpenEntry* e, const msghdr* msg) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  uint32_t mss = e && e->mss ? e->mss : 536;
  if (tp->user_mss) mss = std::min<uint32_t>(mss, tp->user_mss);
  mss = std::min<uint32_t>(mss, tp->pmtu - 40);
  size_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) total += msg->msg_iov[i].iov_len;
  size_t n = std::min<size_t>({total, mss > 40 ? mss - 40 : 0, static_cast<size_t>(std::max(sk->sndbuf, 0))});
  if (!n) return 0;
  Pktbuf p = sh.pool.alloc();
  if (!p) return 0;
  n = std::min<size_t>(n, rte_pktmbuf_tailroom(p.mbuf()));
  PktMeta* meta = p.meta();
  meta->seq = (tp->iss + 1).raw();
  meta->flags = 0;
  uint8_t* d = p.append(static_cast<uint16_t>(n));
  for (size_t i = 0, put = 0; put < n; ++i) {
    const size_t k = std::min(n - put, msg->msg_iov[i].iov_len);
    if (k) std::memcpy(d + put, msg->msg_iov[i].iov_base, k);  // (an empty entry's base may be null)
    put += k;
  }
  tp->send_head = p.mbuf();
  tp->write_queue.push(std::move(p));
  tp->write_bytes += static_cast<uint32_t>(n);
  sk->wmem_queued = static_cast<int>(tp->write_bytes);
  return n;
}

// The Fast Open SYN for a connect with `msg` to send: how many of its bytes the SYN carries (0: none, the
// SYN asks for a cookie or is a plain one).
size_t fastopen_syn_data(TcpSock* tp, const msghdr* msg) {
  const FastOpenEntry* e;
  return fastopen_prepare(tp, &e) ? fastopen_queue(tp, e, msg) : 0;
}
}  // namespace

int tcp_v4_connect(Sock* sk, const sockaddr* addr, socklen_t len) {
  const int err = connect_init(sk, addr, len);
  if (err) return err;
  TcpSock* tp = tcp_sk(sk);
  // TCP_FASTOPEN_CONNECT with a cookie for the server: connect() succeeds at once and the SYN waits for the
  // first write, whose data it carries (Linux's tcp_fastopen_defer_connect); without one the SYN asks.
  if (tp->fastopen_connect && sk->shard->cfg.tcp.fastopen) [[unlikely]] tp->fastopen_defer = fastopen_prepare(tp);
  connect_start(tp);
  return 0;
}

// The first write after a connect() that TCP_FASTOPEN_CONNECT deferred sends the SYN with what of it fits
// (the cache is read again, as Linux's tcp_send_syn_data does: without a cookie now the SYN asks for one).
static ssize_t fastopen_deferred_send(TcpSock* tp, const msghdr* msg) {
  tp->fastopen_defer = false;
  const size_t n = fastopen_syn_data(tp, msg);
  if (!tp->lend_pending) {  // (else the SYN goes when the 4-tuple's owner shard lends it: tuple_answer)
    send_syn(tp);
    arm_rto(tp);
  }
  return n ? static_cast<ssize_t>(n) : -EINPROGRESS;
}

// A connection that ended (refused, timed out, reset) before connect() looked at it, as Linux's
// __inet_stream_connect's sock_error: its error (ECONNABORTED if it left none), and the socket is
// disconnected, so the next connect() starts afresh.
static int connect_failed(Socket* sock) {
  Sock* sk = sock->sk;
  const int err = sk->err ? -std::exchange(sk->err, 0) : -ECONNABORTED;
  sock->state = sk->prot->disconnect(sk, 0) ? SocketState::Disconnecting : SocketState::Unconnected;
  return err;
}

// sendmsg with MSG_FASTOPEN, or the first write after a connect() that TCP_FASTOPEN_CONNECT deferred (RFC
// 7413 §4.1.2; Linux's tcp_sendmsg_fastopen, as a non-blocking call): the connect starts with as much of the
// data in its SYN as fits, if the server's cookie is cached, and returns that count; else the SYN asks for
// a cookie, nothing is taken, and the answer is EINPROGRESS. `proceed`: the connection is up (a MSG_FASTOPEN
// connect finished since): an ordinary send follows.
static ssize_t fastopen_sendmsg(Socket* sock, const msghdr* msg, bool& proceed) {
  Sock* sk = sock->sk;
  TcpSock* tp = tcp_sk(sk);
  proceed = false;
  if (!sk->shard->cfg.tcp.fastopen) return -EOPNOTSUPP;  // Linux's answer with the sysctl's client bit off
  const auto* ua = static_cast<const sockaddr*>(msg->msg_name);
  if (ua && msg->msg_namelen >= sizeof(sa_family_t) && ua->sa_family == AF_UNSPEC) return -EOPNOTSUPP;
  if (tp->fastopen_defer && sk->state == sk_state::kSynSent) return fastopen_deferred_send(tp, msg);
  switch (sock->state) {
    case SocketState::Unconnected:
      break;
    case SocketState::Connecting:
      if (sk->state != sk_state::kClose) return -EALREADY;
      {
        // Refused, timed out or reset meanwhile: its error, and the socket is disconnected for a new connect
        // (as Linux's __inet_stream_connect).
        return connect_failed(sock);
      }
    case SocketState::Connected:
      // A non-blocking connect that finished since: the first such call is an ordinary write (Linux's
      // __inet_stream_connect finds the socket connected and says so once), later ones EISCONN (measured).
      // If that connection has ended meanwhile, the call gets its error and the socket is disconnected.
      if (tp->connect_reported) return -EISCONN;
      tp->connect_reported = true;
      if (sk->state == sk_state::kClose) {
        return connect_failed(sock);
      }
      proceed = true;
      return 0;
    default:
      return -EISCONN;
  }
  if (sk->state != sk_state::kClose) return -EISCONN;
  const int err = connect_init(sk, ua, static_cast<socklen_t>(msg->msg_namelen));
  if (err) return err;
  sock->state = SocketState::Connecting;
  const size_t n = fastopen_syn_data(tp, msg);
  connect_start(tp);
  return n ? static_cast<ssize_t>(n) : -EINPROGRESS;
}

namespace {
// What one connection learnt goes with it (Linux's tcp_disconnect): the socket's next connection starts
// with no round-trip estimate, window, scoreboard, backoff or negotiated option of this one. Most options
// set on the socket stay (TCP_NODELAY, TCP_CORK, TCP_CONGESTION, keepalive, TCP_USER_TIMEOUT, buffer
// sizes, ...); TCP_MAXSEG and TCP_WINDOW_CLAMP do not, as on Linux (it clears rx_opt and window_clamp).
// A per-connection field added to TcpSock belongs here too.
void reset_connection(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  const TcpConfig& cfg = cfg_of(tp);
  forget_deferred_ack(tp);
  sk->err_soft = 0;
  tp->syn_data_acked = false;  // (TCPI_OPT_SYN_DATA describes one handshake)
  tp->fastopen_defer = tp->syn_fastopen = false;  // (TCP_FASTOPEN_CONNECT stays: an option)
  tp->fastopen_cookie_len = 0;
  tp->snd_wnd = tp->max_window = tp->rcv_wnd = 0;
  tp->snd_wscale = tp->rcv_wscale = 0;
  tp->wscale_ok = tp->ts_ok = tp->sack_ok = false;
  tp->ts_recent = 0;
  tp->ts_recent_stamp = {};
  tp->dsack_pending = false;
  tp->ooo_stamp = 0;
  tp->sacked_out = tp->lost_out = tp->retrans_out = 0;
  tp->num_sack_runs = 0;
  tp->rack_xmit_ns = 0;
  tp->rack_rtt_us = tp->min_rtt_us = 0;
  tp->rack_fack_set = tp->reord_seen = tp->dsack_round_open = false;
  tp->reo_wnd_mult = 1;
  tp->reo_wnd_persist = 0;
  tp->tlp_armed = tp->tlp_sent = tp->tlp_pending = tp->tlp_is_retrans = false;
  tp->rcvq_space = tp->rcvq_copied = 0;
  tp->rcvq_time = {};
  tp->rcv_rtt_us = 0;
  tp->cc->init(tp);
  tp->peer_mss = cfg.mss_default;  // tp->mss stays: TCP_MAXSEG reads the last connection's, as Linux's mss_cache
  tp->user_mss = 0;
  tp->window_clamp = 0;
  tp->window_clamped = false;
  tp->pmtu = 0;
  tp->pmtu_gen = 0;
  tp->srtt_us = tp->rttvar_us = 0;
  tp->rto_us = std::chrono::duration_cast<std::chrono::microseconds>(cfg.rto_initial).count();
  tp->backoff = 0;
  tp->rtt_pending = false;
  tp->retransmits = tp->total_retrans = 0;
  tp->retrans_start = {};
  init_cwnd(tp);  // the initial window, as Linux shows after a disconnect
  tp->dupacks = tp->bytes_acked = 0;
  tp->ca_state = TcpCa::Open;
  tp->ecn_flags = 0;
  tp->lowat_blocked = false;
  tp->undo_armed = false;
  tp->undo_sent = tp->undo_retrans = tp->prior_cwnd = tp->prior_ssthresh = 0;
  tp->prior_cubic = {};
  tp->cwnd_limited = false;
  tp->max_flight = tp->cwnd_used = 0;
  tp->cwnd_stamp = tp->last_data_sent = {};
  tp->segs_unacked = tp->quickack = 0;
  tp->rcv_mss = tp->rcv_last_seg = 0;
  tp->ack_pending = false;
  tp->ack_pending_since = {};
  tp->probes_out = 0;
  tp->last_rcv = tp->last_snd = tp->neigh_confirmed = tp->last_oow_ack = {};
  tp->connect_reported = false;
  tp->simultaneous_open = false;
  tp->was_connected = false;  // recv() gives ENOTCONN again, as Linux (SOCK_DONE cleared)
  tp->prr_delivered = tp->prr_out = tp->prr_recover_fs = 0;
  tp->st = {};  // (as Linux's tcp_disconnect)
}
}  // namespace

// Aborts a connection (connect(AF_UNSPEC), shutdown of a listener or of a SYN-SENT socket).
int tcp_disconnect(Sock* sk, int) {
  TcpSock* tp = tcp_sk(sk);
  Shard& sh = *sk->shard;
  const uint8_t st = sk->state;
  // Data queued that never left (Linux: snd_nxt != write_seq); send_head would also count what a timeout
  // rewound for sending again.
  const bool unsent = tp->write_bytes > static_cast<uint32_t>(tp->snd_max - tp->snd_una);
  if (st == sk_state::kListen) {
    // Children go with the listener's queue.
    while (TcpSock* c = tp->icsk.accept_head) {
      unlink_child(c);
      if (sk_of(c)->state == sk_state::kClose) {
        destroy_closed(c);  // (reset or timed out while queued: nothing to tell the peer)
        continue;
      }
      send_rst(c);
      done(c);
    }
    std::vector<TcpSock*> syn;
    sh.tcp.for_each([&](TcpSock* c) {
      if (c->parent == tp) syn.push_back(c);
    });
    for (TcpSock* c : syn) done(c);
    // Fast Open connections accepted already but not through their handshake: no listener to count them.
    sh.tcp.for_each([&](TcpSock* c) {
      if (c->fastopen_listener == tp) c->fastopen_listener = nullptr;
    });
    tp->icsk.fastopen_len = 0;
  } else if (st != sk_state::kClose && st != sk_state::kSynSent && st != sk_state::kTimeWait) {
    send_rst(tp);
  }
  cancel_timers(tp);
  unhash(tp);
  free_write_queue(tp);
  ooo_purge(tp);
  sock_rqueue_purge(sk);
  tp->rcv_queued = 0;
  sk->rmem_alloc = 0;
  sk->shutdown = 0;
  if (st == sk_state::kEstablished || st == sk_state::kCloseWait) --sh.stats.tcp_curr_estab;  // as set_state
  if (tp->fastopen_child) fastopen_release(tp);
  sk->state = sk_state::kClose;
  InetSock* is = inet_sk(sk);
  is->daddr = Ipv4Addr::any();
  is->dport = 0;
  if (!tp->bound_explicitly && tp->bound) {
    tcp::unbind(sh, tp);
    is->num = 0;
    is->rcv_saddr = is->saddr = Ipv4Addr::any();
  }
  tp->fin_queued = tp->fin_sent = tp->fin_received = false;
  reset_connection(tp);
  // Linux's tcp_disconnect: a connection cut while it could still carry data (or a SYN-SENT one) leaves
  // ECONNRESET for SO_ERROR (measured on Linux 6.18).
  using namespace sk_state;
  if (st == kEstablished || st == kCloseWait || st == kFinWait1 || st == kFinWait2 || st == kSynRecv ||
      st == kSynSent || (unsent && (st == kClosing || st == kLastAck)))
    sk->err = ECONNRESET;
  return 0;
}

void tcp_close(Sock* sk, int64_t timeout_ns) {
  TcpSock* tp = tcp_sk(sk);
  Shard& sh = *sk->shard;
  const uint8_t st = sk->state;
  tp->orphan = true;
  if (st == sk_state::kListen) {
    tcp_disconnect(sk, 0);
    return destroy_closed(tp);
  }
  if (st == sk_state::kClose) return destroy_closed(tp);
  if (st == sk_state::kSynSent) {
    done(tp);
    return;
  }
  if (st == sk_state::kTimeWait) return;  // the 2*MSL timer frees it
  // Unread data, or SO_LINGER with a zero timeout: abort with RST (RFC 9293 §3.10.4; RFC 2525 §2.17).
  if (tp->rcv_queued > 0 || (sk->linger_on && timeout_ns == 0)) {
    if (tp->rcv_queued > 0) ++sh.stats.tcp_abort_on_close;
    // As Linux's tcp_disconnect: in CLOSING and LAST-ACK, where both FINs are out, a RST goes only if data
    // was never sent (the peer has everything else; the connection just ends here).
    const bool unsent = tp->write_bytes > static_cast<uint32_t>(tp->snd_max - tp->snd_una);
    if ((st != sk_state::kClosing && st != sk_state::kLastAck) || unsent) send_rst(tp);
    done(tp);
    return;
  }
  sk->shutdown = kRcvShutdown | kSendShutdown;
  switch (st) {
    case sk_state::kSynRecv:
    case sk_state::kEstablished:
      set_state(tp, sk_state::kFinWait1);
      tp->fin_queued = true;
      write_xmit(tp, true);
      break;
    case sk_state::kCloseWait:
      set_state(tp, sk_state::kLastAck);
      tp->fin_queued = true;
      write_xmit(tp, true);
      break;
    case sk_state::kFinWait2:
      if (tp->linger2_s < 0) {  // TCP_LINGER2 -1: no waiting for the peer's FIN (Linux's tcp_close)
        send_rst(tp);
        done(tp);
        return;
      }
      sh.timers.arm(tp->tw_timer, sh.now() + fin_time(tp));
      break;
    default:
      break;  // FIN-WAIT-1, CLOSING, LAST-ACK: already on the way out
  }
}

Sock* tcp_accept(Sock* sk, int, int* err) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->state != sk_state::kListen) {
    *err = -EINVAL;
    return nullptr;
  }
  TcpSock* c = tp->icsk.accept_head;
  if (!c) {
    *err = -EAGAIN;
    return nullptr;
  }
  tp->icsk.accept_head = c->accept_next;
  if (!tp->icsk.accept_head) tp->icsk.accept_tail = nullptr;
  --tp->icsk.accept_len;
  c->accept_next = nullptr;
  c->parent = nullptr;
  *err = 0;
  return sk_of(c);
}

int tcp_ioctl(Sock* sk, unsigned long cmd, void* arg) {
  TcpSock* tp = tcp_sk(sk);
  int v;
  switch (cmd) {
    case SIOCINQ:
      if (sk->state == sk_state::kListen) return -EINVAL;
      v = static_cast<int>(tp->rcv_queued);
      break;
    case SIOCOUTQ:
      if (sk->state == sk_state::kListen) return -EINVAL;
      v = static_cast<int>(tp->write_bytes);
      break;
    case SIOCOUTQNSD: {
      if (sk->state == sk_state::kListen) return -EINVAL;
      uint32_t unsent = 0;
      for (rte_mbuf* m = tp->send_head; m; m = tp->write_queue.next(m)) unsent += seg_len(m);
      v = static_cast<int>(unsent);
      break;
    }
    default:
      return -kNoIoctlCmd;
  }
  *static_cast<int*>(arg) = v;
  return 0;
}

void tcp_shutdown(Sock* sk, int how) {
  TcpSock* tp = tcp_sk(sk);
  if (!(how & kSendShutdown)) return;
  switch (sk->state) {
    case sk_state::kEstablished:
    case sk_state::kSynRecv:
      set_state(tp, sk_state::kFinWait1);
      break;
    case sk_state::kCloseWait:
      set_state(tp, sk_state::kLastAck);
      break;
    default:
      return;
  }
  tp->fin_queued = true;
  write_xmit(tp, true);
}

ssize_t tcp_sendmsg(Sock* sk, const msghdr* msg, int flags) {
  TcpSock* tp = tcp_sk(sk);
  Shard& sh = *sk->shard;
  if (flags & MSG_OOB) [[unlikely]] return -EOPNOTSUPP;
  const uint8_t st = sk->state;
  // A Fast Open connection writes in SYN-RECEIVED: its answer may leave right after the SYN-ACK (RFC 7413
  // §2; Linux's tcp_passive_fastopen).
  if (st != sk_state::kEstablished && st != sk_state::kCloseWait && !(st == sk_state::kSynRecv && tp->fastopen_child))
      [[unlikely]] {
    if (st == sk_state::kSynSent && tp->fastopen_defer) return fastopen_deferred_send(tp, msg);
    if (sk->err) return -std::exchange(sk->err, 0);
    if (st == sk_state::kSynSent || st == sk_state::kSynRecv) return -EAGAIN;  // still connecting
    return -EPIPE;
  }
  if (sk->err) return -std::exchange(sk->err, 0);
  if (sk->shutdown & kSendShutdown) return -EPIPE;
  // The MSS the path takes now cuts this data (as Linux's tcp_send_mss): what the shard learned since, or
  // an expiry (one comparison; write_xmit below loads the same line anyway).
  bool pmtu_resend = false;  // a lower path MTU: what was in flight goes again, now (as from write_xmit)
  if (tp->pmtu_gen != sh.pmtu.gen()) [[unlikely]] pmtu_resend = pmtu_sync(tp);
  size_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) total += msg->msg_iov[i].iov_len;
  size_t copied = 0, vi = 0, voff = 0;
  bool nobufs = false;
  // Send queues may not take the pool's last quarter: receive needs buffers too, and a shard whose pool
  // is all unacknowledged data can no longer receive the ACKs that would free it (every connection on
  // the shard stalls for good). Checked once per call, and only for queues past 64 buffers (small writes,
  // such as request/response, never pay for the count). Counted in buffers, not bytes: a peer that
  // announces a tiny MSS (down to 88 bytes) puts that little in each, so a few connections' 64 KiB would be
  // thousands of buffers (found by fuzz_tcp_state: three such connections emptied the pool).
  int64_t may_alloc =
      tp->write_queue.size() + total / tp->mss + 2 > 64 ? -1 : INT64_MAX;  // -1: not counted yet
  bool sndbuf_full = false;
  while (copied < total) {
    const int64_t space = int64_t{sk->sndbuf} - tp->write_bytes;
    if (space <= 0) {
      sndbuf_full = true;
      break;
    }
    // Fill the unsent tail segment first, else start a new one (the one copy on send).
    // Unsent segments are the queue's suffix from send_head: the tail is unsent iff send_head exists.
    rte_mbuf* tail = tp->send_head ? tp->write_queue.back() : nullptr;
    uint32_t room = 0;
    if (tail && seg_len(tail) < tp->mss) room = std::min<uint32_t>(tp->mss - seg_len(tail), rte_pktmbuf_tailroom(tail));
    if (!room) {
      // TCP_NOTSENT_LOWAT: no new segment while that much waits unsent. What the windows take leaves first
      // (Linux sends as it copies), so only data that would wait counts.
      if (!notsent_ok(tp, false)) {
        write_xmit(tp, false);
        if (!notsent_ok(tp, false)) {
          tp->lowat_blocked = true;
          break;
        }
      }
      if (may_alloc < 0) {
        const int64_t avail = sh.pool.available();
        may_alloc = std::max<int64_t>(0, avail - static_cast<int64_t>(sh.pool.capacity() / 4));
      }
      if (may_alloc == 0) {
        nobufs = true;
        break;
      }
      --may_alloc;
      Pktbuf p = sh.pool.alloc();
      if (!p) {
        nobufs = true;
        break;
      }
      SeqNum seq = tp->snd_max;
      if (rte_mbuf* last = tp->write_queue.back()) seq = seg_seq(last) + seg_len(last);
      PktMeta* meta = p.meta();
      meta->seq = seq.raw();
      meta->flags = 0;
      tail = p.mbuf();
      tp->write_queue.push(std::move(p));
      if (!tp->send_head) tp->send_head = tail;
      room = std::min<uint32_t>(tp->mss, rte_pktmbuf_tailroom(tail));
    }
    const size_t n = std::min<size_t>({room, total - copied, static_cast<size_t>(space)});
    uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(tail, static_cast<uint16_t>(n)));
    size_t put = 0;
    while (put < n) {
      while (voff == msg->msg_iov[vi].iov_len) {
        ++vi;
        voff = 0;
      }
      const size_t k = std::min(n - put, msg->msg_iov[vi].iov_len - voff);
      memcpy(d + put, static_cast<const uint8_t*>(msg->msg_iov[vi].iov_base) + voff, k);
      put += k;
      voff += k;
    }
    copied += n;
    tp->write_bytes += static_cast<uint32_t>(n);
  }
  sk->wmem_queued = static_cast<int>(tp->write_bytes);
  // MSG_MORE: more is coming, so a partial last segment waits for it (as TCP_CORK, for this call only; the
  // next send without it, an ACK's Nagle test or the persist timer's 200 ms ceiling lets it go).
  // (Not when the send stopped short for room: what was taken goes, as Linux pushes before it waits.)
  if (copied || pmtu_resend) write_xmit(tp, pmtu_resend, (flags & MSG_MORE) && copied == total);
  if (sndbuf_full) chrono_start(tp, kChronoSndbuf);  // (until an ACK frees room: process_ack)
  if (copied) return static_cast<ssize_t>(copied);
  (void)nobufs;
  return total == 0 ? 0 : -EAGAIN;
}

// Receive-buffer autotuning: once per receiver RTT, if the application read more than before, let the
// buffer hold twice that (room for the sender's slow start to double again), up to rmem_max. The window
// we advertise grows with it, so one connection fills a fast path without SO_RCVBUF.
void rcv_space_adjust(TcpSock* tp, uint32_t copied) {
  Sock* sk = sk_of(tp);
  Shard& sh = *sk->shard;
  tp->rcvq_copied += copied;
  const int64_t rtt = tp->rcv_rtt_us ? tp->rcv_rtt_us : tp->srtt_us;
  if (!rtt || (sk->userlocks & kRcvbufLock)) return;
  if (tp->rcvq_time.ns() == 0) {
    tp->rcvq_time = sh.now();
    return;
  }
  if (sh.now() - tp->rcvq_time < std::chrono::microseconds(rtt)) return;
  if (tp->rcvq_copied > tp->rcvq_space) {
    tp->rcvq_space = tp->rcvq_copied;
    const int want = static_cast<int>(std::min<uint64_t>(uint64_t{tp->rcvq_space} * 4, sh.cfg.sock.rmem_max));
    if (want > sk->rcvbuf) {
      sk->rcvbuf = want;
      ++sh.stats.tcp_rcvbuf_grown;
    }
  }
  tp->rcvq_copied = 0;
  tp->rcvq_time = sh.now();
}

ssize_t tcp_recvmsg(Sock* sk, msghdr* msg, int flags, socklen_t* addr_len) {
  TcpSock* tp = tcp_sk(sk);
  *addr_len = 0;
  // TCP keeps no error queue (no SO_TIMESTAMPING, no zero-copy completions): nothing to read from it, and
  // neither the stream nor SO_ERROR is touched (Linux's inet_recv_error on an empty queue).
  if (flags & MSG_ERRQUEUE) [[unlikely]] return -EAGAIN;
  if (sk->state == sk_state::kListen) return -ENOTCONN;
  if (flags & MSG_OOB) return -EINVAL;
  const bool peek = flags & MSG_PEEK;
  const bool discard = flags & MSG_TRUNC;
  size_t want = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) want += msg->msg_iov[i].iov_len;
  size_t copied = 0, vi = 0, voff = 0;
  rte_mbuf* m = sk->receive_queue.front();
  uint32_t peek_off = 0;
  uint64_t stamp = 0;  // SO_TIMESTAMP: the arrival of the last segment read from (tcp_update_recv_tstamps)
  while (m && copied < want) {
    PktMeta* meta = pkt_meta(m);
    const uint32_t start = meta->offset + (peek ? peek_off : 0);
    if (start >= m->pkt_len) {
      m = sk->receive_queue.next(m);
      peek_off = 0;
      continue;
    }
    stamp = meta->rx_time_ns;
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(m->pkt_len - start, want - copied));
    if (!discard) {
      Pktbuf view(m);
      uint32_t done_n = 0;
      while (done_n < n) {
        while (voff == msg->msg_iov[vi].iov_len) {
          ++vi;
          voff = 0;
        }
        const uint32_t k = static_cast<uint32_t>(std::min<size_t>(n - done_n, msg->msg_iov[vi].iov_len - voff));
        view.copy_out(start + done_n, k, static_cast<uint8_t*>(msg->msg_iov[vi].iov_base) + voff);
        done_n += k;
        voff += k;
      }
      (void)view.release();
    }
    copied += n;
    if (peek) {
      peek_off += n;
      continue;
    }
    meta->offset += n;
    if (meta->offset == m->pkt_len) {
      rte_mbuf* next = sk->receive_queue.next(m);
      sk->receive_queue.pop().reset();
      m = next;
    }
  }
  msg->msg_flags = 0;
  if (copied && sk->tstamp) [[unlikely]] {
    inet_cmsg_tstamp(sk, msg, stamp);
  } else {
    msg->msg_controllen = 0;
  }
  if (copied) {
    if (!peek) {
      tp->rcv_queued -= static_cast<uint32_t>(copied);
      sk->rmem_alloc -= static_cast<int>(copied);
      rcv_space_adjust(tp, static_cast<uint32_t>(copied));
      maybe_window_update(tp);
    }
    return static_cast<ssize_t>(copied);
  }
  if (want == 0) return 0;
  // After the peer's FIN the stream has ended, whatever came after (a RST, a timeout): 0, and the error
  // stays for SO_ERROR or the next send (Linux's tcp_recvmsg tests SOCK_DONE before sk_err).
  if (tp->fin_received) return 0;
  if (sk->err) return -std::exchange(sk->err, 0);
  if (sk->shutdown & kRcvShutdown) return 0;
  if (sk->state == sk_state::kClose) return tp->was_connected ? 0 : -ENOTCONN;
  return -EAGAIN;
}

namespace {
// Linux's tcp_epollin_ready: data to read, and SO_RCVLOWAT's mark reached, or the stream ended, or the mark
// cannot be reached as things are: the window offered is down to a segment or less (the peer can hardly
// send more), or the receive memory is under pressure (over 7/8 of the buffer).
bool epollin_ready(TcpSock* tp) {
  const Sock* sk = sk_of(tp);
  if (!tp->rcv_queued) return false;
  if (tp->rcv_queued >= static_cast<uint32_t>(sk->rcvlowat) || tp->fin_received) return true;
  const uint32_t wnd = tp->rcv_adv.gt(tp->rcv_nxt) ? static_cast<uint32_t>(tp->rcv_adv - tp->rcv_nxt) : 0;
  if (wnd <= tp->rcv_mss) return true;
  return sk->rmem_alloc > sk->rcvbuf - sk->rcvbuf / 8;
}
}  // namespace

uint32_t tcp_poll(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t st = sk->state;
  if (st == sk_state::kListen) return tp->icsk.accept_len ? (EPOLLIN | EPOLLRDNORM) : 0;
  uint32_t mask = 0;
  if (sk->err) mask |= EPOLLERR;
  if (sk->shutdown == (kRcvShutdown | kSendShutdown) || st == sk_state::kClose) mask |= EPOLLHUP;
  if (sk->shutdown & kRcvShutdown) mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
  // A connect() deferred by TCP_FASTOPEN_CONNECT is writable: the write sends the SYN (as Linux's tcp_poll).
  if (st == sk_state::kSynSent && tp->fastopen_defer) [[unlikely]] mask |= EPOLLOUT | EPOLLWRNORM;
  if (st != sk_state::kSynSent && (st != sk_state::kSynRecv || tp->fastopen_child)) {
    if (epollin_ready(tp)) mask |= EPOLLIN | EPOLLRDNORM;
    if (!(sk->shutdown & kSendShutdown)) {
      if (int64_t{sk->sndbuf} - tp->write_bytes >= sk->sndbuf / 3 && notsent_ok(tp, false))
        mask |= EPOLLOUT | EPOLLWRNORM;
    } else {
      mask |= EPOLLOUT | EPOLLWRNORM;  // writable, so the writer sees its EPIPE
    }
  }
  return mask;
}

namespace {

// TCP_DEFER_ACCEPT is given in seconds and kept as a count of SYN-ACK timeouts, as Linux does
// (secs_to_retrans / retrans_to_secs, with its fixed 1 s initial and 120 s largest timeout): the smallest
// count whose timeouts, 1 s doubling up to 120 s, add up to the seconds asked for (at most 255). Reading it
// back gives that count's seconds (5 reads back as 7: 1 + 2 + 4). The count is what holds: with another
// [tcp] rto-initial-ms the wait scales with it.
constexpr int kDeferTimeout0 = 1, kDeferTimeoutMax = 120;

uint8_t defer_secs_to_timeouts(int secs) {
  if (secs <= 0) return 0;
  int timeout = kDeferTimeout0, period = timeout;
  unsigned n = 1;
  while (secs > period && n < 255) {
    ++n;
    timeout = std::min(timeout * 2, kDeferTimeoutMax);
    period += timeout;
  }
  return static_cast<uint8_t>(n);
}

int defer_timeouts_to_secs(uint8_t n) {
  if (!n) return 0;
  int timeout = kDeferTimeout0, period = timeout;
  while (--n) {
    timeout = std::min(timeout * 2, kDeferTimeoutMax);
    period += timeout;
  }
  return period;
}

}  // namespace

int tcp_setsockopt(Sock* sk, int level, int optname, const void* optval, socklen_t optlen) {
  TcpSock* tp = tcp_sk(sk);
  if (level == SOL_SOCKET && optname == SO_KEEPALIVE) {
    reset_keepalive(tp);
    return 0;
  }
  if (level == SOL_SOCKET && optname == SO_RCVLOWAT) {
    // Linux's tcp_set_rcvlowat: at most half the receive buffer it could ever have (the locked SO_RCVBUF,
    // else rmem_max), so that the window can bring that much; the buffer grows to hold it (twice the bytes,
    // as SO_RCVBUF counts); a reader the lower mark now lets in is woken at once (tcp_data_ready).
    Shard& sh = *sk->shard;
    const bool locked = sk->userlocks & kRcvbufLock;
    const int cap = (locked ? sk->rcvbuf : sh.cfg.sock.rmem_max) / 2;
    sk->rcvlowat = std::max(1, std::min(sk->rcvlowat, cap));
    if (!locked && sk->rcvlowat > sk->rcvbuf / 2) sk->rcvbuf = 2 * sk->rcvlowat;
    if (epollin_ready(tp)) sock_wake(sk, EPOLLIN | EPOLLRDNORM);
    return 0;
  }
  if (level != IPPROTO_TCP) return ip_setsockopt(sk, level, optname, optval, optlen);
  if (optname == TCP_CONGESTION) {
    if (!optval || optlen < 1) return -EINVAL;
    const char* name = static_cast<const char*>(optval);
    const size_t n = strnlen(name, std::min<size_t>(optlen, 16));
    const CongOps* cc = cong_find(name, n);
    if (!cc) return -ENOENT;  // Linux: no such algorithm
    tp->cc = cc;
    cc->init(tp);
    return 0;
  }
  if (optname == TCP_FASTOPEN_KEY) {
    // The Fast Open server key of this socket (for when it listens), with an optional backup key after it:
    // exactly 16 or 32 bytes, in any state (Linux's TCP_FASTOPEN_KEY_LENGTH / _BUF_LENGTH).
    if (optlen != 16 && optlen != 32) return -EINVAL;
    if (!optval) return -EFAULT;
    tp->icsk.fastopen_keys = std::make_unique<FastOpenKeys>(
        fastopen_keys_from(static_cast<const uint8_t*>(optval), static_cast<unsigned>(optlen) / 16));
    return 0;
  }
  if (!optval || optlen < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  int val;
  memcpy(&val, optval, sizeof val);
  switch (optname) {
    case TCP_NODELAY:
      tp->nodelay = val != 0;
      if (tp->nodelay) write_xmit(tp, true);
      return 0;
    case TCP_CORK:
      tp->cork = val != 0;
      if (!tp->cork) write_xmit(tp, true);
      return 0;
    case TCP_MAXSEG:
      if (val && (val < 88 || val > 65535)) return -EINVAL;
      tp->user_mss = static_cast<uint16_t>(val);
      return 0;
    case TCP_KEEPIDLE:
      if (val < 1 || val > 32767) return -EINVAL;
      tp->keepidle_ns = int64_t{val} * 1'000'000'000;
      if (sk->keepalive) {
        sk->shard->timers.cancel(tp->keepalive_timer);
        reset_keepalive(tp);
      }
      return 0;
    case TCP_KEEPINTVL:
      if (val < 1 || val > 32767) return -EINVAL;
      tp->keepintvl_ns = int64_t{val} * 1'000'000'000;
      return 0;
    case TCP_KEEPCNT:
      if (val < 1 || val > 127) return -EINVAL;
      tp->keepcnt = static_cast<uint8_t>(val);
      return 0;
    case TCP_USER_TIMEOUT:
      if (val < 0) return -EINVAL;
      tp->user_timeout_ms = static_cast<uint32_t>(val);
      return 0;
    case TCP_LINGER2:
      // As Linux: negative means reset at once (-1), otherwise at most TCP_FIN_TIMEOUT_MAX (120 s).
      tp->linger2_s = val < 0 ? -1 : std::min(val, 120);
      return 0;
    case TCP_QUICKACK:
      if (val) tp->quickack = 8;
      return 0;
    case TCP_SYNCNT:
      if (val < 1 || val > 127) return -EINVAL;  // Linux's MAX_TCP_SYNCNT
      tp->syn_retries = static_cast<uint8_t>(val);
      return 0;
    case TCP_WINDOW_CLAMP:
      // As Linux: 0 only before connecting (turns the clamp off); else at least half of SOCK_MIN_RCVBUF. The
      // window already advertised is not taken back (RFC 9293 §3.8.6.2.1): the clamp holds from there on.
      if (!val) {
        if (sk->state != sk_state::kClose) return -EINVAL;
        tp->window_clamped = false;
        tp->window_clamp = 0;
        return 0;
      }
      tp->window_clamped = true;
      tp->window_clamp = std::max<uint32_t>(static_cast<uint32_t>(val), 2304);
      return 0;
    case TCP_DEFER_ACCEPT:
      // Any socket takes it (Linux); it acts on a listener's handshakes. Zero or less turns it off.
      tp->icsk.defer_accept = defer_secs_to_timeouts(val);
      return 0;
    case TCP_FASTOPEN_CONNECT:
      // 0 or 1, before connecting (Linux; EOPNOTSUPP with the stack's Fast Open off, as with the sysctl's
      // client bit off).
      if (val < 0 || val > 1) return -EINVAL;
      if (!sk->shard->cfg.tcp.fastopen) return -EOPNOTSUPP;
      if (sk->state != sk_state::kClose) return -EINVAL;
      tp->fastopen_connect = val;
      return 0;
    case TCP_FASTOPEN_NO_COOKIE:
      // 0 or 1, on a closed or listening socket (Linux).
      if (val < 0 || val > 1) return -EINVAL;
      if (sk->state != sk_state::kClose && sk->state != sk_state::kListen) return -EINVAL;
      tp->fastopen_no_cookie = val;
      return 0;
    case TCP_FASTOPEN:
      // RFC 7413 server: how many Fast Open connections may be in their handshake at once (0: off). Only
      // before connecting or on a listener; capped at somaxconn (Linux's fastopen_queue_tune; measured).
      if (val < 0 || (sk->state != sk_state::kClose && sk->state != sk_state::kListen)) return -EINVAL;
      tp->icsk.fastopen_max = std::min<uint32_t>(static_cast<uint32_t>(val), sk->shard->cfg.sock.somaxconn);
      return 0;
    case TCP_NOTSENT_LOWAT:
      // Any value (Linux takes the int as unsigned); a writer held by the old limit may go on now.
      tp->notsent_lowat = static_cast<uint32_t>(val);
      tp->notsent_lim = tp->notsent_lowat ? tp->notsent_lowat : cfg_of(tp).notsent_lowat;
      if (const uint32_t m = tcp_poll(sk); m & EPOLLOUT) sock_wake(sk, m & (EPOLLOUT | EPOLLWRNORM));
      return 0;
    default:
      return -ENOPROTOOPT;
  }
}

// The layout TCP_INFO answers with is Linux 6.18's (offsets as measured there).
static_assert(sizeof(skiff_tcp_info) == 280 && offsetof(skiff_tcp_info, tcpi_total_retrans) == 100 &&
              offsetof(skiff_tcp_info, tcpi_bytes_acked) == 120 && offsetof(skiff_tcp_info, tcpi_delivery_rate) == 160 &&
              offsetof(skiff_tcp_info, tcpi_delivered) == 192 && offsetof(skiff_tcp_info, tcpi_snd_wnd) == 228 &&
              offsetof(skiff_tcp_info, tcpi_total_rto) == 240 && offsetof(skiff_tcp_info, tcpi_received_ce) == 248);

void fill_info(TcpSock* tp, skiff_tcp_info* ti) {
  Sock* sk = sk_of(tp);
  Shard& sh = *sk->shard;
  const TcpSock::Stats& st = tp->st;
  const Instant now = sh.now();
  memset(ti, 0, sizeof *ti);
  ti->tcpi_state = sk->state;
  ti->tcpi_pacing_rate = ti->tcpi_max_pacing_rate = ~0ull;
  ti->tcpi_reordering = tp->st.reordering;
  if (sk->state == sk_state::kListen) {
    // As Linux: a listener reports its accept queue (ss's Recv-Q) and backlog (Send-Q) in these two.
    ti->tcpi_snd_cwnd = initial_window(tp) / std::max<uint32_t>(tp->mss, 1);
    ti->tcpi_unacked = tp->icsk.accept_len;
    ti->tcpi_sacked = tp->icsk.max_backlog;
    return;
  }
  switch (tp->ca_state) {  // Linux's TCP_CA_* numbering: Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4
    case TcpCa::Open: ti->tcpi_ca_state = 0; break;
    case TcpCa::Disorder: ti->tcpi_ca_state = 1; break;
    case TcpCa::Cwr: ti->tcpi_ca_state = 2; break;
    case TcpCa::Recovery: ti->tcpi_ca_state = 3; break;
    case TcpCa::Loss: ti->tcpi_ca_state = 4; break;
  }
  ti->tcpi_retransmits = static_cast<uint8_t>(std::min<uint32_t>(tp->retransmits, 255));
  ti->tcpi_probes = tp->probes_out;
  ti->tcpi_backoff = tp->backoff;
  ti->tcpi_snd_wscale = tp->snd_wscale & 0xf;
  ti->tcpi_rcv_wscale = tp->rcv_wscale & 0xf;
  ti->tcpi_delivery_rate_app_limited = st.rate_app_limited ? 1 : 0;
  ti->tcpi_fastopen_client_fail = st.fastopen_client_fail & 3;
  ti->tcpi_rto = static_cast<uint32_t>(tp->rto_us);
  // (0 until data first arrives, as Linux's icsk_ack.ato, which tcp_event_data_recv sets then.)
  ti->tcpi_ato = st.data_segs_in ? static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(cfg_of(tp).delack_min).count()) : 0;
  ti->tcpi_snd_mss = tp->mss;
  ti->tcpi_rcv_mss = tp->rcv_mss;
  // Segments sent and not acknowledged (Linux's packets_out), and, on the scoreboard, how many of them
  // are SACKed, lost, retransmitted and outstanding.
  uint32_t unacked = 0, retrans = 0;
  for (rte_mbuf* m = tp->write_queue.front(); m && m != tp->send_head; m = tp->write_queue.next(m)) {
    ++unacked;
    if (pkt_meta(m)->flags & kMetaRetrans) ++retrans;
  }
  ti->tcpi_unacked = unacked;
  ti->tcpi_sacked = tp->sacked_out / std::max<uint32_t>(tp->mss, 1);
  ti->tcpi_lost = tp->lost_out / std::max<uint32_t>(tp->mss, 1);
  // Without SACK the scoreboard marks nothing: in recovery the head is what was resent.
  ti->tcpi_retrans = tp->sack_ok ? retrans
                                 : (tp->ca_state == TcpCa::Recovery || tp->ca_state == TcpCa::Loss) && unacked ? 1 : 0;
  const auto ms = [&](Instant t) {
    return t.ns() ? static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count()) : 0u;
  };
  ti->tcpi_last_data_sent = ms(tp->last_data_sent.ns() ? tp->last_data_sent : tp->last_snd);
  ti->tcpi_last_data_recv = ms(tp->last_rcv);
  ti->tcpi_last_ack_recv = ms(tp->last_rcv);  // (every segment after the SYN carries an ACK)
  ti->tcpi_pmtu = path_mtu(tp);
  ti->tcpi_rcv_ssthresh = tp->rcv_wnd;
  ti->tcpi_rtt = static_cast<uint32_t>(tp->srtt_us);
  ti->tcpi_rttvar = static_cast<uint32_t>(tp->rttvar_us);
  ti->tcpi_snd_ssthresh = tp->ssthresh >= 0x7fffffff ? 0x7fffffff : tp->ssthresh / std::max<uint32_t>(tp->mss, 1);
  // (A socket that never connected has its initial window, as Linux's.)
  const uint32_t cwnd = tp->cwnd ? tp->cwnd : initial_window(tp);
  ti->tcpi_snd_cwnd = cwnd / std::max<uint32_t>(tp->mss, 1);
  ti->tcpi_advmss = rcv_full_payload(tp);
  ti->tcpi_rcv_rtt = static_cast<uint32_t>(tp->rcv_rtt_us);
  ti->tcpi_rcv_space = tp->rcvq_space;
  ti->tcpi_total_retrans = tp->total_retrans;
  ti->tcpi_options = (tp->ts_ok ? TCPI_OPT_TIMESTAMPS : 0) | (tp->sack_ok ? TCPI_OPT_SACK : 0) |
                     (tp->wscale_ok ? TCPI_OPT_WSCALE : 0) | ((tp->ecn_flags & kEcnOk) ? TCPI_OPT_ECN : 0) |
                     ((tp->ecn_flags & kEcnSeen) ? TCPI_OPT_ECN_SEEN : 0) | (tp->syn_data_acked ? TCPI_OPT_SYN_DATA : 0);
  // Linux's pacing rate (tcp_update_pacing_rate): the window per smoothed RTT, doubled in slow start, 1.2
  // times in congestion avoidance; unset (all ones) before the first RTT sample. Skiff does not pace: this is
  // the rate a pacing Linux sender would use, which tools read as a bandwidth estimate.
  if (tp->srtt_us > 0) {
    const uint64_t pkts = std::max<uint64_t>(cwnd / std::max<uint32_t>(tp->mss, 1), unacked);
    const uint64_t ratio = cwnd < tp->ssthresh / 2 ? 200 : 120;
    ti->tcpi_pacing_rate = uint64_t{tp->mss} * pkts * 1'000'000 / 100 * ratio / static_cast<uint64_t>(tp->srtt_us);
  }
  ti->tcpi_bytes_acked = st.bytes_acked;
  ti->tcpi_bytes_received = st.bytes_received;
  ti->tcpi_segs_out = st.segs_out;
  ti->tcpi_segs_in = st.segs_in;
  ti->tcpi_notsent_bytes = notsent_bytes(tp);
  ti->tcpi_min_rtt = tp->min_rtt_us > 0 ? static_cast<uint32_t>(tp->min_rtt_us) : ~0u;
  ti->tcpi_data_segs_in = st.data_segs_in;
  ti->tcpi_data_segs_out = st.data_segs_out;
  if (st.rate_ns > 0)
    ti->tcpi_delivery_rate = static_cast<uint64_t>(static_cast<double>(st.rate_bytes) * 1e9 / static_cast<double>(st.rate_ns));
  // The chronographs, the running one up to now (µs).
  int64_t chrono[3] = {st.chrono_ns[0], st.chrono_ns[1], st.chrono_ns[2]};
  if (st.chrono_type) chrono[st.chrono_type - 1] += (now - st.chrono_start).count();
  ti->tcpi_busy_time = static_cast<uint64_t>(chrono[0] + chrono[1] + chrono[2]) / 1000;
  ti->tcpi_rwnd_limited = static_cast<uint64_t>(chrono[1]) / 1000;
  ti->tcpi_sndbuf_limited = static_cast<uint64_t>(chrono[2]) / 1000;
  ti->tcpi_delivered = st.delivered;
  ti->tcpi_delivered_ce = st.delivered_ce;
  ti->tcpi_bytes_sent = st.bytes_sent;
  ti->tcpi_bytes_retrans = st.bytes_retrans;
  ti->tcpi_dsack_dups = st.dsack_dups;
  ti->tcpi_reord_seen = st.reord_seen;
  ti->tcpi_rcv_ooopack = st.rcv_ooopack;
  ti->tcpi_snd_wnd = tp->snd_wnd;
  ti->tcpi_rcv_wnd = tp->rcv_wnd;
  ti->tcpi_total_rto = st.total_rto;
  ti->tcpi_total_rto_recoveries = st.total_rto_recoveries;
  ti->tcpi_total_rto_time = st.total_rto_time_ms + (st.rto_stamp.ns() ? ms(st.rto_stamp) : 0u);
}

int tcp_getsockopt(Sock* sk, int level, int optname, void* optval, socklen_t* optlen) {
  TcpSock* tp = tcp_sk(sk);
  if (level != IPPROTO_TCP) return ip_getsockopt(sk, level, optname, optval, optlen);
  if (!optval || !optlen) return -EFAULT;
  if (optname == TCP_CONGESTION) {
    char name[16] = {};
    strncpy(name, tp->cc->name, sizeof name - 1);
    const socklen_t n = std::min<socklen_t>(*optlen, sizeof name);
    memcpy(optval, name, n);
    *optlen = n;
    return 0;
  }
  if (optname == TCP_FASTOPEN_KEY) {
    // The keys set on this socket, 16 bytes each; none (length 0) where it uses the stack's, as Linux
    // (measured on 6.18: a fresh socket reads no key even with net.ipv4.tcp_fastopen_key set).
    static const FastOpenKeys kNone;
    const FastOpenKeys& k = tp->icsk.fastopen_keys ? *tp->icsk.fastopen_keys : kNone;
    uint8_t bytes[32];
    for (unsigned i = 0; i < k.count; ++i) {
      wire::store_le64(bytes + 16 * i, k.key[i].k0);
      wire::store_le64(bytes + 16 * i + 8, k.key[i].k1);
    }
    const socklen_t n = std::min<socklen_t>(*optlen, static_cast<socklen_t>(16 * k.count));
    memcpy(optval, bytes, n);
    *optlen = n;
    return 0;
  }
  if (optname == TCP_INFO) {
    skiff_tcp_info ti;
    fill_info(tp, &ti);
    const socklen_t n = std::min<socklen_t>(*optlen, sizeof ti);
    memcpy(optval, &ti, n);
    *optlen = n;
    return 0;
  }
  int val;
  switch (optname) {
    case TCP_NODELAY: val = tp->nodelay; break;
    case TCP_CORK: val = tp->cork; break;
    case TCP_NOTSENT_LOWAT: val = static_cast<int>(tp->notsent_lowat); break;
    case TCP_MAXSEG:
      // As Linux: the MSS in use (mss_cache: 536 on a fresh socket, the last connection's after it ended or
      // was disconnected), but TCP_MAXSEG's value where one is set on a closed socket or a listener (a
      // socket whose connection is in TIME-WAIT reads as closed there). In SYN-SENT, before the peer's MSS is
      // known, Linux's mss_cache is the path's MSS clamped by TCP_MAXSEG, else by 536, less the timestamp
      // option our SYN offers (measured on 6.18: 524; 988 with TCP_MAXSEG 1000; 1448 with 1600).
      if (sk->state == sk_state::kSynSent) {
        const int clamp = tp->user_mss ? tp->user_mss : 536;
        val = std::min(static_cast<int>(tp->pmtu) - 40, clamp) - 12;
        break;
      }
      val = tp->user_mss && (sk->state == sk_state::kClose || sk->state == sk_state::kListen ||
                             sk->state == sk_state::kTimeWait)
                ? tp->user_mss
                : tp->mss;
      break;
    case TCP_KEEPIDLE:
      val = static_cast<int>((tp->keepidle_ns ? tp->keepidle_ns : std::chrono::nanoseconds(cfg_of(tp).keepalive_idle).count()) /
                             1'000'000'000);
      break;
    case TCP_KEEPINTVL:
      val = static_cast<int>(
          (tp->keepintvl_ns ? tp->keepintvl_ns : std::chrono::nanoseconds(cfg_of(tp).keepalive_intvl).count()) /
          1'000'000'000);
      break;
    case TCP_KEEPCNT: val = tp->keepcnt ? tp->keepcnt : static_cast<int>(cfg_of(tp).keepalive_probes); break;
    case TCP_USER_TIMEOUT: val = static_cast<int>(tp->user_timeout_ms); break;
    case TCP_LINGER2:  // (unset: the stack's FIN-WAIT-2 timeout, as Linux's tcp_fin_timeout)
      val = tp->linger2_s ? tp->linger2_s
                          : static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(cfg_of(tp).fin_timeout).count());
      break;
    case TCP_QUICKACK: val = tp->quickack > 0; break;
    case TCP_SYNCNT: val = tp->syn_retries ? tp->syn_retries : static_cast<int>(cfg_of(tp).syn_retries); break;
    case TCP_DEFER_ACCEPT: val = defer_timeouts_to_secs(tp->icsk.defer_accept); break;
    case TCP_FASTOPEN: val = static_cast<int>(tp->icsk.fastopen_max); break;
    case TCP_FASTOPEN_CONNECT: val = tp->fastopen_connect; break;
    case TCP_FASTOPEN_NO_COOKIE: val = tp->fastopen_no_cookie; break;
    case TCP_WINDOW_CLAMP:
      // The clamp as set, else what bounds the window anyway (as Linux's window_clamp after the handshake);
      // 0 on a socket that never connected (or was disconnected) or listens, as Linux.
      if (!tp->window_clamped && !tp->was_connected &&
          (sk->state == sk_state::kClose || sk->state == sk_state::kListen)) {
        val = 0;
        break;
      }
      val = static_cast<int>(tp->window_clamped ? tp->window_clamp : std::min<uint32_t>(uint32_t{65535} << tp->rcv_wscale,
                                                                                        static_cast<uint32_t>(INT32_MAX)));
      break;
    default: return -ENOPROTOOPT;
  }
  const socklen_t n = std::min<socklen_t>(*optlen, sizeof val);
  memcpy(optval, &val, n);
  *optlen = n;
  return 0;
}

void tcp_unhash(Sock* sk) { unhash(tcp_sk(sk)); }

// The socket-level calls of a stream socket (inet_stream_ops).
int inet_stream_connect(Socket* sock, const sockaddr* addr, socklen_t len, int) {
  Sock* sk = sock->sk;
  TcpSock* tp = tcp_sk(sk);
  if (!addr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return -EINVAL;
  if (addr->sa_family == AF_UNSPEC) {
    const int err = sk->prot->disconnect(sk, 0);
    sock->state = err ? SocketState::Disconnecting : SocketState::Unconnected;
    return err;
  }
  int err;
  switch (sock->state) {
    case SocketState::Connected:
      if (!tp->connect_reported) {
        // A non-blocking connect that completed since, not yet looked at (Linux's socket is still
        // SS_CONNECTING): the first call reports success once, or the error of a connection that ended
        // meanwhile (reset, timed out), and then the socket is disconnected for a new connect().
        tp->connect_reported = true;
        if (sk->state != sk_state::kClose) return 0;
        return connect_failed(sock);
      }
      return -EISCONN;
    case SocketState::Connecting:
      if (tp->fastopen_defer) return -EISCONN;  // TCP_FASTOPEN_CONNECT: connected as far as connect() goes
      err = -EALREADY;
      break;
    case SocketState::Unconnected:
      if (sk->state != sk_state::kClose) return -EISCONN;
      err = sk->prot->connect(sk, addr, len);
      if (err) return err;
      if (tp->fastopen_defer) {
        sock->state = SocketState::Connecting;
        sock_wake(sk, EPOLLOUT | EPOLLWRNORM);  // writable: the first write sends the SYN
        return 0;  // TCP_FASTOPEN_CONNECT with a cookie
      }
      err = -EINPROGRESS;
      break;
    default:
      return -EINVAL;
  }
  if (sk->state == sk_state::kSynSent || sk->state == sk_state::kSynRecv) return err;
  if (sk->state == sk_state::kClose) {
    // Refused, timed out, or reset while connecting: as Linux's __inet_stream_connect, the socket is
    // disconnected, so the next connect() starts afresh.
    return connect_failed(sock);
  }
  sock->state = SocketState::Connected;
  tp->connect_reported = true;
  return 0;
}

// A stream socket's sendmsg: MSG_FASTOPEN, or the write a TCP_FASTOPEN_CONNECT connect() waits for, opens
// the connection (fastopen_sendmsg).
ssize_t inet_stream_sendmsg(Socket* sock, const msghdr* msg, int flags) {
  if ((flags & MSG_FASTOPEN) && !(flags & MSG_OOB)) [[unlikely]] {
    bool proceed = false;
    const ssize_t n = fastopen_sendmsg(sock, msg, proceed);
    if (!proceed) return n;
  }
  return inet_sendmsg(sock, msg, flags);
}

int inet_accept(Socket* sock, Socket* newsock, int flags) {
  Sock* sk = sock->sk;
  int err = 0;
  Sock* child = sk->prot->accept(sk, flags, &err);
  if (!child) return err;
  newsock->sk = child;
  child->socket = newsock;
  newsock->state = SocketState::Connected;
  tcp_sk(child)->connect_reported = true;
  // Readiness that arrived before accept() belongs to the new descriptor now.
  if (const uint32_t mask = tcp_poll(child)) sock_wake(child, mask);
  return 0;
}

int inet_listen(Socket* sock, int backlog) {
  Sock* sk = sock->sk;
  TcpSock* tp = tcp_sk(sk);
  if (sock->state != SocketState::Unconnected || sock->type != SOCK_STREAM) return -EINVAL;
  if (sk->state != sk_state::kClose && sk->state != sk_state::kListen) return -EINVAL;
  tp->icsk.max_backlog = static_cast<uint32_t>(backlog);
  if (sk->state == sk_state::kListen) return 0;  // a second listen() only changes the backlog
  Shard& sh = *sk->shard;
  InetSock* is = inet_sk(sk);
  if (!is->num) {
    const int err = tcp_get_port(sk, 0);
    if (err) return err;
    tp->bound_explicitly = false;
  }
  // Only one listener per address and port, unless all of them use SO_REUSEPORT.
  if (bind_conflict(sh, is, is->num)) return -EADDRINUSE;
  sk->state = sk_state::kListen;
  return 0;
}

}  // namespace

const ProtoOps inet_stream_ops = {
    .family = AF_INET,
    .release = inet_release,
    .bind = inet_bind,
    .connect = inet_stream_connect,
    .socketpair = sock_no_socketpair,
    .accept = inet_accept,
    .getname = inet_getname,
    .poll = inet_poll,
    .ioctl = inet_ioctl,
    .listen = inet_listen,
    .shutdown = inet_shutdown,
    .setsockopt = sock_common_setsockopt,
    .getsockopt = sock_common_getsockopt,
    .sendmsg = inet_stream_sendmsg,
    .recvmsg = inet_recvmsg,
};

const Proto tcp_prot = {
    .name = "TCP",
    .obj_size = sizeof(TcpSock),
    .construct = construct_sock<TcpSock>,
    .destruct = destruct_sock<TcpSock>,
    .slab = true,
    .slab_capacity = &SockConfig::tcp_slab,
    .index = 0,
    .init = tcp_init,
    .destroy = tcp_destroy,
    .close = tcp_close,
    .connect = tcp_v4_connect,
    .disconnect = tcp_disconnect,
    .accept = tcp_accept,
    .ioctl = tcp_ioctl,
    .shutdown = tcp_shutdown,
    .setsockopt = tcp_setsockopt,
    .getsockopt = tcp_getsockopt,
    .sendmsg = tcp_sendmsg,
    .recvmsg = tcp_recvmsg,
    .backlog_rcv = nullptr,
    .hash = nullptr,
    .unhash = tcp_unhash,
    .get_port = tcp_get_port,
    .poll = tcp_poll,
};

void tcp_err(Shard& sh, uint8_t type, uint8_t code, uint32_t info, const uint8_t* quote, size_t len) {
  wire::Ipv4View ip(const_cast<uint8_t*>(quote), len);
  const size_t hl = ip.header_len();
  if (len < hl + 8) return sh.drops.add(Drop::IcmpErrorUnmatched);
  const uint8_t* t = quote + hl;
  const uint16_t sport = wire::load_be16(t), dport = wire::load_be16(t + 2);
  const SeqNum seq(wire::load_be32(t + 4));
  TcpSock* tp = sh.tcp.lookup(ip.src(), sport, ip.dst(), dport);
  if (!tp) return sh.drops.add(Drop::IcmpErrorUnmatched);
  // RFC 5927 §4.1: only errors quoting a sequence number we have outstanding.
  if (!seq.in_range(tp->snd_una, tp->snd_max + 1)) {
    ++sh.stats.tcp_icmp_out_of_window;
    return sh.drops.add(Drop::IcmpErrorUnmatched);
  }
  Sock* sk = sk_of(tp);
  if (type == wire::icmp_type::kSourceQuench) return;  // RFC 6633: TCP ignores it (as Linux's tcp_v4_err)
  if (type == wire::icmp_type::kDestUnreachable && code > 15) return;  // no such code (Linux: NR_ICMP_UNREACH)
  if (type == wire::icmp_type::kDestUnreachable && code == wire::icmp_unreach::kFragNeeded) {
    // RFC 1191: news about the path, not an error of the connection (Linux's tcp_v4_err reports none).
    return tcp_mtu_reduced(tp, pmtu_from_icmp(info, ip.total_len(), sh.cfg.ipv4.min_pmtu));
  }
  const int err = icmp_error_to_errno(type, code);
  if (embryonic(tp)) {
    // An embryonic connection of a listener (Linux's tcp_req_err): dropped when the message says its peer is
    // gone (net or host unreachable, TTL exceeded, parameter problem) and only for our SYN-ACK's ISN; any other
    // message leaves it to its SYN-ACK retries.
    const bool gone = type == wire::icmp_type::kParamProblem || type == wire::icmp_type::kTimeExceeded ||
                      (type == wire::icmp_type::kDestUnreachable &&
                       (code == wire::icmp_unreach::kNet || code == wire::icmp_unreach::kHost));
    if (gone && seq == tp->iss) return done(tp);
    return;
  }
  // (A Fast Open connection already accepted counts as connected here, as in Linux's tcp_v4_err: its
  // application may have read and written already.)
  if ((sk->state == sk_state::kSynSent || sk->state == sk_state::kSynRecv) && !(tp->fastopen_child && !tp->parent)) {
    // Connection establishment ends on any error, soft ones included (Linux's tcp_v4_err; RFC 5461 §4.1 on
    // this common departure from RFC 1122 §4.2.3.9): connect() to a host that is not there fails with
    // EHOSTUNREACH at once instead of ETIMEDOUT after two minutes of SYNs.
    ++sh.stats.tcp_attempt_fails;  // (Linux's tcp_done counts ATTEMPTFAILS from these states)
    set_error(tp, err);
    return done(tp);
  }
  // RFC 1122 §4.2.3.9: soft for an established connection. Noted before the RFC 6069 revert (as Linux, for
  // these two codes only): a retransmission the revert brings forward may find the retries spent and end
  // the connection, which then reports this message's error. (Linux reverts first, so its tcp_write_err
  // reports the soft error of an earlier message, or ETIMEDOUT: the cause just learned is the better
  // answer.) With IP_RECVERR the error is the socket's own, as Linux's, unless the connection ended.
  const int earlier_soft = sk->err_soft;
  sk->err_soft = err;
  // (Not for a Fast Open connection's SYN-ACK, as Linux: the revert times data, and would cut the SYN-ACK's
  // retries short.)
  if (type == wire::icmp_type::kDestUnreachable && !tp->fastopen_child &&
      (code == wire::icmp_unreach::kNet || code == wire::icmp_unreach::kHost) && rto_revert(tp, seq))
    return;  // over (and an orphan freed)
  if (inet_sk(sk)->recverr) {
    sk->err_soft = earlier_soft;
    set_error(tp, err);
  }
}

void tcp_destroy_all(Shard& sh) {
  std::vector<TcpSock*> all;
  sh.tcp.for_each([&](TcpSock* tp) { all.push_back(tp); });
  for (TcpSock* tp : all) {
    Sock* sk = sk_of(tp);
    if (sk->socket) {
      // Still owned by a descriptor (close_all_sockets runs first, so this is rare): detach it.
      sk->socket->sk = nullptr;
      sk->socket = nullptr;
    }
    tcp::destroy_closed(tp);
  }
}

void tcp_reta_plan(Shard& sh, const RssMap& next, std::vector<TcpTupleMove>& out) {
  sh.tcp.for_each([&](TcpSock* tp) {
    // A request still out is settled by its answer (tuple_answer asks the new owner).
    if (tp->lend_pending) return;
    const Tuple t = tuple_of(tp);
    const unsigned from = tp->lent ? tp->lent_by : sh.id;
    const unsigned to = next.owner(sh.rss_hash->flow(t.r, t.l, t.rp, t.lp));
    if (to == from) return;
    out.push_back(TcpTupleMove{.l = t.l,
                               .r = t.r,
                               .lp = t.lp,
                               .rp = t.rp,
                               .borrower = static_cast<uint8_t>(sh.id),
                               .from = static_cast<uint8_t>(from),
                               .to = static_cast<uint8_t>(to),
                               .old_seq = tp->lend_seq,
                               .new_seq = to == sh.id ? 0 : ++sh.tcp.lend_seq});
  });
}

void tcp_reta_lend(Shard& sh, const TcpTupleMove& m) {
  if (m.to == sh.id && m.to != m.borrower && sh.tcp.lend(m.l, m.lp, m.r, m.rp, {m.borrower, m.new_seq}))
    ++sh.stats.tcp_tuples_lent;
}

void tcp_reta_settle(Shard& sh, const TcpTupleMove& m) {
  if (m.from == sh.id && m.from != m.borrower) sh.tcp.take_back(m.l, m.lp, m.r, m.rp, {m.borrower, m.old_seq});
  if (m.borrower != sh.id) return;
  TcpSock* tp = sh.tcp.lookup(m.l, m.lp, m.r, m.rp);
  const bool same = tp && !tp->lend_pending &&
                    (m.from == sh.id ? !tp->lent : tp->lent && tp->lent_by == m.from && tp->lend_seq == m.old_seq);
  if (!same) {
    // Gone meanwhile (its give-back went to the old owner) or another connection now: nobody holds the
    // new owner's loan.
    if (m.to != sh.id) send_take_back(sh, m.to, {m.l, m.lp, m.r, m.rp}, {m.borrower, m.new_seq});
    return;
  }
  tp->lent = m.to != sh.id;
  tp->lent_by = m.to;
  tp->lend_seq = m.new_seq;
}

const char* tcp_state_name(uint8_t st) {
  static const char* const kNames[] = {"?",          "ESTABLISHED", "SYN-SENT", "SYN-RECEIVED", "FIN-WAIT-1", "FIN-WAIT-2",
                                       "TIME-WAIT", "CLOSED",      "CLOSE-WAIT", "LAST-ACK",   "LISTEN",     "CLOSING"};
  return st < 12 ? kNames[st] : "?";
}

}  // namespace skiff
