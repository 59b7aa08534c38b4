#pragma once
// TCP (RFC 9293): the socket object, its transport table (tcp_prot) and socket-level operations
// (inet_stream_ops), and the entry points the rest of the stack calls.
//
// Objects nest as in Linux: TcpSock ⊃ InetConnectionSock ⊃ InetSock ⊃ Sock, each the first member of the
// next. A connection belongs to one shard; everything here runs on that shard's lcore.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/timer_wheel.hh"
#include "tcp/tcp_cong.hh"
#include "tcp/tcp_ooo.hh"
#include "mem/pktbuf.hh"
#include "sock/proto.hh"
#include "sock/sock.hh"
#include "tcp/tcp_table.hh"
#include "wire/seqnum.hh"

namespace skiff {

class RssMap;

class Shard;
struct Ipv4Rx;
struct TcpSock;
using wire::SeqNum;

// struct inet_connection_sock: what listeners and connections share (accept queue, timers' owner).
struct InetConnectionSock {
  InetSock inet;
  // Listener: children that completed the handshake and wait for accept(), FIFO.
  TcpSock* accept_head = nullptr;
  TcpSock* accept_tail = nullptr;
  uint32_t accept_len = 0;
  uint32_t syn_len = 0;                 // children in SYN-RECEIVED
  uint32_t max_backlog = 0;             // listen()'s backlog: the accept queue holds up to max_backlog + 1
  // Listener: TCP_DEFER_ACCEPT as a count of SYN-ACK timeouts (Linux's rskq_defer_accept; 0: off). A
  // handshake's bare final ACK is dropped until that many have passed; data or a FIN completes it at once.
  uint8_t defer_accept = 0;
  // Listener: when the SYN queue last overflowed (a SYN-cookie SYN-ACK went; 0: never). An ACK is only
  // checked as a cookie within the cookies' validity after it (Linux's tcp_synq_no_recent_overflow).
  Instant synq_overflow{};
  // Listener: TCP_FASTOPEN (RFC 7413 server): at most this many Fast Open connections not yet through their
  // handshake (Linux's fastopenq.max_qlen; 0: Fast Open off), and how many there are now.
  uint32_t fastopen_max = 0;
  uint32_t fastopen_len = 0;
  // TCP_FASTOPEN_KEY as set on this socket (used when it listens); nullptr: the stack's keys.
  std::unique_ptr<FastOpenKeys> fastopen_keys;
};

// Linux's TCP_CA_* states. Cwr: the window was reduced on an ECN-Echo (RFC 3168 §6.1.2) and holds until
// data sent after the reduction is acknowledged (past cwr_end); no further reduction for that window.
enum class TcpCa : uint8_t { Open, Disorder, Cwr, Recovery, Loss };

struct TcpSock {
  InetConnectionSock icsk;

  // RFC 9293 §3.3.1 send and receive sequence variables.
  SeqNum iss, irs;
  SeqNum snd_una, snd_nxt, snd_max;     // snd_max: highest sequence sent (snd_nxt rewinds on RTO)
  SeqNum snd_wl1, snd_wl2;
  SeqNum snd_sml;                       // end of the last short data segment sent (Minshall's Nagle, Linux's snd_sml)
  uint32_t snd_wnd = 0;                 // peer's window (scaled)
  uint32_t max_window = 0;              // largest window the peer offered
  SeqNum rcv_nxt;
  SeqNum rcv_adv;                       // right edge of the window we advertised (rcv_nxt + rcv_wnd)
  uint32_t rcv_wnd = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  // RFC 7323: window scaling and timestamps, each on only when both SYNs carried the option.
  bool wscale_ok = false;
  bool ts_ok = false;
  uint32_t ts_recent = 0;               // TS.Recent: the peer's last valid TSval
  Instant ts_recent_stamp{};            // when TS.Recent was recorded (PAWS: invalid after 24 days)
  uint32_t ts_offset = 0;               // keyed per address pair offset of our TSval clock (ts_offset_for)
  SeqNum last_ack_sent;                 // Last.ACK.sent (RFC 7323 §4.3)

  // SACK (RFC 2018, D-SACK RFC 2883), on when both SYNs carried SACK-permitted.
  bool sack_ok = false;
  bool dsack_pending = false;           // receiver: a duplicate to report in the next ACK
  bool window_clamped = false;          // TCP_WINDOW_CLAMP set: window_clamp bounds what we advertise
  SeqNum dsack_l, dsack_r;
  uint64_t ooo_stamp = 0;               // receiver: counter stamping out-of-order ranges as they grow (SACK order)
  uint32_t sacked_out = 0;              // sender scoreboard, bytes: SACKed
  uint32_t lost_out = 0;                //   marked lost (retransmitted or not)
  uint32_t retrans_out = 0;             //   retransmitted and still outstanding
  // Runs of consecutive SACKed segments (first..last in queue order) that the last SACK walk found, the
  // longest few: the scoreboard walks jump over them instead of stepping through every SACKed segment,
  // so an ACK in recovery costs what changed, not the whole flight. Kept exact as segments are freed.
  struct SackRun {
    rte_mbuf* first;
    rte_mbuf* last;
    uint32_t bytes;
  };
  static constexpr uint8_t kSackRuns = 4;
  SackRun sack_runs[kSackRuns];
  uint8_t num_sack_runs = 0;
  // RACK-TLP (RFC 8985).
  uint64_t rack_xmit_ns = 0;            // send time of the most recently sent segment that was delivered
  SeqNum rack_end;
  int64_t rack_rtt_us = 0;
  int64_t min_rtt_us = 0;               // windowed minimum RTT (Linux's tcp_min_rtt_wlen: 300 s)
  Instant min_rtt_stamp{};              // when min_rtt_us was taken
  uint64_t sack_first_xmit_ns = 0;      // this ACK's newly SACKed, never-retransmitted segments: the earliest
                                        // send time (an RTT sample where nothing new is cumulatively acked)
  // RACK's reordering window (RFC 8985 §6.2 steps 3-4).
  SeqNum rack_fack;                     // the highest end of any delivered segment (RACK.fack)
  bool rack_fack_set = false;
  bool reord_seen = false;              // reordering observed: no DupThresh shortcut any more
  bool dsack_round_open = false;        // a D-SACK grew the window this round (until snd_una passes dsack_round)
  bool dsack_tlp = false;               // this ACK's D-SACK reports the tail loss probe's retransmission
  uint16_t reo_wnd_mult = 1;            // the window in quarters of min RTT, grown by D-SACKs (to SRTT)
  uint8_t reo_wnd_persist = 0;          // recoveries left before reo_wnd_mult resets to 1
  SeqNum dsack_round;
  bool tlp_armed = false;               // the retransmission timer is a tail loss probe timeout
  bool tlp_sent = false;                // one probe per episode
  // RFC 8985 §7.4: a probe that retransmitted may have repaired a loss, which then calls for a reduction.
  bool tlp_pending = false;             // a probe is out and its outcome unknown (TLP.end_seq set)
  bool tlp_is_retrans = false;          // ... and it was a retransmission (TLP.is_retrans)
  SeqNum tlp_end;                       // SND.NXT when the probe went (TLP.end_seq)
  Timer reo_timer;                      // RACK reordering window
  // Receive-buffer autotuning (dynamic right-sizing, as Linux's tcp_rcv_space_adjust).
  uint32_t rcvq_space = 0;              // the most the application read in one RTT (at least the initial window)
  uint32_t rcvq_copied = 0;             // bytes read since rcvq_time
  Instant rcvq_time{};
  int64_t rcv_rtt_us = 0;               // receiver-side RTT estimate (from echoed timestamps)
  // Congestion control (TCP_CONGESTION).
  const CongOps* cc = nullptr;
  CubicState cubic;

  uint16_t mss = 536;                   // effective send MSS
  uint16_t peer_mss = 536;              // from the peer's SYN
  uint16_t advmss = 1460;               // what we announce
  uint16_t user_mss = 0;                // TCP_MAXSEG
  uint16_t pmtu = 0;                    // path MTU (RFC 1191): the interface's, or lower as ICMP taught
  uint32_t pmtu_gen = 0;                // the shard's PmtuCache::gen() when pmtu was last compared with it

  // Send side: the write queue holds every unacknowledged and unsent byte, in sequence order, in segments
  // of at most `mss` bytes when queued (PktMeta::seq = first byte; a later path MTU drop leaves larger
  // ones, cut to the MSS as they are sent: fit_to_mss). send_head = first segment not yet sent.
  PktQueue write_queue;
  rte_mbuf* send_head = nullptr;
  uint32_t write_bytes = 0;             // bytes in the write queue (sent or not)
  bool fin_queued = false;              // the application is done sending: FIN follows the queue
  bool fin_sent = false;
  SeqNum fin_seq;                       // sequence number of our FIN

  // Receive side (in-order data is on sk.receive_queue; PktMeta::offset = bytes already read).
  PktQueue ooo_queue;                   // out of order, sorted by seq, at most cfg.ooo_max_segs
  OooIndex ooo_ranges;                  // ... and the ranges of sequence space it holds (tcp_ooo.hh)
  uint32_t rcv_queued = 0;              // payload bytes readable
  bool fin_received = false;

  // RTT and retransmission (RFC 6298).
  int64_t srtt_us = 0, rttvar_us = 0;
  int64_t rto_us = 1'000'000;
  uint8_t backoff = 0;                  // consecutive RTO expirations
  bool rtt_pending = false;             // timing the SYN-ACK (Karn: sent once); data is timed per segment
  SeqNum rtt_seq;
  Instant rtt_start{};
  uint32_t retransmits = 0;             // retransmissions of the current head (TCP_INFO tcpi_retransmits)
  uint32_t zero_wnd_rtos = 0;           // ... of which timeouts into a zero window (window probes)
  uint32_t total_retrans = 0;
  Instant retrans_start{};              // first retransmission of the current head (TCP_USER_TIMEOUT)

  // Congestion control (RFC 5681, NewReno RFC 6582).
  uint32_t cwnd = 0, ssthresh = 0x7fffffff;
  uint32_t dupacks = 0;
  uint32_t bytes_acked = 0;             // for congestion avoidance (RFC 3465 byte counting)
  SeqNum recover;
  TcpCa ca_state = TcpCa::Open;
  // (The next two fill what was padding in a line every ACK touches.)
  uint8_t ecn_flags = 0;                // Explicit Congestion Notification (RFC 3168): tcp::kEcn* bits
  bool lowat_blocked = false;           // a send() stopped at TCP_NOTSENT_LOWAT: wake the writer below half of it
  // Undo of a window reduction that proves spurious (RFC 3708's D-SACK detection, the response of
  // RFC 4015; Linux's undo_marker/undo_retrans): the episode's retransmissions are counted, each D-SACK
  // for data past undo_marker takes one off, and once all came back as duplicates the window before the
  // episode returns.
  bool undo_armed = false;              // an episode's reduction may still be undone
  SeqNum undo_marker;                   // SND.UNA when the episode began
  uint32_t undo_sent = 0;               // segments retransmitted in the episode
  uint32_t undo_retrans = 0;            // ... not yet reported as duplicates
  uint32_t prior_cwnd = 0, prior_ssthresh = 0;
  CubicState prior_cubic;
  // Congestion window validation (RFC 7661's aim, Linux's mechanism): the window grows only while it is
  // what limits sending, and falls back towards what was used after application-limited or idle stretches.
  bool cwnd_limited = false;            // sending stopped on cwnd during the current window of data
  uint32_t max_flight = 0;              // most bytes in flight during the current window
  SeqNum cwnd_usage_end;                // the current window ends once snd_una passes this
  uint32_t cwnd_used = 0;               // most bytes in flight while not cwnd-limited
  Instant cwnd_stamp{};                 // cwnd last found fully used (or last decayed)
  Instant last_data_sent{};             // last transmission of new data (restart after idle)

  // Delayed ACK.
  uint8_t segs_unacked = 0;             // full segments received since our last ACK
  uint8_t quickack = 0;                 // ACK the next N segments at once (connection start)
  // The peer's segment size as we see it (Linux's icsk_ack.rcv_mss, tcp_measure_rcv_mss): what a "full
  // segment" is for the ACK-every-second rule, which the peer's announced MSS is not when its path or its
  // application sends smaller ones. 0 until the connection is established.
  uint16_t rcv_mss = 0;
  uint16_t rcv_last_seg = 0;            // the last short segment that may be the peer's size (two in a row make it so)
  bool ack_pending = false;
  Instant ack_pending_since{};          // when ack_pending last became true (the delayed ACK's deadline base)
  bool ack_deferred = false;            // on the shard's list of ACKs to send once the burst is processed

  // Timers: one wheel entry each.
  Timer rto_timer, delack_timer, persist_timer, keepalive_timer, tw_timer;
  // Set while the retransmission timer runs (RFC 6298): when it expires. rto_timer may be armed while it
  // does not run, or armed earlier than this: on_rto then does nothing, or waits out the rest (rto_start).
  std::optional<Instant> rto_due;
  uint8_t probes_out = 0;               // zero-window or keepalive probes unanswered

  // Options (setsockopt).
  bool nodelay = false;
  bool cork = false;
  uint8_t syn_retries = 0;              // TCP_SYNCNT (0: [tcp] syn-retries, or synack-retries for a child)
  uint32_t notsent_lim = 0;             // TCP_NOTSENT_LOWAT in force (set, else [tcp] notsent-lowat; 0: none)
  int64_t keepidle_ns = 0, keepintvl_ns = 0;  // 0 = the stack defaults
  uint8_t keepcnt = 0;
  uint32_t user_timeout_ms = 0;
  int linger2_s = 0;

  // Bookkeeping.
  Instant last_rcv{}, last_snd{};
  Instant neigh_confirmed{};            // last time forward progress confirmed the next hop's ARP entry
  // The last challenge ACK or answer to an out-of-window segment (0: none yet): at most one per 500 ms
  // (Linux's tp->last_oow_ack_time, tcp_oow_rate_limited).
  Instant last_oow_ack{};
  TcpSock* parent = nullptr;            // listener of a child not yet accepted
  TcpSock* accept_next = nullptr;
  TcpSock* hnext = nullptr;             // established-table chain
  bool hashed = false;
  bool orphan = false;                  // no descriptor any more (closed): freed when it reaches CLOSED
  bool bound = false;                   // in the port table
  bool bound_explicitly = false;        // by bind() (a port connect() must not share)
  bool homed = false;             // several shards: port announced to the others (an unsteerable active open)
  // Several shards, an active open whose replies RSS sends to another shard: the SYN waits until that
  // shard lends the 4-tuple (TcpTable::lend); lent_by/lend_seq name the loan, given back when unhashed.
  bool lend_pending = false;
  bool lent = false;
  uint8_t lent_by = 0;
  uint32_t lend_seq = 0;
  bool was_connected = false;           // reached ESTABLISHED once (recv on CLOSED gives 0, not ENOTCONN)
  bool connect_reported = false;        // connect() already returned success once
  // Child in SYN-RECEIVED: its final ACK was held back (TCP_DEFER_ACCEPT, or a full accept queue; Linux's
  // inet_rsk(req)->acked); that ACK gave the RTT sample if the SYN-ACK had gone once only.
  bool defer_acked = false;
  // SYN-RECEIVED by a simultaneous open (RFC 9293 §3.5): our SYN-ACKs are this socket's own, counted in
  // TCP_INFO's segs_out (a listener's child's are its request socket's in Linux, not counted).
  bool simultaneous_open = false;
  // A Fast Open connection (RFC 7413) of a listener until the peer acknowledges its SYN-ACK (Linux's
  // tp->fastopen_rsk): it waits in the accept queue from its SYN and reads and writes in SYN-RECEIVED; an
  // application that closes or shuts down before the ACK takes it to FIN-WAIT-1 with the SYN-ACK still
  // to be acknowledged (its timer and a repeated SYN still send the SYN-ACK). Counted in
  // fastopen_listener's fastopen_len (nullptr once that listener is gone) until then.
  bool fastopen_child = false;
  // The SYN-ACK carries our Fast Open cookie for the peer (it asked for one, or offered a wrong one), in the
  // option's experimental form (kind 254, magic 0xF989) if the peer used that one.
  bool fastopen_send_cookie = false;
  bool fastopen_exp = false;
  // TCPI_OPT_SYN_DATA: our SYN-ACK acknowledged data of the peer's SYN, or the peer's SYN-ACK all of ours.
  bool syn_data_acked = false;
  TcpSock* fastopen_listener = nullptr;
  // Fast Open client (RFC 7413 §4.1): TCP_FASTOPEN_CONNECT as set; a connect() it deferred (SYN-SENT, no SYN
  // sent yet: the first write sends it with the data); our first SYN carries the option (fastopen_exp: in
  // the experimental form) with fastopen_cookie_len bytes of cookie (0: a cookie request), and, with a
  // cookie, the first queued segment as its data.
  bool fastopen_connect = false;
  // TCP_FASTOPEN_NO_COOKIE (Linux's fastopen_no_cookie): a client's SYN carries its data with no cookie
  // and no option; a listener takes SYN data without a cookie (for paths where both ends are trusted).
  bool fastopen_no_cookie = false;
  bool fastopen_defer = false;
  bool syn_fastopen = false;
  // The SYN was sent again (plain) on ICMP "fragmentation needed" for its data: that resend is not one of
  // the SYN's retries (Linux's tcp_simple_retransmit is no timeout).
  bool syn_pmtu_resent = false;
  uint8_t fastopen_cookie_len = 0;

  // Rarely used: at the end, out of the per-packet path's cache lines.
  SeqNum cwr_end;                       // ca_state Cwr lasts until snd_una passes this (SND.MAX at the reduction)
  uint32_t notsent_lowat = 0;           // TCP_NOTSENT_LOWAT as set (0: none set; notsent_lim is in force)
  uint32_t window_clamp = 0;            // TCP_WINDOW_CLAMP (window_clamped)
  // Proportional Rate Reduction (RFC 6937; Linux's prr_*) while the window falls (Recovery with SACK,
  // Cwr): the bytes delivered to the peer and sent by us since the reduction began, and the window then.
  uint32_t prr_delivered = 0, prr_out = 0, prr_recover_fs = 0;
  int64_t fin_xmit_ns = 0;              // when a FIN of its own (no data with it) last left (RFC 6069 revert)
  // The cookie our SYN carries (syn_fastopen), or, in a listener's child, the one its SYN-ACK gives
  // (fastopen_send_cookie).
  uint8_t fastopen_cookie[16] = {};

  // TCP_INFO's counters and clocks, as Linux keeps them (its tcp_sock fields of these names; most are
  // RFC 4898's statistics). Counted as Linux counts them (measured on 6.18): segments in and out include
  // pure ACKs, an active open's SYN and the peer's SYN-ACK (a child counts the peer's SYN, not its own
  // SYN-ACK); bytes acknowledged and received are sequence space, so our FIN, the peer's FIN and an active
  // open's SYN count one each; `delivered` counts segments acknowledged or SACKed, the handshake's SYN and
  // our FIN included.
  // (What every segment touches comes first, in one cache line of its own: sockets are 64-byte aligned.)
  struct alignas(64) Stats {
    uint64_t bytes_acked = 0;       // tcpi_bytes_acked
    uint64_t bytes_received = 0;    // tcpi_bytes_received
    uint64_t bytes_sent = 0;        // payload sent, retransmissions included
    uint32_t segs_in = 0, segs_out = 0;
    uint32_t data_segs_in = 0, data_segs_out = 0;
    uint32_t delivered = 0;
    uint8_t chrono_type = 0;        // the chronograph running (kChrono*)
    bool rate_app_limited = true;   // tcpi_delivery_rate_app_limited: the last round did not fill the window
    bool reord_ack = false;         // the ACK being processed revealed reordering (reord_low: its lowest segment)
    // Delivery rate (tcpi_delivery_rate): the bytes acknowledged over one round trip, measured from the round's
    // start (the ACK that ended the last round, or the first data sent after an idle period) to the ACK that
    // passes the round's end (SND.MAX at its start). The last round's bytes and time; the rate is their
    // quotient (computed when TCP_INFO is read).
    Instant rate_t0{};              // the round's start (0: none runs, the connection is idle)
    // (Touched once per busy period or round trip.)
    SeqNum rate_end;
    uint32_t rate_bytes = 0;
    uint64_t rate_acked0 = 0;       // bytes_acked at the round's start
    int64_t rate_ns = 0;
    // Chronographs (Linux's tcp_chrono_*): time with data queued (busy), of which limited by the peer's
    // window or by the send buffer. One runs at a time, the most specific.
    Instant chrono_start{};
    int64_t chrono_ns[3] = {};      // busy, rwnd-limited, sndbuf-limited
    uint64_t bytes_retrans = 0;
    uint32_t delivered_ce = 0;      // ... of them by an ACK with ECN-Echo
    uint32_t dsack_dups = 0;        // D-SACK blocks received
    uint32_t reord_seen = 0;        // ACKs that revealed reordering (Linux's tcp_check_sack_reordering)
    uint32_t reordering = 3;        // the most segments a delivery came behind (Linux's tp->reordering)
    SeqNum reord_low;
    uint32_t rcv_ooopack = 0;       // segments queued out of order
    uint16_t total_rto = 0;         // retransmission timeouts
    uint16_t total_rto_recoveries = 0;  // ... episodes of them (the first timeout of each)
    uint32_t total_rto_time_ms = 0; // time spent in ended episodes
    Instant rto_stamp{};            // the running episode's first timeout (0: none runs)
    uint8_t fastopen_client_fail = 0;  // tcpi_fastopen_client_fail (TFO_*)
  } st;
};

static_assert(offsetof(InetConnectionSock, inet) == 0 && offsetof(TcpSock, icsk) == 0);

inline TcpSock* tcp_sk(Sock* sk) { return reinterpret_cast<TcpSock*>(sk); }
inline Sock* sk_of(TcpSock* tp) { return &tp->icsk.inet.sk; }
inline InetSock* inet_of(TcpSock* tp) { return &tp->icsk.inet; }

extern const Proto tcp_prot;
extern const ProtoOps inet_stream_ops;

// A segment arrived (data at the TCP header).
void tcp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx);
// Sends the ACKs deferred while a receive burst was processed (Shard::flush, before the TX burst).
void tcp_flush_deferred_acks(Shard& sh);
// An ICMP error about a TCP segment we sent: `quote` is the quoted datagram, `info` the ICMP header's
// second word (the next-hop MTU of "fragmentation needed").
void tcp_err(Shard& sh, uint8_t type, uint8_t code, uint32_t info, const uint8_t* quote, size_t len);

// A RETA change (Stack::set_reta) gives some 4-tuples new owners while their connections stay on the shard
// that has them: each such tuple is lent by its new owner before any shard uses the new map. Each step runs
// on every shard before the next one starts:
//   1. tcp_reta_plan lists the shard's connections whose lender (the owner, or the shard itself when it
//      owns the tuple) changes under `next`;
//   2. tcp_reta_lend, for every shard's list, records the loans this shard makes as a new owner;
//   3. every shard switches to `next`;
//   4. tcp_reta_settle takes back the loans this shard made as an old owner and, on the borrower, moves
//      each connection's loan to its new lender (or gives the new loan back if the connection has gone).
struct TcpTupleMove {
  wire::Ipv4Addr l, r;
  uint16_t lp, rp;
  uint8_t borrower, from, to;  // the lender before and after (the borrower itself: no loan)
  uint32_t old_seq, new_seq;
};
void tcp_reta_plan(Shard& sh, const RssMap& next, std::vector<TcpTupleMove>& out);
void tcp_reta_lend(Shard& sh, const TcpTupleMove& m);
void tcp_reta_settle(Shard& sh, const TcpTupleMove& m);

const char* tcp_state_name(uint8_t state);
// Frees every connection left on the shard (orphans in FIN-WAIT or TIME-WAIT) at shutdown.
void tcp_destroy_all(Shard& sh);

}  // namespace skiff
