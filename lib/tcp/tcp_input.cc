// TCP input: segment arrival per RFC 9293 §3.10.7, with RFC 5961's defences, NewReno loss recovery
// (RFC 5681, RFC 6582), delayed ACKs and a bounded out-of-order queue.

#include <sys/epoll.h>

#include <cerrno>
#include <cstring>

#include "base/siphash.hh"
#include "tcp/tcp_impl.hh"
#include "wire/ipv4.hh"

namespace skiff {

using tcp::Segment;
using wire::TcpView;
namespace tf = wire::tcp_flag;

namespace tcp {

namespace {

constexpr uint8_t kProtoTcp = static_cast<uint8_t>(wire::IpProto::Tcp);

void drop_seg(Shard& sh, Segment& seg, Drop why) {
  sh.drops.add(why);
  seg.payload.reset();
}

// RFC 9293 §3.10.7.4, first check: is any part of the segment inside the receive window?
bool acceptable(TcpSock* tp, const Segment& seg) {
  const uint32_t wnd = tp->rcv_adv.gt(tp->rcv_nxt) ? static_cast<uint32_t>(tp->rcv_adv - tp->rcv_nxt) : 0;
  const uint32_t slen = seg.seq_len();
  const SeqNum end = tp->rcv_nxt + wnd;
  // A zero window takes nothing, "but special allowance should be made to accept valid ACKs, URGs, and
  // RSTs": a segment at RCV.NXT passes, whatever its length (Linux's tcp_sequence), so its ACK, window and
  // RST are processed, and a bare FIN is taken (tcp_data_queue); process_data drops any data beyond the
  // window. The peer's zero-window probes carry the ACK that may open our own send window.
  if (wnd == 0) return seg.seq == tp->rcv_nxt;
  // A bare ACK exactly at the right edge passes too (Linux's tcp_sequence, where RFC 9293 says below it): a
  // peer that filled our window and lost a segment sends its ACKs there in a two-way transfer, and their
  // acknowledgments and window updates would be lost on us. (A RST there stays out: RFC 5961 §3.2.)
  if (slen == 0 && !seg.has(tf::kRst)) return static_cast<uint32_t>(seg.seq - tp->rcv_nxt) <= wnd;
  if (slen == 0) return seg.seq.in_range(tp->rcv_nxt, end);
  return seg.seq.in_range(tp->rcv_nxt, end) || (seg.seq + slen - 1).in_range(tp->rcv_nxt, end);
}

// The arrival time a data segment keeps for SO_TIMESTAMP (0: the socket asked for none, as Linux stamps only
// while some socket wants stamps).
inline uint64_t rx_stamp(TcpSock* tp) {
  const Sock* sk = sk_of(tp);
  return sk->tstamp ? static_cast<uint64_t>(sk->shard->now().ns()) : 0;
}

// Appends in-order payload to the receive queue, copying small segments into the tail buffer's free room
// so that a stream of tiny segments cannot pin a buffer each (Linux's tcp_try_coalesce).
void queue_in_order(TcpSock* tp, Pktbuf p) {
  Sock* sk = sk_of(tp);
  const uint32_t len = p.len();
  rte_mbuf* tail = sk->receive_queue.back();
  if (tail && len <= 512 && tail->nb_segs == 1 && rte_mbuf_refcnt_read(tail) == 1 && RTE_MBUF_DIRECT(tail) &&
      rte_pktmbuf_tailroom(tail) >= len) {
    uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(tail, static_cast<uint16_t>(len)));
    p.copy_out(0, len, d);
    pkt_meta(tail)->rx_time_ns = p.meta()->rx_time_ns;  // the later arrival stands for both (tcp_try_coalesce)
    p.reset();
  } else {
    PktMeta* m = p.meta();
    m->offset = 0;
    sk->receive_queue.push(std::move(p));
  }
  tp->rcv_queued += len;
}

// What Linux's tcp_init_transfer sets up for receiving once a connection is synchronized: the first guess
// at the peer's segment size (tcp_initialize_rcv_mss: at most 536 until a larger segment shows) and the
// autotuning's starting point (tcp_init_buffer_space: ten of our segments, within the window).
void init_rcv_measures(TcpSock* tp) {
  const uint32_t hint = std::min<uint32_t>({rcv_full_payload(tp), tp->mss, tp->rcv_wnd / 2, 536});
  tp->rcv_mss = static_cast<uint16_t>(std::max<uint32_t>(hint, 88));
  tp->rcv_last_seg = 0;
  tp->rcvq_space = std::min<uint32_t>(tp->rcv_wnd, 10u * rcv_full_payload(tp));
}

// Linux's tcp_measure_rcv_mss, for each in-order data segment: a segment at least rcv_mss long sets it (up
// to what we announced); a shorter one that still looks full-sized (536 bytes or more, or 88 or more with
// neither PSH, URG nor FIN: a sender cuts a segment short only where a write ends) sets it when the one
// before it had the same size, so a peer whose path lowered its segments is followed down. The size counts
// what SACK blocks took from the payload, so that they do not make it jitter.
void measure_rcv_mss(TcpSock* tp, const Segment& seg) {
  const uint16_t lss = tp->rcv_last_seg;
  tp->rcv_last_seg = 0;
  if (seg.len >= tp->rcv_mss) {
    tp->rcv_mss = static_cast<uint16_t>(std::min<uint32_t>(seg.len, rcv_full_payload(tp)));
    return;
  }
  const uint32_t fixed = 20 + (tp->ts_ok ? 12 : 0);  // Linux's tcp_header_len
  const uint32_t len = seg.len + 20 + (seg.opt.has_timestamp ? 12 : 0) + (seg.opt.num_sack ? 4 + 8u * seg.opt.num_sack : 0);
  if (len >= 536 + 20 || (len >= 88 + 20 && !seg.has(tf::kPsh | tf::kUrg | tf::kFin))) {
    const uint16_t size = static_cast<uint16_t>(len - std::min(len, fixed));
    tp->rcv_last_seg = size;
    if (size == lss) tp->rcv_mss = size;
  }
}

// `len` bytes of new data at RCV.NXT: charged to the receive buffer, stamped (SO_TIMESTAMP), queued.
inline void take_in_order(TcpSock* tp, Pktbuf p, uint32_t len) {
  sk_of(tp)->rmem_alloc += static_cast<int>(len);
  p.meta()->rx_time_ns = rx_stamp(tp);
  queue_in_order(tp, std::move(p));
  tp->rcv_nxt = tp->rcv_nxt + len;
  tp->st.bytes_received += len;
}

// Our FIN was acknowledged: the state moves on (RFC 9293 §3.10.7.4, fifth check, per state). True if the
// connection is over: it may have been freed (an orphan), so the caller must not touch it any more.
bool fin_acked(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  switch (sk->state) {
    case sk_state::kFinWait1:
      set_state(tp, sk_state::kFinWait2);
      if (tp->orphan) {
        // TCP_LINGER2 -1: an orphan does not wait for the peer's FIN at all (Linux's tcp_rcv_state_process).
        if (tp->linger2_s < 0) {
          done(tp);
          return true;
        }
        // Nobody will read the peer's data: don't wait for its FIN forever (Linux's tcp_fin_time).
        sh.timers.arm(tp->tw_timer, sh.now() + fin_time(tp));
      }
      break;
    case sk_state::kClosing:
      enter_time_wait(tp);
      break;
    case sk_state::kLastAck:
      done(tp);
      return true;
    default:
      break;
  }
  return false;
}

// Frees what `ack` acknowledges. Returns the RTT sample it gives (Linux's tcp_clean_rtx_queue seq_rtt):
// the time since the earliest of the newly acknowledged segments was sent, none of them SACKed before,
// or -1 where there is none or a retransmitted segment is among them (Karn).
int64_t clean_write_queue(TcpSock* tp, SeqNum ack, const SeqNum* fack_before) {
  uint64_t first_xmit = 0;
  bool retrans_acked = false;
  while (rte_mbuf* m = tp->write_queue.front()) {
    const SeqNum seq = seg_seq(m);
    const uint32_t len = seg_len(m);
    if ((seq + len).le(ack)) {
      if (tp->send_head == m) tp->send_head = tp->write_queue.next(m);
      const uint8_t flags = pkt_meta(m)->flags;
      if (flags & kMetaEverRetrans) {
        retrans_acked = true;
      } else if (!(flags & kMetaSacked) && !first_xmit) {
        first_xmit = pkt_meta(m)->rx_time_ns;
      }
      if (!(flags & kMetaSacked)) rack_delivered(tp, m, fack_before);
      sack_forget(tp, m, len);
      if (tp->num_sack_runs) sack_runs_free(tp, m);
      tp->write_bytes -= len;
      tp->write_queue.pop().reset();
      continue;
    }
    if (seq.lt(ack)) {
      const uint32_t cut = static_cast<uint32_t>(ack - seq);
      sack_forget(tp, m, cut);
      pkt_adj(m, cut);  // (a segment of a jumbo MSS spans several buffers)
      pkt_meta(m)->seq = ack.raw();
      tp->write_bytes -= cut;
    }
    break;
  }
  sk_of(tp)->wmem_queued = static_cast<int>(tp->write_bytes);
  if (!first_xmit || retrans_acked) return -1;
  return ns_since(tp, first_xmit);
}

// Forward progress (new data cumulatively or selectively acknowledged) proves the next hop works both
// ways: confirm its neighbour entry (Linux's dst_confirm on FLAG_FORWARD_PROGRESS), so that ARP never
// expires under a running transfer. At most once per second: a clock compare per ACK otherwise.
void confirm_neighbour(TcpSock* tp) {
  constexpr Duration kInterval = 1s;
  Shard& sh = shard_of(tp);
  const Instant now = sh.now();
  if (tp->neigh_confirmed.ns() && now - tp->neigh_confirmed < kInterval) return;
  tp->neigh_confirmed = now;
  const auto rt = sh.routes.lookup(inet_of(tp)->daddr);
  if (!rt) return;
  if (ShardPort* sp = sh.port_for(rt->iface)) sp->neigh.confirm(rt->next_hop, now);
}

// NewReno (RFC 5681 §3.1-3.2, RFC 6582) on a new cumulative ACK of `acked` bytes.
void cong_on_ack(TcpSock* tp, SeqNum ack, uint32_t acked) {
  Shard& sh = shard_of(tp);
  if (tp->ca_state == TcpCa::Recovery) {
    if (ack.ge(tp->recover)) {
      // Full acknowledgment: leave recovery (RFC 6582 §3.2 step 6 option 1; RFC 6675 §5, RFC 6937 §3:
      // cwnd = ssthresh).
      tp->cwnd = tp->sack_ok ? tp->ssthresh : std::min(tp->ssthresh, std::max(flight_size(tp), tp->mss + 0u) + tp->mss);
      tp->ca_state = TcpCa::Open;
      tp->dupacks = 0;
      tp->tlp_sent = false;
      rack_recovery_done(tp);
      return;
    }
    if (tp->sack_ok) return;  // RACK retransmits the holes, within the window PRR sets (prr_on_ack)
    // NewReno partial acknowledgment: the next hole is lost too; retransmit it, deflate by what was acked.
    ++sh.stats.tcp_partial_acks;
    retransmit_head(tp);
    tp->cwnd = tp->cwnd > acked ? tp->cwnd - acked : 0;
    if (acked >= tp->mss) tp->cwnd += tp->mss;
    tp->cwnd = std::max(tp->cwnd, tp->mss + 0u);
    return;
  }
  if (tp->ca_state == TcpCa::Loss && ack.ge(tp->recover)) {
    tp->ca_state = TcpCa::Open;
    rack_recovery_done(tp);
    rto_episode_end(tp);  // (TCP_INFO's tcpi_total_rto_time: Linux's tcp_update_rto_time on leaving Loss)
  }
  tp->dupacks = 0;
  if (tp->ca_state == TcpCa::Cwr) {
    // RFC 3168 §6.1.2: no growth on the ACKs of the window the ECN-Echo reduced, nor until something sent
    // after it is acknowledged: the CWR segment has then reached the receiver (as Linux's CWR state).
    if (!ack.gt(tp->cwr_end)) return;
    tp->ca_state = TcpCa::Open;
    tp->cwnd = tp->ssthresh;  // the end of PRR's reduction (Linux's tcp_end_cwnd_reduction)
  }
  // RFC 5681 §3.1 / RFC 7661 §4.2: a window the sender does not fill is not validated by its ACKs.
  if (!is_cwnd_limited(tp)) return;
  tp->cc->cong_avoid(tp, acked, sh.now());
  tp->cwnd = std::min<uint32_t>(tp->cwnd, 1u << 30);
}

void cong_on_dupack(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  ++tp->dupacks;
  if (tp->ca_state == TcpCa::Recovery) {
    tp->cwnd += tp->mss;  // RFC 5681 §3.2 step 4: each further duplicate inflates
    write_xmit(tp);
    return;
  }
  // RFC 6582 §3.2 step 2: only if the ACK covers more than `recover` (no second fast retransmit for one
  // window of data).
  if (tp->dupacks == 3 && (tp->snd_una - 1).ge(tp->recover)) {
    ++sh.stats.tcp_fast_retrans;
    // One reduction per window of data: an ECN-Echo's in this window stands (Linux's tcp_enter_recovery
    // inside a CWR reduction).
    if (tp->ca_state != TcpCa::Cwr) {
      tp->cc->on_loss(tp, sh.now());
      tp->ssthresh = tp->cc->ssthresh(tp, loss_base(tp));
    }
    ecn_queue_cwr(tp);
    tp->recover = tp->snd_max;
    tp->cwnd = tp->ssthresh + 3u * tp->mss;
    tp->ca_state = TcpCa::Recovery;
    retransmit_head(tp);
    write_xmit(tp);
  }
}

// TCP_INFO's accounting of an ACK that moves SND.UNA to `ack` (`acked` data bytes, the SYN not counted),
// before the write queue is cleaned (which counts the segments delivered).
void ack_stats(TcpSock* tp, SeqNum ack, uint32_t acked) {
  TcpSock::Stats& st = tp->st;
  // The sequence space acknowledged: the FIN's counts, a passive open's SYN does not (Linux's child starts
  // with SND.UNA past it).
  st.bytes_acked += acked;
  if (tp->snd_una == tp->iss) ++st.delivered;  // the handshake's SYN (SYN-ACK)
  // Our FIN, unless it rode the last data segment (counted with it, as Linux's FIN joins the tail skb).
  if (tp->fin_sent && ack.gt(tp->fin_seq) && !tp->snd_una.gt(tp->fin_seq)) [[unlikely]] {
    rte_mbuf* last = tp->write_queue.back();
    if (!last || !(pkt_meta(last)->flags & kMetaFin)) ++st.delivered;
  }
  // The handshake's SYN-ACK resent on the timer: that episode ends here.
  if (tp->snd_una == tp->iss && st.rto_stamp.ns()) [[unlikely]] rto_episode_end(tp);
}

// TCP_INFO's reordering (Linux's tcp_check_sack_reordering): an ACK that delivered segments sent before
// one already delivered counts once, and the distance (in segments) from the lowest of them to the highest
// delivery raises tcpi_reordering, up to 300 (tcp_max_reordering).
void reord_account(TcpSock* tp) {
  TcpSock::Stats& st = tp->st;
  st.reord_ack = false;
  ++st.reord_seen;
  const uint32_t mss = tp->mss;
  const uint32_t metric = static_cast<uint32_t>(tp->rack_fack - st.reord_low);
  if (mss && metric > uint64_t{st.reordering} * mss) st.reordering = std::min<uint32_t>((metric + mss - 1) / mss, 300);
}

// ... and once SND.UNA moved: a timeout episode ends, the busy clock stops with nothing queued, and a
// delivery-rate round that `ack` completes gives its sample.
void ack_stats_done(TcpSock* tp, SeqNum ack) {
  TcpSock::Stats& st = tp->st;
  if (!tp->write_queue.front()) chrono_stop(tp, kChronoBusy);
  if (!st.rate_t0.ns() || ack.lt(st.rate_end)) return;
  const Instant now = shard_of(tp).now();
  const int64_t ns = (now - st.rate_t0).count();
  if (ns > 0) {
    st.rate_bytes = static_cast<uint32_t>(std::min<uint64_t>(st.bytes_acked - st.rate_acked0, UINT32_MAX));
    st.rate_ns = ns;
  }
  st.rate_app_limited = !tp->cwnd_limited;
  if (ack == tp->snd_max) {
    st.rate_t0 = {};  // all delivered: the next new data starts the next round
  } else {
    st.rate_t0 = now;
    st.rate_acked0 = st.bytes_acked;
    st.rate_end = tp->snd_max;
  }
}

// RFC 5961 §3.2 asks a RST at exactly RCV.NXT. Linux also takes one at RCV.NXT - 1 once the peer's FIN came
// (CLOSE-WAIT, LAST-ACK, CLOSING: a peer that sent its FIN and then aborts puts its RST on the FIN's
// number, tcp_reset_check) and one at the right edge of the highest data we hold out of order (a peer
// whose data we SACKed resets at its SND.NXT, past the hole).
bool rst_acceptable(TcpSock* tp, SeqNum seq) {
  const uint8_t st = sk_of(tp)->state;
  if (seq == tp->rcv_nxt - 1 && (st == sk_state::kCloseWait || st == sk_state::kLastAck || st == sk_state::kClosing))
    return true;
  return tp->sack_ok && !tp->ooo_ranges.empty() && seq == tp->ooo_ranges[tp->ooo_ranges.size() - 1].right;
}

// RFC 9293 §3.10.7.4, fifth check, for synchronized states. False = drop the segment.
bool process_ack(TcpSock* tp, Segment& seg) {
  Shard& sh = shard_of(tp);
  const SeqNum ack = seg.ack;
  if (ack.gt(tp->snd_max)) {
    // Acknowledges something we never sent (RFC 5961 §5.2): ACK and drop. The ACK goes through the same
    // rate limit as the challenge ACKs (RFC 5961 §7): a blind attacker's ACK field lands ahead of SND.NXT as
    // often as behind it, and must not draw an unlimited stream of ACKs either (Linux sends none at all).
    ++sh.stats.tcp_ack_too_new;
    send_challenge_ack(tp);
    return false;
  }
  if (ack.lt(tp->snd_una - tp->max_window)) {
    ++sh.stats.tcp_ack_too_old;
    send_challenge_ack(tp);
    return false;
  }
  const uint32_t wnd = seg.wnd << tp->snd_wscale;
  // RFC 3168 §6.1.2: the peer saw congestion (CE) on the way; before this ACK's bytes could grow the window.
  if (seg.has(tf::kEce) && (tp->ecn_flags & kEcnOk)) ecn_on_ece(tp);
  const uint32_t sacked_before = tp->sacked_out;
  const SeqNum una_before = tp->snd_una;
  const uint32_t delivered_before = tp->st.delivered;
  const SeqNum fack_before = tp->rack_fack;
  const bool fack_was_set = tp->rack_fack_set;
  const bool dsack = sack_process(tp, seg.opt, ack);
  const bool ack_advanced = ack.gt(tp->snd_una);
  bool dupack = false;
  if (ack_advanced) {
    // The SYN's sequence number (acknowledged with the handshake) is not data: it grows no window.
    const uint32_t acked = static_cast<uint32_t>(ack - tp->snd_una) - (tp->snd_una == tp->iss ? 1 : 0);
    ack_stats(tp, ack, acked);
    // RTT (as Linux's tcp_ack_update_rtt): the handshake's SYN-ACK, timed when sent once; else the send
    // time of what this ACK newly acknowledges (µs resolution, Karn: nothing retransmitted among it), else
    // of what it newly SACKs; else the echoed timestamp (1 ms ticks; RFC 7323 §4: retransmissions included).
    bool timed = false;
    if (tp->rtt_pending && ack.ge(tp->rtt_seq)) {
      const Duration rtt = sh.now() - tp->rtt_start;
      rtt_sample(tp, rtt);
      tp->rtt_pending = false;
      timed = true;
      // The SYN-ACK's round trip counts towards the minimum RTT (as Linux's child, timed from its request's
      // SYN-ACK); data segments' come through RACK (rack_delivered).
      if (tp->snd_una == tp->iss) min_rtt_update(tp, rtt.count() / 1000);
    }
    int64_t rtt_ns = clean_write_queue(tp, ack, fack_was_set ? &fack_before : nullptr);
    if (rtt_ns < 0 && tp->sack_first_xmit_ns)
      rtt_ns = ns_since(tp, tp->sack_first_xmit_ns);
    // The sample congestion control gets (Linux's pkts_acked): data's, not the handshake's.
    int64_t ca_rtt_us = -1;
    if (!timed) {
      if (rtt_ns >= 0) {
        rtt_sample(tp, Duration(rtt_ns));
        ca_rtt_us = rtt_ns / 1000;
      } else if (tp->ts_ok && seg.opt.has_timestamp && seg.opt.ts_ecr) {
        if (rtt_sample_tsecr(tp, seg.opt.ts_ecr)) ca_rtt_us = int64_t{ts_now(tp) - seg.opt.ts_ecr} * 1000;
      }
    }
    tp->snd_una = ack;
    // After SND.UNA moved, as Linux's tcp_ack (HyStart's rounds end when SND.UNA passes their last byte).
    if (ca_rtt_us >= 0 && tp->cc->on_rtt) tp->cc->on_rtt(tp, static_cast<uint32_t>(std::min<int64_t>(ca_rtt_us, UINT32_MAX)), sh.now());
    ack_stats_done(tp, ack);
    if (tp->snd_nxt.lt(tp->snd_una)) tp->snd_nxt = tp->snd_una;
    tp->retransmits = tp->zero_wnd_rtos = 0;
    tp->probes_out = 0;
    // One probe per flight (RFC 8985 §7.4 tracks one TLP.end_seq; Linux's tlp_high_seq since 5.9): another
    // may go only once this one's outcome is known, or a second would overwrite what the first left to learn.
    if (!tp->tlp_pending) tp->tlp_sent = false;
    if (acked) cong_on_ack(tp, ack, acked);
    // RFC 6582's `recover` gates fast retransmit while SND.UNA has not passed it (cong_on_dupack). Past it,
    // it follows SND.UNA - 1: the gate stays open, and the sequence comparison stays meaningful. Left at an
    // old value (the ISS, or the last loss) it falls 2^31 behind after 2 GiB without loss, compares as
    // *ahead* of SND.UNA and shuts fast retransmit off for the next 2 GiB. (Linux keeps no such value in
    // the open state: its high_seq only matters while ca_state holds Recovery or Loss.)
    if ((ack - 1).ge(tp->recover)) tp->recover = ack - 1;
    // Send-buffer autotuning (as Linux's tcp_sndbuf_expand): room for two congestion windows.
    Sock* sk = sk_of(tp);
    if (!(sk->userlocks & kSndbufLock) && sk->sndbuf < static_cast<int>(2 * tp->cwnd))
      sk->sndbuf = static_cast<int>(std::min<uint64_t>(2ull * tp->cwnd, static_cast<uint64_t>(sh.cfg.sock.wmem_max)));
    reset_rto(tp);
    if (tp->sacked_out) [[unlikely]] sack_reneging_check(tp);
    const uint32_t free = sk_of(tp)->sndbuf > static_cast<int>(tp->write_bytes)
                              ? static_cast<uint32_t>(sk_of(tp)->sndbuf) - tp->write_bytes
                              : 0;
    if (free >= static_cast<uint32_t>(sk_of(tp)->sndbuf) / 3) {
      if (tp->st.chrono_type == kChronoSndbuf) chrono_stop(tp, kChronoSndbuf);
      sock_wake(sk_of(tp), EPOLLOUT | EPOLLWRNORM);
    }
  } else if (!tp->sack_ok && ack == tp->snd_una && seg.len == 0 && !seg.has(tf::kFin) && wnd == tp->snd_wnd &&
             tp->snd_una != tp->snd_max) {
    dupack = true;
    cong_on_dupack(tp);  // no SACK: NewReno counts duplicate ACKs
  }
  // An ACK that newly SACKs never-retransmitted segments times them (Linux's sack_rtt_us).
  if (!ack_advanced && tp->sack_first_xmit_ns) {
    const int64_t ns = ns_since(tp, tp->sack_first_xmit_ns);
    rtt_sample(tp, Duration(ns));
    if (tp->cc->on_rtt) tp->cc->on_rtt(tp, static_cast<uint32_t>(std::min<int64_t>(ns / 1000, UINT32_MAX)), sh.now());
  }
  if (tp->sack_ok) try_undo(tp);
  if (tp->st.reord_ack) [[unlikely]] reord_account(tp);
  // RFC 3168's ECN-Echo: what this ACK delivered met congestion (TCP_INFO's tcpi_delivered_ce).
  if (seg.has(tf::kEce) && (tp->ecn_flags & kEcnOk)) tp->st.delivered_ce += tp->st.delivered - delivered_before;
  if (ack_advanced || tp->sacked_out > sacked_before) confirm_neighbour(tp);
  if (tp->sack_ok) rack_update_reo_wnd(tp, dsack);
  if (tp->tlp_pending && ack.ge(tp->tlp_end))
    tlp_process_ack(tp, ack, dsack,
                    !ack_advanced && tp->sacked_out == sacked_before && !seg.len && wnd == tp->snd_wnd);
  uint32_t newly_lost = 0;
  if (tp->sack_ok && tp->snd_una != tp->snd_max && (ack_advanced || tp->sacked_out != sacked_before ||
                                                    tp->lost_out)) {
    // RACK (RFC 8985 §6): deliveries move the clock; segments sent before them are lost after the
    // reordering window.
    newly_lost = rack_detect_loss(tp);
    if (newly_lost &&
        (tp->ca_state == TcpCa::Open || tp->ca_state == TcpCa::Disorder || tp->ca_state == TcpCa::Cwr))
      enter_recovery(tp);
  }
  if (in_cwnd_reduction(tp)) [[unlikely]] {
    // PRR's step (RFC 6937 §3): DeliveredData is what SND.UNA moved plus what the SACK scoreboard grew by
    // (bytes SACKed before and now acknowledged counted once); without SACK a duplicate ACK stands for
    // one segment delivered (as Linux's tcp_add_reno_sack).
    const int64_t delivered = (ack_advanced ? static_cast<int64_t>(ack - una_before) : 0) +
                             int64_t{tp->sacked_out} - sacked_before;
    const uint32_t d = dupack ? tp->mss : static_cast<uint32_t>(std::max<int64_t>(delivered, 0));
    prr_on_ack(tp, d, ack_advanced, newly_lost != 0);
  }
  // Window update (RFC 9293 §3.10.7.4): only from a segment at least as new as the last one used.
  if (tp->snd_wl1.lt(seg.seq) || (tp->snd_wl1 == seg.seq && tp->snd_wl2.le(ack))) {
    const bool opened = wnd > tp->snd_wnd;
    tp->snd_wnd = wnd;
    tp->snd_wl1 = seg.seq;
    tp->snd_wl2 = ack;
    tp->max_window = std::max(tp->max_window, wnd);
    if (opened && wnd > 0) {
      sh.timers.cancel(tp->persist_timer);
      tp->probes_out = 0;
      tp->backoff = 0;
    }
  }
  // The peer answers: no probe so far is unanswered (RFC 1122 §4.2.2.17: probe on while it does; Linux's
  // tcp_ack clears icsk_probes_out the same way), and a soft error (an ICMP message) is history: something
  // got through (Linux's tcp_ack clears sk_err_soft here).
  tp->probes_out = 0;
  if (Sock* sk = sk_of(tp); sk->err_soft && ack.ge(una_before)) [[unlikely]]
    sk->err_soft = 0;  // (not for an old ACK: Linux's tcp_ack leaves by old_ack first)
  return true;
}

// Out of order: keep the segment (sorted by sequence, trimmed against its neighbours, bounded), and
// index it: it extends a range, joins two, or opens one of its own (tcp_ooo.hh). Ranges it covers whole
// (a sender that repacketized its retransmission) give way to it, as in Linux's tcp_data_queue_ofo.
void queue_ooo(TcpSock* tp, Segment& seg, bool fin) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  OooIndex& rs = tp->ooo_ranges;
  SeqNum seq = seg.seq;
  uint32_t len = seg.len;
  // Ranges [0, i) start at or before the segment: i - 1 is its left neighbour, i its right one.
  const uint32_t i = rs.upper_bound(seq);
  if (i > 0) {
    OooRange& prev = rs[i - 1];
    if ((seq + len).le(prev.right)) {
      // Wholly covered: a D-SACK, and the block holding it comes next (RFC 2883 §4).
      sack_note_dup(tp, seq, seq + len);
      sack_note_ooo(tp, prev);
      return drop_seg(sh, seg, Drop::TcpDuplicate);
    }
    if (seq.lt(prev.right)) {
      const uint32_t cut = static_cast<uint32_t>(prev.right - seq);
      seg.payload.adj(cut);
      seq = prev.right;
      len -= cut;
    }
  }
  rte_mbuf* const after = i > 0 ? rs[i - 1].last : nullptr;  // the segment goes right after this one
  // Ranges the segment covers whole: their segments go (reported once as a duplicate).
  uint32_t j = i;
  while (j < rs.size() && (seq + len).ge(rs[j].right)) ++j;
  if (j > i) {
    sack_note_dup(tp, rs[i].left, rs[i].right);
    rte_mbuf* const last = rs[j - 1].last;
    for (bool more = true; more;) {
      Pktbuf old = tp->ooo_queue.remove_after(after);
      more = old.mbuf() != last;
      sk->rmem_alloc -= static_cast<int>(old.len());
      --sh.tcp.ooo_bufs;
    }
    rs.erase(i, j - i);
  }
  if (i < rs.size() && (seq + len).gt(rs[i].left)) {
    // The part from the next range on is held already.
    const uint32_t keep = static_cast<uint32_t>(rs[i].left - seq);
    if (keep == 0) {
      sack_note_ooo(tp, rs[i]);
      return drop_seg(sh, seg, Drop::TcpDuplicate);
    }
    seg.payload.truncate(keep);
    len = keep;
    fin = false;
  }
  // Bounded per connection and, across the shard, at half the packet pool.
  if (tp->ooo_queue.size() >= sh.cfg.tcp.ooo_max_segs || sh.tcp.ooo_bufs >= sh.cfg.pool_size / 2)
    return drop_seg(sh, seg, Drop::TcpOooFull);
  const bool join_prev = i > 0 && rs[i - 1].right == seq;
  const bool join_next = i < rs.size() && rs[i].left == seq + len;
  if (!join_prev && !join_next && !rs.insert(i, OooRange{seq, seq + len, nullptr, nullptr, 0}))
    return drop_seg(sh, seg, Drop::TcpNoMemory);
  PktMeta* m = seg.payload.meta();
  m->seq = seq.raw();
  m->flags = fin ? kMetaFin : 0;
  m->offset = 0;
  m->rx_time_ns = rx_stamp(tp);
  rte_mbuf* mb = seg.payload.mbuf();
  // The queue holds the ranges' segments in sequence order, so nothing lies between the left neighbour's
  // last segment and the right neighbour's first: link in there.
  tp->ooo_queue.insert_after(after, std::move(seg.payload));
  uint32_t k;  // the range that now holds the segment
  if (join_prev && join_next) {
    rs[i - 1].right = rs[i].right;  // the segment closes the gap between two ranges: they become one
    rs[i - 1].last = rs[i].last;
    rs.erase(i);
    k = i - 1;
  } else if (join_prev) {
    rs[i - 1].right = seq + len;
    rs[i - 1].last = mb;
    k = i - 1;
  } else if (join_next) {
    rs[i].left = seq;
    rs[i].first = mb;
    k = i;
  } else {
    rs[i].first = rs[i].last = mb;
    k = i;
  }
  sack_note_ooo(tp, rs[k]);
  sk->rmem_alloc += static_cast<int>(len);
  ++sh.tcp.ooo_bufs;
  ++sh.stats.tcp_ooo_segs;
  ++tp->st.rcv_ooopack;
}

void process_fin(TcpSock* tp);

// Moves now-contiguous out-of-order segments to the receive queue.
void drain_ooo(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  while (rte_mbuf* f = tp->ooo_queue.front()) {
    const SeqNum seq = seg_seq(f);
    if (seq.gt(tp->rcv_nxt)) break;
    Pktbuf p = tp->ooo_queue.pop();
    --sh.tcp.ooo_bufs;
    const uint32_t len = p.len();
    const bool fin = p.meta()->flags & kMetaFin;
    sk->rmem_alloc -= static_cast<int>(len);
    const SeqNum end = seq + len;
    if (end.le(tp->rcv_nxt)) {
      if (fin && end == tp->rcv_nxt) process_fin(tp);
      continue;  // already have it
    }
    const uint32_t cut = static_cast<uint32_t>(tp->rcv_nxt - seq);
    p.adj(cut);
    const uint32_t n = len - cut;
    sk->rmem_alloc += static_cast<int>(n);
    queue_in_order(tp, std::move(p));
    tp->rcv_nxt = end;
    tp->st.bytes_received += n;
    if (fin) process_fin(tp);
  }
  // A range is drained whole once its first segment is (its segments are contiguous).
  OooIndex& rs = tp->ooo_ranges;
  uint32_t gone = 0;
  while (gone < rs.size() && !rs[gone].left.gt(tp->rcv_nxt)) ++gone;
  if (gone) rs.erase(0, gone);
}

// RFC 9293 §3.10.7.4, eighth check: an in-order FIN.
void process_fin(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  if (tp->fin_received) return;
  tp->fin_received = true;
  tp->rcv_nxt = tp->rcv_nxt + 1;
  ++tp->st.bytes_received;  // (sequence space, as Linux's)
  sk->shutdown |= kRcvShutdown;
  switch (sk->state) {
    case sk_state::kSynRecv:
    case sk_state::kEstablished:
      set_state(tp, sk_state::kCloseWait);
      break;
    case sk_state::kFinWait1:
      if (tp->fin_sent && tp->snd_una.gt(tp->fin_seq)) {
        enter_time_wait(tp);
      } else {
        set_state(tp, sk_state::kClosing);
      }
      break;
    case sk_state::kFinWait2:
      enter_time_wait(tp);
      break;
    default:
      break;
  }
  sock_wake(sk, EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | (sk->shutdown == 3 ? uint32_t{EPOLLHUP} : 0u));
}

// RFC 9293 §3.10.7.4, seventh check: segment text (after trimming to the window). False if the connection
// was aborted (data for an orphan): it is freed, and the caller must not touch it any more.
bool process_data(TcpSock* tp, Segment& seg) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  bool fin = seg.has(tf::kFin);
  // RFC 3168 §6.1.3: data marked CE is echoed (ECE) on every ACK until the sender's CWR says its window
  // fell. The first CE of an episode and every CWR are ACKed at once (the sender's window may be small;
  // as Linux's tcp_ecn_check_ce and tcp_ecn_accept_cwr). A CWR segment itself marked CE starts a new echo.
  bool ecn_ack_now = false;
  if ((tp->ecn_flags & kEcnOk) && seg.len) {
    if (seg.has(tf::kCwr)) {
      tp->ecn_flags &= static_cast<uint8_t>(~kEcnDemandCwr);
      ecn_ack_now = true;
    }
    const uint8_t ecn = seg.rx->tos & kIpEcnMask;
    if (ecn) tp->ecn_flags |= kEcnSeen;
    if (ecn == kIpEcnCe) {
      ++sh.stats.tcp_ecn_ce_rcvd;
      if (!(tp->ecn_flags & kEcnDemandCwr)) {
        tp->ecn_flags |= kEcnDemandCwr;
        ecn_ack_now = true;
      }
    }
  }
  // Data beyond RCV.NXT for a connection the application closed, or one that shut its reading side and whose
  // writing side is shut as well (FIN-WAIT): nobody will read it, so the connection is reset (RFC 1122
  // §4.2.2.13), as Linux's tcp_rcv_state_process does: whatever our window holds (a zero-window probe too),
  // with the RST Linux's tcp_v4_send_reset answers a segment with (at its ACK number, so the peer takes it
  // at once), and the application still holding the socket reads ECONNRESET.
  if ((seg.len || fin) && (seg.seq + seg.len).gt(tp->rcv_nxt) &&
      (tp->orphan || ((sk->shutdown & kRcvShutdown) &&
                      (sk->state == sk_state::kFinWait1 || sk->state == sk_state::kFinWait2)))) {
    transmit(tp, seg.ack, tf::kRst, nullptr, 1);
    ++sh.stats.tcp_out_rsts;
    if (!tp->orphan) set_error(tp, ECONNRESET);
    done(tp);
    return false;
  }
  SeqNum seq = seg.seq;
  uint32_t len = seg.len;
  // Trim what we already have.
  if (seq.lt(tp->rcv_nxt)) {
    const uint32_t dup = static_cast<uint32_t>(tp->rcv_nxt - seq);
    if (dup >= len) {
      if (len) {
        ++sh.stats.tcp_dup_segs;
        sack_note_dup(tp, seq, seq + len);  // RFC 2883: tell the sender it sent this twice
      }
      seg.payload.reset();
      len = 0;
    } else {
      sack_note_dup(tp, seq, tp->rcv_nxt);  // RFC 2883: the part we had is reported too
      seg.payload.adj(dup);
      len -= dup;
    }
    seq = tp->rcv_nxt;
  }
  // Trim what lies beyond the window.
  const uint32_t wnd = tp->rcv_adv.gt(tp->rcv_nxt) ? static_cast<uint32_t>(tp->rcv_adv - tp->rcv_nxt) : 0;
  const uint32_t room = static_cast<uint32_t>((tp->rcv_nxt + wnd) - seq);
  if (len > room) {
    // (No room at all: our window is zero, and the segment was let in at RCV.NXT for its ACK, acceptable().)
    if (room == 0) sh.drops.add(Drop::TcpOutOfWindow);
    seg.payload.truncate(room);
    len = room;
    fin = false;
  }
  if (len == 0 && !fin) {
    // Nothing new (a duplicate or a zero-window probe): tell the peer where we are.
    if (seg.len || seg.has(tf::kFin)) send_ack(tp);
    return true;
  }
  if (seq == tp->rcv_nxt) {
    if (len && tp->ts_ok && seg.opt.has_timestamp && seg.opt.ts_ecr) {
      // Receiver-side RTT (for autotuning): data echoing the timestamp of our last ACK.
      const int64_t r = int64_t{ts_now(tp) - seg.opt.ts_ecr} * 1000;
      if (r >= 0 && r < 60'000'000) {
        const int64_t sample = std::max<int64_t>(r, 100);
        // 7/8 old + 1/8 new; both non-negative, so a shift (GCC turned the conditional into a division by
        // a variable 1 or 8 otherwise).
        tp->rcv_rtt_us = tp->rcv_rtt_us ? (7 * tp->rcv_rtt_us + sample) >> 3 : sample;
      }
    }
    if (len) {
      measure_rcv_mss(tp, seg);
      take_in_order(tp, std::move(seg.payload), len);
      if (len >= tp->rcv_mss) ++tp->segs_unacked;  // full-sized segments: ACK every second one
    }
    const bool had_gap = !tp->ooo_queue.empty();
    if (had_gap) drain_ooo(tp);
    if (fin) process_fin(tp);
    if (len) sock_wake(sk, EPOLLIN | EPOLLRDNORM);
    // The FIN that ends FIN-WAIT-2 (or FIN-WAIT-1 with our FIN acked) needs its ACK too (RFC 9293 §3.10.7.4).
    if (sk->state == sk_state::kTimeWait) {
      send_ack(tp);
      return true;
    }
    // Immediate ACK when a hole was (partly) filled (RFC 5681 §4.2), on FIN, or with a D-SACK to report
    // (the sender learns of its spurious retransmission at once); else delayed.
    if (had_gap || fin || tp->fin_received || tp->dsack_pending || ecn_ack_now) {
      send_ack(tp);
    } else {
      schedule_ack(tp);
    }
  } else if (!len) {
    // A bare FIN beyond RCV.NXT: no buffer to queue it in (found by fuzzing). The duplicate ACK asks
    // for the missing data; the peer sends its FIN again after it.
    send_ack(tp);
  } else {
    queue_ooo(tp, seg, fin);
    // An immediate duplicate ACK (RFC 5681 §4.2). With SACK, the out-of-order segments of one receive burst
    // are answered by one ACK when the burst is done (microseconds later), whose blocks tell the sender all
    // that one per segment would (its loss detection counts SACKed bytes, not duplicate ACKs); a peer
    // without SACK counts duplicate ACKs, so it gets one per segment.
    if (tp->sack_ok) {
      defer_ack(tp);
    } else {
      send_ack(tp);
    }
  }
  return true;
}

void to_established(TcpSock* tp) {
  // A Fast Open connection has had its window since its SYN (and may be in Loss since: its SYN-ACK timed out
  // with its answer in flight), as Linux's child gets it once, at creation.
  const bool fastopen = tp->fastopen_child;
  tp->fastopen_send_cookie = false;  // (a later simultaneous open's SYN-ACK is no listener's)
  set_state(tp, sk_state::kEstablished);
  if (!fastopen) {
    init_cwnd(tp);
    init_rcv_measures(tp);
  }
  // RFC 6298 §5.7: the handshake was retransmitted and gave no RTT sample: data starts with a 3 s RTO
  // (a passive open may still take its sample from the ACK's timestamp echo, which then replaces it).
  if (!tp->srtt_us && tp->total_retrans) {
    tp->rto_us = 3'000'000;
    tp->backoff = 0;
  }
  tp->quickack = 8;
  reset_keepalive(tp);
}

// Linux's sk_acceptq_is_full: more than the backlog waiting. listen(fd, N) queues N + 1 connections, and
// a backlog of 0 still takes one (Linux went back to `>` for that: "[NET]: Revert incorrect accept queue
// backlog changes", 64a146513f8f).
bool accept_queue_full(const InetConnectionSock& l) {
  return l.accept_len > l.max_backlog;
}

// A handshake's final ACK that is dropped for now (TCP_DEFER_ACCEPT, or a full accept queue): the peer
// counts as having acknowledged (Linux's inet_rsk(req)->acked) and the ACK times the SYN-ACK, when that was
// sent once (the segment that completes the handshake later may come seconds on).
void synrecv_ack_held(TcpSock* tp) {
  tp->defer_acked = true;
  if (tp->rtt_pending) {
    // The estimate only: the SYN-ACK's timer keeps its backed-off schedule until the handshake completes.
    const int64_t rto_us = tp->rto_us;
    const uint8_t backoff = tp->backoff;
    rtt_sample(tp, shard_of(tp).now() - tp->rtt_start);
    tp->rto_us = rto_us;
    tp->backoff = backoff;
    tp->rtt_pending = false;
  }
}

// A child joins its listener's accept queue (from SYN-RECEIVED: once through its handshake, or at once as a
// Fast Open connection).
void accept_enqueue(TcpSock* tp) {
  TcpSock* lp = tp->parent;
  InetConnectionSock& l = lp->icsk;
  tp->accept_next = nullptr;
  if (l.accept_tail) {
    l.accept_tail->accept_next = tp;
  } else {
    l.accept_head = tp;
  }
  l.accept_tail = tp;
  ++l.accept_len;
  sock_wake(sk_of(lp), EPOLLIN | EPOLLRDNORM);
}

// A child finished its handshake: it waits for accept() on its listener.
void child_established(TcpSock* tp) {
  to_established(tp);
  if (!tp->parent) return;
  --tp->parent->icsk.syn_len;
  accept_enqueue(tp);
}

// The SYN-ACK of our Fast Open SYN (RFC 7413 §4.1.3; Linux's tcp_rcv_fastopen_synack), SND.UNA moved to its
// ACK: the server's cookie and MSS are kept for the next connect to it; data of our SYN it did not
// acknowledge (it took only the SYN: no cookie or a wrong one, its Fast Open off or full, or only our
// retransmitted SYN reached it) is marked lost and goes again at once, without a congestion response.
void fastopen_synack(TcpSock* tp, const Segment& seg) {
  Shard& sh = shard_of(tp);
  const bool data = tp->snd_max.gt(tp->iss + 1);
  FastOpenEntry& e = sh.tcp.fastopen.get(inet_of(tp)->saddr, inet_of(tp)->daddr);
  if (seg.opt.mss) e.mss = *seg.opt.mss;
  if (seg.opt.fastopen_len > 0) {
    e.cookie_len = static_cast<uint8_t>(seg.opt.fastopen_len);
    std::memcpy(e.cookie, seg.opt.fastopen_cookie.data(), e.cookie_len);
    e.exp = seg.opt.fastopen_exp;
    e.try_exp = 0;
  } else if (!tp->retransmits && !tp->fastopen_cookie_len && !tp->fastopen_no_cookie && e.cookie_len == 0) {
    // We asked and got no cookie: ask in the other form next time (some servers know only the
    // experimental one; Linux's try_exp).
    e.try_exp = tp->fastopen_exp ? 2 : 1;
  }
  // SYNs with data that came back only through a retransmitted SYN, in a row: a path that drops them (§4.1.3.1).
  const bool syn_drop = data && tp->retransmits && seg.opt.fastopen_len <= 0 && seg.ack == tp->iss + 1;
  if (syn_drop) {
    if (e.syn_loss < 255) ++e.syn_loss;
    e.last_syn_loss = sh.now();
  } else {
    e.syn_loss = 0;
  }
  if (!data) return;
  clean_write_queue(tp, seg.ack, nullptr);  // what it acknowledged of our data
  if (tp->snd_una == tp->snd_max) {
    tp->syn_data_acked = true;
    ++sh.stats.tcp_fastopen_active;
    return;
  }
  ++sh.stats.tcp_fastopen_active_fail;
  tp->st.fastopen_client_fail = tp->total_retrans ? kTfoSynRetransmitted : kTfoDataNotAcked;
  tp->ca_state = TcpCa::Loss;
  tp->recover = tp->snd_max;
  if (tp->sack_ok) {
    sack_mark_all_lost(tp);
  } else {
    tp->snd_nxt = tp->snd_una;
    tp->send_head = tp->write_queue.front();
  }
}

void synsent_input(TcpSock* tp, Segment& seg) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  if (seg.has(tf::kAck) && (seg.ack.le(tp->iss) || seg.ack.gt(tp->snd_max))) {
    if (!seg.has(tf::kRst)) send_reset_for(sh, *seg.rx, inet_of(tp)->dport, inet_of(tp)->num, seg);
    return drop_seg(sh, seg, Drop::TcpBadAck);
  }
  if (seg.has(tf::kRst)) {
    if (!seg.has(tf::kAck)) return drop_seg(sh, seg, Drop::TcpBadFlags);
    ++sh.stats.tcp_attempt_fails;
    set_error(tp, ECONNREFUSED);
    return done(tp);
  }
  if (!seg.has(tf::kSyn)) return drop_seg(sh, seg, Drop::TcpBadFlags);
  tp->irs = seg.seq;
  tp->rcv_nxt = seg.seq + 1;
  tp->rcv_adv = tp->rcv_nxt;
  negotiate_syn_options(tp, seg.opt, true);
  set_mss(tp, seg.opt.mss.value_or(cfg_of(tp).mss_default));
  // RFC 3168 §6.1.1: our ECN-setup SYN was granted by an ECN-setup SYN-ACK (ECE without CWR).
  const bool ecn = (tp->ecn_flags & kEcnSynOffered) && seg.has(tf::kAck) && seg.has(tf::kEce) && !seg.has(tf::kCwr);
  tp->ecn_flags = ecn ? kEcnOk : 0;
  if (ecn) ++sh.stats.tcp_ecn_negotiated;
  if (seg.has(tf::kAck)) {
    // The SYN's round trip in µs when it went once (Karn), else from the echoed timestamp, as Linux's
    // tcp_clean_rtx_queue and tcp_ack_update_rtt; the µs one counts towards the minimum RTT too.
    if (tp->retransmits == 0 && !tp->syn_pmtu_resent) {
      const Duration rtt = sh.now() - tp->last_snd;
      rtt_sample(tp, rtt);
      min_rtt_update(tp, rtt.count() / 1000);
    } else if (tp->ts_ok && seg.opt.ts_ecr) {
      rtt_sample_tsecr(tp, seg.opt.ts_ecr);
    }
    // TCP_INFO: our SYN (and any of its data the SYN-ACK covers) is acknowledged; the SYN is delivered.
    tp->st.bytes_acked += static_cast<uint32_t>(seg.ack - tp->snd_una);
    ++tp->st.delivered;
    rto_episode_end(tp);
    tp->snd_una = seg.ack;
    tp->snd_wnd = seg.wnd;  // never scaled in a SYN
    tp->max_window = tp->snd_wnd;
    tp->snd_wl1 = seg.seq;
    tp->snd_wl2 = seg.ack;
    if (tp->syn_fastopen) [[unlikely]] {
      fastopen_synack(tp, seg);
      ack_stats_done(tp, seg.ack);  // the SYN's data: its busy time and delivery-rate round
    }
    tp->retransmits = 0;
    reset_rto(tp);
    to_established(tp);
    // A Fast Open server may answer in its SYN-ACK (RFC 7413 §4.2.2): what fits our buffer is taken. (A FIN
    // with it never gets here: SYN with FIN is dropped on arrival, TcpBadFlags; Linux servers send their
    // FIN after the SYN-ACK.)
    if (seg.len && tp->syn_fastopen && seg.len <= receive_space(tp)) [[unlikely]] {
      take_in_order(tp, std::move(seg.payload), seg.len);
      sock_wake(sk, EPOLLIN | EPOLLRDNORM);
    }
    // SYN data the server did not take goes again now, carrying the handshake's ACK (no bare ACK before it,
    // as Linux's tcp_rcv_fastopen_synack); a bare one only if nothing could go.
    if (tp->syn_fastopen && tp->ca_state == TcpCa::Loss) [[unlikely]] {
      tp->ack_pending = true;
      write_xmit(tp);
      if (!tp->ack_pending) {
        sock_wake(sk, EPOLLOUT | EPOLLWRNORM);
        return;
      }
    }
    send_ack(tp);
    sock_wake(sk, EPOLLOUT | EPOLLWRNORM);
    write_xmit(tp);
  } else {
    // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, answer with SYN-ACK.
    tp->snd_wnd = seg.wnd;
    tp->max_window = tp->snd_wnd;
    tp->snd_wl1 = seg.seq;
    set_state(tp, sk_state::kSynRecv);
    tp->simultaneous_open = true;
    send_syn(tp);
  }
}

void listen_input(Shard& sh, TcpSock* lp, Segment& seg, uint16_t sport, uint16_t dport);

constexpr int32_t kPawsWindow = 1;  // TSval ticks of slack for PAWS

void time_wait_input(Shard& sh, TcpSock* tp, Segment& seg, uint16_t sport, uint16_t dport) {
  if (seg.has(tf::kRst)) {
    ++sh.stats.tcp_tw_rst_ignored;  // RFC 1337: no TIME-WAIT assassination
    return drop_seg(sh, seg, Drop::TcpTimeWaitRst);
  }
  const bool ts = tp->ts_ok && seg.opt.has_timestamp;
  const bool newer_ts = ts && static_cast<int32_t>(seg.opt.ts_val - tp->ts_recent) > 0;
  // RFC 6191 / Linux's tcp_timewait_state_process: a SYN whose timestamp is older than the old connection's
  // last (beyond PAWS's one tick) is an old duplicate, whatever its sequence number.
  const bool paws_reject = ts && static_cast<int32_t>(tp->ts_recent - seg.opt.ts_val) > kPawsWindow;
  if (seg.has(tf::kSyn) && !seg.has(tf::kAck) && !paws_reject && (seg.seq.gt(tp->rcv_nxt) || newer_ts)) {
    // A new incarnation of the 4-tuple (RFC 1122 §4.2.2.13, RFC 6191): its sequence numbers (or its
    // timestamps) are beyond the old ones, so end TIME-WAIT and let the listener take it.
    if (InetSock* l = sh.tcp.listener(seg.rx->dst, dport)) {
      ++sh.stats.tcp_tw_recycled;
      // The new incarnation's ISN lies beyond anything the old one sent (RFC 1122 §4.2.2.13; Linux's
      // tcp_tw_isn, tw_snd_nxt + 65537), so its segments can be no old duplicate's.
      seg.tw_recycle = true;
      seg.tw_isn = tp->snd_max + 65537;
      done(tp);
      return listen_input(sh, tcp_sk(&l->sk), seg, sport, dport);
    }
  }
  if (seg.has(tf::kFin) || seg.has(tf::kSyn) || seg.len) {
    // A retransmitted FIN (our ACK was lost): ACK it again and restart the 2*MSL wait. A SYN's answer goes at
    // most once per 500 ms (Linux's tcp_timewait_check_oow_rate_limit): a flood of SYNs on the 4-tuple draws
    // no flood of ACKs (data and FINs, no ACK loop, are always answered).
    if (!seg.has(tf::kSyn) || !oow_rate_limited(tp)) send_ack(tp);
    if (seg.has(tf::kFin)) sh.timers.arm(tp->tw_timer, sh.now() + cfg_of(tp).time_wait);
  }
  seg.payload.reset();
}

// PAWS as specified rejects pure ACKs that the network reordered: a receiver's later ACK carried a newer
// TSval and became TS.Recent. A duplicate ACK that would change neither sequence numbers nor window, with
// a TSval within an RTO of TS.Recent, can be no old duplicate that does harm, and in recovery its SACK
// blocks are what drives the retransmissions: let it through (Linux's tcp_disordered_ack).
bool disordered_ack(TcpSock* tp, const Segment& seg) {
  if (!seg.has(tf::kAck) || seg.len || seg.has(tf::kSyn) || seg.has(tf::kFin)) return false;
  if (seg.seq != tp->rcv_nxt || seg.ack != tp->snd_una) return false;
  const uint32_t wnd = static_cast<uint32_t>(seg.wnd) << tp->snd_wscale;
  if (seg.seq.gt(tp->snd_wl1) || (seg.seq == tp->snd_wl1 && (wnd > tp->snd_wnd || wnd == 0))) return false;
  return tp->ts_recent - seg.opt.ts_val <= static_cast<uint32_t>(tp->rto_us / 1000);  // TSval ticks: ms
}

void rcv_established_and_later(TcpSock* tp, Segment& seg) {
  Shard& sh = shard_of(tp);
  Sock* sk = sk_of(tp);
  // PAWS (RFC 7323 §5.3 R1): an old timestamp means an old duplicate; ACK and drop (RST is exempt). A
  // TS.Recent idle for 24 days proves nothing any more (§5.5). One tick of slack (Linux's TCP_PAWS_WINDOW):
  // the peer's clock ticks every millisecond, so a segment the network reordered by less than that would
  // otherwise be thrown away with its data; a wrapped sequence number needs far more than a tick.
  const bool ts_recent_valid = sh.now() - tp->ts_recent_stamp < 24 * 24h;
  if (tp->ts_ok && seg.opt.has_timestamp && !seg.has(tf::kRst) &&
      static_cast<int32_t>(seg.opt.ts_val - tp->ts_recent) < -kPawsWindow && ts_recent_valid &&
      !disordered_ack(tp, seg)) {
    // A SYN is answered by the (rate-limited) challenge ACK whatever its sequence number or timestamp
    // (RFC 5961 §4.2), as Linux's tcp_validate_incoming does. An old segment with data or FIN is ACKed (the
    // sender learns where we are); an old bare ACK needs no answer (as Linux rate-limits those): ACKing
    // each reordered ACK only doubles the ACK traffic.
    if (seg.has(tf::kSyn)) {
      send_challenge_ack(tp);
    } else if (seg.len || seg.has(tf::kFin)) {
      send_ack(tp);
    }
    return drop_seg(sh, seg, Drop::TcpPaws);
  }
  // SYN-RECEIVED, a SYN at IRS (outside the window, so before the first check): without ACK the peer lost
  // our SYN-ACK and repeats its SYN: send the SYN-ACK again (as Linux). With the ACK of our SYN it is the
  // peer's SYN-ACK of a simultaneous open (RFC 9293 §3.5 figure 8, line 6): it completes the handshake, so
  // go on with it as the ACK it carries.
  if (seg.has(tf::kSyn) && (sk->state == sk_state::kSynRecv || tp->fastopen_child) && seg.seq == tp->irs) {
    if (!seg.has(tf::kAck)) {
      // A retransmission like the timer's (retransmit_head): Karn's rule stops the SYN-ACK's timing, or the
      // ACK would be taken as the answer to the first SYN-ACK (Linux's tcp_synack_rtt_meas takes no sample
      // once req->num_retrans is set; the timestamp echo still gives one). At most one per 500 ms, as
      // Linux's tcp_check_req (tcp_oow_rate_limited): a flood of repeated SYNs draws no flood of SYN-ACKs.
      if (!oow_rate_limited(tp)) retransmit_head(tp);
      seg.payload.reset();
      return;
    }
    if (!tp->parent && !tp->fastopen_child && seg.ack == tp->snd_max) {
      seg.flags &= static_cast<uint8_t>(~tf::kSyn);
      seg.seq = seg.seq + 1;
    }
  }
  // First: sequence acceptability (a RST at one of the other numbers rst_acceptable takes may lie outside
  // the window: Linux's tcp_validate_incoming resets there too).
  if (!acceptable(tp, seg) && !(seg.has(tf::kRst) && rst_acceptable(tp, seg.seq))) {
    // RFC 5961 §4.2: a SYN, "irrespective of the sequence number", gets a challenge ACK, which is
    // rate-limited: blind SYNs outside the window must not draw an unlimited stream of ACKs either.
    if (seg.has(tf::kSyn) && !seg.has(tf::kRst)) {
      send_challenge_ack(tp);
      return drop_seg(sh, seg, Drop::TcpOutOfWindow);
    }
    if (!seg.has(tf::kRst)) {
      // Data we had already (the sender retransmitted needlessly, or the network duplicated it): report it
      // as a D-SACK block (RFC 2883 §4.1), as Linux's tcp_send_dupack does.
      if (seg.len && seg.seq.lt(tp->rcv_nxt)) {
        const SeqNum end = seg.seq + seg.len;
        sack_note_dup(tp, seg.seq, end.lt(tp->rcv_nxt) ? end : tp->rcv_nxt);
      }
      // A segment that occupies sequence space (data, FIN) is always answered: its sender retransmits until
      // it learns where we are. A bare ACK is answered at most once per 500 ms (Linux's tcp_oow_rate_limited
      // in tcp_validate_incoming): two endpoints that disagree about the sequence space (one restarted, a
      // middlebox rewrote sequence numbers) would otherwise answer each other's ACKs with ACKs for ever.
      if (seg.seq_len() || !oow_rate_limited(tp)) send_ack(tp);
    }
    return drop_seg(sh, seg, Drop::TcpOutOfWindow);
  }
  // RFC 7323 §4.3 R3: remember the newest timestamp of a segment at or before what we last acknowledged
  // (any timestamp, once the old TS.Recent expired: §5.5).
  if (tp->ts_ok && seg.opt.has_timestamp && seg.seq.le(tp->last_ack_sent) &&
      (static_cast<int32_t>(seg.opt.ts_val - tp->ts_recent) >= 0 || !ts_recent_valid)) {
    tp->ts_recent = seg.opt.ts_val;
    tp->ts_recent_stamp = sh.now();
  }
  // Second: RST (RFC 5961 §3.2): only exactly at RCV.NXT; otherwise a challenge ACK.
  if (seg.has(tf::kRst)) {
    if (seg.seq != tp->rcv_nxt && !rst_acceptable(tp, seg.seq)) {
      send_challenge_ack(tp);
      return drop_seg(sh, seg, Drop::TcpRstNotExact);
    }
    ++sh.stats.tcp_in_rsts;
    if (embryonic(tp)) return done(tp);  // back to LISTEN: just forget it
    const uint8_t st = sk->state;
    set_error(tp, st == sk_state::kCloseWait ? EPIPE : ECONNRESET);
    if (st == sk_state::kEstablished || st == sk_state::kCloseWait) ++sh.stats.tcp_estab_resets;
    seg.payload.reset();
    return done(tp);
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
  if (seg.has(tf::kSyn)) {
    send_challenge_ack(tp);
    return drop_seg(sh, seg, Drop::TcpSynInWindow);
  }
  // Fifth: the ACK.
  if (!seg.has(tf::kAck)) return drop_seg(sh, seg, Drop::TcpNoAck);
  // (ESTABLISHED first: the per-segment path reads no flag. A Fast Open connection is never ESTABLISHED
  // with its SYN-ACK owed.)
  if (sk->state == sk_state::kSynRecv || (sk->state != sk_state::kEstablished && tp->fastopen_child)) {
    if (!seg.ack.gt(tp->snd_una) || seg.ack.gt(tp->snd_max)) {
      send_reset_for(sh, *seg.rx, inet_of(tp)->dport, inet_of(tp)->num, seg);
      return drop_seg(sh, seg, Drop::TcpBadAck);
    }
    if (embryonic(tp) && tp->retransmits < tp->parent->icsk.defer_accept && seg.seq == tp->irs + 1 &&
        seg.len == 0 && !seg.has(tf::kFin)) {
      // TCP_DEFER_ACCEPT (Linux's tcp_check_req): a bare ACK does not complete the handshake while the
      // listener defers; the connection waits in SYN-RECEIVED for the peer's first data (which completes it
      // with the data queued) or, at the end of the period, answers one more SYN-ACK (tcp_timer.cc).
      synrecv_ack_held(tp);
      return drop_seg(sh, seg, Drop::TcpDeferAccept);
    }
    if (embryonic(tp) && accept_queue_full(tp->parent->icsk)) {
      // The accept queue filled while this connection waited for its ACK: the ACK is dropped and the
      // connection stays in SYN-RECEIVED (Linux's tcp_check_req without tcp_abort_on_overflow). Its SYN-ACK
      // goes again on the timer, and the peer's next ACK (or data) completes it once accept() made room;
      // the queue never holds more than the backlog allows.
      ++sh.stats.tcp_listen_overflows;
      synrecv_ack_held(tp);
      return drop_seg(sh, seg, Drop::TcpAcceptQueueFull);
    }
    // The handshake's ACK was held back before: its RTT was sampled then, and the RTO comes from that; the
    // timestamp this segment echoes is still the SYN-ACK's, and would time the wait as a round trip.
    if (tp->defer_acked) {
      seg.opt.ts_ecr = 0;
      if (tp->srtt_us) rto_from_estimate(tp);
    }
    tp->snd_wnd = seg.wnd << tp->snd_wscale;
    tp->max_window = tp->snd_wnd;
    tp->snd_wl1 = seg.seq;
    tp->snd_wl2 = seg.ack;
    if (embryonic(tp)) {
      child_established(tp);
    } else if (sk->state == sk_state::kSynRecv) {
      // A simultaneous open completes, or a Fast Open connection (in the accept queue, or accepted, since
      // its SYN) is through its handshake.
      to_established(tp);
      sock_wake(sk, EPOLLOUT | EPOLLWRNORM);
    } else {
      // A Fast Open connection its application closed (or shut down) before this ACK: FIN-WAIT-1 goes on.
      fastopen_release(tp);
      tp->was_connected = true;
    }
  }
  if (!process_ack(tp, seg)) return drop_seg(sh, seg, Drop::TcpBadAck);
  // The peer was heard: only now, past the window, PAWS, RST/SYN and ACK checks, so that junk carrying the
  // 4-tuple (old duplicates, a blind attacker's segments) cannot hold off keepalive's dead-peer detection
  // (Linux's rcv_tstamp / lrcvtime, set by validated ACKs and data).
  tp->last_rcv = sh.now();
  // From here on a connection that is over may have been freed already (an orphan: done() frees it), so
  // after fin_acked and process_data nothing reads it unless they say it lives.
  if (tp->fin_sent && tp->snd_una.gt(tp->fin_seq) && fin_acked(tp)) {
    seg.payload.reset();
    return;  // LAST-ACK done: the connection is gone
  }
  // Sixth: URG. Urgent data is read inline (SO_OOBINLINE); the pointer itself needs no action.
  // Seventh and eighth: the text and the FIN.
  const uint8_t st = sk->state;
  if (st == sk_state::kEstablished || st == sk_state::kFinWait1 || st == sk_state::kFinWait2) {
    if (!process_data(tp, seg)) return;  // aborted (data for an orphan): gone
  } else if (seg.len || seg.has(tf::kFin)) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN came already; more data is a duplicate.
    send_ack(tp);
    seg.payload.reset();
  }
  if (sk->state == sk_state::kClose || sk->state == sk_state::kTimeWait) return;
  if (!tp->orphan) reset_keepalive(tp);
  write_xmit(tp);
}

// A child connection of listener `lp` for the peer of `seg` (a SYN, or a cookie-carrying ACK).
TcpSock* create_child(Shard& sh, TcpSock* lp, const Segment& seg, uint16_t sport, uint16_t dport) {
  Sock* csk = sh.socks.alloc_sock(tcp_prot);
  if (!csk) return nullptr;
  Sock* lsk = sk_of(lp);
  InetSock* li = inet_of(lp);
  csk->type = SOCK_STREAM;
  csk->protocol = IPPROTO_TCP;
  csk->keepalive = lsk->keepalive;
  csk->tstamp = lsk->tstamp;  // SO_TIMESTAMP(NS) carries over too (Linux's sk_clone copies the flags; measured)
  csk->linger_on = lsk->linger_on;
  csk->linger_secs = lsk->linger_secs;
  TcpSock* tp = tcp_sk(csk);
  tp->cc = lp->cc;
  init_sock(tp);
  tp->cc->init(tp);
  tp->st.segs_in = 1;  // the peer's SYN (or, with SYN cookies, its ACK), as Linux's child counts it
  // After init_sock (which sets the defaults): the listener's SO_RCVBUF/SO_SNDBUF carry over, as in Linux.
  csk->rcvbuf = lsk->rcvbuf;
  csk->sndbuf = lsk->sndbuf;
  csk->rcvlowat = lsk->rcvlowat;  // (Linux's child is a copy: SO_RCVLOWAT carries over)
  csk->userlocks |= lsk->userlocks & (kRcvbufLock | kSndbufLock);
  InetSock* ci = inet_of(tp);
  ci->rcv_saddr = ci->saddr = seg.rx->dst;
  ci->num = dport;
  ci->daddr = seg.rx->src;
  ci->dport = sport;
  ci->ttl = li->ttl;
  ci->tos = li->tos;
  ci->pmtudisc = li->pmtudisc;
  tp->nodelay = lp->nodelay;
  // The Fast Open client switches too (Linux's child is a copy of its listener's tcp_sock).
  tp->fastopen_connect = lp->fastopen_connect;
  tp->fastopen_no_cookie = lp->fastopen_no_cookie;
  tp->keepidle_ns = lp->keepidle_ns;
  tp->keepintvl_ns = lp->keepintvl_ns;
  tp->keepcnt = lp->keepcnt;
  tp->user_timeout_ms = lp->user_timeout_ms;
  tp->notsent_lowat = lp->notsent_lowat;
  tp->notsent_lim = lp->notsent_lim;
  tp->syn_retries = lp->syn_retries;  // the listener's TCP_SYNCNT bounds the SYN-ACK's retries (as Linux)
  tp->window_clamped = lp->window_clamped;
  tp->window_clamp = lp->window_clamp;
  tp->user_mss = lp->user_mss;
  if (auto rt = sh.routes.lookup(ci->daddr))
    if (ShardPort* sp = sh.port_for(rt->iface)) init_path_mtu(tp, sp->ifc->mtu);
  tp->rcv_wscale = choose_rcv_wscale(tp);
  tp->ts_offset = ts_offset_for(ci->saddr, ci->daddr);
  tp->parent = lp;
  return tp;
}

// ---- SYN cookies (RFC 4987 §3.6) -------------------------------------------------------------------
// ISN = t (5 bits, 64 s periods) | MSS index (3 bits) | 24 bits of a keyed hash over the 4-tuple, the
// peer's ISN and t. With timestamps, our TSval's low 6 bits carry the window scale (4 bits, 15 = none),
// SACK-permitted (1 bit) and ECN (1 bit), so a cookie connection keeps them.

constexpr uint16_t kCookieMss[8] = {536, 1220, 1300, 1360, 1400, 1440, 1460, 8960};

uint32_t cookie_hash(Shard& sh, const Ipv4Rx& rx, uint16_t sport, uint16_t dport, uint32_t peer_isn, uint32_t t) {
  (void)sh;
  struct {
    uint32_t s, d, isn, t;
    uint16_t sp, dp;
  } key{rx.src.host(), rx.dst.host(), peer_isn, t, sport, dport};
  return static_cast<uint32_t>(siphash24(process_secret(), &key, sizeof key)) & 0xffffff;
}

uint32_t cookie_period(Shard& sh) { return static_cast<uint32_t>(sh.now().ns() / 64'000'000'000ull) & 0x1f; }

// How long after the last overflow of a listener's SYN queue an ACK may still carry a cookie: the most a
// cookie lives (two periods), as Linux's TCP_SYNCOOKIE_VALID.
constexpr Duration kCookieValid = 120s;

// RFC 3168 §6.1.1: a SYN asking for ECN (ECE and CWR) that we grant: ECN is on (any tcp_ecn but 0), and
// the SYN itself is not ECN-capable (a SYN marked ECT or CE came through something that rewrites the
// field; Linux refuses those too).
bool ecn_setup_syn(Shard& sh, const Segment& seg) {
  return sh.cfg.tcp.ecn != 0 && seg.has(tf::kEce) && seg.has(tf::kCwr) && !(seg.rx->tos & kIpEcnMask);
}

void send_cookie_synack(Shard& sh, TcpSock* lp, const Segment& seg, uint16_t sport, uint16_t dport) {
  const uint16_t peer_mss = seg.opt.mss.value_or(sh.cfg.tcp.mss_default);
  uint32_t mi = 0;
  for (uint32_t i = 0; i < 8; ++i)
    if (kCookieMss[i] <= peer_mss) mi = i;
  const uint32_t t = cookie_period(sh);
  const uint32_t isn = (t << 27) | (mi << 24) | cookie_hash(sh, *seg.rx, sport, dport, seg.seq.raw(), t);
  wire::TcpOptions o;
  uint16_t advmss = 1460;
  if (auto rt = sh.routes.lookup(seg.rx->src))
    if (ShardPort* sp = sh.port_for(rt->iface)) advmss = static_cast<uint16_t>(sp->ifc->mtu - 40);
  o.mss = advmss;
  // Window scaling and SACK only with timestamps: the cookie carries them in our TSval's low bits, so
  // without a timestamp the connection cannot know them later, and offering them anyway would leave the
  // peer scaling our window fields (and we not scaling its own) for the whole connection. Linux clears
  // the options the same way (tcp_conn_request, want_cookie without saw_tstamp).
  if (seg.opt.wscale && seg.opt.has_timestamp) o.wscale = choose_rcv_wscale(lp);
  o.sack_permitted = seg.opt.sack_permitted && seg.opt.has_timestamp;
  // ECN too, in the sixth bit (as Linux's TS_OPT_ECN).
  const bool ecn = seg.opt.has_timestamp && ecn_setup_syn(sh, seg);
  if (seg.opt.has_timestamp) {
    o.has_timestamp = true;
    const uint32_t enc = (seg.opt.wscale ? std::min<uint8_t>(*seg.opt.wscale, 14) : 0xf) |
                         (seg.opt.sack_permitted ? 0x10u : 0u) | (ecn ? 0x20u : 0u);
    // Our clock towards this peer (the connection will go on with it), its low 6 bits replaced by the
    // options; never ahead of the clock, or the connection's first TSvals would look old (PAWS).
    const uint32_t now_ts = static_cast<uint32_t>(sh.now_ms()) + ts_offset_for(seg.rx->dst, seg.rx->src);
    o.ts_val = (now_ts & ~0x3fu) | enc;
    if (static_cast<int32_t>(o.ts_val - now_ts) > 0) o.ts_val -= 0x40;
    o.ts_ecr = seg.opt.ts_val;
  }
  send_bare(sh, *seg.rx, dport, sport, SeqNum(isn), seg.seq + 1,
            static_cast<uint8_t>(tf::kSyn | tf::kAck | (ecn ? tf::kEce : 0)),
            static_cast<uint16_t>(std::min<uint32_t>(receive_space(lp), 65535)), &o);
  ++sh.stats.tcp_syncookies_sent;
  lp->icsk.synq_overflow = sh.now();  // cookie_ack takes cookies from now on (Linux's tcp_synq_overflow)
}

// An ACK reached a listener: if it carries a valid, fresh cookie, the connection is born established.
bool cookie_ack(Shard& sh, TcpSock* lp, Segment& seg, uint16_t sport, uint16_t dport) {
  if (!sh.cfg.tcp.syncookies || seg.has(tf::kSyn) || seg.has(tf::kRst)) return false;
  // Only while cookies may be out: within their lifetime after the SYN queue last overflowed (Linux's
  // cookie_v4_check gives up on tcp_synq_no_recent_overflow). Otherwise any ACK to a listener would be a
  // guess at a 24-bit hash: a blind attacker could open connections (from addresses it does not own) by
  // brute force without the listener ever having been under a SYN flood.
  InetConnectionSock& l = lp->icsk;
  if (!l.synq_overflow.ns() || sh.now() - l.synq_overflow > kCookieValid) return false;
  const uint32_t cookie = seg.ack.raw() - 1;
  const uint32_t t = cookie >> 27;
  if (((cookie_period(sh) - t) & 0x1f) > 1) {
    ++sh.stats.tcp_syncookies_failed;  // stale: older than two periods (64..128 s)
    return false;
  }
  if ((cookie & 0xffffff) != cookie_hash(sh, *seg.rx, sport, dport, seg.seq.raw() - 1, t)) {
    ++sh.stats.tcp_syncookies_failed;  // forged
    return false;
  }
  if (accept_queue_full(l)) {
    ++sh.stats.tcp_listen_overflows;
    drop_seg(sh, seg, Drop::TcpAcceptQueueFull);
    return true;
  }
  TcpSock* tp = create_child(sh, lp, seg, sport, dport);
  if (!tp) {
    drop_seg(sh, seg, Drop::TcpNoMemory);
    return true;
  }
  tp->irs = seg.seq - 1;
  tp->iss = SeqNum(cookie);
  tp->rcv_nxt = seg.seq;
  tp->rcv_adv = tp->rcv_nxt + std::min<uint32_t>(receive_space(lp), 65535);
  tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_sml = seg.ack;
  tp->st.delivered = 1;  // our (stateless) SYN-ACK, which this ACK acknowledges
  tp->recover = tp->iss;
  wire::TcpOptions peer;
  peer.mss = kCookieMss[(cookie >> 24) & 7];
  if (seg.opt.has_timestamp) {
    const uint32_t enc = seg.opt.ts_ecr & 0x3f;
    if ((enc & 0xf) != 0xf) peer.wscale = static_cast<uint8_t>(enc & 0xf);
    peer.sack_permitted = enc & 0x10;
    peer.has_timestamp = true;
    peer.ts_val = seg.opt.ts_val;
    if ((enc & 0x20) && sh.cfg.tcp.ecn) {
      tp->ecn_flags = kEcnOk;
      ++sh.stats.tcp_ecn_negotiated;
    }
  }
  negotiate_syn_options(tp, peer, false);
  if (!peer.wscale) tp->rcv_wscale = 0;
  set_mss(tp, *peer.mss);
  tp->snd_wnd = seg.wnd << tp->snd_wscale;
  tp->max_window = tp->snd_wnd;
  tp->snd_wl1 = seg.seq;
  tp->snd_wl2 = seg.ack;
  ++l.syn_len;  // child_established moves it from the SYN count to the accept queue
  set_state(tp, sk_state::kSynRecv);
  sh.tcp.add(tp);
  note_foreign_child(tp);
  ++sh.stats.tcp_passive_opens;
  ++sh.stats.tcp_syncookies_recv;
  child_established(tp);
  // The ACK may carry data (and a FIN): run it through the established path.
  tp->last_rcv = sh.now();
  ++tp->st.segs_in;  // (the ACK: Linux's child counts it on top of the 1 it starts with)
  if (seg.len) ++tp->st.data_segs_in;
  rcv_established_and_later(tp, seg);
  return true;
}

// ---- TCP Fast Open, server (RFC 7413) --------------------------------------------------------------
// A SYN to listener `lp`: true if it opens a Fast Open connection (it carries our cookie for its source, and
// the listener takes Fast Open and has room: Linux's tcp_try_fastopen); `send_cookie`: the SYN-ACK gives the
// client our cookie, which goes to `cookie` (it asked for one, offered a wrong one, §4.2.2, or one of the
// backup key: Linux's tcp_fastopen_cookie_gen_check). A SYN with data but no cookie, or any SYN while the
// listener is at its TCP_FASTOPEN limit, gets a plain handshake; but a listener with TCP_FASTOPEN_NO_COOKIE
// takes any SYN with data or with the option, and gives no cookie (Linux's TFO_SERVER_COOKIE_NOT_REQD).
bool fastopen_check(Shard& sh, TcpSock* lp, const Segment& seg, bool& send_cookie, uint8_t* cookie) {
  const InetConnectionSock& l = lp->icsk;
  const int8_t len = seg.opt.fastopen_len;
  if (len < 0 && !(seg.len && lp->fastopen_no_cookie)) return false;
  if (len == 0) ++sh.stats.tcp_fastopen_cookie_reqd;
  if (!l.fastopen_max || !sh.cfg.tcp.fastopen) return false;
  if (l.fastopen_len >= l.fastopen_max) {
    ++sh.stats.tcp_fastopen_listen_overflow;
    return false;
  }
  if (lp->fastopen_no_cookie) return true;
  const FastOpenKeys& keys = fastopen_keys_of(sh, lp);
  fastopen_cookie(keys.key[0], seg.rx->src, seg.rx->dst, cookie);
  if (len == kFastOpenCookieLen) {
    if (std::memcmp(cookie, seg.opt.fastopen_cookie.data(), kFastOpenCookieLen) == 0) return true;
    uint8_t old[kFastOpenCookieLen];
    for (unsigned i = 1; i < keys.count; ++i) {
      fastopen_cookie(keys.key[i], seg.rx->src, seg.rx->dst, old);
      if (std::memcmp(old, seg.opt.fastopen_cookie.data(), kFastOpenCookieLen) == 0) {
        ++sh.stats.tcp_fastopen_passive_altkey;  // taken; the client learns the primary key's cookie
        send_cookie = true;
        return true;
      }
    }
  }
  if (len) ++sh.stats.tcp_fastopen_passive_fail;
  send_cookie = true;
  return false;
}

// A Fast Open connection, born in SYN-RECEIVED: the SYN's data is the application's to read and the SYN-ACK
// acknowledges it; the connection waits in the accept queue at once, and may write before the peer's ACK
// of the SYN-ACK (RFC 7413 §4.2.2; Linux's tcp_fastopen_create_child).
void fastopen_open(Shard& sh, TcpSock* lp, TcpSock* tp, Segment& seg) {
  tp->fastopen_child = true;
  tp->fastopen_listener = lp;
  ++lp->icsk.fastopen_len;
  ++sh.stats.tcp_fastopen_passive;
  init_cwnd(tp);
  if (seg.len) {
    tp->syn_data_acked = true;
    ++tp->st.data_segs_in;  // (Linux's tcp_fastopen_add_skb counts the SYN as a data segment)
    take_in_order(tp, std::move(seg.payload), seg.len);
    tp->rcv_adv = tp->rcv_nxt;
  }
  accept_enqueue(tp);
}

void listen_input(Shard& sh, TcpSock* lp, Segment& seg, uint16_t sport, uint16_t dport) {
  if (seg.has(tf::kRst)) return drop_seg(sh, seg, Drop::TcpListenRst);
  if (seg.has(tf::kAck)) {
    if (cookie_ack(sh, lp, seg, sport, dport)) return;
    send_reset_for(sh, *seg.rx, sport, dport, seg);
    return drop_seg(sh, seg, Drop::TcpNoSocket);
  }
  if (!seg.has(tf::kSyn)) return drop_seg(sh, seg, Drop::TcpBadFlags);
  InetConnectionSock& l = lp->icsk;
  if (accept_queue_full(l)) {
    ++sh.stats.tcp_listen_overflows;
    return drop_seg(sh, seg, Drop::TcpAcceptQueueFull);
  }
  if (l.syn_len >= std::max<uint32_t>(l.max_backlog, 16)) {
    if (sh.cfg.tcp.syncookies) {
      // RFC 4987: the SYN queue is full; answer statelessly and let a valid ACK create the connection.
      send_cookie_synack(sh, lp, seg, sport, dport);
      seg.payload.reset();
      return;
    }
    ++sh.stats.tcp_listen_drops;
    return drop_seg(sh, seg, Drop::TcpSynQueueFull);
  }
  bool send_cookie = false;
  uint8_t cookie[kFastOpenCookieLen];
  const bool fastopen = fastopen_check(sh, lp, seg, send_cookie, cookie);
  TcpSock* tp = create_child(sh, lp, seg, sport, dport);
  if (!tp) return drop_seg(sh, seg, Drop::TcpNoMemory);
  tp->irs = seg.seq;
  tp->rcv_nxt = seg.seq + 1;
  tp->rcv_adv = tp->rcv_nxt;
  tp->iss = seg.tw_recycle ? seg.tw_isn : new_isn(sh, inet_of(tp)->rcv_saddr, dport, inet_of(tp)->daddr, sport);
  tp->snd_una = tp->snd_sml = tp->iss;
  tp->snd_nxt = tp->snd_max = tp->iss + 1;
  tp->recover = tp->iss;
  tp->snd_wnd = seg.wnd;
  tp->max_window = seg.wnd;
  tp->snd_wl1 = seg.seq;
  tp->snd_wl2 = tp->iss;
  negotiate_syn_options(tp, seg.opt, false);
  set_mss(tp, seg.opt.mss.value_or(sh.cfg.tcp.mss_default));
  if (ecn_setup_syn(sh, seg)) {
    tp->ecn_flags = kEcnOk;  // the SYN-ACK says so (ECE)
    ++sh.stats.tcp_ecn_negotiated;
  }
  set_state(tp, sk_state::kSynRecv);
  sh.tcp.add(tp);
  note_foreign_child(tp);
  ++sh.stats.tcp_passive_opens;
  tp->fastopen_send_cookie = send_cookie;
  tp->fastopen_exp = send_cookie && seg.opt.fastopen_exp;
  if (send_cookie) std::memcpy(tp->fastopen_cookie, cookie, kFastOpenCookieLen);
  if (fastopen) {
    fastopen_open(sh, lp, tp, seg);
  } else {
    ++l.syn_len;
  }
  send_syn(tp);
  if (fastopen) init_rcv_measures(tp);  // (with the SYN-ACK's window, as Linux's child has its request's)
  // Time the SYN-ACK: its ACK is the connection's first RTT sample (process_ack), unless the SYN-ACK had
  // to be sent again (Karn: retransmit_head stops the timing; timestamps still give a sample then).
  tp->rtt_pending = true;
  tp->rtt_seq = tp->iss + 1;
  tp->rtt_start = sh.now();
  arm_rto(tp);
  seg.payload.reset();  // data on a SYN is not taken without Fast Open (the peer sends it again once established)
}

}  // namespace

void defer_ack(TcpSock* tp) {
  TcpTable& t = shard_of(tp).tcp;
  if (tp->ack_deferred) return;
  if (t.n_deferred_acks == TcpTable::kDeferredAcks) return send_ack(tp);
  t.deferred_acks[t.n_deferred_acks++] = tp;
  tp->ack_deferred = true;
}

void forget_deferred_ack(TcpSock* tp) {
  // Whatever the flag says: an ACK sent since (which clears it) leaves the slot in place.
  TcpTable& t = shard_of(tp).tcp;
  for (unsigned i = 0; i < t.n_deferred_acks; ++i)
    if (t.deferred_acks[i] == tp) t.deferred_acks[i] = nullptr;
  tp->ack_deferred = false;
}

void ooo_purge(TcpSock* tp) {
  shard_of(tp).tcp.ooo_bufs -= tp->ooo_queue.purge();
  tp->ooo_ranges.clear();
}

}  // namespace tcp

void tcp_flush_deferred_acks(Shard& sh) {
  TcpTable& t = sh.tcp;
  for (unsigned i = 0; i < t.n_deferred_acks; ++i) {
    TcpSock* tp = t.deferred_acks[i];
    if (!tp || !tp->ack_deferred) continue;  // freed, or an ACK went out since
    const uint8_t st = sk_of(tp)->state;
    tp->ack_deferred = false;
    if (st != sk_state::kClose && st != sk_state::kListen && st != sk_state::kSynSent) tcp::send_ack(tp);
  }
  t.n_deferred_acks = 0;
}

void tcp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx) {
  ++sh.stats.tcp_in_segs;
  if (rx.ip_bcast || rx.link_bcast) return sh.drop(std::move(p), Drop::TcpBroadcast);
  auto th = TcpView::checked(p.first_seg(), p.len());
  if (!th) {
    return sh.drop(std::move(p), th.err == wire::WireError::BadHeaderLen ? Drop::TcpBadHeaderLen : Drop::TcpTruncated);
  }
  const uint32_t seglen = p.len();
  switch (p.rx_l4_csum()) {
    case RxCsum::Good: break;
    case RxCsum::Bad: return sh.drop(std::move(p), Drop::TcpBadChecksum);
    default: {
      const uint64_t ph = wire::pseudo_header_sum(rx.src, rx.dst, tcp::kProtoTcp, static_cast<uint16_t>(seglen));
      if (!wire::csum_ok(p.csum_partial(0, seglen, ph))) return sh.drop(std::move(p), Drop::TcpBadChecksum);
    }
  }
  Segment seg;
  if (wire::TcpOptions::parse_into(th->options(), seg.opt) != wire::WireError::Ok) {
    return sh.drop(std::move(p), Drop::TcpBadOption);
  }
  const uint8_t flags = th->flags();
  if ((flags & tf::kSyn) && (flags & (tf::kFin | tf::kRst))) return sh.drop(std::move(p), Drop::TcpBadFlags);
  seg.seq = th->seq();
  seg.ack = th->ack();
  seg.flags = flags;
  seg.wnd = th->window();
  seg.urg = th->urgent_ptr();
  seg.rx = &rx;
  const size_t hl = th->header_len();
  seg.len = seglen - static_cast<uint32_t>(hl);
  // A zero urgent pointer is refused (URGENT/11's underflow). One past this segment's data is legal (RFC 9293
  // §3.10.7.4: the urgent data may end in a later segment): Linux, after MSG_OOB, sets URG with such a pointer
  // (up to 0xffff) on every segment it sends before the urgent byte, bare ACKs included.
  if ((flags & tf::kUrg) && seg.urg == 0) return sh.drop(std::move(p), Drop::TcpBadUrgent);
  const uint16_t sport = th->src_port(), dport = th->dst_port();
  TcpSock* tp = sh.tcp.lookup(rx.dst, dport, rx.src, sport);
  if (!tp && sh.nshards > 1) {
    // A 4-tuple this shard lent to another shard's connect(): its segments are that connection's, whatever
    // listens here on the port.
    const TcpTable::Lent* ln = sh.tcp.lent(rx.dst, dport, rx.src, sport);
    if (ln && ipv4_forward_to_shard(sh, p, rx, ln->shard)) {
      ++sh.stats.tcp_lent_forwards;
      return;
    }
  }
  InetSock* l = tp ? nullptr : sh.tcp.listener(rx.dst, dport);
  // Several shards: a port bound (or listened on) only by another shard is served there.
  if (!tp && !l && sh.nshards > 1 && ipv4_forward_to_port_home(sh, p, rx, PortDirectory::kTcp, dport)) return;
  if (seg.len) {
    p.adj(static_cast<uint16_t>(hl));
    seg.payload = std::move(p);
  } else {
    p.reset();
  }
  if (tp && tp->lend_pending) {
    // Its SYN has not left: nothing can be for it (the 4-tuple may turn out to be another shard's).
    return tcp::drop_seg(sh, seg, Drop::TcpTupleUnconfirmed);
  }
  if (tp) {
    // (A SYN again at a child in SYN-RECEIVED is, in Linux, its request socket's: not counted.)
    if (!(flags & tf::kSyn) || sk_of(tp)->state != sk_state::kSynRecv) [[likely]] {
      ++tp->st.segs_in;
      if (seg.len) ++tp->st.data_segs_in;
    }
    switch (sk_of(tp)->state) {
      case sk_state::kSynSent:
        tp->last_rcv = sh.now();
        return tcp::synsent_input(tp, seg);
      case sk_state::kTimeWait: return tcp::time_wait_input(sh, tp, seg, sport, dport);
      default: return tcp::rcv_established_and_later(tp, seg);
    }
  }
  if (l) return tcp::listen_input(sh, tcp_sk(&l->sk), seg, sport, dport);
  ++sh.stats.tcp_no_port;
  tcp::send_reset_for(sh, rx, sport, dport, seg);
  sh.drops.add(Drop::TcpNoSocket);
}

}  // namespace skiff
