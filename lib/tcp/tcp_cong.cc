#include "tcp/tcp_cong.hh"

#include <cmath>
#include <cstring>

#include "tcp/tcp_impl.hh"

namespace skiff {

using tcp::shard_of;

namespace {

// Slow start (RFC 5681 §3.1 with byte counting, RFC 3465): common to both algorithms. cwnd grows by all the
// bytes an ACK newly acknowledges, up to ssthresh, as Linux's tcp_slow_start does: receivers acknowledge
// many segments at once (Linux after GRO, Skiff once per receive burst), and RFC 3465's per-ACK limit
// (L = 2 SMSS) would turn slow start under such stretch ACKs into a few segments per round trip. Returns
// the bytes left over once cwnd reaches ssthresh (for congestion avoidance).
uint32_t slow_start(TcpSock* tp, uint32_t acked) {
  if (tp->cwnd >= tp->ssthresh) return acked;
  const uint32_t inc = acked;
  const uint32_t room = tp->ssthresh - tp->cwnd;
  tp->cwnd += std::min(inc, room);
  return inc > room ? acked - room : 0;
}

// --- NewReno -------------------------------------------------------------------------------------

void reno_init(TcpSock*) {}

uint32_t reno_ssthresh(TcpSock* tp, uint32_t flight) { return std::max(flight / 2, 2u * tp->mss); }

void reno_avoid(TcpSock* tp, uint32_t acked, Instant) {
  acked = slow_start(tp, acked);
  if (!acked) return;
  tp->bytes_acked += acked;  // one MSS per window of data
  if (tp->bytes_acked >= tp->cwnd) {
    tp->bytes_acked -= tp->cwnd;
    tp->cwnd += tp->mss;
  }
}

void reno_loss(TcpSock*, Instant) {}

// --- CUBIC (RFC 9438) ----------------------------------------------------------------------------

constexpr double kC = 0.4;     // §5
constexpr double kBeta = 0.7;  // §4.6

void cubic_init(TcpSock* tp) { tp->cubic = CubicState{}; }

// --- HyStart (Linux's, in tcp_cubic.c; the bounds are its module parameters' defaults) ---------------

constexpr uint32_t kHystartLowWindow = 16;        // segments: below this slow start runs on regardless
constexpr Duration kHystartAckDelta = 2ms;        // ACKs closer than this make a train
constexpr uint8_t kHystartMinSamples = 8;         // RTT samples a round needs before its least one counts
constexpr uint32_t kHystartDelayMinUs = 4000;     // the RTT increase that ends slow start: an eighth of the
constexpr uint32_t kHystartDelayMaxUs = 16000;    // minimum RTT, within these bounds

// A new round: it ends when what is sent now is acknowledged.
void hystart_reset(TcpSock* tp, Instant now) {
  CubicState& c = tp->cubic;
  c.hystart_round = true;
  c.round_start = c.last_ack = now;
  c.end_seq = tp->snd_max;
  c.curr_rtt_us = UINT32_MAX;
  c.sample_cnt = 0;
}

// How much earlier than their data the ACKs of a round may come because the sender bursts (Linux's
// hystart_ack_delay: four 64 KiB TSO frames at the rate a pacing sender would use, at most 1 ms).
uint32_t hystart_ack_delay_us(const TcpSock* tp) {
  if (tp->srtt_us <= 0) return 0;
  const uint64_t rate = uint64_t{tp->cwnd} * 2 * 1'000'000 / static_cast<uint64_t>(tp->srtt_us);  // bytes/s
  return rate ? static_cast<uint32_t>(std::min<uint64_t>(1000, uint64_t{4} * 65536 * 1'000'000 / rate)) : 1000;
}

void hystart_found(TcpSock* tp, bool train) {
  Shard& sh = shard_of(tp);
  const uint32_t segs = tp->cwnd / std::max<uint32_t>(tp->mss, 1);
  if (train) {
    ++sh.stats.tcp_hystart_train_detect;
    sh.stats.tcp_hystart_train_cwnd += segs;
  } else {
    ++sh.stats.tcp_hystart_delay_detect;
    sh.stats.tcp_hystart_delay_cwnd += segs;
  }
  tp->cubic.hystart_found = true;
  tp->ssthresh = tp->cwnd;  // slow start ends here: congestion avoidance from this window
}

void hystart_update(TcpSock* tp, uint32_t delay_us, Instant now) {
  CubicState& c = tp->cubic;
  const unsigned detect = shard_of(tp).cfg.tcp.hystart;
  if (detect & 1) {
    // The ACKs of one round coming back to back for longer than half the minimum RTT: the data left at the
    // bottleneck's rate, so the window already covers the path (the sender does not pace: half, as Linux).
    if (now - c.last_ack <= kHystartAckDelta) {
      c.last_ack = now;
      const uint32_t threshold = (c.delay_min_us + hystart_ack_delay_us(tp)) / 2;
      if (now - c.round_start > std::chrono::microseconds(threshold)) hystart_found(tp, true);
    }
  }
  if (detect & 2) {
    // The round's least RTT, once it has enough samples, above the minimum by an eighth: a queue is building.
    c.curr_rtt_us = std::min(c.curr_rtt_us, delay_us);
    if (c.sample_cnt < kHystartMinSamples) {
      ++c.sample_cnt;
    } else if (c.curr_rtt_us > c.delay_min_us + std::clamp(c.delay_min_us >> 3, kHystartDelayMinUs, kHystartDelayMaxUs)) {
      hystart_found(tp, false);
    }
  }
}

void cubic_rtt(TcpSock* tp, uint32_t rtt_us, Instant now) {
  CubicState& c = tp->cubic;
  // Not in the first second of an epoch: right after a recovery the samples still show its queue.
  if (c.in_epoch && now - c.epoch < 1s) return;
  rtt_us = std::max<uint32_t>(rtt_us, 1);
  if (!c.delay_min_us || c.delay_min_us > rtt_us) c.delay_min_us = rtt_us;
  if (c.hystart_found || tp->cwnd >= tp->ssthresh || !shard_of(tp).cfg.tcp.hystart) return;
  // A round ends when SND.UNA passes what was sent when it began (as Linux since 5.16: here, with SND.UNA
  // already moved by this ACK, and whatever the window, as since 6.13; a reset on the next ACK instead
  // would time an application's pause between two responses as part of a train).
  if (!c.hystart_round || tp->snd_una.gt(c.end_seq)) hystart_reset(tp, now);
  if (tp->cwnd >= kHystartLowWindow * tp->mss) hystart_update(tp, rtt_us, now);
}

void cubic_loss(TcpSock* tp, Instant) {
  CubicState& c = tp->cubic;
  const double w = static_cast<double>(tp->cwnd) / tp->mss;
  // §4.7 fast convergence: release bandwidth sooner when the available capacity shrank.
  c.w_max = w < c.w_max ? w * (1.0 + kBeta) / 2.0 : w;
  c.in_epoch = false;
}

uint32_t cubic_ssthresh(TcpSock* tp, uint32_t flight) {
  // §4.6: ssthresh = flight_size * beta_cubic (at least two segments).
  return std::max(static_cast<uint32_t>(flight * kBeta), 2u * tp->mss);
}

void cubic_avoid(TcpSock* tp, uint32_t acked, Instant now) {
  acked = slow_start(tp, acked);
  if (!acked) return;
  CubicState& c = tp->cubic;
  const double mss = tp->mss;
  const double cwnd = tp->cwnd / mss;
  if (!c.in_epoch) {
    c.in_epoch = true;
    c.epoch = now;
    c.w_est = cwnd;
    if (cwnd < c.w_max) {
      c.k = std::cbrt((c.w_max - cwnd) / kC);  // §4.2 eq. 2
      c.origin = c.w_max;
    } else {
      c.k = 0;
      c.origin = cwnd;
    }
  }
  // §4.2: W_cubic(t + RTT); t from the epoch start.
  const double rtt = std::max<double>(tp->srtt_us, 1000) / 1e6;
  const double t = std::chrono::duration<double>(now - c.epoch).count() + rtt;
  // The target is at most 1.5 times the window (§4.2): so each segment acknowledged adds at most half a
  // segment, and the window grows by at most half per RTT, however far the curve has run ahead (Linux's
  // cnt >= 2).
  const double target = std::min(c.origin + kC * std::pow(t - c.k, 3), cwnd * 1.5);
  // §4.3: the Reno-friendly region (alpha = 3 (1 - beta) / (1 + beta)).
  const double alpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
  c.w_est += alpha * (acked / mss) / cwnd;
  double next = target > cwnd ? cwnd + (target - cwnd) / cwnd * (acked / mss) : cwnd + 0.01 * (acked / mss) / cwnd;
  if (c.w_est > next) next = c.w_est;
  // With no W_max to aim at (no loss yet, as after HyStart ended slow start, or a timeout started over) the
  // window grows at least 5 % a round trip, as Linux's (bictcp_update: cnt at most 20 while last_max_cwnd
  // is 0); the curve alone, starting flat at the window, would take seconds to add a few segments.
  if (c.w_max == 0) next = std::max(next, cwnd + (acked / mss) / 20.0);
  // Whichever leads, at most half a segment per segment acknowledged (Linux's cnt >= 2): the Reno-friendly
  // estimate may stand far above a window that idle or application-limited time brought down. Whole bytes:
  next = std::min(next, cwnd + 0.5 * (acked / mss));
  c.acked_frac += (next - cwnd) * mss;
  if (c.acked_frac >= 1.0) {
    const uint32_t add = static_cast<uint32_t>(c.acked_frac);
    tp->cwnd += add;
    c.acked_frac -= add;
  }
}

}  // namespace

const CongOps cong_newreno = {"reno", reno_init, reno_ssthresh, reno_avoid, reno_loss, nullptr};
const CongOps cong_cubic = {"cubic", cubic_init, cubic_ssthresh, cubic_avoid, cubic_loss, cubic_rtt};

const CongOps* cong_find(const char* name, size_t len) {
  auto is = [&](const char* n) { return strlen(n) == len && memcmp(n, name, len) == 0; };
  if (is("cubic")) return &cong_cubic;
  if (is("reno") || is("newreno")) return &cong_newreno;
  return nullptr;
}

const CongOps* cong_default() { return &cong_cubic; }

}  // namespace skiff
