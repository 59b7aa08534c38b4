// TCP timers on the shard's wheel: retransmission (RFC 6298), delayed ACK, persist (zero window),
// keepalive (RFC 1122 §4.2.3.6) and TIME-WAIT.

#include <cerrno>

#include "tcp/tcp_impl.hh"

namespace skiff::tcp {

namespace tf = wire::tcp_flag;

namespace {

Duration us(int64_t v) { return std::chrono::microseconds(v); }

int64_t keep_idle_ns(TcpSock* tp) {
  return tp->keepidle_ns ? tp->keepidle_ns : std::chrono::nanoseconds(cfg_of(tp).keepalive_idle).count();
}
int64_t keep_intvl_ns(TcpSock* tp) {
  return tp->keepintvl_ns ? tp->keepintvl_ns : std::chrono::nanoseconds(cfg_of(tp).keepalive_intvl).count();
}
unsigned keep_cnt(TcpSock* tp) { return tp->keepcnt ? tp->keepcnt : cfg_of(tp).keepalive_probes; }

// A probe the peer must answer with an ACK (window or liveness): an old sequence number, no data.
void send_probe(TcpSock* tp) { transmit(tp, tp->snd_una - 1, tf::kAck, nullptr); }

bool user_timeout_passed(TcpSock* tp, Instant now, Instant since) {
  return tp->user_timeout_ms && now - since >= std::chrono::milliseconds(tp->user_timeout_ms);
}

// TCP_USER_TIMEOUT: the timer never sleeps past the moment the user timeout ends (Linux's
// tcp_clamp_rto_to_user_timeout), so the connection aborts at the timeout and not at the next backed-off
// expiry after it.
Duration clamp_to_user_timeout(TcpSock* tp, Instant now, Instant since, Duration wait) {
  if (!tp->user_timeout_ms) return wait;
  const Duration left = (since + std::chrono::milliseconds(tp->user_timeout_ms)) - now;
  return std::clamp<Duration>(left, 1ms, wait);
}

// When the oldest unacknowledged data (or SYN, or FIN) first went out: TCP_USER_TIMEOUT counts from there
// (Linux's retrans_stamp). The head's send time, unless something retransmitted it already (then the timer
// was last armed at that retransmission: one RTO ago).
Instant first_sent(TcpSock* tp, Instant now) {
  rte_mbuf* m = tp->write_queue.front();
  if (m && m != tp->send_head && !(pkt_meta(m)->flags & kMetaEverRetrans) && pkt_meta(m)->rx_time_ns)
    return Instant::from_ns(pkt_meta(m)->rx_time_ns);
  return now - us(tp->rto_us);
}

void abort_timeout(TcpSock* tp) {
  ++shard_of(tp).stats.tcp_timeouts;
  // Linux's tcp_write_err: the last ICMP message that told why (EHOSTUNREACH, ...), else ETIMEDOUT.
  Sock* sk = sk_of(tp);
  set_error(tp, sk->err_soft ? std::exchange(sk->err_soft, 0) : ETIMEDOUT);
  done(tp);
}

// RFC 8985 §7.3: the tail loss probe. New data if there is some (and the window takes it), else the
// last segment sent again; either way the peer's ACK (with SACK) reveals what is missing.
void send_tlp(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  if (tp->send_head && (seg_seq(tp->send_head) + seg_len(tp->send_head)).le(tp->snd_una + tp->snd_wnd)) {
    ++sh.stats.tcp_tlp_probes;
    tp->tlp_sent = true;
    tp->tlp_pending = true;
    const uint32_t saved = tp->cwnd;
    tp->cwnd = std::max(tp->cwnd, sack_pipe(tp) + seg_len(tp->send_head));  // one segment beyond cwnd
    write_xmit(tp, true);
    tp->cwnd = saved;
    tp->tlp_is_retrans = false;
    tp->tlp_end = tp->snd_nxt;
    return;
  }
  rte_mbuf* last = nullptr;
  for (rte_mbuf* m = tp->write_queue.front(); m && m != tp->send_head; m = tp->write_queue.next(m)) last = m;
  // No probe beyond the peer's window (it shrank under the flight; as Linux's __tcp_retransmit_skb refuses
  // it): the RTO follows, and its retransmission of the head probes the window.
  if (last && !seg_seq(last).lt(tp->snd_una + tp->snd_wnd) && seg_seq(last) != tp->snd_una) return;
  ++sh.stats.tcp_tlp_probes;
  tp->tlp_sent = true;
  tp->tlp_pending = true;
  tp->tlp_is_retrans = true;
  tp->tlp_end = tp->snd_nxt;
  if (!last) return retransmit_head(tp);
  // The probe is the last segment sent; one queued before the path MTU fell is cut, its last piece sent.
  while (seg_len(last) > tp->mss && fit_to_mss(tp, last)) last = tp->write_queue.next(last);
  if (seg_len(last) > tp->mss) return;  // no buffer to cut it with
  const SeqNum seq = seg_seq(last);
  const bool fin = tp->fin_sent && tp->fin_seq == seq + seg_len(last);
  if (transmit(tp, seq, tf::kAck | (fin ? tf::kFin : 0), last) == 0) {
    pkt_meta(last)->flags |= kMetaEverRetrans;
    pkt_meta(last)->rx_time_ns = sh.now().ns();
    // Counted towards an undo still armed (as Linux's tcp_retransmit_skb): the probe's own D-SACK then
    // cancels only itself, not what an earlier episode's real loss left.
    undo_note_retrans(tp);
    ++tp->total_retrans;
    ++sh.stats.tcp_retrans_segs;
  }
}

// Starts (or restarts) the retransmission timer to expire at `due`. It is lazy, as the delayed-ACK timer:
// stopping it (all data acknowledged) leaves the wheel entry armed, and a restart leaves an entry that
// fires earlier in place (on_rto then waits out the rest). A request/response connection, whose every
// request starts the timer and every response stops it, so costs no wheel operation per transaction (it
// cost an arm and a cancel on each side).
void rto_start(TcpSock* tp, Instant due) {
  tp->rto_due = due;
  if (!tp->rto_timer.armed() || tp->rto_timer.deadline() > due) shard_of(tp).timers.arm(tp->rto_timer, due);
}

// A Fast Open connection's SYN-ACK timed out with its answer (data, or a FIN) in flight: a peer still in
// SYN-SENT dropped that too. Loss state, and what was sent goes again once the ACK of the SYN-ACK opens the
// connection (rcv_established_and_later's write_xmit), not an RTO later.
void fastopen_answer_lost(TcpSock* tp, Instant now) {
  tp->cc->on_loss(tp, now);
  tp->ssthresh = tp->cc->ssthresh(tp, loss_base(tp));
  tp->cc->init(tp);  // the algorithm starts over, as on any entry to Loss (see on_rto)
  tp->ca_state = TcpCa::Loss;
  tp->cwnd = tp->mss;
  tp->recover = tp->snd_max;
  if (tp->sack_ok && tp->write_queue.front()) {
    sack_mark_all_lost(tp);
  } else {
    tp->snd_nxt = tp->iss + 1;
    tp->send_head = tp->write_queue.front();
  }
}

// A timeout into a zero window (Linux's tcp_rtx_probe0_timed_out): with TCP_USER_TIMEOUT, once the episode
// lasted longer; otherwise once nothing was heard for twice rto_max and the episode lasted as long.
static bool zero_window_timed_out(TcpSock* tp, Instant now) {
  const Duration episode = now - tp->retrans_start;
  Duration limit = 2 * cfg_of(tp).rto_max;
  if (tp->user_timeout_ms) {
    const Duration user = std::chrono::milliseconds(tp->user_timeout_ms);
    if (episode > user) return true;
    limit = std::min(limit, user);
  }
  return now - tp->last_rcv > limit && episode > limit;
}

// The retransmission timer ran out (its due time reached): true if that ended the connection (an orphan
// is freed then).
bool rto_expired(TcpSock* tp, Instant now) {
  Shard& sh = shard_of(tp);
  tp->rto_due.reset();
  const TcpConfig& cfg = sh.cfg.tcp;
  const uint8_t st = sk_of(tp)->state;
  if (tp->tlp_armed) {
    tp->tlp_armed = false;
    // RFC 8985 §7.2: no probe once loss recovery runs (enter_recovery re-arms the real RTO; this is a
    // belt and braces check).
    if (tp->snd_una != tp->snd_max && (tp->ca_state == TcpCa::Open || tp->ca_state == TcpCa::Cwr)) send_tlp(tp);
    rto_start(tp, now + us(tp->rto_us));  // the real RTO follows the probe
    return false;
  }
  // TCP_DEFER_ACCEPT (Linux's syn_ack_recalc): a child whose bare ACK was held back is not given up for
  // want of an ACK until the deferral is over, and gets no SYN-ACK until its last timeout, which sends one
  // to ask the peer for its ACK once more (that ACK then completes the handshake).
  const unsigned defer = embryonic(tp) ? tp->parent->icsk.defer_accept : 0;
  bool resend = true;
  bool zero_wnd = false;
  // The handshake's timer: SYN, SYN-ACK, or the SYN-ACK of a Fast Open connection its application closed
  // before the peer's ACK (FIN-WAIT-1).
  const bool handshake = st == sk_state::kSynSent || st == sk_state::kSynRecv || tp->fastopen_child;
  // A listener's child answers to the SYN-ACK retries (and the deferral) alone: TCP_USER_TIMEOUT, which
  // it inherits, counts once it is established (Linux's request sockets, and its Fast Open children's
  // SYN-ACK timer, have no user timeout).
  const bool child = (st == sk_state::kSynRecv && tp->parent) || tp->fastopen_child;
  if (handshake) {
    // A Fast Open child gets one retry more than a plain handshake (Linux's tcp_fastopen_synack_timer: its
    // peer has sent data already).
    const unsigned limit = tp->syn_retries                ? tp->syn_retries
                           : st == sk_state::kSynSent     ? cfg.syn_retries
                           : tp->fastopen_child           ? cfg.synack_retries + 1
                                                          : cfg.synack_retries;
    if (tp->retransmits == 0) tp->retrans_start = first_sent(tp, now);
    bool expire = tp->retransmits >= limit + (st == sk_state::kSynSent && tp->syn_pmtu_resent);
    if (defer) {
      expire = expire && (!tp->defer_acked || tp->retransmits >= defer);
      resend = !tp->defer_acked || tp->retransmits + 1u >= defer;
    }
    if (expire || (!child && user_timeout_passed(tp, now, tp->retrans_start))) {
      if (st == sk_state::kSynSent) ++sh.stats.tcp_attempt_fails;
      abort_timeout(tp);
      return true;
    }
  } else {
    if (tp->snd_una == tp->snd_max) return false;  // nothing outstanding
    tp->tlp_pending = false;  // the RTO's reduction covers whatever a probe repaired
    // The peer shrank its window to zero under data in flight (RFC 1122 §4.2.2.16-17; RFC 9293 §3.8.6.2.2):
    // the retransmissions are its window probes, and a peer that answers them keeps the connection, as
    // Linux's tcp_retransmit_timer: only an orphan runs out of retries; otherwise it ends once nothing was
    // heard for twice the longest RTO and the head has been retransmitted as long (TCP_USER_TIMEOUT, when
    // set, still bounds the episode).
    zero_wnd = !tp->snd_wnd && !tp->orphan;
    if (tp->retransmits == 0) {
      tp->retrans_start = first_sent(tp, now);
      // RFC 5681 §3.1 (4): a lower ssthresh, once per loss episode (the algorithm says how much); not again
      // within the window an ECN-Echo reduced (Linux's tcp_enter_loss).
      if (tp->ca_state != TcpCa::Recovery && tp->ca_state != TcpCa::Cwr) {
        undo_init(tp);
        tp->cc->on_loss(tp, now);
        tp->ssthresh = tp->cc->ssthresh(tp, loss_base(tp));
      }
    }
    const bool expired = zero_wnd ? zero_window_timed_out(tp, now)
                                  : tp->retransmits - tp->zero_wnd_rtos >= cfg.retries ||
                                        user_timeout_passed(tp, now, tp->retrans_start);
    if (expired) {
      abort_timeout(tp);
      return true;
    }
    tp->cwnd = tp->mss;  // loss window (§3.1 (5))
    tp->ca_state = TcpCa::Loss;
    // The algorithm starts over (RFC 9438 §4.8: CUBIC's first epoch after a timeout has K = 0 and the window
    // it starts from as W_max; Linux's cubictcp_state resets on entering Loss). An undo restores the state
    // from before the episode (undo_init kept it).
    tp->cc->init(tp);
    ecn_queue_cwr(tp);
    tp->dupacks = 0;
    tp->recover = tp->snd_max;  // RFC 6582 §3.2 (4): no fast recovery for what was outstanding
    if (tp->sack_ok) {
      // RFC 6675 §5.1: keep the SACK scoreboard; everything not SACKed is presumed lost and resent.
      sack_mark_all_lost(tp);
      // A FIN alone (all data acknowledged) is on no scoreboard: rewind to it so write_xmit sends it again.
      if (!tp->write_queue.front() && tp->fin_sent && tp->snd_una == tp->fin_seq) tp->snd_nxt = tp->snd_una;
    } else {
      // Go back N: everything after snd_una is resent as the window reopens.
      tp->snd_nxt = tp->snd_una;
      tp->send_head = tp->write_queue.front();
    }
  }
  // TCP_INFO (Linux's tcp_update_rto_stats): a timeout, the first of an episode when nothing was resent yet.
  if (tp->retransmits == 0) {
    ++tp->st.total_rto_recoveries;
    tp->st.rto_stamp = now;
  }
  ++tp->st.total_rto;
  ++tp->retransmits;
  if (zero_wnd) ++tp->zero_wnd_rtos;  // (not counted against tcp_retries2 once the window opens)
  tp->backoff = static_cast<uint8_t>(std::min(tp->backoff + 1, 30));
  tp->rto_us = std::min<int64_t>(tp->rto_us * 2, std::chrono::duration_cast<std::chrono::microseconds>(cfg.rto_max).count());
  ++sh.stats.tcp_rto_expired;
  if (handshake) {
    if (resend) retransmit_head(tp);
    // A Fast Open connection's answer that left after the lost SYN-ACK was lost with it (a peer in SYN-SENT
    // drops it): it goes again as soon as the ACK comes (Linux's tcp_fastopen_synack_timer enters Loss).
    if (tp->fastopen_child && tp->snd_max != tp->iss + 1 && tp->ca_state != TcpCa::Loss) fastopen_answer_lost(tp, now);
  } else {
    write_xmit(tp, true);  // (each segment it resends counts in total_retrans, as Linux's tcp_retransmit_skb)
    if (!tp->sack_ok) resend_head_into_window(tp);  // (SACK's resends ignore the window)
  }
  rto_start(tp, now + (child ? us(tp->rto_us) : clamp_to_user_timeout(tp, now, tp->retrans_start, us(tp->rto_us))));
  return false;
}

void on_rto(void* ctx, Timer* t, Instant now) {
  auto* tp = static_cast<TcpSock*>(ctx);
  if (!tp->rto_due) return;                                                    // stopped since armed
  if (now < *tp->rto_due) return shard_of(tp).timers.arm(*t, *tp->rto_due);  // restarted later since
  rto_expired(tp, now);
}

void on_delack(void* ctx, Timer* t, Instant now) {
  auto* tp = static_cast<TcpSock*>(ctx);
  if (!tp->ack_pending) return;  // the ACK rode on data or left on its own since the timer was armed
  // The timer stays armed across ACKs (see schedule_ack): an ACK pending for less than the delay waits
  // out the rest of it.
  const Instant due = tp->ack_pending_since + cfg_of(tp).delack_min;
  if (now < due) return shard_of(tp).timers.arm(*t, due);
  send_ack(tp);
}

// The persist timer (Linux's probe0 timer): data or a FIN waits and nothing is in flight, so no ACK will
// come to send it. It sends what the peer's window takes (a segment the SWS rule or TCP_CORK held), else a
// zero-window probe.
void on_persist(void* ctx, Timer*, Instant now) {
  auto* tp = static_cast<TcpSock*>(ctx);
  Shard& sh = shard_of(tp);
  // A FIN that write_xmit holds because the peer's window has no room for it (Linux's tcp_snd_wnd_test).
  const bool fin_waits = !tp->send_head && tp->fin_queued && !tp->fin_sent;
  if ((!tp->send_head && !fin_waits) || tp->snd_una != tp->snd_max) {
    tp->probes_out = 0;  // data is in flight (the RTO covers it), or nothing is left to send
    write_xmit(tp);
    return;
  }
  if (fin_waits ? tp->snd_nxt.lt(tp->snd_una + tp->snd_wnd) : write_wakeup(tp)) {
    // The window has room, if less than the segment (sender SWS avoidance held it): what fits went out;
    // the RTO covers it from here. (A FIN the window takes now goes with write_xmit.)
    tp->probes_out = 0;
    write_xmit(tp);
    return;
  }
  // RFC 1122 §4.2.2.17: keep probing as long as the peer answers. probes_out counts unanswered probes (any
  // acceptable ACK clears it) and ends the connection after `retries`; the interval backs off regardless
  // (backoff, as Linux's icsk_backoff); TCP_USER_TIMEOUT runs from the first probe.
  if (tp->backoff == 0) tp->retrans_start = now;
  const int64_t max_us = std::chrono::duration_cast<std::chrono::microseconds>(sh.cfg.tcp.rto_max).count();
  // An orphan (closed, maybe holding its FIN behind the window) is not kept for ever by a peer that answers
  // but never opens its window: once the interval reached rto_max, it gives up after kOrphanProbes probes
  // (Linux's tcp_probe_timer with tcp_orphan_retries 0, which means 8).
  constexpr uint8_t kOrphanProbes = 8;
  const bool alive = (tp->rto_us << std::min<int>(tp->backoff, 20)) < max_us;
  if (tp->orphan && !alive && tp->backoff >= kOrphanProbes) return abort_timeout(tp);
  if (tp->probes_out >= sh.cfg.tcp.retries || user_timeout_passed(tp, now, tp->retrans_start)) return abort_timeout(tp);
  send_probe(tp);
  ++sh.stats.tcp_window_probes;
  ++tp->probes_out;
  tp->backoff = static_cast<uint8_t>(std::min(tp->backoff + 1, 30));
  const int64_t wait = std::min<int64_t>(tp->rto_us << std::min<int>(tp->backoff, 20), max_us);
  sh.timers.arm(tp->persist_timer, now + clamp_to_user_timeout(tp, now, tp->retrans_start, us(wait)));
}

// The states in which keepalive probes a silent peer (as Linux's tcp_keepalive_timer): a synchronized
// connection that may still hear from it, the half-closed ones included (CLOSE-WAIT, and FIN-WAIT-2 while
// the application holds the socket: an orphan's FIN-WAIT-2 ends by its own timer). In FIN-WAIT-1, CLOSING
// and LAST-ACK our FIN is in flight and the retransmission timer watches the peer.
static bool keepalive_state(TcpSock* tp) {
  const uint8_t st = sk_of(tp)->state;
  return st == sk_state::kEstablished || st == sk_state::kCloseWait || (st == sk_state::kFinWait2 && !tp->orphan);
}

void on_keepalive(void* ctx, Timer*, Instant now) {
  auto* tp = static_cast<TcpSock*>(ctx);
  Sock* sk = sk_of(tp);
  Shard& sh = shard_of(tp);
  if (!sk->keepalive || !keepalive_state(tp)) return;
  // Data in flight or waiting: the retransmission or persist timer watches the peer; look again after an
  // idle period (Linux's tcp_keepalive_timer).
  if (tp->snd_una != tp->snd_max || tp->send_head) {
    sh.timers.arm(tp->keepalive_timer, now + Duration(keep_idle_ns(tp)));
    return;
  }
  const Duration idle = now - tp->last_rcv;
  if (idle < Duration(keep_idle_ns(tp))) {
    sh.timers.arm(tp->keepalive_timer, tp->last_rcv + Duration(keep_idle_ns(tp)));
    return;
  }
  // TCP_USER_TIMEOUT, when set, decides instead of TCP_KEEPCNT (as Linux).
  if (tp->user_timeout_ms ? idle >= std::chrono::milliseconds(tp->user_timeout_ms) && tp->probes_out > 0
                          : tp->probes_out >= keep_cnt(tp)) {
    send_rst(tp);
    return abort_timeout(tp);
  }
  send_probe(tp);
  ++sh.stats.tcp_keepalive_probes;
  ++tp->probes_out;
  sh.timers.arm(tp->keepalive_timer, now + Duration(keep_intvl_ns(tp)));
}

void on_time_wait(void* ctx, Timer*, Instant) { done(static_cast<TcpSock*>(ctx)); }

}  // namespace

void init_timers(TcpSock* tp) {
  auto set = [tp](Timer& t, Timer::Fn fn) {
    t.fn = fn;
    t.ctx = tp;
  };
  set(tp->rto_timer, &on_rto);
  set(tp->delack_timer, &on_delack);
  set(tp->persist_timer, &on_persist);
  set(tp->keepalive_timer, &on_keepalive);
  set(tp->tw_timer, &on_time_wait);
  init_sack_timer(tp);
}

void cancel_timers(TcpSock* tp) {
  TimerWheel& w = shard_of(tp).timers;
  tp->rto_due.reset();
  w.cancel(tp->rto_timer);
  w.cancel(tp->delack_timer);
  w.cancel(tp->persist_timer);
  w.cancel(tp->keepalive_timer);
  w.cancel(tp->tw_timer);
  w.cancel(tp->reo_timer);
}

namespace {
// RFC 8985 §7.2: in the open state (or CWR, as Linux) with SACK, the first timer is a tail loss probe (once per episode).
void arm_rto_at_now(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  const uint8_t st = sk_of(tp)->state;
  const bool tlp = tp->sack_ok && (tp->ca_state == TcpCa::Open || tp->ca_state == TcpCa::Cwr) && !tp->tlp_sent &&
                   tp->srtt_us &&
                   (st == sk_state::kEstablished || st == sk_state::kCloseWait);
  tp->tlp_armed = tlp;
  rto_start(tp, sh.now() + (tlp ? tlp_pto(tp) : us(tp->rto_us)));
}
}  // namespace

void arm_rto(TcpSock* tp) {
  if (!tp->rto_due) arm_rto_at_now(tp);
}

void sack_reneging_check(TcpSock* tp) {
  rte_mbuf* head = tp->write_queue.front();
  if (!head || head == tp->send_head || !(pkt_meta(head)->flags & kMetaSacked)) return;
  // The peer acknowledged up to data it had SACKed and kept back the rest: it may have discarded it. The
  // timeout that clears the marks (sack_mark_all_lost) comes after half an RTT, at least 10 ms, in case an
  // ACK reordered on the way explains it (Linux's tcp_check_sack_reneging).
  tp->tlp_armed = false;
  rto_start(tp, shard_of(tp).now() + std::chrono::microseconds(std::max<int64_t>(tp->srtt_us / 2, 10'000)));
}

void reset_rto(TcpSock* tp) {
  if (tp->snd_una == tp->snd_max) {
    tp->rto_due.reset();  // RFC 6298 §5.2: all data acknowledged (the wheel entry stays: see rto_start)
    tp->tlp_armed = false;
  } else {
    arm_rto_at_now(tp);  // §5.3
  }
}

void schedule_ack(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  if (!tp->ack_pending) {
    tp->ack_pending = true;
    tp->ack_pending_since = sh.now();
  }
  // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: ACK at least every second full segment, and at once while
  // the connection starts (quick ACKs let the peer's slow start open).
  if (tp->quickack > 0) {
    --tp->quickack;
    return send_ack(tp);
  }
  // "At least every second full-sized segment or 2*RMSS bytes of new data" (RFC 9293 §3.8.6.3, RMSS = the
  // MSS we announced): small segments add up too.
  // Within a receive burst the ACK is deferred to the burst's end (Shard::flush): one ACK for all the burst
  // brought, as a Linux receiver acknowledges what GRO merged (a bulk receiver over memif went from one
  // ACK per 2 segments to one per ~20; the sender's goodput rose by a fifth).
  if (tp->segs_unacked >= 2 || static_cast<uint32_t>(tp->rcv_nxt - tp->last_ack_sent) >= 2u * tp->advmss)
    return defer_ack(tp);
  // Sending an ACK leaves this timer armed; it fires at most once per delay and then finds nothing to do
  // or waits out the rest of the delay (on_delack). A request/response connection, whose every request's
  // ACK rides on the response, so costs no timer operation per transaction (it cost an arm and a cancel).
  if (!tp->delack_timer.armed()) sh.timers.arm(tp->delack_timer, sh.now() + cfg_of(tp).delack_min);
}

void arm_persist(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  if (tp->persist_timer.armed() || tp->rto_due) return;
  // A new zero-window episode: the first probe after one RTO (rto_us already holds any RTO backoff).
  tp->backoff = 0;
  sh.timers.arm(tp->persist_timer, sh.now() + us(tp->rto_us));
}

void reset_keepalive(TcpSock* tp) {
  Sock* sk = sk_of(tp);
  Shard& sh = shard_of(tp);
  tp->probes_out = tp->persist_timer.armed() ? tp->probes_out : 0;
  if (!sk->keepalive || !keepalive_state(tp)) {
    sh.timers.cancel(tp->keepalive_timer);
    return;
  }
  if (!tp->keepalive_timer.armed()) sh.timers.arm(tp->keepalive_timer, sh.now() + Duration(keep_idle_ns(tp)));
}

namespace {
int64_t usecs(Duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

// The RTO the RTT estimate gives (RFC 6298 §2), before any backoff: the initial one without a sample.
int64_t rto_estimate_us(TcpSock* tp) {
  const TcpConfig& cfg = cfg_of(tp);
  if (!tp->srtt_us) return usecs(cfg.rto_initial);
  return std::clamp<int64_t>(tp->srtt_us + std::max<int64_t>(1000, 4 * tp->rttvar_us), usecs(cfg.rto_min),
                             usecs(cfg.rto_max));
}
}  // namespace

void rto_from_estimate(TcpSock* tp) {
  tp->rto_us = rto_estimate_us(tp);
  tp->backoff = 0;
}

void rtt_sample(TcpSock* tp, Duration rtt) {
  int64_t r = std::max<int64_t>(1, usecs(rtt));
  // RFC 6298 §2.2-2.3 (alpha 1/8, beta 1/4).
  if (tp->srtt_us == 0) {
    tp->srtt_us = r;
    tp->rttvar_us = r / 2;
  } else {
    const int64_t err = tp->srtt_us > r ? tp->srtt_us - r : r - tp->srtt_us;
    tp->rttvar_us = (3 * tp->rttvar_us + err) / 4;
    tp->srtt_us = (7 * tp->srtt_us + r) / 8;
  }
  tp->rto_us = rto_estimate_us(tp);
  tp->backoff = 0;
}

bool rtt_sample_tsecr(TcpSock* tp, uint32_t ts_ecr) {
  const uint32_t ticks = ts_now(tp) - ts_ecr;
  if (ticks >= static_cast<uint32_t>(INT32_MAX) / 1000) return false;  // from the future (or ancient): no sample
  rtt_sample(tp, std::chrono::milliseconds(std::max<uint32_t>(ticks, 1)));
  return true;
}

void min_rtt_update(TcpSock* tp, int64_t us) {
  constexpr Duration kWindow = 300s;
  us = std::max<int64_t>(us, 1);
  const Instant now = shard_of(tp).now();
  if (!tp->min_rtt_us || us <= tp->min_rtt_us || now - tp->min_rtt_stamp > kWindow) {
    tp->min_rtt_us = us;
    tp->min_rtt_stamp = now;
  }
}

// RFC 6069 (Linux's tcp_ld_RTO_revert): an ICMP net or host unreachable quoting SND.UNA while the timer is
// backed off says the path is down, not congested, so the retransmission it answers takes back one doubling
// of the RTO: the connection keeps probing at the rate it had, and recovers soon after the path does (not up
// to two minutes later). The timer then runs from the head's last transmission; if that time has passed,
// the retransmission goes now.
bool rto_revert(TcpSock* tp, SeqNum seq) {
  Shard& sh = shard_of(tp);
  rte_mbuf* head = tp->write_queue.front();
  if (seq != tp->snd_una || !tp->retransmits || !tp->backoff || !tp->rto_due || tp->tlp_armed) return false;
  // The outstanding head's last transmission: a segment's, or a FIN's sent on its own (all data acknowledged).
  int64_t last_sent_ns;
  if (head && head != tp->send_head && pkt_meta(head)->rx_time_ns) {
    last_sent_ns = pkt_meta(head)->rx_time_ns;
  } else if (!head && tp->fin_sent && tp->snd_una == tp->fin_seq && tp->fin_xmit_ns) {
    last_sent_ns = tp->fin_xmit_ns;
  } else {
    return false;  // nothing of ours to time
  }
  --tp->backoff;
  tp->rto_us = std::min<int64_t>(rto_estimate_us(tp) << std::min<int>(tp->backoff, 20), usecs(cfg_of(tp).rto_max));
  ++sh.stats.tcp_rto_reverts;
  const Instant now = sh.now();
  const Instant due = Instant::from_ns(last_sent_ns) + us(tp->rto_us);
  if (due <= now) return rto_expired(tp, now);
  rto_start(tp, now + clamp_to_user_timeout(tp, now, tp->retrans_start, due - now));  // as on_rto arms it
  return false;
}

}  // namespace skiff::tcp
