#include "core/token_bucket.hh"

#include <algorithm>

namespace skiff {

void TokenBucket::refill(Instant now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (rate_ == 0) return;
  const Duration per_token = Duration(1'000'000'000 / rate_);
  if (now > last_) {
    const uint64_t earned = static_cast<uint64_t>((now - last_) / per_token);
    if (earned) {
      tokens_ = std::min<uint64_t>(burst_, tokens_ + earned);
      last_ = tokens_ >= burst_ ? now : last_ + per_token * static_cast<int64_t>(earned);
    }
  }
}

bool TokenBucket::take(Instant now) {
  if (!allow(now)) return false;
  --tokens_;
  return true;
}

bool TokenBucket::allow(Instant now) {
  refill(now);
  return rate_ != 0 && tokens_ != 0;
}

PeerRateLimit::PeerRateLimit(Duration interval, uint32_t burst, uint64_t secret)
    : interval_ns_(interval.count()), max_credit_ns_(interval.count() * burst), secret_(secret) {}

bool PeerRateLimit::allow(uint32_t key, Instant now) {
  if (interval_ns_ <= 0) return true;
  // A keyed multiplicative hash: which keys share a slot is not known outside.
  const uint64_t h = (uint64_t{key} ^ secret_) * 0x9e3779b97f4a7c15ull;
  Slot& s = slots_[(h ^ (h >> 29) ^ (secret_ >> 17)) % kSlots];
  if (!s.used || s.key != key) {
    s = Slot{key, true, max_credit_ns_, now};
  } else if (now > s.last) {
    s.credit_ns = std::min(max_credit_ns_, s.credit_ns + (now - s.last).count());
    s.last = now;
  }
  if (s.credit_ns < interval_ns_) return false;
  s.credit_ns -= interval_ns_;
  return true;
}

void TokenBucket::configure(uint32_t rate_per_sec, uint32_t burst) {
  rate_ = rate_per_sec;
  burst_ = burst;
  tokens_ = std::min<uint64_t>(tokens_, burst);
}

}  // namespace skiff
