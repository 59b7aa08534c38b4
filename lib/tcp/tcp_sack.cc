// SACK (RFC 2018) with D-SACK (RFC 2883) both ways, the sender's scoreboard and pipe (RFC 6675), and
// RACK-TLP loss detection (RFC 8985).

#include <algorithm>

#include "tcp/tcp_impl.hh"

namespace skiff::tcp {

namespace tf = wire::tcp_flag;

namespace {

inline PktMeta* meta(rte_mbuf* m) { return pkt_meta(m); }
inline bool has(rte_mbuf* m, uint8_t f) { return meta(m)->flags & f; }

void on_reo_timer(void* ctx, Timer*, Instant) {
  auto* tp = static_cast<TcpSock*>(ctx);
  if (rack_detect_loss(tp) && (tp->ca_state == TcpCa::Open || tp->ca_state == TcpCa::Cwr)) {
    enter_recovery(tp);
    // No ACK brings PRR its first step: take one as if a segment had been delivered (Linux's
    // tcp_rack_reo_timeout), which lets the first retransmission go.
    prr_on_ack(tp, tp->mss, false, true);
  }
  write_xmit(tp);
}

}  // namespace

void init_sack_timer(TcpSock* tp) {
  tp->reo_timer.fn = &on_reo_timer;
  tp->reo_timer.ctx = tp;
}

// ---- Receiver -----------------------------------------------------------------------------------

void sack_note_dup(TcpSock* tp, SeqNum l, SeqNum r) {
  if (!tp->sack_ok || !l.lt(r)) return;
  tp->dsack_pending = true;
  tp->dsack_l = l;
  tp->dsack_r = r;
}

size_t sack_fill(TcpSock* tp, wire::SackBlock* out, size_t max) {
  size_t n = 0;
  if (!tp->sack_ok || max == 0) return 0;
  if (tp->dsack_pending) {
    out[n++] = {tp->dsack_l, tp->dsack_r};  // RFC 2883: the duplicate goes first, once
    tp->dsack_pending = false;
  }
  // The `max - n` most recent ranges of the out-of-order index, newest first: one pass over the ranges.
  constexpr size_t kMax = 4;
  struct Range {
    wire::SackBlock b;
    uint64_t stamp;
  };
  Range top[kMax];
  size_t nt = 0;
  const size_t want = std::min(max - n, kMax);
  for (uint32_t k = 0; k < tp->ooo_ranges.size() && want; ++k) {
    const OooRange& o = tp->ooo_ranges[k];
    size_t i;
    if (nt < want) {
      i = nt++;
    } else if (top[want - 1].stamp < o.stamp) {
      i = want - 1;  // replaces the oldest kept
    } else {
      continue;
    }
    for (; i > 0 && top[i - 1].stamp < o.stamp; --i) top[i] = top[i - 1];
    top[i] = {{o.left, o.right}, o.stamp};
  }
  for (size_t i = 0; i < nt; ++i) out[n++] = top[i].b;
  return n;
}

// ---- Sender -------------------------------------------------------------------------------------

namespace {

// The last segment of the remembered run that starts at `m` (all of it SACKed), or `m` itself.
inline rte_mbuf* run_last(TcpSock* tp, rte_mbuf* m) {
  for (uint8_t k = 0; k < tp->num_sack_runs; ++k)
    if (tp->sack_runs[k].first == m) return tp->sack_runs[k].last;
  return m;
}

// The runs of consecutive SACKed segments a walk meets, keeping the longest few.
struct SackRunSet {
  TcpSock::SackRun top[TcpSock::kSackRuns];
  uint8_t n = 0;
  TcpSock::SackRun cur{};
  bool open = false;

  void offer(const TcpSock::SackRun& r) {
    uint8_t k;
    if (n < TcpSock::kSackRuns) {
      k = n++;
    } else if (top[n - 1].bytes < r.bytes) {
      k = static_cast<uint8_t>(n - 1);
    } else {
      return;
    }
    for (; k > 0 && top[k - 1].bytes < r.bytes; --k) top[k] = top[k - 1];
    top[k] = r;
  }
  void close() {
    if (open && cur.first != cur.last) offer(cur);  // a single segment is not worth a jump
    open = false;
  }
  // SACKed segments first..last (a remembered run, or one segment) follow what was met before.
  void extend(TcpSock* tp, rte_mbuf* first, rte_mbuf* last) {
    const uint32_t bytes = static_cast<uint32_t>((seg_seq(last) + seg_len(last)) - seg_seq(first));
    if (open && tp->write_queue.next(cur.last) == first) {
      cur.last = last;
      cur.bytes += bytes;
      return;
    }
    close();
    cur = {first, last, bytes};
    open = true;
  }
  void store(TcpSock* tp) {
    for (uint8_t k = 0; k < n; ++k) tp->sack_runs[k] = top[k];
    tp->num_sack_runs = n;
  }
};

}  // namespace

rte_mbuf* sack_walk_next(TcpSock* tp, rte_mbuf* m) { return tp->write_queue.next(run_last(tp, m)); }

void sack_runs_free(TcpSock* tp, rte_mbuf* m) {
  for (uint8_t k = 0; k < tp->num_sack_runs;) {
    TcpSock::SackRun& r = tp->sack_runs[k];
    if (r.first == m && r.last != m) {
      r.bytes -= std::min(r.bytes, seg_len(m));
      r.first = tp->write_queue.next(m);
    } else if (r.first == m || r.last == m) {
      r = tp->sack_runs[--tp->num_sack_runs];  // (the last cannot go before the first: the run is gone)
      continue;
    }
    ++k;
  }
}

uint32_t sack_pipe(TcpSock* tp) {
  const int64_t p = int64_t{flight_size(tp)} - tp->sacked_out - tp->lost_out + tp->retrans_out;
  return p > 0 ? static_cast<uint32_t>(p) : 0;
}

void sack_forget(TcpSock* tp, rte_mbuf* m, uint32_t bytes) {
  const uint8_t f = meta(m)->flags;
  if (f & kMetaSacked) tp->sacked_out -= std::min(tp->sacked_out, bytes);
  if (f & kMetaLost) tp->lost_out -= std::min(tp->lost_out, bytes);
  if (f & kMetaRetrans) tp->retrans_out -= std::min(tp->retrans_out, bytes);
}

void rack_delivered(TcpSock* tp, rte_mbuf* m) { rack_delivered(tp, m, tp->rack_fack_set ? &tp->rack_fack : nullptr); }

void rack_delivered(TcpSock* tp, rte_mbuf* m, const SeqNum* fack_before) {
  Shard& sh = shard_of(tp);
  ++tp->st.delivered;
  const uint64_t xmit = meta(m)->rx_time_ns;
  if (!xmit) return;
  const SeqNum end = seg_seq(m) + seg_len(m);
  // RFC 8985 §6.2 step 3: a never retransmitted segment delivered below one delivered before it arrived
  // out of order. (An ACK's newly SACKed segments are taken before its cumulatively acknowledged ones, which
  // lie below them: those compare with RACK.fack from before the ACK.)
  const bool below = fack_before && end.lt(*fack_before);
  if (!tp->rack_fack_set || end.gt(tp->rack_fack)) {
    tp->rack_fack = end;
    tp->rack_fack_set = true;
  }
  if (below && !has(m, kMetaEverRetrans)) {
    tp->reord_seen = true;
    // TCP_INFO: counted once per ACK, by its lowest such segment (reord_account).
    if (!tp->st.reord_ack || seg_seq(m).lt(tp->st.reord_low)) tp->st.reord_low = seg_seq(m);
    tp->st.reord_ack = true;
  }
  const int64_t rtt_us = static_cast<int64_t>((sh.now().ns() - xmit) / 1000);
  // RFC 8985 §6.2 step 2: an ACK for a retransmitted segment faster than the minimum RTT is the original's.
  if (has(m, kMetaEverRetrans) && tp->min_rtt_us && rtt_us < tp->min_rtt_us) return;
  if (!has(m, kMetaEverRetrans)) min_rtt_update(tp, rtt_us);
  if (xmit > tp->rack_xmit_ns || (xmit == tp->rack_xmit_ns && end.gt(tp->rack_end))) {
    tp->rack_xmit_ns = xmit;
    tp->rack_end = end;
    tp->rack_rtt_us = rtt_us;
  }
}

bool sack_process(TcpSock* tp, const wire::TcpOptions& opt, SeqNum ack) {
  Shard& sh = shard_of(tp);
  tp->sack_first_xmit_ns = 0;
  tp->dsack_tlp = false;
  if (!tp->sack_ok || !opt.num_sack) return false;
  bool dsack = false;
  wire::SackBlock blocks[4];
  size_t nb = 0;
  for (uint8_t i = 0; i < opt.num_sack && i < 4; ++i) {
    const wire::SackBlock b = opt.sack[i];
    // RFC 2883: a first block below the cumulative ACK (or inside the second block) reports a duplicate.
    if (i == 0 && (b.left.lt(ack) ||
                   (opt.num_sack > 1 && b.left.ge(opt.sack[1].left) && b.right.le(opt.sack[1].right)))) {
      ++sh.stats.tcp_dsack_recv;
      dsack = true;
      // TCP_INFO's tcpi_dsack_dups: the segments reported twice (Linux's tcp_dsack_seen, which ignores a
      // range wider than any window the peer offered).
      if (b.left.lt(b.right) && static_cast<uint32_t>(b.right - b.left) <= tp->max_window)
        tp->st.dsack_dups += std::max<uint32_t>(1, (static_cast<uint32_t>(b.right - b.left) + tp->mss - 1) / std::max<uint32_t>(tp->mss, 1));
      if (b.left.lt(b.right) && b.right.le(tp->snd_max)) undo_on_dsack(tp, b.left, b.right);
      tp->dsack_tlp = tp->tlp_pending && tp->tlp_is_retrans && b.right == tp->tlp_end;
      continue;
    }
    // Validate (RFC 2018 leaves it to us; crafted blocks must cost nothing): non-empty, inside what we sent.
    if (!b.left.lt(b.right) || b.left.lt(tp->snd_una) || b.right.gt(tp->snd_max)) {
      ++sh.stats.tcp_sack_invalid;
      continue;
    }
    // Sorted by left edge, so one walk of the sent segments serves all blocks.
    size_t k = nb++;
    for (; k > 0 && b.left.lt(blocks[k - 1].left); --k) blocks[k] = blocks[k - 1];
    blocks[k] = b;
  }
  if (!nb) return dsack;
  // One walk of the sent segments serves all blocks: a segment is inside the first block (by left edge)
  // that does not end before it, or inside none. Only whole segments are marked (a segment is never split
  // to match a block), so a crafted ACK can neither grow the write queue nor cost more than one pass over
  // the flight; runs of segments SACKed before are jumped over, so an ACK that adds to the scoreboard
  // costs about what it adds. The runs met on the way are remembered for the next walks.
  SackRunSet found;
  size_t i = 0;
  rte_mbuf* m = tp->write_queue.front();
  while (m && m != tp->send_head) {
    const SeqNum l = seg_seq(m), r = l + seg_len(m);
    while (i < nb && r.gt(blocks[i].right)) ++i;
    if (i == nb) break;
    if (!has(m, kMetaSacked) && l.ge(blocks[i].left)) {
      const uint32_t len = seg_len(m);
      sack_forget(tp, m, len);
      meta(m)->flags = static_cast<uint8_t>((meta(m)->flags & ~(kMetaLost | kMetaRetrans)) | kMetaSacked);
      tp->sacked_out += len;
      const uint64_t xmit = meta(m)->rx_time_ns;
      if (xmit && !has(m, kMetaEverRetrans) && (!tp->sack_first_xmit_ns || xmit < tp->sack_first_xmit_ns))
        tp->sack_first_xmit_ns = xmit;
      rack_delivered(tp, m);
    }
    rte_mbuf* last = run_last(tp, m);
    if (has(m, kMetaSacked)) {
      found.extend(tp, m, last);
    } else {
      found.close();
    }
    m = tp->write_queue.next(last);
  }
  found.close();
  // Runs not reached by this walk are still exact; keep them in the choice.
  const bool reached_all = !m || m == tp->send_head;
  for (uint8_t k = 0; k < tp->num_sack_runs; ++k) {
    const TcpSock::SackRun& old = tp->sack_runs[k];
    if (!reached_all && seg_seq(old.first).ge(seg_seq(m))) found.offer(old);
  }
  found.store(tp);
  return dsack;
}

void rack_update_reo_wnd(TcpSock* tp, bool dsack) {
  if (tp->dsack_round_open && tp->snd_una.ge(tp->dsack_round)) tp->dsack_round_open = false;
  // Not for the D-SACK of a tail loss probe, which says the probe was needless, not that packets reorder
  // (Linux's tcp_dsack_seen: FLAG_DSACK_TLP). Nor does a D-SACK count as reordering seen (RFC 8985 §6.2:
  // only step 3, a never-retransmitted segment delivered below RACK.fack, sets it): the wider window applies
  // once the path shows reordering, and until then three SACKed segments still call a loss at once.
  if (!dsack || tp->dsack_round_open || tp->dsack_tlp) return;
  // The peer received something twice: a retransmission was spurious (or the network duplicates), so
  // wait longer before calling a hole lost, for the next 16 recoveries. That is reordering as well.
  // RFC 8985 §6.2 step 4 grows the window by one min RTT/4 per such round trip. Where the fastest round trip
  // is far below the usual one (a share of the packets skipping a queue: exactly the paths that reorder),
  // that takes thousands of round trips to reach SRTT, each with spurious retransmissions that feed the
  // queue; so the multiplier doubles instead (at least +1), and the window stays capped at SRTT.
  tp->dsack_round_open = true;
  tp->dsack_round = tp->snd_max;
  const int64_t quarter = std::max<int64_t>(tp->min_rtt_us / 4, 1);
  const int64_t full = tp->srtt_us ? tp->srtt_us / quarter + 1 : UINT16_MAX;  // enough to reach SRTT
  if (tp->reo_wnd_mult < full)
    tp->reo_wnd_mult = static_cast<uint16_t>(std::min<int64_t>({2 * int64_t{tp->reo_wnd_mult}, full, UINT16_MAX}));
  tp->reo_wnd_persist = 16;
}

void tlp_process_ack(TcpSock* tp, SeqNum ack, bool dsack, bool pure_dup) {
  if (!tp->tlp_is_retrans) {
    tp->tlp_pending = false;  // new data: RACK sees any loss through the probe's SACK
  } else if (dsack) {
    tp->tlp_pending = false;  // the original and the probe both arrived: nothing was lost
  } else if (ack.gt(tp->tlp_end)) {
    // Data sent after the probe is acknowledged and no duplicate was reported: the probe repaired a loss.
    // One reduction, as for a loss found otherwise, without a recovery episode (Linux: CWR). From the
    // window rather than from what is in flight now: the loss happened a window ago, and the flight since
    // may be a segment or two (Linux reduces from cwnd throughout).
    tp->tlp_pending = false;
    if (tp->ca_state == TcpCa::Open) {
      tp->cc->on_loss(tp, shard_of(tp).now());
      tp->ssthresh = tp->cc->ssthresh(tp, tp->cwnd);
      tp->cwnd = std::max(std::min(tp->cwnd, tp->ssthresh), static_cast<uint32_t>(tp->mss));
      ++shard_of(tp).stats.tcp_tlp_recoveries;
    }
  } else if (pure_dup) {
    tp->tlp_pending = false;  // a duplicate ACK for the second copy: both arrived
  }
}

void rack_recovery_done(TcpSock* tp) {
  if (tp->reo_wnd_persist > 0) --tp->reo_wnd_persist;
  if (tp->reo_wnd_persist == 0) tp->reo_wnd_mult = 1;
}

namespace {

// RFC 8985 §6.2 step 4: the reordering window. Until reordering has been seen, none at all once DupThresh
// (3) segments were SACKed or recovery runs (as fast as RFC 6675's rule); otherwise a quarter of the
// minimum RTT per step, at most SRTT.
int64_t rack_reo_wnd_ns(TcpSock* tp) {
  if (!tp->reord_seen) {
    if (tp->ca_state == TcpCa::Recovery || tp->ca_state == TcpCa::Loss) return 0;
    // RFC 6675 §4 IsLost's byte form: more than (DupThresh - 1) x SMSS SACKed (after a path MTU drop,
    // segments queued at the old size count for more than one).
    if (tp->sacked_out > 2u * tp->mss) return 0;
  }
  const int64_t w = tp->min_rtt_us * 1000 / 4 * tp->reo_wnd_mult;
  return tp->srtt_us ? std::min<int64_t>(w, tp->srtt_us * 1000) : w;
}

}  // namespace

uint32_t rack_detect_loss(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  if (!tp->rack_xmit_ns) return 0;
  const int64_t now = static_cast<int64_t>(sh.now().ns());
  const int64_t reo_wnd = rack_reo_wnd_ns(tp);
  const int64_t rtt = tp->rack_rtt_us * 1000;
  int64_t timeout = 0;
  uint32_t lost = 0;
  for (rte_mbuf* m = tp->write_queue.front(); m && m != tp->send_head; m = sack_walk_next(tp, m)) {
    PktMeta* mt = meta(m);
    if ((mt->flags & kMetaSacked) || ((mt->flags & kMetaLost) && !(mt->flags & kMetaRetrans))) continue;
    const uint64_t xmit = mt->rx_time_ns;
    const SeqNum end = seg_seq(m) + seg_len(m);
    if (!(xmit < tp->rack_xmit_ns || (xmit == tp->rack_xmit_ns && end.lt(tp->rack_end)))) {
      // Sent after the RACK segment. If never retransmitted, every later segment (in sequence order)
      // was sent later still: stop here, or each ACK walks the whole flight (O(n^2) per window).
      if (!(mt->flags & kMetaEverRetrans)) break;
      continue;
    }
    const int64_t remaining = static_cast<int64_t>(xmit) + rtt + reo_wnd - now;
    if (remaining <= 0) {
      const uint32_t len = seg_len(m);
      if (mt->flags & kMetaRetrans) tp->retrans_out -= std::min(tp->retrans_out, len);
      if (!(mt->flags & kMetaLost)) tp->lost_out += len;
      mt->flags = static_cast<uint8_t>((mt->flags & ~kMetaRetrans) | kMetaLost);
      lost += len;
    } else {
      timeout = std::max(timeout, remaining);
    }
  }
  if (timeout > 0) {
    sh.timers.arm(tp->reo_timer, sh.now() + Duration(timeout));
  } else {
    sh.timers.cancel(tp->reo_timer);
  }
  if (lost) sh.stats.tcp_rack_lost += lost / std::max<uint32_t>(tp->mss, 1) + (lost % std::max<uint32_t>(tp->mss, 1) ? 1 : 0);
  return lost;
}

void sack_mark_all_lost(TcpSock* tp) {
  // RFC 2018 §8: SACKs are advisory, and a receiver short of memory may discard data it SACKed. It did when
  // it acknowledges up to a segment still marked SACKed: nothing else would ever resend that one (RACK and
  // recovery pass over SACKed data), so the marks all go and everything outstanding counts as lost (Linux's
  // tcp_timeout_mark_lost; sack_reneging_check brings this timeout forward).
  rte_mbuf* head = tp->write_queue.front();
  const bool reneged = head && head != tp->send_head && (meta(head)->flags & kMetaSacked);
  if (reneged) [[unlikely]] {
    ++shard_of(tp).stats.tcp_sack_reneging;
    tp->sacked_out = 0;
    tp->num_sack_runs = 0;
  }
  for (rte_mbuf* m = head; m && m != tp->send_head; m = reneged ? tp->write_queue.next(m) : sack_walk_next(tp, m)) {
    PktMeta* mt = meta(m);
    if (reneged) {
      mt->flags = static_cast<uint8_t>(mt->flags & ~kMetaSacked);
    } else if (mt->flags & kMetaSacked) {
      continue;
    }
    const uint32_t len = seg_len(m);
    if (mt->flags & kMetaRetrans) tp->retrans_out -= std::min(tp->retrans_out, len);
    if (!(mt->flags & kMetaLost)) tp->lost_out += len;
    mt->flags = static_cast<uint8_t>((mt->flags & ~kMetaRetrans) | kMetaLost);
  }
}

void undo_init(TcpSock* tp) {
  tp->undo_armed = true;
  tp->undo_marker = tp->snd_una;
  tp->undo_sent = 0;
  tp->undo_retrans = 0;
  tp->prior_cwnd = tp->cwnd;
  // As Linux's tcp_current_ssthresh: outside an episode, ssthresh remembers at least 3/4 of the window.
  tp->prior_ssthresh = tp->ca_state == TcpCa::Loss ? tp->ssthresh
                                                   : std::max(tp->ssthresh, tp->cwnd / 2 + tp->cwnd / 4);
  tp->prior_cubic = tp->cubic;
}

void undo_note_retrans(TcpSock* tp) {
  if (!tp->undo_armed) return;
  ++tp->undo_sent;
  ++tp->undo_retrans;
}

void undo_on_dsack(TcpSock* tp, SeqNum l, SeqNum r) {
  if (!tp->undo_armed || !r.gt(tp->undo_marker)) return;
  // More duplicates reported than we ever retransmitted: the network duplicated segments, which says
  // nothing of our retransmissions (Linux's tcp_dsack_seen skips such D-SACKs).
  if (tp->st.dsack_dups > tp->total_retrans) return;
  const uint32_t mss = std::max<uint32_t>(tp->mss, 1);
  const uint32_t len = static_cast<uint32_t>(r - l);
  const uint32_t segs = len / mss + (len % mss ? 1 : 0);
  tp->undo_retrans -= std::min(tp->undo_retrans, segs);
}

bool try_undo(TcpSock* tp) {
  if (!tp->undo_armed || !tp->undo_sent || tp->undo_retrans) return false;
  // Every retransmission of the episode reached the peer twice: nothing was lost (reordering, or a
  // timer that fired early). Back to the window before it (RFC 4015 §3.2's response; the larger of the
  // two, as the window may have grown since the episode ended).
  tp->undo_armed = false;
  tp->cwnd = std::max(tp->cwnd, tp->prior_cwnd);
  if (tp->prior_ssthresh > tp->ssthresh) {
    tp->ssthresh = tp->prior_ssthresh;
    tp->cubic = tp->prior_cubic;
  }
  if (tp->ca_state == TcpCa::Loss) [[unlikely]] {
    // The timeout marked every segment not SACKed lost; it was spurious, so are the marks (Linux's
    // tcp_undo_cwnd_reduction with unmark_loss): left, the restored window would resend them all at once.
    for (rte_mbuf* m = tp->write_queue.front(); m && m != tp->send_head; m = tp->write_queue.next(m))
      meta(m)->flags = static_cast<uint8_t>(meta(m)->flags & ~kMetaLost);
    tp->lost_out = 0;
  }
  if (tp->ca_state == TcpCa::Recovery || tp->ca_state == TcpCa::Loss) {
    if (tp->ca_state == TcpCa::Loss) rto_episode_end(tp);
    tp->ca_state = TcpCa::Open;
    tp->dupacks = 0;
    rack_recovery_done(tp);
  }
  ++shard_of(tp).stats.tcp_undo;
  return true;
}

void enter_recovery(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  // RFC 6675 §5 / RFC 8985 §7: one reduction per window of data. Inside the window an ECN-Echo reduced
  // (Cwr), that reduction stands (RFC 3168 §6.1.2; Linux's tcp_enter_recovery), and is not undoable.
  // The window then falls by PRR as the ACKs come (prr_on_ack), a reduction begun by ECN going on.
  if (tp->ca_state != TcpCa::Cwr) {
    undo_init(tp);
    tp->cc->on_loss(tp, sh.now());
    tp->ssthresh = std::max(tp->cc->ssthresh(tp, loss_base(tp)), static_cast<uint32_t>(tp->mss));
    prr_init(tp);
  }
  ecn_queue_cwr(tp);
  tp->recover = tp->snd_max;
  tp->ca_state = TcpCa::Recovery;
  ++sh.stats.tcp_sack_recoveries;
  tp->tlp_pending = false;  // this reduction covers whatever the probe repaired
  // A pending tail loss probe gives way to the RTO (RFC 8985 §7.2: no probes during recovery).
  if (tp->tlp_armed) reset_rto(tp);
}

void ecn_on_ece(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  ++sh.stats.tcp_ecn_ece_rcvd;
  // Once per window of data, and not within a loss episode, whose reduction covers the same congestion.
  if (tp->ca_state != TcpCa::Open && tp->ca_state != TcpCa::Disorder) return;
  // As for a loss (RFC 3168 §6.1.2; RFC 9438 §4.6: CUBIC's beta), without a retransmission, at least one
  // segment; the window falls to it by PRR over the next round trip (Linux's tcp_enter_cwr). Nothing to
  // undo: the peer said so.
  tp->cc->on_loss(tp, sh.now());
  tp->ssthresh = std::max(tp->cc->ssthresh(tp, loss_base(tp)), static_cast<uint32_t>(tp->mss));
  prr_init(tp);
  tp->undo_armed = false;
  tp->cwr_end = tp->snd_max;
  tp->ca_state = TcpCa::Cwr;
  tp->ecn_flags |= kEcnQueueCwr;
  ++sh.stats.tcp_ecn_reductions;
}

void prr_init(TcpSock* tp) {
  // RecoverFS: what ssthresh was taken from (beta x this), so that the proportional part ends at ssthresh.
  tp->prr_recover_fs = std::max(loss_base(tp), static_cast<uint32_t>(tp->mss));
  tp->prr_delivered = 0;
  tp->prr_out = 0;
}

void prr_on_ack(TcpSock* tp, uint32_t delivered, bool una_advanced, bool newly_lost) {
  if (!delivered || !tp->prr_recover_fs) return;
  tp->prr_delivered += delivered;
  const uint32_t mss = std::max<uint32_t>(tp->mss, 1);
  const int64_t pipe = in_flight(tp);
  const int64_t ssthresh = tp->ssthresh;
  int64_t sndcnt;
  if (pipe > ssthresh) {
    // RFC 6937 §3: send ssthresh/RecoverFS of what was delivered (rounded up), so that the flight reaches
    // ssthresh as the last of the window before the loss is acknowledged.
    const uint64_t target =
        (static_cast<uint64_t>(tp->ssthresh) * tp->prr_delivered + tp->prr_recover_fs - 1) / tp->prr_recover_fs;
    sndcnt = static_cast<int64_t>(target) - tp->prr_out;
  } else {
    // Below ssthresh (more was lost than the reduction takes): grow back towards it no faster than slow
    // start, what was delivered and one segment more on an ACK that moved SND.UNA and found no new loss
    // (RFC 6937's slow start reduction bound, as Linux).
    sndcnt = std::max<int64_t>(int64_t{tp->prr_delivered} - tp->prr_out, delivered);
    if (una_advanced && !newly_lost) sndcnt += mss;
    sndcnt = std::min(ssthresh - pipe, sndcnt);
  }
  // The fast retransmit goes at once; and with nothing in flight that would bring another ACK, one segment.
  sndcnt = std::max<int64_t>(sndcnt, tp->prr_out && pipe ? 0 : mss);
  tp->cwnd = static_cast<uint32_t>(std::min<int64_t>(pipe + sndcnt, 1u << 30));
}

bool sack_retransmit(TcpSock* tp) {
  Shard& sh = shard_of(tp);
  bool sent = false;
  for (rte_mbuf* m = tp->write_queue.front(); m && m != tp->send_head; m = sack_walk_next(tp, m)) {
    PktMeta* mt = meta(m);
    if (!(mt->flags & kMetaLost) || (mt->flags & (kMetaRetrans | kMetaSacked))) continue;
    // Nothing beyond the peer's window but the head (the timeout's window probe where the peer shrank it to
    // zero), as Linux's __tcp_retransmit_skb: a receiver drops what lies beyond its window.
    if (!seg_seq(m).lt(tp->snd_una + tp->snd_wnd) && seg_seq(m) != tp->snd_una) break;
    if (!fit_to_mss(tp, m)) break;  // queued before the path MTU fell: resent in MSS-sized pieces
    const uint32_t len = seg_len(m);
    // The pipe bounds retransmissions as new data. While PRR runs its window says how much may go (it lets
    // the first retransmission go), but with nothing in flight, which would bring the next ACK, one goes
    // (PRR's window is in bytes and may have been left below a segment); otherwise (after an RTO, a path
    // MTU drop) at least one per event.
    const uint32_t pipe = sack_pipe(tp);
    if ((sent || (in_cwnd_reduction(tp) && pipe > 0)) && pipe + len > tp->cwnd) break;
    const SeqNum seq = seg_seq(m);
    const bool fin = tp->fin_sent && tp->fin_seq == seq + len;
    if (transmit(tp, seq, tf::kAck | (fin ? tf::kFin : 0), m) < 0) break;
    mt->flags |= kMetaRetrans | kMetaEverRetrans;
    mt->rx_time_ns = sh.now().ns();
    tp->retrans_out += len;
    undo_note_retrans(tp);
    ++tp->total_retrans;
    ++sh.stats.tcp_retrans_segs;
    tp->rtt_pending = false;  // Karn (timestamps still time it)
    sent = true;
  }
  return sent;
}

Duration tlp_pto(TcpSock* tp) {
  // RFC 8985 §7.2: PTO = 2*SRTT, plus the peer's delayed ACK when one segment is in flight.
  int64_t pto = tp->srtt_us ? 2 * tp->srtt_us : 1'000'000;
  if (flight_size(tp) <= tp->mss) pto += 200'000;
  pto = std::max<int64_t>(pto, 10'000);
  return std::chrono::microseconds(std::min(pto, tp->rto_us));
}

}  // namespace skiff::tcp
