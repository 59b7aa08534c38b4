#include "tcp/tcp_cong.hh"

#include <cmath>
#include <cstring>

#include "tcp/tcp_impl.hh"

namespace skiff {

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

const CongOps cong_newreno = {"reno", reno_init, reno_ssthresh, reno_avoid, reno_loss};
const CongOps cong_cubic = {"cubic", cubic_init, cubic_ssthresh, cubic_avoid, cubic_loss};

const CongOps* cong_find(const char* name, size_t len) {
  auto is = [&](const char* n) { return strlen(n) == len && memcmp(n, name, len) == 0; };
  if (is("cubic")) return &cong_cubic;
  if (is("reno") || is("newreno")) return &cong_newreno;
  return nullptr;
}

const CongOps* cong_default() { return &cong_cubic; }

}  // namespace skiff
