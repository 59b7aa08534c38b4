#pragma once
// A ping client driven from a shard's poll loop: sends echo requests on schedule, matches replies,
// checks their payload byte for byte and keeps ping(8)-style statistics.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "stack/shard.hh"

namespace skiff::app {

struct PingOptions {
  wire::Ipv4Addr dest;
  unsigned count = 4;
  Duration interval = 1s;
  size_t size = 56;        // payload bytes after the ICMP header
  Duration timeout = 2s;   // wait for late replies after the last request
  uint8_t ttl = 0;
  bool quiet = false;
  std::string label;       // prefix for output lines
};

class Pinger {
 public:
  Pinger(Shard& sh, const PingOptions& o, FILE* out);
  // Attach to the shard's echo-reply hook and print the header line.
  void start();
  // Called after every poll iteration of the shard.
  void tick();
  bool done() const { return done_; }
  // Prints the summary; returns true when every request got a correct reply.
  bool summary();

  unsigned transmitted() const { return sent_; }
  unsigned received() const { return received_; }
  unsigned corrupt() const { return corrupt_; }

 private:
  void on_reply(const Ipv4Rx& rx, const Pktbuf& p, Instant now);
  void fill_payload(uint16_t seq, uint8_t* p) const;

  Shard& sh_;
  PingOptions o_;
  FILE* out_;
  uint16_t ident_;
  unsigned sent_ = 0, received_ = 0, corrupt_ = 0, dups_ = 0, errors_ = 0;
  std::vector<Instant> sent_at_;
  std::vector<bool> got_;
  std::vector<double> rtts_ms_;
  Instant start_{}, next_{}, last_sent_{};
  bool done_ = false;
  std::vector<uint8_t> buf_;
};

}  // namespace skiff::app
