#pragma once
// Congestion control as a per-socket choice (TCP_CONGESTION): CUBIC (RFC 9438, the default) and NewReno
// (RFC 5681 + RFC 6582). Loss recovery itself (fast retransmit, SACK/RACK) is common; an algorithm decides
// how the window grows and how far it falls.

#include <cstdint>

#include "base/time.hh"
#include "wire/seqnum.hh"

namespace skiff {

struct TcpSock;

struct CongOps {
  const char* name;
  void (*init)(TcpSock* tp);
  // The new ssthresh when a loss is detected (the window falls to it), from the flight it happened in.
  uint32_t (*ssthresh)(TcpSock* tp, uint32_t flight);
  // Window growth outside recovery: `acked` bytes newly acknowledged at `now`.
  void (*cong_avoid)(TcpSock* tp, uint32_t acked, Instant now);
  // A loss episode starts (fast retransmit, RACK loss, or RTO) — before ssthresh is taken.
  void (*on_loss)(TcpSock* tp, Instant now);
  // An RTT sample of `rtt_us` (Karn's rule kept) from an ACK at `now` (Linux's pkts_acked); may be null.
  void (*on_rtt)(TcpSock* tp, uint32_t rtt_us, Instant now);
};

extern const CongOps cong_cubic;
extern const CongOps cong_newreno;

// By name ("cubic", "reno"/"newreno"); nullptr if unknown.
const CongOps* cong_find(const char* name, size_t len);
const CongOps* cong_default();

// CUBIC's per-connection state (RFC 9438 §4).
struct CubicState {
  double w_max = 0;          // window before the last reduction, in segments
  double k = 0;              // seconds to reach w_max
  double origin = 0;         // the window the cubic curve is centred on
  double w_est = 0;          // Reno-friendly estimate (§4.3)
  Instant epoch{};           // start of the current congestion-avoidance epoch
  bool in_epoch = false;
  double acked_frac = 0;     // fractional segments acked (for sub-segment growth)
  // HyStart (Linux's, in tcp_cubic.c): slow start ends when a round's ACKs arrive as a train spanning half
  // the minimum RTT, or its RTT grew by an eighth (4-16 ms), before a loss would end it.
  bool hystart_round = false;      // a round is being timed (from round_start, until SND.UNA passes end_seq)
  bool hystart_found = false;      // slow start was ended this way (until a timeout starts over)
  uint8_t sample_cnt = 0;          // RTT samples this round
  uint32_t curr_rtt_us = 0;        // the least of them
  uint32_t delay_min_us = 0;       // the least RTT seen (0: none yet)
  Instant round_start{}, last_ack{};
  wire::SeqNum end_seq{};
};

}  // namespace skiff
