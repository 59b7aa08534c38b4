#include "skiff-ping/pinger.hh"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace skiff::app {

Pinger::Pinger(Shard& sh, const PingOptions& o, FILE* out)
    : sh_(sh), o_(o), out_(out), ident_(static_cast<uint16_t>(sh.rng.next())), buf_(o.size) {
  sent_at_.resize(o.count);
  got_.resize(o.count);
}

void Pinger::fill_payload(uint16_t seq, uint8_t* p) const {
  // A pattern that depends on the sequence number and position, so a reply from the wrong request or a
  // corrupted byte is noticed.
  for (size_t i = 0; i < o_.size; ++i) p[i] = static_cast<uint8_t>((i * 7 + seq * 13 + 0x5a) & 0xff);
}

void Pinger::start() {
  sh_.update_clock();
  start_ = next_ = sh_.now();
  sh_.on_echo_reply = [this](const Ipv4Rx& rx, const Pktbuf& p, Instant now) { on_reply(rx, p, now); };
  fprintf(out_, "%sPING %s %zu(%zu) bytes of data.\n", o_.label.c_str(), o_.dest.to_string().c_str(), o_.size,
          o_.size + 28);
}

void Pinger::tick() {
  if (done_) return;
  const Instant now = sh_.now();
  if (sent_ < o_.count && now >= next_) {
    fill_payload(static_cast<uint16_t>(sent_ + 1), buf_.data());
    sent_at_[sent_] = now;
    const int rc = icmp_send_echo(sh_, o_.dest, ident_, static_cast<uint16_t>(sent_ + 1), buf_.data(), o_.size, o_.ttl);
    if (rc < 0) {
      ++errors_;
      fprintf(out_, "%ssend icmp_seq=%u: %s\n", o_.label.c_str(), sent_ + 1, strerror(-rc));
    }
    ++sent_;
    last_sent_ = now;
    next_ = next_ + o_.interval;
  }
  if (sent_ == o_.count && (received_ + corrupt_ >= o_.count || now - last_sent_ >= o_.timeout)) done_ = true;
}

void Pinger::on_reply(const Ipv4Rx& rx, const Pktbuf& p, Instant now) {
  const wire::IcmpView icmp(p.data(), p.seg_len());
  if (icmp.echo_id() != ident_ || rx.src != o_.dest) return;
  const uint16_t seq = icmp.echo_seq();
  if (seq == 0 || seq > sent_) return;
  const size_t idx = seq - 1u;
  const double ms = static_cast<double>((now - sent_at_[idx]).count()) / 1e6;
  // The payload must come back exactly (RFC 792): same length, same bytes, across all segments.
  std::vector<uint8_t> want(o_.size), got(o_.size);
  fill_payload(seq, want.data());
  const bool same = p.len() == o_.size + wire::IcmpView::kHeaderLen &&
                    p.copy_out(wire::IcmpView::kHeaderLen, static_cast<uint32_t>(o_.size), got.data()) && got == want;
  if (got_[idx]) {
    ++dups_;
    return;
  }
  if (!same) {
    ++corrupt_;
    fprintf(out_, "%s%u bytes from %s: icmp_seq=%u payload differs from the request\n", o_.label.c_str(), p.len(),
            rx.src.to_string().c_str(), seq);
    return;
  }
  got_[idx] = true;
  ++received_;
  rtts_ms_.push_back(ms);
  if (!o_.quiet) {
    char t[32];
    if (ms >= 0.1) {
      snprintf(t, sizeof t, "%.3f ms", ms);
    } else {
      snprintf(t, sizeof t, "%.1f us", ms * 1000);
    }
    fprintf(out_, "%s%zu bytes from %s: icmp_seq=%u ttl=%u time=%s\n", o_.label.c_str(), o_.size + 8,
            rx.src.to_string().c_str(), seq, rx.ttl, t);
  }
}

bool Pinger::summary() {
  const double total_ms = static_cast<double>((last_sent_ - start_).count()) / 1e6;
  const unsigned loss = sent_ ? static_cast<unsigned>(100.0 * (sent_ - received_) / sent_ + 0.5) : 0;
  fprintf(out_, "%s--- %s ping statistics ---\n", o_.label.c_str(), o_.dest.to_string().c_str());
  fprintf(out_, "%s%u packets transmitted, %u received, %u%% packet loss", o_.label.c_str(), sent_, received_, loss);
  if (corrupt_) fprintf(out_, ", %u corrupt", corrupt_);
  if (dups_) fprintf(out_, ", +%u duplicates", dups_);
  if (errors_) fprintf(out_, ", +%u errors", errors_);
  fprintf(out_, ", time %.0fms\n", total_ms);
  if (!rtts_ms_.empty()) {
    double mn = *std::min_element(rtts_ms_.begin(), rtts_ms_.end());
    double mx = *std::max_element(rtts_ms_.begin(), rtts_ms_.end());
    double sum = 0, sq = 0;
    for (double r : rtts_ms_) sum += r, sq += r * r;
    const double avg = sum / rtts_ms_.size();
    const double mdev = std::sqrt(std::max(0.0, sq / rtts_ms_.size() - avg * avg));
    if (mx >= 0.1) {
      fprintf(out_, "%srtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", o_.label.c_str(), mn, avg, mx, mdev);
    } else {
      fprintf(out_, "%srtt min/avg/max/mdev = %.1f/%.1f/%.1f/%.1f us\n", o_.label.c_str(), mn * 1e3, avg * 1e3,
              mx * 1e3, mdev * 1e3);
    }
  }
  return received_ == sent_ && corrupt_ == 0 && sent_ == o_.count;
}

}  // namespace skiff::app
