#pragma once
// Internals shared by the TCP source files (not part of the stack's interface).

#include "stack/shard.hh"
#include "tcp/tcp.hh"
#include "wire/tcp.hh"

namespace skiff::tcp {

// PktMeta::flags bits for segments on TCP queues. PktMeta::rx_time_ns holds a sent segment's send time
// (write queue), and an out-of-order segment's recency stamp (ooo queue: which SACK block goes first).
inline constexpr uint8_t kMetaFin = 0x01;          // the segment carries (or is) a FIN
inline constexpr uint8_t kMetaSacked = 0x02;       // the peer SACKed it
inline constexpr uint8_t kMetaLost = 0x04;         // deemed lost (RACK, or RTO)
inline constexpr uint8_t kMetaRetrans = 0x08;      // a retransmission of it is outstanding
inline constexpr uint8_t kMetaEverRetrans = 0x10;  // it was retransmitted at least once

// TcpSock::ecn_flags (RFC 3168; Linux's TCP_ECN_*).
inline constexpr uint8_t kEcnOk = 0x01;          // negotiated: new data leaves ECT(0), ECE/CWR have meaning
inline constexpr uint8_t kEcnQueueCwr = 0x02;    // sender: the window fell; CWR on the next new data segment
inline constexpr uint8_t kEcnDemandCwr = 0x04;   // receiver: CE arrived; ECE on every ACK until a CWR comes
inline constexpr uint8_t kEcnSeen = 0x08;        // receiver: data arrived ECN-capable (ECT or CE)
inline constexpr uint8_t kEcnSynOffered = 0x10;  // active open: our (first) SYN asked for ECN
// The IP header's ECN field (RFC 3168 §5).
inline constexpr uint8_t kIpEcnMask = 0x03;
inline constexpr uint8_t kIpEcnEct0 = 0x02;
inline constexpr uint8_t kIpEcnCe = 0x03;

inline Shard& shard_of(TcpSock* tp) { return *sk_of(tp)->shard; }
inline const TcpConfig& cfg_of(TcpSock* tp) { return shard_of(tp).cfg.tcp; }
inline uint32_t seg_len(rte_mbuf* m) { return m->pkt_len; }
inline SeqNum seg_seq(rte_mbuf* m) { return SeqNum(pkt_meta(m)->seq); }

// One arriving segment, as the per-state handlers see it.
struct Segment {
  SeqNum seq, ack;
  uint32_t len = 0;          // payload bytes
  uint8_t flags = 0;
  uint32_t wnd = 0;          // raw window field (scaled later)
  uint16_t urg = 0;
  wire::TcpOptions opt;
  Pktbuf payload;            // data at the first payload byte (may be empty)
  const Ipv4Rx* rx = nullptr;
  bool tw_recycle = false;   // a SYN that ended TIME-WAIT: the new connection starts at tw_isn
  SeqNum tw_isn;
  bool has(uint8_t f) const { return flags & f; }
  uint32_t seq_len() const {
    return len + (has(wire::tcp_flag::kSyn) ? 1 : 0) + (has(wire::tcp_flag::kFin) ? 1 : 0);
  }
};

// Output (tcp_output.cc).
// Builds and sends one segment: `data` (may be null) is the queued segment whose payload it carries; with
// nseg > 1, that segment and the nseg - 1 queued behind it go as one TSO frame (the device cuts it).
int transmit(TcpSock* tp, SeqNum seq, uint8_t flags, rte_mbuf* data, uint32_t nseg = 1);
// Segments per TSO frame at most (a device's descriptor chain stays short).
inline constexpr uint32_t kTsoMaxSegs = 44;
void send_ack(TcpSock* tp);
void send_syn(TcpSock* tp);  // SYN in SYN-SENT, SYN-ACK in SYN-RECEIVED
void send_rst(TcpSock* tp);  // abort: RST at snd_nxt
// RFC 5961 §7: a challenge ACK, at most one per connection per kOowAckInterval (oow_rate_limited) and
// within the shard's randomised per-second budget ([tcp] challenge_ack_limit).
void send_challenge_ack(TcpSock* tp);
// Linux's sysctl_tcp_invalid_ratelimit: a connection sends at most one challenge ACK or answer to an
// out-of-window segment per this interval, so that two endpoints that disagree on the sequence space
// cannot ACK each other in a loop, and a blind attacker draws at most one ACK per interval.
inline constexpr Duration kOowAckInterval = 500ms;
// Whether such an ACK is to be held back now (Linux's __tcp_oow_rate_limited); if not, the interval
// starts again from now.
bool oow_rate_limited(TcpSock* tp);
// A segment with no connection behind it (RSTs, SYN-cookie SYN-ACKs), from rx.dst:lport to rx.src:rport.
void send_bare(Shard& sh, const Ipv4Rx& rx, uint16_t lport, uint16_t rport, SeqNum seq, SeqNum ack, uint8_t flags,
               uint16_t wnd, const wire::TcpOptions* opts);
// A RST answering a segment that has no connection (RFC 9293 §3.10.7.1); never for a RST.
void send_reset_for(Shard& sh, const Ipv4Rx& rx, uint16_t sport, uint16_t dport, const Segment& seg);
// Sends new data as the windows, Nagle and the FIN allow.
void write_xmit(TcpSock* tp, bool force_push = false, bool hold_tail = false);
// The persist timer found room in the peer's window for part of the next segment: sends that part (the
// RFC 9293 §3.8.6.2.1 override of sender SWS avoidance, Linux's tcp_write_wakeup). False if it sent nothing.
bool write_wakeup(TcpSock* tp);
// Retransmits the segment at snd_una (fast retransmit, RTO, partial ACK).
void retransmit_head(TcpSock* tp);
// Path MTU discovery (RFC 1191): the path to the peer takes at most `mtu` bytes (ICMP fragmentation
// needed, checked by tcp_err, floored by pmtu_from_icmp). Lowers the path MTU and the send MSS and
// resends what was in flight and too large.
void tcp_mtu_reduced(TcpSock* tp, uint16_t mtu);
// The path MTU the connection sends by (its interface's where none was set).
inline uint16_t path_mtu(const TcpSock* tp) { return tp->pmtu ? tp->pmtu : static_cast<uint16_t>(tp->advmss + 40); }
// The path MTU of a new connection leaving by an interface of MTU `ifc_mtu`: the shard's cache's (unless
// the socket does no discovery: IP_PMTUDISC_DONT); sets advmss, pmtu and what follows them.
void init_path_mtu(TcpSock* tp, uint16_t ifc_mtu);
// Whether the connection takes part in path MTU discovery: its segments carry DF and ICMP lowers its MSS
// (all IP_MTU_DISCOVER modes but IP_PMTUDISC_DONT, as Linux's TCP).
inline bool pmtu_discovery(TcpSock* tp) { return inet_of(tp)->pmtudisc != IP_PMTUDISC_DONT; }
// Compares the connection's path MTU with the shard's cache after an entry changed (send and write_xmit
// call it when PmtuCache::gen() moved): a lower value for this destination (another connection's ICMP)
// is taken as tcp_mtu_reduced would, without an ICMP message of its own; a higher one (what lowered it
// expired: RFC 1191 §6.3, as Linux re-reads its route's MTU) raises the MSS again, and a path still
// narrow says so with ICMP again. True if it set up a resend.
bool pmtu_sync(TcpSock* tp);
// Cuts segment `m` to the send MSS if it is larger (queued before a path MTU drop), the rest queued right
// behind it with its state. False if no buffer was free (nothing changed).
bool fit_to_mss(TcpSock* tp, rte_mbuf* m);
// After a go-back-N timeout rewound send_head to the head and write_xmit left it (the peer shrank its
// window below it, or below the sender's SWS threshold): sends what the window takes of it, or a full
// segment into a zero window (the window probe; Linux's tcp_retransmit_timer and __tcp_retransmit_skb).
void resend_head_into_window(TcpSock* tp);
// How long an orphan waits in FIN-WAIT-2 for the peer's FIN (Linux's tcp_fin_time): TCP_LINGER2's seconds,
// else the stack's fin_timeout, and never less than 3.5 RTOs.
inline Duration fin_time(TcpSock* tp) {
  const Duration t = tp->linger2_s > 0 ? Duration(std::chrono::seconds(tp->linger2_s)) : cfg_of(tp).fin_timeout;
  return std::max<Duration>(t, std::chrono::microseconds(tp->rto_us * 7 / 2));
}
// The payload of the largest segment the peer may send us: the MSS we announced, less the timestamp option
// each segment then carries (what Linux's advmss holds once timestamps are on; TCP_INFO's tcpi_advmss).
inline uint32_t rcv_full_payload(const TcpSock* tp) { return tp->advmss - (tp->ts_ok ? 12u : 0u); }
// The window to advertise, unscaled (it also updates rcv_wnd and the receiver-SWS state).
uint32_t select_window(TcpSock* tp);
// The receive window we could advertise now (bytes).
uint32_t receive_space(TcpSock* tp);
// Sends a window update if reading freed enough room (receiver SWS avoidance, RFC 9293 §3.8.6.2.2).
void maybe_window_update(TcpSock* tp);

// Timers (tcp_timer.cc).
void init_timers(TcpSock* tp);
void cancel_timers(TcpSock* tp);
void arm_rto(TcpSock* tp);
void reset_rto(TcpSock* tp);  // re-arm from now (new data acked)
void schedule_ack(TcpSock* tp);  // delayed ACK
void arm_persist(TcpSock* tp);
void reset_keepalive(TcpSock* tp);
void rtt_sample(TcpSock* tp, Duration rtt);
// A sample from an echoed timestamp (1 ms ticks), for ACKs that time nothing else (Linux's
// tcp_rtt_tsopt_us): false, and no sample, for an echo from the future or older than ~35 minutes.
bool rtt_sample_tsecr(TcpSock* tp, uint32_t ts_ecr);
// The windowed minimum RTT (Linux's tcp_update_rtt_min over tcp_min_rtt_wlen, 300 s): a sample below it,
// or any sample once it is older than the window, replaces it.
void min_rtt_update(TcpSock* tp, int64_t us);
// The RTO from the RTT estimate, backoff cleared (as after a sample).
void rto_from_estimate(TcpSock* tp);
// RFC 6069: an ICMP unreachable about SND.UNA undoes one backoff. True if a retransmission it brought
// forward ended the connection (retries spent; an orphan is freed then).
bool rto_revert(TcpSock* tp, SeqNum seq);

// State changes (tcp_input.cc / tcp_sock.cc).
void set_state(TcpSock* tp, uint8_t state);
// A listener's connection still in its handshake (a SYN-RECEIVED child, not a Fast Open one, which is in the
// accept queue already): Linux's request socket.
// Nanoseconds from a segment's send time (a PktMeta or SACK stamp, the shard clock's ns) to now, never
// below 0.
inline int64_t ns_since(TcpSock* tp, uint64_t xmit_ns) {
  return std::max<int64_t>(shard_of(tp).now().ns() - static_cast<int64_t>(xmit_ns), 0);
}
inline bool embryonic(const TcpSock* tp) {
  return tp->parent && tp->icsk.inet.sk.state == sk_state::kSynRecv && !tp->fastopen_child;
}
// RFC 7413 Fast Open, server side: the cookie for a client (a keyed hash of the address pair, as Linux's
// 8 bytes), and the end of a Fast Open child's handshake phase (it leaves SYN-RECEIVED; set_state calls it).
inline constexpr int8_t kFastOpenCookieLen = 8;
// Fast Open server cookies: the keys listener `lp` uses (its TCP_FASTOPEN_KEY, else the stack's), and the
// cookie of an address pair under one key (Linux's: SipHash-2-4 of the client's then the server's address,
// as they are on the wire, stored little-endian), so a Skiff server and a Linux server sharing a key
// accept each other's cookies.
const FastOpenKeys& fastopen_keys_of(Shard& sh, const TcpSock* lp);
void fastopen_cookie(const SipKey& key, wire::Ipv4Addr client, wire::Ipv4Addr server, uint8_t* out);
// 16 or 32 bytes (a primary key, then a backup) as TCP_FASTOPEN_KEY and the sysctl give them.
FastOpenKeys fastopen_keys_from(const uint8_t* bytes, unsigned count);
void fastopen_release(TcpSock* tp);
// The connection is over: unhashed, timers stopped, readers/writers woken; freed if orphaned.
void done(TcpSock* tp);
void enter_time_wait(TcpSock* tp);
void set_error(TcpSock* tp, int err);
SeqNum new_isn(Shard& sh, wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport);
// The offset of our timestamp clock towards a peer: a keyed hash of the addresses (RFC 7323 §7.1, as
// Linux's secure_tcp_ts_off), so it hides our uptime yet a SYN-cookie SYN-ACK, sent before any connection
// exists, carries the same clock as the connection its ACK creates.
uint32_t ts_offset_for(wire::Ipv4Addr laddr, wire::Ipv4Addr raddr);
void init_sock(TcpSock* tp);  // defaults for a new connection object
void free_write_queue(TcpSock* tp);
// Frees the out-of-order queue and its index.
void ooo_purge(TcpSock* tp);
// An ACK once the receive burst is processed (tcp_flush_deferred_acks), at most one per connection.
void defer_ack(TcpSock* tp);
// The connection is going away: off the deferred-ACK list.
void forget_deferred_ack(TcpSock* tp);
// Frees a connection object that is CLOSED (or never connected): unbinds it and returns its memory.
void destroy_closed(TcpSock* tp);
// Removes a connection from the shard's table, giving back a 4-tuple another shard lent it.
void unhash(TcpSock* tp);
// A passive open on a shard that does not own its 4-tuple by RSS (the owner forwarded the SYN through the
// port directory, having no listener): the owner records the tuple as lent here (TcpTable::lend), so it
// forwards the connection's segments here (not by the directory, which may name another shard with the
// port) and refuses its own connect() to the same peer from that port.
void note_foreign_child(TcpSock* tp);
// SACK and RACK-TLP (tcp_sack.cc).
// Receiver: out-of-order range `r` grew (or holds a duplicate that just arrived): its block is the most recent.
inline void sack_note_ooo(TcpSock* tp, OooRange& r) { r.stamp = ++tp->ooo_stamp; }
// Receiver: [l, r) arrived twice; the next ACK reports it as a D-SACK block (RFC 2883).
void sack_note_dup(TcpSock* tp, SeqNum l, SeqNum r);
// Blocks for the next ACK: the D-SACK block, then the out-of-order ranges by recency (RFC 2018 §4: the one
// holding the segment that triggered the ACK first, then the most recently reported ones).
size_t sack_fill(TcpSock* tp, wire::SackBlock* out, size_t max);
// Applies the SACK blocks of an arriving ACK to the scoreboard. True if its first block was a D-SACK.
bool sack_process(TcpSock* tp, const wire::TcpOptions& opt, SeqNum ack);
// RFC 8985 §6.2 step 4, on each ACK (after SND.UNA moved): a D-SACK widens the reordering window, once
// per round trip, for the next 16 recoveries.
void rack_update_reo_wnd(TcpSock* tp, bool dsack);
// Fast or RTO recovery ended: one of those 16 recoveries is used up.
void rack_recovery_done(TcpSock* tp);
// RFC 8985 §7.4.2, on each ACK at or past the probe's TLP.end_seq: did the probe repair a loss? `pure_dup`:
// the ACK moves nothing (no new cumulative or selective acknowledgement, no data, same window).
void tlp_process_ack(TcpSock* tp, SeqNum ack, bool dsack, bool pure_dup);
// The write queue is about to free segment `m` (cumulatively acknowledged): the SACK runs forget it.
void sack_runs_free(TcpSock* tp, rte_mbuf* m);
// The next segment for a scoreboard walk after `m`: past the whole run if `m` starts one.
rte_mbuf* sack_walk_next(TcpSock* tp, rte_mbuf* m);
// After a cumulative ACK: if the new head is marked SACKed, the peer reneged on its SACKs (RFC 2018 §8);
// the retransmission timer is brought forward to clear the marks and resend.
void sack_reneging_check(TcpSock* tp);
// RACK: a segment was delivered (cumulatively ACKed or SACKed).
// `fack_before`: for a segment the ACK's cumulative part delivers, RACK.fack as it was before the ACK (null:
// none yet), so that a segment below what the same ACK SACKed is no reordering (Linux's prior_fack).
void rack_delivered(TcpSock* tp, rte_mbuf* seg);
void rack_delivered(TcpSock* tp, rte_mbuf* seg, const SeqNum* fack_before);
// RACK loss detection; returns bytes newly marked lost (and arms the reordering timer if needed).
uint32_t rack_detect_loss(TcpSock* tp);
// Bytes in flight per RFC 6675's pipe.
uint32_t sack_pipe(TcpSock* tp);
// Marks every unSACKed outstanding segment lost (after an RTO).
void sack_mark_all_lost(TcpSock* tp);
// Retransmits lost segments while the window allows; returns whether it sent anything.
bool sack_retransmit(TcpSock* tp);
// Bookkeeping for a segment leaving the write queue (or trimmed by `bytes`).
void sack_forget(TcpSock* tp, rte_mbuf* seg, uint32_t bytes);
void enter_recovery(TcpSock* tp);
// Proportional Rate Reduction (RFC 6937, as Linux's tcp_init_cwnd_reduction / tcp_cwnd_reduction): the
// window falls to ssthresh over the next round trip, in step with what the peer receives, instead of at
// once (which stops sending until a third of the flight has drained, then bursts if losses drained
// more). prr_init when a reduction begins (ssthresh already set); prr_on_ack on every ACK while one runs
// (`delivered`: bytes newly acknowledged or SACKed; `newly_lost`: this ACK marked some lost).
inline bool in_cwnd_reduction(const TcpSock* tp) {
  return tp->ca_state == TcpCa::Cwr || (tp->ca_state == TcpCa::Recovery && tp->sack_ok);
}
void prr_init(TcpSock* tp);
void prr_on_ack(TcpSock* tp, uint32_t delivered, bool una_advanced, bool newly_lost);
// RFC 3168 §6.1.2: an ACK carried ECN-Echo; the window falls once per window of data (ca_state Cwr).
void ecn_on_ece(TcpSock* tp);
// A loss episode reduced the window: with ECN, the next new data segment says so (CWR), as Linux does.
inline void ecn_queue_cwr(TcpSock* tp) {
  if (tp->ecn_flags & kEcnOk) tp->ecn_flags |= kEcnQueueCwr;
}
// Spurious-reduction undo (RFC 3708 / RFC 4015): undo_init before a loss episode's reduction (saves the
// window), undo_note_retrans per segment it retransmits, undo_on_dsack per D-SACK block, and try_undo
// after an ACK is processed (restores the window once every retransmission came back duplicated).
void undo_init(TcpSock* tp);
void undo_note_retrans(TcpSock* tp);
void undo_on_dsack(TcpSock* tp, SeqNum l, SeqNum r);
bool try_undo(TcpSock* tp);
// The tail loss probe timeout (RFC 8985 §7.2).
Duration tlp_pto(TcpSock* tp);
void init_sack_timer(TcpSock* tp);

// Congestion window after the handshake (RFC 6928).
void init_cwnd(TcpSock* tp);
uint32_t initial_window(TcpSock* tp);
// Whether the congestion window is what limits sending (only then may it grow: RFC 7661 §4.2, RFC 5681
// §3.1 "only when ... fully utilized"); in slow start, while cwnd is below twice the most recently used.
bool is_cwnd_limited(TcpSock* tp);
// Effective send MSS from the peer's option, our MTU and TCP_MAXSEG.
void set_mss(TcpSock* tp, uint16_t peer_mss);
inline uint32_t flight_size(TcpSock* tp) { return static_cast<uint32_t>(tp->snd_max - tp->snd_una); }
// Bytes in flight as congestion control counts them (with SACK: the pipe).
inline uint32_t in_flight(TcpSock* tp) { return tp->sack_ok ? sack_pipe(tp) : flight_size(tp); }
// What a loss reduction multiplies (ssthresh = beta x this): FlightSize (RFC 5681 §3.1 eq. 4, so an
// application-limited sender does not keep a window it never used), but never more than cwnd (RFC 9438
// §4.6): with SACK the sequence space outstanding counts SACKed and lost segments the pipe does not, and can
// be several windows under heavy loss; reducing from it would raise the window instead.
inline uint32_t loss_base(TcpSock* tp) { return std::min(flight_size(tp), tp->cwnd); }
// TCP_NOTSENT_LOWAT (Linux's tcp_stream_memory_free): bytes queued and never sent, and whether they are
// below the limit (`wake`: below half of it, the hysteresis of a writer's wakeup).
inline uint32_t notsent_bytes(TcpSock* tp) {
  const int32_t n = static_cast<int32_t>((tp->snd_una + tp->write_bytes) - tp->snd_max);
  return n > 0 ? static_cast<uint32_t>(n) : 0;
}
inline bool notsent_ok(TcpSock* tp, bool wake) {
  return !tp->notsent_lim || (uint64_t{notsent_bytes(tp)} << (wake ? 1 : 0)) < tp->notsent_lim;
}
// TCP_INFO's chronographs (TcpSock::Stats, Linux's tcp_chrono_start/stop): busy while data is queued; within
// that, limited by the peer's window or by the send buffer. The most specific condition runs; one that
// ends hands back to "busy", or to none once the queue is empty.
// TCP_INFO's tcpi_fastopen_client_fail (Linux's TFO_* in linux/tcp.h).
inline constexpr uint8_t kTfoCookieUnavailable = 1, kTfoDataNotAcked = 2, kTfoSynRetransmitted = 3;
inline constexpr uint8_t kChronoNone = 0, kChronoBusy = 1, kChronoRwnd = 2, kChronoSndbuf = 3;
inline void chrono_set(TcpSock* tp, uint8_t type) {
  TcpSock::Stats& s = tp->st;
  const Instant now = shard_of(tp).now();
  if (s.chrono_type) s.chrono_ns[s.chrono_type - 1] += (now - s.chrono_start).count();
  s.chrono_type = type;
  s.chrono_start = now;
}
inline void chrono_start(TcpSock* tp, uint8_t type) {
  if (type > tp->st.chrono_type) chrono_set(tp, type);
}
inline void chrono_stop(TcpSock* tp, uint8_t type) {
  if (!tp->st.chrono_type) return;
  if (!tp->write_queue.front()) {
    chrono_set(tp, kChronoNone);
  } else if (type == tp->st.chrono_type) {
    chrono_set(tp, kChronoBusy);
  }
}
// A retransmission timeout episode (TCP_INFO's tcpi_total_rto_time) ends with the first ACK of new data.
inline void rto_episode_end(TcpSock* tp) {
  TcpSock::Stats& s = tp->st;
  if (!s.rto_stamp.ns()) return;
  s.total_rto_time_ms += static_cast<uint32_t>((shard_of(tp).now() - s.rto_stamp).count() / 1'000'000);
  s.rto_stamp = {};
}
// Our timestamp clock (RFC 7323 §5.4: 1 ms ticks), with the connection's random offset.
inline uint32_t ts_now(TcpSock* tp) {
  return static_cast<uint32_t>(shard_of(tp).now_ms()) + tp->ts_offset;
}
// The window scale we offer: enough for the largest receive buffer we may grow to (at most 14).
uint8_t choose_rcv_wscale(TcpSock* tp);
// Applies the peer's SYN options (RFC 7323 negotiation) after our own SYN went out (active) or before
// our SYN-ACK (passive).
void negotiate_syn_options(TcpSock* tp, const wire::TcpOptions& peer, bool we_offered_all);

}  // namespace skiff::tcp
