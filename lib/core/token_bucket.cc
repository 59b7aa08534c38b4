#include "core/token_bucket.hh"

#include <algorithm>

namespace skiff {

bool TokenBucket::take(Instant now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (rate_ == 0) return false;
  const Duration per_token = Duration(1'000'000'000 / rate_);
  if (now > last_) {
    const uint64_t earned = static_cast<uint64_t>((now - last_) / per_token);
    if (earned) {
      tokens_ = std::min<uint64_t>(burst_, tokens_ + earned);
      last_ = tokens_ >= burst_ ? now : last_ + per_token * static_cast<int64_t>(earned);
    }
  }
  if (tokens_ == 0) return false;
  --tokens_;
  return true;
}

void TokenBucket::configure(uint32_t rate_per_sec, uint32_t burst) {
  rate_ = rate_per_sec;
  burst_ = burst;
  tokens_ = std::min<uint64_t>(tokens_, burst);
}

}  // namespace skiff
