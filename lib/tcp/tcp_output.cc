// TCP output: building segments, sending new data as the windows and Nagle allow (RFC 9293 §3.8.6,
// RFC 5681), retransmitting, ACKs and RSTs.

#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "tcp/tcp_impl.hh"
#include "wire/ipv4.hh"

namespace skiff::tcp {

using wire::TcpView;
namespace tf = wire::tcp_flag;

namespace {

constexpr uint8_t kProtoTcp = static_cast<uint8_t>(wire::IpProto::Tcp);

// Fills the checksum (offloaded when the device can) and hands the segment to IPv4. `l4_sum`, when given,
// is csum_partial of the whole segment (checksum field zero) summed as it was written: the header before its
// payload was copied in, the payload during the copy. Reading the bytes back here would wait for every
// store before (the payload copy's included) to land.
// `tso_segsz` > 0: a large segment the device cuts into segments of that many payload bytes (TSO); its
// checksum field holds the pseudo-header sum without the length, as DPDK's TSO contract wants.
int send_segment(Shard& sh, Pktbuf h, TcpView th, size_t hl, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t ttl,
                 uint8_t tos, std::optional<uint64_t> l4_sum = std::nullopt, uint16_t tso_segsz = 0, bool df = true,
                 uint16_t* ident = nullptr) {
  const uint32_t len = h.len();
  if (tso_segsz) {
    th.set_checksum_raw(wire::csum_fold16(wire::pseudo_header_sum(src, dst, kProtoTcp, 0)));
    h.ol_flags() |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
    h.mbuf()->l4_len = static_cast<uint8_t>(hl);
    h.mbuf()->tso_segsz = tso_segsz;
    sh.stats.tcp_out_segs += (len - hl + tso_segsz - 1) / tso_segsz;
    ++sh.stats.tcp_out_tso;
    return ipv4_output(sh, std::move(h), Ipv4Tx{.src = src, .dst = dst, .proto = kProtoTcp, .ttl = ttl, .tos = tos,
                                                  .df = df, .ident = ident});
  }
  const uint64_t ph = wire::pseudo_header_sum(src, dst, kProtoTcp, static_cast<uint16_t>(len));
  auto rt = sh.routes.lookup(dst);
  ShardPort* sp = rt ? sh.port_for(rt->iface) : nullptr;
  if (sp && sp->ifc->caps.tx_tcp_csum) {
    th.set_checksum_raw(wire::csum_fold16(ph));
    h.ol_flags() |= RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
    h.mbuf()->l4_len = static_cast<uint8_t>(hl);
  } else {
    th.set_checksum_raw(0);
    th.set_checksum_raw(wire::csum_finish(l4_sum ? ph + *l4_sum : h.csum_partial(0, len, ph)));
  }
  ++sh.stats.tcp_out_segs;
  return ipv4_output(sh, std::move(h), Ipv4Tx{.src = src, .dst = dst, .proto = kProtoTcp, .ttl = ttl, .tos = tos,
                                                .df = df, .ident = ident});
}

}  // namespace

uint32_t receive_space(TcpSock* tp) {
  const Sock* sk = sk_of(tp);
  const int free = sk->rcvbuf - sk->rmem_alloc;
  return free > 0 ? static_cast<uint32_t>(free) : 0;
}

uint32_t select_window(TcpSock* tp) {
  const uint32_t space = receive_space(tp);
  const uint32_t cur = tp->rcv_adv.gt(tp->rcv_nxt) ? static_cast<uint32_t>(tp->rcv_adv - tp->rcv_nxt) : 0;
  uint32_t win;
  if (space <= cur) {
    win = cur;  // never move the right edge left (RFC 9293 §3.8.6.2.1)
  } else if (space - cur < std::min<uint32_t>(static_cast<uint32_t>(sk_of(tp)->rcvbuf) / 2, tp->mss)) {
    win = cur;  // receiver SWS avoidance: no small increments (§3.8.6.2.2)
  } else {
    win = space;
  }
  const uint32_t unit = uint32_t{1} << tp->rcv_wscale;
  win = std::min<uint32_t>(win, uint32_t{65535} << tp->rcv_wscale);
  if (tp->window_clamped) [[unlikely]] win = std::min(win, tp->window_clamp);  // TCP_WINDOW_CLAMP
  win &= ~(unit - 1);
  // Scaling must not move the right edge left either: the current window rounds up to the next unit (as
  // Linux's tcp_select_window does), or the peer's in-flight data would land past a shrunken window.
  if (win < cur) win = std::min<uint32_t>((cur + unit - 1) & ~(unit - 1), uint32_t{65535} << tp->rcv_wscale);
  tp->rcv_wnd = win;
  return win;
}

int transmit(TcpSock* tp, SeqNum seq, uint8_t flags, rte_mbuf* data, uint32_t nseg) {
  Shard& sh = shard_of(tp);
  InetSock* is = inet_of(tp);
  Pktbuf h = sh.alloc_pkt();
  if (!h) return -ENOBUFS;
  uint8_t opts[40];
  size_t olen = 0;
  const bool syn = flags & tf::kSyn;
  const bool active_syn = syn && !(flags & tf::kAck);
  if (syn || tp->ts_ok || tp->sack_ok) {
    wire::TcpOptions o;
    if (syn) {
      o.mss = tp->user_mss ? std::min(tp->advmss, tp->user_mss) : tp->advmss;  // TCP_MAXSEG: announced too
      // An active SYN offers window scaling, SACK and timestamps; a SYN-ACK answers what the peer offered.
      if (active_syn || tp->wscale_ok) o.wscale = tp->rcv_wscale;
      o.sack_permitted = active_syn || tp->sack_ok;
      // RFC 7413 §4.1.2: the SYN-ACK gives the client our Fast Open cookie (every time: the first one may be
      // lost; Linux sends it once).
      if (tp->fastopen_send_cookie && !active_syn) [[unlikely]] {
        o.fastopen_len = kFastOpenCookieLen;
        o.fastopen_exp = tp->fastopen_exp;
        std::memcpy(o.fastopen_cookie.data(), tp->fastopen_cookie, kFastOpenCookieLen);
      }
      // RFC 7413 §4.1.2: our first SYN asks for a cookie or brings the one we have (a retransmitted SYN is a
      // plain one, as Linux's).
      if (active_syn && tp->syn_fastopen && tp->retransmits == 0 && !tp->fastopen_no_cookie) [[unlikely]] {
        o.fastopen_len = static_cast<int8_t>(tp->fastopen_cookie_len);
        o.fastopen_exp = tp->fastopen_exp;
        std::memcpy(o.fastopen_cookie.data(), tp->fastopen_cookie, tp->fastopen_cookie_len);
      }
    } else if ((flags & tf::kAck) && tp->sack_ok) {
      // RFC 2018 §4: SACK blocks on every ACK while out-of-order data is held (3 fit beside timestamps),
      // as many as fit beside the segment's data: tp->mss counts only the timestamp option, so a full-sized
      // segment has no room for SACK blocks (4 + 8n bytes), and with them it would exceed the MTU.
      const uint32_t len = data ? rte_pktmbuf_pkt_len(data) : 0;
      const uint32_t room = len < tp->mss ? tp->mss - len : 0;
      const size_t fit = room >= 12 ? (room - 4) / 8 : 0;
      o.num_sack = static_cast<uint8_t>(sack_fill(tp, o.sack.data(), std::min<size_t>(tp->ts_ok ? 3 : 4, fit)));
    }
    if (active_syn || tp->ts_ok) {
      o.has_timestamp = true;
      o.ts_val = ts_now(tp);
      o.ts_ecr = (flags & tf::kAck) ? tp->ts_recent : 0;
    }
    olen = wire::write_tcp_options(opts, o);
  }
  // RFC 3168 §6.1: ECN-capable transport for new data only (not retransmissions, window probes, pure ACKs,
  // SYNs, RSTs); ECE on our segments while the peer's CE waits for its CWR; CWR on the first new data
  // after the window fell. An active SYN asks for ECN with ECE and CWR, unless it is a retransmission (a
  // middlebox may drop such SYNs: RFC 3168 §6.1.1.1, Linux's tcp_ecn_fallback).
  uint8_t tos = static_cast<uint8_t>(is->tos & ~kIpEcnMask);
  if (tp->ecn_flags) {
    if (!syn && (tp->ecn_flags & kEcnOk)) {
      if (data && !seq.lt(tp->snd_max)) {
        tos |= kIpEcnEct0;
        if (tp->ecn_flags & kEcnQueueCwr) {
          flags |= tf::kCwr;
          tp->ecn_flags &= static_cast<uint8_t>(~kEcnQueueCwr);
        }
      }
      if ((tp->ecn_flags & kEcnDemandCwr) && (flags & tf::kAck)) flags |= tf::kEce;
    } else if (syn && (flags & tf::kAck) && (tp->ecn_flags & kEcnOk)) {
      flags |= tf::kEce;  // SYN-ACK: the peer's ECN-setup SYN is granted (§6.1.1)
    } else if (active_syn && (tp->ecn_flags & kEcnSynOffered) && tp->retransmits == 0) {
      flags |= tf::kEce | tf::kCwr;
    }
  }
  const size_t hl = TcpView::kMinHeaderLen + olen;
  uint8_t* d = h.append(static_cast<uint16_t>(hl));
  TcpView th(d, hl);
  th.set_src_port(is->num);
  th.set_dst_port(is->dport);
  th.set_seq(seq);
  th.set_ack((flags & tf::kAck) ? tp->rcv_nxt : SeqNum(0));
  th.set_header_len(hl);
  th.set_flags(flags);
  const uint32_t win = select_window(tp);
  th.set_window(static_cast<uint16_t>((flags & tf::kSyn) ? std::min<uint32_t>(win, 65535) : win >> tp->rcv_wscale));
  th.set_urgent_ptr(0);
  if (olen) memcpy(d + TcpView::kMinHeaderLen, opts, olen);
  std::optional<uint64_t> l4_sum;
  uint16_t tso_segsz = 0;
  uint32_t payload = 0;
  if (nseg > 1) {
    // TSO: the queued segments' buffers are referenced, one after the other; the device cuts and sums.
    // Linked here with a tail pointer (rte_pktmbuf_chain walks the whole chain on every call).
    tso_segsz = static_cast<uint16_t>(tp->mss);
    rte_mbuf* head = h.mbuf();
    rte_mbuf* tail = head;
    rte_mbuf* m = data;
    for (uint32_t i = 0; i < nseg; ++i, m = tp->write_queue.next(m)) {
      rte_mbuf* c = pkt_clone(m, sh.pool.raw());
      if (!c) {
        sh.drops.add(Drop::NoMbuf);
        return -ENOBUFS;  // h frees what was linked so far
      }
      tail->next = c;
      for (tail = c; tail->next; tail = tail->next) {
      }
      head->nb_segs = static_cast<uint16_t>(head->nb_segs + c->nb_segs);
      head->pkt_len += c->pkt_len;
      payload += c->pkt_len;
    }
  } else if (data) {
    const uint32_t dl = rte_pktmbuf_pkt_len(data);
    payload = dl;
    if (rte_pktmbuf_tailroom(h.mbuf()) >= dl) {
      // The payload is copied behind the header, its checksum summed on the way: cheaper than a clone,
      // whose atomic reference count on the queued buffer is dropped when the device has sent the frame
      // and waits there for the device's copy to drain (a bulk sender over memif spent 17 % of its time on
      // that one instruction); and one segment for the device. The send queue keeps its own buffer.
      uint8_t* p = h.append(static_cast<uint16_t>(dl));
      if (data->nb_segs == 1) {
        // hl is a multiple of 4: the payload's 16-bit words line up with the segment's.
        th.set_checksum_raw(0);
        l4_sum = wire::csum_copy(p, rte_pktmbuf_mtod(data, const void*), dl, wire::csum_partial(d, hl));
      } else {
        const void* src = rte_pktmbuf_read(data, 0, dl, p);
        if (src != p) memcpy(p, src, dl);
      }
    } else {
      Pktbuf c(pkt_clone(data, sh.pool.raw()));
      if (!c || !h.chain(std::move(c))) {
        sh.drops.add(Drop::NoMbuf);
        return -ENOBUFS;
      }
    }
  }
  const int rc =
      send_segment(sh, std::move(h), th, hl, is->saddr, is->daddr, is->ttl, tos, l4_sum, tso_segsz, pmtu_discovery(tp),
                   // A SYN-ACK and a TIME-WAIT ACK carry ID 0, as Linux's (ip_build_and_send_pkt; the control
                   // socket); the connection's own segments number from its counter (a Fast Open
                   // connection's answer in SYN-RECEIVED too: it is a full socket, as in Linux).
                   (sk_of(tp)->state == sk_state::kSynRecv && (syn || !tp->fastopen_child)) ||
                           sk_of(tp)->state == sk_state::kTimeWait
                       ? nullptr
                       : &is->ip_ident);
  // PRR counts what leaves while the window falls (Linux's prr_out): new data, retransmissions, probes.
  if (data && rc >= 0 && (tp->ca_state == TcpCa::Recovery || tp->ca_state == TcpCa::Cwr)) [[unlikely]]
    tp->prr_out += nseg > 1 ? nseg * tp->mss : rte_pktmbuf_pkt_len(data);
  if (rc >= 0) {
    // TCP_INFO's counts (as Linux's: a SYN-ACK is its request socket's, not the child's).
    TcpSock::Stats& st = tp->st;
    const uint32_t segs = nseg > 1 ? nseg : 1;
    if (!(syn && (flags & tf::kAck)) || tp->simultaneous_open) st.segs_out += segs;
    if (payload) {
      st.data_segs_out += segs;
      st.bytes_sent += payload;
      // (The data's own sequence number: a SYN's is one below its data's.)
      const SeqNum dseq(pkt_meta(data)->seq);
      if (dseq.lt(tp->snd_max)) {
        st.bytes_retrans += payload;
      } else {
        chrono_start(tp, kChronoBusy);
        // New data after an idle period starts a delivery-rate round.
        if (!st.rate_t0.ns()) {
          st.rate_t0 = sh.now();
          st.rate_acked0 = st.bytes_acked;
          st.rate_end = dseq + 1;
        }
      }
    }
  }
  if (flags & tf::kAck) {
    tp->ack_pending = false;
    tp->ack_deferred = false;  // this ACK carries what the deferred one would have
    tp->segs_unacked = 0;  // the delayed-ACK timer stays armed: see schedule_ack
    tp->rcv_adv = tp->rcv_nxt + tp->rcv_wnd;
    tp->last_ack_sent = tp->rcv_nxt;
  }
  tp->last_snd = sh.now();
  return rc;
}

// Segments without data carry SND.MAX, not SND.NXT: after a go-back-N timeout (or a path MTU drop) snd_nxt
// is rewound below what the peer may already hold, and a receiver drops a bare ACK or RST that old (RFC 9293
// §3.10.7.4's acceptability test; Linux never rewinds snd_nxt, BSD sends such segments at snd_max).
void send_ack(TcpSock* tp) { transmit(tp, tp->snd_max, tf::kAck, nullptr); }

void send_syn(TcpSock* tp) {
  if (sk_of(tp)->state != sk_state::kSynSent) {
    transmit(tp, tp->iss, tf::kSyn | tf::kAck, nullptr);
    return;
  }
  // Fast Open (RFC 7413 §4.1.2): the first SYN with a cookie (or with TCP_FASTOPEN_NO_COOKIE) carries the
  // segment queued for it (sized to fit beside any options: fastopen_queue). Sent, it is in flight as any data: acknowledged by the SYN-ACK,
  // or sent again after it (fastopen_synack). A retransmitted SYN carries none.
  rte_mbuf* data = nullptr;
  if (tp->syn_fastopen && (tp->fastopen_cookie_len || tp->fastopen_no_cookie) && tp->retransmits == 0) [[unlikely]] {
    rte_mbuf* m = tp->write_queue.front();
    if (m && m == tp->send_head && seg_seq(m) == tp->iss + 1) data = m;
  }
  if (transmit(tp, tp->iss, tf::kSyn, data) < 0 || !data) return;
  Shard& sh = shard_of(tp);
  pkt_meta(data)->rx_time_ns = sh.now().ns();  // send time, for RACK
  tp->last_data_sent = sh.now();
  tp->snd_nxt = tp->snd_max = tp->iss + 1 + seg_len(data);
  tp->send_head = tp->write_queue.next(data);
}

void send_rst(TcpSock* tp) {
  transmit(tp, tp->snd_max, tf::kRst | tf::kAck, nullptr);
  ++shard_of(tp).stats.tcp_out_rsts;
}

bool oow_rate_limited(TcpSock* tp) {
  const Instant now = shard_of(tp).now();
  if (tp->last_oow_ack.ns() && now - tp->last_oow_ack < kOowAckInterval) return true;
  tp->last_oow_ack = now;
  return false;
}

namespace {

// The shard-wide cap on challenge ACKs (challenge_ack_limit a second), behind the per-connection limit. A
// cap one counter shares between connections is itself the side channel of CVE-2016-5696 ("Off-Path TCP
// Exploits", USENIX Security 2016): an attacker that counts the challenge ACKs its own connection draws
// in a second learns whether a spoofed RST or SYN fell in another connection's window (that one spent one
// of the budget). So the budget is drawn at random each second from [limit/2, limit + limit/2), as Linux's
// tcp_send_challenge_ack did from 4.7 (commit 75ff39ccc1bd) until 5.19, when it turned the global limit off
// by default and left the per-socket one (commit 79e3602caa6f). With the per-connection limit in front an
// attacker's connection draws at most 2 a second, so it needs hundreds of them to reach the cap at all, and
// then reads a fresh random count each second, which one victim's ACK moves by one part in `limit`.
bool challenge_budget(Shard& sh) {
  TcpTable& t = sh.tcp;
  const uint64_t sec = static_cast<uint64_t>(sh.now().ns()) / 1'000'000'000u;
  if (sec != t.challenge_sec) {
    t.challenge_sec = sec;
    const uint32_t limit = sh.cfg.tcp.challenge_ack_limit;
    t.challenge_left = limit ? (limit + 1) / 2 + sh.rng.below(limit) : 0;
  }
  if (!t.challenge_left) return false;
  --t.challenge_left;
  return true;
}

}  // namespace

void send_challenge_ack(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  // Per connection first (Linux's tcp_send_challenge_ack: __tcp_oow_rate_limited on last_oow_ack_time).
  if (oow_rate_limited(tp) || !challenge_budget(sh)) {
    ++sh.stats.tcp_challenge_acks_limited;
    return;
  }
  ++sh.stats.tcp_challenge_acks;
  send_ack(tp);
}

void send_bare(Shard& sh, const Ipv4Rx& rx, uint16_t lport, uint16_t rport, SeqNum seq, SeqNum ack, uint8_t flags,
               uint16_t wnd, const wire::TcpOptions* opts) {
  Pktbuf h = sh.alloc_pkt();
  if (!h) return;
  uint8_t ob[40];
  const size_t olen = opts ? wire::write_tcp_options(ob, *opts) : 0;
  const size_t hl = TcpView::kMinHeaderLen + olen;
  uint8_t* d = h.append(static_cast<uint16_t>(hl));
  TcpView th(d, hl);
  th.set_src_port(lport);
  th.set_dst_port(rport);
  th.set_seq(seq);
  th.set_ack(ack);
  th.set_header_len(hl);
  th.set_flags(flags);
  th.set_window(wnd);
  th.set_urgent_ptr(0);
  if (olen) memcpy(d + TcpView::kMinHeaderLen, ob, olen);
  send_segment(sh, std::move(h), th, hl, rx.dst, rx.src, 0, 0);
}

void send_reset_for(Shard& sh, const Ipv4Rx& rx, uint16_t sport, uint16_t dport, const Segment& seg) {
  if (seg.has(tf::kRst)) return;  // never a RST for a RST
  if (rx.ip_bcast || rx.link_bcast) return;
  ++sh.stats.tcp_out_rsts;
  if (seg.has(tf::kAck)) {
    send_bare(sh, rx, dport, sport, seg.ack, SeqNum(0), tf::kRst, 0, nullptr);
  } else {
    send_bare(sh, rx, dport, sport, SeqNum(0), seg.seq + seg.seq_len(), tf::kRst | tf::kAck, 0, nullptr);
  }
}

uint8_t choose_rcv_wscale(TcpSock* tp) {
  const Sock* sk = sk_of(tp);
  const uint32_t want = static_cast<uint32_t>(std::max(sk->rcvbuf, sk->shard->cfg.sock.rmem_max));
  uint8_t s = 0;
  while (s < 14 && (uint32_t{65535} << s) < want) ++s;
  return s;
}

void negotiate_syn_options(TcpSock* tp, const wire::TcpOptions& peer, bool) {
  // RFC 7323 §2.2: scaling only when both sides sent the option; the shift is capped at 14.
  tp->wscale_ok = peer.wscale.has_value();
  if (tp->wscale_ok) {
    tp->snd_wscale = std::min<uint8_t>(*peer.wscale, 14);
  } else {
    tp->snd_wscale = 0;
    tp->rcv_wscale = 0;
  }
  tp->sack_ok = peer.sack_permitted;
  tp->ts_ok = peer.has_timestamp;
  if (tp->ts_ok) {
    tp->ts_recent = peer.ts_val;
    tp->ts_recent_stamp = shard_of(tp).now();
  }
}

namespace {

// Cuts segment `m` after `len` bytes (Linux's tcp_fragment): `m` keeps the first `len`, the rest moves
// into the buffer returned, which has m's state (sent, SACKed, lost ...). Empty (nothing changed) when no
// buffer is free.
Pktbuf cut_tail(TcpSock* tp, rte_mbuf* m, uint32_t len) {
  const uint32_t rest = seg_len(m) - len;
  Pktbuf t = shard_of(tp).pool.alloc();
  if (!t || rte_pktmbuf_tailroom(t.mbuf()) < rest || rte_pktmbuf_lastseg(m)->data_len < rest) return {};
  Pktbuf view(m);
  view.copy_out(len, rest, t.append(static_cast<uint16_t>(rest)));
  (void)view.release();
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rest));
  PktMeta* hm = pkt_meta(m);
  PktMeta* tm = t.meta();
  tm->seq = (seg_seq(m) + len).raw();
  tm->flags = hm->flags;  // a FIN sent before (go-back-N) belongs to the tail now
  tm->rx_time_ns = hm->rx_time_ns;
  hm->flags = static_cast<uint8_t>(hm->flags & ~kMetaFin);
  return t;
}

// Splits segment `m` after `len` bytes: the rest goes into a new buffer queued right behind it, with m's
// state (the scoreboard's byte counts stay right). False (nothing changed) when no buffer is free.
bool split_segment(TcpSock* tp, rte_mbuf* m, uint32_t len) {
  Pktbuf t = cut_tail(tp, m, len);
  if (!t) return false;
  // A remembered run of SACKed segments may end at `m`; its tail would fall outside it. Forget the runs
  // (the next SACK walk finds them again).
  if (pkt_meta(m)->flags & kMetaSacked) tp->num_sack_runs = 0;
  tp->write_queue.insert_after(m, std::move(t));
  return true;
}

void sent_head_segment(TcpSock* tp, bool with_fin);

// Whether the FIN goes with the last queued segment `m` if `m` is sent whole now: the application is done,
// and either the FIN went before (it goes again with the data: go-back-N), or the peer's window has room
// for its sequence number too (Linux's tcp_snd_wnd_test counts the FIN). A FIN beyond the window would be
// dropped by the peer and resent on the RTO; held back, it goes alone once the window opens (write_xmit).
bool fin_with(TcpSock* tp, rte_mbuf* m) {
  const SeqNum end = seg_seq(m) + seg_len(m);
  if (!tp->fin_queued || tp->write_queue.next(m) != nullptr) return false;
  return tp->fin_sent ? tp->fin_seq == end : end.lt(tp->snd_una + tp->snd_wnd);
}

// Sends the segment at send_head (new data, or data again after a go-back-N RTO) and moves send_head on.
// False if it could not be sent (no buffers: retried on the next event).
bool send_head_segment(TcpSock* tp) {
  rte_mbuf* m = tp->send_head;
  const SeqNum seq = seg_seq(m);
  const bool is_last = tp->write_queue.next(m) == nullptr;
  const bool with_fin = fin_with(tp, m);
  const uint8_t flags = tf::kAck | (is_last ? tf::kPsh : 0) | (with_fin ? tf::kFin : 0);
  if (transmit(tp, seq, flags, m) < 0) return false;
  // Minshall's Nagle (Linux's tcp_minshall_update): where the last short segment of new data ends.
  if (const uint32_t len = seg_len(m); len < tp->mss && !seq.lt(tp->snd_max)) tp->snd_sml = seq + len;
  sent_head_segment(tp, with_fin);
  return true;
}

// Sends the `n` full-sized new segments from send_head on as one TSO frame and moves send_head past them.
bool send_head_tso(TcpSock* tp, uint32_t n) {
  rte_mbuf* m = tp->send_head;
  rte_mbuf* last = m;
  for (uint32_t i = 1; i < n; ++i) last = tp->write_queue.next(last);
  const uint8_t flags = tf::kAck | (tp->write_queue.next(last) == nullptr ? tf::kPsh : 0);
  if (transmit(tp, seg_seq(m), flags, m, n) < 0) return false;
  for (uint32_t i = 0; i < n; ++i) sent_head_segment(tp, false);
  return true;
}

// The bookkeeping of a segment at send_head that has just been sent: send time, RTT timing, snd_nxt.
void sent_head_segment(TcpSock* tp, bool with_fin) {
  Shard& sh = shard_of(tp);
  rte_mbuf* m = tp->send_head;
  const SeqNum seq = seg_seq(m);
  const uint32_t len = seg_len(m);
  rte_mbuf* next = tp->write_queue.next(m);
  const bool retransmission = seq.lt(tp->snd_max);
  PktMeta* mt = pkt_meta(m);
  mt->rx_time_ns = sh.now().ns();  // send time, for RACK
  if (retransmission) {
    mt->flags |= kMetaEverRetrans;
    ++tp->total_retrans;
    ++sh.stats.tcp_retrans_segs;
  } else {
    tp->last_data_sent = sh.now();
  }
  tp->snd_nxt = seq + len;
  if (with_fin) {
    tp->fin_sent = true;
    tp->fin_seq = seq + len;
    tp->snd_nxt = tp->snd_nxt + 1;
    mt->flags |= kMetaFin;
  }
  if (tp->snd_nxt.gt(tp->snd_max)) tp->snd_max = tp->snd_nxt;
  tp->send_head = next;
}

// ssthresh before a reduction that answers no loss: it remembers at least 3/4 of the window.
uint32_t current_ssthresh(TcpSock* tp) {
  if (tp->ca_state == TcpCa::Cwr || tp->ca_state == TcpCa::Recovery || tp->ca_state == TcpCa::Loss) return tp->ssthresh;
  return std::max(tp->ssthresh, tp->cwnd / 2 + tp->cwnd / 4);
}

// Restart after idle (RFC 5681 §4.1, in the gentler form of RFC 2861 §3 that Linux uses): nothing was
// sent for an RTO or more, so the window no longer reflects the path: halve it per idle RTO, down to
// the initial window.
void cwnd_restart(TcpSock* tp, Instant now) {
  const uint32_t restart = std::min(initial_window(tp), tp->cwnd);
  tp->ssthresh = current_ssthresh(tp);
  for (int64_t rtos = (now - tp->last_data_sent) / std::chrono::microseconds(tp->rto_us); rtos > 0 && tp->cwnd > restart;
       --rtos)
    tp->cwnd >>= 1;
  tp->cwnd = std::max(tp->cwnd, restart);
  tp->cwnd_used = 0;
  tp->cwnd_stamp = now;
}

// An RTO went by without the window being used in full (the application or the peer's window limited
// sending): bring cwnd halfway down to what was used, at least the initial window (RFC 2861 §3; Linux's
// tcp_cwnd_application_limited).
void cwnd_application_limited(TcpSock* tp, Instant now) {
  if (tp->ca_state == TcpCa::Open) {
    const uint32_t used = std::max(tp->cwnd_used, initial_window(tp));
    if (used < tp->cwnd) {
      tp->ssthresh = current_ssthresh(tp);
      tp->cwnd = (tp->cwnd + used) / 2;
    }
  }
  tp->cwnd_used = 0;
  tp->cwnd_stamp = now;
}

// After sending: is the window used? Remembered per window of data (until snd_una passes what was sent
// when it was last judged), so that growth on the ACKs of that window follows the strongest signal.
void cwnd_validate(TcpSock* tp, bool limited) {
  const Instant now = shard_of(tp).now();
  const uint32_t inflight = in_flight(tp);
  if (!tp->snd_una.lt(tp->cwnd_usage_end) || limited || (!tp->cwnd_limited && inflight > tp->max_flight)) {
    tp->cwnd_limited = limited;
    tp->max_flight = inflight;
    tp->cwnd_usage_end = tp->snd_nxt;
  }
  if (is_cwnd_limited(tp)) {
    tp->cwnd_used = 0;
    tp->cwnd_stamp = now;
    return;
  }
  tp->cwnd_used = std::max(tp->cwnd_used, inflight);
  if (now - tp->cwnd_stamp >= std::chrono::microseconds(tp->rto_us)) cwnd_application_limited(tp, now);
}

// The bytes of segment `m` the peer's window takes now (0 if none).
uint32_t window_room(TcpSock* tp, rte_mbuf* m) {
  const SeqNum wnd_end = tp->snd_una + tp->snd_wnd;
  const SeqNum seq = seg_seq(m);
  if (!wnd_end.gt(seq)) return 0;
  return std::min(seg_len(m), static_cast<uint32_t>(wnd_end - seq));
}

// The port this connection's segments leave by (null: no route).
ShardPort* out_port(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  auto rt = sh.routes.lookup(inet_of(tp)->daddr);
  return rt ? sh.port_for(rt->iface) : nullptr;
}

// How many full-sized segments one TSO frame may carry on port `sp` (0: no TSO there).
uint32_t tso_limit(TcpSock* tp, ShardPort* sp) {
  if (!tp->send_head || !tp->write_queue.next(tp->send_head)) return 0;  // none, or one segment
  if (!sp || !sp->ifc->caps.tx_tso || tp->mss == 0) return 0;
  // The frame must fit IPv4's 16-bit length with the largest headers, and a device's segment limit.
  constexpr uint32_t kHeaders = 60 + 60;
  return std::min<uint32_t>(kTsoMaxSegs, (wire::Ipv4View::kMaxDatagram - kHeaders) / tp->mss);
}

// The number of segments from `m` (send_head) on that can leave as one TSO frame now: new data only, each
// full-sized and whole within the peer's window and the congestion window, none carrying a FIN.
uint32_t tso_run(TcpSock* tp, rte_mbuf* m, uint32_t max_segs) {
  if (seg_seq(m).lt(tp->snd_max)) return 0;  // go-back-N resends go one by one
  const SeqNum wnd_end = tp->snd_una + tp->snd_wnd;
  const uint32_t pipe = in_flight(tp);
  uint32_t n = 0, bytes = 0;
  for (; m && n < max_segs; m = tp->write_queue.next(m)) {
    const uint32_t len = seg_len(m);
    if (len != tp->mss) break;
    if ((seg_seq(m) + len).gt(wnd_end)) break;
    if (pipe + bytes + len > tp->cwnd) break;
    if (!tp->write_queue.next(m) && tp->fin_queued) break;  // the FIN goes with the last segment, alone
    bytes += len;
    ++n;
  }
  return n;
}

}  // namespace

void write_xmit(TcpSock* tp, bool force_push, bool hold_tail) {
  const uint8_t st = sk_of(tp)->state;
  if (st != sk_state::kEstablished && st != sk_state::kCloseWait && st != sk_state::kFinWait1 &&
      st != sk_state::kLastAck && st != sk_state::kClosing && !tp->fastopen_child)
    return;
  Shard& sh = shard_of(tp);
  // Another connection to the same destination taught the shard a lower path MTU: take it now, before
  // this one's segments meet the same narrow link.
  if (tp->pmtu_gen != sh.pmtu.gen()) [[unlikely]] {
    if (pmtu_sync(tp)) force_push = true;  // what it sets up to resend goes now
  }
  bool sent_any = false, sent_new = false, cwnd_stop = false, rwnd_stop = false;
  if (tp->send_head && tp->snd_una == tp->snd_max && tp->last_data_sent.ns()) {
    // Sending again with nothing in flight (Linux's CA_EVENT_TX_START).
    const Duration idle = sh.now() - tp->last_data_sent;
    if (idle >= std::chrono::microseconds(tp->rto_us)) cwnd_restart(tp, sh.now());
    // RFC 9438 §5.8: CUBIC's time since the epoch began leaves out the idle time, or the curve would have
    // run on meanwhile and the window would leap (as Linux's cubictcp_cwnd_event moves epoch_start on).
    if (tp->cubic.in_epoch) tp->cubic.epoch = std::min(tp->cubic.epoch + idle, sh.now());
  }
  // With SACK, lost segments go first (RFC 6675 §5, RFC 8985 §7), within the pipe.
  if (tp->sack_ok && tp->lost_out > tp->retrans_out) sent_any = sack_retransmit(tp);
  ShardPort* sp = tp->send_head ? out_port(tp) : nullptr;
  const uint32_t tso_max_segs = tso_limit(tp, sp);
  // A connection to the host itself goes through the loopback queue, not the device.
  const bool local = sp && sh.is_local_addr(inet_of(tp)->daddr);
  while (rte_mbuf* m = tp->send_head) {
    // Backpressure: with the device's queue (or the loopback queue) full a segment would only be dropped
    // (TxFull, LoopbackQueueFull) and resent after a loss episode; hold it instead: the ACKs of what is in
    // flight bring write_xmit back. With nothing in flight no ACK would come, so such a connection sends
    // regardless (its RTO covers a drop).
    if (sp && tp->snd_una != tp->snd_max && !(local ? sh.loop_room() : sh.tx_room(*sp))) {
      ++sh.stats.tcp_tx_backpressure;
      break;
    }
    const SeqNum seq = seg_seq(m);
    const uint32_t len = seg_len(m);
    // The peer's window bounds the sequence space. RFC 9293 §3.8.6.2.1 (sender SWS avoidance): a segment
    // the window cannot take whole goes in part only if that part is at least min(MSS, Fs * max window
    // seen) with Fs = 1/2; a smaller window waits for the persist timer (on_persist).
    uint32_t send_len = window_room(tp, m);
    // A segment queued before the MSS fell (path MTU discovery) leaves in MSS-sized pieces.
    if (len > tp->mss) send_len = std::min<uint32_t>(send_len, tp->mss);
    if (send_len < len) {
      const uint32_t sws = std::max<uint32_t>(1, std::min<uint32_t>(tp->mss, tp->max_window / 2));
      if (send_len == 0 || send_len < sws) {
        // Window-limited with nothing in flight: no ACK will come to reopen it, so probe (persist).
        if (tp->snd_una == tp->snd_max) arm_persist(tp);
        rwnd_stop = true;
        break;
      }
    }
    // The congestion window bounds what is in flight (with SACK: the pipe, which does not count SACKed or
    // lost bytes).
    // Without SACK, Limited Transmit (RFC 3042): the first and second duplicate ACK each let one segment of
    // new data go beyond the window (at most cwnd + 2 segments in flight), so a window too small to draw three
    // duplicates still recovers by fast retransmit and not by timeout (Linux gets the same from
    // tcp_add_reno_sack counting each duplicate as a segment out of flight). Not in a reduction: recovery
    // inflates cwnd and PRR paces the sending instead. After a timeout (Loss), once the resends have reached
    // new data, duplicates release it the same way (as Linux's Reno accounting does there too).
    const uint32_t limited = !tp->sack_ok && tp->dupacks && tp->dupacks < 3 && tp->ca_state != TcpCa::Recovery &&
                                     tp->ca_state != TcpCa::Cwr && !seq.lt(tp->snd_max)
                                 ? tp->dupacks * uint32_t{tp->mss}
                                 : 0;
    const bool cwnd_full = tp->sack_ok ? sack_pipe(tp) + send_len > tp->cwnd
                                       : (seq + send_len).gt(tp->snd_una + tp->cwnd + limited);
    if (cwnd_full) {
      cwnd_stop = true;
      break;
    }
    const bool is_last = tp->write_queue.next(m) == nullptr;
    const bool with_fin = fin_with(tp, m);
    // Nagle (RFC 896, RFC 9293 §3.7.4) in Minshall's form, as Linux's tcp_nagle_check: hold a small segment
    // while a small segment sent before is unacknowledged (one at most in flight). Full segments in flight do
    // not hold it: a write of an MSS and a bit goes whole, not its tail a delayed ACK later. A full segment
    // cut short by the window is not "small": SWS avoidance above decided on it. Nor is one with more data
    // queued behind it (nothing could join it; as Linux's tcp_write_xmit): that happens when the MSS fell
    // below the segments already queued (path MTU discovery cuts them, leaving short pieces).
    // (A Fast Open connection's SYN-ACK is not data: its answer leaves before the handshake completes.) Only
    // new data waits: a segment sent before and rewound for sending again (go-back-N) is a retransmission
    // (as Linux's, which never meets Nagle's test).
    if (len < tp->mss && is_last && !with_fin && !force_push && !seq.lt(tp->snd_max) &&
        (tp->cork || hold_tail ||
         (!tp->nodelay && tp->snd_sml.gt(tp->snd_una) && !tp->snd_sml.gt(tp->snd_nxt)))) {
      // TCP_CORK (or a send with MSG_MORE, `hold_tail`: Linux's TCP_NAGLE_CORK for that push) holds a partial
      // segment at most until the persist timer fires, an RTO (at least rto_min, 200 ms) after the last ACK
      // left nothing in flight: tcp(7)'s "200 millisecond ceiling", which Linux implements the same way (tcp_write_xmit's caller arms the probe0 timer, whose tcp_write_wakeup
      // sends the held segment). With data in flight its ACK comes back here first.
      if (tp->snd_una == tp->snd_max) arm_persist(tp);
      break;
    }
    if (send_len < len) {
      if (!split_segment(tp, m, send_len)) break;
      if (len > tp->mss) ++sh.stats.tcp_pmtu_resegmented;
    }
    // TSO: full-sized new segments that the windows take go out together, one frame for the device to cut.
    // Not the one that carries CWR (RFC 3168 §6.1.2): a device would copy the flag into every segment.
    if (const uint32_t n = tso_max_segs && !(tp->ecn_flags & kEcnQueueCwr) ? tso_run(tp, m, tso_max_segs) : 0; n > 1) {
      if (!send_head_tso(tp, n)) break;
      sent_any = sent_new = true;
      continue;
    }
    if (!send_head_segment(tp)) break;  // out of buffers: retry on the next event
    sent_any = sent_new = true;
  }
  if (sent_new || cwnd_stop) cwnd_validate(tp, cwnd_stop);
  if (rwnd_stop) [[unlikely]] {
    chrono_start(tp, kChronoRwnd);
  } else if (tp->st.chrono_type == kChronoRwnd) [[unlikely]] {
    chrono_stop(tp, kChronoRwnd);
  }
  // A writer stopped by TCP_NOTSENT_LOWAT goes on once what waits unsent fell below half the limit (the
  // ACK path's wakeup covers most cases; this one those where a timer sent the data).
  if (tp->lowat_blocked && sent_new && notsent_ok(tp, true)) [[unlikely]] {
    tp->lowat_blocked = false;
    sock_wake(sk_of(tp), EPOLLOUT | EPOLLWRNORM);
  }
  // A FIN of its own (after all data), or resending it after an RTO rewound snd_nxt. A new FIN needs room in
  // the peer's window for its sequence number (Linux's tcp_snd_wnd_test), as data does: a FIN sent into a
  // zero window is not taken, and the retransmission timer would resend it until it aborted the connection
  // however faithfully the peer answered. Held, it waits for the window as data does: the persist timer
  // probes while nothing is in flight (RFC 1122 §4.2.2.17: for as long as the peer answers).
  const bool fin_due = !tp->send_head && tp->fin_queued && (!tp->fin_sent || tp->snd_nxt == tp->fin_seq);
  if (fin_due && !tp->fin_sent && !tp->snd_nxt.lt(tp->snd_una + tp->snd_wnd)) {
    if (tp->snd_una == tp->snd_max) arm_persist(tp);
  } else if (fin_due) {
    const bool retransmission = tp->fin_sent;
    if (transmit(tp, tp->snd_nxt, tf::kAck | tf::kFin, nullptr) == 0) {
      tp->fin_xmit_ns = sh.now().ns();
      sent_any = true;
      if (retransmission) {
        ++tp->total_retrans;
        ++sh.stats.tcp_retrans_segs;
      }
      tp->fin_sent = true;
      tp->fin_seq = tp->snd_nxt;
      tp->snd_nxt = tp->snd_nxt + 1;
      if (tp->snd_nxt.gt(tp->snd_max)) tp->snd_max = tp->snd_nxt;
    }
  }
  if (sent_any) arm_rto(tp);
}

bool is_cwnd_limited(TcpSock* tp) {
  return tp->cwnd_limited || (tp->cwnd < tp->ssthresh && tp->cwnd < 2 * tp->max_flight);
}

bool write_wakeup(TcpSock* tp) {
  rte_mbuf* m = tp->send_head;
  if (!m) return false;
  const uint32_t room = window_room(tp, m);
  if (room == 0) return false;
  // RFC 9293 §3.8.6.2.1: the override timeout sends what the window takes, however small (and regardless
  // of Nagle and the congestion window, as Linux's tcp_write_wakeup).
  const uint32_t take = std::min<uint32_t>(room, tp->mss);
  if (take < seg_len(m) && !split_segment(tp, m, take)) return false;
  if (!send_head_segment(tp)) return false;
  arm_rto(tp);
  return true;
}

void retransmit_head(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  const uint8_t st = sk_of(tp)->state;
  tp->rtt_pending = false;  // Karn
  ++tp->total_retrans;
  ++sh.stats.tcp_retrans_segs;
  // (A Fast Open connection closed before the peer acknowledged its SYN-ACK, FIN-WAIT-1, sends that first.)
  if (st == sk_state::kSynSent || st == sk_state::kSynRecv || tp->fastopen_child) return send_syn(tp);
  undo_note_retrans(tp);
  if (rte_mbuf* m = tp->write_queue.front()) {
    if (!fit_to_mss(tp, m)) return;  // no buffer to cut it with: the next RTO tries again
    const SeqNum seq = seg_seq(m);
    const bool fin = tp->fin_sent && tp->fin_seq == seq + seg_len(m);
    if (transmit(tp, seq, tf::kAck | tf::kPsh | (fin ? tf::kFin : 0), m) == 0) {
      // Karn: the ACK that covers it times nothing (clean_write_queue); its last send time, for RFC 6069.
      pkt_meta(m)->flags |= kMetaEverRetrans;
      pkt_meta(m)->rx_time_ns = sh.now().ns();
    }
  } else if (tp->fin_sent && tp->snd_una == tp->fin_seq) {
    if (transmit(tp, tp->fin_seq, tf::kAck | tf::kFin, nullptr) == 0) tp->fin_xmit_ns = sh.now().ns();
  }
}

void maybe_window_update(TcpSock* tp) {
  const uint8_t st = sk_of(tp)->state;
  if (st != sk_state::kEstablished && st != sk_state::kFinWait1 && st != sk_state::kFinWait2) return;
  const uint32_t cur = tp->rcv_adv.gt(tp->rcv_nxt) ? static_cast<uint32_t>(tp->rcv_adv - tp->rcv_nxt) : 0;
  // What we could advertise: the space, but never more than the window field can say.
  const uint32_t space = std::min(receive_space(tp), uint32_t{65535} << tp->rcv_wscale);
  // Tell the peer once the window can grow by two segments or half the buffer (Linux's rule).
  if (space > cur && (space - cur >= 2u * tp->mss || space - cur >= static_cast<uint32_t>(sk_of(tp)->rcvbuf) / 2))
    send_ack(tp);
}

void resend_head_into_window(TcpSock* tp) {
  rte_mbuf* m = tp->send_head;
  if (!m || m != tp->write_queue.front()) return;  // (write_xmit sent it)
  // Linux's __tcp_retransmit_skb: what the window takes of the head, at most an MSS; into a zero window a
  // full segment (the probe). A window below the sender's SWS threshold holds new data, not this.
  const uint32_t room = window_room(tp, m);
  if (room && room < std::min<uint32_t>(seg_len(m), tp->mss)) {
    if (!split_segment(tp, m, room)) return;
  } else if (!fit_to_mss(tp, m)) {
    return;
  }
  send_head_segment(tp);
}

bool fit_to_mss(TcpSock* tp, rte_mbuf* m) {
  if (seg_len(m) <= tp->mss) return true;
  if (!split_segment(tp, m, tp->mss)) return false;
  ++shard_of(tp).stats.tcp_pmtu_resegmented;
  return true;
}

namespace {

// Takes `mtu` (lower than the connection's path MTU) as the path MTU: lowers the send MSS and, for a
// synchronized connection, sets up the resend of what was in flight and too large. True if something is
// to be resent (write_xmit sends it).
bool lower_path_mtu(TcpSock* tp, uint16_t mtu) {
  tp->pmtu = mtu;
  const uint8_t st = sk_of(tp)->state;
  // Before the peer's SYN-ACK the MSS is not final: its set_mss will use the new path MTU. In SYN-RECEIVED
  // the peer's MSS is known (and a Fast Open connection may have data in flight): as in any later state.
  if (st == sk_state::kSynSent || st == sk_state::kClose || st == sk_state::kListen) return false;
  const uint16_t old_mss = tp->mss;
  set_mss(tp, tp->peer_mss);
  if (tp->mss >= old_mss || tp->snd_una == tp->snd_max) return false;
  // Linux's tcp_simple_retransmit: what was in flight and is larger than the new MSS did not get through;
  // it is resent now, without a congestion response (the window in bytes holds; only the segments got
  // smaller). Segments are cut to the MSS as they are (re)sent, as Linux's tcp_fragment does, so the
  // queue is not copied at once. With SACK those segments are marked lost and RACK's scoreboard resends
  // them; without, go back N from snd_una. Loss state until snd_max is acknowledged keeps duplicate ACKs
  // of the old flight from starting a fast recovery.
  bool any = false;
  for (rte_mbuf* m = tp->write_queue.front(); m && m != tp->send_head; m = tp->write_queue.next(m)) {
    PktMeta* mt = pkt_meta(m);
    const uint32_t len = seg_len(m);
    if (len <= tp->mss || (mt->flags & kMetaSacked)) continue;
    any = true;
    if (!tp->sack_ok) break;
    if (mt->flags & kMetaRetrans) tp->retrans_out -= std::min(tp->retrans_out, len);
    if (!(mt->flags & kMetaLost)) tp->lost_out += len;
    mt->flags = static_cast<uint8_t>((mt->flags & ~kMetaRetrans) | kMetaLost);
  }
  if (!any) return false;
  if (!tp->sack_ok) {
    tp->snd_nxt = tp->snd_una;
    tp->send_head = tp->write_queue.front();
  }
  if (tp->ca_state != TcpCa::Loss) {
    tp->ca_state = TcpCa::Loss;
    tp->recover = tp->snd_max;
    tp->undo_armed = false;  // no reduction to undo
  }
  tp->dupacks = 0;
  tp->rtt_pending = false;  // Karn
  return true;
}

}  // namespace

void tcp_mtu_reduced(TcpSock* tp, uint16_t mtu) {
  Sock* sk = sk_of(tp);
  Shard& sh = *sk->shard;
  // RFC 1191 §6.1: ICMP never raises a path MTU. A socket that does no discovery (IP_PMTUDISC_DONT: its
  // segments leave without DF, for routers to fragment) keeps its MSS; the shard still learns the path
  // for the others (as Linux updates the route).
  if (mtu >= path_mtu(tp) || !pmtu_discovery(tp)) {
    if (!pmtu_discovery(tp)) sh.pmtu.learn(inet_sk(sk)->daddr, mtu, sh.now());
    ++sh.stats.tcp_pmtu_ignored;
    return;
  }
  ++sh.stats.tcp_pmtu_lowered;
  mtu = sh.pmtu.learn(inet_sk(sk)->daddr, mtu, sh.now());
  tp->pmtu_gen = sh.pmtu.gen();
  if (lower_path_mtu(tp, mtu)) write_xmit(tp, true);
  // Our Fast Open SYN carried data and did not fit the path (Linux's tcp_simple_retransmit takes a Fast
  // Open SYN as lost on any such message): it goes again now as a plain SYN, without backing off the
  // timer, and its data after the SYN-ACK, cut to the MSS the new path MTU gives.
  if (sk->state == sk_state::kSynSent && tp->syn_fastopen && tp->retransmits == 0 && tp->snd_max.gt(tp->iss + 1))
      [[unlikely]] {
    // TCP_USER_TIMEOUT counts from the first SYN, as the timer's first retransmission notes it.
    rte_mbuf* m = tp->write_queue.front();
    tp->retrans_start = m && pkt_meta(m)->rx_time_ns ? Instant::from_ns(pkt_meta(m)->rx_time_ns) : sh.now();
    ++tp->retransmits;           // (what makes the SYN a plain one)
    tp->syn_pmtu_resent = true;  // (but the retry limit does not count it)
    retransmit_head(tp);
    arm_rto(tp);
  }
}

bool pmtu_sync(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  Shard& sh = *sk->shard;
  tp->pmtu_gen = sh.pmtu.gen();
  if (!pmtu_discovery(tp)) return false;
  const uint16_t ifc_mtu = static_cast<uint16_t>(tp->advmss + 40);
  const uint16_t p = sh.pmtu.path_mtu(inet_sk(sk)->daddr, ifc_mtu, sh.now());
  const uint16_t cur = path_mtu(tp);
  if (p > cur) {
    tp->pmtu = p;
    set_mss(tp, tp->peer_mss);  // larger segments from the next one queued (those queued stay as they are)
    ++sh.stats.tcp_pmtu_raised;
    return false;
  }
  if (p == cur) return false;
  ++sh.stats.tcp_pmtu_lowered;
  return lower_path_mtu(tp, p);
}

void init_path_mtu(TcpSock* tp, uint16_t ifc_mtu) {
  Shard& sh = shard_of(tp);
  const wire::Ipv4Addr dst = inet_of(tp)->daddr;
  tp->advmss = static_cast<uint16_t>(ifc_mtu - 40);
  tp->pmtu_gen = sh.pmtu.gen();
  tp->pmtu = pmtu_discovery(tp) ? sh.pmtu.path_mtu(dst, ifc_mtu, sh.now()) : ifc_mtu;
}

}  // namespace skiff::tcp
